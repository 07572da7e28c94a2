"""The code version a run records: package version plus a digest of the policy-bearing source.

Two checkouts that would decide differently have different code versions; a
change to the CLI or the report does not count.  I/O edge (reads source files).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from . import __version__

# Modules whose code shapes recorded decisions.
# canonical.py too: derived seeds and the hashes of contexts and prompts go through its encoder.
POLICY_MODULES = ("events.py", "state.py", "policy.py", "tree_policy.py", "prompts.py", "canonical.py",
                  "llm/schemas.py")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    root = Path(__file__).parent
    h = hashlib.sha256()
    for name in POLICY_MODULES:
        path = root / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return f"{__version__}+{h.hexdigest()[:12]}"
