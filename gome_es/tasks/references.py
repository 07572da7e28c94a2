"""Reference solutions: the honest attempts that populate each bundled leaderboard.

Build- and test-time only (needs scikit-learn).  ``reference_attempts`` draws,
with a fixed seed per task, a spread shaped like a Kaggle leaderboard: a few
weak attempts (trivial baselines, hard labels where probabilities were asked,
tiny models, a handful of features), mostly default or lightly varied models on
all or most features, and a minority of cross-validated, tuned models.
``reasonable_solution`` is the short, untuned-but-sensible pipeline the tests
expect to land above the median.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import pandas as pd

from gome_es.tasks.sources import Source

N_ATTEMPTS = 130
TUNED_SHARE = 0.30
WEAK_SHARE = 0.12


@dataclass(frozen=True)
class Attempt:
    name: str
    predictions: pd.DataFrame  # the submission's columns, id first


class _Classifier(Protocol):
    """The part of a scikit-learn classifier pipeline that the attempts use (sklearn ships no types)."""

    @property
    def classes_(self) -> Any: ...

    def fit(self, X: Any, y: Any) -> Any: ...


def _labels(source: Source) -> list[str]:
    """The class names of a task whose submission has one column per class."""
    if source.labels is None:
        raise ValueError(f"task {source.id} ({source.metric}) has no class labels to write columns for")
    return source.labels


def _tabular_preprocessor(frame: pd.DataFrame, scale: bool) -> Any:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    nums = [c for c in frame.columns if c not in cats]
    num_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    parts = [("num", make_pipeline(*num_steps), nums)]
    if cats:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                           OneHotEncoder(handle_unknown="ignore")), cats))
    return ColumnTransformer(parts)


def _model(family: str, classify: bool, rng: np.random.Generator, tuned: bool, seed: int) -> Any:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
    from sklearn import ensemble, linear_model, naive_bayes, neighbors, neural_network, svm, tree

    def pick(xs: Sequence[Any]) -> Any:
        return xs[int(rng.integers(len(xs)))]

    if family == "linear":
        if classify:
            return linear_model.LogisticRegression(C=pick([0.01, 0.1, 1.0, 1.0, 10.0]), max_iter=3000)
        return linear_model.Ridge(alpha=pick([0.1, 1.0, 1.0, 10.0, 100.0]))
    if family == "forest":
        cls = ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor
        return cls(n_estimators=pick([10, 50, 100, 300]), max_depth=pick([None, None, 4, 8]),
                   random_state=seed, n_jobs=1)
    if family == "extra":
        cls = ensemble.ExtraTreesClassifier if classify else ensemble.ExtraTreesRegressor
        return cls(n_estimators=pick([50, 100, 300]), random_state=seed, n_jobs=1)
    if family == "hgb":
        cls = ensemble.HistGradientBoostingClassifier if classify else ensemble.HistGradientBoostingRegressor
        return cls(learning_rate=pick([0.03, 0.1, 0.1, 0.3]), max_iter=pick([50, 100, 300]),
                   max_leaf_nodes=pick([7, 15, 31]), random_state=seed)
    if family == "knn":
        cls = neighbors.KNeighborsClassifier if classify else neighbors.KNeighborsRegressor
        return cls(n_neighbors=pick([1, 3, 5, 5, 15, 31]))
    if family == "svm":
        if classify:
            return svm.SVC(C=pick([0.1, 1.0, 1.0, 10.0]), probability=True, random_state=seed)
        return svm.SVR(C=pick([1.0, 100.0, 1000.0, 3000.0]))
    if family == "mlp":
        cls = neural_network.MLPClassifier if classify else neural_network.MLPRegressor
        return cls(hidden_layer_sizes=pick([(32,), (100,), (64, 32)]), max_iter=pick([200, 500, 1000]),
                   alpha=pick([1e-4, 1e-2, 1.0]), random_state=seed)
    if family == "tree":
        cls = tree.DecisionTreeClassifier if classify else tree.DecisionTreeRegressor
        return cls(max_depth=pick([1, 2, 3, None]), random_state=seed)
    if family == "nb":
        return naive_bayes.GaussianNB()
    if family == "ensemble":
        # A soft-voting blend of three tuned-ish families, as strong entrants submit.
        if classify:
            return ensemble.VotingClassifier([
                ("lr", linear_model.LogisticRegression(C=pick([0.3, 1.0, 3.0]), max_iter=5000)),
                ("svc", svm.SVC(C=pick([3.0, 10.0]), probability=True, random_state=seed)),
                ("et", ensemble.ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1)),
            ], voting="soft")
        return ensemble.VotingRegressor([
            ("ridge", linear_model.Ridge(alpha=pick([0.3, 1.0, 3.0]))),
            ("svr", svm.SVR(C=pick([300.0, 1000.0, 3000.0]))),
            ("rf", ensemble.RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=1)),
        ])
    raise ValueError(family)


TUNED_GRIDS = {
    "linear": ("C", [0.01, 0.1, 1, 10, 100]),
    "svm": ("C", [0.3, 1, 3, 10, 30, 100]),
    "hgb": ("learning_rate", [0.03, 0.06, 0.1, 0.2]),
    "knn": ("n_neighbors", [1, 3, 5, 7, 11, 15]),
    "ensemble": (None, None),
}


def _seed(task_id: str) -> int:
    return int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16)


def _format(source: Source, test_ids: np.ndarray, model: Any, X_test: Any, hard: bool,
            classes: Any) -> pd.DataFrame:
    out = pd.DataFrame({"id": test_ids})
    if source.metric in ("rmse",):
        out[source.target] = model.predict(X_test)
    elif source.metric == "auc_roc":
        if hard:
            out[source.target] = model.predict(X_test)
        else:
            out[source.target] = model.predict_proba(X_test)[:, list(classes).index(1)]
    elif source.metric == "multiclass_log_loss":
        if hard:
            pred = model.predict(X_test)
            probs = np.stack([(pred == int(lbl)).astype(float) for lbl in _labels(source)], axis=1)
        else:
            proba = model.predict_proba(X_test)
            probs = np.stack([proba[:, list(classes).index(int(lbl))] for lbl in _labels(source)], axis=1)
        for i, lbl in enumerate(_labels(source)):
            out[f"class_{lbl}"] = probs[:, i]
    else:
        out[source.target] = model.predict(X_test)
    return out


def _baselines(source: Source, train: pd.DataFrame, test: pd.DataFrame) -> Iterator[Attempt]:
    y = train[source.target]
    ids = test["id"].to_numpy()
    if source.metric == "rmse":
        yield Attempt("baseline_mean", pd.DataFrame({"id": ids, source.target: y.mean()}))
        yield Attempt("baseline_median", pd.DataFrame({"id": ids, source.target: y.median()}))
    elif source.metric == "auc_roc":
        yield Attempt("baseline_prior", pd.DataFrame({"id": ids, source.target: y.mean()}))
    elif source.metric == "multiclass_log_loss":
        prior = y.astype(str).value_counts(normalize=True)
        out = pd.DataFrame({"id": ids})
        for lbl in _labels(source):
            out[f"class_{lbl}"] = prior.get(lbl, 0.0)
        yield Attempt("baseline_prior", out)
    else:
        yield Attempt("baseline_majority", pd.DataFrame({"id": ids, source.target: y.mode()[0]}))


def _text_attempt(source: Source, train: pd.DataFrame, test: pd.DataFrame, rng: np.random.Generator, tuned: bool,
                  seed: int, weak: bool) -> tuple[str, _Classifier, pd.Series, pd.Series]:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
    from sklearn import linear_model, naive_bayes, neighbors, svm
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    def pick(xs: Sequence[Any]) -> Any:
        return xs[int(rng.integers(len(xs)))]

    if tuned:
        # Where a tuning session ends up, without re-running its search here:
        # sublinear TF-IDF on word bigrams or char n-grams, a balanced linear model.
        kind = pick(["tuned_word_bigram", "tuned_char"])
        if kind == "tuned_char":
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        else:
            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        if rng.random() < 0.5:
            clf = linear_model.LogisticRegression(C=pick([1.0, 3.0, 10.0]), max_iter=3000, class_weight="balanced")
            name = f"{kind}_logreg_balanced"
        else:
            clf = svm.LinearSVC(C=pick([0.1, 0.3, 1.0]), class_weight="balanced")
            name = f"{kind}_linsvc_balanced"
    else:
        kind = pick(["tfidf_word", "tfidf_word", "tfidf_bigram", "count_word", "tfidf_char"])
        if kind == "tfidf_word":
            vec = TfidfVectorizer(min_df=pick([1, 2, 5]), max_features=pick([None, 500, 5000]))
        elif kind == "tfidf_bigram":
            vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        elif kind == "count_word":
            vec = CountVectorizer(min_df=pick([1, 2]), max_features=pick([None, 200, 2000]))
        else:
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, max_features=20000)
        families = ["logreg", "logreg", "nb", "linsvc", "ridge", "knn", "forest", "sgd"]
        if weak:
            families = ["knn", "nb", "forest_small"]
        fam = pick(families)
        balanced = pick([None, None, "balanced"])
        clf = {
            "logreg": lambda: linear_model.LogisticRegression(C=pick([0.1, 1.0, 10.0]), max_iter=2000,
                                                              class_weight=balanced),
            "nb": lambda: naive_bayes.MultinomialNB(alpha=pick([0.1, 1.0])),
            "linsvc": lambda: svm.LinearSVC(C=pick([0.1, 1.0]), class_weight=balanced),
            "ridge": lambda: linear_model.RidgeClassifier(alpha=pick([1.0, 10.0]), class_weight=balanced),
            "knn": lambda: neighbors.KNeighborsClassifier(n_neighbors=pick([1, 5, 15])),
            "forest": lambda: RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1,
                                                     class_weight=balanced),
            "forest_small": lambda: RandomForestClassifier(n_estimators=10, max_depth=pick([3, 6]),
                                                           random_state=seed, n_jobs=1),
            "sgd": lambda: linear_model.SGDClassifier(random_state=seed, class_weight=balanced),
        }[fam]()
        name = f"{kind}_{fam}" + ("_balanced" if balanced else "")
    model = make_pipeline(vec, clf)
    return name, model, train["text"], test["text"]


def reference_attempts(source: Source, train: pd.DataFrame, test: pd.DataFrame,
                       n: int = N_ATTEMPTS) -> Iterator[Attempt]:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(_seed(source.id))
    yield from _baselines(source, train, test)
    classify = source.metric != "rmse"
    y = train[source.target]
    features = [c for c in train.columns if c not in ("id", source.target)]
    ids = test["id"].to_numpy()
    families = ["linear", "forest", "extra", "hgb", "knn", "svm", "mlp", "tree"] + (["nb"] if classify else [])
    for i in range(n - 1):
        seed = int(rng.integers(1 << 30))
        draw = rng.random()
        tuned, weak = draw < TUNED_SHARE, draw > 1 - WEAK_SHARE
        hard = classify and source.metric in ("auc_roc", "multiclass_log_loss") and weak and rng.random() < 0.5
        if source.task_type == "text":
            name, model, X_train, X_test = _text_attempt(source, train, test, rng, tuned, seed, weak)
        else:
            if weak:
                k = max(1, int(len(features) * rng.uniform(0.05, 0.3)))
            elif rng.random() < 0.3:
                k = max(1, int(len(features) * rng.uniform(0.5, 0.95)))
            else:
                k = len(features)
            cols = list(rng.choice(features, size=k, replace=False)) if k < len(features) else features
            family = str(rng.choice(list(TUNED_GRIDS) if tuned else (["tree", "knn", "nb", "linear"] if weak and classify else ["tree", "knn", "linear"] if weak else families)))
            scale = family in ("linear", "knn", "svm", "mlp", "ensemble") and not (weak and family == "knn")
            est = _model(family, classify, rng, tuned, seed)
            if tuned and family != "ensemble":
                param, grid = TUNED_GRIDS[family]
                scoring = {"auc_roc": "roc_auc", "multiclass_log_loss": "neg_log_loss",
                           "rmse": "neg_root_mean_squared_error", "accuracy": "accuracy"}[source.metric]
                if family == "linear" and not classify:
                    param, grid = "alpha", [0.01, 0.1, 1, 10, 100]
                if family == "svm" and not classify:
                    grid = [100, 300, 1000, 3000, 10000]
                est = GridSearchCV(est, {param: grid}, cv=5, scoring=scoring)
            model = make_pipeline(_tabular_preprocessor(train[cols], scale), est)
            name = ("tuned_" if tuned else "weak_" if weak else "") + f"{family}_{k}feat"
            X_train, X_test = train[cols], test[cols]
        model.fit(X_train, y)
        classes = model.classes_ if classify else None
        name = f"{name}{'_hardlabels' if hard else ''}_s{i:03d}"
        yield Attempt(name, _format(source, ids, model, X_test, hard, classes))


def reasonable_solution(source: Source, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """A short, sensible, untuned pipeline, as a competent first attempt would be."""
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
    from sklearn import linear_model
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    y = train[source.target]
    ids = test["id"].to_numpy()
    if source.task_type == "text":
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                              linear_model.LogisticRegression(C=3.0, max_iter=3000, class_weight="balanced"))
        model.fit(train["text"], y)
        return _format(source, ids, model, test["text"], False, model.classes_)
    features = [c for c in train.columns if c not in ("id", source.target)]
    if source.metric == "rmse":
        est = linear_model.RidgeCV(alphas=[0.1, 1, 10])
    elif source.task_type == "image":
        # lazy: scikit-learn is an optional extra (gome-es[build-tasks]); only building the bundle fits these models
        from sklearn.svm import SVC

        est = SVC(C=10, gamma="scale", probability=False)
    else:
        est = linear_model.LogisticRegression(C=1.0, max_iter=5000)
    model = make_pipeline(_tabular_preprocessor(train[features], scale=True), est)
    model.fit(train[features], y)
    classes = getattr(model, "classes_", None)
    return _format(source, ids, model, test[features], False, classes)
