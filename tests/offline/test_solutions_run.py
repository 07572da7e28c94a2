"""Generated solutions run for real (subprocess, GOME_DATA_DIR) and honour the contract."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gome_es.solutions import FAMILIES, default_recipe, recipe_from_code, render
from gome_es.solutions.recipes import apply_change, member

from .conftest import run_solution

FAST = [
    ("binary", "hgb", {}),
    ("multiclass", "logreg", {"features": {"poly": 2}}),
    ("regression", "ridge", {"features": {"log_target": True, "log_skewed": True}}),
    ("text", "svm", {"features": {"analyzer": "both"}}),
    ("image", "knn", {"features": {"pca": 20}}),
]
ALL = [(t, f, {}) for t in FAMILIES for f in FAMILIES[t]]


def _check(tasks, tmp_path, task_type, recipe):
    task, data_dir, answers = tasks(task_type)
    code = render(task, recipe)
    assert recipe_from_code(code)["family"] == recipe["family"]
    proc, metrics = run_solution(code, data_dir, tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sample = pd.read_csv(data_dir / "sample_submission.csv")
    sub = pd.read_csv(tmp_path / "ws" / "submission.csv")
    assert list(sub.columns) == list(sample.columns)
    assert sub["id"].tolist() == sample["id"].tolist()
    assert not sub.isna().any().any()
    assert math.isfinite(metrics["val_score"]) and math.isfinite(metrics["train_score"])
    assert metrics["fit_seconds"] >= 0
    if task["metric"] in ("auc_roc", "multiclass_log_loss"):
        values = sub.drop(columns=["id"]).to_numpy(float)
        assert values.min() >= 0 and values.max() <= 1
        if values.shape[1] > 1:
            np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-6)
    return task, sub, answers, metrics


@pytest.mark.integration
@pytest.mark.parametrize("task_type,family,change", FAST, ids=[f"{t}-{f}" for t, f, _ in FAST])
def test_representative_recipes_run_and_write_valid_outputs(tasks, tmp_path, task_type, family,
                                                            change):
    recipe = apply_change(task_type, default_recipe(task_type, family), change)
    _check(tasks, tmp_path, task_type, recipe)


@pytest.mark.integration
def test_ensemble_solution_beats_chance_on_hidden_answers(tasks, tmp_path):
    recipe = default_recipe("binary", "ensemble")
    recipe["members"] = [member("binary", "logreg"), member("binary", "rf")]
    task, sub, answers, _ = _check(tasks, tmp_path, "binary", recipe)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(answers["malignant"], sub["malignant"]) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("task_type,family,change", ALL, ids=[f"{t}-{f}" for t, f, _ in ALL])
def test_every_family_runs(tasks, tmp_path, task_type, family, change):
    _check(tasks, tmp_path, task_type, default_recipe(task_type, family))


@pytest.mark.slow
@pytest.mark.parametrize("task_type", list(FAMILIES))
def test_ensembles_run(tasks, tmp_path, task_type):
    _check(tasks, tmp_path, task_type, default_recipe(task_type, "ensemble"))


@pytest.mark.integration
@pytest.mark.parametrize("folds", [None, 1], ids=["small-data-kfold", "hold-out"])
def test_recipe_without_refit_still_predicts_the_test_set(tasks, tmp_path, folds):
    """refit_full False: the hold-out split's model predicts the test set; after K-fold
    (the default below SMALL_DATA rows: the binary task has 427) no fold model is kept,
    so the solution fits one on every row rather than fail for want of a model."""
    change: dict = {"refit_full": False}
    if folds:
        change["validation"] = {"folds": folds}
    recipe = apply_change("binary", default_recipe("binary", "logreg"), change)
    assert recipe["refit_full"] is False
    task, sub, _, metrics = _check(tasks, tmp_path, "binary", recipe)
    assert (metrics["n_train"], metrics["n_val"]) == ((341, 86) if folds == 1 else (342, 85))
