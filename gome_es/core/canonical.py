"""Canonical JSON and hashing: the byte form that the hash chain signs.

Canonical JSON here means: keys sorted, no insignificant whitespace, UTF-8,
floats in Python's shortest round-trip repr, and non-finite floats refused
(they have no JSON form; callers encode them as strings or None first).

Two encoders give that text:

* :func:`canonical_json` is the reference (the standard library's encoder),
  strict about non-finite floats.  The store signs events with it.
* :func:`fast_canonical_json` gives the very same text for every value the
  reference accepts, about ten times faster, through orjson.  orjson formats
  strings, ints, key order and most floats exactly as the reference does; it
  writes floats below 1e-4 differently (``1e-5`` or ``0.00001`` where Python
  writes ``1e-05``), so whenever its output holds a number token of that shape
  (or something inside a string that looks like one) the reference encodes the
  value instead.  Ints beyond 64 bits, non-str keys, subclasses of the JSON
  types, dataclasses, datetimes and lone surrogates also go to the reference.
  Two differences are kept: a non-finite float becomes ``null`` instead of
  raising, and a plain enum or a UUID is written where the reference refuses
  it.  The
  policy encodes with it only values built from stored events, which the
  store has already refused to hold non-finite.  Property-tested against the
  reference in ``tests/core/test_canonical.py``.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
import orjson


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


_FAST_OPTS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_NUMBER_CHARS = frozenset(b"0123456789.")
_BEFORE_NUMBER = b":,[-"


def _maybe_small_float(out: bytes) -> bool:
    """Whether orjson's output may hold a float it writes unlike float.__repr__.

    Those are the floats below 1e-4 in magnitude, which orjson writes as
    ``0.0000...`` or with a negative exponent.  In compact output a number
    token starts the text or follows ':', ',', '[' (or its '-' sign).  A string
    holding such text is a false alarm: it only costs a trip through the
    reference encoder.  Two substring scans, so the common case stays cheap.
    """
    i = out.find(b"e-")
    while i != -1:
        j = i
        while j > 0 and out[j - 1] in _NUMBER_CHARS:
            j -= 1
        if j < i and (j == 0 or out[j - 1] in _BEFORE_NUMBER):
            return True
        i = out.find(b"e-", i + 2)
    i = out.find(b"0.0000")
    while i != -1:
        if i == 0 or out[i - 1] in _BEFORE_NUMBER:
            return True
        i = out.find(b"0.0000", i + 6)
    return False


def fast_canonical_json(value: Any) -> str:
    """:func:`canonical_json`'s text, faster (non-finite floats become null)."""
    try:
        out = orjson.dumps(value, default=_refuse, option=_FAST_OPTS)
    except (TypeError, orjson.JSONEncodeError):
        return canonical_json(value)
    if _maybe_small_float(out):
        return canonical_json(value)
    return out.decode("utf-8")


def json_string(text: str) -> str:
    """One str as a canonical JSON string literal (quotes and escapes)."""
    try:
        return orjson.dumps(text).decode("utf-8")
    except orjson.JSONEncodeError:  # lone surrogates: the reference passes them through
        return canonical_json(text)


_decode = msgspec.json.Decoder().decode


def loads(text: str | bytes) -> Any:
    """Parse JSON as ``json.loads`` does, faster (msgspec).

    msgspec keeps ints past 64 bits exact (orjson's decoder would turn them
    into floats); what it refuses (``NaN``, a lone surrogate escape, a number
    out of float range) goes to the standard library, which parses it or
    refuses it with its own error.
    """
    try:
        return _decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def leaf_diff(a: Any, b: Any, path: str = "", names: tuple[str, str] = ("a", "b")) -> list[dict[str, Any]]:
    """Leaf-level differences between two JSON values, each ``{"path", names[0], names[1]}``.

    Keys of dicts are walked in order (a key on one side only is one difference
    with a ``note``), lists of equal length item by item (unequal lengths are
    one difference), and leaves compared by canonical text, so ``1`` and ``1.0``
    differ.  Equal subtrees of the same type are skipped.  A ``path`` ending in
    ':' (a field inside a blob) is continued without a dot.  Replay and diff both
    report with it.
    """
    left, right = names
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[dict[str, Any]] = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path and not path.endswith(":") else f"{path}{k}"
            if k not in a:
                out.append({"path": p, left: None, right: b[k], "note": f"only {right}"})
            elif k not in b:
                out.append({"path": p, left: a[k], right: None, "note": f"only {left}"})
            elif a[k] != b[k] or type(a[k]) is not type(b[k]):
                out.extend(leaf_diff(a[k], b[k], p, names))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(leaf_diff(x, y, f"{path}[{i}]", names))
        return out
    if canonical_json(a) != canonical_json(b):
        return [{"path": path, left: a, right: b}]
    return []


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
