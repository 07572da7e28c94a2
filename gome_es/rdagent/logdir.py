"""Walking an RD-Agent log folder: which files exist, what each one holds.

RD-Agent's ``FileStorage`` writes every logged object to
``<tag path>/<pid chain>/<UTC %Y-%m-%d_%H-%M-%S-%f>.pkl`` where the tag path is
the dotted tag with dots turned into folders (``Loop_3/running``,
``Loop_3/coding/evolving code``, ``Loop_0/direct_exp_gen/debug_llm``...).  The
workflow also dumps whole sessions to ``__session__/<loop>/<step index>_<step>``.

:func:`scan` lists the files (no decoding); :func:`read_record` decodes one
file through :mod:`.signed` and :mod:`.unpickle`.  A file that cannot be decoded
comes back with ``error`` set and its bytes kept; a file that tries to run code
or fails its signature raises.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..errors import ImportTraceError
from .signed import unwrap
from .unpickle import UndecodablePickle, safe_loads

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-\d{6}$")
_PID = re.compile(r"^\d+(-\d+)*$")
_LOOP = re.compile(r"^Loop_(\d+)$")
SESSION_DIR = "__session__"


@dataclass
class LogFile:
    """One file of the folder, located but not yet decoded."""

    path: Path
    rel: str  # posix path relative to the log folder: the provenance we record
    kind: str  # "pkl", "session" or "other"
    tag: str  # dotted RD-Agent tag ("Loop_0.running"), "" for other files
    pid: str | None
    timestamp: datetime | None  # UTC; None for session dumps and other files
    loop: int | None
    step: str | None  # the workflow step ("direct_exp_gen", "coding", ...) for loop tags
    root: Path | None = None  # the log folder; files are read beneath it without following links

    @property
    def leaf(self) -> str:
        return self.tag.rsplit(".", 1)[-1] if self.tag else ""


@dataclass
class LogRecord:
    """A decoded file: the object, or why it could not be decoded."""

    file: LogFile
    obj: Any = None
    error: str | None = None
    dialect: str = "plain"
    signature: str = "unsigned"
    sha: str = ""
    size: int = 0
    raw: bytes = field(default=b"", repr=False)  # kept only when decoding failed
    facts: dict[str, Any] | None = None  # what an importer kept of an object it let go of (checkpoints)


def _parse_pkl(root: Path, path: Path) -> LogFile:
    rel = path.relative_to(root).as_posix()
    parts = rel.split("/")
    stamp = path.stem
    if len(parts) >= 3 and _STAMP.match(stamp) and _PID.match(parts[-2]):
        tag = ".".join(parts[:-2])
        ts = datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S-%f").replace(tzinfo=timezone.utc)
        pid: str | None = parts[-2]
    else:  # an oddly placed pickle: still read, ordered by nothing better than its name
        tag, ts, pid = ".".join(parts[:-1]), None, None
    loop = step = None
    m = _LOOP.match(parts[0])
    if m:
        loop = int(m.group(1))
        step = tag.split(".")[1] if "." in tag else None
    return LogFile(path, rel, "pkl", tag, pid, ts, loop, step)


def _walk(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Regular files under ``root`` (sorted) and what was left out, never following a link.

    A symbolic link (to a file or a folder, inside or outside the log folder),
    a FIFO, a socket or a device is not read: it is reported with its path
    relative to ``root`` and why.  RD-Agent's logger writes only regular files.
    """
    files: list[Path] = []
    left_out: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                left_out.append(((here / name).relative_to(root).as_posix(),
                                 f"symbolic link to {os.readlink(here / name)}; not followed"))
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            try:
                st = path.lstat()
            except OSError as exc:
                left_out.append((rel, f"cannot be read ({exc.strerror})"))
                continue
            if stat.S_ISLNK(st.st_mode):
                left_out.append((rel, f"symbolic link to {os.readlink(path)}; not followed"))
            elif not stat.S_ISREG(st.st_mode):
                left_out.append((rel, "not a regular file (FIFO, socket or device); not read"))
            else:
                files.append(path)
    return sorted(files), sorted(left_out)


