"""The shapes of the tasks module: task config, Task, checks, grade reports, errors.

``TaskConfig`` is what a task directory's ``task.json`` holds; ``Task`` is a
config resolved to concrete paths plus a fingerprint of the public files.
``GradeReport`` has exactly MLE-bench's report fields.  Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gome_es.errors import TaskError

TaskType = Literal["binary", "multiclass", "regression", "text", "image", "other"]


class TaskNotFound(TaskError):
    """No bundled task or MLE-bench competition has this id."""


class TaskDataMissing(TaskError):
    """A task's files are missing or unreadable (bundled archive, mlebench data dir)."""


class MlebenchUnavailable(TaskError):
    """An ``mlebench:`` task needs the mlebench package or its prepared data."""


class TaskConfig(BaseModel):
    """The contents of ``task.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    task_type: TaskType
    metric: str
    lower_is_better: bool
    id_column: str
    # Label column(s) in train.csv.
    target_columns: list[str]
    # Columns of a submission, id column first (the sample submission's header).
    submission_columns: list[str]
    # For label metrics: the allowed labels, as strings.  For probability
    # metrics: the class each probability column stands for, in column order.
    labels: list[str] | None = None
    license: str
    provenance: str


class TaskInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    task_type: TaskType
    metric: str
    lower_is_better: bool
    source: Literal["bundled", "mlebench"]


class Task(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    source: Literal["bundled", "mlebench"]
    task_type: TaskType
    metric: str
    lower_is_better: bool
    id_column: str
    target_columns: list[str]
    submission_columns: list[str]
    labels: list[str] | None = None
    root: Path
    public_dir: Path
    private_dir: Path
    description_path: Path
    sample_submission_path: Path
    leaderboard_path: Path | None
    license: str
    provenance: str
    # sha256 over the public files (relative path + content), so a run can
    # record exactly which data it saw.
    fingerprint: str
    # MLE-bench competitions: the grader's name in mle-bench's config.yaml, the answers file
    # it names, what a submission holds (labels | probability | class_probabilities | values),
    # what was inferred from the public files (gome_es.tasks.infer), where the data dir is,
    # where the metric's direction came from, and what grading would lack (empty = ready).
    grader: str | None = None
    answers_file: Path | None = None
    submission_kind: str | None = None
    understanding: dict[str, Any] = {}
    mlebench_data: Path | None = None
    direction_source: str = "task.json"
    grading_problems: list[str] = []

    @property
    def answers_path(self) -> Path:
        return self.answers_file or self.private_dir / "answers.csv"

    def info(self) -> TaskInfo:
        return TaskInfo(
            id=self.id, title=self.title, task_type=self.task_type, metric=self.metric,
            lower_is_better=self.lower_is_better, source=self.source,
        )


class SubmissionCheck(BaseModel):
    """Whether a submission is well-formed; never carries a score."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    reasons: list[str]


class GradeReport(BaseModel):
    """MLE-bench's competition report, field for field."""

    competition_id: str
    score: float | None
    gold_threshold: float
    silver_threshold: float
    bronze_threshold: float
    median_threshold: float
    any_medal: bool
    gold_medal: bool
    silver_medal: bool
    bronze_medal: bool
    above_median: bool
    submission_exists: bool
    valid_submission: bool
    is_lower_better: bool
    created_at: datetime
    submission_path: str


class GradedSubmission(BaseModel):
    """A report plus why the submission scored None (empty when it scored)."""

    report: GradeReport
    reasons: list[str]
    # Where gome and MLE-bench differ on this submission (e.g. mlebench scores what gome's
    # validation refuses), and which grader gave the score.
    notes: list[str] = []
