"""Chat prompts for LLM reasoners, built from the same structured context the
offline reasoner reads.  Prompts are data: one system text per purpose, the
context as JSON, and the output schema.  Pure module.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .canonical import fast_canonical_json, json_string
from .schemas import PURPOSE_SCHEMA, SCHEMAS
from .vocabulary import dimensions_in_words

SOLUTION_CONTRACT = """\
The solution is one Python file run in a fresh process with no network. Read the task's public
data from the directory in the environment variable GOME_DATA_DIR (train.csv, test.csv,
sample_submission.csv, description.md). Hold out part of train.csv for validation. Write, into the
current directory: submission.csv (same ids and columns as sample_submission.csv) and metrics.json
with {"val_score": <the task metric on your hold-out split>}. You may import numpy, pandas,
scikit-learn and torch (GOME_DEVICE says "cuda" or "cpu"). Never try to read test answers."""

KIND_TEXT = {
    "labels": "one predicted label per row, spelled as in the training data",
    "probability": "one probability in [0, 1] per row (of the positive class / each target column)",
    "class_probabilities": "one probability column per class; each row sums to 1",
    "values": "one predicted number per row and target column",
    "multilabel_probabilities": "one probability in [0, 1] per row and column, each column its own yes/no "
                                "target scored on its own (rows need not sum to 1)",
    "pixels": "one grey level in [0, 1] per pixel id",
    "strings": "one output string per row (the normalised text of that token)",
}

# What a solution for each modality has to do beyond the common contract (runs that record an
# understanding with a ``modality``; older runs keep the text they were prompted with).
MODALITY_CONTRACT = {
    "table": "The inputs are the tables' columns; columns only the training data has are not features.",
    "text": "The input is free text in the tables (TF-IDF with a linear model is a strong, fast baseline); "
            "the id may be the text itself and need not be the submission's first column.",
    "image": "The inputs are image files (listed under media): decode them with Pillow or torchvision; "
             "read zips with the zipfile module without extracting them all to disk; stream images in "
             "batches instead of loading the whole set into memory; a small CNN trained from scratch, or "
             "downsampled pixels / colour histograms with gradient boosting, fits a CPU budget.",
    "image_to_image": "Each test image is an input and the answer is an image of the same size: the "
                      "submission holds one row per pixel, id {image}_{row}_{col} (image = file name "
                      "without extension, row and col counted from 1) and the grey level in [0, 1]. "
                      "Training pairs are the files of the training folder and the files of the same "
                      "name in the target folder.",
    "audio": "The inputs are audio clips (listed under media): read .wav with scipy.io.wavfile or the wave "
             "module, .aif/.aiff with the aifc-compatible readers or soundfile if importable; compute "
             "spectrogram features (scipy.signal) and fit gradient boosting or a small CNN on them.",
    "seq2seq": "Each test row is one token of a sentence; predict its output string. Mapping each training "
               "input token to its most frequent output, with rules for unseen tokens, is a strong baseline.",
}


ID_SOURCE_TEXT = {"test_table": "the test table", "media": "the test files' names",
                  "composite": "parts (see above)", "sample": "the sample submission only"}


def _media_line(m: dict[str, Any]) -> str:
    where = (f"{m.get('path')}/" if m.get("container") == "folder"
             else f"{m.get('path')} (zip; members under {m.get('prefix') or 'its top level'})")
    how = {"stem": "file name without extension", "name": "whole file name"}.get(m.get("id_from") or "")
    maps = f"; a file's {how} is the value of column {m.get('id_column')!r}" if how else ""
    label = (f"; the label is spelled in the file name (regular expression {m.get('label_from_name')!r} "
             "on the name without extension)") if m.get("label_from_name") else ""
    if m.get("label_from_folder"):
        label = "; one subfolder per class: the label is the name of the folder holding the file"
    if m.get("index_file"):
        maps = f"; listed in {m['index_file']} (column {m.get('index_column')!r} names each file)"
    return (f"- {m.get('role')} {m.get('kind')}: {where}, {m.get('count')} {m.get('extension')} files, "
            f"e.g. {', '.join(m.get('examples') or [])}{maps}{label}")


def _modality_lines(u: dict[str, Any]) -> list[str]:
    modality = u.get("modality")
    lines = [f"Modality: {modality}" + (f" (with {', '.join(m for m in u.get('modalities', []) if m != modality)})"
                                        if len(u.get("modalities") or []) > 1 else "")
             + f"; target: {u.get('target_kind')}. {MODALITY_CONTRACT.get(modality or '', '')}"]
    if u.get("media"):
        lines.append("Media files (listed, not extracted):")
        lines += [_media_line(m) for m in u["media"]]
    if u.get("other_files"):
        lines.append("Small text files in subfolders:")
        lines += [_file_line(f) for f in u["other_files"]]
    if u.get("id_pattern"):
        lines.append(f"The submission's ids are built as {u['id_pattern']}.")
    if u.get("passthrough_columns"):
        lines.append(f"Copy the column(s) {u['passthrough_columns']} unchanged from the test rows.")
    if u.get("confidence") == "low":
        lines.append("gome is unsure of this reading of the files (" + "; ".join(u.get("unsure") or [])
                     + "): check it against the listing, the description and the sample submission.")
    return lines


def _file_line(entry: dict[str, Any]) -> str:
    if "more" in entry:
        return f"- ... and {entry['more']} more files"
    if entry.get("name", "").endswith("/"):
        exts = entry.get("extensions")  # recorded since modalities; older runs keep their text
        return (f"- {entry['name']} ({entry.get('files', 0)} files, {entry.get('bytes', 0)} bytes; "
                f"e.g. {entry.get('example')}"
                + (f"; by extension {', '.join(f'{k or chr(34) * 2}: {v}' for k, v in exts.items())}" if exts else "")
                + ")")
    line = f"- {entry['name']} ({entry.get('bytes', 0)} bytes)"
    if "zip_members" in entry:
        line += (f"; a zip of {entry['zip_members']} files, e.g. {', '.join(entry.get('zip_examples') or [])}")
    head = entry.get("head") or []
    if head:
        line += "; first lines:\n" + "\n".join("    " + h for h in head)
    return line


def solution_contract(task: dict[str, Any]) -> str:
    """The contract for this task: the legacy text, or (MLE-bench competitions) one built from
    the listing of the public folder, the inferred files and columns and the sample submission."""
    files = task.get("public_files")
    weights = weights_line(task.get("weights"))
    if not files:
        # recorded runs replay with the text they were prompted with (a run without weights adds nothing)
        return SOLUTION_CONTRACT + ("\n" + weights if weights else "")
    u = task.get("understanding") or {}
    dtypes = u.get("submission_dtypes") or {}
    header = ", ".join(f"{c} ({t})" for c, t in dtypes.items())
    if u.get("modality"):
        return _contract_with_modality(task, u, header) + ("\n" + weights if weights else "")
    lines = [
        "The solution is one Python file run in a fresh process with no network. The task's public "
        "data is in the directory named by the environment variable GOME_DATA_DIR, which holds:",
        *(_file_line(e) for e in files),
        f"Inferred from these files (the task context has the details and any user overrides): training "
        f"rows in {', '.join(u.get('train_files', []))}; test rows in {', '.join(u.get('test_files', []))}; "
        f"id column {u.get('id_column')!r}; target column(s) {u.get('target_columns')}; columns only the "
        f"training data has are not features: {u.get('ignored_train_only_columns') or 'none'}.",
        f"Write, into the current directory: submission.csv with exactly the columns, row count and ids "
        f"of {u.get('sample_submission')} (columns and dtypes: {header}); it holds "
        f"{KIND_TEXT.get(u.get('submission_kind') or '', 'the predictions')}; and metrics.json with "
        '{"val_score": <the task metric (' + str(task.get("metric")) + ") on your hold-out split>}.",
        "The full task description is the task context's `description`. You may import numpy, pandas, "
        'scikit-learn and torch (GOME_DEVICE says "cuda" or "cpu"). Never try to read test answers.',
    ]
    if weights:
        lines.append(weights)
    return "\n".join(lines)


WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".npz", ".h5", ".onnx")


def weights_line(weights: dict[str, Any] | None) -> str:
    """What a solution contract says about the run's weights folder ('' when it has none)."""
    if not weights or not weights.get("files"):
        return ""
    shown = [f"{f['path']} ({f['bytes']} bytes)" for f in weights["files"]
             if str(f.get("path", "")).lower().endswith(WEIGHT_SUFFIXES)][:30]
    more = len(weights["files"]) - len(shown)
    return ("Pretrained weights (read-only; there is no network) are in the directory named by the environment "
            f"variable GOME_WEIGHTS_DIR: {', '.join(shown) or 'no weight files'}"
            + (f" and {more} other file(s)" if more > 0 else "")
            + ". Load them with torch.load(path, weights_only=True).")


