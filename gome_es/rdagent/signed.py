"""The two file dialects of RD-Agent pickles, and signature checks.

Older RD-Agent releases write plain pickles.  Newer ones (``rdagent.core.serialization``)
write ``b"RDAGENT_SIGNED_PICKLE_V1\\n"``, then a 32-byte HMAC-SHA256 of the pickle
bytes, then the pickle bytes.  RD-Agent's HMAC key is either
``sha256(ARTIFACT_SIGNING_KEY.encode())`` when that setting (at least 32 bytes) is
configured, or the raw bytes of its key file.  :func:`signing_key` turns what a
user passes into that key: a plain string is taken as ``ARTIFACT_SIGNING_KEY``;
``file:PATH`` reads the raw key file; ``hex:...`` gives the raw key in hex.

Pure apart from reading a key file named explicitly by the user.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImportTraceError

MAGIC = b"RDAGENT_SIGNED_PICKLE_V1\n"
DIGEST_SIZE = 32


class PickleSignatureInvalid(ImportTraceError):
    """A signed RD-Agent file does not match the key: it was altered or signed by someone else."""


@dataclass(frozen=True)
class Unwrapped:
    payload: bytes  # the pickle bytes
    dialect: str  # "plain" or "signed"
    signature: str  # "verified", "not_checked" (no key), "unsigned" (plain file)


def signing_key(spec: str) -> bytes:
    """The HMAC key RD-Agent would use, from ``--hmac-key`` / ``RDAGENT_HMAC_KEY``."""
    if spec.startswith("file:"):
        path = Path(spec[5:]).expanduser()
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ImportTraceError(
                f"cannot read the HMAC key file {path}: {exc.strerror}; pass the key file RD-Agent "
                "wrote (its artifact_signing_key_path) or the ARTIFACT_SIGNING_KEY string"
            ) from None
    if spec.startswith("hex:"):
        try:
            return bytes.fromhex(spec[4:])
        except ValueError:
            raise ImportTraceError("--hmac-key hex:... is not valid hex; pass the raw key as hex digits") from None
    return hashlib.sha256(spec.encode()).digest()


def unwrap(data: bytes, *, key: bytes | None, source: str) -> Unwrapped:
    """Split a file into its pickle bytes, checking the signature when a key is given."""
    if not data.startswith(MAGIC):
        return Unwrapped(data, "plain", "unsigned")
    digest = data[len(MAGIC):len(MAGIC) + DIGEST_SIZE]
    payload = data[len(MAGIC) + DIGEST_SIZE:]
    if key is None:
        return Unwrapped(payload, "signed", "not_checked")
    expected = hmac.digest(key, payload, "sha256")
    if len(digest) != DIGEST_SIZE or not hmac.compare_digest(digest, expected):
        raise PickleSignatureInvalid(
            f"{source}: the RD-Agent signature does not match the given key; the file was altered "
            "or signed with another key. Nothing from it was decoded. Check --hmac-key (a plain "
            "string is RD-Agent's ARTIFACT_SIGNING_KEY; file:PATH reads its raw key file)."
        )
    return Unwrapped(payload, "signed", "verified")
