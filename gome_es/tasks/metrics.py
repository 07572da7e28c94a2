"""Competition metrics, implemented with numpy only (no scikit-learn at run time).

Each metric takes aligned arrays (``y_true`` from the private answers, ``y_pred``
from the submission, same row order) and returns a float.  ``METRICS`` maps the
name written in a task's ``task.json`` to the function and its direction.
Pure: no I/O.  The tests compare every metric with scikit-learn's.
"""

from __future__ import annotations

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
