"""Code generation: recipe + task -> a complete, runnable Python solution file.

The generated file is self-contained (numpy, pandas, scikit-learn and, for the
torch families, torch), starts with ``# gome-recipe: {...}`` (the canonical
recipe JSON, so a human or the reasoner can tell what it is), and follows the
solution contract: read ``$GOME_DATA_DIR/{train,test,sample_submission}.csv``,
score its own hold-out split of train.csv, refit on all of it, and write
``submission.csv`` and ``metrics.json`` into the working directory.
Only the blocks a recipe needs are emitted, so the file reads top to bottom.
Pure: string building only.
"""

from __future__ import annotations

import json
from typing import Any

from gome_es.core.canonical import canonical_json
from gome_es.solutions import anydata, media, snippets
from gome_es.solutions.recipes import (
    LINEAR_LIKE,
    MEDIA,
    TABULAR,
    RecipeError,
    describe,
    normalize,
)

RECIPE_MARKER = "# gome-recipe: "

METRIC_ALIASES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "auc": "auc",
    "roc_auc": "auc",
    "auc_roc": "auc",
    "auc-roc": "auc",
    "logloss": "logloss",
    "log_loss": "logloss",
    "multi_logloss": "logloss",
    "multiclass_log_loss": "logloss",
    "multi_class_log_loss": "logloss",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "mlogloss": "logloss",
    "rmse": "rmse",
    "rmsle": "rmsle",
    "mae": "mae",
    "macro_f1": "macro_f1",
    "f1_macro": "macro_f1",
    "qwk": "qwk",
    "quadratic_weighted_kappa": "qwk",
    "kappa": "qwk",
    # gome's names for MLE-bench's graders (gome_es.tasks.mlebench_facts.GRADERS) and the
    # graders' own names; column-wise metrics are the per-target metric, averaged
    "mean_columnwise_rmsle": "rmsle",
    "mean-column-wise-rmsle": "rmsle",
    "mean_columnwise_auc": "auc",
    "mean-column-wise-roc-auc": "auc",
    "auroc-multi-label": "auc",
    "multi-class-log-loss": "logloss",
    "log-loss": "logloss",
    "root-mean-squared-error": "rmse",
    "mean-absolute-error": "mae",
    "multi-class-classification-accuracy": "accuracy",
    "macro-f1-score": "macro_f1",
    "quadratic-weighted-kappa": "qwk",
    "column-wise roc auc": "auc",
    "column-wise-roc-auc": "auc",
    "columnwise_auc": "auc",
    "column_wise_auc": "auc",
    "mean_column_wise_auc": "auc",
    "micro_auc": "auc",
    "root_mean_squared_log_error": "rmsle",
    "f1": "macro_f1",
}
CLASSIFICATION_METRICS = {"accuracy", "auc", "logloss", "macro_f1", "qwk"}
REGRESSION_METRICS = {"rmse", "rmsle", "mae", "qwk"}
LOWER_IS_BETTER = {"logloss", "rmse", "rmsle", "mae"}


def canonical_metric(name: str) -> str:
    key = (name or "").strip().lower()
    if key not in METRIC_ALIASES:
        raise RecipeError(
            f"metric {name!r} is not one the generated solutions implement "
            f"({', '.join(sorted(set(METRIC_ALIASES.values())))}); check the task config."
        )
    return METRIC_ALIASES[key]


def recipe_from_code(code: str) -> dict[str, Any] | None:
    """The recipe a generated file was made from, read back from its header line."""
    for line in code.splitlines()[:5]:
        if line.startswith(RECIPE_MARKER):
            try:
                value = json.loads(line[len(RECIPE_MARKER):])
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _kw(params: dict[str, Any], **extra: Any) -> str:
    merged = {**params, **extra}
    return ", ".join(f"{k}={v!r}" for k, v in merged.items())


def _families(recipe: dict[str, Any]) -> list[str]:
    if recipe["family"] == "ensemble":
        return [m["family"] for m in recipe["members"]]
    return [recipe["family"]]


# --------------------------------------------------------------------------- blocks

_HEAD = '''\
import json
import os
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
'''

