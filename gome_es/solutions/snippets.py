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
    stratify = y if np.bincount(y).min() >= 2 else None
    return y, encoder.classes_, len(encoder.classes_), stratify


SMALL_DATA = 1000  # rows of train below which val_score comes from K-fold cross-validation


def cross_validate(X, y, stratify, n_classes, folds):
    seed = RECIPE["validation"]["seed"]
    if stratify is not None and np.bincount(stratify).min() >= folds:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), stratify)
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)))
    oof, fit_seconds, train_scores = None, 0.0, []
    for idx_train, idx_val in splits:
        X_tr = take(X, idx_train)
        model = build_model(X_tr)
        t = time.perf_counter()
        model.fit(X_tr, y[idx_train])
        fit_seconds += time.perf_counter() - t
        pred = np.asarray(predict(model, take(X, idx_val), n_classes))
        if oof is None:
            oof = np.zeros((len(y),) + pred.shape[1:], dtype=pred.dtype)
        oof[idx_val] = pred
        train_scores.append(score(y[idx_train], predict(model, X_tr, n_classes)))
    n_val = len(y) // folds
    return score(y, oof), float(np.mean(train_scores)), fit_seconds, len(y) - n_val, n_val


def validate(X, y, stratify, n_classes):
    """Validation score, training score, fit seconds, train and validation sizes, and the
    model that predicts the test set: refit on every row when the recipe asks, and always
    after K-fold (whose fold models are not kept), else the hold-out split's model."""
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
    if RECIPE["refit_full"] or folds > 1:
        model = build_model(X)
        model.fit(X, y)
    return val_score, train_score, fit_seconds, n_train, n_val, model
'''

WRITE_METRICS = '''

def write_metrics(started, val_score, train_score, fit_seconds, n_train, n_val):
    metrics = {"val_score": val_score, "train_score": train_score, "fit_seconds": fit_seconds,
               "total_seconds": time.perf_counter() - started, "metric": METRIC,
               "family": RECIPE["family"], "n_train": n_train, "n_val": n_val}
    with open("metrics.json", "w") as fh:
        json.dump(metrics, fh, indent=1)
'''

RUN_MAIN = '''

if __name__ == "__main__":
    main()
'''
