"""The durable event store: one SQLite file holding every run's event log.

Owns the connection and its transaction discipline.  The file is opened in
WAL mode with ``synchronous=FULL`` (a commit is on disk when ``append``
returns).  One connection per ``EventStore``, shared by the threads of a
process and guarded by a lock; every write is an explicit ``BEGIN IMMEDIATE``
so the write lock is taken up front and a second writer waits (busy timeout)
instead of failing half-way.

Transactions: the connection is opened with ``isolation_level=None`` so
Python's sqlite3 never starts a transaction of its own; ours are the only
BEGINs.  (Python 3.12's ``autocommit=`` is not used: sqlite-utils 4 refuses
such connections.)  sqlite-utils wraps the same connection for reads and
introspection only; its write helpers manage transactions their own way and
are not used here.

Optimistic concurrency: ``append(run_id, events, expected_seq)`` checks the
run's last seq inside the write transaction; if another writer moved it on,
:class:`~gome_es.errors.ConcurrencyConflict`.  The primary key (run_id, seq)
refuses a clash even if that check were bypassed.
"""

from __future__ import annotations

import ctypes
import heapq
import json
import math
import os
import sqlite3
import stat
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
import structlog

from ..core.canonical import GENESIS_HASH, canonical_json, loads
from ..errors import (
    ChainBroken,
    ConcurrencyConflict,
    DiskTrouble,
    EventError,
    NotAGomeDatabase,
    RunNotFound,
    StoreError,
)
from . import blobs as blobcodec
from . import schema
from .chain import ChainChecker, blob_ref_fields, chain_break, row_hash
from .errors import (
    BlobMissing,
    DatabaseBecameReadOnly,
    StoreLocked,
    StoreMissing,
    StoreUnreadable,
)
from .exchange import PayloadValidator, export_run, import_run
from .faults import FaultPlan, crash_if_due
from .records import ExportSummary, NewEvent, RunSummary, StoredEvent, VerifyReport
from .runids import check_run_id, shown_id

log = structlog.get_logger("gome.store")

SQLITE_MAGIC = b"SQLite format 3\x00"
COLUMNS = "run_id, seq, trace_id, type, schema_version, ts, payload, prev_hash, hash"
DEFAULT_BUSY_TIMEOUT_S = 10.0
MEMORY = ":memory:"  # the path that opens a store in memory (EventStore.memory)


@contextmanager
def _closed_on_failure(conn: sqlite3.Connection, shown: str) -> Iterator[None]:
    """Set-up of a new connection: on any failure it is closed, and an SQLite error becomes the
    open error that names the database."""
    try:
        yield
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise _open_error(exc, shown) from exc
        raise


