"""What gome needs to know about an MLE-bench competition, read without importing mlebench.

MLE-bench keeps each competition's facts in its checkout
(``mlebench/competitions/<id>/config.yaml`` and ``leaderboard.csv``) and the
prepared data in a data dir (``DIR/<id>/prepared/{public,private}``).  gome reads
the facts from, in order:

1. ``DIR/<id>/config.yaml`` and ``DIR/<id>/leaderboard.csv`` next to ``prepared/``
   (what ``tests/fixtures/mlebench/make_competitions.py`` writes; copy them there
   to run without mle-bench installed);
2. ``$GOME_MLEBENCH_REPO/mlebench/competitions/<id>/`` (a plain mle-bench checkout);
3. the installed ``mlebench`` package's ``competitions/<id>/``, found with
   ``importlib.util.find_spec`` and read as files (importing mlebench switches on
   root INFO logging, so it is imported only to grade).

A Git LFS pointer where a file should be (a clone without ``git lfs``) is named
as such, with the fix.  Nothing here reads ``private/`` except ``answers_path``'s
existence check before a run.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gome_es.tasks.mlebench_graders import RECIPES, spec_for
from gome_es.tasks.model import TaskDataMissing

LFS_MAGIC = b"version https://git-lfs.github.com/spec/"
LFS_FIX = "run `git lfs pull` in the mle-bench checkout (or install git-lfs and clone again)"

# MLE-bench grader names -> gome's own metric (gome_es.tasks.metrics.METRICS).  Graders
# not listed are graded by the installed mlebench package only.
GRADERS: dict[str, str] = {
    "accuracy": "accuracy",
    "multi-class-classification-accuracy": "accuracy",
    "auc-roc": "auc_roc",
    "mean-column-wise-roc-auc": "mean_columnwise_auc",
    "column-wise ROC AUC": "mean_columnwise_auc",  # jigsaw-toxic-comment-classification-challenge
    "auroc-multi-label": "mean_columnwise_auc",
    "mean-column-wise-rmsle": "mean_columnwise_rmsle",
    "root-mean-squared-error": "rmse",
    "root_mean_squared_error": "rmse",
    "mean-absolute-error": "mae",
    "multi-class-log-loss": "multiclass_log_loss",
    "log-loss": "log_loss",
    "macro-f1-score": "macro_f1",
    "quadratic-weighted-kappa": "quadratic_weighted_kappa",
}


def is_lfs_pointer(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(LFS_MAGIC)) == LFS_MAGIC
    except OSError:
        return False


def read_config_yaml(path: Path) -> dict[str, Any]:
    """The nested mappings of an MLE-bench ``config.yaml`` (scalars only; lists are skipped).

    The files are small and regular (two-space indents, ``key: value``); PyYAML is
    not a dependency of gome, so this reads exactly that shape.
    """
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        while stack and indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip().strip("'\"")
        if value == "":
            child: dict[str, Any] = {}
            parent[key.strip()] = child
            stack.append((indent, child))
        else:
            parent[key.strip()] = None if value in ("null", "~") else value
    return root


@dataclass(frozen=True)
class CompetitionFacts:
    id: str
    name: str
    grader: str
    answers: Path
    sample_submission: Path
    leaderboard: Path
    config_path: Path
    source: str  # "data dir", "GOME_MLEBENCH_REPO", "installed mlebench"

    @property
    def metric(self) -> str | None:
        """gome's metric: the one of the competition's grade.py where gome knows it exactly
        (gome_es.tasks.mlebench_graders), else the usual meaning of the grader's name."""
        spec = spec_for(self.id, self.grader)
        if spec is not None:
            return RECIPES[spec.recipe].metric
        return GRADERS.get(self.grader)


def _installed_competitions_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("mlebench")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "competitions"


def fact_dirs(competition_id: str, data_dir: Path) -> list[tuple[str, Path]]:
    dirs = [("data dir", Path(data_dir) / competition_id)]
    repo = os.environ.get("GOME_MLEBENCH_REPO")
    if repo:
        dirs.append(("GOME_MLEBENCH_REPO", Path(repo) / "mlebench" / "competitions" / competition_id))
    installed = _installed_competitions_dir()
    if installed is not None:
        dirs.append(("installed mlebench", installed / competition_id))
    return dirs


def find_facts(competition_id: str, data_dir: Path) -> CompetitionFacts | None:
    """The competition's facts, or None when no config.yaml for it is found anywhere."""
    for source, folder in fact_dirs(competition_id, data_dir):
        config = folder / "config.yaml"
        if not config.is_file():
            continue
        if is_lfs_pointer(config):
            raise TaskDataMissing(f"{config} is a Git LFS pointer, not the competition config; {LFS_FIX}")
        try:
            cfg = read_config_yaml(config)
            dataset = cfg.get("dataset") or {}
            grader = (cfg.get("grader") or {}).get("name")
            answers, sample = dataset.get("answers"), dataset.get("sample_submission")
        except (OSError, UnicodeDecodeError, AttributeError) as exc:
            raise TaskDataMissing(f"cannot read the competition config {config}: {exc}") from exc
        if not grader or not answers or not sample:
            raise TaskDataMissing(
                f"the competition config {config} lacks grader.name, dataset.answers or "
                "dataset.sample_submission; compare it with mle-bench's config.yaml for this competition"
            )
        return CompetitionFacts(
            id=str(cfg.get("id") or competition_id), name=str(cfg.get("name") or competition_id),
            grader=str(grader), answers=Path(data_dir) / answers, sample_submission=Path(data_dir) / sample,
            leaderboard=folder / "leaderboard.csv", config_path=config, source=source,
        )
    return None


def leaderboard_scores(path: Path) -> list[float]:
    """The leaderboard's scores in rank order; TaskDataMissing naming the file and the fix."""
    if not path.is_file():
        raise TaskDataMissing(
            f"the leaderboard {path} does not exist; grading needs it (medals and the metric's "
            "direction); copy mle-bench's leaderboard.csv for this competition there"
        )
    if is_lfs_pointer(path):
        raise TaskDataMissing(f"the leaderboard {path} is a Git LFS pointer, not the leaderboard; {LFS_FIX}")
    try:
        scores: list[float] = pd.read_csv(path)["score"].astype(float).tolist()
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise TaskDataMissing(f"cannot read the leaderboard {path}: {exc}") from exc
    if not scores:
        raise TaskDataMissing(f"the leaderboard {path} has no scores")
    return scores


def lower_is_better_from(scores: list[float]) -> bool:
    # MLE-bench's rule (Grader.is_lower_better): the top entry beats the bottom one.
    return bool(scores[0] < scores[-1])
