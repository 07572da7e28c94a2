"""Finding tasks by id: the bundled ones and ``mlebench:<competition-id>``.

A bundled id resolves to its extracted archive (see ``bundle``).  An
``mlebench:`` id resolves against a directory that ``mlebench prepare`` filled,
laid out as ``DIR/<competition-id>/prepared/public`` and ``.../prepared/private``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from gome_es.errors import GomeError, TaskError
from gome_es.tasks import bundle
from gome_es.tasks.fingerprint import fingerprint
from gome_es.tasks.metrics import METRICS
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


def mlebench_competition(competition_id: str, data_dir: Path) -> Any:
    """mlebench's Competition object, or MlebenchUnavailable saying what to install."""
    try:
        # lazy: mlebench is an optional install
        from mlebench.registry import registry
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


DESCRIPTION_READ = 200_000  # characters of description.md read to infer the modality


def _description(public: Path) -> str:
    path = public / "description.md"
    if path.is_symlink() or not path.is_file():
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(DESCRIPTION_READ)
    except OSError:
        return ""


def mlebench_importable() -> bool:
    try:
        return importlib.util.find_spec("mlebench") is not None
    except (ImportError, ValueError):
        return False


def _load_mlebench(competition_id: str, data_dir: Path | None, overrides: dict[str, Any] | None = None) -> Task:
    # lazy: keeps gome <cmd> --help light (MLE-bench facts load only for an MLE-bench task)
    from gome_es.tasks import infer
    from gome_es.tasks.mlebench_facts import (
        fact_dirs,
        find_facts,
        is_lfs_pointer,
        leaderboard_scores,
        lower_is_better_from,
    )

    overrides = dict(overrides or {})
    if data_dir is None:
        raise MlebenchUnavailable(
            f"task mlebench:{competition_id} needs --mlebench-data DIR (or GOME_MLEBENCH_DATA), the "
            f"directory `mlebench prepare` filled; {MLEBENCH_HOWTO}"
        )
    data_dir = Path(data_dir).resolve()
    prepared = data_dir / competition_id / "prepared"
    public, private = prepared / "public", prepared / "private"
    if not public.is_dir() or not private.is_dir():
        raise TaskDataMissing(
            f"no prepared data for mlebench:{competition_id} under {prepared} "
            f"(expected public/ and private/ there); run "
            f"`mlebench prepare -c {competition_id} --data-dir {data_dir}`"
        )
    facts = find_facts(competition_id, data_dir)
    if facts is None:
        looked = ", ".join(str(d / "config.yaml") for _, d in fact_dirs(competition_id, data_dir))
        raise TaskDataMissing(
            f"no config.yaml for mlebench:{competition_id} (looked at {looked}); install mlebench "
            f"(`pip install -e` your mle-bench checkout), set GOME_MLEBENCH_REPO to the checkout, or "
            f"copy mlebench/competitions/{competition_id}/config.yaml and leaderboard.csv to "
            f"{data_dir / competition_id}/"
        )
    sample = facts.sample_submission if facts.sample_submission.is_file() else _find_sample_submission(public)
    if not sample.is_file():
        raise TaskDataMissing(f"the sample submission {facts.sample_submission} does not exist; "
                              f"prepare the data again with `mlebench prepare -c {competition_id}`")
    metric = overrides.get("metric") or facts.metric or facts.grader
    problems: list[str] = []
    try:
        lower = lower_is_better_from(leaderboard_scores(facts.leaderboard))
        direction_source = f"leaderboard {facts.leaderboard}"
    except TaskDataMissing as exc:
        problems.append(str(exc))
        if metric not in METRICS:
            raise TaskDataMissing(
                f"the direction of grader {facts.grader!r} (better = higher or lower) is unknown without "
                f"a readable leaderboard, and gome does not guess it: {exc}"
            ) from exc
        lower = METRICS[metric].lower_is_better
        direction_source = f"metric {metric} (the leaderboard is unreadable)"
    if not facts.answers.is_file():
        problems.append(f"the answers file {facts.answers} does not exist; "
                        f"run `mlebench prepare -c {competition_id} --data-dir {data_dir}`")
    elif is_lfs_pointer(facts.answers):
        problems.append(f"the answers file {facts.answers} is a Git LFS pointer; run `git lfs pull`")
    if metric not in METRICS and not mlebench_importable():
        problems.append(f"gome's own grader does not implement {facts.grader!r} and the mlebench "
                        f"package is not importable; {MLEBENCH_HOWTO}")
    target = overrides.get("target")
    understanding = infer.understand(
        public, sample, metric if metric in METRICS else None,
        target=[target] if isinstance(target, str) else target,
        id_column=overrides.get("id_column"), task_type=overrides.get("task_type"),
        description=_description(public), grader=facts.grader,
    )
    understanding["grader"] = facts.grader
    understanding["facts_from"] = f"{facts.source}: {facts.config_path}"
    return Task(
        id=f"{MLEBENCH_PREFIX}{competition_id}", title=facts.name, source="mlebench",
        task_type=understanding["task_type"], metric=metric, lower_is_better=lower,
        id_column=understanding["id_column"], target_columns=understanding["target_columns"],
        submission_columns=understanding["submission_columns"],
        prediction_columns=understanding["prediction_columns"], modality=understanding["modality"],
        labels=understanding.get("classes"),
        root=prepared, public_dir=public, private_dir=private,
        description_path=public / "description.md", sample_submission_path=sample,
        leaderboard_path=facts.leaderboard, license="see the competition's rules on Kaggle",
        provenance=f"MLE-bench competition {competition_id}, prepared by `mlebench prepare`",
        fingerprint=fingerprint(public), grader=facts.grader, answers_file=facts.answers,
        submission_kind=understanding["submission_kind"], understanding=understanding,
        mlebench_data=data_dir, direction_source=direction_source, grading_problems=problems,
    )


