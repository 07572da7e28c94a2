"""What every `gome` command shares: the --db option and opening the store.

The one place where store errors become click errors, so no command repeats
the open-and-translate boilerplate.  The exit code comes from the error class
(``GomeError.exit_code``: 2 for trouble, 1 for a broken chain).
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import click

from ..errors import EventError, GomeError
from ..store import EventStore

F = TypeVar("F", bound=Callable)

DEFAULT_DB = "gome.db"


class GomeClickError(click.ClickException):
    """A GomeError on its way to the terminal, keeping its exit code.

    Made by :func:`fail`: click declares ``exit_code`` a class variable, so each exit
    code has its own subclass instead of setting it on the instance.
    """

    def __init__(self, error: GomeError) -> None:
        from ..trust.text import clean

        # messages quote run ids, names and paths others made: cleaned, and a word longer than any
        # id or path (a 120,000-character id typed or imported) shown by its ends and its length
        super().__init__(_LONG_WORD.sub(_shorten_word, clean(str(error))))


_LONG_WORD = re.compile(r"\S{201,}")


def _shorten_word(m: re.Match[str]) -> str:
    word = m.group()
    return f"{word[:80]}…{word[-40:]} ({len(word):,} characters)"


@functools.cache
def _click_error_class(code: int) -> type[GomeClickError]:
    class GomeClickErrorWithCode(GomeClickError):
        exit_code = code

    return GomeClickErrorWithCode


def db_option(func: F) -> F:
    """``--db PATH`` (env GOME_DB, default ./gome.db)."""
    return click.option(
        "--db", "db", type=click.Path(dir_okay=False, path_type=Path), envvar="GOME_DB",
        default=DEFAULT_DB, show_default=True, show_envvar=True,
        help="The gome event database.",
    )(func)


def open_store(db: Path | str, *, create: bool = False, readonly: bool = False) -> EventStore:
    """Open the store or exit with the store's own message.

    The store is handed gome's event vocabulary check, so imports refuse unknown event
    types and bad payloads (the store itself never imports the domain)."""
    from ..core.events import validate_payload

    try:
        return EventStore.open(db, create=create, readonly=readonly, validator=validate_payload)
    except GomeError as exc:
        raise fail(exc) from exc


def fail(error: GomeError) -> GomeClickError:
    """The click error that prints ``error`` and exits with its exit code."""
    return _click_error_class(error.exit_code)(error)


# What folding or replaying an event the code does not understand raises (a payload missing a
# field, of the wrong type, nested past Python's recursion limit); pydantic's ValidationError
# is a ValueError.
UNFOLDABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


@contextmanager
def foldable(run_ids: str | list[str], db: Path | str) -> Iterator[None]:
    """Turn a crash while folding a run's events into an error naming the run and what to do."""
    try:
        yield
    except UNFOLDABLE as exc:
        runs = run_ids if isinstance(run_ids, str) else ", ".join(run_ids)
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise fail(EventError(
            f"run {runs} in {db} holds an event this gome cannot fold ({type(exc).__name__}: {detail}); "
            "it was probably imported with --no-event-check or written by another tool. `gome events RUN` "
            "shows its events and `gome verify RUN` checks their chain")) from exc
