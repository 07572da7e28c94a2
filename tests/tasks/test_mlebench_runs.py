"""Whole runs on a generated MLE-bench competition: the data dir belongs to the run, and a
grading failure at the end is recorded, exits 3, and `gome resume` grades again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.core.state import fold
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.store import EventStore
from gome_es.tasks import load_task
from gome_es.tasks.registry import mlebench_importable

from . import mlebench_data

pytestmark = [pytest.mark.integration, pytest.mark.skipif(mlebench_importable(), reason="grades with gome's own grader")]
ROOT = Path(__file__).resolve().parents[2]
CID = "spaceship-titanic"


def _gome(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("GOME_MLEBENCH_DATA", None)
    return subprocess.run([sys.executable, "-m", "gome_es", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=500)


def test_grading_failure_is_recorded_and_resume_grades_again(tmp_path):
    data = mlebench_data.make(tmp_path / "mle", scale=0.2, only=[CID])
    task = load_task(f"mlebench:{CID}", mlebench_data=data)
    assert task.grading_problems == []
    db = tmp_path / "g.db"
    store = EventStore.open(db)
    rid = start_run(store, task, RunConfig(traces=1, max_iterations=1, budget_s=1800),
                    ReasonerConfig(kind="offline"), run_id="r")
    started = next(store.read(rid, types=["RunStarted"])).payload["task"]
    assert started["mlebench_data"] == str(data.resolve())
    assert started["understanding"]["target_columns"] == ["Transported"]
    assert started["public_files"] and started["description_cap"] >= 20000
    # the answers vanish during the run (a data dir on a detached disk, a cleanup job)
    answers = task.answers_path
    hidden = tmp_path / "answers.bak"
    shutil.move(answers, hidden)
    state = drive(store, rid, task=task, options=DriveOptions(workspace_root=tmp_path / "w", slots=1))
    store.close()
    assert state.is_finished and state.grade["grading_failed"] and "does not exist" in state.grade["error"]

    # resume with no --mlebench-data: the recorded data dir is used; still missing -> exit 3
    again = _gome("resume", "r", "--db", str(db), "--workspace", str(tmp_path / "w"), "--quiet", cwd=tmp_path)
    assert again.returncode == 3, again.stderr[-2000:]
    assert "grading failed" in again.stderr and "gome resume r" in again.stderr
    shutil.move(hidden, answers)
    fixed = _gome("resume", "r", "--db", str(db), "--workspace", str(tmp_path / "w"), "--quiet", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    store = EventStore.open(db, readonly=True)
    events = list(store.read("r"))
    graded = [e for e in events if e.type == "SubmissionGraded"]
    assert len(graded) == 3 and graded[-1].payload["report"]["valid_submission"] is True
    state = fold(events, "r")
    assert state.grade["score"] is not None and not state.grade.get("grading_failed")
    # `gome show --json` carries MLE-bench's submissions.jsonl line
    shown = _gome("show", "r", "--json", "--db", str(db), cwd=tmp_path)
    line = __import__("json").loads(shown.stdout)["mlebench_submission"]
    assert line["competition_id"] == CID and Path(line["submission_path"]).is_file()
    # a graded run is finished for good
    done = _gome("resume", "r", "--db", str(db), "--quiet", cwd=tmp_path)
    assert done.returncode == 2 and "already finished" in done.stderr
