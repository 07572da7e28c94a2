"""Competition metrics, implemented with numpy only (no scikit-learn at run time).

Each metric takes aligned arrays (``y_true`` from the private answers, ``y_pred``
from the submission, same row order) and returns a float.  ``METRICS`` maps the
name written in a task's ``task.json`` to the function and its direction.
Pure: no I/O.  The tests compare every metric with scikit-learn's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

# Kaggle and scikit-learn clip probabilities before taking logs, so a single
# confident mistake costs a large but finite amount.
LOG_LOSS_EPS = 1e-15


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _rankdata_average(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=float)
    # Boundaries of runs of equal values.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_vals) != 0) + 1]
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    return ranks


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Binary AUC-ROC via the Mann-Whitney U statistic (ties count one half)."""
    y = np.asarray(y_true).astype(float)
    s = np.asarray(y_score, dtype=float)
    pos = y == 1
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC-ROC is undefined when the answers hold only one class")
    ranks = _rankdata_average(s)
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def multiclass_log_loss(y_true_onehot: np.ndarray, y_prob: np.ndarray) -> float:
    """Kaggle's multi-class log loss: rows are normalised to sum 1, then clipped."""
    p = np.asarray(y_prob, dtype=float)
    t = np.asarray(y_true_onehot, dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    p = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return float(-np.mean(np.sum(t * np.log(p), axis=1)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    d = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    return float(np.sqrt(np.mean(d * d)))


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if (t <= -1).any() or (p <= -1).any():
        raise ValueError("RMSLE needs every value above -1 (log1p is undefined otherwise)")
    d = np.log1p(t) - np.log1p(p)
    return float(np.sqrt(np.mean(d * d)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the union of true and predicted labels.

    A class with no true and no predicted member cannot occur (it is not in the
    union); a class with zero precision and recall scores 0, as in scikit-learn.
    """
    t = np.asarray(y_true).astype(str)
    p = np.asarray(y_pred).astype(str)
    labels = np.union1d(t, p)
    scores = []
    for label in labels:
        tp = np.sum((t == label) & (p == label))
        fp = np.sum((t != label) & (p == label))
        fn = np.sum((t == label) & (p != label))
        denom = 2 * tp + fp + fn
        scores.append(0.0 if denom == 0 else 2 * tp / denom)
    return float(np.mean(scores))


def quadratic_weighted_kappa(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Cohen's kappa with quadratic weights over the integer ratings seen."""
    t = np.asarray(y_true).astype(int)
    p = np.asarray(y_pred).astype(int)
    labels = np.union1d(t, p)
    k = len(labels)
    index = {v: i for i, v in enumerate(labels)}
    observed = np.zeros((k, k))
    for a, b in zip(t, p):
        observed[index[a], index[b]] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(t)
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    weights = (i - j) ** 2 / max((k - 1) ** 2, 1)
    denom = (weights * expected).sum()
    if denom == 0:
        # Everyone agrees on one rating: perfect agreement by convention.
        return 1.0
    return float(1.0 - (weights * observed).sum() / denom)


def log_loss(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Binary log loss of P(class 1), clipped as scikit-learn does."""
    t = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_prob, dtype=float), LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))


def mean_columnwise_rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """RMSLE per target column, averaged (nomad2018's metric)."""
    t = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype=float).reshape(len(y_pred), -1)
    return float(np.mean([rmsle(t[:, j], p[:, j]) for j in range(t.shape[1])]))


def mean_columnwise_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """AUC-ROC per label column, averaged (multi-label competitions)."""
    t = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    s = np.asarray(y_score, dtype=float).reshape(len(y_score), -1)
    return float(np.mean([roc_auc(t[:, j], s[:, j]) for j in range(t.shape[1])]))


# --- MLE-bench's graders, as scikit-learn >= 1.9 computes them -----------------------------
# MLE-bench's grade.py files call scikit-learn; these give the same numbers without it
# (gome_es.tasks.mlebench_graders decides which one a competition uses).  Where scikit-learn
# answers NaN (one class only) so do these; where it raises, these raise ValueError.

FLOAT64_EPS = float(np.finfo(np.float64).eps)  # scikit-learn's log-loss clip since 1.5


def _finite_floats(values: np.ndarray, what: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not numeric ({exc})") from None
    if not np.isfinite(out).all():
        raise ValueError(f"{what} contains NaN or infinity")
    return out


def binary_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """roc_auc_score of one column: the larger of the two labels is positive; NaN with one label.

    More than two labels, non-integral float labels or non-finite scores raise ValueError.
    """
    t = np.asarray(y_true)
    if t.dtype.kind == "f":
        _finite_floats(t, "y_true")
        if (t != np.round(t)).any():
            raise ValueError("y_true is continuous; AUC needs two classes")
    s = _finite_floats(y_score, "y_score")
    if len(t) != len(s):
        raise ValueError(f"y_true has {len(t)} rows and y_score {len(s)}")
    labels = np.unique(t)
    if len(labels) > 2:
        raise ValueError(f"y_true holds {len(labels)} classes; AUC needs two")
    if len(labels) < 2:
        return float("nan")
    pos = t == labels[1]
    n_pos = int(pos.sum())
    ranks = _rankdata_average(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * (len(t) - n_pos)))


def macro_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """roc_auc_score(average="macro") of a 0/1 indicator matrix: columns are paired by position,
    as many as ``y_score`` has (more score than label columns raises)."""
    t = np.asarray(y_true)
    s = np.asarray(y_score)
    if t.ndim != 2 or s.ndim != 2:
        raise ValueError("a multi-label AUC needs two matrices")
    if len(t) != len(s):
        raise ValueError(f"y_true has {len(t)} rows and y_score {len(s)}")
    if s.shape[1] > t.shape[1]:
        raise ValueError(f"y_score has {s.shape[1]} columns but y_true only {t.shape[1]}")
    s = _finite_floats(s, "y_score")
    return float(np.mean([binary_auc(t[:, j], s[:, j]) for j in range(s.shape[1])]))


def sklearn_log_loss(y_true_onehot: np.ndarray, y_prob: np.ndarray) -> float:
    """log_loss of probabilities in [0, 1] (one column: P(positive)), clipped to the float64
    epsilon and never renormalised, as scikit-learn >= 1.9 computes it."""
    p = _finite_floats(y_prob, "y_prob")
    if p.size and (p.max() > 1 or p.min() < 0):
        raise ValueError("y_prob holds values outside [0, 1]")
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] == 1:
        p = np.concatenate([1 - p, p], axis=1)
    t = np.asarray(y_true_onehot, dtype=float)
    if t.shape != p.shape:
        raise ValueError(f"labels {t.shape} and probabilities {p.shape} differ in shape")
    p = np.clip(p, FLOAT64_EPS, 1 - FLOAT64_EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(t == 0, 0.0, t * np.log(p))
    return float(-np.mean(terms.sum(axis=1)))


def binary_labels_onehot(y_true: np.ndarray) -> np.ndarray:
    """Two-class labels as a two-column indicator, smaller label first (LabelBinarizer's order)."""
    t = np.asarray(y_true)
    labels = np.unique(t)
    if len(labels) != 2:
        raise ValueError(f"y_true holds {len(labels)} label(s); a binary log loss needs exactly two")
    pos = (t == labels[1]).astype(float)
    return np.stack([1 - pos, pos], axis=1)


def kappa_quadratic(y_a: np.ndarray, y_b: np.ndarray) -> float:
    """cohen_kappa_score(weights="quadratic"): weights by the labels' positions in their sorted
    union (not their values); NaN where the statistic is undefined."""
    a, b = np.asarray(y_a), np.asarray(y_b)
    if len(a) != len(b):
        raise ValueError(f"the ratings have {len(a)} and {len(b)} rows")
    for arr, what in ((a, "y_pred"), (b, "y_true")):
        if arr.dtype.kind == "f":
            _finite_floats(arr, what)
            if (arr != np.round(arr)).any():
                raise ValueError(f"{what} is continuous; kappa needs class labels")
    try:
        labels = np.union1d(a, b)
    except TypeError as exc:
        raise ValueError(f"the ratings mix label types ({exc})") from None
    k = len(labels)
    ia, ib = np.searchsorted(labels, a), np.searchsorted(labels, b)
    confusion = np.zeros((k, k))
    np.add.at(confusion, (ia, ib), 1)
    total = confusion.sum()
    if total == 0:
        return float("nan")
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / total
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2
    denom = (weights * expected).sum()
    if denom == 0:
        return float("nan")
    return float(1 - (weights * confusion).sum() / denom)


def rmse_finite(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """root_mean_squared_error: NaN or infinity in either raises ValueError."""
    t, p = _finite_floats(y_true, "y_true"), _finite_floats(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows and y_pred {len(p)}")
    return rmse(t, p)


def rmsle_sklearn(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """root_mean_squared_log_error: values <= -1, NaN or infinity raise ValueError."""
    t, p = _finite_floats(y_true, "y_true"), _finite_floats(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows and y_pred {len(p)}")
    if (t <= -1).any() or (p <= -1).any():
        raise ValueError("root mean squared log error needs every value above -1")
    d = np.log1p(t) - np.log1p(p)
    return float(np.sqrt(np.mean(d * d)))


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    lower_is_better: bool
    # What the submission's prediction columns hold.
    kind: str  # "label" | "score" | "probabilities" | "value"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", accuracy, False, "label"),
        Metric("auc_roc", roc_auc, False, "score"),
        Metric("multiclass_log_loss", multiclass_log_loss, True, "probabilities"),
        Metric("rmse", rmse, True, "value"),
        Metric("rmsle", rmsle, True, "value"),
        Metric("mae", mae, True, "value"),
        Metric("macro_f1", macro_f1, False, "label"),
        Metric("quadratic_weighted_kappa", quadratic_weighted_kappa, False, "label"),
        Metric("log_loss", log_loss, True, "score"),
        Metric("mean_columnwise_rmsle", mean_columnwise_rmsle, True, "value"),
        Metric("mean_columnwise_auc", mean_columnwise_auc, False, "score"),
    ]
}


def integral_text(text: str) -> str | None:
    """"3", "3.0" and " 3e0" as "3"; None for anything that is not a finite whole number."""
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return None
