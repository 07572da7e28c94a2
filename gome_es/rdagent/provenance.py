"""Where every step of an imported run came from.  Pure: events in, rows out.

Imported steps name their source files in their declared ``provenance`` field
(path in the log folder, dialect, signature status, hash, size, pid, the
logger's timestamp, with the foreign loop and step).  Logs imported before
that field existed carry instead one ``ImportedRecord`` per file, appended just
before the events derived from it, whose summary lists those events' types
(``derived``); :func:`step_sources` attributes each such file to the next
events of those types, so old logs answer the same question.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..core.events import upcast
from ..core.vocabulary import EventType


def _files(prov: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((prov or {}).get("files") or [])


def step_sources(events: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per event that came from foreign files: seq, type, trace, loop, step, files."""
    rows: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], list[str], dict[str, Any]]] = []  # old logs: (file, types, prov)
    for ev in events:
        payload = ev.payload
        if ev.type == EventType.ImportedRecord:
            payload = upcast(ev.type, ev.schema_version, payload)
            prov = payload.get("provenance") or {}
            derived = list((payload.get("summary") or {}).get("derived") or [])
            if derived and ev.schema_version < 2:  # an old log's per-file record
                for f in _files(prov):
                    pending.append((f, derived, prov))
                continue
            rows.append(_row(ev, prov, _files(prov), standalone=True))
            continue
        prov = payload.get("provenance")
        if prov:
            rows.append(_row(ev, prov, _files(prov)))
            continue
        claimed = []
        for item in pending:
            f, types, old = item
            if ev.type in types:
                types.remove(ev.type)
                claimed.append((f, old))
        pending = [p for p in pending if p[1]]
        if claimed:
            rows.append(_row(ev, claimed[0][1], [f for f, _ in claimed], inferred=True))
    return rows


def _row(ev: Any, prov: dict[str, Any], files: list[dict[str, Any]], *, standalone: bool = False,
         inferred: bool = False) -> dict[str, Any]:
    row = {"seq": ev.seq, "type": ev.type, "trace": ev.trace_id, "source": prov.get("source"),
           "loop": prov.get("loop"), "step": prov.get("step"),
           "files": [{k: f.get(k) for k in ("path", "dialect", "signature", "sha256") if k in f} for f in files]}
    if standalone:
        row["standalone"] = True  # a file no step came from (checkpoint, undecodable, unknown)
    if inferred:
        row["inferred"] = True  # attributed from an old log's per-file ImportedRecord
    return row


def summarise_sources(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts for `gome show`: files by dialect and signature status, steps with a source."""
    files: dict[str, dict[str, Any]] = {}
    for r in rows:
        for f in r["files"]:
            files[f.get("path") or ""] = f
    by: dict[str, int] = {}
    for f in files.values():
        key = f"{f.get('dialect', '?')}/{f.get('signature', '?')}"
        by[key] = by.get(key, 0) + 1
    return {"steps": sum(1 for r in rows if not r.get("standalone")),
            "standalone_records": sum(1 for r in rows if r.get("standalone")),
            "files": len(files), "files_by_dialect_signature": by}
