"""Recipes: the small, JSON-able description of a solution that code is generated from.

A recipe names a model family, its hyperparameters, the feature pipeline, the
validation split and (for ``family="ensemble"``) the member models.  This module
owns the recipe space per task type (which families exist, their defaults),
``normalize`` (fill every default so rendering never guesses) and
``apply_change`` (the one rule for how a hypothesis' ``change`` edits a recipe).
Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import copy
from typing import Any

from gome_es.core.canonical import canonical_json
from gome_es.errors import ReasonerError

TABULAR = ("binary", "multiclass", "regression")
# recipe spaces of competitions that are not one table (gome_es.solutions.media.SPACES)
MEDIA = ("vision", "audio", "nlp", "img2img", "seq2seq")
TASK_TYPES = (*TABULAR, "text", "image", *MEDIA)


class RecipeError(ReasonerError):
    """A recipe or change cannot be used for this task type."""


# Families available per task type, in the order the offline reasoner tries them as
# starting directions (strongest expected first, then diverse alternatives).
FAMILIES: dict[str, tuple[str, ...]] = {
    "binary": ("hgb", "logreg", "rf", "svm", "et", "mlp", "knn"),
    "multiclass": ("hgb", "logreg", "rf", "svm", "et", "mlp", "knn"),
    "regression": ("hgb", "ridge", "rf", "et", "svm", "mlp", "knn"),
    "text": ("logreg", "svm", "nb"),
    "image": ("svm", "torch_cnn", "logreg", "rf", "knn", "et", "torch_mlp", "mlp"),
    # image files (with or without a metadata table): a small CNN from scratch, features of each
    # image (colour histograms, a downsampled picture) with a GBM / linear model / trees, and a
    # pretrained ResNet fine-tuned when $GOME_WEIGHTS_DIR holds one
    "vision": ("cnn", "feat_hgb", "feat_logreg", "feat_et", "pretrained"),
    "audio": ("spec_hgb", "spec_cnn", "spec_logreg", "spec_et"),
    "nlp": ("logreg", "nb"),
    "img2img": ("pixel_hgb", "conv"),
    "seq2seq": ("memo",),
}

# Families whose inputs must be scaled / one-hot encoded (distance- or gradient-based).
LINEAR_LIKE = {"logreg", "ridge", "knn", "svm", "mlp", "torch_mlp", "torch_cnn", "nb"}
TREE_LIKE = {"rf", "et", "hgb"}

_DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logreg": {"C": 1.0, "max_iter": 2000},
    "ridge": {"alpha": 1.0},
    "rf": {"n_estimators": 300, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt"},
    "et": {"n_estimators": 300, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt"},
    "hgb": {
        "learning_rate": 0.1,
        "max_iter": 200,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    },
    "knn": {"n_neighbors": 15, "weights": "distance"},
    "svm": {"C": 1.0, "gamma": "scale"},
    "mlp": {"hidden": [128], "alpha": 0.001, "max_iter": 400},
    "nb": {"alpha": 0.1},
    "torch_mlp": {
        "hidden": 256,
        "epochs": 30,
        "lr": 0.001,
        "batch_size": 64,
        "weight_decay": 0.0001,
        "dropout": 0.2,
    },
    "torch_cnn": {
        "channels": 32,
        "epochs": 15,
        "lr": 0.001,
        "batch_size": 64,
        "weight_decay": 0.0001,
        "dropout": 0.2,
    },
    "ensemble": {},
    "cnn": {"channels": 32, "epochs": 12, "lr": 0.002, "batch_size": 32, "weight_decay": 0.0001,
            "dropout": 0.2, "image_size": 64, "train_seconds": 60},
    "pretrained": {"epochs": 6, "lr": 0.0005, "batch_size": 32, "weight_decay": 0.0001,
                   "image_size": 96, "train_seconds": 90},
    "spec_cnn": {"channels": 24, "epochs": 12, "lr": 0.002, "batch_size": 32, "weight_decay": 0.0001,
                 "dropout": 0.2, "image_size": 64, "train_seconds": 60},
    "feat_hgb": {"learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 31},
    "spec_hgb": {"learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 31},
    "feat_logreg": {"C": 1.0},
    "spec_logreg": {"C": 1.0},
    "feat_et": {"n_estimators": 300},
    "spec_et": {"n_estimators": 300},
    "pixel_hgb": {"learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 63, "pixels_per_image": 20000},
    "conv": {"channels": 32, "lr": 0.001, "steps": 600, "batch_size": 16, "patch": 64, "train_seconds": 60},
    "memo": {},
}

_TYPE_PARAM_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    # Regression forests do better looking at more features per split.
    ("regression", "rf"): {"max_features": 0.5},
    ("regression", "et"): {"max_features": 0.7},
    ("regression", "svm"): {"C": 10.0, "gamma": "scale", "epsilon": 0.1},
    ("text", "logreg"): {"C": 10.0, "max_iter": 2000},
    ("image", "svm"): {"C": 5.0, "gamma": "scale"},
    ("image", "rf"): {"n_estimators": 300, "max_depth": None, "min_samples_leaf": 1,
                      "max_features": "sqrt"},
    ("image", "knn"): {"n_neighbors": 5, "weights": "distance"},
    ("image", "logreg"): {"C": 0.1, "max_iter": 2000},
}

# Families whose parameters in a media space are their own (not the tabular defaults).
_MEDIA_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("nlp", "logreg"): {"C": 4.0},
    ("nlp", "nb"): {"alpha": 0.3},
}

# Families whose parameters differ in kind for a task type (not just in value).
_TYPE_PARAM_REPLACE: dict[tuple[str, str], dict[str, Any]] = {
    # Text: a linear SVM (no kernel) over TF-IDF.
    ("text", "svm"): {"C": 0.5},
}

_DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "tabular": {
        "impute": "median",
        "cat_encoding": "auto",  # auto: one-hot for linear-like families, ordinal for trees
        "log_skewed": False,
        "poly": 0,  # 2 = pairwise interactions + squares of numeric columns
        "drop_id_like": False,
        "log_target": False,  # regression only
    },
    "text": {
        "analyzer": "word",  # word | char_wb | both
        "ngram_max": 2,
        "min_df": 1,
        "max_features": 50000,
        "sublinear_tf": True,
    },
    "image": {"standardize": False, "pca": 0},
    "vision": {"pixels": 8, "metadata": True},
    "audio": {"bands": 32},
    "nlp": {"analyzer": "both", "ngram_max": 2, "min_df": 2, "max_features": 100000},
    "img2img": {"radius": 2},
    "seq2seq": {},
}


def feature_kind(task_type: str) -> str:
    return "tabular" if task_type in TABULAR else task_type


def check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise RecipeError(
            f"unknown task_type {task_type!r}; the offline recipes cover {', '.join(TASK_TYPES)}. "
            "Check the task config's task_type."
        )


def default_params(task_type: str, family: str) -> dict[str, Any]:
    check_task_type(task_type)
    if family not in FAMILIES[task_type] and family != "ensemble":
        raise RecipeError(
            f"model family {family!r} is not available for {task_type} tasks; "
            f"choose one of {', '.join(FAMILIES[task_type])} or 'ensemble'."
        )
    if (task_type, family) in _TYPE_PARAM_REPLACE:
        return copy.deepcopy(_TYPE_PARAM_REPLACE[(task_type, family)])
    if (task_type, family) in _MEDIA_PARAMS:
        return copy.deepcopy(_MEDIA_PARAMS[(task_type, family)])
    params = copy.deepcopy(_DEFAULT_PARAMS[family])
    params.update(copy.deepcopy(_TYPE_PARAM_OVERRIDES.get((task_type, family), {})))
    return params


def default_recipe(task_type: str, family: str, seed: int = 0) -> dict[str, Any]:
    """A complete recipe for ``family`` with default hyperparameters."""
    recipe: dict[str, Any] = {
        "family": family,
        "params": default_params(task_type, family),
        "features": copy.deepcopy(_DEFAULT_FEATURES[feature_kind(task_type)]),
        "validation": {"size": 0.2, "seed": 42},
        "refit_full": True,
        "n_jobs": 1,
        "seed": int(seed),
    }
    if family == "ensemble" and task_type in MEDIA:
        raise RecipeError(f"the {task_type} solutions have no ensembles; choose one of "
                          f"{', '.join(FAMILIES[task_type])}")
    if family == "ensemble":
        first = FAMILIES[task_type][:2]
        recipe["members"] = [member(task_type, f) for f in first]
    return recipe


def member(task_type: str, family: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = default_params(task_type, family)
    merged.update(params or {})
    return {"family": family, "params": merged}


def normalize(task_type: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """Fill every default so that a recipe fully determines its code."""
    check_task_type(task_type)
    family = recipe.get("family") or FAMILIES[task_type][0]
    out = default_recipe(task_type, family, seed=int(recipe.get("seed", 0) or 0))
    out["params"].update(copy.deepcopy(recipe.get("params") or {}))
    out["features"].update(copy.deepcopy(recipe.get("features") or {}))
    out["validation"].update(copy.deepcopy(recipe.get("validation") or {}))
    for key in ("refit_full", "n_jobs"):
        if key in recipe:
            out[key] = recipe[key]
    if family == "ensemble":
        members = recipe.get("members") or out["members"]
        out["members"] = [
            member(task_type, m["family"], m.get("params")) for m in members if m.get("family")
        ]
        if len(out["members"]) < 2:
            raise RecipeError(
                "an ensemble recipe needs at least two members with a 'family'; "
                f"got {recipe.get('members')!r}"
            )
    else:
        out.pop("members", None)
    out["n_jobs"] = max(1, int(out["n_jobs"]))
    return out


def apply_change(task_type: str, recipe: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The recipe that results from applying a hypothesis' ``change``.

    Rules: a change naming a different ``family`` starts from that family's default
    params (the old family's params mean nothing to the new one); ``params``,
    ``features`` and ``validation`` are merged key by key; ``members`` replaces the
    member list; any other key replaces the value.
    """
    base = normalize(task_type, recipe)
    change = copy.deepcopy(change or {})
    new_family = change.pop("family", None)
    if new_family and new_family != base["family"]:
        base["family"] = new_family
        base["params"] = default_params(task_type, new_family)
        if new_family != "ensemble":
            base.pop("members", None)
    for section in ("params", "features", "validation"):
        if section in change:
            base[section].update(change.pop(section) or {})
    for key, value in change.items():
        base[key] = value
    return normalize(task_type, base)


def recipe_key(recipe: dict[str, Any]) -> str:
    """A stable identity for a recipe (ignores nothing: equal keys mean equal code)."""
    return canonical_json(recipe)


def describe(recipe: dict[str, Any]) -> str:
    """A one-line human summary, e.g. ``hgb(learning_rate=0.05, max_iter=400)``."""
    if recipe.get("family") == "ensemble":
        inner = " + ".join(m["family"] for m in recipe.get("members", []))
        return f"ensemble({inner})"
    params = ", ".join(f"{k}={v}" for k, v in sorted((recipe.get("params") or {}).items()))
    return f"{recipe.get('family')}({params})"