_LOAD = '''

DATA_DIR = os.environ.get("GOME_DATA_DIR", ".")
DEVICE = os.environ.get("GOME_DEVICE", "cpu")


def load_frames():
    train = pd.read_csv(os.path.join(DATA_DIR, "train.csv"))
    test = pd.read_csv(os.path.join(DATA_DIR, "test.csv"))
    sample = pd.read_csv(os.path.join(DATA_DIR, "sample_submission.csv"))
    return train, test, sample


def split_columns(train, test, sample):
    """Targets are the train columns that test lacks; features are the shared ones."""
    id_col = ID_COLUMN if ID_COLUMN in sample.columns else sample.columns[0]
    label_cols = [c for c in train.columns if c not in test.columns and c != id_col]
    if not label_cols:
        label_cols = [c for c in TARGET_COLUMNS if c in train.columns]
    if len(label_cols) == 1:
        y = train[label_cols[0]]
    else:
        # One-hot targets: the class is the column holding the largest value.
        y = train[label_cols].idxmax(axis=1)
    feature_cols = [c for c in test.columns if c != id_col and c in train.columns]
    return id_col, y, feature_cols


def take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
'''

_METRIC_CLASSIFY = {
    "accuracy": "    return float(accuracy_score(y_true, proba.argmax(axis=1)))\n",
    "macro_f1": '    return float(f1_score(y_true, proba.argmax(axis=1), average="macro"))\n',
    "auc": (
        "    if proba.shape[1] == 2:\n"
        "        return float(roc_auc_score(y_true, proba[:, 1]))\n"
        '    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=list(range(proba.shape[1]))))\n'
    ),
    "logloss": (
        "    p = np.clip(proba, 1e-15, 1.0)\n"
        "    p = p / p.sum(axis=1, keepdims=True)\n"
        "    return float(log_loss(y_true, p, labels=list(range(proba.shape[1]))))\n"
    ),
    "qwk": '    return float(cohen_kappa_score(y_true, proba.argmax(axis=1), weights="quadratic"))\n',
}
_METRIC_IMPORT = {
    "accuracy": "accuracy_score",
    "macro_f1": "f1_score",
    "auc": "roc_auc_score",
    "logloss": "log_loss",
    "qwk": "cohen_kappa_score",
    "rmse": "mean_squared_error",
    "rmsle": "mean_squared_log_error",
    "mae": "mean_absolute_error",
}
_METRIC_REGRESS = {
    "rmse": "    return float(np.sqrt(mean_squared_error(y_true, pred)))\n",
    "rmsle": "    return float(np.sqrt(mean_squared_log_error(y_true, np.clip(pred, 0, None))))\n",
    "mae": "    return float(mean_absolute_error(y_true, pred))\n",
    "qwk": (
        "    rounded = np.clip(np.rint(pred), np.min(y_true), np.max(y_true)).astype(int)\n"
        '    return float(cohen_kappa_score(np.rint(y_true).astype(int), rounded, weights="quadratic"))\n'
    ),
}

_TABULAR_FEATURES = '''

def as_text(frame):
    return frame.astype(str)
''' + snippets.SKEW_LOG + '''

def prepare_inputs(train_frame, test_frame):
    feats = RECIPE["features"]
    X, X_test = train_frame.copy(), test_frame.copy()
    if feats["drop_id_like"]:
        # Columns unique per row (ids, hashes) carry row identity, not signal.
        id_like = [c for c in X.columns
                   if X[c].nunique() >= 0.98 * len(X)
                   and not pd.api.types.is_float_dtype(X[c])]
        X, X_test = X.drop(columns=id_like), X_test.drop(columns=id_like)
    for c in X.columns:
        if pd.api.types.is_bool_dtype(X[c]):
            X[c], X_test[c] = X[c].astype(int), X_test[c].astype(int)
    return X, X_test
''' + snippets.CATEGORY_ENCODER + '''

def make_preprocessor(X, linear):
    feats = RECIPE["features"]
    num_cols = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    cat_cols = [c for c in X.columns if c not in num_cols]
    num_steps = []
    if feats["log_skewed"]:
        num_steps.append(SkewLog())
    num_steps.append(SimpleImputer(strategy=feats["impute"], add_indicator=True))
    if feats["poly"] and len(num_cols) <= 40:
        num_steps.append(PolynomialFeatures(degree=int(feats["poly"]), include_bias=False))
    encoder = category_encoder(linear)
    cat_steps = [FunctionTransformer(as_text),
                 SimpleImputer(strategy="constant", fill_value="missing"), encoder]
    parts = []
    if num_cols:
        parts.append(("num", make_pipeline(*num_steps), num_cols))
    if cat_cols:
        parts.append(("cat", make_pipeline(*cat_steps), cat_cols))
    columns = ColumnTransformer(parts, sparse_threshold=0.0)
    if linear:
        return make_pipeline(columns, StandardScaler())
    return columns
'''

