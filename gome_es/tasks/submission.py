"""Reading a submission CSV, checking its shape, and scoring it against answers.

``check_submission`` answers "is this well-formed?" from public information only
(the sample submission's header and ids), so it is safe to show an agent.
``score_submission`` compares a checked submission with the private answers.
Every failure becomes a reason string; nothing here raises on bad input files.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gome_es.tasks.metrics import METRICS, integral_text
from gome_es.tasks.model import SubmissionCheck, Task
from gome_es.trust.limits import Deadline, TooSlow

# A submission may be this many times larger than the sample submission (long
# float reprs, quoting) before it is refused as absurd, with a floor for tiny tasks.
SIZE_FACTOR = 50
SIZE_FLOOR_BYTES = 5 * 1024 * 1024
SHOWN = 5  # how many offending ids a reason lists
# A prediction past this magnitude squares to infinity: no finite RMSE/MAE can come of it.
MAX_MAGNITUDE = 1e150
# A header wider than the sample's by more than this is refused from its first line, before pandas
# builds one column object per field (about 0.1 ms each: a 60,000-column header would take seconds).
MAX_EXTRA_COLUMNS = 1000
# A first row with more fields than the header makes pandas take the extra leading fields as index
# levels (as MLE-bench's read_csv does too), at a cost that grows with the square of their number:
# 1,000 took 1.4 s, 100,000 took 450 s.  More than this many is refused before pandas reads it.
MAX_INDEX_FIELDS = 10


def _shown(values: Iterable[object]) -> str:
    values = list(values)
    head = ", ".join(repr(v) for v in values[:SHOWN])
    return head + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def _read_csv_as_text(path: Path) -> pd.DataFrame:
    # Everything as text first: types are checked column by column afterwards,
    # so "abc" in a numeric column becomes a reason instead of an exception.
    return pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=False)


def _normalise_label(value: str, integer_labels: bool) -> str:
    text = value.strip()
    if integer_labels:
        return integral_text(text) or text
    return text


def expected_ids(task: Task) -> list[str]:
    sample = _read_csv_as_text(task.sample_submission_path)
    ids: list[str] = sample[_id_column(task)].astype(str).tolist()
    return ids


def _id_column(task: Task) -> str:
    """The column rows are matched on: the grader's own for an MLE-bench competition gome knows."""
    if task.source == "mlebench":
        # lazy: keeps gome <cmd> --help light (MLE-bench checks load only for an MLE-bench task)
        from gome_es.tasks.mlebench_grade import exact_spec

        spec = exact_spec(task)
        if spec is not None:
            return spec.id_column
    return task.id_column


def size_limit(task: Task) -> int:
    return max(SIZE_FLOOR_BYTES, SIZE_FACTOR * task.sample_submission_path.stat().st_size)


