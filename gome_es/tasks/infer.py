"""Task understanding for MLE-bench competitions, from what an agent may see.

From the public folder (its files, the sample submission) and the competition's
grader name this works out: which files hold the training rows and the test rows,
the id column, the target column(s), what a submission holds (``labels``, one
``probability`` per row, ``class_probabilities`` one column per class, or
``values`` one column per target), the task type, and the role of every feature
column (numeric, boolean, categorical, datetime, free text, lists, id-like, and
strings to split on a delimiter).  It never opens ``private/``.

The result is a plain dict (recorded in ``RunStarted.task["understanding"]``) so
a user can see what was inferred and override it (``--task-type``, ``--target``,
``--id-column``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from gome_es.tasks.model import TaskDataMissing

TABLE_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson", ".parquet")
# Rows read per table to infer roles (a 55M-row train.csv is not read whole).
SAMPLE_ROWS = 20_000
LISTING_FILES = 40  # files listed one by one; the rest are summarised per folder
HEAD_LINES = 3
HEAD_CHARS = 300

# What a submission column holds, per gome metric.
METRIC_KIND = {
    "accuracy": "labels", "macro_f1": "labels", "quadratic_weighted_kappa": "labels",
    "auc_roc": "probability", "log_loss": "probability", "mean_columnwise_auc": "probability",
    "multiclass_log_loss": "class_probabilities",
    "rmse": "values", "rmsle": "values", "mae": "values", "mean_columnwise_rmsle": "values",
}


def _is_sample(path: Path) -> bool:
    return bool(re.search(r"sample_?submission", path.name, re.IGNORECASE))


def read_table(path: Path, nrows: int | None = SAMPLE_ROWS) -> pd.DataFrame:
    """A CSV, JSON (a list of records, or an object holding one), JSON lines or parquet file."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
            return frame.head(nrows) if nrows else frame
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True, nrows=nrows)
        if name.endswith(".json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = next((v for v in data.values() if isinstance(v, list)), [data])
            frame = pd.DataFrame.from_records(data)
            return frame.head(nrows) if nrows else frame
        return pd.read_csv(path, nrows=nrows, low_memory=False)
    except RecursionError:
        raise TaskDataMissing(f"cannot read the public data file {path}: its JSON is nested too "
                              "deeply to parse") from None
    except (OSError, ValueError, ImportError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TaskDataMissing(f"cannot read the public data file {path}: {exc}") from exc


def public_listing(public: Path) -> list[dict[str, Any]]:
    """Files of the public folder: name, size, first lines of each text file.

    Folders with many files (one file per sample) are summarised as one entry.
    """
    entries: list[dict[str, Any]] = []
    top = sorted(public.iterdir(), key=lambda p: p.name)
    for path in top:
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            example = sorted(files)[0].relative_to(public).as_posix() if files else None
            entries.append({"name": path.name + "/", "files": len(files),
                            "bytes": sum(p.stat().st_size for p in files), "example": example})
            continue
        entry: dict[str, Any] = {"name": path.name, "bytes": path.stat().st_size}
        if path.suffix.lower() in (".csv", ".json", ".jsonl", ".ndjson", ".txt", ".md", ".tsv", ".xyz") \
                and path.name != "description.md":
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    head = [fh.readline().rstrip("\n")[:HEAD_CHARS] for _ in range(HEAD_LINES)]
                entry["head"] = [h for h in head if h]
            except OSError:
                pass
        entries.append(entry)
        if len(entries) >= LISTING_FILES:
            entries.append({"name": "...", "more": len(top) - LISTING_FILES})
            break
    return entries


def _tables(public: Path) -> list[Path]:
    return sorted(p for p in public.iterdir()
                  if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
                  and not _is_sample(p) and p.name != "description.md")


def _looks_datetime(values: pd.Series) -> bool:
    text = values.dropna().astype(str).head(500)
    if len(text) < 5 or not text.str.contains(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}").mean() > 0.9:
        return False
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return bool(parsed.notna().mean() > 0.95)


def _delimiter_split(values: pd.Series) -> tuple[str, int] | None:
    """A delimiter every value holds the same number of times (``gggg_pp``, ``B/0/P``)."""
    text = values.dropna().astype(str).head(2000)
    if len(text) < 5 or text.str.len().mean() > 40:
        return None
    for delim in ("/", "_", "-", ":", "|"):
        counts = text.str.count(re.escape(delim))
        parts = int(counts.mode().iloc[0]) + 1 if len(counts) else 1
        if 2 <= parts <= 4 and (counts == parts - 1).mean() > 0.95:
            return delim, parts
    return None


def _numeric_parts(values: pd.Series) -> bool:
    """Split on a delimiter into numbers only (``0013_01``), so the parts mean something."""
    found = _delimiter_split(values)
    if found is None:
        return False
    parts = values.dropna().astype(str).head(2000).str.split(re.escape(found[0]), regex=True, expand=True)
    return bool(parts.apply(lambda s: pd.to_numeric(s, errors="coerce").notna().mean()).min() > 0.95)


def column_roles(train: pd.DataFrame, test: pd.DataFrame, feature_cols: list[str]) -> dict[str, list[str]]:
    """The role of each feature column, read from train and test values."""
    roles: dict[str, list[str]] = {k: [] for k in (
        "numeric", "boolean", "categorical", "datetime", "text", "list", "split", "chars", "id_like")}
    both = pd.concat([train[feature_cols], test[feature_cols]], ignore_index=True)
    n = max(1, len(both))
    for col in feature_cols:
        values = both[col]
        present = values.dropna()
        if len(present) and present.map(lambda v: isinstance(v, (list, tuple))).mean() > 0.5:
            roles["list"].append(col)
            continue
        if pd.api.types.is_bool_dtype(values) or (
                len(present) and present.map(lambda v: isinstance(v, bool)).all()):
            roles["boolean"].append(col)
            continue
        if pd.api.types.is_numeric_dtype(values):
            roles["numeric"].append(col)
            continue
        text = present.astype(str)
        if len(text) and set(text.str.lower().unique()) <= {"true", "false"}:
            roles["boolean"].append(col)
            continue
        unique_share = text.nunique() / max(1, len(text))
        mean_len = float(text.str.len().mean()) if len(text) else 0.0
        mean_words = float(text.str.count(" ").mean()) + 1 if len(text) else 0.0
        if _looks_datetime(text):
            roles["datetime"].append(col)
        elif mean_len >= 30 and mean_words >= 5:
            roles["text"].append(col)
        elif _delimiter_split(text) is not None and unique_share > 0.05:
            roles["split"].append(col)
        elif unique_share > 0.5 and len(text) > 20 and text.str.len().nunique() == 1 \
                and text.str.len().iloc[0] <= 16 and text.str.isalpha().all():
            # fixed-length codes (tps-may-2022's f_27): one feature per character position
            roles["chars"].append(col)
        elif unique_share >= 0.98 and len(present) >= 0.9 * n:
            roles["id_like"].append(col)
        else:
            roles["categorical"].append(col)
    return roles


def _geo_pairs(numeric: list[str]) -> list[list[list[str]]]:
    """Pairs of (latitude, longitude) columns sharing a prefix: the trip's two ends."""
    points = []
    for col in numeric:
        low = col.lower()
        if "latitude" in low or low.endswith("_lat") or low == "lat":
            prefix = low.replace("latitude", "").replace("_lat", "").replace("lat", "")
            lon = next((c for c in numeric if c != col and c.lower() in (
                low.replace("latitude", "longitude"), low.replace("lat", "lon"), low.replace("lat", "lng"))), None)
            if lon:
                points.append((prefix, [col, lon]))
    return [[points[0][1], points[1][1]]] if len(points) >= 2 else []


def _bool_like(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and (pd.api.types.is_bool_dtype(values)
                                    or set(present.astype(str).str.lower().unique()) <= {"true", "false"})


def understand(public: Path, sample_path: Path, metric: str | None, *,
               target: list[str] | None = None, id_column: str | None = None,
               task_type: str | None = None) -> dict[str, Any]:
    """What the competition asks for, inferred from the public files (see the module doc)."""
    sample = read_table(sample_path, nrows=None)
    if sample.shape[1] < 2:
        raise TaskDataMissing(f"the sample submission {sample_path} needs an id column and at least one "
                              f"prediction column; it has {list(sample.columns)}")
    id_col = id_column or str(sample.columns[0])
    pred_cols = [str(c) for c in sample.columns if str(c) != id_col]
    tables = {p.name: read_table(p) for p in _tables(public)}
    if not tables:
        raise TaskDataMissing(f"the public folder {public} holds no CSV, JSON, JSON lines or parquet table")
    kind = METRIC_KIND.get(metric or "")

    def holds_targets(frame: pd.DataFrame) -> list[str] | None:
        if target:
            return target if all(t in frame.columns for t in target) else None
        if all(c in frame.columns for c in pred_cols):
            return pred_cols
        return None

    # test: has the id column and none of the targets; prefer a name saying "test"
    test_candidates = [n for n, f in tables.items() if id_col in f.columns and holds_targets(f) is None]
    test_candidates.sort(key=lambda n: (0 if "test" in n.lower() else 1, n))
    if not test_candidates:
        raise TaskDataMissing(
            f"no public table has the id column {id_col!r} without the prediction columns; "
            f"tables: {sorted(tables)}; pass --id-column/--target to say which is which")
    test_name = test_candidates[0]
    test = tables[test_name]
    train_name, targets, classes = None, None, None
    ordered = sorted((n for n in tables if n != test_name),
                     key=lambda n: (0 if "train" in n.lower() else 1, n))
    for name in ordered:
        found = holds_targets(tables[name])
        if found:
            train_name, targets = name, found
            break
    submission_kind = kind
    if train_name is None:
        # one probability column per class: the train column (absent from test) whose values
        # are the class names, e.g. spooky-author-identification's `author` -> EAP, HPL, MWS
        for name in ordered:
            frame = tables[name]
            extra = [c for c in frame.columns if c not in test.columns and c != id_col]
            if len(pred_cols) >= 2:
                for col in extra:
                    values = set(frame[col].dropna().astype(str).unique())
                    if values and values <= set(pred_cols):
                        train_name, targets, classes = name, [col], list(pred_cols)
                        submission_kind = "class_probabilities"
                        break
            elif len(extra) == 1:
                train_name, targets = name, extra
            if train_name:
                break
    if train_name is None or not targets:
        raise TaskDataMissing(
            f"no public table holds the target(s) for the sample submission's columns {pred_cols}; "
            f"tables: {sorted(tables)}; pass --target COLUMN")
    train = tables[train_name]
    if submission_kind is None:
        submission_kind = "values" if all(pd.api.types.is_float_dtype(train[t]) for t in targets) else "labels"
    # the task type
    y = train[targets[0]]
    n_unique = int(y.nunique(dropna=True))
    if submission_kind == "values" and metric != "quadratic_weighted_kappa":
        inferred_type = "regression"
    elif submission_kind == "class_probabilities" or n_unique > 2:
        inferred_type = "multiclass"
    else:
        inferred_type = "binary"
    features = [c for c in test.columns if c in train.columns and c != id_col and c not in targets]
    roles: dict[str, Any] = dict(column_roles(train, test, features))
    # an id like `gggg_pp` (spaceship-titanic's PassengerId) holds a group: split it, keep the parts
    roles["id_split"] = [id_col] if id_col in train.columns and _numeric_parts(test[id_col]) else []
    roles["geo_pairs"] = _geo_pairs(roles["numeric"])
    if inferred_type != "regression" and roles["text"] and len(features) == len(roles["text"]) == 1 \
            and len(targets) == 1:
        inferred_type = "text"  # one free-text column is the whole input
    if submission_kind == "labels" and classes is None and n_unique <= 100:
        classes = sorted(map(str, y.dropna().unique()))
    out = {
        "train_files": [train_name],
        "test_files": [test_name],
        "sample_submission": sample_path.name,
        "id_column": id_col,
        "target_columns": list(targets),
        "prediction_columns": pred_cols,
        "submission_kind": submission_kind,
        "submission_dtypes": {str(c): str(t) for c, t in sample.dtypes.items()},
        "task_type": task_type or inferred_type,
        "target_is_bool": bool(_bool_like(y)),
        "classes": classes,
        "train_rows_sampled": int(len(train)),
        "roles": roles,
        "ignored_train_only_columns": sorted(
            c for c in train.columns if c not in test.columns and c not in targets and c != id_col),
        "overrides": {k: v for k, v in (("target", target), ("id_column", id_column),
                                        ("task_type", task_type)) if v},
    }
    return out
