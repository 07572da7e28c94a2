"""Housekeeping on whole runs: tags and notes, deleting a run, renaming one.

Labels (``run_tags``, ``run_notes``: store migration 0005) are not events: no hash covers
them, so tagging or noting a run leaves its chain as it was.  Deleting a run removes its
events, snapshots, lease, signature, labels and the blobs no other run references, in one
transaction; the other runs' rows are untouched, so each keeps its own intact chain.  The
events table refuses deletes (the ``events_no_delete`` guard): the transaction drops that
guard, deletes the run's rows and recreates it exactly as the migration wrote it, so
nothing outside the transaction ever sees the log unguarded.

The chain hashes cover the run id (:func:`~gome_es.store.chain.row_hash`), so a rename
cannot relabel rows: :func:`rename_run` re-chains a verified copy of the run under the new
id and deletes the old rows, in one transaction.  Whoever calls these must first make sure
no process drives the run (the CLI takes the run's lease); the store imports no domain code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ChainBroken, GomeError, RunExists
from . import schema
from .chain import ChainChecker, blob_refs, row_hash
from .runids import check_run_id, shown_id

if TYPE_CHECKING:
    import sqlite3

    from .eventstore import EventStore

MAX_TAG = 64
MAX_NOTE = 4000
GUARD = "events_no_delete"


class BadLabel(GomeError):
    """A tag or note that cannot be stored (empty, too long, control characters)."""


@dataclass(frozen=True)
class Labels:
    tags: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Deleted:
    run_id: str
    events: int
    blobs: int  # blobs removed (no other run referenced them)
    snapshots: int


# ---------------------------------------------------------------- labels


def check_tag(tag: str) -> str:
    """A tag is 1..64 printable characters without spaces or commas (CSV joins tags with commas)."""
    if not isinstance(tag, str) or not tag:
        raise BadLabel("a tag cannot be empty; give a word such as `baseline`")
    if len(tag) > MAX_TAG:
        raise BadLabel(f"tag {tag[:40]!r}... has {len(tag)} characters; a tag has at most {MAX_TAG}")
    bad = sorted({c for c in tag if not c.isprintable() or c.isspace() or c == ","})
    if bad:
        raise BadLabel(f"tag {tag[:40]!r} may not contain {', '.join(repr(c) for c in bad[:5])}: a tag is one "
                       "word without spaces or commas (use `gome runs note` for free text)")
    return tag


def check_note(note: str) -> str:
    if len(note) > MAX_NOTE:
        raise BadLabel(f"the note has {len(note):,} characters; a note has at most {MAX_NOTE:,}")
    bad = sorted({c for c in note if not c.isprintable() and c not in "\n\t"})
    if bad:
        raise BadLabel(f"the note may not contain control characters ({', '.join(repr(c) for c in bad[:5])})")
    return note


def has_labels(store: EventStore) -> bool:
    """Whether this database has the labels tables (schema 5 or later; a read-only open of an older
    file does not migrate it, and such a file simply has no labels)."""
    return len(store.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND name IN ('run_tags', 'run_notes')")) == 2


def read_labels(store: EventStore) -> dict[str, Labels]:
    """run id -> its tags (sorted) and note, for every run that has any."""
    if not has_labels(store):
        return {}
    tags: dict[str, list[str]] = {}
    for run_id, tag in store.query("SELECT run_id, tag FROM run_tags ORDER BY run_id, tag"):
        tags.setdefault(run_id, []).append(tag)
    notes = dict(store.query("SELECT run_id, note FROM run_notes"))
    return {r: Labels(tuple(tags.get(r, ())), notes.get(r)) for r in set(tags) | set(notes)}


def tag_run(store: EventStore, run_id: str, tags: list[str] | tuple[str, ...]) -> Labels:
    """Add ``tags`` to the run (tags it has already are kept once); returns its labels."""
    checked = [check_tag(t) for t in tags]
    store.require_run(run_id)
    now = time.time()
    with store.write_transaction("tag a run", run_id) as conn:
        conn.executemany("INSERT OR IGNORE INTO run_tags (run_id, tag, ts) VALUES (?,?,?)",
                         [(run_id, t, now) for t in checked])
    return read_labels(store).get(run_id, Labels())


def untag_run(store: EventStore, run_id: str, tags: list[str] | tuple[str, ...]) -> tuple[Labels, list[str]]:
    """Remove ``tags`` from the run; returns its labels and the tags it did not have."""
    store.require_run(run_id)
    have = set(read_labels(store).get(run_id, Labels()).tags)
    absent = [t for t in tags if t not in have]
    with store.write_transaction("untag a run", run_id) as conn:
        conn.executemany("DELETE FROM run_tags WHERE run_id = ? AND tag = ?", [(run_id, t) for t in tags])
    return read_labels(store).get(run_id, Labels()), absent


def note_run(store: EventStore, run_id: str, note: str) -> Labels:
    """Set the run's note (replacing any earlier one); an empty note removes it."""
    check_note(note)
    store.require_run(run_id)
    with store.write_transaction("note a run", run_id) as conn:
        if note.strip():
            conn.execute("INSERT OR REPLACE INTO run_notes (run_id, note, ts) VALUES (?,?,?)",
                         (run_id, note, time.time()))
        else:
            conn.execute("DELETE FROM run_notes WHERE run_id = ?", (run_id,))
    return read_labels(store).get(run_id, Labels())


