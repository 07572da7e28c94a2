"""What every `gome` command shares: the --db option and opening the store.

The one place where store errors become click errors, so no command repeats
the open-and-translate boilerplate.  The exit code comes from the error class
(``GomeError.exit_code``: 2 for trouble, 1 for a broken chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import click

from ..errors import GomeError
from ..store import EventStore

F = TypeVar("F", bound=Callable)

DEFAULT_DB = "gome.db"


class GomeClickError(click.ClickException):
    """A GomeError on its way to the terminal, keeping its exit code."""

    def __init__(self, error: GomeError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


def db_option(func: F) -> F:
    """``--db PATH`` (env GOME_DB, default ./gome.db)."""
    return click.option(
        "--db", "db", type=click.Path(dir_okay=False, path_type=Path), envvar="GOME_DB",
        default=DEFAULT_DB, show_default=True, show_envvar=True,
        help="The gome event database.",
    )(func)


def open_store(db: Path | str, *, create: bool = False, readonly: bool = False) -> EventStore:
    """Open the store or exit with the store's own message."""
    try:
        return EventStore.open(db, create=create, readonly=readonly)
    except GomeError as exc:
        raise GomeClickError(exc) from exc


def fail(error: GomeError) -> GomeClickError:
    return GomeClickError(error)
