"""Code blocks for solutions to competitions of any tabular shape (MLE-bench's).

Used by ``render`` when the task carries an ``understanding`` (see
``gome_es.tasks.infer``): the files to read (CSV, JSON, JSON lines, parquet, several
files), the id and target columns, what the submission holds, and the role of each
feature column.  The generated code engineers features by role (booleans, datetime
parts, delimiter splits of id-like strings, per-character codes, coordinate
distances, free text and lists of tokens through TF-IDF + SVD, categoricals of any
cardinality), fits one model per target, and writes the submission in the sample
submission's shape, row order and dtypes.  Validation, prediction and metrics.json are
the blocks ``snippets`` shares with the bundled tasks' solutions.  Pure: strings only.
"""

from __future__ import annotations

from gome_es.solutions import snippets

LOAD = '''

DATA_DIR = os.environ.get("GOME_DATA_DIR", ".")
DEVICE = os.environ.get("GOME_DEVICE", "cpu")
MAX_TRAIN_ROWS = 200000  # rows of training data read; more rarely pays within the time limit


def read_table(name, nrows=None):
    """A CSV, JSON (records), JSON lines or parquet file as a DataFrame."""
    path = os.path.join(DATA_DIR, name)
    low = name.lower()
    if low.endswith(".parquet"):
        frame = pd.read_parquet(path)
        return frame.head(nrows) if nrows else frame
    if low.endswith((".jsonl", ".ndjson")):
        return pd.read_json(path, lines=True, nrows=nrows)
    if low.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), [data])
        frame = pd.DataFrame.from_records(data)
        return frame.head(nrows) if nrows else frame
    return pd.read_csv(path, nrows=nrows, low_memory=False)


def load_frames():
    train = pd.concat([read_table(n, MAX_TRAIN_ROWS) for n in TRAIN_FILES], ignore_index=True)
    test = pd.concat([read_table(n) for n in TEST_FILES], ignore_index=True)
    sample = pd.read_csv(os.path.join(DATA_DIR, SAMPLE_FILE))
    return train, test, sample


def split_columns(train, test, sample):
    feature_cols = [c for c in test.columns
                    if c in train.columns and c != ID_COLUMN and c not in TARGET_COLUMNS]
    if ROLES.get("id_split") and ID_COLUMN in train.columns:
        feature_cols.append(ID_COLUMN)  # only its parts become features (see engineer)
    return ID_COLUMN, train[TARGET_COLUMNS], feature_cols


def take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
'''

