"""The fingerprint of a task's public files, hashed once and then checked by their stat.

A run records the sha256 over every public file's relative path and content, so resume and
replay notice data that changed under them.  Real MLE-bench competitions hold tens of
gigabytes of images; hashing them all on every ``gome resume`` or ``gome tasks show`` would
take minutes.  As git's index does, a private cache keeps each file's content digest beside
its size, modification and change times and inode: a file whose stat is unchanged is not
read again, and any write to it (which moves its change time, which no user can set back)
makes it hashed anew.  The digest is the same with or without the cache.

The cache lives in ``$GOME_HOME/fingerprints`` (default ``~/.cache/gome-es/fingerprints``), a
folder that must be the user's own and not writable by others (it is checked as every private
folder of gome's is): a cache another user could write would let them hide a change to the data.
A cache that cannot be read or written is ignored; the digest is then computed in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from gome_es.errors import GomeError
from gome_es.trust import folders

log = structlog.get_logger()
CACHE_FORMAT = 1
CHUNK = 1 << 20
ANNOUNCE_BYTES = 1 << 30  # say so before hashing more than this


def cache_dir() -> Path:
    return folders.gome_home() / "fingerprints"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _cache_file(public_dir: Path, where: Path) -> Path:
    key = hashlib.sha256(str(public_dir.resolve()).encode()).hexdigest()[:32]
    return where / f"{key}.json"


def _load(path: Path, public_dir: Path) -> dict[str, list[Any]]:
    try:
        folders.check_stat(path.parent, os.stat(path.parent, follow_symlinks=False), private=True)
        # O_NONBLOCK: a FIFO put in the cache's place must not hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except (OSError, GomeError):
        return {}
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022
                or st.st_size > 256 << 20):
            return {}
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = json.loads(f.read())
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested past the parser's depth
        return {}
    finally:
        os.close(fd)
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("public") != str(public_dir):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _save(path: Path, public_dir: Path, files: dict[str, list[Any]]) -> None:
    tmp: str | None = None
    try:
        folders.ensure_folder(path.parent, private=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump({"format": CACHE_FORMAT, "public": str(public_dir), "files": files}, f)
        os.replace(tmp, path)
        tmp = None
    except (OSError, GomeError) as exc:
        log.debug("fingerprint cache not written", path=str(path), error=str(exc))
    finally:
        if tmp is not None:  # a full disk mid-write leaves no half file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def fingerprint(public_dir: Path, *, cache: Path | None | bool = True, workers: int | None = None) -> str:
    """sha256 over every public file's relative path and content digest, in path order.

    ``cache``: True for the default cache folder, a folder, or False/None to hash every file."""
    public_dir = Path(public_dir)
    paths = sorted(p for p in public_dir.rglob("*") if p.is_file())
    where = cache_dir() if cache is True else (Path(cache) if cache else None)
    cache_path = _cache_file(public_dir, where) if where is not None else None
    known = _load(cache_path, public_dir) if cache_path is not None else {}
    entries: dict[str, list[Any]] = {}
    todo: list[tuple[str, Path]] = []
    for path in paths:
        rel = path.relative_to(public_dir).as_posix()
        stamp = _stamp(path.stat())
        old = known.get(rel)
        if isinstance(old, list) and len(old) == 2 and old[0] == stamp and _is_digest(old[1]):
            entries[rel] = old
        else:
            entries[rel] = [stamp, ""]
            todo.append((rel, path))
    size = sum(entries[rel][0][0] for rel, _ in todo)
    if size > ANNOUNCE_BYTES:
        log.info("hashing the task's public files once (later loads read the cache)", files=len(todo),
                 gigabytes=round(size / 2**30, 1), folder=str(public_dir))
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        for (rel, _), digest in zip(todo, pool.map(lambda item: _file_digest(item[1]), todo)):
            entries[rel][1] = digest
    outer = hashlib.sha256()
    for rel, (_, digest) in entries.items():  # in the paths' order
        outer.update(f"{rel}\0{digest}\n".encode())
    if cache_path is not None and todo:
        _save(cache_path, public_dir, entries)
    return outer.hexdigest()
