"""How blob bytes are compressed at rest.

Pure.  The ``codec`` column names the encoding of each row, so a later codec
(zstd, once the standard library has it) can be added without rewriting old
rows.  Small or incompressible data is kept raw.
"""

from __future__ import annotations

import hashlib
import zlib

CODECS = ("raw", "zlib")


def blob_sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def encode(raw: bytes) -> tuple[str, bytes]:
    if len(raw) >= 64:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw):
            return "zlib", packed
    return "raw", raw


def decode(codec: str, data: bytes) -> bytes:
    if codec == "raw":
        return bytes(data)
    if codec == "zlib":
        return zlib.decompress(data)
    raise ValueError(f"unknown blob codec {codec!r} (this gome knows {', '.join(CODECS)})")
