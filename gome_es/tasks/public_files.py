"""What the public folder of a competition holds, looked at without trusting it.

Tables (CSV, TSV, JSON, JSON lines, parquet, or one of them compressed whole), the listing
shown to a model, zips listed from their central directory (never extracted), and sets of
images or audio files with how each file maps to a row.  Bounded: folders are walked without
following links and up to a fixed number of entries; FIFOs and devices are never opened.
Used by :mod:`gome_es.tasks.infer`.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from gome_es.tasks.model import MediaSet, TaskDataMissing

TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet")
COMPRESSED = (".zip", ".gz")  # a table compressed whole: train.csv.zip, train.tsv.gz
NESTED_TABLES = 50  # without a top-level table, tables in subfolders (two levels at most) are read
# Rows read per table to infer roles (a 55M-row train.csv is not read whole).
SAMPLE_ROWS = 20_000
LISTING_FILES = 40  # files listed one by one; the rest are summarised per folder
HEAD_LINES = 3
HEAD_CHARS = 300

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".dcm")
AUDIO_SUFFIXES = (".wav", ".aif", ".aiff", ".flac", ".mp3", ".ogg", ".au")
# Bounds on looking at the public folder (a prepared competition may hold 200k+ images).
WALK_ENTRIES = 1_000_000  # folder entries visited, all folders together
NAMES_KEPT = 300_000  # file names kept per media set (to match ids); counting goes on
ZIP_ENTRIES = 2_000_000  # a zip whose directory claims more members is not listed
MEDIA_MIN_FILES = 2  # fewer files of one kind in one place are not a media set


def _is_sample(path: Path) -> bool:
    return bool(re.search(r"sample_?submission", path.name, re.IGNORECASE))


def read_table(path: Path, nrows: int | None = SAMPLE_ROWS) -> pd.DataFrame:
    """A CSV, JSON (a list of records, or an object holding one), JSON lines or parquet file."""
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            return _read_zipped_table(path, nrows)
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
            return frame.head(nrows) if nrows else frame
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True, nrows=nrows)
        if name.endswith(".json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = next((v for v in data.values() if isinstance(v, list)), [data])
            frame = pd.DataFrame.from_records(data)
            return frame.head(nrows) if nrows else frame
        sep = "\t" if name.removesuffix(".gz").endswith(".tsv") else ","
        return pd.read_csv(path, nrows=nrows, low_memory=False, sep=sep)
    except RecursionError:
        raise TaskDataMissing(f"cannot read the public data file {path}: its JSON is nested too "
                              "deeply to parse") from None
    except (OSError, ValueError, ImportError, UnicodeDecodeError, pd.errors.ParserError,
            zipfile.BadZipFile, EOFError) as exc:
        raise TaskDataMissing(f"cannot read the public data file {path}: {exc}") from exc


def _read_zipped_table(path: Path, nrows: int | None) -> pd.DataFrame:
    """A zip holding one table file (``en_train.csv.zip``), read without extracting to disk."""
    with zipfile.ZipFile(path) as zf:
        members = [i for i in zf.infolist() if not i.is_dir() and _is_table_name(i.filename)
                   and not i.filename.lower().endswith(".zip")]
        if len(members) != 1:
            raise TaskDataMissing(f"the zip {path} holds {len(members)} table files; gome reads a zip of "
                                  "exactly one CSV or JSON file")
        inner = members[0].filename.lower()
        with zf.open(members[0]) as fh:
            if inner.endswith((".jsonl", ".ndjson")):
                return pd.read_json(fh, lines=True, nrows=nrows)
            if inner.endswith(".json"):
                data = json.load(fh)
                if isinstance(data, dict):
                    data = next((v for v in data.values() if isinstance(v, list)), [data])
                frame = pd.DataFrame.from_records(data)
                return frame.head(nrows) if nrows else frame
            if inner.endswith(".parquet"):
                frame = pd.read_parquet(io.BytesIO(fh.read()))
                return frame.head(nrows) if nrows else frame
            return pd.read_csv(fh, nrows=nrows, low_memory=False)


def public_listing(public: Path) -> list[dict[str, Any]]:
    """Files of the public folder: name, size, first lines of each text file.

    Folders (one file per sample) are summarised as one entry each, with their file count by
    extension; a zip is listed by its members without extracting.  Links are not followed.
    """
    entries: list[dict[str, Any]] = []
    top = sorted(public.iterdir(), key=lambda p: p.name)
    for path in top:
        if path.is_symlink():
            entries.append({"name": path.name, "link": True})
        elif path.is_dir():
            files, size, example, by_ext, capped = _folder_summary(path)
            entries.append({"name": path.name + "/", "files": files, "bytes": size, "example":
                            example and f"{path.name}/{example}", "extensions": by_ext,
                            **({"capped": True} if capped else {})})
        else:
            entry: dict[str, Any] = {"name": path.name, "bytes": path.stat().st_size}
            if not path.is_file():
                entry["special"] = True  # a FIFO, socket or device: listed, never opened
            elif path.suffix.lower() in (".csv", ".json", ".jsonl", ".ndjson", ".txt", ".md", ".tsv", ".xyz") \
                    and path.name != "description.md":
                try:
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        head = [fh.readline().rstrip("\n")[:HEAD_CHARS] for _ in range(HEAD_LINES)]
                    entry["head"] = [h for h in head if h]
                except OSError:
                    pass
            elif path.suffix.lower() == ".zip" and path.is_file():
                members = zip_members(path)
                if members is None:
                    entry["zip"] = "unreadable or too many members to list"
                else:
                    names = [m for m in members if not m.endswith("/")]
                    entry["zip_members"] = len(names)
                    entry["zip_examples"] = sorted(names)[:3]
                    entry["extensions"] = dict(Counter(PurePosixPath(n).suffix.lower() for n in names)
                                               .most_common(5))
            entries.append(entry)
        if len(entries) >= LISTING_FILES:
            entries.append({"name": "...", "more": len(top) - LISTING_FILES})
            break
    return entries


def walk_files(top: Path, limit: int = WALK_ENTRIES) -> Iterator[tuple[str, os.DirEntry[str]] | None]:
    """``(relative folder, entry)`` for every regular file under ``top``, folders in name order;
    links, FIFOs and devices are skipped (from the directory entry's type, no extra system call),
    and the walk stops after ``limit`` entries, yielding ``None`` once to say so."""
    seen = 0
    stack = [(top, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        seen += len(entries)
        subdirs = []
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append((Path(entry.path), f"{rel}{entry.name}/"))
            elif entry.is_file(follow_symlinks=False):
                yield rel, entry
        if seen > limit:
            yield None
            return
        stack.extend(reversed(subdirs))


def _folder_summary(folder: Path) -> tuple[int, int, str | None, dict[str, int], bool]:
    """Files, bytes, the first file (relative), counts per extension; bounded, links not followed."""
    files = size = 0
    first: str | None = None
    by_ext: Counter[str] = Counter()
    for found in walk_files(folder):
        if found is None:
            return files, size, first, dict(by_ext.most_common(5)), True
        rel, entry = found
        try:
            size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        files += 1
        by_ext[_suffix(entry.name)] += 1
        if first is None:
            first = rel + entry.name
    return files, size, first, dict(by_ext.most_common(5)), False


def zip_entry_count(path: Path) -> int | None:
    """The member count a zip's end-of-directory record claims (read from its last 64 KiB)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            fh.seek(max(0, end - (1 << 16) - 22))
            tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    if count == 0xFFFF:  # zip64: the real count is in the zip64 record before it
        z64 = tail.rfind(b"PK\x06\x06", 0, at)
        if z64 >= 0 and z64 + 40 <= len(tail):
            count = struct.unpack("<Q", tail[z64 + 32:z64 + 40])[0]
    return int(count)


def zip_members(path: Path) -> list[str] | None:
    """A zip's member names from its central directory (nothing is extracted), or None when it
    is unreadable or claims more than ``ZIP_ENTRIES`` members."""
    claimed = zip_entry_count(path)
    if claimed is None or claimed > ZIP_ENTRIES:
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            return [i.filename for i in zf.infolist()]
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return None


def _is_table_name(name: str) -> bool:
    low = name.lower()
    for suffix in COMPRESSED:
        low = low.removesuffix(suffix)
    return low.endswith(TABLE_SUFFIXES)


def _table_files(folder: Path) -> list[Path]:
    found = []
    for p in sorted(folder.iterdir()):
        if p.is_symlink() or not p.is_file() or _is_sample(p) or not _is_table_name(p.name):
            continue
        if p.name.lower().endswith(COMPRESSED) and (folder / p.name.rsplit(".", 1)[0]).is_file():
            continue  # random-acts-of-pizza ships train.json and train.json.zip: read the plain one
        found.append(p)
    return found


def tables_of(public: Path) -> list[Path]:
    """Top-level tables: CSV, TSV, JSON, JSON lines, parquet, and one compressed whole
    (``x.csv.zip``, ``x.tsv.gz``); without any, those of the subfolders (two levels, bounded)."""
    found = _table_files(public)
    if found:
        return found
    nested: list[Path] = []
    for sub in sorted(p for p in public.iterdir() if p.is_dir() and not p.is_symlink()):
        for folder in [sub, *sorted(p for p in sub.iterdir() if p.is_dir() and not p.is_symlink())][:NESTED_TABLES]:
            nested += [p for p in _table_files(folder) if p.stat().st_size > 0]
            if len(nested) >= NESTED_TABLES:
                return nested[:NESTED_TABLES]
    return nested


# ------------------------------------------------------------------ media: folders and zips


@dataclass
class MediaFiles:
    kind: str
    container: str
    path: str
    prefix: str
    ext: str
    count: int = 0
    capped: bool = False
    names: list[str] = field(default_factory=list)  # base names (up to NAMES_KEPT)
    role: str = "other"
    id_column: str | None = None
    id_from: str = "none"
    label_from_name: str | None = None
    index_file: str | None = None
    index_column: str | None = None
    label_from_folder: bool = False
    folders: list[str] = field(default_factory=list)
    example_paths: list[str] = field(default_factory=list)

    @property
    def stems(self) -> set[str]:
        """The file names without the extension (cached: names only grow while the set is built)."""
        cached = self.__dict__.get("_stems")
        if cached is None or cached[0] != len(self.names):
            cached = (len(self.names), {n[: len(n) - len(self.ext)] if n.lower().endswith(self.ext) else n
                                        for n in self.names})
            self.__dict__["_stems"] = cached
        return cached[1]

    def model(self) -> MediaSet:
        return MediaSet(kind=self.kind, role=self.role, container=self.container,
                        path=self.path, prefix=self.prefix, extension=self.ext, count=self.count,
                        count_capped=self.capped, examples=self.example_paths or sorted(self.names)[:3],
                        id_column=self.id_column, id_from=self.id_from,
                        label_from_name=self.label_from_name, index_file=self.index_file,
                        index_column=self.index_column, label_from_folder=self.label_from_folder)


def _suffix(name: str) -> str:
    """``PurePosixPath(name).suffix.lower()``, without building a path (called once per file)."""
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if 0 < dot < len(base) - 1 else ""


def _media_kind(name: str) -> tuple[str, str] | None:
    suffix = _suffix(name)
    if suffix in IMAGE_SUFFIXES:
        return "image", suffix
    if suffix in AUDIO_SUFFIXES:
        return "audio", suffix
    return None


def find_media(public: Path) -> tuple[list[MediaFiles], list[str]]:
    """Sets of images or audio files under ``public/`` (folders, bounded, links not followed) and
    in its top-level zips (listed from the zip's directory, never extracted); and what could
    not be looked at."""
    sets: dict[tuple[str, str, str, str], MediaFiles] = {}
    problems: list[str] = []

    def add(container: str, path: str, prefix: str, name: str, capped: bool = False) -> None:
        found = _media_kind(name)
        if found is None:
            return
        kind, ext = found
        key = (container, path, prefix, ext)
        media = sets.get(key)
        if media is None:
            media = sets[key] = MediaFiles(kind=kind, container=container, path=path, prefix=prefix, ext=ext)
        media.count += 1
        if len(media.names) < NAMES_KEPT:
            media.names.append(name.rsplit("/", 1)[-1])

    for found in walk_files(public):
        if found is None:
            problems.append(f"stopped listing the public folder after {WALK_ENTRIES} entries; "
                            "media counts are lower bounds")
            for m in sets.values():
                m.capped = True
            break
        rel, entry = found
        if rel:
            add("folder", rel.rstrip("/"), "", entry.name)
    for top in sorted(public.iterdir()):
        if top.is_symlink() or not top.is_file() or top.suffix.lower() != ".zip" or _is_table_name(top.name):
            continue
        members = zip_members(top)
        if members is None:
            problems.append(f"{top.name}: a zip gome could not list (unreadable, or more than "
                            f"{ZIP_ENTRIES} members)")
            continue
        for member in members:
            if member.endswith("/"):
                continue
            parent = member.rpartition("/")[0]
            add("zip", top.name, parent + "/" if parent else "", member)
    media = [m for m in _class_folders(list(sets.values())) if m.count >= MEDIA_MIN_FILES]
    # DICOM after the decoded images of the same rows (siim-isic ships both)
    media.sort(key=lambda m: (m.ext == ".dcm", m.path, m.prefix, m.ext))
    return media, problems


NESTED_TEXT_SUFFIXES = (".txt", ".csv", ".tsv")
NESTED_FILES = 12  # small text files in subfolders shown with their first lines
NESTED_BYTES = 5_000_000  # larger ones are listed by the folder summary only
NESTED_WALK = 20_000  # entries visited looking for them


def nested_text_files(public: Path) -> list[Path]:
    """Small CSV-like text files in the public folder's subfolders (bounded; links not followed)."""
    found: list[Path] = []
    seen = 0
    for root, dirs, names in os.walk(public, followlinks=False):
        dirs.sort()
        seen += len(names) + len(dirs)
        if Path(root) != public:
            for name in sorted(n for n in names if _suffix(n) in NESTED_TEXT_SUFFIXES):
                path = Path(root) / name
                if not path.is_symlink() and path.is_file() and path.stat().st_size <= NESTED_BYTES:
                    found.append(path)
        if len(found) >= NESTED_FILES or seen > NESTED_WALK:
            break
    return found[:NESTED_FILES]


def head_lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [line for line in (fh.readline().rstrip("\n")[:HEAD_CHARS] for _ in range(HEAD_LINES)) if line]
    except OSError:
        return []


def index_tables(public: Path, files: list[Path], media: list[MediaFiles]) -> None:
    """Media no table maps: a small table in a subfolder whose column names the files."""
    loose = [m for m in media if m.id_from == "none" and not m.label_from_name]
    if not loose:
        return
    for path in files:
        try:
            frame = pd.read_csv(path, nrows=SAMPLE_ROWS, dtype=str)
        except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError):
            continue
        if frame.shape[1] < 2:
            continue
        for m in loose:
            if m.index_file:
                continue
            for col in frame.columns:
                values = set(frame[col].dropna().astype(str))
                for how, names in (("name", set(m.names)), ("stem", m.stems)):
                    if values and overlap(values, names) > 0.5:
                        m.index_file, m.index_column = path.relative_to(public).as_posix(), str(col)
                        m.id_from = how
                        break
                if m.index_file:
                    break


