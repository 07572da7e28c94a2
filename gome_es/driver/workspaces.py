"""Where a database's experiment workspaces go: ``<database dir>/.gome/work/<run-id>/``.

Keyed by database and run, so two databases that use the same run id never share
a folder, and `gome gc` can tell which folders belong to runs of this database
(each run folder holds gome's marker, :data:`gome_es.trust.folders.MARKER`).
``$GOME_WORKSPACE`` (or ``--workspace``) overrides the root.
"""

from __future__ import annotations

import os
from pathlib import Path


def workspace_root(db: Path | str) -> Path:
    return workspace_root_source(db)[0]


def workspace_root_source(db: Path | str) -> tuple[Path, str]:
    """The workspace root and where it came from (``$GOME_WORKSPACE`` or "beside the database")."""
    env = os.environ.get("GOME_WORKSPACE")
    if env:
        return Path(env), "$GOME_WORKSPACE"
    return Path(db).resolve().parent / ".gome" / "work", "beside the database"