# ---------------------------------------------------------------- delete and rename


def _unguarded_delete(conn: sqlite3.Connection, run_id: str) -> int:
    """Delete the run's events inside the caller's transaction, with the guard back before it ends."""
    guard = schema.guard_triggers()[GUARD]
    conn.execute(f'DROP TRIGGER IF EXISTS "{GUARD}"')
    count = conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,)).rowcount
    conn.execute(guard)
    return int(count)


def _run_blobs(conn: sqlite3.Connection, run_id: str) -> set[str]:
    found: set[str] = set()
    for (text,) in conn.execute("SELECT payload FROM events WHERE run_id = ?", (run_id,)):
        try:
            found.update(blob_refs(json.loads(text)))
        except ValueError:
            continue
    return found


def _drop_unreferenced(conn: sqlite3.Connection, candidates: set[str]) -> int:
    """Delete the blobs among ``candidates`` that no remaining event references."""
    if not candidates:
        return 0
    left = set(candidates)
    for (text,) in conn.execute("SELECT payload FROM events"):
        if not left:
            break
        try:
            left.difference_update(blob_refs(json.loads(text)))
        except ValueError:
            continue
    conn.executemany("DELETE FROM blobs WHERE sha = ?", [(s,) for s in left])
    return len(left)


def _forget(conn: sqlite3.Connection, run_id: str) -> int:
    """Remove everything besides events that names the run; returns the snapshots removed."""
    snaps = conn.execute("DELETE FROM snapshots WHERE run_id = ?", (run_id,)).rowcount
    for table in ("run_leases", "run_signatures", "run_tags", "run_notes"):
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
            conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
    return int(snaps)


def delete_run(store: EventStore, run_id: str, *, lease_token: str | None = None) -> Deleted:
    """Delete one run: its events, snapshots, lease, signature, labels, and the blobs that only it
    referenced.  Every other run's rows are untouched.  ``lease_token`` is the caller's own lease
    on the run (its row goes too); any other lease row still present is refused."""
    store.require_run(run_id)
    with store.write_transaction("delete a run", run_id) as conn:
        held = conn.execute("SELECT token FROM run_leases WHERE run_id = ?", (run_id,)).fetchone()
        if held is not None and held[0] != lease_token:
            raise GomeError(f"run {shown_id(run_id)} has a lease held by another process; stop it first "
                            "(`gome status RUN` says who drives it), then delete")
        blobs = _run_blobs(conn, run_id)
        events = _unguarded_delete(conn, run_id)
        snaps = _forget(conn, run_id)
        removed = _drop_unreferenced(conn, blobs)
    return Deleted(run_id, events, removed, snaps)


def rename_run(store: EventStore, old: str, new: str, *, lease_token: str | None = None) -> int:
    """Move a run to a new id; returns the number of events.  The chain hashes cover the run id,
    so each row is re-chained under ``new`` while the old chain is checked row by row (a damaged
    run is refused, nothing changed), then the old rows go; one transaction does it all.  Tags
    and the note move with the run; a stored signature covered the old chain and is dropped."""
    check_run_id(new, "the new run id")
    store.require_run(old)
    if old == new:
        raise GomeError(f"run {shown_id(old)} already has that id; nothing to rename")
    if store.run_exists(new):
        raise RunExists(f"run {shown_id(new)} already exists in {store.path}; choose another id, or "
                        f"`gome runs delete {shown_id(new)}` first")
    source, target = ChainChecker(old), ChainChecker(new)
    count = 0
    with store.write_transaction("rename a run", old) as conn:
        held = conn.execute("SELECT token FROM run_leases WHERE run_id = ?", (old,)).fetchone()
        if held is not None and held[0] != lease_token:
            raise GomeError(f"run {shown_id(old)} has a lease held by another process; stop it first, "
                            "then rename")
        rows: list[Any] = conn.execute(
            "SELECT seq, trace_id, type, schema_version, ts, payload, prev_hash, hash FROM events "
            "WHERE run_id = ? ORDER BY seq", (old,)).fetchall()
        prev = target.prev_hash
        for seq, trace_id, type_, version, ts, text, prev_hash, hash_ in rows:
            try:
                payload = source.feed(seq, trace_id, type_, version, ts, text, prev_hash, hash_)
            except ChainBroken as brk:
                raise ChainBroken(f"run {shown_id(old)} is damaged at seq {brk.seq} ({brk.reason}); rename "
                                  f"refused, nothing changed. `gome verify {shown_id(old)}` says more") from None
            new_hash = row_hash(new, seq, trace_id, type_, version, float(ts), payload, prev)
            target.feed(seq, trace_id, type_, version, ts, text, prev, new_hash)
            conn.execute("INSERT INTO events (run_id, seq, trace_id, type, schema_version, ts, payload, "
                         "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
                         (new, seq, trace_id, type_, version, ts, text, prev, new_hash))
            prev = new_hash
            count += 1
        _unguarded_delete(conn, old)
        for table in ("run_tags", "run_notes"):
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
                conn.execute(f"UPDATE {table} SET run_id = ? WHERE run_id = ?", (new, old))
        _forget(conn, old)
    return count
