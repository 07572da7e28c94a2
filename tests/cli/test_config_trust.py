"""A config file cannot redirect a run silently, and a bad --config path says what it is (issue 24).

The start of `gome run` / `gome resume` names the endpoint, the model, the workspace and every option
that came from a config file (with its path) or the environment; a config file's base-url for another
host while an API key would be sent is refused (exit 2) unless --base-url repeats it or --trust-config.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.store import EventStore

REMOTE = "http://203.0.113.9:8000/v1"  # TEST-NET-3: nothing answers there


def gome(*args: str, env: dict[str, str] | None = None):
    base = {"OPENAI_API_KEY": "sk-test-key", "GOME_WORKSPACE": "", "OPENAI_BASE_URL": "", "GOME_CONFIG": ""}
    return CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, catch_exceptions=False)


def _config(folder: Path, body: str) -> Path:
    path = folder / "gome.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _no_runs(db: Path) -> bool:
    if not db.exists():
        return True
    with EventStore.open(db, readonly=True) as store:
        return not store.runs()


def test_a_config_base_url_for_another_host_is_refused_with_a_key(tmp_path):
    cfg = _config(tmp_path, f'[run]\nreasoner = "openai"\nbase-url = "{REMOTE}"\nmodel = "m"\n')
    r = gome("run", "--task", "breast-cancer-diagnosis", "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2, r.output
    assert str(cfg) in r.stderr and REMOTE in r.stderr and "--trust-config" in r.stderr
    assert f"--base-url {REMOTE}" in r.stderr and "OPENAI_API_KEY" in r.stderr and "sk-test-key" not in r.output
    assert _no_runs(tmp_path / "gome.db")


@pytest.mark.parametrize("confirm", [["--trust-config"], ["--base-url", REMOTE]])
def test_confirming_the_endpoint_passes_the_check(tmp_path, confirm):
    _config(tmp_path, f'[run]\nreasoner = "openai"\nbase-url = "{REMOTE}"\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # the database cannot be opened (its folder is a file): the run gets past the endpoint check and
    # stops at the store, before any request
    r = gome("--config", str(tmp_path / "gome.toml"), "run", "--task", "breast-cancer-diagnosis",
             "--db", str(blocker / "gome.db"), *confirm)
    assert r.exit_code == 2 and "--trust-config" not in r.stderr, r.output
    assert f"gome: endpoint {REMOTE} (sends $OPENAI_API_KEY) · model" in r.stderr


def test_without_a_key_or_for_openai_itself_nothing_is_refused(tmp_path):
    _config(tmp_path, f'[run]\nreasoner = "openai"\nbase-url = "{REMOTE}"\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ("--config", str(tmp_path / "gome.toml"), "run", "--task", "breast-cancer-diagnosis",
            "--db", str(blocker / "gome.db"))
    assert "--trust-config" not in gome(*args, env={"OPENAI_API_KEY": ""}).stderr
    _config(tmp_path, '[run]\nreasoner = "openai"\nbase-url = "https://api.openai.com/v1"\n')
    assert "--trust-config" not in gome(*args).stderr


def test_trust_config_cannot_come_from_the_config_file(tmp_path):
    _config(tmp_path, f'[run]\nreasoner = "openai"\nbase-url = "{REMOTE}"\ntrust-config = true\n')
    r = gome("run", "--task", "breast-cancer-diagnosis", "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and "only be given on the command line" in r.output


def test_the_start_names_endpoint_model_workspace_and_every_option_from_a_file_or_the_environment(tmp_path,
                                                                                             monkeypatch):
    monkeypatch.delenv("GOME_HOME", raising=False)  # another folder's session fixture may have set it
    cfg = _config(tmp_path, '[run]\nworkspace = "/etc"\nbudget = "5m"\nseed = 3\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = gome("--config", str(cfg), "run", "--task", "breast-cancer-diagnosis", "--db", str(blocker / "gome.db"),
             env={"GOME_MLEBENCH_DATA": str(tmp_path)})
    assert r.exit_code == 2
    lines = [x for x in r.stderr.splitlines() if x.startswith("gome: ")]
    assert lines[0] == "gome: endpoint none (no remote LLM) · model offline rules · workspace /etc/<run id>"
    assert lines[1] == f"gome: from config file {cfg}: budget = 300.0; seed = 3; workspace = /etc", lines
    assert lines[2] == f"gome: from the environment: mlebench-data = {tmp_path} ($GOME_MLEBENCH_DATA)", lines


@pytest.mark.integration
def test_a_real_run_names_its_workspace_from_the_environment(tmp_path):
    ws = tmp_path / "ws"
    r = gome("run", "--task", "breast-cancer-diagnosis", "--traces", "1", "--max-iterations", "1", "--quiet",
             "--db", str(tmp_path / "gome.db"), env={"GOME_WORKSPACE": str(ws)})
    assert r.exit_code == 0, r.output
    assert f"gome: endpoint none (no remote LLM) · model offline rules · workspace {ws}/<run id>" in r.stderr
    assert f"gome: from the environment: workspace root = {ws} ($GOME_WORKSPACE)" in r.stderr
    run_id = r.stdout.splitlines()[-1]
    _config(tmp_path, f'[resume]\nreasoner = "openai"\nbase-url = "{REMOTE}"\n')
    r = gome("resume", run_id, "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and "[resume] base-url" in r.stderr and "--trust-config" in r.stderr, r.output


# ---------------------------------------------------------------- config paths that are not files

def _probe(tmp_path: Path, kind: str) -> Path:
    p = tmp_path / f"cfg-{kind}"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dir":
        p.mkdir()
    elif kind == "loop":
        os.symlink(p, p)
    elif kind == "dangling":
        os.symlink(tmp_path / "nowhere", p)
    elif kind == "zero":
        return Path("/dev/zero")
    return p


@pytest.mark.parametrize("kind, words", [("fifo", "is a FIFO"), ("dir", "is a directory"),
                                         ("loop", "symbolic link that loops"), ("zero", "character device"),
                                         ("dangling", "which does not exist"), ("missing", "does not exist")])
def test_a_config_path_that_is_not_a_file_says_what_it_is(tmp_path, kind, words):
    path = _probe(tmp_path, kind)
    r = gome("--config", str(path), "runs", "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert words in r.output, r.output


def test_a_fifo_beside_the_database_never_hangs(tmp_path):
    os.mkfifo(tmp_path / "gome.toml")
    r = gome("runs", "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and "is a FIFO" in r.output


def test_a_config_nested_100000_deep_is_exit_2(tmp_path):
    cfg = tmp_path / "deep.toml"
    cfg.write_text("[run]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    r = gome("--config", str(cfg), "runs", "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and "too deeply" in r.output, r.output[-500:]
    assert sys.getrecursionlimit() < 100_000



def test_a_config_file_cannot_set_the_sweeps_endpoint(tmp_path):
    # the runs of a sweep get --base-url on their command line: a config file must not be the source
    _config(tmp_path, f'[sweep]\nreasoner = "openai"\nbase-url = "{REMOTE}"\n')
    r = gome("sweep", "--tasks", "wine-cultivar", "--variants", "gome", "--seeds", "1", "--dry-run",
             "--db", str(tmp_path / "gome.db"))
    assert r.exit_code == 2 and REMOTE not in r.stdout, r.output


def test_a_model_name_from_a_config_file_is_printed_cleaned(tmp_path):
    cfg = _config(tmp_path, '[run]\nreasoner = "openai"\nmodel = "gpt\\u001b]0;pwned\\u0007\\u009b2J\\u202ex"\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = gome("--config", str(cfg), "run", "--task", "breast-cancer-diagnosis", "--db", str(blocker / "gome.db"))
    assert r.exit_code == 2
    assert "\x1b" not in r.stderr and "\x9b" not in r.stderr and "\u202e" not in r.stderr and "pwned" not in r.stderr
    assert "model gpt\\u202ex" in r.stderr and "model = gpt\\u202ex" in r.stderr, r.stderr
