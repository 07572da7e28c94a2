"""gome-es: an event-sourced MLE agent with crash-proof resume, replay and diff.

The library's face, for notebooks and scripts::

    import gome_es as gome
    db = gome.open("gome.db")          # read-only; tables are pandas DataFrames
    db.runs(); db.steps("@last"); db.code("@last", "t1-i0-a0")

What it names is imported on first use, so ``import gome_es`` (and ``gome --help``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Comparison, Database

__all__ = ["Comparison", "Database", "compare", "open", "__version__"]


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


def __getattr__(name: str) -> Any:
    if name in ("Database", "Comparison"):
        # lazy: keeps `import gome_es` (and so gome --help) light; the library loads on first use
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gome_es' has no attribute {name!r}")
