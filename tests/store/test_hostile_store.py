"""The store against hostile ids, edited files and read-only places.

Real SQLite files throughout; anything that could kill the process (SIGBUS
from a file made immutable under SQLite's -shm mapping) runs in a child.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import zlib
from pathlib import Path

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from gome_es.errors import ChainBroken, GomeError
from gome_es.store import EventStore, NewEvent
from gome_es.store.errors import InvalidRunId, StoreUnreadable
from gome_es.store.runids import MAX_LEN, check_run_id, run_id_problem

from .conftest import PYTHON, child_env, fill, tamper

SHA_A = "a" * 64


# ---------------------------------------------------------------- run ids


@pytest.mark.parametrize("bad", ["", ".", "..", "../..", "../../esc", "/abs/path", "a/b", "-rf", ".hidden",
                                 "a" * (MAX_LEN + 1), "a b", "run\n2", "ru\x00n", "naïve", "a\\b", "~root"])
def test_a_new_run_with_an_unsafe_id_is_refused_before_anything_is_written(store, bad) -> None:
    with pytest.raises(GomeError) as info:
        store.append(bad, [NewEvent("RunStarted", {"task_id": "t"})], expected_seq=0)
    assert "run id" in str(info.value) or "run_id" in str(info.value)
    assert store.runs() == []


def test_the_longest_allowed_id_is_accepted_and_one_more_is_not(store) -> None:
    fill(store, "a" * MAX_LEN, n=2)
    assert store.run_exists("a" * MAX_LEN)
    with pytest.raises(InvalidRunId, match=f"at most {MAX_LEN} characters; this one has {MAX_LEN + 1}"):
        fill(store, "a" * (MAX_LEN + 1), n=2)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=140))
def test_an_accepted_run_id_is_always_one_plain_file_name(value: str) -> None:
    if run_id_problem(value) is None:
        assert check_run_id(value) == value
        assert 1 <= len(value) <= MAX_LEN
        assert Path(value).name == value and value not in (".", "..") and not value.startswith((".", "-"))
        assert "/" not in value and "\x00" not in value and value.isascii()
    else:
        with pytest.raises(InvalidRunId):
            check_run_id(value)


def test_import_refuses_an_unsafe_id_in_the_file_and_under_run_id(store, tmp_path) -> None:
    fill(store, "good", n=3)
    export = tmp_path / "good.jsonl"
    store.export_run("good", export)
    with pytest.raises(InvalidRunId, match="the run id to import under"):
        store.import_run(export, run_id="../evil")
    # an export whose header names a path as its run id (edited, chain re-signed under that id)
    text = export.read_text().replace('"run_id":"good"', '"run_id":"../evil"')
    edited = tmp_path / "evil.jsonl"
    edited.write_text(text)
    with pytest.raises(InvalidRunId, match="pass --run-id"):
        store.import_run(edited)
    assert [s.run_id for s in store.runs()] == ["good"]


# ---------------------------------------------------------------- verify checks blobs


def _run_with_blobs(store: EventStore) -> tuple[str, str]:
    code, log = b"print('hello')\n" * 10, b"stdout line\n" * 50
    sha_code, sha_log = EventStore.blob_hash(code), EventStore.blob_hash(log)
    store.append("r", [NewEvent("RunStarted", {"task_id": "t"}),
                       NewEvent("CodeGenerated", {"code_sha": sha_code}, trace_id="t1"),
                       NewEvent("ExecutionFinished", {"result": {"stdout_sha": sha_log}}, trace_id="t1")],
                 expected_seq=0, blobs={sha_code: code, sha_log: log})
    return sha_code, sha_log


def _flip_last_byte(db_path: Path, sha: str) -> None:
    conn = sqlite3.connect(db_path)
    codec, data = conn.execute("SELECT codec, data FROM blobs WHERE sha = ?", (sha,)).fetchone()
    raw = zlib.decompress(data) if codec == "zlib" else bytes(data)
    raw = raw[:-1] + bytes([raw[-1] ^ 1])
    conn.execute("UPDATE blobs SET data = ? WHERE sha = ?",
                 (zlib.compress(raw) if codec == "zlib" else raw, sha))
    conn.commit()
    conn.close()


def test_verify_names_the_seq_and_field_of_a_changed_blob_byte(store, db_path) -> None:
    _sha_code, sha_log = _run_with_blobs(store)
    assert store.verify("r").ok and store.verify("r").blobs == 2
    _flip_last_byte(db_path, sha_log)
    report = store.verify("r")
    assert not report.ok and report.first_bad_seq == 3 and report.checked == 2
    assert f"field result.stdout_sha names blob {sha_log}, which was altered" in report.reason
    with pytest.raises(ChainBroken, match="altered"):  # a reader of the blob (replay) notices too
        store.get_blob(sha_log)


def test_verify_names_a_missing_blob(store, db_path) -> None:
    sha_code, _ = _run_with_blobs(store)
    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM blobs WHERE sha = ?", (sha_code,))
    conn.commit()
    conn.close()
    report = store.verify("r")
    assert not report.ok and report.first_bad_seq == 2
    assert report.reason == f"field code_sha names blob {sha_code}, which is missing"


def test_verify_command_fails_on_a_changed_blob(tmp_path) -> None:
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    db = tmp_path / "g.db"
    with EventStore.open(db) as s:
        _, sha_log = _run_with_blobs(s)
    ok = CliRunner().invoke(cli, ["verify", "r", "--db", str(db)])
    assert ok.exit_code == 0 and "3 events, 2 blobs" in ok.output
    _flip_last_byte(db, sha_log)
    bad = CliRunner().invoke(cli, ["verify", "r", "--db", str(db)])
    assert bad.exit_code == 1 and "BROKEN at seq 3" in bad.output and "result.stdout_sha" in bad.output


# ---------------------------------------------------------------- append-only triggers


def _triggers(db_path: Path) -> set[str]:
    conn = sqlite3.connect(db_path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    conn.close()
    return names


def test_opening_a_database_whose_triggers_were_dropped_restores_them_and_warns(db_path) -> None:
    with EventStore.open(db_path) as s:
        fill(s, "r", n=3)
    tamper(db_path)  # drops both triggers
    conn = sqlite3.connect(db_path)  # and a fake guard under the real name that guards nothing
    conn.execute("CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT 1; END")
    conn.commit()
    conn.close()
    with structlog.testing.capture_logs() as logs:
        ro = EventStore.open(db_path, readonly=True)  # read-only: warns, cannot restore
        ro.close()
        assert _triggers(db_path) == {"events_no_delete"}
        EventStore.open(db_path).close()
    assert {"events_no_update", "events_no_delete"} <= _triggers(db_path)
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 2 and all("events_no_update, events_no_delete" in e["event"] for e in warnings)
    assert "restored" in warnings[1]["event"]
    conn = sqlite3.connect(db_path)
    for sql in ("UPDATE events SET type = 'X' WHERE seq = 1", "DELETE FROM events WHERE seq = 1"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_an_intact_database_opens_without_a_warning(db_path) -> None:
    EventStore.open(db_path).close()
    with structlog.testing.capture_logs() as logs:
        EventStore.open(db_path).close()
        EventStore.open(db_path, readonly=True).close()
    assert logs == []


# ---------------------------------------------------------------- read-only places


@pytest.fixture
def ro_mount(tmp_path):
    """A real read-only bind mount of a folder (root only); yields (source folder, read-only view)."""
    src, view = tmp_path / "src", tmp_path / "view"
    src.mkdir()
    view.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here to make a read-only bind mount")
    made = subprocess.run(["mount", "--bind", str(src), str(view)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount here (not root, or no CAP_SYS_ADMIN): {made.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, text=True, check=False)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only: {ro.stderr.strip()}")
        yield src, view
    finally:
        import gc

        gc.collect()
        if subprocess.run(["umount", str(view)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(view)], check=True)


@pytest.mark.integration
def test_a_database_on_a_read_only_mount_opens_read_only(ro_mount) -> None:
    src, view = ro_mount
    with EventStore.open(src / "g.db") as s:
        fill(s, "r", n=5)
    assert not (src / "g.db-wal").exists() or (src / "g.db-wal").stat().st_size == 0
    with EventStore.open(view / "g.db", readonly=True) as s:
        assert s.immutable and s.last_seq("r") == 5 and s.verify("r").ok
    assert sorted(p.name for p in src.iterdir()) in (["g.db"], ["g.db", "g.db-wal"])


@pytest.mark.integration
def test_a_read_only_mount_with_uncheckpointed_events_is_refused_with_what_to_do(ro_mount, tmp_path) -> None:
    src, view = ro_mount
    live = tmp_path / "live"
    live.mkdir()
    with EventStore.open(live / "g.db") as s:
        fill(s, "r", n=5)
        # copied while the writer is open: the events are still only in the -wal
        shutil.copy(live / "g.db", src / "g.db")
        shutil.copy(live / "g.db-wal", src / "g.db-wal")
    assert (src / "g.db-wal").stat().st_size > 0
    with pytest.raises(StoreUnreadable, match="Copy the database together with its -wal"):
        EventStore.open(view / "g.db", readonly=True)
    with EventStore.open(src / "g.db", readonly=True) as s:  # where it can be written beside, it reads
        assert s.last_seq("r") == 5


IMMUTABLE_MID_RUN = """
import subprocess, sys
from gome_es.store import EventStore, NewEvent
from gome_es.store.errors import DatabaseBecameReadOnly
db = sys.argv[1]
s = EventStore.open(db)
s.append("r", [NewEvent("RunStarted", {"task_id": "t"})], 0)
subprocess.run(["chattr", "+i", db, db + "-wal", db + "-shm"], check=True)
for attempt in (lambda: s.append("r", [NewEvent("Step", {})], 1), lambda: s.last_seq("r")):
    try:
        attempt()
        print("no error")
    except DatabaseBecameReadOnly as exc:
        print("refused:", exc)
s.close()
print("closed")
"""


@pytest.mark.integration
def test_a_database_made_immutable_mid_run_is_a_clear_error_not_sigbus(tmp_path) -> None:
    if shutil.which("chattr") is None:
        pytest.skip("no chattr here")
    db = tmp_path / "g.db"
    probe = subprocess.run(["chattr", "+i", str(tmp_path)], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {probe.stderr.strip()}")
    subprocess.run(["chattr", "-i", str(tmp_path)], check=True)
    try:
        child = subprocess.run([PYTHON, "-c", IMMUTABLE_MID_RUN, str(db)], capture_output=True, text=True,
                               env=child_env(), timeout=60, check=False)
    finally:
        subprocess.run(["chattr", "-i", str(db), f"{db}-wal", f"{db}-shm"], check=False)
    assert child.returncode == 0, (child.returncode, child.stderr)  # -7 would be SIGBUS
    lines = child.stdout.splitlines()
    assert lines[-1] == "closed" and len(lines) == 3
    assert all(line.startswith("refused:") and "chattr -i" in line and "gome resume" in line for line in lines[:2])
    with EventStore.open(db) as s:  # writable again: nothing committed was lost
        assert s.last_seq("r") == 1 and s.verify("r").ok
