"""How blob bytes are compressed at rest.

Pure.  The ``codec`` column names the encoding of each row, so a later codec
(zstd, once the standard library has it) can be added without rewriting old
rows.  Small or incompressible data is kept raw.
"""

from __future__ import annotations

import zlib

from ..core.canonical import sha256_hex

CODECS = ("raw", "zlib")

blob_sha = sha256_hex  # a blob's name: the sha256 hex of its raw bytes (str as UTF-8)


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