_TEXT_FEATURES = '''

def prepare_inputs(train_frame, test_frame):
    column = TEXT_COLUMN if TEXT_COLUMN in train_frame.columns else next(
        c for c in train_frame.columns if train_frame[c].dtype == object)
    return (train_frame[column].fillna("").astype(str),
            test_frame[column].fillna("").astype(str))


def make_preprocessor(X, linear):
    feats = RECIPE["features"]
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, int(feats["ngram_max"])),
                           min_df=feats["min_df"], max_features=feats["max_features"],
                           sublinear_tf=feats["sublinear_tf"], strip_accents="unicode")
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, max(3, int(feats["ngram_max"]) + 2)),
                           min_df=feats["min_df"], max_features=feats["max_features"],
                           sublinear_tf=feats["sublinear_tf"])
    if feats["analyzer"] == "char_wb":
        return char
    if feats["analyzer"] == "both":
        return FeatureUnion([("word", word), ("char", char)])
    return word
'''

_IMAGE_FEATURES = '''

def prepare_inputs(train_frame, test_frame):
    """Pixels as float32 in [0, 1] (scaled by the training data's largest value)."""
    X = train_frame.to_numpy(dtype=np.float32)
    X_test = test_frame.to_numpy(dtype=np.float32)
    scale = float(np.nanmax(X)) or 1.0
    return np.nan_to_num(X / scale), np.nan_to_num(X_test / scale)


def make_preprocessor(X, linear):
    feats = RECIPE["features"]
    steps = []
    if feats["standardize"] or (linear and feats["pca"]):
        steps.append(StandardScaler())
    if feats["pca"]:
        steps.append(PCA(n_components=min(int(feats["pca"]), X.shape[1], X.shape[0]),
                         random_state=SEED))
    return make_pipeline(*steps) if steps else FunctionTransformer()
'''

_TORCH = '''

class TorchNet(ClassifierMixin, BaseEstimator):
    """A small torch classifier (MLP, or CNN on square images) with the sklearn interface."""

    def __init__(self, arch="mlp", hidden=256, channels=16, epochs=20, lr=1e-3,
                 batch_size=64, weight_decay=1e-4, dropout=0.2, seed=0):
        self.arch = arch
        self.hidden = hidden
        self.channels = channels
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.seed = seed

    def _network(self, n_features, n_classes):
        side = int(round(n_features ** 0.5))
        if self.arch == "cnn" and side * side == n_features and side >= 8:
            c = int(self.channels)
            pooled = max(1, min(3, side // 4))
            return nn.Sequential(
                nn.Unflatten(1, (1, side, side)),
                nn.Conv2d(1, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), nn.ReLU(), nn.MaxPool2d(2),
                nn.AdaptiveAvgPool2d(pooled), nn.Flatten(), nn.Dropout(self.dropout),
                nn.Linear(2 * c * pooled * pooled, 128), nn.ReLU(), nn.Linear(128, n_classes))
        h = int(self.hidden)
        return nn.Sequential(
            nn.Linear(n_features, h), nn.ReLU(), nn.Dropout(self.dropout),
            nn.Linear(h, h), nn.ReLU(), nn.Dropout(self.dropout), nn.Linear(h, n_classes))

    def fit(self, X, y):
        torch.manual_seed(self.seed)
        torch.set_num_threads(N_JOBS)
        self.device_ = "cuda" if DEVICE == "cuda" and torch.cuda.is_available() else "cpu"
        self.classes_ = np.unique(y)
        targets = torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.long)
        inputs = torch.as_tensor(np.asarray(X, dtype=np.float32))
        self.net_ = self._network(inputs.shape[1], len(self.classes_)).to(self.device_)
        optimizer = torch.optim.AdamW(self.net_.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, self.epochs))
        generator = torch.Generator().manual_seed(self.seed)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(int(self.epochs)):
            self.net_.train()
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(order), int(self.batch_size)):
                batch = order[start:start + int(self.batch_size)]
                if len(batch) < 2:
                    continue
                optimizer.zero_grad()
                out = self.net_(inputs[batch].to(self.device_))
                loss = loss_fn(out, targets[batch].to(self.device_))
                loss.backward()
                optimizer.step()
            schedule.step()
        return self

    def predict_proba(self, X):
        self.net_.eval()
        inputs = torch.as_tensor(np.asarray(X, dtype=np.float32))
        chunks = []
        with torch.no_grad():
            for start in range(0, len(inputs), 1024):
                out = self.net_(inputs[start:start + 1024].to(self.device_))
                chunks.append(torch.softmax(out, dim=1).cpu().numpy())
        return np.concatenate(chunks).astype(np.float64)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
'''