def list_mlebench(data_dir: Path) -> list[TaskInfo]:
    """The prepared competitions under a data dir (``DIR/<id>/prepared/public``)."""
    infos = []
    root = Path(data_dir)
    if not root.is_dir():
        raise TaskDataMissing(f"the MLE-bench data dir {root} does not exist")
    for folder in sorted(p for p in root.iterdir() if (p / "prepared" / "public").is_dir()):
        try:
            task = _load_mlebench(folder.name, root)
        except GomeError as exc:
            infos.append(TaskInfo(id=f"{MLEBENCH_PREFIX}{folder.name}", title=f"unusable: {exc}"[:300],
                                  task_type="other", metric="?", lower_is_better=False, source="mlebench"))
            continue
        infos.append(task.info())
    return infos


def load_task(task_id: str, *, mlebench_data: Path | None = None, overrides: dict[str, Any] | None = None) -> Task:
    """A task by id; ``overrides`` (task_type, target, id_column, metric) correct what an
    ``mlebench:`` task's inference found."""
    if task_id.startswith(MLEBENCH_PREFIX):
        return _load_mlebench(task_id[len(MLEBENCH_PREFIX):], mlebench_data, overrides)
    if overrides:
        raise TaskError(
            f"--task-type, --target and --id-column correct what gome inferred about an mlebench: "
            f"task; the bundled task {task_id!r} states them in its task.json"
        )
    return _load_bundled(task_id)


def task_for_run(task_id: str, recorded: dict[str, Any] | None, mlebench_data: Path | None = None) -> Task:
    """The task a recorded run ran on: its data dir and overrides come from ``RunStarted.task``.

    ``mlebench_data`` (an option given now) wins over the recorded data dir, for data moved
    since; the overrides (``--task-type``, ``--target``, ``--id-column``) always come from the log.
    """
    recorded = recorded or {}
    data = mlebench_data or recorded.get("mlebench_data")
    overrides = (recorded.get("understanding") or {}).get("overrides")
    try:
        return load_task(task_id, mlebench_data=Path(data) if data else None, overrides=overrides or None)
    except TaskDataMissing as exc:
        if mlebench_data is None and recorded.get("mlebench_data"):
            raise TaskDataMissing(f"{exc} (the data dir recorded when the run started; if the data moved, "
                                  "pass --mlebench-data NEW_DIR or set GOME_MLEBENCH_DATA)") from exc
        raise