class EventStore:
    """Append-only, hash-chained event log of every run in one SQLite file."""

    def __init__(self, conn: sqlite3.Connection, path: str, readonly: bool, *, immutable: bool = False,
                 file: Path | None = None, validator: PayloadValidator | None = None) -> None:
        self._conn = conn
        # the event vocabulary's payload check, handed in by the caller (the store never
        # imports the domain); used on import, where events arrive from outside
        self.validator = validator
        self.path = path
        self.readonly = readonly
        self.immutable = immutable  # opened with SQLite's immutable=1 (a read-only mount): no -wal/-shm used
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self._lock = threading.RLock()
        self.faults = FaultPlan()
        self._closed = False
        self._gone: str | None = None  # why the files stopped being writable, once they did
        # SQLite maps the -shm file and writes into it even to read; a write to that
        # mapping after the file turned immutable (chattr +i) or its mount read-only
        # kills the process with SIGBUS, so each statement first checks it can write it
        self.in_memory = path == MEMORY
        self._files: tuple[str, ...] = ()
        if self.in_memory:  # no file, no -wal, no -shm mapping to guard
            self._shm, self._guard = "", False
            return
        absolute = (file or Path(path)).absolute()
        self._shm = f"{absolute}-shm"
        self._files = (str(absolute), f"{absolute}-wal", self._shm)
        self._guard = not immutable and (not readonly or os.access(self._shm, os.W_OK))

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, readonly: bool = False,
             busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
             validator: PayloadValidator | None = None) -> EventStore:
        """Open (and unless ``readonly``, create or migrate) the store at ``path``.

        ``validator`` checks imported events' types and payloads (gome passes
        ``gome_es.core.events.validate_payload``); without one, imports check the
        hash chain and blobs only.  ``":memory:"`` gives :meth:`memory`."""
        if str(path) == MEMORY:
            if readonly or not create:
                raise StoreError("a :memory: store starts empty and lives only in this process; it cannot "
                                 "be opened read-only or as an existing database. Pass the path of a file")
            return cls.memory(busy_timeout_s=busy_timeout_s, validator=validator)
        p = Path(path)
        shown = str(p)
        _precheck_file(p, create=create and not readonly)
        if readonly:
            try:
                conn = _connect_readonly(p, shown, busy_timeout_s, immutable=False)
            except StoreUnreadable:
                if not _on_readonly_location(p):
                    raise
                # SQLite cannot make the -shm file next to a WAL database on a read-only mount;
                # nothing can write there either, so the file can be read as immutable
                _check_no_pending_wal(p, shown)
                conn = _connect_readonly(p, shown, busy_timeout_s, immutable=True)
                return cls(conn, shown, readonly, immutable=True, file=p, validator=validator)
            store = cls(conn, shown, readonly, file=p, validator=validator)
            schema.warn_if_unguarded(conn, shown)
            return store
        try:
            conn = sqlite3.connect(str(p), isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_s)
        except sqlite3.Error as exc:
            raise _open_error(exc, shown) from exc
        with _closed_on_failure(conn, shown):
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            version = schema.applied_version(conn, shown)
            schema.check_not_too_new(version, shown)
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            if version != schema.code_version():  # up to date: no write lock needed to open
                schema.migrate(conn, shown)
            schema.restore_guards(conn, shown)
            schema.warn_foreign_triggers(conn, shown)
        return cls(conn, shown, readonly, file=p, validator=validator)

    @classmethod
    def memory(cls, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
               validator: PayloadValidator | None = None) -> EventStore:
        """A new, empty store in this process's memory, gone when closed (for tests and dry runs).

        The same class on an SQLite ``:memory:`` connection, so the same schema, triggers, hash
        chain, transactions and errors; only durability differs (no file, so no WAL and no
        ``synchronous=FULL``).  Each call gives a separate store: a second ``EventStore`` cannot
        open the same one, so a race between two writers needs a file."""
        conn = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        with _closed_on_failure(conn, MEMORY):
            schema.migrate(conn, MEMORY)
            schema.restore_guards(conn, MEMORY)
        return cls(conn, MEMORY, False, validator=validator)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._guard and (self._gone is not None or self._unwritable() is not None):
                # closing would checkpoint through the -shm mapping and die of SIGBUS; the
                # connection is left to the process's exit instead (as after a crash: the WAL
                # keeps every committed event)
                _leak(self._conn)
                return
            self._conn.close()

    def _unwritable(self) -> str | None:
        """Which of the database's files can no longer be written, if any (None: all can)."""
        for name in self._files:
            if not os.access(name, os.W_OK) and os.path.lexists(name):
                return name
        return None

    def _check_files(self) -> None:
        """Refuse to touch SQLite once the -shm mapping cannot be written (see ``_guard``)."""
        if not self._guard:
            return
        if self._gone is None:
            if os.access(self._shm, os.W_OK) or not os.path.lexists(self._shm):
                return
            self._gone = self._became_readonly(self._shm)
        raise DatabaseBecameReadOnly(self._gone)

    def _became_readonly(self, name: str) -> str:
        return (f"{name} can no longer be written (made immutable with chattr +i, or its file system "
                f"remounted read-only) while gome had {self.path} open; gome stopped using it. Nothing "
                "committed is lost: make it writable again (chattr -i, remount rw), then continue "
                "with `gome resume RUN`")

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def write_transaction(self, what: str = "write", run_id: str | None = None
                          ) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the process-wide write lock.

        Any exception rolls everything back; SQLite errors come out as store
        errors (DiskTrouble, StoreLocked, ...).
        """
        with self._lock:
            if self.readonly:
                raise StoreError(f"{self.path} was opened read-only; cannot {what}")
            self._check_files()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc, what, run_id) from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc, what, run_id) from exc
                raise

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (e.g. after SQLITE_FULL); nothing is kept

    def _error(self, exc: sqlite3.Error, what: str, run_id: str | None) -> StoreError:
        where = f"{self.path}" + (f", run {run_id}" if run_id else "")
        message = str(exc)
        name = getattr(exc, "sqlite_errorname", "") or ""
        if "disk is full" in message or name == "SQLITE_FULL":
            return DiskTrouble(f"could not {what} ({where}): the disk is full; nothing from this "
                               "write was kept. Free some space and retry (gome resume continues).")
        if self._guard and ("disk I/O error" in message or name.startswith("SQLITE_IOERR")
                            or "readonly" in message):
            gone = self._unwritable()
            if gone is not None:
                self._gone = self._gone or self._became_readonly(gone)
                return DatabaseBecameReadOnly(f"could not {what} ({where}): {self._gone}")
        if "disk I/O error" in message or name.startswith("SQLITE_IOERR"):
            return DiskTrouble(f"could not {what} ({where}): disk I/O error; nothing from this "
                               "write was kept. Check the disk, then retry.")
        if "locked" in message or "busy" in message or name.startswith("SQLITE_BUSY"):
            return StoreLocked(f"could not {what} ({where}): another process holds the database "
                               "lock past the busy timeout; retry when it finishes")
        if isinstance(exc, sqlite3.IntegrityError) and run_id:
            return ConcurrencyConflict(f"could not {what} ({where}): another writer appended "
                                       "the same seq first; re-read the run and retry")
        if "readonly" in message or "read-only" in message:
            return StoreUnreadable(f"could not {what} ({where}): the file is read-only ({message})")
        return StoreError(f"could not {what} ({where}): {message}")

    @property
    def closed(self) -> bool:
        return self._closed

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only statement under the store's lock (for edge modules like the lease)."""
        return self._query(sql, params)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self._check_files()
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "read", None) from exc

    # ------------------------------------------------------------ appending

    def append(self, run_id: str, events: Sequence[NewEvent], expected_seq: int,
               blobs: Mapping[str, bytes | str] | None = None) -> list[StoredEvent]:
        """Append a batch atomically after seq ``expected_seq`` (0 for a new run).

        ``blobs`` (sha256 -> bytes) are stored in the same transaction, so an
        event never refers to a blob that a crash lost.
        """
        if not isinstance(run_id, str) or not run_id:
            raise EventError(f"run_id must be a non-empty string, got {run_id!r}")
        if expected_seq == 0:
            check_run_id(run_id)  # a new run: its id becomes a folder name under the workspace
        events = list(events)
        if not events:
            return []
        texts = [_payload_text(run_id, e) for e in events]
        blob_rows = _blob_rows(blobs or {})
        stored: list[StoredEvent] = []
        with self._lock:
            with self.write_transaction("append events", run_id) as conn:
                row = conn.execute(
                    "SELECT seq, hash FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                    (run_id,),
                ).fetchone()
                last, prev = row if row else (0, GENESIS_HASH)
                if last != expected_seq:
                    raise ConcurrencyConflict(
                        f"run {run_id}: append expected the run to end at seq {expected_seq} "
                        f"but it ends at seq {last} (another writer got there first); "
                        "re-read the run and decide again"
                    )
                now = time.time()
                rows = []
                for offset, (event, text) in enumerate(zip(events, texts), start=1):
                    seq = last + offset
                    ts = now if event.ts is None else float(event.ts)
                    h = row_hash(run_id, seq, event.trace_id, event.type, event.schema_version,
                                 ts, event.payload, prev)
                    rows.append((run_id, seq, event.trace_id, event.type, event.schema_version,
                                 ts, text, prev, h))
                    stored.append(StoredEvent(run_id, seq, event.trace_id, event.type,
                                              event.schema_version, ts, loads(text), prev, h))
                    prev = h
                conn.executemany(f"INSERT INTO events ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", rows)
                if blob_rows:
                    conn.executemany(
                        "INSERT OR IGNORE INTO blobs (sha, codec, size, data) VALUES (?,?,?,?)",
                        blob_rows)
                self.faults.disk_fault_now()
            crash_if_due(stored[0].seq, stored[-1].seq)
        return stored

    # ------------------------------------------------------------ reading

    def read(self, run_id: str, *, trace_id: str | None = None, types: Iterable[str] | None = None,
             from_seq: int | None = None, to_seq: int | None = None, batch: int = 1000
             ) -> Iterator[StoredEvent]:
        """Stream a run's events in seq order, ``batch`` rows at a time.

        Each batch is a separate keyset query, so memory stays bounded and no
        cursor is held open while the caller (or a writer thread) works.
        """
        where: list[str] = ["run_id = ?"]
        params: list[str | int] = [run_id]
        if trace_id is not None:
            where.append("trace_id = ?")
            params.append(trace_id)
        if types is not None:
            wanted = sorted(set(types))
            if not wanted:
                return
            if len(wanted) > 1:
                # "type IN (a, b) ORDER BY seq" makes SQLite walk the whole run by primary
                # key (0.3 s for 100k events); one indexed read per type, merged, does not
                yield from heapq.merge(*(self.read(run_id, trace_id=trace_id, types=[t], from_seq=from_seq,
                                                   to_seq=to_seq, batch=batch) for t in wanted),
                                       key=lambda e: e.seq)
                return
            where.append("type = ?")
            params.append(wanted[0])
        if to_seq is not None:
            where.append("seq <= ?")
            params.append(to_seq)
        sql = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} AND seq > ? ORDER BY seq LIMIT ?"
        cursor = (from_seq or 1) - 1
        while True:
            rows = self._query(sql, (*params, cursor, batch))
            for r in rows:
                yield StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], loads(r[6]), r[7], r[8])
            if len(rows) < batch:
                return
            cursor = rows[-1][1]

    def raw_rows(self, run_id: str, *, to_seq: int | None = None, batch: int = 1000
                 ) -> Iterator[tuple[Any, ...]]:
        """Rows exactly as stored (payload as text), for verify and export."""
        cursor, limit = 0, to_seq if to_seq is not None else -1
        sql = ("SELECT seq, trace_id, type, schema_version, ts, payload, prev_hash, hash "
               "FROM events WHERE run_id = ? AND seq > ? AND (? < 0 OR seq <= ?) ORDER BY seq LIMIT ?")
        while True:
            rows = self._query(sql, (run_id, cursor, limit, limit, batch))
            yield from rows
            if len(rows) < batch:
                return
            cursor = rows[-1][0]

    def last_seq(self, run_id: str) -> int:
        return self.head(run_id)[0]

    def head(self, run_id: str) -> tuple[int, str]:
        rows = self._query(
            "SELECT seq, hash FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,))
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS_HASH)

    def run_exists(self, run_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM events WHERE run_id = ? LIMIT 1", (run_id,)))

    def require_run(self, run_id: str) -> None:
        """Raise :class:`RunNotFound` (with where to look) unless ``run_id`` has events here."""
        if not self.run_exists(run_id):
            raise RunNotFound(f"run {shown_id(run_id)} not found in {self.path}: it is not in the list "
                              f"`gome runs --db {self.path}` prints.")

    def runs(self) -> list[RunSummary]:
        """One summary per run, oldest first (task and status from its events)."""
        out = []
        for run_id, count, last_ts in self._query(
                "SELECT run_id, count(*), max(ts) FROM events GROUP BY run_id"):
            first = self._query("SELECT ts FROM events WHERE run_id = ? AND seq = 1", (run_id,))
            started = self._first_payload(run_id, "RunStarted", "ASC")
            finished = self._first_payload(run_id, "RunFinished", "DESC")
            task = started.get("task_id") if started else None
            status = (finished.get("status") or "finished") if finished is not None else "unfinished"
            out.append(RunSummary(run_id, task, status, first[0][0] if first else last_ts,
                                  count, last_ts))
        out.sort(key=lambda s: (s.created, s.run_id))
        return out

    def _first_payload(self, run_id: str, type_: str, order: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT payload FROM events WHERE run_id = ? AND type = ? "
                           f"ORDER BY seq {order} LIMIT 1", (run_id, type_))
        if not rows:
            return None
        try:
            value = json.loads(rows[0][0])
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    # ------------------------------------------------------------ blobs

    @staticmethod
    def blob_hash(data: bytes | str) -> str:
        return blobcodec.blob_sha(data)

    def put_blob(self, data: bytes | str) -> str:
        """Store bytes (str as UTF-8) once; returns the sha256 hex of the raw bytes."""
        raw = blobcodec.as_bytes(data)
        sha = blobcodec.blob_sha(raw)
        if self.has_blob(sha):
            return sha  # deduplicated: no write, no fsync
        codec, packed = blobcodec.encode(raw)
        with self.write_transaction("store a blob") as conn:
            conn.execute("INSERT OR IGNORE INTO blobs (sha, codec, size, data) VALUES (?,?,?,?)",
                         (sha, codec, len(raw), packed))
        return sha

    def has_blob(self, sha: str) -> bool:
        return bool(self._query("SELECT 1 FROM blobs WHERE sha = ?", (sha,)))

    def get_blob(self, sha: str) -> bytes:
        rows = self._query("SELECT codec, data FROM blobs WHERE sha = ?", (sha,))
        if not rows:
            raise BlobMissing(f"blob {sha} is not in {self.path}; the event that names it was "
                              "imported or written without it (re-import the run's export)")
        try:
            raw = blobcodec.decode(rows[0][0], rows[0][1])
        except Exception as exc:  # zlib.error, unknown codec
            raise StoreError(f"blob {sha} in {self.path} cannot be decoded ({exc})") from exc
        if blobcodec.blob_sha(raw) != sha:
            raise ChainBroken(f"blob {sha} in {self.path} was altered: its bytes hash differently; "
                              "`gome verify RUN` names the event and field that reference it")
        return raw

    # ------------------------------------------------------------ verification

    def verify(self, run_id: str) -> VerifyReport:
        """Walk the run's chain and check every blob it references (present, bytes hash to their
        name); the report names the first bad seq and, for a blob, the field that names it."""
        checker = ChainChecker(run_id)
        blob_state: dict[str, str | None] = {}  # sha -> problem (None: fine), each blob checked once
        try:
            for row in self.raw_rows(run_id):
                payload = checker.feed(*row)
                for field, sha in blob_ref_fields(payload):
                    if sha not in blob_state:
                        blob_state[sha] = self._blob_problem(sha)
                    problem = blob_state[sha]
                    if problem is not None:
                        raise chain_break(row[0], f"field {field} names blob {sha}, which {problem}")
        except ChainBroken as brk:
            bad = brk.seq if brk.seq is not None else checker.checked + 1  # the checker always sets it
            before = min(checker.checked, bad - 1)  # a bad blob breaks the seq that names it
            return VerifyReport(run_id, False, before, bad, brk.reason or str(brk), before, checker.prev_hash,
                                blobs=len(blob_state))
        if checker.checked == 0:
            raise RunNotFound(f"run {shown_id(run_id)} has no events in {self.path}; "
                              "`gome runs` lists the runs it holds")
        foreign = schema.foreign_triggers(self._query(schema.TRIGGERS_SQL))
        if foreign:  # the chain holds, but writes to this database run someone else's code
            return VerifyReport(run_id, False, checker.checked, None,
                                f"the database holds triggers gome did not make: {schema.describe_foreign(foreign)}"
                                "; they run on every write (and can copy or change it); drop them unless you "
                                "put them there", checker.checked, checker.prev_hash, blobs=len(blob_state))
        return VerifyReport(run_id, True, checker.checked, head_seq=checker.checked,
                            head_hash=checker.prev_hash, blobs=len(blob_state))

    def _blob_problem(self, sha: str) -> str | None:
        rows = self._query("SELECT codec, data FROM blobs WHERE sha = ?", (sha,))
        if not rows:
            return "is missing"
        try:
            raw = blobcodec.decode(rows[0][0], rows[0][1])
        except (zlib.error, ValueError, TypeError) as exc:  # damaged data, unknown codec, not bytes
            return f"cannot be decoded ({exc})"
        actual = blobcodec.blob_sha(raw)
        if actual != sha:
            return f"was altered (its bytes hash to {actual})"
        return None

    # ------------------------------------------------------------ export / import

    def export_run(self, run_id: str, path: str | Path, *, sign_key: Any = None) -> ExportSummary:
        """Write a run to an export file (see ``exchange.export_run``), signed with ``sign_key``."""
        return export_run(self, run_id, Path(path), sign_key=sign_key)

    def import_run(self, path: str | Path, *, run_id: str | None = None,
                   check_events: bool = True, require_key: Any = None) -> str:
        """Import an export file as a new run (see ``exchange.import_run``); events are
        checked with the validator this store was opened with unless ``check_events``
        is False; with ``require_key`` the file must be signed by that public key."""
        return import_run(self, Path(path), run_id=run_id,
                          validate=self.validator if check_events else None, require_key=require_key)

    # ------------------------------------------------------------ snapshots

    def save_snapshot(self, run_id: str, seq: int, state_schema: int, state_json: str) -> None:
        """Cache a fold result at ``seq``; a cache only, never a source of truth."""
        with self.write_transaction("save a snapshot", run_id) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (run_id, seq, state_schema, state_json, created_ts) "
                "VALUES (?,?,?,?,?)", (run_id, seq, state_schema, state_json, time.time()))

    def load_snapshot(self, run_id: str, *, state_schema: int, max_seq: int | None = None
                      ) -> tuple[int, str] | None:
        """Latest snapshot of this ``state_schema`` at or before ``max_seq``; others are ignored."""
        rows = self._query(
            "SELECT seq, state_json FROM snapshots WHERE run_id = ? AND state_schema = ? "
            "AND seq <= ? ORDER BY seq DESC LIMIT 1",
            (run_id, state_schema, max_seq if max_seq is not None else 2**62))
        return (rows[0][0], rows[0][1]) if rows else None

    def drop_snapshots(self, run_id: str, state_schema: int, seqs: Iterable[int]) -> None:
        """Delete cached snapshots (the log is untouched: they are only a cache of its fold)."""
        seqs = list(seqs)
        with self.write_transaction("drop snapshots", run_id) as conn:
            conn.executemany("DELETE FROM snapshots WHERE run_id = ? AND state_schema = ? AND seq = ?",
                             [(run_id, state_schema, s) for s in seqs])

    def snapshot_seqs(self, run_id: str, state_schema: int) -> list[int]:
        """The seqs the run has snapshots of this ``state_schema`` at, ascending."""
        return [r[0] for r in self._query(
            "SELECT seq FROM snapshots WHERE run_id = ? AND state_schema = ? ORDER BY seq",
            (run_id, state_schema))]


