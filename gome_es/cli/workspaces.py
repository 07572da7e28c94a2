"""Where a database's experiment workspaces go: ``<database dir>/.gome/work/<run-id>/``.

Keyed by database and run, so two databases that use the same run id never share
a folder, and `gome gc` can tell which folders belong to runs of this database.
``$GOME_WORKSPACE`` (or ``--workspace``) overrides the root.
"""

from __future__ import annotations

import os
from pathlib import Path


def workspace_root(db: Path | str) -> Path:
    env = os.environ.get("GOME_WORKSPACE")
    if env:
        return Path(env)
    return Path(db).resolve().parent / ".gome" / "work"