def _contract_with_modality(task: dict[str, Any], u: dict[str, Any], header: str) -> str:
    def listed(key: str) -> str:
        return ", ".join(u.get(key) or []) or "none"

    id_where = (f"column {u.get('id_column')!r} (column {int(u.get('id_position') or 0) + 1} of the sample's "
                "header, whose order a submission keeps)")
    lines = [
        "The solution is one Python file run in a fresh process with no network. The task's public "
        "data is in the directory named by the environment variable GOME_DATA_DIR, which holds:",
        *(_file_line(e) for e in task.get("public_files") or []),
        *_modality_lines(u),
        f"Inferred from these files (the task context has the details and any user overrides): training "
        f"table(s) {listed('train_files')}; test table(s) {listed('test_files')}; the id is {id_where}, "
        f"the test ids come from {ID_SOURCE_TEXT.get(u.get('id_source') or '', u.get('id_source'))}; target column(s) {u.get('target_columns') or 'none'}; "
        f"columns to predict {u.get('prediction_columns')}; columns only the training data has are not "
        f"features: {u.get('ignored_train_only_columns') or 'none'}.",
        f"Write, into the current directory: submission.csv with exactly the columns, row count and ids "
        f"of {u.get('sample_submission')} (columns and dtypes: {header}); it holds "
        f"{KIND_TEXT.get(u.get('submission_kind') or '', 'the predictions')}; and metrics.json with "
        '{"val_score": <the task metric (' + str(task.get("metric")) + ") on your hold-out split>}.",
        "The full task description is the task context's `description`. You may import numpy, pandas, "
        'scikit-learn, scipy, Pillow, torch and torchvision when installed (GOME_DEVICE says "cuda" or '
        '"cpu"). Never try to read test answers.',
    ]
    return "\n".join(lines)