# ---------------------------------------------------------------- helpers of this module


def _payload_text(run_id: str, event: NewEvent) -> str:
    if not isinstance(event.type, str) or not event.type:
        raise EventError(f"run {run_id}: event type must be a non-empty string, got {event.type!r}")
    if not isinstance(event.payload, dict):
        raise EventError(f"run {run_id}: {event.type} payload must be a dict, "
                         f"got {type(event.payload).__name__}")
    if event.ts is not None and not math.isfinite(event.ts):
        raise EventError(f"run {run_id}: {event.type} has a non-finite ts {event.ts!r}")
    try:
        return canonical_json(event.payload)
    except (TypeError, ValueError) as exc:
        raise EventError(f"run {run_id}: {event.type} payload is not plain JSON ({exc}); "
                         "encode NaN/inf and custom objects before appending") from None


def _blob_rows(blobs: Mapping[str, bytes | str]) -> list[tuple[Any, ...]]:
    rows = []
    for sha, data in blobs.items():
        raw = blobcodec.as_bytes(data)
        actual = blobcodec.blob_sha(raw)
        if actual != sha:
            raise EventError(f"blob given as {sha} hashes to {actual}; pass sha256(bytes) as its key")
        codec, packed = blobcodec.encode(raw)
        rows.append((sha, codec, len(raw), packed))
    return rows


