"""Finding tasks by id: the bundled ones and ``mlebench:<competition-id>``.

A bundled id resolves to its extracted archive (see ``bundle``).  An
``mlebench:`` id resolves against a directory that ``mlebench prepare`` filled,
laid out as ``DIR/<competition-id>/prepared/public`` and ``.../prepared/private``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from gome_es.tasks import bundle
from gome_es.tasks.model import (
    MlebenchUnavailable,
    Task,
    TaskConfig,
    TaskDataMissing,
    TaskInfo,
    TaskNotFound,
)

MLEBENCH_PREFIX = "mlebench:"
MLEBENCH_HOWTO = (
    "install it with `pip install git+https://github.com/openai/mle-bench` "
    "and prepare the data with `mlebench prepare -c <competition-id> --data-dir DIR`"
)


def fingerprint(public_dir: Path) -> str:
    """sha256 over every public file's relative path and content, in path order."""
    outer = hashlib.sha256()
    for path in sorted(p for p in public_dir.rglob("*") if p.is_file()):
        inner = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                inner.update(chunk)
        outer.update(f"{path.relative_to(public_dir).as_posix()}\0{inner.hexdigest()}\n".encode())
    return outer.hexdigest()


def list_tasks() -> list[TaskInfo]:
    """The bundled tasks (``mlebench:`` tasks are open-ended and not listed)."""
    infos = []
    for task_id, archive in bundle.bundled_archives().items():
        cfg = bundle.read_config(archive)
        infos.append(
            TaskInfo(
                id=cfg.id, title=cfg.title, task_type=cfg.task_type, metric=cfg.metric,
                lower_is_better=cfg.lower_is_better, source="bundled",
            )
        )
    return infos


def task_from_dir(root: Path) -> Task:
    """A task from a directory holding task.json, public/, private/ and leaderboard.csv."""
    try:
        cfg = TaskConfig.model_validate(json.loads((root / "task.json").read_text()))
    except (OSError, ValueError) as exc:
        raise TaskDataMissing(f"task directory {root} has no valid task.json ({exc})") from exc
    public = root / "public"
    return Task(
        id=cfg.id, title=cfg.title, source="bundled", task_type=cfg.task_type, metric=cfg.metric,
        lower_is_better=cfg.lower_is_better, id_column=cfg.id_column,
        target_columns=cfg.target_columns, submission_columns=cfg.submission_columns,
        labels=cfg.labels, root=root, public_dir=public, private_dir=root / "private",
        description_path=public / "description.md",
        sample_submission_path=public / "sample_submission.csv",
        leaderboard_path=root / "leaderboard.csv", license=cfg.license,
        provenance=cfg.provenance, fingerprint=fingerprint(public),
    )


def _load_bundled(task_id: str) -> Task:
    archives = bundle.bundled_archives()
    if task_id not in archives:
        known = ", ".join(archives) or "(none installed)"
        raise TaskNotFound(
            f"no task {task_id!r}; bundled tasks are: {known}; "
            f"for MLE-bench data use 'mlebench:<competition-id>' with --mlebench-data DIR"
        )
    task_dir = bundle.extracted_dir(task_id, archives[task_id])
    # The answers live apart from the task's folder (see bundle), hash-checked.
    answers = bundle.extracted_answers(task_id, task_dir)
    return task_from_dir(task_dir).model_copy(update={"private_dir": answers})


def mlebench_competition(competition_id: str, data_dir: Path):
    """mlebench's Competition object, or MlebenchUnavailable saying what to install."""
    try:
        from mlebench.registry import registry  # type: ignore[import-not-found]
    except ImportError as exc:
        raise MlebenchUnavailable(
            f"grading mlebench:{competition_id} needs the `mlebench` package, which is not importable "
            f"({exc}); {MLEBENCH_HOWTO}"
        ) from exc
    try:
        return registry.set_data_dir(Path(data_dir)).get_competition(competition_id)
    except Exception as exc:  # mlebench raises assorted errors for unknown ids
        raise TaskNotFound(
            f"mlebench does not know competition {competition_id!r} ({exc}); "
            "check the id with `mlebench` and your data dir"
        ) from exc


def _find_sample_submission(public: Path) -> Path:
    direct = public / "sample_submission.csv"
    if direct.is_file():
        return direct
    candidates = sorted(public.glob("*ample*ubmission*.csv"))
    return candidates[0] if candidates else direct


def _load_mlebench(competition_id: str, data_dir: Path | None) -> Task:
    if data_dir is None:
        raise MlebenchUnavailable(
            f"task mlebench:{competition_id} needs --mlebench-data DIR, the directory "
            f"`mlebench prepare` filled; {MLEBENCH_HOWTO}"
        )
    prepared = Path(data_dir) / competition_id / "prepared"
    public, private = prepared / "public", prepared / "private"
    if not public.is_dir() or not private.is_dir():
        raise TaskDataMissing(
            f"no prepared data for mlebench:{competition_id} under {prepared} "
            f"(expected public/ and private/ there); run "
            f"`mlebench prepare -c {competition_id} --data-dir {data_dir}`"
        )
    sample = _find_sample_submission(public)
    try:
        header = list(pd.read_csv(sample, nrows=0).columns)
    except (OSError, ValueError) as exc:
        raise TaskDataMissing(f"cannot read the sample submission {sample}: {exc}") from exc
    metric, lower, leaderboard = "unknown", False, None
    try:
        comp = mlebench_competition(competition_id, Path(data_dir))
        metric = getattr(comp.grader, "name", "unknown")
        leaderboard = Path(comp.leaderboard)
        scores = pd.read_csv(leaderboard)["score"]
        lower = bool(scores.iloc[0] < scores.iloc[-1])
    except (MlebenchUnavailable, TaskNotFound, OSError, KeyError, ValueError):
        # Loading (and validating) still works without mlebench; grading says what is missing.
        pass
    return Task(
        id=f"{MLEBENCH_PREFIX}{competition_id}", title=competition_id, source="mlebench",
        task_type="other", metric=metric, lower_is_better=lower, id_column=header[0],
        target_columns=header[1:], submission_columns=header, labels=None,
        root=prepared, public_dir=public, private_dir=private,
        description_path=public / "description.md", sample_submission_path=sample,
        leaderboard_path=leaderboard, license="see the competition's rules on Kaggle",
        provenance=f"MLE-bench competition {competition_id}, prepared by `mlebench prepare`",
        fingerprint=fingerprint(public),
    )


def load_task(task_id: str, *, mlebench_data: Path | None = None) -> Task:
    if task_id.startswith(MLEBENCH_PREFIX):
        return _load_mlebench(task_id[len(MLEBENCH_PREFIX):], mlebench_data)
    return _load_bundled(task_id)
