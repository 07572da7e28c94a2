"""Bundled task archives: where they live, and their safe extraction to a cache.

Each bundled task ships as ``gome_es/tasks/bundled/<id>.tar.gz`` holding
``task.json``, ``leaderboard.csv``, ``public/`` and ``private/``.  On first use an
archive is extracted to ``$GOME_HOME/tasks/<id>-<digest>`` (default
``~/.cache/gome-es/tasks``): into a fresh temporary directory first, then renamed
into place, so a crash mid-extract leaves only an ignored temp directory and two
processes extracting at once both end up with one complete copy.  The digest is
of the archive's bytes, so a new archive never reuses a stale extraction.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from gome_es.tasks.model import TaskConfig, TaskDataMissing

BUNDLED_DIR = Path(__file__).parent / "bundled"
ARCHIVE_SUFFIX = ".tar.gz"


def cache_root() -> Path:
    home = os.environ.get("GOME_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "gome-es"
    return base / "tasks"


def bundled_archives() -> dict[str, Path]:
    return {
        p.name[: -len(ARCHIVE_SUFFIX)]: p
        for p in sorted(BUNDLED_DIR.glob(f"*{ARCHIVE_SUFFIX}"))
    }


def archive_digest(archive: Path) -> str:
    h = hashlib.sha256()
    with archive.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_config(archive: Path) -> TaskConfig:
    """The task.json inside an archive, without extracting the rest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("task.json")
            if member is None:
                raise KeyError("task.json")
            return TaskConfig.model_validate(json.loads(member.read()))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise TaskDataMissing(
            f"bundled task archive {archive} has no readable task.json ({exc}); "
            "reinstall gome-es or rebuild it with `python benchmarks/build_leaderboards.py`"
        ) from exc


def _safe_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        target = Path(m.name)
        if target.is_absolute() or ".." in target.parts or not (m.isfile() or m.isdir()):
            raise TaskDataMissing(
                f"bundled task archive {archive} holds an unsafe entry {m.name!r}; refusing to extract it"
            )
    return members


def extracted_dir(task_id: str, archive: Path) -> Path:
    """The extracted task directory for an archive, extracting it if needed."""
    root = cache_root()
    final = root / f"{task_id}-{archive_digest(archive)[:16]}"
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{task_id}-", dir=root))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, members=_safe_members(tar, archive), filter="data")
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process renamed its complete copy into place first.
            if not final.is_dir():
                raise
    except (OSError, tarfile.TarError) as exc:
        raise TaskDataMissing(
            f"cannot extract bundled task {task_id} from {archive} into {root}: {exc}; "
            "check free space and permissions there, or set GOME_HOME to another directory"
        ) from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def pack_task_dir(src: Path, archive: Path) -> None:
    """Write ``src`` as a byte-reproducible tar.gz (sorted entries, zeroed times and owners)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    # task.json first, so read_config stops decompressing early.
    files.sort(key=lambda p: (p.relative_to(src).as_posix() != "task.json", p.relative_to(src).as_posix()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            info = tarfile.TarInfo(path.relative_to(src).as_posix())
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))


    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_suffix(".partial")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue())
    os.replace(tmp, archive)