def _precheck_file(p: Path, *, create: bool) -> None:
    shown = str(p) if len(str(p)) <= 200 else str(p)[:197] + "..."
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a name too long, a folder on the way that is a file, no permission
        raise StoreUnreadable(f"cannot use {shown} as the database ({exc.strerror}); pass --db with "
                              "another path") from exc
    if mode is None:
        if not create:
            raise StoreMissing(f"no gome database at {shown}; pass --db (or GOME_DB) with the path "
                               "of an existing one, or run a command that creates it")
        if not p.parent.is_dir():
            raise StoreUnreadable(f"cannot create {shown}: folder {p.parent} does not exist")
        return
    if stat.S_ISDIR(mode):
        raise StoreUnreadable(f"{shown} is a directory, not a gome database; pass --db with a file path")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise StoreUnreadable(f"{shown} is {kind}, not a gome database; pass --db with a file path")
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreUnreadable(f"cannot read {p} ({exc.strerror}); check its permissions "
                              "and that this user may read it") from exc
    if head and head != SQLITE_MAGIC:
        raise NotAGomeDatabase(f"{p} is not a SQLite database, so not a gome event store; "
                               "pass --db with the path of a gome database (or a new file name)")


def _connect_readonly(p: Path, shown: str, busy_timeout_s: float, *, immutable: bool) -> sqlite3.Connection:
    """A read-only connection, checked to be a gome store of a schema this code reads."""
    uri = f"{p.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise _open_error(exc, shown) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        version = schema.applied_version(conn, shown)
        schema.check_not_too_new(version, shown)
        if version is None:
            raise StoreMissing(f"{shown} is empty: no gome event store has been written "
                               "there yet; run a gome command that writes first")
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise _open_error(exc, shown) from exc
        raise
    return conn


