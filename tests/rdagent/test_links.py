"""Probes (issue 17): `import-rdagent` never follows a link out of the log folder, nor reads a FIFO.

A released log folder is untrusted input.  A ``.pkl`` that is a symbolic link
to ``/etc/shadow`` (or any file the importing user can read) must not end up as
a blob in the database, where ``gome export`` would ship it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.rdagent.importer import import_rdagent
from gome_es.rdagent.logdir import read_beneath, scan
from gome_es.store import EventStore
from gome_es.store import blobs as blobcodec

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"
SECRET = b"root:$6$gome-probe-secret-hash:19000:0:99999:7:::\n"


@pytest.fixture
def folder(tmp_path):
    dst = tmp_path / "log"
    shutil.copytree(FIX / "run_b-plain", dst)
    return dst


@pytest.fixture
def secret(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    f = outside / "shadow"
    f.write_bytes(SECRET)
    return f


def _blobs_hold(db: Path, needle: bytes) -> bool:
    """Whether any stored blob, decoded, contains ``needle`` (blobs may be zlib-packed at rest)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT codec, data FROM blobs").fetchall()
    finally:
        con.close()
    assert rows, "no blobs at all: the probe would prove nothing"
    return any(needle in blobcodec.decode(codec, bytes(data)) for codec, data in rows)


def test_the_blob_probe_finds_a_secret_that_was_stored(tmp_path):
    # guard against a probe that cannot fail: a regular file inside the folder that does
    # not decode is kept as an opaque blob (zlib-packed at rest), and the probe finds it
    folder = tmp_path / "log"
    shutil.copytree(FIX / "run_b-plain", folder)
    target = folder / "Loop_0" / "record" / "trace" / "1" / "2026-11-30_17-00-00-000000.pkl"
    target.parent.mkdir(parents=True)
    target.write_bytes(SECRET * 50)
    _import(folder, tmp_path / "g.db")
    assert _blobs_hold(tmp_path / "g.db", b"gome-probe-secret-hash")


def _import(folder: Path, db: Path):
    with EventStore.open(db) as st:
        s = import_rdagent(st, folder, run_id="probe")
        events = list(st.read("probe"))
    return s, events


@pytest.mark.parametrize("target", ["secret", "etc-shadow"])
def test_a_pickle_linked_outside_the_folder_is_not_read(folder, secret, tmp_path, target):
    link = folder / "Loop_0" / "running" / "4242" / "2026-11-30_17-00-00-000000.pkl"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret if target == "secret" else Path("/etc/shadow"))
    db = tmp_path / "g.db"
    s, events = _import(folder, db)
    rel = "Loop_0/running/4242/2026-11-30_17-00-00-000000.pkl"
    assert any(p == rel and "symbolic link" in why and "not followed" in why for p, why in s.skipped)
    assert not _blobs_hold(db, b"gome-probe-secret-hash")
    if Path("/etc/shadow").exists() and os.access("/etc/shadow", os.R_OK):
        assert not _blobs_hold(db, Path("/etc/shadow").read_bytes()[:32])
    named = {f["path"] for e in events for f in (e.payload.get("provenance") or {}).get("files", [])}
    assert rel not in named


def test_a_linked_folder_is_not_walked(folder, secret, tmp_path):
    # a whole Loop_9 that is a link to a folder outside, holding a readable "pickle"
    (secret.parent / "4242").mkdir()
    (secret.parent / "4242" / "2026-11-30_17-00-00-000000.pkl").write_bytes(SECRET)
    (folder / "Loop_9").symlink_to(secret.parent, target_is_directory=True)
    db = tmp_path / "g.db"
    s, _ = _import(folder, db)
    assert ("Loop_9", f"symbolic link to {secret.parent}; not followed") in s.skipped
    assert not _blobs_hold(db, b"gome-probe-secret-hash")
    assert s.loops == 3  # Loop_9 is not a loop of this run


def test_a_link_inside_the_folder_is_not_followed_either(folder, tmp_path):
    real = next(f for f in scan(folder) if f.tag == "Loop_0.feedback")
    link = folder / "Loop_2" / "feedback" / "1" / "2026-11-30_17-00-00-000000.pkl"
    link.parent.mkdir(parents=True)
    link.symlink_to(real.path)
    s, _ = _import(folder, tmp_path / "g.db")
    assert any(p.endswith("2026-11-30_17-00-00-000000.pkl") and "symbolic link" in why for p, why in s.skipped)


def test_a_fifo_does_not_hang_the_import(folder, tmp_path):
    fifo = folder / "Loop_0" / "running" / "4242" / "2026-11-30_17-00-00-000000.pkl"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(s=_import(folder, tmp_path / "g.db")[0]), daemon=True)
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # unblock the reader so the test process can exit, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("import-rdagent blocked on a FIFO")
    assert any("not a regular file" in why for _, why in result["s"].skipped)


def test_a_component_swapped_for_a_link_after_the_scan_is_refused(folder, secret):
    # read_beneath opens every component with O_NOFOLLOW: the race a scan cannot see
    f = next(f for f in scan(folder) if f.tag == "Loop_0.feedback")
    moved = folder / "Loop_0" / "feedback-real"
    (folder / "Loop_0" / "feedback").rename(moved)
    (folder / "Loop_0" / "feedback").symlink_to(moved, target_is_directory=True)
    with pytest.raises(OSError) as err:
        read_beneath(folder, f.rel)
    assert err.value.errno in (errno.ELOOP, errno.ENOTDIR)
    leaf = folder / "Loop_1" / "feedback"
    leaf.mkdir(parents=True, exist_ok=True)
    (leaf / "x.pkl").symlink_to(secret)
    with pytest.raises(OSError):
        read_beneath(folder, "Loop_1/feedback/x.pkl")


def test_cli_reports_what_was_left_out(folder, secret, tmp_path):
    link = folder / "Loop_0" / "running" / "4242" / "2026-11-30_17-00-00-000000.pkl"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    out = CliRunner().invoke(cli, ["import-rdagent", str(folder), "--db", str(tmp_path / "g.db")])
    assert out.exit_code == 0, out.output
    assert f"skipped: Loop_0/running/4242/2026-11-30_17-00-00-000000.pkl: symbolic link to {secret}" in out.output
