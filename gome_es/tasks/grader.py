"""Grading a submission file into an MLE-bench report, and validating without a score.

Semantics follow MLE-bench's ``grade_csv``: a submission exists only if it is a
file ending in ``.csv``; any problem gives score None and ``valid_submission``
false, with the reasons kept; scores are rounded to 5 decimals; medals come from
the task's leaderboard (see ``medals``).  ``mlebench:`` tasks are graded by the
installed ``mlebench`` package itself.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gome_es.errors import GomeError
from gome_es.tasks import bundle
from gome_es.tasks.medals import rank_score
from gome_es.tasks.metrics import METRICS
from gome_es.tasks.model import (
    GradedSubmission,
    GradeReport,
    MlebenchUnavailable,
    SubmissionCheck,
    Task,
    TaskDataMissing,
)

if TYPE_CHECKING:
    from gome_es.tasks.mlebench_graders import GraderSpec
from gome_es.tasks.registry import MLEBENCH_HOWTO, mlebench_competition, mlebench_importable
from gome_es.tasks.submission import (
    check_frame,
    check_submission,
    expected_ids,
    read_submission,
    score_frame,
)

ROUND_DIGITS = 5


def validate_submission(task: Task, path: Path) -> SubmissionCheck:
    """Valid or not and why; reads only public files, never the answers, never scores."""
    return check_submission(task, Path(path))


def leaderboard_scores(task: Task) -> list[float]:
    if task.leaderboard_path is None:
        raise TaskDataMissing(f"task {task.id} has no leaderboard to rank against")
    if task.source == "mlebench":
        # lazy: keeps gome <cmd> --help light (MLE-bench grading loads only for an MLE-bench task)
        from gome_es.tasks.mlebench_facts import leaderboard_scores as read_scores

        return read_scores(task.leaderboard_path)
    try:
        scores: list[float] = pd.read_csv(task.leaderboard_path)["score"].astype(float).tolist()
    except (OSError, KeyError, ValueError) as exc:
        raise TaskDataMissing(
            f"cannot read the leaderboard {task.leaderboard_path} of task {task.id}: {exc}"
        ) from exc
    if not scores:
        raise TaskDataMissing(f"the leaderboard {task.leaderboard_path} of task {task.id} is empty")
    return scores


def _score(task: Task, path: Path) -> tuple[float | None, list[str]]:
    frame, reasons = read_submission(task, path)
    if frame is None:
        return None, reasons
    reasons = check_frame(task, frame, expected_ids(task))
    if reasons:
        return None, reasons
    answers_path = task.answers_path
    if not answers_path.is_file():
        raise TaskDataMissing(f"the answers file {answers_path} of task {task.id} does not exist")
    try:
        bundle.check_answers(task)  # changed answers never grade
        answers = pd.read_csv(answers_path, dtype=str)
        if task.source == "mlebench":
            # lazy: keeps gome <cmd> --help light (MLE-bench grading loads only for an MLE-bench task)
            from gome_es.tasks.mlebench_grade import score as mlebench_score

            score = mlebench_score(task, frame, answers)
        else:
            score = score_frame(task, frame, answers)
    except TaskDataMissing:
        raise
    except Exception as exc:  # MLE-bench semantics: any grading error is a None score
        return None, [f"grading failed: {type(exc).__name__}: {exc}"]
    return finite_score(score)


def finite_score(score: object) -> tuple[float | None, list[str]]:
    """A score rounded as MLE-bench rounds it, or None and why when it is NaN or infinite.

    A non-finite score cannot be ranked and is not JSON: the submission is invalid.
    """
    try:
        value = float(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, [f"the metric returned {score!r}, not a number"]
    if math.isnan(value):
        return None, ["the metric came out NaN"]
    if math.isinf(value):
        return None, [f"the metric came out {value} (predictions too large or degenerate); "
                      "the submission cannot be ranked"]
    return round(value, ROUND_DIGITS), []


GRADERS = ("auto", "gome", "mlebench")


def grade_submission_with_reasons(task: Task, path: Path, grader: str = "auto") -> GradedSubmission:
    """Grade as MLE-bench does.  ``grader``: "mlebench" (the installed package), "gome" (gome's
    own grader) or "auto" (the package where importable, else gome's own)."""
    path = Path(path)
    if grader not in GRADERS:
        raise ValueError(f"grader must be one of {GRADERS}, not {grader!r}")
    if task.source != "mlebench":
        return _grade_own(task, path)
    if grader == "mlebench" or (grader == "auto" and mlebench_importable()):
        graded = _grade_mlebench(task, path)
        return graded.model_copy(update={"notes": _differences(task, path, graded)})
    # lazy: keeps gome <cmd> --help light (MLE-bench grading loads only for an MLE-bench task)
    from gome_es.tasks.mlebench_grade import exact_spec

    spec = exact_spec(task)
    if spec is not None:
        graded = _grade_exact(task, spec, path)
        return graded.model_copy(update={"notes": _differences(task, path, graded)})
    if task.metric not in METRICS:
        raise MlebenchUnavailable(
            f"grading {task.id} needs the `mlebench` package: gome's own grader does not implement its "
            f"grader {task.grader!r}; {MLEBENCH_HOWTO}"
        )
    graded = _grade_own(task, path)
    note = (f"gome has no exact rules for {task.id}'s grade.py (grader {task.grader!r}): this grade uses "
            f"the generic {task.metric} on the columns inferred from the sample submission; install "
            f"mlebench for MLE-bench's own grade")
    return graded.model_copy(update={"notes": [note]})


def _differences(task: Task, path: Path, graded: GradedSubmission) -> list[str]:
    """Where gome's validation and MLE-bench's grader disagree about this submission."""
    if not graded.report.submission_exists:
        return []
    try:
        check = check_submission(task, path)
    except Exception as exc:  # noqa: BLE001 - a note, never a reason to fail the grade
        return [f"gome could not validate the submission ({type(exc).__name__}: {exc})"]
    if not graded.report.valid_submission:
        return ([] if not check.valid else
                ["gome's validation accepts this submission, but the grader refused it (validation is looser "
                 "here than the grader; the reasons above are the grader's)"])
    if check.valid:
        return []
    return [f"MLE-bench's grader scores this submission, but gome's validation refuses it (stricter): {r}"
            for r in check.reasons]


def _report(task: Task, path: Path, exists: bool, score: float | None) -> GradeReport:
    ranking = rank_score(score, leaderboard_scores(task))
    return GradeReport(
        competition_id=competition_name(task), score=score,
        gold_threshold=ranking.gold_threshold, silver_threshold=ranking.silver_threshold,
        bronze_threshold=ranking.bronze_threshold, median_threshold=ranking.median_threshold,
        any_medal=ranking.any_medal, gold_medal=ranking.gold_medal,
        silver_medal=ranking.silver_medal, bronze_medal=ranking.bronze_medal,
        above_median=ranking.above_median, submission_exists=exists,
        valid_submission=score is not None, is_lower_better=ranking.is_lower_better,
        created_at=datetime.now(timezone.utc), submission_path=str(path),
    )


def competition_name(task: Task) -> str:
    """The id MLE-bench's report carries: the competition id, without gome's ``mlebench:`` prefix."""
    return task.id.split(":", 1)[1] if task.source == "mlebench" else task.id


def _grade_exact(task: Task, spec: GraderSpec, path: Path) -> GradedSubmission:
    """gome's own grader for a competition whose grade.py it knows: MLE-bench's verdict and score."""
    # lazy: keeps gome <cmd> --help light (MLE-bench grading loads only for an MLE-bench task)
    from gome_es.tasks.mlebench_graders import grade_files

    exists = path.is_file() and path.suffix.lower() == ".csv"
    if not exists:
        reasons = [f"submission {path} does not exist or is not a .csv file"]
        return GradedSubmission(report=_report(task, path, False, None), reasons=reasons)
    answers = task.answers_path
    if not answers.is_file():
        raise TaskDataMissing(f"the answers file {answers} of task {task.id} does not exist")
    raw, reasons = grade_files(spec, path, answers)
    score: float | None = None
    if raw is not None:
        score, reasons = finite_score(raw)
    return GradedSubmission(report=_report(task, path, True, score), reasons=reasons)


def _grade_own(task: Task, path: Path) -> GradedSubmission:
    exists = path.is_file() and path.suffix.lower() == ".csv"
    if exists:
        score, reasons = _score(task, path)
    else:
        score, reasons = None, read_submission(task, path)[1] or [f"submission {path} must be a .csv file"]
    return GradedSubmission(report=_report(task, path, exists, score), reasons=reasons)


def grade_submission(task: Task, path: Path) -> GradeReport:
    return grade_submission_with_reasons(task, path).report


def score_of(task: Task, data: bytes | None, where: Path) -> float | None:
    """The test score of a submission's bytes (written to ``where`` to be graded); None when there
    are no bytes or the submission cannot be graded."""
    if data is None:
        return None
    where.write_bytes(data)
    try:
        return grade_submission(task, where).score
    except GomeError:
        return None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def quiet_mlebench_import() -> None:
    """Import mlebench without letting it switch on root INFO logging for the whole process.

    mlebench's ``get_logger`` calls ``logging.basicConfig(level=INFO)``, after which every
    library's INFO lines (``HTTP Request: POST ...``) land in gome's output.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        # lazy: mlebench is an optional install
        import mlebench.grade  # noqa: F401
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("mlebench").propagate = False


def _grade_mlebench(task: Task, path: Path) -> GradedSubmission:
    competition_id = task.id.split(":", 1)[1]
    data_dir = task.mlebench_data or task.root.parent.parent
    quiet_mlebench_import()
    # Raises MlebenchUnavailable, naming what to install, before any import below.
    competition = mlebench_competition(competition_id, data_dir)
    # lazy: mlebench is an optional install
    from mlebench.grade import grade_csv

    collect = _Collect()
    mlogger = logging.getLogger("mlebench")
    mlogger.addHandler(collect)
    try:
        raw = grade_csv(path, competition).to_dict()
    finally:
        mlogger.removeHandler(collect)
    reasons: list[str] = []
    if raw.get("score") is not None:
        raw["score"], reasons = finite_score(raw["score"])
        if raw["score"] is None:
            raw["valid_submission"] = False
            for key in ("any_medal", "gold_medal", "silver_medal", "bronze_medal", "above_median"):
                raw[key] = False
    report = GradeReport.model_validate({k: raw[k] for k in GradeReport.model_fields})
    if not report.valid_submission and not reasons:
        reasons = collect.messages or ["mlebench judged the submission invalid"]
    return GradedSubmission(report=report, reasons=reasons)
