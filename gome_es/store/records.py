"""The plain value types the event store accepts and hands out.

Frozen dataclasses, no behaviour: what a caller appends (:class:`NewEvent`),
what a read returns (:class:`StoredEvent`) and the summaries of runs,
verification and export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    """An event a caller wants appended; the store assigns seq and hashes."""

    type: str
    payload: dict[str, Any]
    trace_id: str | None = None
    ts: float | None = None  # None: the store stamps time.time() at append
    schema_version: int = 1


@dataclass(frozen=True)
class StoredEvent:
    """One row of the ``events`` table, payload decoded."""

    run_id: str
    seq: int
    trace_id: str | None
    type: str
    schema_version: int
    ts: float
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def envelope(self) -> dict[str, Any]:
        """The fields the hash signs (every column but the two hashes)."""
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "trace_id": self.trace_id,
            "type": self.type,
            "schema_version": self.schema_version,
            "ts": self.ts,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    task: str | None  # RunStarted.payload["task_id"]
    status: str  # RunFinished.payload["status"], else "running" / "unknown"
    created: float  # ts of seq 1
    events: int
    last_ts: float


@dataclass(frozen=True)
class VerifyReport:
    run_id: str
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str | None = None


@dataclass(frozen=True)
class ExportSummary:
    run_id: str
    path: str
    events: int
    blobs: int
    head_hash: str
    bytes: int
