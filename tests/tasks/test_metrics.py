"""Our numpy metrics agree with scikit-learn's on random and edge-case inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from gome_es.tasks import metrics as m

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(2, 60)


@settings(max_examples=60, deadline=None)
@given(seeds, sizes)
def test_auc_matches_sklearn_including_ties(seed, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = rng.integers(0, 5, n).astype(float)  # few distinct values: many ties
    assert m.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_auc_single_class_raises():
    with pytest.raises(ValueError):
        m.roc_auc(np.array([1, 1]), np.array([0.2, 0.3]))


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, st.integers(2, 6))
def test_log_loss_matches_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.random((n, k)) + 1e-3  # unnormalised on purpose
    onehot = np.eye(k)[y]
    expected = skm.log_loss(y, p / p.sum(axis=1, keepdims=True), labels=list(range(k)))
    assert m.multiclass_log_loss(onehot, p) == pytest.approx(expected, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(seeds, sizes)
def test_regression_metrics_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    t, p = rng.random(n) * 100, rng.random(n) * 100
    assert m.rmse(t, p) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)), rel=1e-12)
    assert m.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
    assert m.rmsle(t, p) == pytest.approx(np.sqrt(skm.mean_squared_log_error(t, p)), rel=1e-12)


def test_log_loss_clips_a_confident_miss_at_1e_minus_15():
    # scikit-learn's own clip changed across versions; Kaggle documents 1e-15.
    loss = m.multiclass_log_loss(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert loss == pytest.approx(-np.log(1e-15))


def test_rmsle_refuses_values_at_or_below_minus_one():
    with pytest.raises(ValueError):
        m.rmsle(np.array([1.0]), np.array([-1.0]))


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, st.integers(2, 7))
def test_label_metrics_match_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, k, n), rng.integers(0, k, n)
    assert m.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    assert m.macro_f1(t, p) == pytest.approx(skm.f1_score(t, p, average="macro", zero_division=0))
    if len(np.union1d(t, p)) > 1:
        expected = skm.cohen_kappa_score(t, p, weights="quadratic")
        assert m.quadratic_weighted_kappa(t, p) == pytest.approx(expected, abs=1e-12)


def test_macro_f1_on_strings():
    t = np.array(["Climb", "Approach", "Climb", "Taxi"])
    p = np.array(["Climb", "Climb", "Climb", "Approach"])
    assert m.macro_f1(t, p) == pytest.approx(skm.f1_score(t, p, average="macro", zero_division=0))


def test_every_metric_has_a_direction():
    assert {k for k, v in m.METRICS.items() if v.lower_is_better} == {
        "multiclass_log_loss", "rmse", "rmsle", "mae", "log_loss", "mean_columnwise_rmsle"}


@settings(max_examples=40, deadline=None)
@given(seeds, sizes)
def test_mlebench_metrics_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, size=(n, 2))
    t[0], t[1] = [0, 0], [1, 1]  # both classes in every column
    s = rng.random((n, 2))
    want = np.mean([skm.roc_auc_score(t[:, j], s[:, j]) for j in range(2)])
    assert m.mean_columnwise_auc(t, s) == pytest.approx(want)
    assert m.log_loss(t[:, 0], s[:, 0]) == pytest.approx(skm.log_loss(t[:, 0], s[:, 0]))
    y, p = rng.random((n, 2)) * 3, rng.random((n, 2)) * 3
    want = np.mean([np.sqrt(skm.mean_squared_log_error(y[:, j], p[:, j])) for j in range(2)])
    assert m.mean_columnwise_rmsle(y, p) == pytest.approx(want)


@pytest.mark.integration
def test_grading_core_does_not_need_scikit_learn():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, gome_es.tasks, gome_es.cli.tasks_cmd; "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


# --- MLE-bench's graders: scikit-learn >= 1.9's exact numbers, NaN and errors ------------------


@settings(max_examples=20, deadline=None)
@given(seeds, sizes, st.sampled_from([(0, 1), (-1, 1), (1, 2), (False, True)]))
def test_binary_auc_takes_the_larger_label_as_positive(seed, n, labels):
    rng = np.random.default_rng(seed)
    y = np.array(labels)[rng.integers(0, 2, n)]
    y[0], y[1] = labels
    s = rng.integers(0, 6, n) / 5.0
    assert m.binary_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_binary_auc_one_class_is_nan_and_bad_input_raises():
    with pytest.warns(Warning):
        assert np.isnan(skm.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3]))
    assert np.isnan(m.binary_auc(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3])))
    for bad in (np.array([0.1, np.nan, 0.3]), np.array([0.1, np.inf, 0.3]), np.array(["a", "b", "c"], dtype=object)):
        with pytest.raises(ValueError):
            m.binary_auc(np.array([0, 1, 1]), bad)
    with pytest.raises(ValueError):
        m.binary_auc(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]))


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(6, 40), st.integers(2, 7))
def test_macro_auc_matches_sklearn_and_pairs_columns_by_position(seed, n, k):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, (n, k))
    t[0], t[1] = 0, 1
    s = rng.random((n, k))
    assert m.macro_auc(t, s) == pytest.approx(skm.roc_auc_score(t, s, average="macro"), abs=1e-12)
    with pytest.raises(ValueError):  # more score columns than label columns
        m.macro_auc(t, np.c_[s, s[:, :1]])


@settings(max_examples=20, deadline=None)
@given(seeds, sizes, st.integers(2, 6))
def test_sklearn_log_loss_unnormalised_and_clipped_at_float_eps(seed, n, k):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k) if n >= k else y[:k]
    onehot = np.eye(k)[y]
    p = rng.random((n, k))
    p = p / p.sum(axis=1, keepdims=True)
    p[0] = np.eye(k)[(y[0] + 1) % k]  # a confident mistake: the clip decides its cost
    got = m.sklearn_log_loss(onehot, p)
    assert got == pytest.approx(skm.log_loss(onehot, p), rel=1e-12)
    with pytest.raises(ValueError):
        m.sklearn_log_loss(onehot, p * 1.5)


def test_binary_log_loss_with_one_column_of_probabilities():
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.1, 0.8, 1.0, 0.0, 0.4])
    assert m.sklearn_log_loss(m.binary_labels_onehot(y), p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    with pytest.raises(ValueError):
        m.binary_labels_onehot(np.array([1, 1, 1]))


@settings(max_examples=20, deadline=None)
@given(seeds, sizes)
def test_kappa_matches_sklearn_including_unseen_ratings(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, n)
    b = np.where(rng.random(n) < 0.2, 7, rng.integers(0, 5, n))  # 7: a rating the other side never uses
    expected = skm.cohen_kappa_score(a, b, weights="quadratic")
    got = m.kappa_quadratic(a, b)
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_kappa_undefined_is_nan_and_continuous_raises():
    assert np.isnan(m.kappa_quadratic(np.array([2, 2, 2]), np.array([2, 2, 2])))
    with pytest.raises(ValueError):
        m.kappa_quadratic(np.array([1.5, 2.0]), np.array([1, 2]))


@settings(max_examples=20, deadline=None)
@given(seeds, sizes)
def test_rmsle_takes_values_above_minus_one(seed, n):
    rng = np.random.default_rng(seed)
    t, p = rng.random(n) * 3 - 0.9, rng.random(n) * 3 - 0.9
    assert m.rmsle_sklearn(t, p) == pytest.approx(skm.root_mean_squared_log_error(t, p), rel=1e-12)
    with pytest.raises(ValueError):
        m.rmsle_sklearn(t, np.r_[-1.0, p[1:]])
    with pytest.raises(ValueError):
        m.rmse_finite(t, np.r_[np.nan, p[1:]])
