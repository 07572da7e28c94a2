"""Checking and scoring submissions to MLE-bench competitions with gome's own grader.

``check_values`` says whether the prediction columns hold what the competition's
grader accepts, from public facts only (the submission kind, the label set seen in
the training data, the sample submission): the rules are those of the lite split's
``grade.py`` files (``prepare_for_accuracy_metric``, ``prepare_for_auroc_metric``,
nomad2018's RMSLE, spooky's row sums).  ``score`` computes the metric against the
private answers file the competition config names.  Where gome is stricter than
mlebench (a label never seen in training, keys that do not match) the reason says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gome_es.tasks.metrics import METRICS
from gome_es.tasks.model import Task
from gome_es.tasks.submission import integral_text

ROW_SUM_TOLERANCE = 1e-6  # spooky-author-identification's grade.py
# A prediction past this magnitude squares to infinity: the metric cannot be finite.
MAX_MAGNITUDE = 1e150
SHOWN = 5

_BOOL_WORDS = {"true": 1.0, "false": 0.0}


def _shown(values) -> str:
    values = list(values)
    head = ", ".join(repr(v) for v in values[:SHOWN])
    return head + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def canonical_label(value: object) -> str:
    """One spelling per label: booleans and integral numbers as integers, text stripped.

    Mirrors how scikit-learn's accuracy compares pandas-read columns: True == 1,
    1.0 == 1, but "1" read from a text column of words stays text.
    """
    text = str(value).strip()
    low = text.lower()
    if low in _BOOL_WORDS:
        return str(int(_BOOL_WORDS[low]))
    whole = integral_text(text)
    if whole is not None:
        return whole
    try:
        return repr(float(text))
    except ValueError:
        return text


def _numbers(values: pd.Series, col: str, reasons: list[str]) -> pd.Series:
    as_text = values.astype(str).str.strip()
    lowered = as_text.str.lower()
    mapped = lowered.map(_BOOL_WORDS)
    numbers = pd.to_numeric(as_text.where(mapped.isna(), mapped.astype(str)), errors="coerce")
    bad = values[numbers.isna()]
    if len(bad):
        reasons.append(f"column {col!r} must be numeric; non-numeric value(s) {_shown(bad.unique())}")
    return numbers.dropna().astype(float)


def check_values(task: Task, frame: pd.DataFrame) -> list[str]:
    """Reasons the prediction columns would not grade (empty = they would)."""
    reasons: list[str] = []
    kind = task.submission_kind
    pred_cols = [c for c in task.submission_columns[1:] if c in frame.columns]
    metric = task.metric
    for col in pred_cols:
        values = frame[col]
        if values.isna().any():
            reasons.append(f"column {col!r} has {int(values.isna().sum())} empty/NaN value(s)")
            values = values.dropna()
        if kind == "labels":
            allowed = {canonical_label(v) for v in (task.labels or [])}
            got = values.map(canonical_label)
            if allowed:
                bad = values[~got.isin(allowed)].unique()
                if len(bad):
                    looks_like_probability = pd.to_numeric(pd.Series(bad), errors="coerce").between(0, 1).all()
                    hint = (" (these look like probabilities; this competition is graded on labels)"
                            if looks_like_probability else "")
                    reasons.append(f"column {col!r} has label(s) outside {sorted(task.labels or [])}: "
                                   f"{_shown(bad)}{hint}")
            continue
        numbers = _numbers(values, col, reasons)
        if (~np.isfinite(numbers.to_numpy())).any():
            reasons.append(f"column {col!r} has infinite value(s)")
            numbers = numbers[np.isfinite(numbers.to_numpy())]
        if kind in ("probability", "class_probabilities"):
            out = numbers[(numbers < 0) | (numbers > 1)]
            if len(out):
                reasons.append(f"column {col!r} must hold probabilities in [0, 1]; "
                               f"got {len(out)} value(s) outside, e.g. {_shown(out.unique())}")
        elif kind == "values":
            if metric in ("rmsle", "mean_columnwise_rmsle") and (numbers < 0).any():
                reasons.append(f"column {col!r} has {int((numbers < 0).sum())} negative value(s); "
                               "RMSLE is undefined for them")
            huge = numbers[numbers.abs() > MAX_MAGNITUDE]
            if len(huge):
                reasons.append(f"column {col!r} has value(s) too large to score (|v| > {MAX_MAGNITUDE:g}): "
                               f"{_shown(huge.unique())}")
    if kind == "class_probabilities" and not reasons and pred_cols:
        probs = frame[pred_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        off = np.abs(probs.sum(axis=1) - 1.0) > ROW_SUM_TOLERANCE
        if off.any():
            reasons.append(f"{int(off.sum())} row(s) have probabilities that do not sum to 1 "
                           f"(tolerance {ROW_SUM_TOLERANCE:g})")
    return reasons


def _truth_matrix(task: Task, answers: pd.DataFrame, order: pd.Series) -> np.ndarray:
    idc = task.id_column
    ans = answers.copy()
    ans[idc] = ans[idc].astype(str).str.strip()
    ans = ans.set_index(idc).loc[order.to_numpy()]
    pred_cols = task.submission_columns[1:]
    if task.submission_kind == "class_probabilities":
        if all(c in ans.columns for c in pred_cols):  # one-hot answers (spooky)
            return ans[pred_cols].apply(pd.to_numeric).to_numpy(dtype=float)
        truth = ans[task.target_columns[0]].astype(str).str.strip()
        return np.stack([(truth == c).to_numpy(dtype=float) for c in pred_cols], axis=1)
    cols = [c for c in pred_cols if c in ans.columns] or task.target_columns
    if task.submission_kind == "labels":
        return ans[cols[0]].map(canonical_label).to_numpy()
    block = ans[cols].astype(str).apply(lambda s: s.str.strip().str.lower().map(
        lambda v: _BOOL_WORDS.get(v, v)))
    return block.apply(pd.to_numeric).to_numpy(dtype=float)


def score(task: Task, frame: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The metric of a checked submission against the answers (not rounded)."""
    metric = METRICS[task.metric]
    idc = task.id_column
    sub = frame.copy()
    sub[idc] = sub[idc].astype(str).str.strip()
    pred_cols = task.submission_columns[1:]
    truth = _truth_matrix(task, answers, sub[idc])
    if task.submission_kind == "labels":
        pred = sub[pred_cols[0]].map(canonical_label).to_numpy()
        return metric.fn(truth, pred)
    block = sub[pred_cols].astype(str).apply(lambda s: s.str.strip().str.lower().map(
        lambda v: _BOOL_WORDS.get(v, v)))
    pred = block.apply(pd.to_numeric).to_numpy(dtype=float)
    if pred.shape[1] == 1 and metric.name not in ("mean_columnwise_rmsle", "mean_columnwise_auc"):
        return metric.fn(truth.reshape(len(truth), -1)[:, 0], pred[:, 0])
    return metric.fn(truth, pred)