def _on_readonly_location(p: Path) -> bool:
    """True when neither the file nor its folder can be written (a read-only mount, chattr +i)."""
    folder = p.absolute().parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(folder, os.W_OK) and not os.access(p, os.W_OK)


def _check_no_pending_wal(p: Path, shown: str) -> None:
    """An immutable open ignores the -wal file, so refuse one that still holds commits."""
    wal = Path(f"{p}-wal")
    try:
        size = wal.stat().st_size
    except FileNotFoundError:
        return
    if size > 0:
        raise StoreUnreadable(
            f"{shown} is on a read-only location and its write-ahead log {wal.name} still holds "
            f"{size} bytes of events not yet in the main file; SQLite cannot read those without "
            "writing a -shm file beside them. Copy the database together with its -wal to a "
            "writable folder and pass that path to --db")


def _leak(conn: sqlite3.Connection) -> None:
    """Keep ``conn`` alive until the process exits, so it is never closed (see ``close``)."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn))


def _open_error(exc: sqlite3.Error, shown: str) -> StoreError:
    message = str(exc)
    if "not a database" in message or "malformed" in message:
        return NotAGomeDatabase(f"{shown} is not a readable gome database ({message}); it may be "
                                "corrupt or another kind of file. Restore it from an export or "
                                "pass --db with another path")
    if "locked" in message or "busy" in message:
        return StoreLocked(f"{shown} is locked by another process ({message}); wait for it to "
                           "finish or stop it, then retry")
    if "unable to open" in message or "readonly" in message:
        return StoreUnreadable(f"cannot open {shown} ({message}); check the path and permissions")
    return StoreError(f"cannot open {shown}: {message}")