def read_beneath(root: Path, rel: str) -> bytes:
    """The bytes of ``root/rel``, opened component by component without following any link.

    A file swapped for a link (or a folder for a link) after :func:`scan` saw it
    fails with ``ELOOP``/``ENOTDIR`` instead of reading outside the folder.
    """
    parts = rel.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(leaf).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(leaf, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(leaf)


def scan(root: str | Path, left_out: list[tuple[str, str]] | None = None) -> list[LogFile]:
    """Every regular file under ``root``, pickles in time order first, then session dumps, then others.

    Links, FIFOs and devices are never followed or read; when ``left_out`` is
    given, each one is appended to it as (path in the folder, why).
    """
    root = Path(root)
    if not root.is_dir():
        raise ImportTraceError(
            f"{root} is not a folder; pass the RD-Agent log folder (the one holding Loop_*/ and __session__/)"
        )
    pkls: list[LogFile] = []
    sessions: list[LogFile] = []
    others: list[LogFile] = []
    paths, skipped = _walk(root)
    if left_out is not None:
        left_out.extend(skipped)
    for path in paths:
        rel_parts = path.relative_to(root).parts
        if rel_parts[0] == SESSION_DIR:
            loop = int(rel_parts[1]) if len(rel_parts) == 3 and rel_parts[1].isdigit() else None
            step = rel_parts[-1].split("_", 1)[1] if "_" in rel_parts[-1] else None
            sessions.append(LogFile(path, path.relative_to(root).as_posix(), "session",
                                    f"{SESSION_DIR}.{rel_parts[-1]}", None, None, loop, step))
        elif path.suffix == ".pkl":
            pkls.append(_parse_pkl(root, path))
        else:
            others.append(LogFile(path, path.relative_to(root).as_posix(), "other", "", None, None, None, None))
    for f in pkls + sessions + others:
        f.root = root
    pkls.sort(key=lambda f: (f.timestamp is None, f.timestamp or datetime.min.replace(tzinfo=timezone.utc), f.rel))
    sessions.sort(key=lambda f: (f.loop if f.loop is not None else -1, _step_index(f.rel), f.rel))
    return pkls + sessions + others


def _step_index(rel: str) -> int:
    head = rel.rsplit("/", 1)[-1].split("_", 1)[0]
    return int(head) if head.isdigit() else -1


def read_record(f: LogFile, *, key: bytes | None) -> LogRecord:
    """Decode one file.  Raises ``UnsafePickle`` / ``PickleSignatureInvalid`` (nothing ran)."""
    root, rel = (f.root, f.rel) if f.root is not None else (f.path.parent, f.path.name)
    try:
        data = read_beneath(root, rel)
    except OSError as exc:
        raise ImportTraceError(
            f"{f.rel}: cannot be read without following a link ({exc.strerror or exc}); it changed while "
            "the folder was imported, or it is a link. Nothing was imported; copy the log folder and retry."
        ) from None
    rec = LogRecord(f, sha=hashlib.sha256(data).hexdigest(), size=len(data))
    if f.kind == "other":
        rec.error = "not a pickle (RD-Agent text or JSON log); kept by name only"
        return rec
    wrapped = unwrap(data, key=key, source=f.rel)
    rec.dialect, rec.signature = wrapped.dialect, wrapped.signature
    try:
        rec.obj = safe_loads(wrapped.payload, source=f.rel)
    except UndecodablePickle as exc:
        rec.error = str(exc)
        rec.raw = data
    return rec


def iter_records(root: str | Path, *, key: bytes | None = None) -> Iterator[LogRecord]:
    """Decoded records of a log folder in time order (see :func:`scan`)."""
    for f in scan(root):
        yield read_record(f, key=key)
