"""Tasks: MLE-bench-format competitions, an exact grader, and five bundled ones.

Public API::

    list_tasks() -> list[TaskInfo]
    load_task(task_id, *, mlebench_data=None, overrides=None) -> Task
    task_for_run(task_id, recorded_task, mlebench_data=None) -> Task   # data dir from the log
    list_mlebench(data_dir) -> list[TaskInfo]              # prepared competitions there
    validate_submission(task, path) -> SubmissionCheck      # never a score
    grade_submission(task, path) -> GradeReport             # MLE-bench's report
    grade_submission_with_reasons(task, path) -> GradedSubmission
"""

from gome_es.tasks.grader import grade_submission, grade_submission_with_reasons, validate_submission
from gome_es.tasks.medals import medal_positions, rank_score
from gome_es.tasks.metrics import METRICS
from gome_es.tasks.model import (
    GradedSubmission,
    GradeReport,
    MlebenchUnavailable,
    SubmissionCheck,
    Task,
    TaskConfig,
    TaskDataMissing,
    TaskInfo,
    TaskNotFound,
)
from gome_es.tasks.registry import list_mlebench, list_tasks, load_task, task_for_run

__all__ = [
    "GradeReport", "GradedSubmission", "METRICS", "MlebenchUnavailable", "SubmissionCheck",
    "Task", "TaskConfig", "TaskDataMissing", "TaskInfo", "TaskNotFound",
    "grade_submission", "grade_submission_with_reasons", "list_mlebench", "list_tasks", "load_task",
    "task_for_run",
    "medal_positions", "rank_score", "validate_submission",
]