FEATURES = '''

BOOL_WORDS = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}


def as_text(frame):
    return frame.astype(str)


def to_number(value):
    if isinstance(value, bool):
        return float(value)
    return BOOL_WORDS.get(str(value).strip().lower(), np.nan)


def delimiter_of(values):
    text = values.dropna().astype(str)
    for delim in ("/", "_", "-", ":", "|"):
        counts = text.str.count(re.escape(delim))
        if len(counts) and counts.mode().iloc[0] >= 1 and (counts == counts.mode().iloc[0]).mean() > 0.95:
            return delim
    return None


def engineer(frame, reference):
    """Model-ready columns from raw ones, by the roles the task understanding found.

    ``reference`` (the training rows) fixes anything learned from data, such as the
    delimiter of a split column, so train and test get the same columns.
    """
    out = pd.DataFrame(index=frame.index)
    for c in ROLES.get("numeric", []):
        out[c] = pd.to_numeric(frame[c], errors="coerce")
    for c in ROLES.get("boolean", []):
        out[c] = frame[c].map(to_number).astype(float)
    for c in ROLES.get("categorical", []):
        out[c] = frame[c].astype(str).where(frame[c].notna(), "missing")
    for c in ROLES.get("datetime", []):
        when = pd.to_datetime(frame[c], errors="coerce", utc=True, format="mixed")
        out[c + "_year"] = when.dt.year
        out[c + "_month"] = when.dt.month
        out[c + "_day"] = when.dt.day
        out[c + "_dayofweek"] = when.dt.dayofweek
        out[c + "_hour"] = when.dt.hour + when.dt.minute / 60.0
        out[c + "_days"] = (when - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400.0
    for c in ROLES.get("split", []) + ROLES.get("id_split", []):
        delim = delimiter_of(reference[c])
        if delim is None:
            continue
        parts = frame[c].astype(str).str.split(delim, expand=True)
        ref_parts = reference[c].astype(str).str.split(delim, expand=True)
        for i in range(ref_parts.shape[1]):
            part = parts[i] if i in parts.columns else pd.Series(np.nan, index=frame.index)
            part = part.where(frame[c].notna())
            numbers = pd.to_numeric(part, errors="coerce")
            ref_numbers = pd.to_numeric(ref_parts[i], errors="coerce")
            if ref_numbers.notna().mean() > 0.9:
                out[f"{c}_{i}"] = numbers
            else:
                out[f"{c}_{i}"] = part.fillna("missing").astype(str)
        if c in ROLES.get("id_split", []):
            # group size: how many rows share the first part (families, parties)
            first = frame[c].astype(str).str.split(delim).str[0]
            out[c + "_group_size"] = first.map(first.value_counts()).astype(float)
    for c in ROLES.get("chars", []):
        text = frame[c].astype(str)
        width = int(reference[c].astype(str).str.len().max())
        for i in range(width):
            out[f"{c}_{i}"] = text.str[i].fillna("").map(lambda ch: ord(ch) if ch else -1)
        out[c + "_distinct"] = text.map(lambda v: len(set(v)))
    for a, b in ROLES.get("geo_pairs", []):
        lat1, lon1 = pd.to_numeric(frame[a[0]], errors="coerce"), pd.to_numeric(frame[a[1]], errors="coerce")
        lat2, lon2 = pd.to_numeric(frame[b[0]], errors="coerce"), pd.to_numeric(frame[b[1]], errors="coerce")
        p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        out["km_" + a[0] + "_" + b[0]] = 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        out["dlat_" + a[0]] = (lat2 - lat1).abs()
        out["dlon_" + a[1]] = (lon2 - lon1).abs()
    for c in ROLES.get("text", []):
        text = frame[c].fillna("").astype(str)
        out[c] = text
        out[c + "_chars"] = text.str.len().astype(float)
        out[c + "_words"] = text.str.split().str.len().fillna(0).astype(float)
    for c in ROLES.get("list", []):
        out[c] = frame[c].map(lambda v: " ".join(map(str, v)) if isinstance(v, (list, tuple)) else "")
        out[c + "_count"] = frame[c].map(lambda v: len(v) if isinstance(v, (list, tuple)) else 0).astype(float)
    return out


TEXT_INPUTS = list(ROLES.get("text", [])) + list(ROLES.get("list", []))


def prepare_inputs(train_frame, test_frame):
    X, X_test = engineer(train_frame, train_frame), engineer(test_frame, train_frame)
    if RECIPE["features"]["drop_id_like"]:
        # high-cardinality categoricals unique per row carry identity, not signal
        id_like = [c for c in X.columns if c not in TEXT_INPUTS and X[c].dtype == object
                   and X[c].nunique() >= 0.98 * len(X)]
        X, X_test = X.drop(columns=id_like), X_test.drop(columns=id_like)
    return X, X_test
''' + snippets.SKEW_LOG + '''

class TextFeatures(BaseEstimator, TransformerMixin):
    """TF-IDF of one text column reduced by SVD; an empty vocabulary gives one zero column."""

    def __init__(self, k=32, max_features=20000, seed=0):
        self.k = k
        self.max_features = max_features
        self.seed = seed

    @staticmethod
    def _text(X):
        return pd.Series(np.asarray(X, dtype=object).ravel()).fillna("").astype(str)

    def fit(self, X, y=None):
        text = self._text(X)
        self.tfidf_ = TfidfVectorizer(max_features=self.max_features, ngram_range=(1, 2), sublinear_tf=True,
                                      min_df=2 if len(text) >= 50 else 1)
        try:
            matrix = self.tfidf_.fit_transform(text)
        except ValueError:  # no term at all (an empty column in this fold)
            self.tfidf_ = None
            return self
        k = min(self.k, matrix.shape[1] - 1, matrix.shape[0] - 1)
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.seed).fit(matrix) if k >= 1 else None
        return self

    def transform(self, X):
        text = self._text(X)
        if self.tfidf_ is None:
            return np.zeros((len(text), 1))
        matrix = self.tfidf_.transform(text)
        return self.svd_.transform(matrix) if self.svd_ is not None else matrix.toarray()
''' + snippets.CATEGORY_ENCODER + '''

def make_preprocessor(X, linear):
    feats = RECIPE["features"]
    text_cols = [c for c in TEXT_INPUTS if c in X.columns]
    num_cols = [c for c in X.columns if c not in text_cols and pd.api.types.is_numeric_dtype(X[c])]
    cat_cols = [c for c in X.columns if c not in text_cols and c not in num_cols]
    num_steps = []
    if feats["log_skewed"]:
        num_steps.append(SkewLog())
    num_steps.append(SimpleImputer(strategy=feats["impute"], add_indicator=True, keep_empty_features=True))
    if feats["poly"] and len(num_cols) <= 40:
        num_steps.append(PolynomialFeatures(degree=int(feats["poly"]), include_bias=False))
    encoder = category_encoder(linear)
    parts = []
    if num_cols:
        parts.append(("num", make_pipeline(*num_steps), num_cols))
    if cat_cols:
        parts.append(("cat", make_pipeline(FunctionTransformer(as_text), encoder), cat_cols))
    for c in text_cols:
        parts.append(("text_" + c, TextFeatures(k=int(feats.get("text_svd", 32)),
                                                max_features=int(feats.get("text_max_features", 20000)),
                                                seed=SEED), c))
    columns = ColumnTransformer(parts, sparse_threshold=0.0)
    if linear:
        return make_pipeline(columns, StandardScaler())
    return columns
'''

