"""Bundled task archives: where they live, and their safe extraction to a cache.

Each bundled task ships as two files in ``gome_es/tasks/bundled/``:
``<id>.tar.gz`` holds ``task.json``, ``leaderboard.csv``, ``public/`` and
``answers.sha256`` (the hash of the hidden answers), and ``<id>.answers.csv.gz``
holds the answers, apart from the public data.  On first use the archive is
extracted to ``$GOME_HOME/tasks/<id>-<digest>`` (default
``~/.cache/gome-es/tasks``) and the answers to ``$GOME_HOME/answers/<id>-<hash>/``
(a root-only folder), never inside the task's folder, so nothing that exposes a
task's ``public/`` exposes its answers.  Each goes into a fresh temporary
directory first, then is renamed into place, so a crash mid-extract leaves only
an ignored temp directory and two processes extracting at once both end up with
one complete copy.  The digest is of the archive's bytes, so a new archive never
reuses a stale extraction; the answers' hash is checked when they are extracted,
when a task is loaded and when a submission is graded (`check_answers`).
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

from gome_es.tasks.model import Task, TaskConfig, TaskDataMissing
from gome_es.trust import folders
from gome_es.trust.folders import gome_home

BUNDLED_DIR = Path(__file__).parent / "bundled"
ARCHIVE_SUFFIX = ".tar.gz"
ANSWERS_SUFFIX = ".answers.csv.gz"
ANSWERS_HASH = "answers.sha256"  # in the public archive: the hash the shipped answers must have


def cache_root() -> Path:
    return gome_home() / "tasks"


def answers_root() -> Path:
    """Where bundled answers are extracted: beside the tasks' cache, never inside a task."""
    return cache_root().parent / "answers"


def bundled_archives() -> dict[str, Path]:
    return {
        p.name[: -len(ARCHIVE_SUFFIX)]: p
        for p in sorted(BUNDLED_DIR.glob(f"*{ARCHIVE_SUFFIX}"))
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    # Answers never land in a task's folder, even from an archive that (wrongly) holds them.
    return [m for m in members if Path(m.name).parts[:1] != ("private",)]


def _trusted_root(root: Path) -> Path:
    """The cache folder, made 0700 if missing, and refused unless it is ours, no link, and nobody else
    can write to it or to a folder above it: a copy another user could have put there (a task's
    folder with its own answers hash, or answers to match) would be graded as the real one."""
    return folders.ensure_folder(root)


def _trusted_copy(final: Path) -> bool:
    """Whether an extracted copy is there; a link or a folder that is not ours is refused."""
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return False
    folders.check_stat(final, st)
    return True


def extracted_dir(task_id: str, archive: Path) -> Path:
    """The extracted task directory for an archive, extracting it if needed."""
    root = _trusted_root(cache_root())
    final = root / f"{task_id}-{archive_digest(archive)[:16]}"
    if _trusted_copy(final):
        return final
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


def extracted_answers(task_id: str, task_dir: Path) -> Path:
    """The folder holding the task's answers.csv, extracted from ``<id>.answers.csv.gz`` if
    needed; the answers' hash must match the one the public archive recorded."""
    try:
        expected = (task_dir / ANSWERS_HASH).read_text().strip()
    except OSError as exc:
        raise TaskDataMissing(
            f"bundled task {task_id} ({task_dir}) records no hash of its answers ({exc}); "
            "reinstall gome-es or rebuild the task with `python benchmarks/build_leaderboards.py`"
        ) from exc
    root = _trusted_root(answers_root())
    final = root / f"{task_id}-{expected[:16]}"
    try:
        if _trusted_copy(final) and _sha256((final / "answers.csv").read_bytes()) == expected:
            return final
    except OSError:
        pass
    source = BUNDLED_DIR / f"{task_id}{ANSWERS_SUFFIX}"
    try:
        data = gzip.decompress(source.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TaskDataMissing(f"bundled task {task_id}: cannot read its answers {source} ({exc}); "
                              "reinstall gome-es") from exc
    if _sha256(data) != expected:
        raise TaskDataMissing(
            f"bundled task {task_id}: the answers in {source} do not have the hash its archive records "
            f"({_sha256(data)[:16]}... != {expected[:16]}...); they were changed: reinstall gome-es"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{task_id}-", dir=root))  # mode 0700
    try:
        fd = os.open(tmp / "answers.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if final.exists():
            shutil.rmtree(final)  # a changed or partial copy: replaced by the checked one
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    except OSError as exc:
        raise TaskDataMissing(f"cannot extract the answers of bundled task {task_id} into {root}: {exc}; "
                              "check free space and permissions there, or set GOME_HOME") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def check_answers(task: Task) -> None:
    """Raise unless a bundled task's answers still have the hash its archive recorded."""
    recorded = Path(task.root) / ANSWERS_HASH
    if task.source != "bundled" or not recorded.is_file():
        return
    expected = recorded.read_text().strip()
    try:
        actual = _sha256(Path(task.answers_path).read_bytes())
    except OSError as exc:
        raise TaskDataMissing(f"task {task.id}: cannot read its answers {task.answers_path} ({exc})") from exc
    if actual != expected:
        raise TaskDataMissing(
            f"task {task.id}: the answers at {task.answers_path} were changed (sha256 {actual[:16]}..., "
            f"expected {expected[:16]}...); delete {Path(task.answers_path).parent} and load the task again"
        )


def pack_task_dir(src: Path, archive: Path) -> None:
    """Write ``src`` as a byte-reproducible tar.gz (sorted entries, zeroed times and owners)
    without its ``private/``, plus ``<id>.answers.csv.gz`` beside it with the answers; the
    archive records the answers' hash in ``answers.sha256``."""
    answers = (src / "private" / "answers.csv").read_bytes()
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.relative_to(src).parts[0] != "private")
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
        digest = (_sha256(answers) + "\n").encode()
        info = tarfile.TarInfo(ANSWERS_HASH)
        info.size, info.mode, info.mtime = len(digest), 0o644, 0
        tar.addfile(info, io.BytesIO(digest))

    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_suffix(".partial")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue())
    answers_file = archive.with_name(archive.name[: -len(ARCHIVE_SUFFIX)] + ANSWERS_SUFFIX)
    answers_tmp = answers_file.with_suffix(".partial")
    with open(answers_tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(answers)
    os.replace(answers_tmp, answers_file)
    os.replace(tmp, archive)
