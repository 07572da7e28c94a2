"""`gome exec` against the bundled task: result and validation verdict, no test score."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from gome_es.cli.exec_cmd import exec_command
from gome_es.cli.main import cli

pytestmark = pytest.mark.integration

GOOD = """
import json, os, pandas as pd
sample = pd.read_csv(os.path.join(os.environ["GOME_DATA_DIR"], "sample_submission.csv"))
sample.to_csv("submission.csv", index=False)
json.dump({"val_score": 0.5}, open("metrics.json", "w"))
"""
BAD = "open('submission.csv', 'w').write('nope\\n')\nimport json; json.dump({'val_score': 1}, open('metrics.json', 'w'))\n"


@pytest.fixture(scope="module")
def task_id():
    tasks = pytest.importorskip("gome_es.tasks")
    try:
        infos = tasks.list_tasks()
        tasks.load_task(infos[0].id)
    except Exception as exc:  # noqa: BLE001 - no task data on this machine: nothing to run against
        pytest.skip(f"no bundled task available: {exc}")
    return infos[0].id


def test_exec_prints_result_and_verdict_as_json(task_id, tmp_path):
    sol = tmp_path / "solution.py"
    sol.write_text(GOOD)
    out = CliRunner().invoke(exec_command, [task_id, str(sol), "--timeout", "60", "--json",
                                            "--workspace", str(tmp_path / "ws")])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["result"]["failure"] == "ok" and data["validation"] == {"valid": True, "reasons": []}
    assert "score" not in data["validation"]


def test_exec_reports_an_invalid_submission(task_id, tmp_path):
    sol = tmp_path / "solution.py"
    sol.write_text(BAD)
    out = CliRunner().invoke(exec_command, [task_id, str(sol), "--timeout", "60", "--workspace", str(tmp_path / "ws")])
    assert out.exit_code == 1
    assert "valid=False" in out.output


def test_exec_refuses_a_submission_linked_to_the_answers(task_id, tmp_path):
    """The critical finding: a symlinked submission.csv was graded against the hidden answers."""
    sol = tmp_path / "solution.py"
    sol.write_text("import json, os\nos.symlink(os.path.join(os.environ['GOME_DATA_DIR'], '..', 'private', "
                   "'answers.csv'), 'submission.csv')\njson.dump({'val_score': 0.99}, open('metrics.json', 'w'))\n")
    out = CliRunner().invoke(exec_command, [task_id, str(sol), "--timeout", "60", "--json",
                                            "--workspace", str(tmp_path / "ws")])
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["result"]["failure"] == "forbidden_access"
    assert data["result"]["submission_path"] is None and data["result"]["val_score"] is None
    assert "symbolic link" in data["result"]["audit"]["outputs"][0]
    assert data["validation"]["valid"] is False and "symbolic link" in data["validation"]["reasons"][0]


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    from tests.trust.attacker import shared_tmpdir

    with shared_tmpdir(monkeypatch) as shared:
        yield shared


def test_exec_without_workspace_uses_a_private_folder_of_its_own(task_id, tmp_path, shared_tmp):
    """Issue 24: `gome exec` used $TMPDIR/gome-exec whoever had made it; now $TMPDIR/gome-exec-<uid>, 0700."""
    sol = tmp_path / "solution.py"
    sol.write_text(GOOD)
    out = CliRunner().invoke(exec_command, [task_id, str(sol), "--timeout", "60", "--json"])
    assert out.exit_code == 0, out.output
    mine = shared_tmp / f"gome-exec-{os.geteuid()}"
    assert json.loads(out.output)["result"]["workspace"].startswith(f"{mine}/")
    assert stat.S_IMODE(os.lstat(mine).st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacker is the user nobody, reached through os.setuid from root")
def test_exec_refuses_a_scratch_folder_another_user_made_first(task_id, tmp_path, shared_tmp):
    """The attack of issue 24: an unprivileged user makes root's scratch folder before root's `gome exec`."""
    from tests.trust.attacker import as_nobody

    sol = tmp_path / "solution.py"
    sol.write_text(GOOD)
    mine, old = shared_tmp / f"gome-exec-{os.geteuid()}", shared_tmp / "gome-exec"

    def attack() -> None:
        for folder in (mine, old):
            folder.mkdir()
            folder.chmod(0o777)

    as_nobody(attack)
    out = CliRunner().invoke(cli, ["exec", task_id, str(sol), "--timeout", "60"])
    assert out.exit_code == 2, out.output
    assert f"folder {mine} belongs to nobody" in out.output and "set TMPDIR" in out.output
    assert list(mine.iterdir()) == [] and list(old.iterdir()) == []  # nothing of root's went into either