_BUILD_SUBMISSION = '''

def build_submission(sample, id_col, test_ids, test_pred, classes):
    out_cols = [c for c in sample.columns if c != id_col]
    sub = pd.DataFrame({id_col: test_ids.to_numpy()})
    if CLASSIFY:
        names = [str(c) for c in classes]
        if len(out_cols) > 1 and len(out_cols) == len(names):
            # One probability column per class: match by name, else by position.
            for position, col in enumerate(out_cols):
                k = names.index(str(col)) if str(col) in names else position
                sub[col] = test_pred[:, k]
        elif METRIC in ("auc", "logloss") and len(names) == 2:
            sub[out_cols[0]] = test_pred[:, 1]
        else:
            sub[out_cols[0]] = classes[test_pred.argmax(axis=1)]
    else:
        pred = np.asarray(test_pred, dtype=float)
        if METRIC == "rmsle":
            pred = np.clip(pred, 0, None)
        if METRIC == "qwk":
            pred = np.rint(pred).astype(int)
        sub[out_cols[0]] = pred
    # Same row order as the sample submission.
    return sub.set_index(id_col).reindex(sample[id_col]).reset_index()


def main():
    started = time.perf_counter()
    train, test, sample = load_frames()
    id_col, y_raw, feature_cols = split_columns(train, test, sample)
    X, X_test = prepare_inputs(train[feature_cols], test[feature_cols])
    y, classes, n_classes, stratify = encode_target(y_raw)
    val_score, train_score, fit_seconds, n_train, n_val, model = validate(X, y, stratify, n_classes)
    print(f"{METRIC}: val={val_score:.5f} train={train_score:.5f} fit={fit_seconds:.1f}s")
    submission = build_submission(sample, id_col, test[id_col], predict(model, X_test, n_classes),
                                  classes)
    submission.to_csv("submission.csv", index=False)
    write_metrics(started, val_score, train_score, fit_seconds, n_train, n_val)
'''

_MAIN = (snippets.PREDICT + snippets.VALIDATE + snippets.WRITE_METRICS + _BUILD_SUBMISSION
         + snippets.RUN_MAIN)


# --------------------------------------------------------------------------- model code

def _estimator(task_type: str, family: str, params: dict[str, Any]) -> tuple[str, set[str]]:
    """Python expression building one estimator, and the imports it needs."""
    classify = task_type != "regression"
    p = dict(params)
    if family == "logreg":
        return f"LogisticRegression({_kw(p)})", {"from sklearn.linear_model import LogisticRegression"}
    if family == "ridge":
        return f"Ridge({_kw(p)})", {"from sklearn.linear_model import Ridge"}
    if family in ("rf", "et"):
        name = {"rf": "RandomForest", "et": "ExtraTrees"}[family] + (
            "Classifier" if classify else "Regressor")
        return (f"{name}({_kw(p)}, n_jobs=N_JOBS, random_state=SEED)",
                {f"from sklearn.ensemble import {name}"})
    if family == "hgb":
        name = "HistGradientBoosting" + ("Classifier" if classify else "Regressor")
        return (f"{name}({_kw(p)}, random_state=SEED)", {f"from sklearn.ensemble import {name}"})
    if family == "knn":
        name = "KNeighbors" + ("Classifier" if classify else "Regressor")
        return (f"{name}({_kw(p)}, n_jobs=N_JOBS)", {f"from sklearn.neighbors import {name}"})
    if family == "svm":
        if task_type == "text":
            return (f"CalibratedClassifierCV(LinearSVC({_kw(p)}, random_state=SEED), cv=3)",
                    {"from sklearn.svm import LinearSVC",
                     "from sklearn.calibration import CalibratedClassifierCV"})
        if classify:
            # Platt-scaled probabilities by cross-validation, as SVC(probability=True) did
            # (deprecated in scikit-learn 1.9, to be removed in 1.11)
            return (f"CalibratedClassifierCV(SVC({_kw(p)}), ensemble=False)",
                    {"from sklearn.svm import SVC", "from sklearn.calibration import CalibratedClassifierCV"})
        return f"SVR({_kw(p)})", {"from sklearn.svm import SVR"}
    if family == "mlp":
        hidden = tuple(p.pop("hidden", [128]))
        name = "MLP" + ("Classifier" if classify else "Regressor")
        return (f"{name}(hidden_layer_sizes={hidden!r}, {_kw(p)}, early_stopping=True, "
                "random_state=SEED)", {f"from sklearn.neural_network import {name}"})
    if family == "nb":
        return f"ComplementNB({_kw(p)})", {"from sklearn.naive_bayes import ComplementNB"}
    if family in ("torch_mlp", "torch_cnn"):
        arch = "cnn" if family == "torch_cnn" else "mlp"
        return f"TorchNet(arch={arch!r}, {_kw(p)}, seed=SEED)", set()
    raise RecipeError(f"no code template for model family {family!r} on {task_type} tasks")


