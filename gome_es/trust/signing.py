"""Signed runs: an Ed25519 signature over a run's chain head, made by ``gome export --sign``.

The hash chain catches accidents, not forgeries: whoever edits an event (a gold score in the last
``SubmissionGraded``) can recompute every hash after it.  A signature over ``(run id, head seq,
head hash)`` by a key the forger does not hold closes that gap, for whoever checks it with the
matching public key (``gome verify --key``, ``gome import --require-signature``).  The head hash
covers every event, and every event names its blobs by their sha256, so the signature covers them too.

Keys are PEM files: PKCS#8 for the private key (created 0600, refused when others can read it),
SubjectPublicKeyInfo for the public one.  A key is named by its *key id*, the first 16 hex digits of
the sha256 of its raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gome_es.core.canonical import canonical_json
from gome_es.errors import GomeError
from gome_es.trust.limits import LimitExceeded, read_bounded

ALG = "ed25519"
SIGNED_FORMAT = "gome-es-run-signature"
_KEY_FILE_MAX = 64 * 1024  # a PEM key is a few hundred bytes


class SigningError(GomeError):
    """A key cannot be made, read or used."""


class SignatureInvalid(GomeError):
    """A run's signature is missing, made with another key, or does not match the run."""

    exit_code = 1


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_message(run_id: str, head_seq: int, head_hash: str) -> bytes:
    """The bytes a signature covers: what the run is, up to which event, and that event's hash."""
    return canonical_json({"format": SIGNED_FORMAT, "version": 1, "run_id": run_id,
                           "head_seq": int(head_seq), "head_hash": head_hash}).encode("utf-8")


# ------------------------------------------------------------------------------------- keys

def generate_keypair(out: Path) -> tuple[Path, str]:
    """A new key pair: the private key at ``out`` (0600), the public one at ``out.pub``.

    Refuses to overwrite either file (or to write through a link); returns the public key's path and
    the key id.
    """
    out = Path(out)
    pub = out.with_name(out.name + ".pub")
    for path in (out, pub):
        if os.path.lexists(path):
            raise SigningError(f"{path} already exists; gome keygen never overwrites a key. "
                               "Choose another --out path or remove the old pair first")
    if not out.parent.is_dir():
        raise SigningError(f"the folder {out.parent} does not exist; create it first or choose another --out")
    private = Ed25519PrivateKey.generate()
    priv_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    pub_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(out, priv_pem, 0o600)
    try:
        _write_new(pub, pub_pem, 0o644)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return pub, key_id(private.public_key())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError:
        raise SigningError(f"{path} already exists; gome keygen never overwrites a key") from None
    except OSError as exc:
        raise SigningError(f"cannot create {path} ({exc.strerror}); choose another --out path") from None
    try:
        os.fchmod(fd, mode)  # whatever the umask says
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_file(path: Path, what: str) -> bytes:
    try:  # a link to a key is followed once, here; the file it names is then opened without following
        return read_bounded(path.resolve(), _KEY_FILE_MAX, f"the {what} {path}")
    except LimitExceeded as exc:
        raise SigningError(f"{exc}; pass a key file written by `gome keygen`") from None


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """The private key in ``path``; refused when the file is a link, or readable by group or others."""
    path = Path(path)
    data = _read_key_file(path, "private key")
    mode = stat.S_IMODE(os.stat(path.resolve(), follow_symlinks=False).st_mode)
    if mode & 0o077:
        raise SigningError(f"the private key {path} can be read by others (mode {mode:04o}); "
                           f"`chmod 600 {path}` and make a new key pair if others may have copied it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not an unencrypted PEM private key ({exc}); "
                           "pass the private key `gome keygen` wrote (not the .pub)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} holds a {type(key).__name__}, not an Ed25519 key; make one with `gome keygen`")
    return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    """The public key in ``path`` (a ``.pub`` file written by ``gome keygen``)."""
    path = Path(path)
    data = _read_key_file(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        hint = " (this looks like a private key: pass the .pub file)" if b"PRIVATE KEY" in data else ""
        raise SigningError(f"{path} is not a PEM public key{hint} ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} holds a {type(key).__name__}, not an Ed25519 key; make one with `gome keygen`")
    return key


# ------------------------------------------------------------------------------- signatures

def sign_head(private: Ed25519PrivateKey, run_id: str, head_seq: int, head_hash: str) -> dict[str, Any]:
    """The signature record an export carries (and a database keeps) for a run's head."""
    public = private.public_key()
    return {"alg": ALG, "key_id": key_id(public), "run_id": run_id, "head_seq": int(head_seq),
            "head_hash": head_hash,
            "signature": base64.b64encode(private.sign(signed_message(run_id, head_seq, head_hash))).decode()}


def check_signature(record: Any, public: Ed25519PublicKey, run_id: str, head_seq: int, head_hash: str,
                    where: str) -> None:
    """Raise :class:`SignatureInvalid` unless ``record`` is a signature by ``public`` over this head.

    ``where`` names the run or file in the message.  The record's own run id, seq and hash must be
    the ones given: a signature of another run, or of an earlier head, does not vouch for this one.
    """
    if not isinstance(record, dict):
        raise SignatureInvalid(f"{where} is not signed; it cannot be checked against a key. "
                               "Ask its author for an export made with `gome export --sign`")
    want = key_id(public)
    if record.get("alg") != ALG:
        raise SignatureInvalid(f"{where} has a signature of kind {record.get('alg')!r}; gome checks {ALG}")
    if record.get("key_id") != want:
        raise SignatureInvalid(f"{where} is signed with key {record.get('key_id')!r}, not with the given "
                               f"key {want}; check that you passed the right public key")
    try:
        sig = base64.b64decode(str(record.get("signature")), validate=True)
    except ValueError:
        raise SignatureInvalid(f"{where}: its signature is not base64; the file was edited") from None
    try:
        public.verify(sig, signed_message(run_id, head_seq, head_hash))
    except InvalidSignature:
        raise SignatureInvalid(f"{where}: the signature by key {want} does not match run {run_id} up to "
                               f"seq {head_seq} (head {head_hash[:16]}); the run or its signature was "
                               "edited after signing") from None
