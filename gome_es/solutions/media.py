"""Solutions for competitions that are not one table: images, audio, text, image-to-image, sequences.

A competition's *modality* (recorded by the task understanding, or given by a task
config) picks a recipe space (see ``SPACES``); ``MediaSpec`` is the small, explicit
description of the competition the generated code is written against, and
``spec_from_task`` is the adapter from the task dict the policy sees (its
``understanding``).  ``render`` writes the solution: the recipe and the spec as
constants, then the runtime (``media_runtime.py``, copied in whole so the file runs on
its own), which finds at run time whatever the spec leaves open.
Pure: string building only (the runtime's source is read once, at import).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gome_es.core.canonical import canonical_json

# modality -> recipe space (the recipe's task type); modalities not here are tables
SPACES = {"image": "vision", "mixed": "vision", "audio": "audio", "text": "nlp",
          "image_to_image": "img2img", "seq2seq": "seq2seq"}
MEDIA_SPACES = ("vision", "audio", "nlp", "img2img", "seq2seq")

# how the understanding (or a person) may spell a modality
_MODALITY_NAMES = {
    "image": "image", "images": "image", "image_classification": "image", "image_regression": "image",
    "vision": "image",
    "mixed": "mixed", "image_table": "mixed", "image_and_table": "mixed", "images_with_table": "mixed",
    "image+table": "mixed", "image_metadata": "mixed", "mixed_image_table": "mixed",
    "image_to_image": "image_to_image", "img2img": "image_to_image", "image2image": "image_to_image",
    "audio": "audio", "audio_classification": "audio", "sound": "audio",
    "text": "text", "nlp": "text", "text_classification": "text",
    "seq2seq": "seq2seq", "sequence_to_sequence": "seq2seq", "text_normalization": "seq2seq",
    "table": "table", "tabular": "table", "tables": "table",
}

RUNTIME = (Path(__file__).with_name("media_runtime.py")).read_text(encoding="utf-8")
_TABLE_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson", ".parquet", ".tsv")


def modality_of(task: dict[str, Any]) -> str | None:
    """The task's modality in this module's words (None: a table, or not said)."""
    u = task.get("understanding") or {}
    raw = u.get("modality") or task.get("modality")
    if isinstance(raw, dict):  # {"name": ..., ...}
        raw = raw.get("name") or raw.get("modality")
    if not raw:
        return None
    key = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    found = _MODALITY_NAMES.get(key)
    if found is None:
        if "image" in key and ("table" in key or "meta" in key or "mix" in key):
            found = "mixed"
        elif "image" in key and "image" in key.replace("image", "", 1):
            found = "image_to_image"
        elif "image" in key:
            found = "image"
        elif "audio" in key or "sound" in key:
            found = "audio"
        elif "seq" in key or "normali" in key:
            found = "seq2seq"
        elif "text" in key:
            found = "text"
    if found == "text" and _mostly_table(u):
        return None  # text among many other columns: the tabular solutions (TF-IDF + SVD there)
    if found == "image" and "table" in (u.get("modalities") or []):
        # images with a metadata table: joined (siim-isic); a table of many engineered features
        # (leaf-classification's 192) is solved as a table
        numeric = len((u.get("roles") or {}).get("numeric") or [])
        return None if numeric >= 20 else "mixed"
    return None if found in (None, "table") else found


def _mostly_table(u: dict[str, Any]) -> bool:
    roles = u.get("roles") or {}
    others = sum(len(roles.get(k) or []) for k in ("numeric", "boolean", "categorical", "datetime"))
    return others >= 3


def media_uncovered(task: dict[str, Any]) -> str | None:
    """Why a media task is outside what the generated solutions read (None: it is covered)."""
    u = task.get("understanding") or {}
    pattern = str(u.get("id_pattern") or "")
    if modality_of(task) == "audio" and u.get("id_source") == "composite" and "100" not in pattern:
        return (f"its submission ids are composite ({pattern or 'several parts per id'}); the audio rules read "
                "one row per recording, or item * 100 + class (mlsp-2013-birds)")
    return None


def space_of(task: dict[str, Any]) -> str:
    """The recipe space of a task: a media space, or the task's own type for tables."""
    modality = modality_of(task)
    if modality is not None:
        return SPACES[modality]
    return str(task.get("task_type"))


