"""The library's face for notebooks and scripts: ``import gome_es as gome; db = gome.open("gome.db")``.

Everything here is a thin layer over the store and the views the commands print
(`gome runs`, `gome steps`, `gome events`, `gome code`, `gome logs`, `gome sweep status`), and
``run_task`` beneath `gome run` (``gome.run``: start a run from Python with the offline reasoner):
one definition of each table, two ways to read it.  Tables come back as pandas DataFrames
(pandas is imported only when a table is asked for).
"""

from .comparison import Comparison, compare
from .database import Database, SolutionNotFound, open_database
from .run import RunNotStarted, run_task

__all__ = ["Comparison", "Database", "RunNotStarted", "SolutionNotFound", "compare", "open_database", "run_task"]
