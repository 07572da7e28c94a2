"""Every bundled task: well-formed files, a sample below and a sensible solution above median.

Also the archive/caching contract: under 20 MB together, extraction keyed by
digest, safe against a concurrent first use and against a crash mid-extract.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gome_es.tasks import bundle, grade_submission, list_tasks, load_task, validate_submission
from gome_es.tasks.references import reasonable_solution
from gome_es.tasks.sources import SOURCES

BY_ID = {s.id: s for s in SOURCES}
TASK_IDS = sorted(BY_ID)


def test_five_tasks_one_of_each_type():
    infos = list_tasks()
    assert sorted(i.id for i in infos) == TASK_IDS
    assert sorted(i.task_type for i in infos) == ["binary", "image", "multiclass", "regression", "text"]


def test_archives_fit_the_size_budget():
    total = sum(p.stat().st_size for p in bundle.bundled_archives().values())
    assert total <= 20 * 1024 * 1024


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_layout_and_metadata(task_id):
    task = load_task(task_id)
    names = {p.name for p in task.public_dir.iterdir()}
    assert names == {"description.md", "train.csv", "test.csv", "sample_submission.csv"}
    assert {p.name for p in task.private_dir.iterdir()} == {"answers.csv"}
    assert task.public_dir != task.private_dir
    train = pd.read_csv(task.public_dir / "train.csv")
    test = pd.read_csv(task.public_dir / "test.csv")
    assert set(task.target_columns) <= set(train.columns)
    assert not set(task.target_columns) & set(test.columns)
    assert not set(train["id"]) & set(test["id"])
    answers = pd.read_csv(task.answers_path)
    assert sorted(answers["id"]) == sorted(test["id"])
    assert task.license and task.provenance
    description = task.description_path.read_text()
    for word in ("Goal", "Evaluation", "Submission format", "License"):
        assert word in description
    board = pd.read_csv(task.leaderboard_path)
    assert len(board) >= 100 and list(board.columns) == ["teamName", "score"]
    ordered = board["score"].is_monotonic_increasing if task.lower_is_better else board["score"].is_monotonic_decreasing
    assert ordered
    assert len(task.fingerprint) == 64 and task.fingerprint == load_task(task_id).fingerprint
    json.dumps(task.model_dump(mode="json"))


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_sample_submission_is_valid_and_below_median(task_id):
    task = load_task(task_id)
    assert validate_submission(task, task.sample_submission_path).valid
    report = grade_submission(task, task.sample_submission_path)
    assert report.valid_submission and report.score is not None
    assert not report.above_median and not report.any_medal


@pytest.mark.integration
@pytest.mark.parametrize("task_id", TASK_IDS)
def test_reasonable_solution_is_above_median(task_id, tmp_path):
    task = load_task(task_id)
    train = pd.read_csv(task.public_dir / "train.csv")
    test = pd.read_csv(task.public_dir / "test.csv")
    path = tmp_path / "submission.csv"
    reasonable_solution(BY_ID[task_id], train, test).to_csv(path, index=False)
    assert validate_submission(task, path).valid
    report = grade_submission(task, path)
    assert report.above_median, (report.score, report.median_threshold)
    assert json.loads(json.dumps(report.model_dump(mode="json")))["score"] == report.score


def test_fingerprint_changes_when_public_data_changes(tmp_path):
    from gome_es.tasks.registry import fingerprint

    (tmp_path / "a.csv").write_text("id\n1\n")
    before = fingerprint(tmp_path)
    (tmp_path / "a.csv").write_text("id\n2\n")
    assert fingerprint(tmp_path) != before


EXTRACT = """
import os, sys
os.environ["GOME_HOME"] = sys.argv[1]
from gome_es.tasks import bundle
arch = bundle.bundled_archives()["wine-cultivar"]
print(bundle.extracted_dir("wine-cultivar", arch))
"""


@pytest.mark.integration
def test_concurrent_first_use_yields_one_complete_copy(tmp_path):
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen([sys.executable, "-c", EXTRACT, str(tmp_path)], cwd=root,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outs) == 1
    entries = list((tmp_path / "tasks").iterdir())
    assert [e.name for e in entries] == [Path(outs.pop()).name]  # no temp dirs left


def test_crash_leftovers_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("GOME_HOME", str(tmp_path))
    # What a process killed mid-extract leaves behind: a half-written temp dir.
    half = tmp_path / "tasks" / ".tmp-wine-cultivar-abc123"
    (half / "public").mkdir(parents=True)
    (half / "public" / "train.csv").write_text("id\n")
    task = load_task("wine-cultivar")
    assert not str(task.root).startswith(str(half))
    assert (task.public_dir / "train.csv").stat().st_size > 100