_PER_TARGET = '''

def target_values(y_raw):
    """Labels as they should be written back (booleans stay booleans), NaN rows dropped."""
    keep = y_raw.notna().to_numpy()
    y = y_raw[keep]
    if TARGET_IS_BOOL and y.dtype == object:
        y = y.map(lambda v: v if isinstance(v, bool) else str(v).strip().lower() == "true").astype(bool)
    return keep, y


def fit_one(X, X_test, y_raw):
    """Validation score, training score, fit seconds, sizes and test predictions for one target."""
    keep, y_kept = target_values(y_raw)
    X = take(X, np.flatnonzero(keep))
    y, classes, n_classes, stratify = encode_target(y_kept)
    val_score, train_score, fit_seconds, n_train, n_val, model = validate(X, y, stratify, n_classes)
    return val_score, train_score, fit_seconds, n_train, n_val, predict(model, X_test, n_classes), classes


def build_submission(sample, test_ids, results):
    """The sample submission's rows, columns and dtypes, filled with the predictions."""
    sub = sample.copy()
    keys = pd.Series(np.arange(len(test_ids)), index=test_ids.astype(str).str.strip().to_numpy())
    keys = keys[~keys.index.duplicated()]
    order = keys.reindex(sample[ID_COLUMN].astype(str).str.strip().to_numpy())
    if order.isna().any():
        raise ValueError(f"{int(order.isna().sum())} sample submission id(s) are not in the test data")
    order = order.to_numpy(dtype=int)
    if SUBMISSION_KIND == "class_probabilities":
        proba, classes = results[TARGET_COLUMNS[0]]
        names = [str(c) for c in classes]
        block = np.zeros((len(order), len(PRED_COLUMNS)))
        for j, col in enumerate(PRED_COLUMNS):
            if col in names:
                block[:, j] = proba[order, names.index(col)]
        block = np.clip(block, 1e-6, 1.0)
        block = block / block.sum(axis=1, keepdims=True)
        for j, col in enumerate(PRED_COLUMNS):
            sub[col] = block[:, j]
        return sub
    for target, col in zip(TARGET_COLUMNS, PRED_COLUMNS):
        pred, classes = results[target]
        pred = np.asarray(pred)
        if SUBMISSION_KIND in ("probability", "multilabel_probabilities"):  # one yes/no target per column
            # P(the larger class): True over False, 1 over 0
            sub[col] = np.clip(pred[order, -1] if pred.ndim == 2 else pred[order], 0.0, 1.0)
        elif SUBMISSION_KIND == "labels":
            labels = np.asarray(classes)[pred[order].argmax(axis=1)] if CLASSIFY else np.rint(pred[order])
            column = pd.Series(labels)
            if pd.api.types.is_integer_dtype(sample[col]) and pd.api.types.is_numeric_dtype(column):
                column = column.astype(sample[col].dtype)
            sub[col] = column.to_numpy()
        else:
            values = pred[order].astype(float)
            if METRIC == "rmsle":
                values = np.clip(values, 0, None)
            sub[col] = values
    return sub


def main():
    started = time.perf_counter()
    train, test, sample = load_frames()
    id_col, targets, feature_cols = split_columns(train, test, sample)
    X, X_test = prepare_inputs(train[feature_cols], test[feature_cols])
    results, vals, trains, fits = {}, [], [], 0.0
    n_train = n_val = 0
    for target in TARGET_COLUMNS:
        val_score, train_score, fit_seconds, n_train, n_val, pred, classes = fit_one(X, X_test, targets[target])
        print(f"{target}: {METRIC} val={val_score:.5f} train={train_score:.5f} fit={fit_seconds:.1f}s")
        results[target] = (pred, classes)
        vals.append(val_score)
        trains.append(train_score)
        fits += fit_seconds
    # column-wise metrics average over the targets
    val_score, train_score = float(np.mean(vals)), float(np.mean(trains))
    submission = build_submission(sample, test[id_col], results)
    submission.to_csv("submission.csv", index=False)
    write_metrics(started, val_score, train_score, fits, n_train, n_val)
'''

MAIN = (snippets.PREDICT + snippets.VALIDATE + snippets.WRITE_METRICS + _PER_TARGET
        + snippets.RUN_MAIN)
