"""Benchmark sweeps: tasks x variants x seeds, each cell its own gome run, recorded as events.

Library entry points (the CLI is ``gome sweep``): :func:`plan_sweep` appends a
sweep's plan, :func:`drive_sweep` runs it to its end or goes on with it after a
kill (locally in subprocesses, or on Ray), :func:`load_sweep` folds its log,
and :mod:`.report` aggregates it the way MLE-bench and the paper do.
"""

from __future__ import annotations

from pathlib import Path

from ..tasks.bundle import bundled_archives
from .driver import drive_sweep, grade_summary, load_sweep, plan_sweep
from .plan import VARIANTS, Cell, SweepError, parse_task_lines

__all__ = ["VARIANTS", "Cell", "SweepError", "drive_sweep", "grade_summary", "load_sweep", "plan_sweep",
           "resolve_tasks"]


def resolve_tasks(text: str, mlebench_data: str | None = None) -> list[str]:
    """``--tasks``: ``local`` (every bundled task), a file of ids, or comma-separated ids."""
    known = set(bundled_archives())
    if text.strip() == "local":
        return sorted(known)
    path = Path(text)
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepError(f"cannot read the task file {path} ({exc})") from None
        ids = parse_task_lines(lines, known, bool(mlebench_data))
        if not ids:
            raise SweepError(f"task file {path} names no task (one id a line; # starts a comment)")
    else:
        ids = parse_task_lines(text.split(","), known, bool(mlebench_data))
    for tid in ids:
        if tid.startswith("mlebench:"):
            if not mlebench_data:
                raise SweepError(f"task {tid} is an MLE-bench competition: pass --mlebench-data DIR "
                                 "(the folder `mlebench prepare` filled)")
        elif tid not in known:
            raise SweepError(f"unknown task {tid!r}; `gome tasks list` shows the bundled ones "
                             f"({', '.join(sorted(known))}); MLE-bench ones are mlebench:<id>")
    if not ids:
        raise SweepError("--tasks names no task")
    return ids
