"""How a run is driven on this machine: what :func:`gome_es.driver.driver.drive` and
:func:`gome_es.driver.resume.prepare_resume` are given beside the log (never recorded as a decision input)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.state import RunState
from ..trust.folders import gome_home


def default_home() -> Path:
    """gome's own folder (:func:`gome_es.trust.folders.gome_home`): ``$GOME_HOME``, else ``~/.cache/gome-es``."""
    return gome_home()


@dataclass
class DriveOptions:
    """Where a run's executions work and how many effects run at once; stops, grading, snapshots."""

    workspace_root: Path = field(default_factory=lambda: default_home() / "work")
    slots: int = 2  # concurrent executions (lockstep: concurrent side effects of any kind)
    llm_concurrency: int = 4  # concurrent LLM calls under the async schedule
    threads_per_exec: int = 1
    memory_limit_mb: int | None = None
    progress: Callable[[RunState], None] | None = None
    count_downtime: bool = False
    force: bool = False
    grade: bool = True
    snapshot_every: int = 1000  # save a fold snapshot every N events (0: never)
    # this many LLM calls failing in a row (after the reasoner's own retries) stop the run with
    # RunStopped(cause="llm_unavailable"); `gome resume` continues once the endpoint is back
    # (cause "offline_rules" when the offline reasoner's rules are what failed)
    max_llm_failures: int = 3