def read_submission(task: Task, path: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """The submission as a text DataFrame, or None and why it cannot be read."""
    path = Path(path)
    if not path.exists():
        return None, [f"submission {path} does not exist; write the predictions for the test rows there"]
    if not path.is_file():
        return None, [f"submission {path} is not a regular file"]
    if path.suffix.lower() != ".csv":
        return None, [f"submission {path} must be a .csv file (got suffix {path.suffix!r})"]
    size = path.stat().st_size
    if size == 0:
        return None, [f"submission {path} is empty; it needs a header and one row per test id"]
    limit = size_limit(task)
    if size > limit:
        return None, [
            f"submission {path} is {size} bytes, over the {limit}-byte limit for task {task.id}; "
            "write one row per test id with the sample submission's columns only"
        ]
    width, first_row = leading_widths(path)
    expected_cols = list(task.submission_columns)
    if width is not None and width > len(expected_cols) + MAX_EXTRA_COLUMNS:
        return None, [
            f"submission {path} has {width} columns in its header, expected {len(expected_cols)} "
            f"({_shown(expected_cols)}); write the sample submission's columns only"
        ]
    if width is not None and first_row is not None and first_row > width + MAX_INDEX_FIELDS:
        return None, [
            f"submission {path} has {first_row} fields in its first row but {width} in its header; "
            "write one field per header column"
        ]
    try:
        frame = _read_csv_as_text(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        return None, [f"submission {path} is not a readable CSV: {exc}"]
    return frame, []


def leading_widths(path: Path) -> tuple[int | None, int | None]:
    """How many fields the header and the first row of ``path`` have (read in one linear pass each);
    None for what is absent or unreadable (pandas reads the file next and says what is wrong)."""
    widths: list[int | None] = [None, None]
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            for i in range(2):
                row = next(reader, None)
                if row is None:
                    break
                widths[i] = len(row)
    except (OSError, csv.Error):
        pass
    return widths[0], widths[1]


def check_frame(task: Task, frame: pd.DataFrame, ids: list[str], deadline: Deadline | None = None) -> list[str]:
    """Reasons a submission frame does not match the task's format (empty = valid).

    Linear in the frame's size (sets and counters, no scans inside scans); with ``deadline`` it raises
    :class:`~gome_es.trust.limits.TooSlow` between columns once the deadline has passed.
    """
    if task.source == "mlebench":
        # lazy: keeps gome <cmd> --help light (MLE-bench checks load only for an MLE-bench task)
        from gome_es.tasks.mlebench_grade import check_exact, exact_spec

        spec = exact_spec(task)
        if spec is not None:  # the grader's own layout, whatever the public files look like
            return check_exact(task, spec, frame, ids)
    reasons: list[str] = []
    expected_cols = list(task.submission_columns)
    cols = [str(c) for c in frame.columns]
    have, want = set(cols), set(expected_cols)
    missing = [c for c in expected_cols if c not in have]
    extra = [c for c in cols if c not in want]
    dupe_cols = sorted(c for c, n in Counter(cols).items() if n > 1)
    if missing:
        reasons.append(f"missing column(s) {_shown(missing)}; expected columns {expected_cols}")
    if extra:
        reasons.append(f"unexpected column(s) {_shown(extra)}; expected columns {expected_cols}")
    if dupe_cols:
        reasons.append(f"duplicate column name(s) {_shown(dupe_cols)}")
    if len(frame) != len(ids):
        reasons.append(f"has {len(frame)} rows, expected {len(ids)} (one per test id)")
    if task.id_column not in cols or dupe_cols:
        return reasons

    sub_ids = frame[task.id_column]
    if sub_ids.isna().any():
        reasons.append(f"{int(sub_ids.isna().sum())} row(s) have an empty {task.id_column!r}")
    sub_ids = sub_ids.dropna().astype(str).str.strip()
    dupes = sub_ids[sub_ids.duplicated()].unique()
    if len(dupes):
        reasons.append(f"duplicate id(s) {_shown(dupes)}")
    expected = set(ids)
    unique_ids = list(sub_ids.unique().tolist())  # plain strings: iterating a string array is 100x slower
    unknown = [i for i in unique_ids if i not in expected]
    if unknown:
        reasons.append(f"unknown id(s) not in the test set: {_shown(unknown)}")
    present = set(unique_ids)
    absent = [i for i in ids if i not in present]
    if absent:
        reasons.append(f"missing id(s) {_shown(absent)}")

    if task.source == "mlebench":
        # lazy: keeps gome <cmd> --help light (MLE-bench checks load only for an MLE-bench task)
        from gome_es.tasks.mlebench_grade import check_values

        return reasons + check_values(task, frame)
    metric = METRICS.get(task.metric)
    for col in expected_cols[1:]:
        if deadline is not None:
            deadline.check(f"column {col!r}")
        if col not in have:
            continue
        values = frame[col]
        if values.isna().any():
            reasons.append(f"column {col!r} has {int(values.isna().sum())} empty/NaN value(s)")
            values = values.dropna()
        if metric is None:
            continue
        if metric.kind in ("score", "probabilities", "value"):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = values[numbers.isna()]
            if len(bad):
                reasons.append(f"column {col!r} must be numeric; non-numeric value(s) {_shown(bad.unique())}")
            finite = numbers.dropna()
            if (~np.isfinite(finite.to_numpy(dtype=float))).any():
                reasons.append(f"column {col!r} has infinite value(s)")
            if metric.kind == "value" and (finite.abs() > MAX_MAGNITUDE).any():
                reasons.append(f"column {col!r} has value(s) too large to score (|v| > {MAX_MAGNITUDE:g}); "
                               "the metric would overflow to infinity")
            if metric.kind == "probabilities" and (finite < 0).any():
                reasons.append(f"column {col!r} has negative probabilities")
        elif task.labels is not None:
            integer_labels = all(lbl.lstrip("-").isdigit() for lbl in task.labels)
            allowed = set(task.labels)
            normalised = values.astype(str).map(lambda v: _normalise_label(v, integer_labels))
            bad = normalised[~normalised.isin(allowed)].unique()
            if len(bad):
                reasons.append(
                    f"column {col!r} has label(s) outside {sorted(allowed)}: {_shown(bad)}"
                )
    if metric is not None and metric.kind == "probabilities" and not reasons:
        probs = frame[expected_cols[1:]].apply(pd.to_numeric).to_numpy(dtype=float)
        zero = int((probs.sum(axis=1) <= 0).sum())
        if zero:
            reasons.append(f"{zero} row(s) have probabilities summing to 0")
    return reasons


def check_submission(task: Task, path: Path, deadline: Deadline | None = None) -> SubmissionCheck:
    """Valid or not and why; with ``deadline``, a check that runs past it is invalid with that reason."""
    try:
        return _check_submission(task, path, deadline)
    except TooSlow as exc:
        return SubmissionCheck(valid=False, reasons=[f"submission {path}: {exc}"])


def check_submission_json(task: dict[str, Any], path: str, seconds: float) -> dict[str, Any]:
    """:func:`check_submission` with plain JSON in and out: what a worker process runs."""
    check = check_submission(Task.model_validate(task), Path(path), Deadline(seconds, "the submission check"))
    return {"valid": bool(check.valid), "reasons": list(check.reasons)}


def _check_submission(task: Task, path: Path, deadline: Deadline | None) -> SubmissionCheck:
    frame, reasons = read_submission(task, path)
    if frame is None:
        return SubmissionCheck(valid=False, reasons=reasons)
    if deadline is not None:
        deadline.check("reading the file")
    try:
        ids = expected_ids(task)
    except (OSError, KeyError, ValueError) as exc:
        return SubmissionCheck(
            valid=False,
            reasons=[f"cannot read the sample submission {task.sample_submission_path} of task {task.id}: {exc}"],
        )
    reasons = check_frame(task, frame, ids, deadline)
    return SubmissionCheck(valid=not reasons, reasons=reasons)


def score_frame(task: Task, frame: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The metric of a checked submission frame against the answers (not rounded)."""
    metric = METRICS[task.metric]
    idc = task.id_column
    sub = frame.copy()
    sub[idc] = sub[idc].astype(str).str.strip()
    ans = answers.copy()
    ans[idc] = ans[idc].astype(str).str.strip()
    merged = ans.merge(sub, on=idc, how="left", suffixes=("_answer", ""))
    pred_cols = task.submission_columns[1:]
    answer_col = task.target_columns[0]
    truth_col = answer_col + "_answer" if answer_col in pred_cols else answer_col
    truth = merged[truth_col].astype(str).str.strip()
    if metric.kind == "probabilities":
        labels = task.labels or []
        onehot = np.stack([(truth == lbl).to_numpy(dtype=float) for lbl in labels], axis=1)
        probs = merged[pred_cols].apply(pd.to_numeric).to_numpy(dtype=float)
        return metric.fn(onehot, probs)
    pred = merged[pred_cols[0]]
    if metric.kind in ("score", "value"):
        return metric.fn(truth.astype(float).to_numpy(), pd.to_numeric(pred).to_numpy(dtype=float))
    integer_labels = task.labels is not None and all(lab.lstrip("-").isdigit() for lab in task.labels)
    pred = pred.astype(str).map(lambda v: _normalise_label(v, integer_labels))
    return metric.fn(truth.to_numpy(), pred.to_numpy())