def _member_builder(task_type: str, index: int, family: str, params: dict[str, Any]
                    ) -> tuple[str, set[str]]:
    expr, imports = _estimator(task_type, family, params)
    linear = family in LINEAR_LIKE
    lines = [f"def build_{family}_{index}(X):", f"    model = {expr}"]
    if task_type == "regression" and family in ("mlp", "svm", "knn", "ridge"):
        # Scale-sensitive regressors learn a standardised target.
        lines.append("    model = TransformedTargetRegressor(model, transformer=StandardScaler())")
        imports.add("from sklearn.compose import TransformedTargetRegressor")
    if task_type == "regression":
        lines += [
            '    if RECIPE["features"]["log_target"]:',
            "        model = TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1,",
            "                                           check_inverse=False)",
        ]
        imports.add("from sklearn.compose import TransformedTargetRegressor")
    if family == "torch_cnn":
        # The CNN needs the raw pixel grid: no PCA in front of it.
        lines.append("    return model")
    else:
        lines.append(f"    return make_pipeline(make_preprocessor(X, linear={linear}), model)")
    return "\n".join(lines) + "\n", imports


def _render_media(task: dict[str, Any], space: str, recipe: dict[str, Any]) -> str:
    recipe = normalize(space, recipe)
    metric = canonical_metric(task["metric"])
    header = (
        f"{RECIPE_MARKER}{canonical_json(recipe)}\n"
        f'"""gome-es solution for task {task.get("id", "?")} ({media.modality_of(task)}, metric {metric}).\n\n'
        f"Model: {describe(recipe)}.\n"
        "Generated by the offline reasoner from the recipe above: trains on a split of the training\n"
        "data, scores the hold-out, predicts the test set with that same model, writes\n"
        "submission.csv and metrics.json.\n"
        '"""\n'
    )
    return media.render(task, recipe, metric, header)


