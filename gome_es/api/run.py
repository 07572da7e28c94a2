"""``gome.run``: start a run from Python and drive it to its end, as `gome run` does.

The command line is a layer over the same two library calls (``driver.start_run`` appends
``RunStarted``; ``driver.drive`` takes the run's lease and drives it); this is the short way to
make them from a notebook, with the offline reasoner (no network, no key).  For an LLM
reasoner, use `gome run --reasoner openai` (it checks the endpoint and the key before anything
is recorded).  I/O edge: opens (and creates) the database, runs experiments in the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..core.events import ReasonerConfig, RunConfig, estimated_experiment_s
from ..driver.workspaces import workspace_root
from ..errors import GomeError, TaskError

if TYPE_CHECKING:
    from ..tasks import Task


class RunNotStarted(GomeError):
    """The options given to :func:`run_task` cannot make a run; nothing was recorded."""


def ready_to_grade(task: Task) -> None:
    """Before the first event: everything the final grade needs is there and readable (`gome run`
    and :func:`run_task` both refuse, with :class:`~gome_es.errors.TaskError`, a task that is not)."""
    problems = getattr(task, "grading_problems", None) or []
    if problems:
        raise TaskError(f"task {task.id} could not be graded at the end of the run, so it is not started: "
                        + "; ".join(problems))


def run_task(task: str = "breast-cancer-diagnosis", db: Path | str = "gome.db", *, traces: int = 2,
             max_iterations: int = 4, budget_s: float = 600.0, seed: int = 0,
             strategy: str = "gome", run_id: str | None = None,
             workspace: Path | str | None = None, slots: int = 2, mlebench_data: Path | str | None = None) -> str:
    """Run the agent on ``task`` with the offline reasoner, record it in ``db`` and return the run id.

    The defaults are `gome run`'s (2 traces x 4 iterations, a 10-minute budget, seed 0); read the
    run afterwards with ``gome.open(db)``.  Ctrl-C stops it gracefully (`gome resume RUN` continues).
    Raises a :class:`~gome_es.errors.GomeError` (nothing recorded) for an unknown task, a budget in
    which no experiment fits, a run id already used, or a task that could not be graded.
    """
    # lazy: the driver, the store and the tasks load only when a run starts (keeps import gome_es light)
    from ..core.events import validate_payload
    from ..driver.driver import drive, start_run
    from ..driver.options import DriveOptions
    from ..store import EventStore
    from ..tasks import load_task

    loaded = load_task(task, mlebench_data=Path(mlebench_data) if mlebench_data is not None else None)
    ready_to_grade(loaded)
    need = estimated_experiment_s(budget_s)
    if budget_s < need:
        raise RunNotStarted(f"a budget of {budget_s:g}s cannot fit one experiment (planned at {need:g}s each); "
                            f"give budget_s={need:g} or more, e.g. budget_s=300")
    if slots < 1:
        raise RunNotStarted(f"slots={slots}: a run needs 1 or more concurrent executions")
    try:
        config = RunConfig.model_validate({"traces": traces, "max_iterations": max_iterations, "budget_s": budget_s,
                                           "seed": seed, "strategy": strategy})
    except ValueError as exc:  # pydantic's bounds: traces 1..64, iterations 1 or more, strategy gome|tree
        raise RunNotStarted(f"gome.run: {exc}") from exc
    options = DriveOptions(slots=slots, workspace_root=Path(workspace) if workspace is not None else workspace_root(db))
    with EventStore.open(db, create=True, validator=validate_payload) as store:
        rid = start_run(store, loaded, config, ReasonerConfig(kind="offline"), run_id=run_id)
        drive(store, rid, task=loaded, options=options)
    return rid