SYSTEM = {
    "directions": "You are an expert Kaggle grandmaster planning parallel, diverse attempts at a "
    "machine-learning task. Propose {n} clearly different starting directions (model families, "
    "feature approaches); put a concrete recipe for each in `change`.",
    "propose": "You improve a machine-learning solution by structured reasoning. First diagnose the "
    "problems the feedback shows (underfitting, overfitting, failure, leakage, too slow...) with "
    "evidence. Then propose {n_candidates} distinct candidate hypotheses, each a concrete change to "
    "the parent solution, and score each from 1 to 10 on " + dimensions_in_words() + ". "
    "Use the success memory (changes that helped other traces) and avoid hypotheses "
    "already in flight in other traces or already tried in history.",
    "code": "You write a complete, runnable Python solution file implementing the hypothesis on top "
    "of the parent solution.\n" + SOLUTION_CONTRACT,
    "debug": "The solution below failed. Fix it and return the complete corrected file.\n" + SOLUTION_CONTRACT,
    "select": "Choose the one solution to submit, using only the validation evidence given.",
}


@functools.lru_cache(maxsize=None)
def _schema_text(purpose: str) -> str:
    return json.dumps(SCHEMAS[PURPOSE_SCHEMA[purpose]].model_json_schema(), sort_keys=True)


def messages_for(purpose: str, context: dict[str, Any], context_text: str | None = None) -> list[dict[str, str]]:
    """The chat messages for one request; ``context_text`` is the context's canonical JSON if known."""
    system = SYSTEM[purpose]
    raw_task = context.get("task")
    task: dict[str, Any] = raw_task if isinstance(raw_task, dict) else {}
    if purpose in ("code", "debug") and task.get("public_files"):
        system = system.replace(SOLUTION_CONTRACT, solution_contract(task))
    for name in ("n", "n_candidates"):  # not str.format: the contract text holds JSON braces
        system = system.replace("{" + name + "}", str(context.get(name, "")))
    system += (
        "\n\nAnswer with a single JSON object that validates against this JSON schema, and nothing "
        "else:\n" + _schema_text(purpose)
    )
    if context_text is None:
        context_text = fast_canonical_json(context)
    user = "Context (JSON):\n" + context_text
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def messages_json(messages: list[dict[str, str]]) -> str:
    """The canonical JSON of chat messages (role and content strings only).

    Written directly, the same text ``canonical_json(messages)`` gives: the
    context inside the user message is escaped once, by orjson, instead of
    being walked again as part of a larger value.
    """
    parts = []
    for m in messages:
        if m.keys() != {"role", "content"}:
            raise ValueError(f"a chat message holds exactly role and content, not {sorted(m)}")
        parts.append('{"content":' + json_string(m["content"]) + ',"role":' + json_string(m["role"]) + "}")
    return "[" + ",".join(parts) + "]"
