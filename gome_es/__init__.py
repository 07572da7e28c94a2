"""gome-es: an event-sourced MLE agent with crash-proof resume, replay and diff.

The library's face, for notebooks and scripts::

    import gome_es as gome
    db = gome.open("gome.db")          # read-only; tables are pandas DataFrames
    db.runs(); db.steps("@last"); db.code("@last", "t1-i0-a0")
    rid = gome.run("breast-cancer-diagnosis", db="gome.db", budget_s=120, max_iterations=1)

What it names is imported on first use, so ``import gome_es`` (and ``gome --help``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Comparison, Database

__all__ = ["Comparison", "Database", "compare", "open", "run", "__version__"]


def open(path: Any = "gome.db") -> Database:  # noqa: A001 - gome.open, as sqlite3.connect / h5py.File read
    """Open a gome database read-only: ``db.runs()``, ``db.steps(run)``, ``db.events(run)``,
    ``db.code(run, solution)``, ``db.log(run, solution)``, ``db.sweep(id)`` (see :class:`Database`)."""
    # lazy: keeps `import gome_es` (and so gome --help) light; the library loads on first use
    from .api import open_database

    return open_database(path)


def compare(runs: list[str], db: Any = "gome.db") -> Comparison:
    """Many runs (ids, unique prefixes, ``@last`` or sweep ids) grouped by task and variant, as
    `gome compare` prints them: ``.runs`` and ``.groups`` DataFrames, ``.paired`` differences by
    seed, ``.text()`` and ``.html(path)``."""
    # lazy: keeps `import gome_es` (and so gome --help) light; the library loads on first use
    from .api import compare as _compare

    return _compare(runs, db)


def run(task: str = "breast-cancer-diagnosis", db: Any = "gome.db", *, traces: int = 2, max_iterations: int = 4,
        budget_s: float = 600.0, seed: int = 0, strategy: str = "gome", run_id: str | None = None,
        workspace: Any = None, slots: int = 2, mlebench_data: Any = None) -> str:
    """Run the agent on ``task`` with the offline reasoner (no network, no key), record it in ``db``
    and return the run id once the run has ended, as `gome run` does (same defaults: 2 traces x 4
    iterations, a 10-minute budget).  ``strategy``: "gome" or "tree".  See
    :func:`gome_es.api.run.run_task`."""
    from .api import run_task  # lazy: keeps `import gome_es` (and so gome --help) light

    return run_task(task, db, traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=seed,
                    strategy=strategy, run_id=run_id, workspace=workspace, slots=slots,
                    mlebench_data=mlebench_data)


def __getattr__(name: str) -> Any:
    if name in ("Database", "Comparison"):
        # lazy: keeps `import gome_es` (and so gome --help) light; the library loads on first use
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gome_es' has no attribute {name!r}")
