"""Store-specific refinements of the project's exception tree.

Each class derives from a class in :mod:`gome_es.errors`, so callers that
catch ``StoreError`` keep working; these only let tests and the CLI tell the
cases apart.
"""

from __future__ import annotations

from ..errors import StoreError


class StoreMissing(StoreError):
    """No database exists at the path and the caller asked not to create one."""


class StoreLocked(StoreError):
    """Another process held the database's write lock past the busy timeout."""


class StoreUnreadable(StoreError):
    """The operating system refused to open or read the database file."""


class BlobMissing(StoreError):
    """A blob referenced by sha256 is not in the blobs table."""


class ExportInvalid(StoreError):
    """An export file is truncated, edited or not a gome export at all."""


class InvalidRunId(StoreError):
    """A new run's id is not a short plain name (it would be a path, or too long for one)."""


class DatabaseBecameReadOnly(StoreError):
    """The database (or its -wal/-shm) stopped being writable while the store had it open."""
