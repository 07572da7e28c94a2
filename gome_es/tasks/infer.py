"""Task understanding for MLE-bench competitions, from what an agent may see.

From the public folder (tables, folders and zips of images or audio, listed without
extracting), the sample submission, the description and the grader name this works out
the task's modality (table, text, image, image-to-image, audio, sequence-to-sequence, or
images with a metadata table), which files hold the training and the test rows, where the
media are and how a file maps to an id, the id column (anywhere in the sample's header),
the target column(s), what a submission holds (see ``model.SubmissionKind``), and the role
of every feature column of the tables.  It never opens ``private/`` and never refuses a
prepared competition: what it cannot tell is recorded as ``confidence: "low"`` with the
reasons in ``unsure``, and the run starts all the same.

The result is ``model.Understanding`` as a plain dict (recorded in
``RunStarted.task["understanding"]``), so a user can see what was inferred and override it
(``--task-type``, ``--target``, ``--id-column``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from gome_es.errors import TaskError
from gome_es.tasks.model import TaskDataMissing, Understanding
from gome_es.tasks.public_files import (
    MediaFiles,
    find_media,
    head_lines,
    index_tables,
    label_in_name,
    map_ids,
    nested_text_files,
    overlap,
    read_table,
    tables_of,
)

# What a submission column holds, per gome metric.
METRIC_KIND = {
    "accuracy": "labels", "macro_f1": "labels", "quadratic_weighted_kappa": "labels",
    "auc_roc": "probability", "log_loss": "probability", "mean_columnwise_auc": "multilabel_probabilities",
    "multiclass_log_loss": "class_probabilities",
    "rmse": "values", "rmsle": "values", "mae": "values", "mean_columnwise_rmsle": "values",
}


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


# ------------------------------------------------------------------ ids built from parts

PIXEL_ID = re.compile(r"^(.+)_(\d+)_(\d+)$")


def _pixel_ids(ids: pd.Series, media: list[MediaFiles]) -> MediaFiles | None:
    """Ids ``{image}_{row}_{col}`` (one row per pixel) whose images are a media set: image-to-image."""
    text = ids.astype(str)
    parts = text.str.extract(PIXEL_ID)
    if len(text) == 0 or parts[0].isna().mean() > 0.05:
        return None
    images = set(parts[0].dropna())
    best = max((m for m in media if m.kind == "image"), key=lambda m: overlap(images, m.stems), default=None)
    if best is not None and overlap(images, best.stems) > 0.5:
        return best
    return None


def _class_composite(ids: pd.Series) -> tuple[int, int] | None:
    """Integer ids ``{row} * B + {class}`` (mlsp-2013-birds: rec_id * 100 + species), one per
    class for every row: (B, number of classes)."""
    numbers = pd.to_numeric(ids, errors="coerce")
    if len(numbers) < 4 or numbers.isna().any() or (numbers < 0).any() or (numbers % 1 != 0).any():
        return None
    numbers = numbers.astype("int64")
    for base in (10, 100, 1000, 10000):
        groups = numbers.groupby(numbers // base).apply(lambda g: tuple(sorted(g % base)))
        if len(groups) < 2:
            continue
        shapes = set(groups)
        if len(shapes) == 1:
            only = next(iter(shapes))
            # every remainder used = plain consecutive row ids (0, 1, 2, ...), not a composite
            if 2 <= len(only) < base and only == tuple(range(len(only))):
                return base, len(only)
    return None


def _token_composite(ids: pd.Series, tables: dict[str, pd.DataFrame]) -> tuple[str, str, str] | None:
    """Ids ``{a}_{b}`` made of two columns of a table (text normalisation's
    ``{sentence_id}_{token_id}``): (table, column a, column b)."""
    text = ids.astype(str).head(200).reset_index(drop=True)
    if len(text) == 0 or not text.str.fullmatch(r"[^_]+_[^_]+").all():
        return None
    for name, frame in tables.items():
        head = frame.head(len(text)).reset_index(drop=True)
        if len(head) < len(text):
            continue
        cols = [str(c) for c in head.columns]
        for a in cols:
            for b in cols:
                if a != b and (head[a].astype(str) + "_" + head[b].astype(str)).equals(text):
                    return name, a, b
    return None


# ------------------------------------------------------------------ the description

DESCRIPTION_WORDS = {
    "image": r"\b(images?|photos?|pictures?|pixels?|jpe?g|png|tiff?)\b",
    "audio": r"\b(audio|sounds?|recordings?|clips?|wav|aiff?|acoustic|spectrograms?)\b",
}


def _description_hints(description: str) -> dict[str, int]:
    low = description.lower()
    return {kind: len(re.findall(pattern, low)) for kind, pattern in DESCRIPTION_WORDS.items()}


# ------------------------------------------------------------------ understanding


def find_public_sample(public: Path) -> Path | None:
    """The sample submission inside ``public/``: a CSV, or a zip of one (text normalisation)."""
    for pattern in ("sample_submission.csv", "*ample*ubmission*.csv", "*ample*ubmission*.csv.zip"):
        found = sorted(p for p in public.glob(pattern) if p.is_file() and not p.is_symlink())
        if found:
            return found[0]
    return None


def _is_text(values: pd.Series) -> bool:
    return bool(pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values))


def _unique(values: pd.Series) -> bool:
    return bool(len(values)) and not values.isna().any() and values.astype(str).is_unique


def _id_column(sample: pd.DataFrame, sample_name: str, tables: dict[str, pd.DataFrame],
               named: str | None, unsure: list[str]) -> str:
    """The id: the user's (any column of the sample), else the sample's first column unique per
    row, preferring one a public table has (insults' ``Insult,Date,Comment`` gives ``Comment``)."""
    columns: list[str] = list(sample.columns)
    if named:
        if named not in columns:
            raise TaskError(f"--id-column {named!r} is not a column of the sample submission "
                            f"{sample_name}; its columns are {columns}")
        return named
    unique = [c for c in columns if _unique(sample[c])]
    in_tables = [c for c in unique if any(c in f.columns for f in tables.values())]
    if columns[0] in unique:
        return columns[0]
    if in_tables or unique:
        return (in_tables or unique)[0]
    unsure.append(f"no column of {sample_name} is unique per row; took its first, {columns[0]!r}, "
                  "as the id (pass --id-column to name another)")
    return columns[0]


def _kind_from_values(predictions: pd.DataFrame) -> str:
    """What a submission holds, for a grader gome does not know: guessed from the sample's values."""
    numeric = predictions.apply(pd.to_numeric, errors="coerce")
    if not numeric.notna().all().all():
        return "labels"
    values = numeric.to_numpy(dtype=float)
    if ((values >= 0) & (values <= 1)).all():
        return "probability" if predictions.shape[1] == 1 else "multilabel_probabilities"
    return "values"


def _target_kind(submission_kind: str, metric: str | None, per_class_ids: bool, n_unique: int | None) -> str:
    """What is predicted (``model.TargetKind``); ``n_unique``: distinct training targets (None: unknown)."""
    if submission_kind in ("pixels", "strings"):
        return submission_kind
    if metric == "quadratic_weighted_kappa":
        return "ordinal"
    if submission_kind == "multilabel_probabilities" or per_class_ids:
        return "multilabel"
    by_kind = {"class_probabilities": "multiclass", "values": "regression", "probability": "binary"}
    if submission_kind in by_kind:
        return by_kind[submission_kind]
    if n_unique is not None:
        return "multiclass" if n_unique > 2 else "binary"
    return "unknown"


def _media_roles(public: Path, media: list[MediaFiles], other_files: list[Path], id_col: str, ids: pd.Series,
                 test: pd.DataFrame | None, train: pd.DataFrame | None, targets: list[str],
                 pixel_media: MediaFiles | None) -> None:
    """Which media set holds the test rows, which the training rows (or their target images),
    and how each file maps to an id or spells its label; set on each set in place."""
    sample_ids = set(ids.astype(str))
    train_ids: dict[str, set[str]] = {}
    if train is not None:
        for col in sorted(train.columns, key=lambda c: c != id_col):
            if col == id_col or (col not in targets and _is_text(train[col])):
                train_ids[col] = set(train[col].dropna().astype(str))
    for m in media:
        in_test = map_ids(m, id_col, sample_ids)
        if test is not None and id_col in test.columns and not in_test:
            in_test = map_ids(m, id_col, set(test[id_col].dropna().astype(str)))
        in_train = False
        for col, values in train_ids.items():
            if overlap(values, m.stems) > 0.5 or overlap(values, set(m.names)) > 0.5:
                if not in_test:
                    map_ids(m, col, values)
                in_train = True
                break
        m.role = "shared" if in_test and in_train else "test" if in_test else "train" if in_train else m.role
    if pixel_media is not None:
        # each test image's pixels are rows whose id starts with the image's file stem
        pixel_media.role, pixel_media.id_from, pixel_media.id_column = "test", "stem", id_col
    for m in media:
        if m.role != "other":
            continue
        low = (m.path + "/" + m.prefix).lower()
        twins = [o for o in media if o is not m and o.kind == m.kind and o.stems == m.stems]
        if twins and re.search(r"clean|target|mask|label|gt", low):
            m.role = "train_target"
        elif "test" in low:
            m.role = "test"
        elif "train" in low:
            m.role = "train"
    for m in media:
        if m.role == "train" and m.id_from == "none" and not m.label_from_folder:
            m.label_from_name = label_in_name(m)
    index_tables(public, other_files, media)
    for m in media:
        if m.index_file and m.role == "other":
            m.role = "shared"  # one file per row of a table that lists training and test rows alike


def understand(public: Path, sample_path: Path, metric: str | None, *,
               target: list[str] | None = None, id_column: str | None = None,
               task_type: str | None = None, description: str = "",
               grader: str | None = None) -> dict[str, Any]:
    """What the competition asks for, inferred from the public files (see the module doc).

    ``sample_path`` is read when ``public/`` has no sample submission of its own;
    ``metric`` is gome's name for the grader (None: a grader gome does not implement).
    Returns ``model.Understanding`` as a dict.  Raises only for a sample submission that
    cannot be read and for an override that names no column of it.
    """
    unsure: list[str] = []
    public_sample = find_public_sample(public)
    if public_sample is not None and (public_sample.name == sample_path.name
                                      or not sample_path.resolve().is_relative_to(public.resolve())):
        sample_path = public_sample
    sample = read_table(sample_path)
    if sample.shape[1] < 2:
        raise TaskDataMissing(f"the sample submission {sample_path} needs an id column and at least one "
                              f"prediction column; it has {list(sample.columns)}")
    sample.columns = [str(c) for c in sample.columns]
    columns = list(sample.columns)
    tables: dict[str, pd.DataFrame] = {}
    for path in tables_of(public):
        try:
            tables[path.relative_to(public).as_posix()] = read_table(path)
        except TaskDataMissing as exc:  # one unreadable table is a doubt, not a refusal
            unsure.append(f"{exc}; the table was left out")
    for frame in tables.values():
        frame.columns = [str(c) for c in frame.columns]
    media, media_problems = find_media(public)
    unsure += media_problems

    id_col = _id_column(sample, sample_path.name, tables, id_column, unsure)
    rest = [c for c in columns if c != id_col]
    ids = sample[id_col]
    target_override = list(target) if target else None

    # --- ids built from parts
    pixel_media = _pixel_ids(ids, media)
    keyed_by_table = any(id_col in f.columns and overlap(set(f[id_col].dropna().astype(str)),
                                                          set(ids.astype(str))) > 0.5 for f in tables.values())
    composite = _class_composite(ids) if pixel_media is None and len(rest) == 1 and not keyed_by_table else None
    token_ids = _token_composite(ids, tables) if pixel_media is None and composite is None \
        and not any(id_col in f.columns for f in tables.values()) else None

    def holds_targets(frame: pd.DataFrame) -> list[str] | None:
        if target_override:
            return target_override if all(t in frame.columns for t in target_override) else None
        return rest if all(c in frame.columns for c in rest) else None

    # --- the test table: has the id column (or the parts of a composite id) and lacks the targets
    test_name: str | None = None
    if token_ids is not None:
        test_name = token_ids[0]
    else:
        # ... and holds the sample's ids (ranzcr's train_annotations.csv has the id column too)
        keyed = [n for n, f in tables.items() if id_col in f.columns and holds_targets(f) is None
                 and overlap(set(f[id_col].dropna().astype(str)), set(ids.astype(str))) > 0.5]
        keyed.sort(key=lambda n: (0 if "test" in n.lower() else 1, n))
        test_name = keyed[0] if keyed else None
    test = tables[test_name] if test_name else None
    passthrough = [c for c in rest if test is not None and c in test.columns
                   and not (target_override and c in target_override)]
    pred_cols = [c for c in rest if c not in passthrough] or rest
    if len(pred_cols) == len(rest):
        passthrough = []

    # --- the training table and the target column(s)
    kind = METRIC_KIND.get(metric or "")
    train_name: str | None = None
    targets: list[str] = []
    classes: list[str] | None = None
    ordered = sorted((n for n in tables if n != test_name), key=lambda n: (0 if "train" in n.lower() else 1, n))

    def holds(frame: pd.DataFrame) -> list[str] | None:
        if target_override:
            return target_override if all(t in frame.columns for t in target_override) else None
        return pred_cols if all(c in frame.columns for c in pred_cols) else None

    for name in ordered:
        found = holds(tables[name])
        if found:
            train_name, targets = name, found
            break
    if train_name is None and not target_override:
        # one probability column per class: the column whose values are the class names
        # (spooky's `author` -> EAP, HPL, MWS; dog-breed's `breed` -> 120 columns)
        for name in ordered:
            frame = tables[name]
            extra = [c for c in frame.columns if (test is None or c not in test.columns) and c != id_col]
            if len(pred_cols) >= 2:
                for col in extra:
                    values = set(frame[col].dropna().astype(str).unique())
                    if values and values <= set(pred_cols):
                        train_name, targets, classes = name, [col], list(pred_cols)
                        kind = "class_probabilities" if kind in (None, "class_probabilities") else kind
                        break
            elif len(extra) == 1 and test is not None:
                train_name, targets = name, extra
            if train_name:
                break
    train = tables[train_name] if train_name else None

    # --- media: which set holds the test rows, which the training rows, and how files map to ids
    other_files = nested_text_files(public)
    _media_roles(public, media, other_files, id_col, ids, test, train, targets, pixel_media)

    # --- the modality
    hints = _description_hints(description)
    used_media = [m for m in media if m.role in ("train", "test", "shared", "train_target")]
    media_kinds = [k for k in ("audio", "image") if any(m.kind == k for m in used_media)]
    if not media_kinds:
        media_kinds = [k for k in ("audio", "image") if any(m.kind == k for m in media)]
    features: list[str] = []
    roles: dict[str, Any] = {}
    if train is not None and test is not None:
        candidates = [c for c in test.columns if c in train.columns and c not in targets]
        roles = dict(column_roles(train, test, candidates))
        # the id is no feature, unless it is the text itself (insults' `Comment`)
        for key in roles:
            if key != "text" and id_col in roles[key]:
                roles[key].remove(id_col)
        features = [c for c in candidates if c != id_col or id_col in roles.get("text", [])]
        roles["id_split"] = [id_col] if id_col in train.columns and id_col in test.columns \
            and _numeric_parts(test[id_col]) else []
        roles["geo_pairs"] = _geo_pairs(roles["numeric"])
    table_features = [c for c in features if c not in roles.get("id_like", [])]
    text_cols = roles.get("text", [])
    y = train[targets[0]] if train is not None and targets and targets[0] in train.columns else None
    seq2seq = False
    if y is not None and train is not None and test is not None and _is_text(y) and kind in (None, "labels"):
        n_unique = int(y.nunique())
        copies = [c for c in test.columns if c in train.columns and _is_text(train[c])
                  and (train[c].astype(str) == y.astype(str)).mean() > 0.3]
        seq2seq = bool(copies) and n_unique > 50 and n_unique > 0.02 * len(y)
    if pixel_media is not None:
        modality = "image_to_image"
    elif seq2seq:
        modality = "seq2seq"
    elif media_kinds:
        modality = media_kinds[0]
    elif text_cols and len(table_features) - len(text_cols) - len(roles.get("datetime", [])) <= 1:
        modality = "text"
    else:
        modality = "table"
    modalities = [modality]
    for extra_kind in media_kinds:
        if extra_kind not in modalities and modality not in ("image_to_image",):
            modalities.append(extra_kind)
    if modality in ("image", "audio") and table_features:
        modalities.append("table")
    if modality == "table" and text_cols:
        modalities.append("text")
    if modality in ("table", "text"):
        for kind_word, n in hints.items():
            if n >= 3:
                unsure.append(f"the description mentions {kind_word} {n} times but no {kind_word} files "
                              "were found in the public folder")

    # --- where the test ids come from
    test_media = [m for m in media if m.role in ("test", "shared") and m.id_from != "none"]
    if pixel_media is not None:
        id_source, id_pattern = "composite", "{image}_{row}_{col}"
    elif composite is not None:
        id_source, id_pattern = "composite", f"{{row_id}}*{composite[0]}+{{class}} ({composite[1]} classes)"
    elif token_ids is not None:
        id_source, id_pattern = "composite", f"{{{token_ids[1]}}}_{{{token_ids[2]}}}"
    elif test is not None and id_col in test.columns:
        id_source, id_pattern = "test_table", None
    elif test_media:
        id_source, id_pattern = "media", None
    else:
        id_source, id_pattern = "sample", None
        if modality not in ("table", "text") or not tables:
            unsure.append(f"the test ids ({id_col!r}) match no public table and no file names; only "
                          f"{sample_path.name} lists them")

    # --- what a submission holds, and what is predicted
    if metric is None:
        kind = _kind_from_values(sample[pred_cols])
        unsure.append(f"gome does not implement the grader {grader!r}; what a submission holds "
                      f"({kind}) was guessed from the sample's values")
    if pixel_media is not None:
        kind = "pixels"
    elif seq2seq:
        kind = "strings"
    elif kind == "probability" and len(pred_cols) > 1:
        kind = "multilabel_probabilities"  # several columns, each scored on its own (ranzcr)
    elif kind == "multilabel_probabilities" and len(pred_cols) == 1:
        kind = "probability"
    if kind is None:
        kind = "values" if y is not None and pd.api.types.is_float_dtype(y) else "labels"
    submission_kind = kind
    n_unique = int(y.nunique(dropna=True)) if y is not None else 0
    target_kind = _target_kind(submission_kind, metric, composite is not None, n_unique if y is not None else None)
    name_labels = next((m for m in media if m.label_from_name), None)
    if classes is None and submission_kind == "labels" and y is not None and n_unique <= 100:
        classes = sorted(map(str, y.dropna().unique()))
    if y is None and submission_kind in ("labels", "class_probabilities") and name_labels is not None:
        regex = name_labels.label_from_name or ""
        spelled = {hit.group(1) for stem in name_labels.stems if (hit := re.search(regex, stem))}
        classes = classes or sorted(spelled)
    folder_labels = next((m for m in media if m.label_from_folder and m.role in ("train", "shared")), None)
    if y is None and classes is None and submission_kind == "labels" and folder_labels is not None:
        classes = sorted(folder_labels.folders)
    if submission_kind == "class_probabilities" and classes is None:
        classes = list(pred_cols)
    if target_kind == "unknown" and classes:  # labels from file or folder names
        target_kind = "multiclass" if len(classes) > 2 else "binary"
    targets_known = bool(targets) or name_labels is not None or folder_labels is not None \
        or any(m.role == "train_target" for m in media)
    if not targets_known:
        hinted = [p.relative_to(public).as_posix() for p in other_files
                  if re.search(r"label|target|truth|class", p.name, re.IGNORECASE)]
        unsure.append("no public table holds the targets and no file names spell them; the training "
                      "labels must be read from the files the description names"
                      + (f" (perhaps {', '.join(hinted)})" if hinted else "")
                      + " (pass --target COLUMN if a table has them)")
    if modality in ("image", "audio") and not any(m.role in ("train", "shared") for m in media):
        unsure.append(f"no {modality} files were recognised as the training inputs")
    if modality in ("image", "audio") and id_source == "sample" and not test_media:
        unsure.append(f"no {modality} file name matches the ids of {sample_path.name}")

    # --- the legacy, table-only task type the offline recipes dispatch on
    if modality in ("table", "text") or "table" in modalities:
        if submission_kind == "values":
            legacy = "regression"
        elif submission_kind in ("class_probabilities",) or n_unique > 2:
            legacy = "multiclass"
        else:
            legacy = "binary"
        if legacy != "regression" and text_cols and len(features) == len(text_cols) == 1 and len(targets) == 1:
            legacy = "text"
    elif modality in ("image", "image_to_image"):
        legacy = "image"
    else:
        legacy = "other"
    if target_override and train is None:
        unsure.append(f"no public table has the target column(s) {target_override} (--target)")

    understanding = Understanding.model_validate({
        "modality": modality,
        "modalities": modalities,
        "target_kind": target_kind,
        "confidence": "low" if unsure else "high",
        "unsure": unsure,
        "media": [m.model() for m in media],
        "train_files": [train_name] if train_name else [],
        "test_files": [test_name] if test_name else [],
        "sample_submission": sample_path.relative_to(public).as_posix()
        if sample_path.resolve().is_relative_to(public.resolve()) else sample_path.name,
        "submission_columns": columns,
        "id_column": id_col,
        "id_position": columns.index(id_col),
        "id_source": id_source,
        "id_pattern": id_pattern,
        "target_columns": list(targets),
        "prediction_columns": pred_cols,
        "passthrough_columns": passthrough,
        "submission_kind": submission_kind,
        "submission_dtypes": {str(c): str(t) for c, t in sample.dtypes.items()},
        "task_type": task_type or legacy,
        "target_is_bool": bool(y is not None and _bool_like(y)),
        "classes": classes,
        "train_rows_sampled": int(len(train)) if train is not None else 0,
        "roles": roles,
        "other_files": [{"name": p.relative_to(public).as_posix(), "bytes": p.stat().st_size,
                         "head": head_lines(p)} for p in other_files],
        "ignored_train_only_columns": sorted(
            c for c in train.columns if (test is None or c not in test.columns) and c not in targets
            and c != id_col) if train is not None else [],
        "overrides": {k: v for k, v in (("target", target), ("id_column", id_column),
                                        ("task_type", task_type)) if v},
    })
    return understanding.model_dump(mode="json", by_alias=True)
