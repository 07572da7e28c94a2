"""Generated-code blocks that both kinds of solution share.

``render`` writes solutions for the bundled tasks (one target, its own submission
builder) and, through ``anydata``, for competitions of any tabular shape (one model
per target, the sample submission's shape).  What they do alike lives here once and
is spliced into both templates: the skew transform and category encoder of tabular
features, class probabilities and the prediction a metric scores, the target
encoding, the validation split (K-fold on small data, else one hold-out split) and
the model that predicts the test set, and metrics.json.
Each block starts with two blank lines and ends with a newline, so blocks join
into a file that reads top to bottom.  Pure: strings only.
"""

from __future__ import annotations

SKEW_LOG = '''

class SkewLog(BaseEstimator, TransformerMixin):
    """Signed log1p of the numeric columns that are strongly skewed on the training data."""

    def fit(self, X, y=None):
        frame = pd.DataFrame(X)
        self.columns_ = [c for c in frame.columns if abs(frame[c].skew()) > 0.75]
        return self

    def transform(self, X):
        frame = pd.DataFrame(X).copy()
        for c in self.columns_:
            frame[c] = np.sign(frame[c]) * np.log1p(np.abs(frame[c]))
        return frame
'''

CATEGORY_ENCODER = '''

def category_encoder(linear):
    """One-hot (30 categories at most, the rest one column) or one integer per category (any
    cardinality, unseen ones -1); "auto" picks one-hot for linear models."""
    encoding = RECIPE["features"]["cat_encoding"]
    if encoding == "auto":
        encoding = "onehot" if linear else "ordinal"
    if encoding == "onehot":
        return OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=30)
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
'''

PREDICT = '''

def full_proba(model, X, n_classes):
    """Class probabilities with one column per encoded class, even if a fold lacked one."""
    proba = model.predict_proba(X)
    out = np.zeros((len(proba), n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = proba
    return out


PROBA_FLOOR = 0.005  # log loss: one over-confident miss (p ~ 1e-7) costs 16 / n_rows; the floor caps it


def predict(model, X, n_classes):
    if not CLASSIFY:
        return model.predict(X)
    proba = full_proba(model, X, n_classes)
    if METRIC == "logloss":
        proba = np.clip(proba, PROBA_FLOOR, 1.0)
        proba = proba / proba.sum(axis=1, keepdims=True)
    return proba
'''

