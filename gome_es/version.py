"""The code version a run records: package version plus a digest of the pure core's source.

Every module under :mod:`gome_es.core` shapes recorded decisions (the policy,
the fold, the events, the prompts, the canonical encoder that derives seeds and
hashes), so the digest covers all of them: a module added there is counted
without anyone listing it.  Two checkouts that would decide differently have
different code versions; a change to the CLI, the store, the report or the pure
analysis that only reads runs (:mod:`gome_es.analysis`: diff, views, plain
words) does not count.  I/O edge (reads source files).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from . import __version__

CORE = Path(__file__).parent / "core"


def core_sources(root: Path = CORE) -> list[Path]:
    """Every Python source of the core, in a fixed order (by path relative to ``root``)."""
    return sorted((p for p in root.rglob("*.py") if "__pycache__" not in p.parts),
                  key=lambda p: p.relative_to(root).as_posix())


def source_digest(root: Path = CORE) -> str:
    """sha256 over the names and contents of :func:`core_sources` (a rename counts too)."""
    h = hashlib.sha256()
    for path in core_sources(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    return f"{__version__}+{source_digest()[:12]}"