@dataclass(frozen=True)
class MediaSpec:
    """What a generated media solution is told about the competition; ``None`` = find it at run time."""

    modality: str  # image | mixed | audio | text | image_to_image | seq2seq
    metric: str  # the canonical metric (gome_es.solutions.render.canonical_metric)
    sample_submission: str | None = None  # relative to the public folder
    id_column: str | None = None
    prediction_columns: list[str] = field(default_factory=list)
    submission_kind: str | None = None  # labels | probability | class_probabilities | values
    train_table: str | None = None  # the table of training rows (ids, targets, metadata)
    test_table: str | None = None
    label_column: str | None = None  # class_probabilities: the column whose values are the classes
    media_column: str | None = None  # the table column naming each row's file (default: the id)
    label_pattern: str | None = None  # a regex whose group 1 is the label in a training file's name
    text_columns: list[str] = field(default_factory=list)
    input_column: str | None = None  # seq2seq: the input token column
    language: str | None = None  # seq2seq: "en" gets English number rules for unseen tokens
    clean_folder: str | None = None  # image_to_image: the folder or zip of target images
    max_train_rows: int | None = None
    id_source: str | None = None  # composite: ids made of parts (audio: item * 100 + class)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _table(name: Any) -> str | None:
    return str(name) if isinstance(name, str) and name.lower().endswith(_TABLE_SUFFIXES) else None


def spec_from_task(task: dict[str, Any], metric: str) -> MediaSpec:
    """The spec of a task dict (``RunStarted.task``): what its understanding says, and no guesses."""
    u = task.get("understanding") or {}
    modality = modality_of(task) or "image"
    kind = u.get("submission_kind") or task.get("submission_kind")
    targets = [str(t) for t in u.get("target_columns") or task.get("target_columns") or []]
    preds = [str(c) for c in u.get("prediction_columns") or []]
    train_files = u.get("train_files") or []
    test_files = u.get("test_files") or []
    media: dict[str, Any] = u["media"] if isinstance(u.get("media"), dict) else {}
    label_col = None
    if kind == "class_probabilities" and len(targets) == 1 and targets[0] not in preds:
        label_col = targets[0]
    text_cols = [str(c) for c in (u.get("roles") or {}).get("text") or []] if modality == "text" else []
    ident = str(task.get("id", "")).lower()
    language = "ru" if "russian" in ident or ident.endswith("-ru") else "en"
    return MediaSpec(
        modality=modality, metric=metric, sample_submission=u.get("sample_submission"),
        id_column=u.get("id_column") or None, prediction_columns=preds, submission_kind=kind,
        train_table=_table(train_files[0]) if train_files else None,
        test_table=_table(test_files[0]) if test_files else None,
        label_column=label_col, media_column=media.get("id_column") or media.get("column"),
        label_pattern=media.get("label_pattern"), text_columns=text_cols, language=language,
        clean_folder=media.get("target_folder") or media.get("clean_folder"), id_source=u.get("id_source"),
    )


def render(task: dict[str, Any], recipe: dict[str, Any], metric: str, header: str) -> str:
    """The solution file: ``header`` (the recipe line and docstring), constants, the runtime, main."""
    spec = spec_from_task(task, metric)
    constants = (
        f"RECIPE = json.loads({canonical_json(recipe)!r})\n"
        f"SPEC = json.loads({json.dumps(spec.as_dict(), sort_keys=True)!r})\n"
    )
    body = RUNTIME.split('"""', 2)[2]  # the runtime without its module docstring
    return header + "import json\n\n" + constants + body + '\n\nif __name__ == "__main__":\n    main()\n'
