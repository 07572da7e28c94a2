"""The two ways a side of a diff is read: a run in an open store, or a ``gome export`` file.

I/O edge beside the pure :mod:`gome_es.analysis.diff`: the only code of the diff that
touches a database or a file (through :mod:`gome_es.store`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..analysis.diff import RunSource
from ..core.canonical import canonical_json
from ..errors import ChainBroken, RunNotFound
from ..store import StoredEvent
from ..store import blobs as blobcodec
from ..store.chain import ChainChecker
from ..store.errors import BlobMissing, ExportInvalid
from ..store.exchange import decode_blob, open_export


def source_from_store(store: Any, run_id: str, label: str = "") -> RunSource:
    """A run held in an open :class:`~gome_es.store.EventStore`."""
    events = list(store.read(run_id))
    if not events:
        raise RunNotFound(f"run {run_id} is not in {store.path}; `gome runs --db {store.path}` "
                          "lists the runs it holds (or pass an exported .jsonl[.gz] file instead)")
    return RunSource(run_id, str(store.path), events, store.get_blob, label)


def source_from_export(path: str | Path, label: str = "") -> RunSource:
    """A run in a ``gome export`` file (.jsonl or .jsonl.gz), chain-checked, blobs decoded lazily."""

    p = Path(path)
    where = f"export {p}"
    header, lines = open_export(p)
    run_id = header.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise ExportInvalid(f"{where}: the header names no run_id; the file was edited")
    checker = ChainChecker(run_id)
    events: list[Any] = []
    packed: dict[str, tuple[str, str, Any]] = {}
    ended = False
    try:
        for lineno, obj in lines:
            kind = obj.get("kind") if isinstance(obj, dict) else None
            if kind == "event":
                text = canonical_json(obj.get("payload"))
                payload = checker.feed(obj.get("seq"), obj.get("trace_id"), obj.get("type"),
                                       obj.get("schema_version"), obj.get("ts"), text,
                                       obj.get("prev_hash"), obj.get("hash"))
                events.append(StoredEvent(run_id, obj["seq"], obj["trace_id"], obj["type"],
                                          obj["schema_version"], float(obj["ts"]), payload,
                                          obj["prev_hash"], obj["hash"]))
            elif kind == "blob":
                packed[str(obj.get("sha"))] = (str(obj.get("codec")), str(obj.get("data_b64")), obj.get("size"))
            elif kind == "end":
                ended = True
            else:
                raise ExportInvalid(f"{where}: line {lineno} is neither an event, a blob nor the "
                                    "end line; the file was edited")
    except ChainBroken as brk:
        raise ExportInvalid(f"{where}: run {run_id} is broken at seq {brk.seq} ({brk.reason}); "
                            "re-export it from the source database") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ExportInvalid(f"{where}: an event line is malformed after seq {checker.checked} "
                            f"({exc}); re-export the run") from None
    if not ended or checker.checked != header.get("head_seq"):
        raise ExportInvalid(f"{where} is truncated (events up to seq {checker.checked}, header "
                            f"promises {header.get('head_seq')}); re-export the run")

    def read_blob(sha: str) -> bytes:
        if sha not in packed:
            raise BlobMissing(f"blob {sha} is not in {where}; re-export the run")
        codec, data, size = packed[sha]
        try:  # inflated no further than the size its line declares: a zlib bomb stops there
            raw = decode_blob(codec, base64.b64decode(data, validate=True), size, f"blob {sha}")
        except Exception as exc:  # binascii.Error, a limit passed, unknown codec
            raise ExportInvalid(f"{where}: blob {sha} cannot be decoded ({exc})") from None
        if blobcodec.blob_sha(raw) != sha:
            raise ExportInvalid(f"{where}: blob {sha} does not match its content; the file was edited")
        return raw

    return RunSource(run_id, str(p), events, read_blob, label)
