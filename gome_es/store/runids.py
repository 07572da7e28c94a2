"""What a run id may be.

A run id names a run in the log and, on disk, a folder under the workspace
root (``<workspace>/<run id>/r0``, ``<workspace>/<run id>/selected``).  So it
is a short, plain file name: letters, digits, ``.``, ``_`` and ``-``, starting
with a letter or digit (which rules out ``.``, ``..`` and hidden names), at
most :data:`MAX_LEN` characters.  Every way a new run enters a store (run,
fork, import, RD-Agent import) passes through :func:`check_run_id`.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ..errors import RunNotFound
from .errors import InvalidRunId

MAX_LEN = 100
PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RULE = (f"1 to {MAX_LEN} characters from A-Z a-z 0-9 . _ -, starting with a letter or digit "
        "(a run id is also a folder name under --workspace)")


def run_id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid run id, or None when it is."""
    if not isinstance(value, str):
        return f"a run id is a string, not {type(value).__name__}"
    if not value:
        return "a run id cannot be empty"
    if len(value) > MAX_LEN:
        return f"a run id has at most {MAX_LEN} characters; this one has {len(value)}"
    if not PATTERN.fullmatch(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
        if bad:
            return f"a run id may not contain {', '.join(repr(c) for c in bad[:5])}"
        return "a run id must start with a letter or digit"
    return None


def shown_id(value: object, limit: int = 80) -> str:
    """A run id as a message quotes it: whole when short, else its start and its length (an id typed
    or imported can be any length; a message quotes it once, shortened)."""
    s = str(value)
    return s if len(s) <= limit else f"{s[:limit - 20]}... ({len(s):,} characters)"


def check_run_id(value: object, what: str = "run id") -> str:
    """``value`` when it is a valid run id; otherwise :class:`InvalidRunId` saying why and what is allowed."""
    problem = run_id_problem(value)
    if problem is not None:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 60 else repr(value[:57] + "...")
        raise InvalidRunId(f"{what} {shown} is not allowed: {problem}. Use {RULE}.")
    return value  # type: ignore[return-value]


LAST = "@last"


def resolve_run_id(store: object, given: str, skip: Collection[str] = ()) -> str:
    """The run id ``given`` names in ``store``: the whole id, a unique prefix of one, or
    ``@last`` (the run, or sweep, that started last).  An unknown
    id raises :class:`RunNotFound` naming the nearest ids; an ambiguous prefix names its matches.
    Ids in ``skip`` (a command that reads runs skips the sweeps' own streams) are never a prefix's
    match, ``@last`` or a suggestion; given whole, they are still returned."""
    # lazy: only an unknown run id needs difflib (keeps gome <cmd> --help light)
    import difflib


    run_exists = getattr(store, "run_exists")
    path = getattr(store, "path", "the database")
    if given != LAST and run_exists(given):
        return given
    rows = getattr(store, "query")("SELECT run_id, min(ts) FROM events GROUP BY run_id ORDER BY min(ts), run_id")
    skipped = set(skip)
    ids = [str(r[0]) for r in rows if str(r[0]) not in skipped]
    if given == LAST:
        if not ids:
            raise RunNotFound(f"{LAST}: there are no runs in {path} yet; `gome run` starts one")
        return ids[-1]
    shown = shown_id(given)
    matches = [i for i in ids if i.startswith(given)] if given else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listed = ", ".join(matches[:8]) + (f", ... ({len(matches)} in all)" if len(matches) > 8 else "")
        raise RunNotFound(f"{shown!r} is the start of {len(matches)} run ids in {path}: {listed}; "
                          "give more of the id")
    near = difflib.get_close_matches(given[:MAX_LEN], ids, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise RunNotFound(f"run {shown} not found in {path}{hint} (`gome runs --db {path}` lists the runs; "
                      f"{LAST} names the newest)")
