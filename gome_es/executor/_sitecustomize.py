"""Installed as ``sitecustomize.py`` on the solution's PYTHONPATH (copied, not
imported from gome_es): an audit hook that refuses and reports any attempt to
open a forbidden path or to connect a socket to a non-loopback address.
Reports go as JSON lines to the file descriptor named by GOME_AUDIT_FD.

The forbidden paths arrive as salted sha256 digests (GOME_FORBIDDEN, salt in
GOME_FORBIDDEN_SALT), never as paths: the solution's environment must not tell
it where the answers, the databases or gome's source lie.  A path is refused
when it or any folder above it has one of those digests.

This is the visible, in-process layer; the namespaces set up by the launcher
are the barrier that holds even for code that bypasses Python (ctypes, a shell).
The solution shares this process and can write to that descriptor too, so the
executor treats every line on it as the solution's own admission: it can mark
the execution `forbidden_access`, and nothing else (no warnings, no
measurements).  What the sandbox itself reports travels on a descriptor the
solution never holds.
"""

from __future__ import annotations  # annotations stay strings: nothing is imported for them

import hashlib
import json
import os
import sys
import threading

_FD = int(os.environ.get("GOME_AUDIT_FD", "-1"))
_SALT = os.environ.get("GOME_FORBIDDEN_SALT", "")
_FORBIDDEN = frozenset(d for d in os.environ.get("GOME_FORBIDDEN", "").split(",") if d)
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_state = threading.local()
_reported = [0]


def _report(kind: str, **fields: object) -> None:
    if _FD < 0 or _reported[0] >= 200:
        return
    _reported[0] += 1
    try:
        os.write(_FD, (json.dumps({"kind": kind, **fields}, default=str) + "\n").encode())
    except OSError:
        pass


def _forbidden(path: object) -> str | None:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        path = os.fspath(path) if hasattr(path, "__fspath__") else None
        if path is None:
            return None
    candidates = {os.path.abspath(path), os.path.realpath(path)}
    for cand in candidates:
        p = cand
        while True:
            if _digest(p) in _FORBIDDEN:
                return cand
            parent = os.path.dirname(p)
            if parent == p:
                break
            p = parent
    return None


def _digest(path: str) -> str:
    # the executor's runner.forbidden_digests computes the same
    return hashlib.sha256(f"{_SALT}\0{path.rstrip('/') or '/'}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _hook(event: str, args: tuple[object, ...]) -> None:
    if getattr(_state, "busy", False):
        return
    if event in ("open", "os.listdir", "os.scandir", "shutil.copyfile", "os.chdir"):
        target = args[0] if args else None
        if target is None or isinstance(target, int) or not _FORBIDDEN:
            return
        _state.busy = True
        try:
            hit = _forbidden(target)
        finally:
            _state.busy = False
        if hit:
            _report("private_access", event=event, path=hit)
            raise PermissionError(f"gome sandbox: {hit} is outside the solution's closed world")
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1] if event == "socket.connect" else args[-1]
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            if not address[0].startswith(_LOOPBACK):
                _report("network", event=event, address=f"{address[0]}:{address[1] if len(address) > 1 else ''}")
                raise PermissionError(f"gome sandbox: network access to {address[0]} is not allowed")


if _FD >= 0:
    sys.addaudithook(_hook)
