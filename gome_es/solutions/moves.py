"""The catalogue of changes the offline reasoner can propose from a recipe.

A :class:`Move` is one concrete edit (a ``change`` for
:func:`gome_es.solutions.recipes.apply_change`) with what it is for (``tags``:
capacity_up, regularize, speed, leak_fix, ensemble, switch), a prior expected
impact, a relative runtime cost and how safe a bet it is.  The reasoner scores
moves against the diagnosis, memory and history; this module only lists them.
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gome_es.solutions.recipes import FAMILIES, LINEAR_LIKE, MEDIA, TABULAR, member

# How strong a family usually is per task type (1..10): the prior for a switch.
STRENGTH: dict[str, dict[str, int]] = {
    "binary": {"hgb": 7, "rf": 6, "et": 6, "svm": 6, "logreg": 5, "mlp": 4, "knn": 3},
    "multiclass": {"hgb": 7, "rf": 6, "et": 6, "svm": 6, "logreg": 5, "mlp": 4, "knn": 3},
    "regression": {"hgb": 7, "rf": 6, "et": 6, "ridge": 5, "svm": 4, "mlp": 4, "knn": 3},
    "text": {"svm": 7, "logreg": 6, "nb": 4},
    "image": {"torch_cnn": 8, "svm": 7, "knn": 5, "et": 5, "rf": 4, "torch_mlp": 5,
              "logreg": 3, "mlp": 3},
    "vision": {"pretrained": 9, "cnn": 8, "feat_hgb": 5, "feat_et": 4, "feat_logreg": 3},
    "audio": {"spec_cnn": 6, "spec_hgb": 6, "spec_et": 5, "spec_logreg": 4},
    "nlp": {"logreg": 7, "nb": 5},
    "img2img": {"conv": 7, "pixel_hgb": 6},
    "seq2seq": {"memo": 7},
}
COST: dict[str, float] = {"hgb": 2.0, "rf": 2.0, "et": 1.5, "svm": 1.5, "logreg": 1.0,
                          "ridge": 1.0, "knn": 1.0, "mlp": 1.5, "nb": 1.0, "torch_mlp": 3.0,
                          "torch_cnn": 5.0, "cnn": 5.0, "pretrained": 6.0, "spec_cnn": 5.0,
                          "feat_hgb": 2.0, "spec_hgb": 2.0, "feat_logreg": 1.5, "spec_logreg": 1.5,
                          "feat_et": 2.0, "spec_et": 2.0, "pixel_hgb": 3.0, "conv": 4.0, "memo": 1.0}


@dataclass(frozen=True)
class Move:
    key: str
    text: str
    component: str  # model | hyperparameters | features | ensemble
    change: dict[str, Any]
    tags: frozenset[str] = field(default_factory=frozenset)
    impact: float = 5.0  # prior expected gain, 1..10
    cost: float = 1.0  # runtime relative to the parent
    safety: float = 5.0  # 1 risky .. 10 safe


def _m(key: str, text: str, component: str, change: dict[str, Any], tags: str, impact: float, cost: float = 1.0,
       safety: float = 6.0) -> Move:
    return Move(key, text, component, change, frozenset(tags.split()), impact, cost, safety)


def _tuning(task_type: str, family: str, p: dict[str, Any]) -> list[Move]:
    hp = "hyperparameters"
    out: list[Move] = []
    if family == "hgb":
        out += [
            _m("hgb.slow_lr", "halve the learning rate and double the boosting rounds", hp,
               {"params": {"learning_rate": round(p["learning_rate"] / 2, 5),
                           "max_iter": min(2000, p["max_iter"] * 2)}}, "capacity_up regularize",
               6, 2.0, 7),
            _m("hgb.small_leaf", "allow smaller leaves (min_samples_leaf halved)", hp,
               {"params": {"min_samples_leaf": max(2, p["min_samples_leaf"] // 2)}},
               "capacity_up", 5, 1.0, 6),
            _m("hgb.big_trees", "grow larger trees (double max_leaf_nodes)", hp,
               {"params": {"max_leaf_nodes": min(255, p["max_leaf_nodes"] * 2)}}, "capacity_up",
               4, 1.5, 5),
            _m("hgb.regularize", "regularise: smaller trees, larger leaves, L2 penalty", hp,
               {"params": {"max_leaf_nodes": max(7, p["max_leaf_nodes"] // 2),
                           "min_samples_leaf": p["min_samples_leaf"] * 2,
                           "l2_regularization": max(1.0, p["l2_regularization"] * 4)}},
               "regularize", 5, 0.8, 6),
            _m("hgb.fast", "fewer boosting rounds at a higher learning rate", hp,
               {"params": {"max_iter": max(50, p["max_iter"] // 2),
                           "learning_rate": min(0.3, p["learning_rate"] * 2)}}, "speed", 2, 0.5, 5),
        ]
    elif family in ("rf", "et"):
        mf = p["max_features"]
        up = {"sqrt": 0.5, 0.3: 0.5, 0.5: 0.8, 0.7: 1.0, 0.8: 1.0}.get(mf, 1.0)
        down = {1.0: 0.5, 0.8: 0.5, 0.7: 0.5, 0.5: "sqrt"}.get(mf, 0.3)
        out += [
            _m(f"{family}.more_trees", "double the number of trees", hp,
               {"params": {"n_estimators": min(1200, p["n_estimators"] * 2)}},
               "capacity_up regularize", 3, 2.0, 8),
            _m(f"{family}.features_up", f"consider more features per split ({mf} -> {up})", hp,
               {"params": {"max_features": up}}, "capacity_up", 4, 1.5, 6),
            _m(f"{family}.features_down", f"decorrelate trees: fewer features per split ({down})",
               hp, {"params": {"max_features": down}}, "regularize", 3, 0.7, 5),
            _m(f"{family}.leaf", "require larger leaves (min_samples_leaf + 2)", hp,
               {"params": {"min_samples_leaf": p["min_samples_leaf"] + 2}}, "regularize", 4, 0.8,
               6),
            _m(f"{family}.fast", "halve the number of trees", hp,
               {"params": {"n_estimators": max(50, p["n_estimators"] // 2)}}, "speed", 1, 0.5, 6),
        ]
    elif family in ("logreg", "svm"):
        out += [
            _m(f"{family}.C_up", f"weaker regularisation (C {p['C']} -> {p['C'] * 4:g})", hp,
               {"params": {"C": round(p["C"] * 4, 6)}}, "capacity_up", 5, 1.2, 6),
            _m(f"{family}.C_down", f"stronger regularisation (C {p['C']} -> {p['C'] / 4:g})", hp,
               {"params": {"C": round(p["C"] / 4, 6)}}, "regularize", 5, 0.9, 6),
        ]
    elif family == "ridge":
        out += [
            _m("ridge.alpha_down", "weaker L2 penalty (alpha / 4)", hp,
               {"params": {"alpha": round(p["alpha"] / 4, 6)}}, "capacity_up", 4, 1.0, 7),
            _m("ridge.alpha_up", "stronger L2 penalty (alpha * 4)", hp,
               {"params": {"alpha": round(p["alpha"] * 4, 6)}}, "regularize", 4, 1.0, 7),
        ]
    elif family == "knn":
        out += [
            _m("knn.k_down", "fewer neighbours (k / 2)", hp,
               {"params": {"n_neighbors": max(3, p["n_neighbors"] // 2)}}, "capacity_up", 4),
            _m("knn.k_up", "more neighbours (k * 2)", hp,
               {"params": {"n_neighbors": p["n_neighbors"] * 2}}, "regularize", 4),
        ]
    elif family == "nb":
        out += [
            _m("nb.alpha_down", "less smoothing (alpha / 4)", hp,
               {"params": {"alpha": round(p["alpha"] / 4, 6)}}, "capacity_up", 4),
            _m("nb.alpha_up", "more smoothing (alpha * 4)", hp,
               {"params": {"alpha": round(p["alpha"] * 4, 6)}}, "regularize", 4),
        ]
    elif family == "mlp":
        hidden = list(p["hidden"])
        out += [
            _m("mlp.wider", "a wider, deeper network", hp,
               {"params": {"hidden": [min(1024, hidden[0] * 2), min(512, hidden[0])],
                           "max_iter": p["max_iter"] * 2}}, "capacity_up", 5, 2.0, 5),
            _m("mlp.alpha_up", "stronger weight decay (alpha * 10)", hp,
               {"params": {"alpha": round(p["alpha"] * 10, 6)}}, "regularize", 4),
        ]
    elif family in ("torch_mlp", "torch_cnn"):
        width = "channels" if family == "torch_cnn" else "hidden"
        out += [
            _m(f"{family}.longer", "train twice as many epochs", hp,
               {"params": {"epochs": min(80, p["epochs"] * 2)}}, "capacity_up", 5, 2.0, 7),
            _m(f"{family}.wider", f"double the network width ({width})", hp,
               {"params": {width: min(512, p[width] * 2)}}, "capacity_up", 4, 2.0, 5),
            _m(f"{family}.regularize", "more dropout and weight decay", hp,
               {"params": {"dropout": min(0.5, round(p["dropout"] + 0.15, 3)),
                           "weight_decay": round(p["weight_decay"] * 10, 6)}}, "regularize", 4),
            _m(f"{family}.fast", "halve the epochs", hp,
               {"params": {"epochs": max(3, p["epochs"] // 2)}}, "speed", 1, 0.5, 5),
        ]
    return out


def _media_tuning(family: str, p: dict[str, Any]) -> list[Move]:
    """Ladders of the media families (CNNs, features + GBM / linear / trees, the denoisers)."""
    hp = "hyperparameters"
    out: list[Move] = []
    if "epochs" in p:
        out += [
            _m(f"{family}.longer", "train twice as many epochs (and twice the seconds)", hp,
               {"params": {"epochs": min(60, p["epochs"] * 2),
                           "train_seconds": min(1800, p.get("train_seconds", 90) * 2)}},
               "capacity_up", 5, 2.0, 7),
            _m(f"{family}.fast", "halve the epochs and the training seconds", hp,
               {"params": {"epochs": max(2, p["epochs"] // 2),
                           "train_seconds": max(10, p.get("train_seconds", 90) // 2)}}, "speed", 2, 0.5, 6),
            _m(f"{family}.bigger_images", f"larger inputs ({p['image_size']} -> {min(256, p['image_size'] * 2)} px)",
               hp, {"params": {"image_size": min(256, p["image_size"] * 2)}}, "capacity_up", 5, 3.0, 5),
            _m(f"{family}.smaller_images", f"smaller inputs ({p['image_size']} -> {max(16, p['image_size'] // 2)} px)",
               hp, {"params": {"image_size": max(16, p["image_size"] // 2)}}, "speed regularize", 2, 0.4, 5),
            _m(f"{family}.lr_down", "halve the learning rate", hp,
               {"params": {"lr": round(p["lr"] / 2, 6)}}, "regularize", 3, 1.0, 6),
            _m(f"{family}.balanced", "weight classes inversely to their frequency", hp,
               {"params": {"class_weight": None if p.get("class_weight") else "balanced"}}, "capacity_up", 3),
        ]
        if "channels" in p:
            out += [
                _m(f"{family}.wider", f"double the network width ({p['channels']} channels)", hp,
                   {"params": {"channels": min(128, p["channels"] * 2)}}, "capacity_up", 4, 2.0, 5),
                _m(f"{family}.regularize", "more dropout and weight decay", hp,
                   {"params": {"dropout": min(0.5, round(p["dropout"] + 0.15, 3)),
                               "weight_decay": round(p["weight_decay"] * 10, 6)}}, "regularize", 4),
            ]
    elif "max_iter" in p:
        out += [
            _m(f"{family}.slow_lr", "halve the learning rate and double the boosting rounds", hp,
               {"params": {"learning_rate": round(p["learning_rate"] / 2, 5),
                           "max_iter": min(2000, p["max_iter"] * 2)}}, "capacity_up regularize", 6, 2.0, 7),
            _m(f"{family}.big_trees", "grow larger trees (double max_leaf_nodes)", hp,
               {"params": {"max_leaf_nodes": min(255, p["max_leaf_nodes"] * 2)}}, "capacity_up", 4, 1.5, 5),
            _m(f"{family}.regularize", "smaller trees", hp,
               {"params": {"max_leaf_nodes": max(7, p["max_leaf_nodes"] // 2)}}, "regularize", 4, 0.8, 6),
            _m(f"{family}.fast", "fewer boosting rounds at a higher learning rate", hp,
               {"params": {"max_iter": max(50, p["max_iter"] // 2),
                           "learning_rate": min(0.3, p["learning_rate"] * 2)}}, "speed", 2, 0.5, 5),
        ]
    elif "C" in p:
        out += [
            _m(f"{family}.C_up", f"weaker regularisation (C {p['C']} -> {p['C'] * 4:g})", hp,
               {"params": {"C": round(p["C"] * 4, 6)}}, "capacity_up", 5, 1.2, 6),
            _m(f"{family}.C_down", f"stronger regularisation (C {p['C']} -> {p['C'] / 4:g})", hp,
               {"params": {"C": round(p["C"] / 4, 6)}}, "regularize", 5, 0.9, 6),
        ]
    elif "alpha" in p:
        out += [
            _m(f"{family}.alpha_down", "less smoothing (alpha / 4)", hp,
               {"params": {"alpha": round(p["alpha"] / 4, 6)}}, "capacity_up", 4),
            _m(f"{family}.alpha_up", "more smoothing (alpha * 4)", hp,
               {"params": {"alpha": round(p["alpha"] * 4, 6)}}, "regularize", 4),
        ]
    elif "n_estimators" in p:
        out += [
            _m(f"{family}.more_trees", "double the number of trees", hp,
               {"params": {"n_estimators": min(1200, p["n_estimators"] * 2)}}, "capacity_up regularize",
               3, 2.0, 8),
            _m(f"{family}.fast", "halve the number of trees", hp,
               {"params": {"n_estimators": max(50, p["n_estimators"] // 2)}}, "speed", 1, 0.5, 6),
        ]
    elif "steps" in p:
        out += [
            _m("conv.longer", "train twice as many steps", hp,
               {"params": {"steps": min(20000, p["steps"] * 2),
                           "train_seconds": min(1800, p.get("train_seconds", 90) * 2)}}, "capacity_up", 5, 2.0, 7),
            _m("conv.wider", "double the channels", hp, {"params": {"channels": min(128, p["channels"] * 2)}},
               "capacity_up", 4, 2.0, 5),
            _m("conv.fast", "halve the steps", hp, {"params": {"steps": max(50, p["steps"] // 2),
                                                               "train_seconds": max(10, p.get("train_seconds", 90) // 2)}},
               "speed", 2, 0.5, 6),
        ]
    if "pixels_per_image" in p:
        out.append(_m(f"{family}.more_pixels", "sample twice as many pixels per image", hp,
                      {"params": {"pixels_per_image": min(400000, p["pixels_per_image"] * 2)}},
                      "capacity_up", 4, 2.0, 6))
    return out


def _media_features(task_type: str, f: dict[str, Any]) -> list[Move]:
    ft = "features"
    if task_type == "vision":
        return [
            _m("vision.pixels", "a finer downsampled picture among the features (8x8 <-> 16x16)", ft,
               {"features": {"pixels": 16 if f["pixels"] == 8 else 8}}, "capacity_up", 3, 1.2),
            _m("vision.metadata", "toggle the metadata table's columns among the features", ft,
               {"features": {"metadata": not f["metadata"]}}, "regularize", 2),
        ]
    if task_type == "audio":
        return [_m("audio.bands", "more frequency bands (32 <-> 64)", ft,
                   {"features": {"bands": 64 if f["bands"] == 32 else 32}}, "capacity_up", 3, 1.3)]
    if task_type == "nlp":
        return [
            _m("text.char", "word + character n-grams <-> words only", ft,
               {"features": {"analyzer": "word" if f["analyzer"] == "both" else "both"}},
               "speed regularize" if f["analyzer"] == "both" else "capacity_up", 5, 1.5, 6),
            _m("text.ngrams", "word n-grams up to 3 <-> 2", ft,
               {"features": {"ngram_max": 3 if f["ngram_max"] == 2 else 2}}, "capacity_up", 3, 1.5),
            _m("text.min_df", "keep terms seen once <-> twice", ft,
               {"features": {"min_df": 1 if f["min_df"] == 2 else 2}}, "capacity_up", 2),
        ]
    if task_type == "img2img":
        return [_m("img2img.radius", "a wider neighbourhood per pixel (radius 2 <-> 3)", ft,
                   {"features": {"radius": 3 if f["radius"] == 2 else 2}}, "capacity_up", 4, 1.6)]
    return []


def _features(task_type: str, family: str, f: dict[str, Any], metric: str) -> list[Move]:
    ft = "features"
    linear = family in LINEAR_LIKE
    out: list[Move] = []
    if task_type in TABULAR:
        out += [
            _m("feat.log_skewed", "log-transform strongly skewed numeric columns", ft,
               {"features": {"log_skewed": not f["log_skewed"]}}, "capacity_up",
               4 if linear else 2),
            _m("feat.drop_id_like", "drop id-like columns (unique per row)", ft,
               {"features": {"drop_id_like": True}}, "leak_fix regularize", 2, 1.0, 8),
        ]
        if linear or family == "ensemble":
            out.append(_m("feat.poly", "add pairwise interactions and squares", ft,
                          {"features": {"poly": 0 if f["poly"] else 2}},
                          "regularize" if f["poly"] else "capacity_up", 5, 1.5, 5))
        if not linear:
            out.append(_m("feat.onehot", "one-hot encode categoricals for the trees", ft,
                          {"features": {"cat_encoding": "onehot"}}, "capacity_up", 2))
        if task_type == "regression":
            out.append(_m("feat.log_target", "fit the model on log1p of the target", ft,
                          {"features": {"log_target": not f["log_target"]}}, "capacity_up",
                          7 if metric == "rmsle" else 3, 1.0, 5))
    elif task_type == "text":
        out += [
            _m("text.ngrams", "longer word n-grams", ft,
               {"features": {"ngram_max": min(3, f["ngram_max"] + 1)}}, "capacity_up", 3, 1.5),
            _m("text.char", "add character n-grams (word + char_wb TF-IDF)", ft,
               {"features": {"analyzer": "both"}}, "capacity_up", 6, 2.0, 6),
            _m("text.min_df", "ignore terms seen in fewer than 2 documents", ft,
               {"features": {"min_df": 2 if f["min_df"] == 1 else 1}}, "regularize speed", 3),
            _m("text.sublinear", "toggle sublinear term frequency", ft,
               {"features": {"sublinear_tf": not f["sublinear_tf"]}}, "capacity_up", 2),
        ]
    else:
        if family != "torch_cnn":
            out += [
                _m("img.pca", "project pixels onto 40 principal components", ft,
                   {"features": {"pca": 0 if f["pca"] else 40}}, "speed regularize",
                   4 if family in ("svm", "knn") else 2, 0.6, 5),
                _m("img.standardize", "standardise each pixel", ft,
                   {"features": {"standardize": not f["standardize"]}}, "capacity_up", 2),
            ]
    return out


def complement_family(task_type: str, family: str, taken: set[str]) -> str:
    """The strongest family not already used, as an ensemble partner."""
    ranked = sorted(STRENGTH[task_type], key=lambda f: (-STRENGTH[task_type][f], f))
    for f in ranked:
        if f not in taken and f != family:
            return f
    return ranked[0]


def moves_for(task_type: str, recipe: dict[str, Any], metric: str,
              partners: list[dict[str, Any]] | None = None, text_columns: bool = False) -> list[Move]:
    """Every move that makes sense from ``recipe``; ``partners`` are strong recipes seen
    elsewhere (other traces' SOTAs, memory) that ensembles may borrow; ``text_columns``: a
    tabular task with free-text or token-list columns (TF-IDF + SVD features)."""
    family = recipe["family"]
    moves: list[Move] = []
    if task_type in MEDIA:
        moves += _media_tuning(family, recipe["params"]) + _media_features(task_type, recipe["features"])
        strength = STRENGTH[task_type]
        for f in FAMILIES[task_type]:
            if f != family:
                gain = strength[f] - strength.get(family, 5)
                moves.append(_m(f"switch.{f}", f"switch the model to {f}", "model", {"family": f},
                                "switch capacity_up" if gain > 0 else "switch", max(1, min(9, 5 + gain)),
                                COST[f] / COST.get(family, 2.0), 4))
        return moves
    if family != "ensemble":
        moves += _tuning(task_type, family, recipe["params"])
    if task_type in ("binary", "multiclass") and family in ("logreg", "rf", "et", "hgb", "svm"):
        balanced = recipe["params"].get("class_weight") == "balanced"
        moves.append(_m(f"{family}.balanced", "unweighted classes" if balanced else
                        "weight classes inversely to their frequency (near-empty classes count)",
                        "hyperparameters", {"params": {"class_weight": None if balanced else "balanced"}},
                        "regularize" if balanced else "capacity_up", 3, 1.0, 5))
    moves += _features(task_type, family, recipe["features"], metric)
    if text_columns and task_type in TABULAR:
        f = recipe["features"]
        k = int(f.get("text_svd", 32))
        moves.append(_m("feat.text_more", f"richer text features (SVD of TF-IDF: {k} -> {min(256, k * 3)} "
                        "components, a larger vocabulary)", "features",
                        {"features": {"text_svd": min(256, k * 3),
                                      "text_max_features": min(100000, int(f.get("text_max_features", 20000)) * 2)}},
                        "capacity_up", 5, 1.5, 6))
        if k > 8:
            moves.append(_m("feat.text_less", f"fewer text components ({k} -> {max(8, k // 3)})", "features",
                            {"features": {"text_svd": max(8, k // 3)}}, "regularize speed", 3, 0.8, 6))

    strength = STRENGTH[task_type]
    here = strength.get(family, 6)
    for f in FAMILIES[task_type]:
        if f == family:
            continue
        gain = strength[f] - here
        moves.append(_m(f"switch.{f}", f"switch the model to {f}", "model", {"family": f},
                        "switch capacity_up" if gain > 0 else "switch", max(1, min(9, 5 + gain)),
                        COST[f] / COST.get(family, 2.0), 4))

    # Ensembles: average the parent with a strong partner of another family.
    if family == "ensemble":
        members = recipe["members"]
        taken = {m["family"] for m in members}
        if len(members) < 4:
            extra = complement_family(task_type, "", taken)
            moves.append(_m("ens.add", f"add a {extra} member to the ensemble", "ensemble",
                            {"members": [*members, member(task_type, extra)]}, "ensemble", 4,
                            1.5, 6))
    else:
        own = {"family": family, "params": recipe["params"]}
        seen = {family}
        for partner in partners or []:
            pf = partner.get("family")
            if pf and pf not in seen and pf != "ensemble" and pf in FAMILIES[task_type]:
                seen.add(pf)
                moves.append(_m(f"ens.with.{pf}", f"soft-vote ensemble with the {pf} model that "
                                "scored well elsewhere", "ensemble",
                                {"family": "ensemble",
                                 "members": [own, member(task_type, pf, partner.get("params"))]},
                                "ensemble regularize", 7, 2.0, 6))
        partner_f = complement_family(task_type, family, seen)
        moves.append(_m(f"ens.with.{partner_f}", f"soft-vote ensemble with a default {partner_f}",
                        "ensemble", {"family": "ensemble",
                                     "members": [own, member(task_type, partner_f)]},
                        "ensemble regularize", 6, 2.0, 6))
    return moves