def render(task: dict[str, Any], recipe: dict[str, Any]) -> str:
    """The complete solution file for ``recipe`` on ``task`` (the T dict of the policy)."""
    space = media.space_of(task)
    if space in MEDIA:
        return _render_media(task, space, recipe)
    task_type = task["task_type"]
    recipe = normalize(task_type, recipe)
    metric = canonical_metric(task["metric"])
    classify = task_type != "regression"
    allowed = CLASSIFICATION_METRICS if classify else REGRESSION_METRICS
    if metric not in allowed:
        raise RecipeError(
            f"metric {metric!r} does not fit a {task_type} task in the generated solutions; "
            f"expected one of {', '.join(sorted(allowed))}"
        )
    imports: set[str] = {f"from sklearn.metrics import {_METRIC_IMPORT[metric]}"}
    families = _families(recipe)
    understanding = task.get("understanding") or None
    if understanding and task_type in TABULAR:
        features = anydata.FEATURES
        imports |= {
            "import re",
            "from sklearn.base import BaseEstimator, TransformerMixin",
            "from sklearn.compose import ColumnTransformer",
            "from sklearn.decomposition import TruncatedSVD",
            "from sklearn.feature_extraction.text import TfidfVectorizer",
            "from sklearn.impute import SimpleImputer",
            "from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, "
            "OrdinalEncoder, PolynomialFeatures",
        }
    elif task_type in TABULAR:
        features = _TABULAR_FEATURES
        imports |= {
            "from sklearn.base import BaseEstimator, TransformerMixin",
            "from sklearn.compose import ColumnTransformer",
            "from sklearn.impute import SimpleImputer",
            "from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, "
            "OrdinalEncoder, PolynomialFeatures",
        }
    elif task_type == "text":
        features = _TEXT_FEATURES
        imports |= {"from sklearn.feature_extraction.text import TfidfVectorizer",
                    "from sklearn.pipeline import FeatureUnion"}
    else:
        features = _IMAGE_FEATURES
        imports |= {"from sklearn.decomposition import PCA",
                    "from sklearn.preprocessing import FunctionTransformer"}
    torch_block = ""
    if any(f.startswith("torch_") for f in families):
        torch_block = _TORCH
        imports |= {"import torch", "from torch import nn",
                    "from sklearn.base import BaseEstimator, ClassifierMixin"}

    members = recipe["members"] if recipe["family"] == "ensemble" else [recipe]
    builders = []
    for i, m in enumerate(members):
        code, needs = _member_builder(task_type, i, m["family"], m["params"])
        builders.append(code)
        imports |= needs
    names = [f"build_{m['family']}_{i}" for i, m in enumerate(members)]
    if recipe["family"] == "ensemble":
        vote = "VotingClassifier" if classify else "VotingRegressor"
        imports.add(f"from sklearn.ensemble import {vote}")
        soft = ', voting="soft"' if classify else ""
        pairs = ", ".join(f'("{n[6:]}", {n}(X))' for n in names)
        top = (f"def build_model(X):\n"
               f"    # Averages the members' {'probabilities' if classify else 'predictions'}.\n"
               f"    return {vote}([{pairs}]{soft}, n_jobs=1)\n")
    else:
        top = f"def build_model(X):\n    return {names[0]}(X)\n"

    if classify:
        metric_fn = "def score(y_true, proba):\n" + _METRIC_CLASSIFY[metric]
    else:
        metric_fn = "def score(y_true, pred):\n" + _METRIC_REGRESS[metric]

    plain = sorted(i for i in imports if i.startswith("import "))
    froms = sorted(i for i in imports if i.startswith("from "))
    header = (
        f"{RECIPE_MARKER}{canonical_json(recipe)}\n"
        f'"""gome-es solution for task {task.get("id", "?")} ({task_type}, metric {metric}).\n\n'
        f"Model: {describe(recipe)}.\n"
        "Generated by the offline reasoner from the recipe above: scores a hold-out split of\n"
        "train.csv, refits on all of it, writes submission.csv and metrics.json.\n"
        '"""\n'
    )
    constants = (
        f"\nRECIPE = json.loads({canonical_json(recipe)!r})\n"
        f"TASK_TYPE = {task_type!r}\n"
        f"METRIC = {metric!r}\n"
        f"CLASSIFY = {classify!r}\n"
        f"ID_COLUMN = {task.get('id_column') or 'id'!r}\n"
        f"TARGET_COLUMNS = {list(task.get('target_columns') or [])!r}\n"
        f"TEXT_COLUMN = {task.get('text_column') or 'text'!r}\n"
        'N_JOBS = int(RECIPE["n_jobs"])\n'
        'SEED = int(RECIPE["seed"])\n'
    )
    head = _HEAD + "\n".join(plain) + ("\n" if plain else "") + "\n".join(froms) + "\n"
    if understanding:
        roles = understanding.get("roles") or {}
        text_cols = roles.get("text") or []
        constants = constants.replace(
            f"TEXT_COLUMN = {task.get('text_column') or 'text'!r}\n",
            f"TEXT_COLUMN = {(text_cols[0] if text_cols else 'text')!r}\n")
        constants += (
            f"TRAIN_FILES = {list(understanding['train_files'])!r}\n"
            f"TEST_FILES = {list(understanding['test_files'])!r}\n"
            f"SAMPLE_FILE = {understanding['sample_submission']!r}\n"
            f"SUBMISSION_KIND = {understanding['submission_kind']!r}\n"
            f"PRED_COLUMNS = {list(understanding['prediction_columns'])!r}\n"
            f"TARGET_IS_BOOL = {bool(understanding.get('target_is_bool'))!r}\n"
            f"ROLES = json.loads({canonical_json(roles)!r})\n"
        )
        return (
            header + head + constants + anydata.LOAD + "\n\n" + metric_fn + features + torch_block
            + "\n\n" + "\n\n".join(builders) + "\n\n" + top + anydata.MAIN
        )
    return (
        header + head + constants + _LOAD + "\n\n" + metric_fn + features + torch_block
        + "\n\n" + "\n\n".join(builders) + "\n\n" + top + _MAIN
    )
