"""What every `gome` command shares: the --db option, opening the store, naming runs.

A command lets a :class:`~gome_es.errors.GomeError` go: the command group
(:class:`gome_es.cli.main.GomeGroup`) turns it into its message and exit code, once.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import click

from ..errors import EventError, RunNotFound, SweepIsNotARun
from ..store import EventStore
from ..store.runids import LAST, resolve_run_id, shown_id
from ..trust.text import clean, shorten_long_words

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "gome.db"


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
    # lazy: keeps every gome <cmd> --help light
    from ..core.events import validate_payload

    return EventStore.open(db, create=create, readonly=readonly, validator=validate_payload)


def resolve_run(store: EventStore, given: str, *, sweeps: bool = False) -> str:
    """The run ``given`` names: the whole id, a unique prefix or ``@last`` (``resolve_run_id``), an
    unknown id answered with the nearest.  ``@last`` is the newest run, never a sweep's own stream.
    Unless ``sweeps`` (commands that read any event stream), a sweep's stream is no run: it is left
    out of prefixes, and named whole it is refused, pointing at `gome sweep status`."""
    # lazy: keeps every gome <cmd> --help light
    from ..report.tables import sweep_ids

    all_sweeps = sweep_ids(store)
    # @last is the newest run for every command; a sweep's stream is named by its id
    skip = () if sweeps and given != LAST else all_sweeps
    try:
        rid = resolve_run_id(store, given, skip=skip)
    except RunNotFound:
        named = [s for s in skip if given and s.startswith(given)]
        if len(named) == 1:  # the start of a sweep's id, and of no run's
            rid = named[0]
        elif named:
            raise SweepIsNotARun(f"{shown_id(given)!r} is the start of {len(named)} sweep ids ({', '.join(named[:4])}), "
                                 f"not of a run's: `gome sweep status SWEEP --db {store.path}` shows a sweep's "
                                 "cells") from None
        else:
            raise
    if rid in skip:
        raise SweepIsNotARun(
            f"{rid} is a sweep, not a run: `gome sweep status {rid} --db {store.path}` shows its cells, and "
            f"each cell is a run (`gome runs --db {store.path}` lists them)")
    return rid


def resolve_sweep(store: EventStore, given: str) -> str:
    """The sweep ``given`` names: its whole id, a unique prefix of one, or ``@last`` (the newest sweep);
    a run's id is answered with what it is, an unknown id with the nearest sweep ids."""
    # lazy: keeps every gome <cmd> --help light
    import difflib

    # lazy: keeps every gome <cmd> --help light
    from ..report.tables import sweep_ids

    ids = sweep_ids(store)
    if given in ids:
        return given
    if given == LAST:
        if not ids:
            raise RunNotFound(f"{LAST}: there is no sweep in {store.path} yet; `gome sweep` starts one")
        return ids[-1]
    matches = [i for i in ids if given and i.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    shown = shown_id(given)
    if matches:
        raise RunNotFound(f"{shown!r} is the start of {len(matches)} sweep ids in {store.path}: "
                          f"{', '.join(matches[:8])}; give more of the id")
    if store.run_exists(given):
        raise RunNotFound(f"{shown} is a run, not a sweep: `gome show {shown} --db {store.path}` shows it")
    near = difflib.get_close_matches(given[:100], ids, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise RunNotFound(f"sweep {shown} not found in {store.path}{hint} ({len(ids)} sweep(s) there; "
                      f"{LAST} names the newest)")


def sweep_id_argument(name: str = "sweep_id") -> Callable[[F], F]:
    """A sweep-id argument that accepts the whole id, a unique prefix or ``@last``, resolved like
    :func:`run_id_argument` once ``--db`` is known."""
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def resolved(*args: object, **kwargs: object) -> object:
            given = kwargs.get(name)
            if isinstance(given, str):
                with open_store(kwargs.get("db") or DEFAULT_DB, readonly=True) as store:  # type: ignore[arg-type]
                    kwargs[name] = resolve_sweep(store, given)
            return func(*args, **kwargs)

        return click.argument(name)(resolved)  # type: ignore[return-value]

    return decorate


def run_id_in(db: Path | str, given: str, *, sweeps: bool = False) -> str:
    """:func:`resolve_run` in the database at ``db``, or exit 2 saying why (also for options that name
    a run, such as --replay-from)."""
    with open_store(db, readonly=True) as store:
        return resolve_run(store, given, sweeps=sweeps)


def run_id_argument(name: str = "run_id", *, required: bool = True, sweeps: bool = False) -> Callable[[F], F]:
    """A run-id argument (``@click.argument``) that accepts the whole id, a unique prefix or ``@last``.

    The id is resolved once the command's options are parsed (it needs ``--db``, which may come
    after it on the command line), in the store the command reads; an unknown id exits 2 naming the
    nearest ones, a sweep id (unless ``sweeps``) exits 2 pointing at `gome sweep status`.
    """
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def resolved(*args: object, **kwargs: object) -> object:
            given = kwargs.get(name)
            if isinstance(given, str):
                kwargs[name] = run_id_in(kwargs.get("db") or DEFAULT_DB, given, sweeps=sweeps)  # type: ignore[arg-type]
            return func(*args, **kwargs)

        return click.argument(name, required=required)(resolved)  # type: ignore[return-value]

    return decorate


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
        raise EventError(
            f"run {runs} in {db} holds an event this gome cannot fold ({type(exc).__name__}: {detail}); "
            "it was probably imported with --no-event-check or written by another tool. `gome events RUN` "
            "shows its events and `gome verify RUN` checks their chain") from exc


def check_filter(option: str, given: str | list[str] | tuple[str, ...] | None, valid: list[str], *,
                 what: str, where: str) -> None:
    """A filter option that would match nothing exits 2 naming the values it could take
    (``--trace 1`` on a run whose traces are t1 and t2), the nearest first."""
    # lazy: keeps every gome <cmd> --help light
    import difflib


    for value in [given] if isinstance(given, str) else list(given or []):
        if value in valid:
            continue
        near = difflib.get_close_matches(value, valid, n=1, cutoff=0.5) or [
            v for v in valid if v.lower() == value.lower() or v.lstrip("t") == value][:1]
        hint = f" (did you mean {near[0]}?)" if near else ""
        listed = ", ".join(valid) if valid else "none"
        # the value and the listing may be anything typed or imported: a 100,000-character one by its ends
        raise click.BadParameter(shorten_long_words(clean(f"{where} has no {what} {value!r}{hint}; its {what}s: "
                                                          f"{listed}", "line")), param_hint=f"'{option}'")
