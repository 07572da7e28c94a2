"""Canonical JSON and hashing: the byte form that the hash chain signs.

Canonical JSON here means: keys sorted, no insignificant whitespace, UTF-8,
floats in Python's shortest round-trip repr, and non-finite floats refused
(they have no JSON form; callers encode them as strings or None first).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


GENESIS_HASH = "0" * 64


def event_hash(envelope: dict[str, Any], prev_hash: str) -> str:
    """Hash of one event: sha256(canonical JSON of the envelope + prev_hash).

    The envelope holds every stored column except ``hash`` and ``prev_hash``:
    run_id, seq, trace_id, type, schema_version, ts and payload.
    """
    return sha256_hex(canonical_json(envelope) + prev_hash)
