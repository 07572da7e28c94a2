"""Options alike everywhere: lazy start, a config file, durations, --jobs, workspaces and `gome gc`."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gome_es.cli.main import COMMANDS, cli
from gome_es.cli.params import DURATION, parse_duration
from gome_es.driver.driver import run_dir
from gome_es.driver.workspaces import workspace_root
from gome_es.store import EventStore

ROOT = Path(__file__).parents[2]
FIX = ROOT / "tests" / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
HEAVY = ("gome_es.store", "gome_es.core.events", "sqlite_utils", "pydantic", "pandas", "numpy", "structlog")


def gome(*args: str, **kw):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kw)


@pytest.mark.integration
@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_nothing_heavy(argv):
    code = ("import sys\nfrom gome_es.cli.main import cli\ntry:\n    cli(%r)\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in sys.modules if m.startswith(%r)))" % (argv, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_the_lazy_command_list_says_what_each_command_says():
    for name, (module, attr, short) in COMMANDS.items():
        try:
            cmd = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError:
            continue
        assert cmd.get_short_help_str(limit=500) == short, name
        assert cmd.name == name
    r = gome("--help")
    assert all(name in r.output for name in ("run", "diff", "steps", "gc", "code", "logs"))


def test_durations_are_accepted_everywhere_a_time_is():
    assert [parse_duration(x) for x in ("5m", "90s", "1h", "1h30m", "600", "0.5")] == [300, 90, 3600, 5400, 600, 0.5]
    for bad in ("ten minutes", "5x", "", "m5"):
        with pytest.raises(click.BadParameter):
            parse_duration(bad)
    assert DURATION.convert("5m", None, None) == 300
    r = gome("exec", "breast-cancer-diagnosis", str(FIX), "--timeout", "5 parsecs")
    assert r.exit_code == 2 and "not a duration" in r.output


def test_jobs_is_slots(tmp_path):
    from gome_es.cli.run_cmds import run_cmd

    ctx = run_cmd.make_context("run", ["--task", "t", "--jobs", "3"])
    assert ctx.params["slots"] == 3
    ctx = run_cmd.make_context("run", ["--task", "t", "--slots", "4"])
    assert ctx.params["slots"] == 4


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "gome.db"
    with EventStore.open(path) as store:
        store.import_run(FIX, run_id="seed-0")
    return path


def test_config_file_beside_the_database_sets_defaults(db):
    (db.parent / "gome.toml").write_text('[runs]\ncsv = true\n\n[steps]\ntrace = "t2"\n')
    r = gome("runs", "--db", str(db))
    assert r.exit_code == 0 and r.output.startswith("run_id,task,")
    r = gome("steps", "seed-0", "--db", str(db))
    assert r.exit_code == 0 and {line.split()[0] for line in r.output.splitlines()[1:]} == {"t2"}
    # the command line still wins
    r = gome("steps", "seed-0", "--db", str(db), "--trace", "t1")
    assert {line.split()[0] for line in r.output.splitlines()[1:]} == {"t1"}


def test_config_from_env_db_and_explicit_config(db, tmp_path):
    (db.parent / "gome.toml").write_text("[runs]\njson = true\n")
    r = gome("runs", env={"GOME_DB": str(db)})
    assert json.loads(r.output.splitlines()[0])["run_id"] == "seed-0"
    other = tmp_path / "other.toml"
    other.write_text("[runs]\ncsv = true\n")
    r = gome("--config", str(other), "runs", "--db", str(db))
    assert r.output.startswith("run_id,")


@pytest.mark.parametrize("text, words", [
    ("[runs]\ncvs = true\n", ["[runs] cvs is not an option of `gome runs`", "csv"]),
    ("[runs]\ncsv = \"maybe\"\n", ["[runs] csv = 'maybe':", "not a valid boolean"]),
    ("[runs\n", ["cannot be read"]),
])
def test_a_bad_config_is_refused_naming_file_and_key(db, text, words):
    (db.parent / "gome.toml").write_text(text)
    r = gome("runs", "--db", str(db))
    assert r.exit_code == 2, r.output
    assert str(db.parent / "gome.toml") in r.output and all(w in r.output for w in words)
    assert "--csv" not in r.output  # the key the user wrote, not an option they never typed


@pytest.mark.parametrize("text, words", [
    ("[runz]\ncsv = true\n", ["[runz] names no gome command"]),
    ("[tasks.lisst]\njson = true\n", ["[tasks.lisst] names no gome command"]),
    ("[run]\nbudget = \"ten minutes\"\n", []),  # wrong, but only `gome run` is stopped by it
])
def test_a_table_about_another_command_does_not_stop_this_one(db, text, words):
    (db.parent / "gome.toml").write_text(text)
    r = gome("runs", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "seed-0" in r.output and all(w in r.output for w in words)  # a table naming no command: a warning


def test_sweep_options_come_from_the_sweep_table_and_a_bad_one_names_its_key(db):
    cfg = db.parent / "gome.toml"
    cfg.write_text('[sweep]\nbudget = "30s"\nseeds = "2"\n\n[sweep.status]\njson = true\n')
    r = gome("sweep", "--tasks", "wine-cultivar", "--variants", "gome", "--dry-run", "--db", str(db))
    assert r.exit_code == 0, r.output
    runs = [line for line in r.output.splitlines() if "\tgome run " in line]
    assert len(runs) == 2 and all("--budget 30.0" in line for line in runs)
    cfg.write_text('[sweep]\nbudget = "soon"\n')
    r = gome("sweep", "--tasks", "wine-cultivar", "--dry-run", "--db", str(db))
    assert r.exit_code == 2
    assert f"{cfg}: [sweep] budget = 'soon': 'soon' is not a duration" in r.output and "--budget" not in r.output
    r = gome("run", "--task", "wine-cultivar", "--budget", "soon", "--db", str(db))  # the command line's own words
    assert r.exit_code == 2 and "'--budget'" in r.output
    r = gome("runs", "--db", str(db))
    assert r.exit_code == 0 and "seed-0" in r.output


def test_missing_explicit_config_is_an_error(db):
    r = gome("--config", str(db.parent / "nope.toml"), "runs", "--db", str(db))
    assert r.exit_code == 2 and "nope.toml does not exist" in r.output


def test_workspaces_are_keyed_by_database(tmp_path, monkeypatch):
    monkeypatch.delenv("GOME_WORKSPACE", raising=False)
    a, b = tmp_path / "a" / "gome.db", tmp_path / "b" / "gome.db"
    assert workspace_root(a) != workspace_root(b)
    assert workspace_root(a) == (tmp_path / "a" / ".gome" / "work").resolve()


def test_gc_removes_gone_and_finished_keeps_selected_and_unfinished(db, tmp_path):
    root = workspace_root(db)
    with EventStore.open(db) as store:
        from gome_es.store import NewEvent

        store.append("live", [NewEvent("RunStarted", {"task_id": "x"})], expected_seq=0)
    for run, parts in {"seed-0": ["r0/t1", "r1/t2", "selected"], "gone": ["r0/t1"], "live": ["r0/t1"]}.items():
        for part in parts:
            top, _, below = part.partition("/")
            d = run_dir(root, run, top, db=db) / below  # made by gome: the run folder carries its marker
            d.mkdir(parents=True)
            (d / "f.txt").write_text("x" * 1000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (root / "link").symlink_to(outside)
    dry = gome("gc", "--db", str(db), "--dry-run")
    assert dry.exit_code == 0 and "would remove" in dry.output and (root / "gone").exists()
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert not (root / "gone").exists()
    assert not (root / "seed-0" / "r0").exists() and not (root / "seed-0" / "r1").exists()
    assert (root / "seed-0" / "selected" / "f.txt").exists()
    assert (root / "live" / "r0" / "t1" / "f.txt").exists()
    assert (outside / "keep.txt").exists() and (root / "link").is_symlink()
    assert "3 workspace folder(s)" in r.output and f"not gome's, left alone: {root / 'link'}" in r.output


def test_shell_completion_lists_lazy_commands_and_options():
    r = CliRunner().invoke(cli, [], prog_name="gome",
                           env={"_GOME_COMPLETE": "bash_complete", "COMP_WORDS": "gome ru", "COMP_CWORD": "1"})
    assert r.output.split() == ["plain,run", "plain,runs"]
    r = CliRunner().invoke(cli, [], prog_name="gome",
                           env={"_GOME_COMPLETE": "bash_complete", "COMP_WORDS": "gome diff a b --fi",
                                "COMP_CWORD": "4"})
    assert r.output.split() == ["plain,--fields"]
