"""The public files' fingerprint: the same digest with or without the stat cache, and no change hidden.

Resume and replay compare it with the one a run recorded; the cache only spares re-reading
files whose size, times and inode did not move.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gome_es.tasks.fingerprint import _cache_file, fingerprint


def _reference(public: Path) -> str:
    outer = hashlib.sha256()
    for path in sorted(p for p in public.rglob("*") if p.is_file()):
        outer.update(f"{path.relative_to(public).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n"
                     .encode())
    return outer.hexdigest()


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "train").mkdir(parents=True)
    (root / "sample_submission.csv").write_text("id,label\n1,0\n")
    for i in range(20):
        (root / "train" / f"{i:03d}.png").write_bytes(os.urandom(3000 + i))
    return root


def test_the_digest_is_the_same_with_and_without_the_cache(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _reference(public)
    assert fingerprint(public, cache=False) == expected
    assert fingerprint(public, cache=cache) == expected  # fills the cache
    assert _cache_file(public, cache).is_file()
    assert fingerprint(public, cache=cache) == expected  # read from it


def test_a_rewrite_that_keeps_size_and_mtime_is_still_seen(public: Path, tmp_path: Path) -> None:
    """Setting the modification time back does not hide a change: the change time moves anyway."""
    cache = tmp_path / "cache"
    before = fingerprint(public, cache=cache)
    target = public / "train" / "007.png"
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = fingerprint(public, cache=cache)
    assert after != before and after == _reference(public)


def test_added_removed_and_renamed_files_change_the_digest(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    seen = {fingerprint(public, cache=cache)}
    (public / "train" / "new.png").write_bytes(b"x")
    seen.add(fingerprint(public, cache=cache))
    (public / "train" / "000.png").rename(public / "train" / "zzz.png")
    seen.add(fingerprint(public, cache=cache))
    (public / "train" / "001.png").unlink()
    seen.add(fingerprint(public, cache=cache))
    assert len(seen) == 4 and fingerprint(public, cache=False) == _reference(public)


def _poison(public: Path, cache: Path) -> str:
    """Rewrite the cached digest of one file (stat left matching): the cache is then visibly used."""
    path = _cache_file(public, cache)
    data = json.loads(path.read_text())
    data["files"]["sample_submission.csv"][1] = "0" * 64
    path.write_text(json.dumps(data))
    return fingerprint(public, cache=cache)


def test_the_cache_is_what_spares_the_reads(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    honest = fingerprint(public, cache=cache)
    assert _poison(public, cache) != honest  # our own private cache is trusted, so a stale entry shows


def test_a_cache_others_can_write_is_ignored(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    honest = fingerprint(public, cache=cache)
    _poison(public, cache)
    os.chmod(_cache_file(public, cache), 0o666)  # the file writable by others
    assert fingerprint(public, cache=cache) == honest
    os.chmod(_cache_file(public, cache), 0o600)
    _poison(public, cache)
    os.chmod(cache, 0o777)  # the folder writable by others
    assert fingerprint(public, cache=cache) == honest


def test_a_cache_that_is_a_link_or_garbage_is_ignored(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    honest = fingerprint(public, cache=cache)
    path = _cache_file(public, cache)
    path.write_bytes(b"\xff\x00 not json")
    assert fingerprint(public, cache=cache) == honest
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(path.read_text())
    path.unlink()
    path.symlink_to(elsewhere)
    assert fingerprint(public, cache=cache) == honest


def test_a_cache_that_is_nested_deep_a_fifo_or_a_bad_digest_is_ignored(public: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    honest = fingerprint(public, cache=cache)
    path = _cache_file(public, cache)
    good = json.loads(path.read_text())
    path.write_text("[" * 200_000 + "]" * 200_000)  # past the JSON parser's recursion depth
    assert fingerprint(public, cache=cache) == honest
    path.unlink()
    os.mkfifo(path, 0o600)  # nobody writes to it: an open without O_NONBLOCK would hang here
    assert fingerprint(public, cache=cache) == honest
    path.unlink()
    # a stamp that matches beside a digest that is not one: hashed anew, not trusted
    for rel in good["files"]:
        good["files"][rel][1] = "not a digest"
    path.write_text(json.dumps(good))
    assert fingerprint(public, cache=cache) == honest


def test_an_unwritable_cache_folder_costs_nothing_but_time(public: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    assert fingerprint(public, cache=blocker / "cache") == _reference(public)


def test_a_cache_folder_that_is_a_link_is_neither_read_nor_written(public: Path, tmp_path: Path) -> None:
    """A cache folder swapped for a link (to a folder someone else fills) is not trusted: the poisoned
    entries there are not read, and nothing is written through the link."""
    real = tmp_path / "real-cache"
    honest = fingerprint(public, cache=real)
    _poison(public, real)  # the folder the link points at now lies about a file
    link = tmp_path / "cache-link"
    link.symlink_to(real)
    before = _cache_file(public, real).read_bytes()
    (public / "extra.csv").write_text("a\n")  # a miss, so a trusting cache would be rewritten
    assert fingerprint(public, cache=link) == _reference(public) != honest
    assert _cache_file(public, real).read_bytes() == before