SPLIT_WORDS = re.compile(r"train|test|valid|val|dev|holdout", re.IGNORECASE)


def _class_folders(sets: list[MediaFiles]) -> list[MediaFiles]:
    """Sibling folders of the same kind of file holding different files, none named like a split,
    are one set labelled by folder (``train/<species>/``), not one set per class."""
    groups: dict[tuple[str, str, str, str], list[MediaFiles]] = {}
    for m in sets:
        inner = m.path if m.container == "folder" else m.prefix.rstrip("/")
        parent = PurePosixPath(inner).parent.as_posix()
        if not inner or parent in ("", "."):
            continue
        groups.setdefault((m.container, m.path if m.container == "zip" else "", parent, m.ext), []).append(m)
    merged: set[int] = set()
    out: list[MediaFiles] = []
    for (container, zip_path, parent, ext), members in groups.items():
        names = [PurePosixPath(m.path if container == "folder" else m.prefix.rstrip("/")).name for m in members]
        stems = [m.stems for m in members]
        disjoint = sum(len(s) for s in stems) == len(set().union(*stems))
        if len(members) < 2 or not disjoint or any(SPLIT_WORDS.search(n) for n in names):
            continue
        first = members[0]
        cls = MediaFiles(kind=first.kind, container=container, path=parent if container == "folder" else zip_path,
                     prefix="" if container == "folder" else parent + "/", ext=ext, label_from_folder=True)
        for m, name in zip(members, names):
            cls.count += m.count
            cls.capped = cls.capped or m.capped
            cls.names += m.names[: max(0, NAMES_KEPT - len(cls.names))]
            cls.folders.append(name)
            if len(cls.example_paths) < 3 and m.names:
                cls.example_paths.append(f"{name}/{sorted(m.names)[0]}")
            merged.add(id(m))
        out.append(cls)
    return [m for m in sets if id(m) not in merged] + out


def overlap(values: set[str], names: set[str]) -> float:
    return len(values & names) / max(1, min(len(values), len(names)))


def map_ids(media: MediaFiles, column: str, values: set[str]) -> bool:
    """Record how ``media``'s files map to ``values`` of ``column``; True if most of them do."""
    for how, names in (("name", set(media.names)), ("stem", media.stems)):
        if values and overlap(values, names) > 0.5:
            media.id_column, media.id_from = column, how
            return True
    return False


def label_in_name(media: MediaFiles) -> str | None:
    """A regular expression whose group 1 is a label spelled in every file name (``cat.12.jpg``,
    ``..._TRAIN3_1.aif``): the last or the first token of the stem, with few distinct values."""
    stems = sorted(media.stems)
    if len(stems) < 4:
        return None
    for regex in (r"[._-]([^._-]+)$", r"^([^._-]+)[._-]"):
        tokens = [m.group(1) if (m := re.search(regex, s)) else None for s in stems]
        if any(t is None for t in tokens):
            continue
        distinct = set(tokens)
        if 2 <= len(distinct) <= 50 and len(stems) >= 4 * len(distinct):
            return regex
    return None