VALIDATE = '''

def encode_target(y_raw):
    """y for the model (classes as 0..k-1, else floats), the class names, their count, and
    the labels to stratify splits by (None for regression or a class with a single row)."""
    if not CLASSIFY:
        return y_raw.to_numpy(dtype=float), None, 0, None
    encoder = LabelEncoder()
    y = encoder.fit_transform(y_raw)
    return y, encoder.classes_, len(encoder.classes_), stratify_labels(y)


def stratify_labels(y):
    """Labels to stratify splits by: classes with a single row are pooled (with the largest class
    when the pool itself would hold one row), so a near-empty class never turns stratification off."""
    counts = np.bincount(y)
    rare = np.flatnonzero((counts > 0) & (counts < 2))
    if len(rare) == 0:
        return y
    strata = y.copy()
    pooled = np.isin(y, rare)
    strata[pooled] = len(counts) if pooled.sum() >= 2 else int(counts.argmax())
    return strata


SMALL_DATA = 1000  # rows of train below which val_score comes from K-fold cross-validation


def cross_validate(X, y, stratify, n_classes, folds):
    seed = RECIPE["validation"]["seed"]
    if stratify is not None and np.bincount(stratify).min() >= folds:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), stratify)
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)))
    oof, fit_seconds, train_scores, first = None, 0.0, [], None
    for idx_train, idx_val in splits:
        X_tr = take(X, idx_train)
        model = build_model(X_tr)
        t = time.perf_counter()
        model.fit(X_tr, y[idx_train])
        fit_seconds += time.perf_counter() - t
        first = model if first is None else first
        pred = np.asarray(predict(model, take(X, idx_val), n_classes))
        if oof is None:
            oof = np.zeros((len(y),) + pred.shape[1:], dtype=pred.dtype)
        oof[idx_val] = pred
        train_scores.append(score(y[idx_train], predict(model, X_tr, n_classes)))
    n_val = len(y) // folds
    FIT_CHECK["fold_model"] = first  # validated on its fold: the fallback if the refit fails its check
    return score(y, oof), float(np.mean(train_scores)), fit_seconds, len(y) - n_val, n_val


LOWER_IS_BETTER = METRIC in ("logloss", "rmse", "rmsle", "mae")
FIT_CHECK = {}  # what validate() submitted and why; written into metrics.json


def own_fit_ok(refit_score, val_score, train_score):
    """A refit on every row must fit those rows at least as well as the validated model scored on
    its hold-out (1% slack); a refit that does not is broken, and is never submitted unchecked."""
    if not np.isfinite(refit_score):
        return False
    if LOWER_IS_BETTER:
        bar = max(val_score, train_score)
        return refit_score <= bar + 0.01 * max(1.0, abs(bar))
    bar = min(val_score, train_score)
    return refit_score >= bar - 0.01 * max(1.0, abs(bar))


def validate(X, y, stratify, n_classes):
    """Validation score, training score, fit seconds, train and validation sizes, and the
    model that predicts the test set: a refit on every row when the recipe asks (always after
    K-fold) if its own fit passes ``own_fit_ok``, else the model that was validated (the
    hold-out split's, or the first fold's)."""
    folds = int(RECIPE["validation"].get("folds") or (5 if len(y) < SMALL_DATA else 1))
    if folds > 1:
        # small data: a single hold-out split is too noisy to choose between solutions,
        # so score out-of-fold predictions of a K-fold split instead
        val_score, train_score, fit_seconds, n_train, n_val = cross_validate(X, y, stratify, n_classes, folds)
    else:
        idx_train, idx_val = train_test_split(
            np.arange(len(y)), test_size=RECIPE["validation"]["size"],
            random_state=RECIPE["validation"]["seed"], stratify=stratify)
        X_tr, X_va = take(X, idx_train), take(X, idx_val)
        model = build_model(X_tr)
        fit_started = time.perf_counter()
        model.fit(X_tr, y[idx_train])
        fit_seconds = time.perf_counter() - fit_started
        val_score = score(y[idx_val], predict(model, X_va, n_classes))
        train_score = score(y[idx_train], predict(model, X_tr, n_classes))
        n_train, n_val = int(len(idx_train)), int(len(idx_val))
    validated = model if folds == 1 else FIT_CHECK.pop("fold_model")
    FIT_CHECK["submitted_model"] = "the hold-out model" if folds == 1 else "the first fold's model"
    model = validated
    if RECIPE["refit_full"] or folds > 1:
        refit = build_model(X)
        refit.fit(X, y)
        refit_score = score(y, predict(refit, X, n_classes))
        FIT_CHECK["refit_train_score"] = refit_score
        if own_fit_ok(refit_score, val_score, train_score):
            model = refit
            FIT_CHECK["submitted_model"] = "refit on every row (its own fit checked)"
        else:
            FIT_CHECK["submitted_model"] += (
                f" (the refit on every row scored {refit_score:.5g} on its own training rows, worse than "
                f"the validated model's {val_score:.5g} on unseen rows, so it was not submitted)")
            print("refit rejected:", FIT_CHECK["submitted_model"])
    return val_score, train_score, fit_seconds, n_train, n_val, model
'''

WRITE_METRICS = '''

def write_metrics(started, val_score, train_score, fit_seconds, n_train, n_val):
    metrics = {"val_score": val_score, "train_score": train_score, "fit_seconds": fit_seconds,
               "total_seconds": time.perf_counter() - started, "metric": METRIC,
               "family": RECIPE["family"], "n_train": n_train, "n_val": n_val, **FIT_CHECK}
    with open("metrics.json", "w") as fh:
        json.dump(metrics, fh, indent=1)
'''

RUN_MAIN = '''

if __name__ == "__main__":
    main()
'''
