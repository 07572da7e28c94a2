"""Shipping a run's events from a worker's own database into the sweep's, chain-verified.

A worker drives its run in a temporary database and, at checkpoints and at the
end, sends the events the driver does not have yet: a *delta* (the rows after
seq N exactly as stored, with the blobs they reference).  The driver accepts a
delta only if it continues the run it holds: the first row's ``prev_hash`` is
the hash of the driver's last event, every row passes the same
:class:`~gome_es.store.chain.ChainChecker` that ``verify`` and ``import`` use,
every blob hashes to its name, and every blob an event names is in the delta or
already stored.  All rows of a delta go in one write transaction, or none do.

A run resumed elsewhere starts from :func:`seed_export`: an ordinary ``gome
export`` of what reached the driver, imported by the new worker.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ChainBroken, ConcurrencyConflict
from ..store import EventStore
from ..store import blobs as blobcodec
from ..store.chain import ChainChecker, blob_refs

ROW_SQL = ("SELECT seq, trace_id, type, schema_version, ts, payload, prev_hash, hash FROM events "
           "WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?")


def make_delta(store: EventStore, run_id: str, after_seq: int, limit: int = 100_000) -> dict[str, Any] | None:
    """The rows of ``run_id`` after ``after_seq`` (as stored) and the blobs they name; None if none."""
    rows = store.query(ROW_SQL, (run_id, after_seq, limit))
    if not rows:
        return None
    blobs: dict[str, bytes] = {}
    for row in rows:
        for sha in blob_refs(json.loads(row[5])):
            if sha not in blobs:
                blobs[sha] = store.get_blob(sha)
    return {"run_id": run_id, "after_seq": after_seq, "rows": [list(r) for r in rows], "blobs": blobs}


def apply_delta(store: EventStore, run_id: str, delta: dict[str, Any]) -> int:
    """Append a worker's delta to ``run_id`` in ``store``; returns the run's new head seq.

    Rows the driver already holds (a delta re-sent) are checked against the stored
    hash and skipped; anything that does not continue the chain is refused whole.
    """
    if delta.get("run_id") != run_id:
        raise ChainBroken(f"run {run_id}: a delta for run {delta.get('run_id')!r} was shipped to it; refused")
    head_seq, head_hash = store.head(run_id)
    rows = [tuple(r) for r in delta.get("rows", [])]
    new = [r for r in rows if isinstance(r[0], int) and r[0] > head_seq]
    for r in rows:
        if isinstance(r[0], int) and r[0] == head_seq and r[7] != head_hash:
            raise ChainBroken(f"run {run_id}: the worker's seq {head_seq} differs from the one the sweep "
                              "holds; the worker drove another history. Refused; the cell is retried")
    if not new:
        return head_seq
    checker = ChainChecker(run_id)
    checker.expected_seq, checker.prev_hash = head_seq + 1, head_hash
    needed: dict[str, int] = {}
    try:
        for r in new:
            payload = checker.feed(*r)
            for sha in blob_refs(payload):
                needed.setdefault(sha, r[0])
    except ChainBroken as brk:
        raise ChainBroken(f"run {run_id}: shipped events break the chain at seq {brk.seq} ({brk.reason}); "
                          "nothing of this delta was stored") from None
    blob_rows = []
    for sha, raw in (delta.get("blobs") or {}).items():
        raw = bytes(raw)
        if blobcodec.blob_sha(raw) != sha:
            raise ChainBroken(f"run {run_id}: shipped blob {sha} does not match its content; refused")
        codec, packed = blobcodec.encode(raw)
        blob_rows.append((sha, codec, len(raw), packed))
    have = {b[0] for b in blob_rows}
    for sha, seq in needed.items():
        if sha not in have and not store.has_blob(sha):
            raise ChainBroken(f"run {run_id}: shipped seq {seq} names blob {sha}, which was not shipped; refused")
    with store.write_transaction("store shipped events", run_id) as conn:
        now = conn.execute("SELECT seq FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                           (run_id,)).fetchone()
        if (now[0] if now else 0) != head_seq:
            raise ConcurrencyConflict(f"run {run_id}: another writer appended while shipped events were "
                                      "checked; the sweep driver must be the run's only writer here")
        conn.executemany("INSERT OR IGNORE INTO blobs (sha, codec, size, data) VALUES (?,?,?,?)", blob_rows)
        conn.executemany("INSERT INTO events (run_id, seq, trace_id, type, schema_version, ts, payload, "
                         "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)", [(run_id, *r) for r in new])
    return int(new[-1][0])  # the last seq shipped


def seed_export(store: EventStore, run_id: str) -> bytes | None:
    """A ``gome export`` of the run as the sweep holds it (gzip bytes), or None when it has no events."""
    if not store.run_exists(run_id):
        return None
    with tempfile.TemporaryDirectory(prefix="gome-seed-") as tmp:
        path = Path(tmp) / f"{run_id}.jsonl.gz"
        store.export_run(run_id, path)
        return path.read_bytes()
