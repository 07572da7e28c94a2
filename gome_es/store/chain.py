"""The hash chain, checked one row at a time.

Pure: given rows in seq order, :class:`ChainChecker` says whether each is
intact and stops at the first that is not, naming its seq.  ``verify`` on the
live store and ``import`` of an export both stream rows through it, so a
whole run is never held in memory.  Also finds the blob references inside a
payload (fields named ``*_sha`` and lists named ``*_shas``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterator

from ..core.canonical import GENESIS_HASH, canonical_json, event_hash
from ..errors import ChainBroken

HEX64 = frozenset("0123456789abcdef")


def is_sha256_hex(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX64


def row_hash(run_id: str, seq: int, trace_id: str | None, type_: str,
             schema_version: int, ts: float, payload: dict[str, Any], prev_hash: str) -> str:
    envelope = {
        "run_id": run_id,
        "seq": seq,
        "trace_id": trace_id,
        "type": type_,
        "schema_version": schema_version,
        "ts": ts,
        "payload": payload,
    }
    return event_hash(envelope, prev_hash)


def chain_break(seq: int, reason: str) -> ChainBroken:
    """The error for the row at ``seq``, bad for ``reason`` (both kept on it for the caller's message)."""
    return ChainBroken(f"seq {seq}: {reason}", seq=seq, reason=reason)


class ChainChecker:
    """Feeds rows in seq order; raises :class:`~gome_es.errors.ChainBroken` at the first bad one.

    ``payload_text`` is the stored JSON text: it must parse to an object and be
    byte-identical to its canonical form, so an edit that the hash would not
    notice (whitespace, key order) still counts as tampering.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH

    @property
    def checked(self) -> int:
        return self.expected_seq - 1

    def feed(self, seq: Any, trace_id: Any, type_: Any, schema_version: Any, ts: Any,
             payload_text: Any, prev_hash: Any, hash_: Any) -> dict[str, Any]:
        expected = self.expected_seq
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise chain_break(expected, f"seq is {seq!r}, not an integer")
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}..{seq - 1}"
            raise chain_break(expected, f"{missing} missing (next row found is seq {seq})")
        if seq < expected:
            raise chain_break(seq, f"seq {seq} appears again after seq {expected - 1}")
        if not isinstance(type_, str) or not type_:
            raise chain_break(seq, f"type is {type_!r}, not a non-empty string")
        if trace_id is not None and not isinstance(trace_id, str):
            raise chain_break(seq, f"trace_id is {trace_id!r}, not a string or null")
        if not isinstance(schema_version, int) or isinstance(schema_version, bool) or schema_version < 1:
            raise chain_break(seq, f"schema_version is {schema_version!r}, not a positive integer")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
            raise chain_break(seq, f"ts is {ts!r}, not a finite number")
        try:
            payload = json.loads(payload_text) if isinstance(payload_text, str) else None
        except ValueError as exc:
            raise chain_break(seq, f"payload is not valid JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise chain_break(seq, "payload is not a JSON object")
        if canonical_json(payload) != payload_text:
            raise chain_break(seq, "payload text is not in canonical form (edited outside gome)")
        if prev_hash != self.prev_hash:
            raise chain_break(seq, "prev_hash does not match the hash of the event before it")
        computed = row_hash(self.run_id, seq, trace_id, type_, schema_version, float(ts),
                            payload, self.prev_hash)
        if hash_ != computed:
            raise chain_break(seq, "hash does not match the event's content (row edited or moved)")
        self.expected_seq = seq + 1
        self.prev_hash = computed
        return payload


def blob_refs(value: Any) -> Iterator[str]:
    """Every sha256 referenced by a ``*_sha`` field or ``*_shas`` list, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.endswith("_sha") and is_sha256_hex(item):
                yield item
            elif isinstance(key, str) and key.endswith("_shas") and isinstance(item, list):
                yield from (s for s in item if is_sha256_hex(s))
            else:
                yield from blob_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from blob_refs(item)


def blob_ref_fields(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, sha256) for every blob reference, as :func:`blob_refs` finds them.

    The path names the field the way a reader finds it in the payload:
    ``code_sha``, ``request.messages_sha``, ``attachments_shas[2]``.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and key.endswith("_sha") and is_sha256_hex(item):
                yield here, item
            elif isinstance(key, str) and key.endswith("_shas") and isinstance(item, list):
                yield from ((f"{here}[{i}]", s) for i, s in enumerate(item) if is_sha256_hex(s))
            else:
                yield from blob_ref_fields(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from blob_ref_fields(item, f"{path}[{i}]")
