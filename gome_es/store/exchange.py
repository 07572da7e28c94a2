"""Export files: one run, self-contained, as JSON lines (optionally gzipped).

Layout, one JSON object per line::

    {"format": "gome-es-export", "format_version": 1, "run_id": ..., "head_seq": N, "head_hash": ...}
    {"kind": "event", "seq": 1, "trace_id": ..., "type": ..., "schema_version": ..,
     "ts": .., "payload": {...}, "prev_hash": ..., "hash": ...}          (seq 1..N, in order)
    {"kind": "blob", "sha": ..., "size": .., "codec": "zlib"|"raw", "data_b64": ...}
    {"kind": "end", "events": N, "blobs": M}

The header and the end line let import tell a truncated file (no end line,
fewer events than the header promises) from an edited one (the hash chain
breaks at the edited seq).  Import streams the file inside one write
transaction: either the whole run arrives, with its blobs, or nothing does.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..core.canonical import GENESIS_HASH, canonical_json
from ..errors import ChainBroken, EventError, RunExists, RunNotFound, StoreError
from ..trust import limits
from . import blobs as blobcodec
from .chain import ChainChecker, blob_refs, chain_break, is_sha256_hex, row_hash
from .errors import ExportInvalid
from .records import ExportSummary
from .runids import check_run_id, shown_id

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey




class StoreForExchange(Protocol):
    """What export and import need of a store (:class:`~gome_es.store.eventstore.EventStore` is one).

    Named here rather than imported, so the store's module can call this one without the
    two importing each other."""

    path: str

    def head(self, run_id: str) -> tuple[int, str]: ...
    def run_exists(self, run_id: str) -> bool: ...
    def has_blob(self, sha: str) -> bool: ...
    def get_blob(self, sha: str) -> bytes: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def raw_rows(self, run_id: str, *, to_seq: int | None = None, batch: int = 1000) -> Iterator[tuple[Any, ...]]: ...
    def write_transaction(self, what: str = "write", run_id: str | None = None
                          ) -> AbstractContextManager[sqlite3.Connection]: ...


FORMAT = "gome-es-export"
FORMAT_VERSION = 1
INSERT_BATCH = 500
HEADER_MAX_BYTES = 1 << 20  # the first line: a few hundred bytes in every export gome writes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def export_run(store: StoreForExchange, run_id: str, path: Path,
               sign_key: "Ed25519PrivateKey | None" = None) -> ExportSummary:
    """Write the run (up to its head when export starts) and its blobs to ``path``.

    ``path`` is replaced atomically, so it must be a regular file or not exist
    yet (the CLI's ``-o`` checks that, and resolves a symlink to its target).
    With ``sign_key`` the header carries a signature over the head (see
    :mod:`gome_es.trust.signing`); without one, a signature the database holds for
    exactly this head (from a signed import) is carried on.
    """
    head_seq, head_hash = store.head(run_id)
    if head_seq == 0:
        raise RunNotFound(f"run {shown_id(run_id)} has no events in {store.path}; nothing to export "
                          "(`gome runs` lists the runs it holds)")
    if sign_key is not None:
        # lazy: cryptography loads only to sign or check a signature (keeps gome <cmd> --help light)
        from ..trust.signing import sign_head

        signature: dict[str, Any] | None = sign_head(sign_key, run_id, head_seq, head_hash)
    else:
        signature = stored_signature(store, run_id)
        if signature is not None and (signature["head_seq"], signature["head_hash"]) != (head_seq, head_hash):
            signature = None  # it vouches for an earlier head, not for what is exported
    # a new, exclusively created temporary file beside the target (never a name someone could
    # have planted a link at), renamed over it once complete
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, part_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise StoreError(f"cannot write the export of run {run_id} to {path} ({exc.strerror}); "
                         "choose another -o path") from exc
    part = Path(part_name)
    checker = ChainChecker(run_id)
    refs: dict[str, int] = {}
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600; an export is an ordinary file
        with os.fdopen(fd, "wb") as raw:
            out = gzip.GzipFile(fileobj=raw, mode="wb") if path.name.endswith(".gz") else raw

            def put(obj: dict[str, Any]) -> None:
                out.write((canonical_json(obj) + "\n").encode("utf-8"))

            header = {"format": FORMAT, "format_version": FORMAT_VERSION, "run_id": run_id,
                      "head_seq": head_seq, "head_hash": head_hash, "exported_at": time.time()}
            if signature is not None:
                header["signature"] = signature
            put(header)
            for row in store.raw_rows(run_id, to_seq=head_seq):
                seq, trace_id, type_, version, ts, _text, prev_hash, hash_ = row
                try:
                    payload = checker.feed(*row)
                except ChainBroken as brk:
                    raise ChainBroken(f"run {run_id} in {store.path} is damaged at seq {brk.seq} "
                                      f"({brk.reason}); export refused. `gome verify {run_id}` "
                                      "shows the break") from None
                for sha in blob_refs(payload):
                    refs.setdefault(sha, seq)
                put({"kind": "event", "seq": seq, "trace_id": trace_id, "type": type_,
                     "schema_version": version, "ts": ts, "payload": payload, "prev_hash": prev_hash,
                     "hash": hash_})
            for sha in sorted(refs):
                blob = store.get_blob(sha)
                codec, packed = blobcodec.encode(blob)
                put({"kind": "blob", "sha": sha, "size": len(blob), "codec": codec,
                     "data_b64": base64.b64encode(packed).decode()})
            put({"kind": "end", "events": head_seq, "blobs": len(refs)})
            if out is not raw:
                out.close()  # writes the gzip trailer; a GzipFile leaves the file it was given open
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, path)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(f"could not write the export of run {run_id} to {path} ({exc.strerror or exc}); "
                             "nothing was replaced. Free some space or choose another -o path") from exc
        raise
    return ExportSummary(run_id, str(path), head_seq, len(refs), head_hash, path.stat().st_size)


def open_export(path: str | Path) -> tuple[dict[str, Any], Iterator[tuple[int, Any]]]:
    """The checked header of an export file and an iterator over its remaining (lineno, object) lines."""
    lines = _read_lines(Path(path))
    where = f"export {path}"
    try:
        _, header = next(lines)
    except StopIteration:
        raise ExportInvalid(f"{where} is empty; re-export the run") from None
    except ExportInvalid as exc:
        raise ExportInvalid(f"{where}: {exc}; it is not a gome export") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ExportInvalid(f"{where} does not start with a gome-es-export header; "
                            "it is not a gome export (pass a file written by `gome export`)")
    if header.get("format_version") != FORMAT_VERSION:
        raise ExportInvalid(f"{where} has export format version {header.get('format_version')!r}; "
                            f"this gome reads version {FORMAT_VERSION}; upgrade gome-es")
    return header, lines


def export_limits() -> tuple[int, int]:
    """The limits an export is read under: bytes in one decompressed line, and in the whole stream.

    The defaults (:data:`gome_es.trust.limits.MAX_LINE_BYTES`, ``MAX_STREAM_BYTES``) are far above
    what real runs write; ``GOME_EXPORT_MAX_LINE_MB`` and ``GOME_EXPORT_MAX_MB`` raise or lower them.
    """
    return (_env_mb("GOME_EXPORT_MAX_LINE_MB", limits.MAX_LINE_BYTES),
            _env_mb("GOME_EXPORT_MAX_MB", limits.MAX_STREAM_BYTES))


def _env_mb(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value > 2**40:
        raise ExportInvalid(f"{name}={text!r} is not a positive number of MB; unset it or give e.g. 512")
    return int(value * 2**20)


def _read_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded object) for each line; damage becomes ExportInvalid.

    Read a chunk at a time under :func:`export_limits`: a line, or a whole stream, that would inflate
    past them (a gzip bomb) is refused before it is held in memory.  The header line is small in every
    export gome writes, so the first line is held to :data:`HEADER_MAX_BYTES`.
    """
    max_line, max_total = export_limits()
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ExportInvalid(f"cannot read export {path} ({exc.strerror})") from exc
    lineno = 0
    with fh:
        try:
            gz = fh.read(2) == b"\x1f\x8b"
            fh.seek(0)
            reader = limits.gzip_lines if gz else limits.plain_lines
            stream = reader(fh, what="the file", max_line=max_line, max_total=max_total,
                            max_first_line=HEADER_MAX_BYTES)
            for lineno, raw in enumerate(stream, start=1):
                if not raw.endswith(b"\n"):
                    raise ExportInvalid(f"line {lineno}: the file ends mid-line")
                try:
                    yield lineno, json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise ExportInvalid(f"the file is damaged after line {lineno - 1} ({exc})") from None
                except ValueError as exc:
                    raise ExportInvalid(f"line {lineno} is not valid JSON ({exc})") from None
                except RecursionError:
                    raise ExportInvalid(f"line {lineno} nests JSON arrays or objects too deeply to "
                                        "read; no gome event is built that way") from None
        except limits.TooLarge as exc:
            raise ExportInvalid(f"{exc} (at line {lineno + 1}); nothing was read past it (raise "
                                "GOME_EXPORT_MAX_LINE_MB / GOME_EXPORT_MAX_MB only for a file you trust)") from None
        except limits.LimitExceeded as exc:
            raise ExportInvalid(f"the file is damaged after line {lineno} ({exc})") from None
        except OSError as exc:
            raise ExportInvalid(f"cannot read export {path} after line {lineno} ({exc.strerror or exc})") from None


class PayloadValidator(Protocol):
    """Checks one event's type and payload at its schema version; raises EventError.

    The store never imports the event vocabulary: whoever opens it hands this in
    (gome's callers pass ``gome_es.core.events.validate_payload``)."""

    def __call__(self, type_: str, payload: dict[str, Any], version: int, /) -> Any: ...


class _EventCheck:
    """Applies the validator handed in, naming the file and seq of a bad event."""

    def __init__(self, validate: PayloadValidator | None) -> None:
        self.validate = validate

    def __call__(self, where: str, seq: int, type_: str, version: int, payload: dict[str, Any]) -> None:
        if self.validate is None:
            return
        try:
            self.validate(type_, payload, version)
        except EventError as exc:
            raise type(exc)(f"{where}: seq {seq}: {exc}") from None


def import_run(store: StoreForExchange, path: Path, *, run_id: str | None = None,
               validate: PayloadValidator | None = None,
               require_key: "Ed25519PublicKey | None" = None) -> str:
    """Import an export file as a new run; returns the run id it was stored under.

    Every event's type and payload go through ``validate`` when one is given (the
    chain and blobs are always checked).  With ``require_key``, the file must carry
    a signature by that key over its head (checked before anything is read further;
    the chain is then checked to end at that head); a file's signature is kept in the
    database when it is imported under its own run id, for ``gome verify --key``.

    The chain is checked line by line against the original run id; with
    ``run_id`` given, the events are re-chained under the new id (the hash
    signs the run id).  Refuses a run id that already exists.
    """
    header, lines = open_export(path)
    where = f"export {path}"
    source = header.get("run_id")
    head_seq, head_hash = header.get("head_seq"), header.get("head_hash")
    if not isinstance(source, str) or not source or not isinstance(head_seq, int):
        raise ExportInvalid(f"{where}: header lacks run_id/head_seq; the file was edited")
    target = check_run_id(run_id or source, "the run id to import under" if run_id else
                          f"{where}: the run id in the file (pass --run-id to store it under another)")
    signature = header.get("signature")
    if require_key is not None:
        # lazy: cryptography loads only to sign or check a signature (keeps gome <cmd> --help light)
        from ..trust.signing import check_signature

        check_signature(signature, require_key, source, head_seq, str(head_hash), where)
    check = _EventCheck(validate)
    checker = ChainChecker(source)
    needed: dict[str, int] = {}
    have: set[str] = set()
    new_prev = GENESIS_HASH
    ended = False
    with store.write_transaction("import a run", target) as conn:
        if store.run_exists(target):
            raise RunExists(f"run {target} already exists in {store.path}; nothing imported. "
                            "Import under another id with --run-id NEW_ID")
        rows: list[tuple[Any, ...]] = []
        try:
            for lineno, obj in lines:
                kind = obj.get("kind") if isinstance(obj, dict) else None
                if ended:
                    raise ExportInvalid(f"{where}: line {lineno} follows the end line; the file was edited")
                if kind == "event":
                    if have:
                        raise ExportInvalid(f"{where}: line {lineno} has an event after the blobs")
                    payload = obj.get("payload")
                    seq = obj.get("seq")
                    try:
                        text = canonical_json(payload)
                        checker.feed(seq, obj.get("trace_id"), obj.get("type"),
                                     obj.get("schema_version"), obj.get("ts"), text,
                                     obj.get("prev_hash"), obj.get("hash"))
                    except (TypeError, ValueError):
                        raise chain_break(checker.expected_seq, "payload is not plain JSON") from None
                    check(where, seq, obj["type"], obj["schema_version"], payload)
                    for sha in blob_refs(payload):
                        needed.setdefault(sha, seq)
                    ts = float(obj["ts"])
                    new_hash = obj["hash"] if target == source else row_hash(
                        target, seq, obj["trace_id"], obj["type"], obj["schema_version"], ts,
                        payload, new_prev)
                    rows.append((target, seq, obj["trace_id"], obj["type"], obj["schema_version"],
                                 ts, text, new_prev, new_hash))
                    new_prev = new_hash
                    if len(rows) >= INSERT_BATCH:
                        _insert(conn, rows)
                elif kind == "blob":
                    have.add(_import_blob(conn, obj, where, lineno))
                elif kind == "end":
                    ended = True
                    if obj.get("events") != checker.checked or obj.get("blobs") != len(have):
                        raise ExportInvalid(
                            f"{where}: the end line promises {obj.get('events')} events and "
                            f"{obj.get('blobs')} blobs, the file holds {checker.checked} and "
                            f"{len(have)}; the file was edited")
                else:
                    raise ExportInvalid(f"{where}: line {lineno} is neither an event, a blob "
                                        "nor the end line; the file was edited")
        except ChainBroken as brk:
            raise ChainBroken(f"{where}: run {source} is broken at seq {brk.seq} ({brk.reason}); "
                              "nothing imported. The file was edited or damaged: re-export it "
                              "from the source database") from None
        except ExportInvalid as exc:
            if str(exc).startswith(where):
                raise
            raise ExportInvalid(f"{where}: {exc} (last complete event: seq {checker.checked}); "
                                "nothing imported. Re-export the run from the source") from None
        _insert(conn, rows)
        if checker.checked == head_seq and checker.prev_hash != head_hash:
            raise ExportInvalid(
                f"{where}: its events end at seq {head_seq} with hash {checker.prev_hash[:16]}, not the head "
                f"{str(head_hash)[:16]} its header names (and any signature covers); the file was edited. "
                "Nothing imported")
        if checker.checked != head_seq or checker.prev_hash != head_hash:
            raise ExportInvalid(
                f"{where} is truncated: it ends after seq {checker.checked} but its header "
                f"promises seq {head_seq}; nothing imported. Re-export the run from the source")
        if not ended:
            raise ExportInvalid(f"{where} is truncated: all {head_seq} events are there but the "
                                "blobs or the end line are missing; nothing imported. Re-export it")
        for sha, seq in needed.items():
            if sha not in have and not store.has_blob(sha):
                raise ExportInvalid(f"{where}: seq {seq} references blob {sha}, which is neither "
                                    "in the file nor in the database; nothing imported")
        record = _signature_record(signature)
        if target == source and record is not None:
            conn.execute("INSERT OR REPLACE INTO run_signatures (run_id, head_seq, head_hash, alg, key_id, "
                         "signature, stored_ts) VALUES (?,?,?,?,?,?,?)",
                         (target, record["head_seq"], record["head_hash"], record["alg"],
                          record["key_id"], record["signature"], time.time()))
    return target


_SIGNATURE_FIELDS = {"alg": str, "key_id": str, "head_seq": int, "head_hash": str, "signature": str}


def _signature_record(obj: Any) -> dict[str, Any] | None:
    """``obj`` when it has a signature record's fields and types (not yet checked against a key)."""
    if not isinstance(obj, dict) or any(not isinstance(obj.get(k), t) for k, t in _SIGNATURE_FIELDS.items()):
        return None
    return obj


def stored_signature(store: StoreForExchange, run_id: str) -> dict[str, Any] | None:
    """The signature record the database keeps for ``run_id`` (from a signed import), or None."""
    try:
        rows = store.query("SELECT head_seq, head_hash, alg, key_id, signature FROM run_signatures "
                            "WHERE run_id = ?", (run_id,))
    except StoreError as exc:
        if "no such table" in str(exc):  # a database from before schema 4, opened read-only
            return None
        raise
    if not rows:
        return None
    head_seq, head_hash, alg, kid, sig = rows[0]
    return {"alg": alg, "key_id": kid, "run_id": run_id, "head_seq": head_seq, "head_hash": head_hash,
            "signature": sig}


def check_stored_signature(store: StoreForExchange, run_id: str, public: "Ed25519PublicKey",
                           head_seq: int) -> dict[str, Any]:
    """Raise :class:`~gome_es.trust.signing.SignatureInvalid` unless the run is signed by ``public``
    up to its head ``head_seq`` (whose chain the caller has verified); returns the record."""
    # lazy: cryptography loads only to sign or check a signature (keeps gome <cmd> --help light)
    from ..trust.signing import SignatureInvalid, check_signature

    where = f"run {run_id} in {store.path}"
    record = stored_signature(store, run_id)
    if record is None:
        raise SignatureInvalid(f"{where} is not signed (only a run imported from an export made with "
                               "`gome export --sign`, under its own run id, carries a signature)")
    signed_seq = int(record["head_seq"])
    rows = store.query("SELECT hash FROM events WHERE run_id = ? AND seq = ?", (run_id, signed_seq))
    if not rows:
        raise SignatureInvalid(f"{where}: the signature covers seq {signed_seq}, which the run does not have")
    check_signature(record, public, run_id, signed_seq, rows[0][0], where)
    if signed_seq != head_seq:
        raise SignatureInvalid(f"{where}: the signature covers seqs 1-{signed_seq}; seqs {signed_seq + 1}-"
                               f"{head_seq} were appended after signing and nobody vouches for them")
    return record


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO events (run_id, seq, trace_id, type, schema_version, ts, payload, "
        "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    rows.clear()


def blob_limit() -> int:
    """The most bytes one blob of an export may inflate to: four times the line limit (1 GiB by default)."""
    return 4 * export_limits()[0]


def decode_blob(codec: Any, packed: bytes, declared_size: Any, what: str) -> bytes:
    """A blob's raw bytes, inflated no further than its declared size (and :func:`blob_limit`).

    A zlib bomb in a blob line is refused as soon as it passes the size its line declares."""
    limit = blob_limit()
    if isinstance(declared_size, int) and not isinstance(declared_size, bool) and 0 <= declared_size < limit:
        limit = declared_size
    if codec == "zlib":
        return limits.inflate(packed, limit, what)
    raw = blobcodec.decode(str(codec), packed)
    if len(raw) > limit:
        raise limits.TooLarge(f"{what} is {len(raw)} bytes, over the {limit} bytes it may hold")
    return raw


def _import_blob(conn: sqlite3.Connection, obj: dict[str, Any], where: str, lineno: int) -> str:
    sha = obj.get("sha")
    try:
        packed = base64.b64decode(obj["data_b64"], validate=True)
        raw = decode_blob(obj["codec"], packed, obj.get("size"), f"blob {sha}")
    except Exception as exc:
        raise ExportInvalid(f"{where}: line {lineno}: blob {sha} cannot be decoded ({exc})") from None
    if not is_sha256_hex(sha) or blobcodec.blob_sha(raw) != sha:
        raise ExportInvalid(f"{where}: line {lineno}: blob {sha} does not match its content; "
                            "the file was edited")
    codec, packed = blobcodec.encode(raw)
    conn.execute("INSERT OR IGNORE INTO blobs (sha, codec, size, data) VALUES (?,?,?,?)",
                 (sha, codec, len(raw), packed))
    return str(sha)  # already checked to be a sha256 hex string
