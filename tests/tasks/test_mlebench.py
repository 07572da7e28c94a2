"""`mlebench:<id>` tasks: layout resolution, validation, and clear errors without mlebench."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from gome_es.errors import TaskError
from gome_es.tasks import (
    MlebenchUnavailable,
    TaskDataMissing,
    grade_submission,
    load_task,
    validate_submission,
)

HAS_MLEBENCH = importlib.util.find_spec("mlebench") is not None


@pytest.fixture
def prepared(tmp_path):
    comp = "toy-comp"
    public = tmp_path / comp / "prepared" / "public"
    private = tmp_path / comp / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    pd.DataFrame({"id": [1, 2, 3], "target": [0.5, 0.5, 0.5]}).to_csv(public / "sample_submission.csv", index=False)
    (public / "description.md").write_text("# toy\n")
    pd.DataFrame({"id": [1, 2, 3], "target": [1, 0, 1]}).to_csv(private / "test.csv", index=False)
    pd.DataFrame({"id": [4, 5, 6], "feature": [1.0, 2.0, 3.0]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": [7, 8, 9], "feature": [1.0, 2.0, 3.0], "target": [0.1, 0.9, 0.4]}).to_csv(
        public / "train.csv", index=False)
    (tmp_path / comp / "config.yaml").write_text(
        f"id: {comp}\nname: Toy\ndataset:\n  answers: {comp}/prepared/private/test.csv\n"
        f"  sample_submission: {comp}/prepared/public/sample_submission.csv\n"
        "grader:\n  name: a-metric-gome-does-not-implement\n")
    pd.DataFrame({"teamId": [1, 2], "score": [0.9, 0.1]}).to_csv(tmp_path / comp / "leaderboard.csv", index=False)
    return tmp_path, comp


def test_needs_a_data_dir():
    with pytest.raises(MlebenchUnavailable, match="--mlebench-data"):
        load_task("mlebench:spaceship-titanic")


def test_missing_prepared_data_says_how_to_prepare(tmp_path):
    with pytest.raises(TaskDataMissing, match="mlebench prepare -c spaceship-titanic"):
        load_task("mlebench:spaceship-titanic", mlebench_data=tmp_path)


def test_loads_prepared_layout_and_validates(prepared, tmp_path):
    data_dir, comp = prepared
    task = load_task(f"mlebench:{comp}", mlebench_data=data_dir)
    assert task.public_dir == data_dir / comp / "prepared" / "public"
    assert task.private_dir == data_dir / comp / "prepared" / "private"
    assert task.id_column == "id" and task.target_columns == ["target"]
    assert validate_submission(task, task.sample_submission_path).valid
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1, 2], "target": [0.1, 0.2]}).to_csv(bad, index=False)
    assert not validate_submission(task, bad).valid


@pytest.mark.skipif(HAS_MLEBENCH, reason="checks the error shown when mlebench is absent")
def test_grading_without_mlebench_says_what_to_install(prepared):
    """A grader gome does not implement needs the package, and says so before a run starts."""
    data_dir, comp = prepared
    task = load_task(f"mlebench:{comp}", mlebench_data=data_dir)
    assert any("pip install" in p for p in task.grading_problems)
    with pytest.raises(MlebenchUnavailable, match="pip install") as info:
        grade_submission(task, task.sample_submission_path)
    assert isinstance(info.value, TaskError)
