"""Store contract: append, read, conflicts, chain, blobs, snapshots, migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import zlib

import pytest

from gome_es.core.canonical import GENESIS_HASH, event_hash
from gome_es.errors import ConcurrencyConflict, DiskTrouble, EventError
from gome_es.store import EventStore, NewEvent, schema

from .conftest import PYTHON, child_env, fill


def test_append_assigns_gap_free_seqs_and_reads_back(store):
    first = store.append("r", [NewEvent("A", {"x": 1})], expected_seq=0)
    more = store.append("r", [NewEvent("B", {"y": [1, 2.5, None]}, trace_id="t1"),
                              NewEvent("C", {}, ts=42.0)], expected_seq=1)
    assert [e.seq for e in first + more] == [1, 2, 3]
    assert more[1].ts == 42.0 and isinstance(first[0].ts, float)
    back = list(store.read("r"))
    assert back == first + more
    assert store.head("r") == (3, more[-1].hash)
    assert store.last_seq("nope") == 0 and store.head("nope") == (0, GENESIS_HASH)


def test_reads_filter_by_trace_type_and_range_and_stream_in_batches(store):
    fill(store, n=30)
    assert [e.seq for e in store.read("run-a", trace_id="t1")] == list(range(2, 31, 2))
    assert [e.type for e in store.read("run-a", types=["RunStarted"])] == ["RunStarted"]
    assert [e.seq for e in store.read("run-a", from_seq=5, to_seq=8)] == [5, 6, 7, 8]
    assert [e.seq for e in store.read("run-a", batch=7)] == list(range(1, 31))
    assert list(store.read("run-a", types=[])) == []
    stream = store.read("run-a", batch=4)
    assert next(stream).seq == 1  # lazily: a writer may append while a reader iterates
    store.append("run-a", [NewEvent("Late", {})], expected_seq=30)
    assert [e.seq for e in stream][-1] == 31


def test_hash_chain_links_every_event(store):
    events = fill(store, n=5)
    prev = GENESIS_HASH
    for e in events:
        assert e.prev_hash == prev
        assert e.hash == event_hash(e.envelope(), prev)
        prev = e.hash
    assert store.verify("run-a").ok


def test_stale_expected_seq_is_a_conflict_between_two_connections(db_path):
    a, b = EventStore.open(db_path), EventStore.open(db_path)
    a.append("r", [NewEvent("A", {})], expected_seq=0)
    with pytest.raises(ConcurrencyConflict, match=r"run r: .*expected .* seq 0 .* seq 1"):
        b.append("r", [NewEvent("B", {})], expected_seq=0)
    assert [e.type for e in b.read("r")] == ["A"]
    b.append("r", [NewEvent("B", {})], expected_seq=1)
    assert a.last_seq("r") == 2
    a.close(), b.close()


RACER = """
import sys
from gome_es.errors import ConcurrencyConflict
from gome_es.store import EventStore, NewEvent
store = EventStore.open(sys.argv[1])
done = 0
while done < int(sys.argv[3]):
    try:
        store.append("shared", [NewEvent("Tick", {"who": sys.argv[2], "n": done})],
                     expected_seq=store.last_seq("shared"))
        done += 1
    except ConcurrencyConflict:
        pass
"""


@pytest.mark.integration
def test_two_processes_racing_on_one_run_never_clash(db_path):
    EventStore.open(db_path).close()
    procs = [subprocess.Popen([PYTHON, "-c", RACER, str(db_path), who, "40"], env=child_env())
             for who in ("p", "q")]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    with EventStore.open(db_path) as store:
        ticks = list(store.read("shared"))
        assert [e.seq for e in ticks] == list(range(1, 81))
        for who in ("p", "q"):
            assert [e.payload["n"] for e in ticks if e.payload["who"] == who] == list(range(40))
        assert store.verify("shared").ok


def test_threads_sharing_one_store_append_without_gaps(store):
    def worker(name):
        done = 0
        while done < 25:
            try:
                store.append("r", [NewEvent("Tick", {"w": name})], store.last_seq("r"))
                done += 1
            except ConcurrencyConflict:
                pass

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert store.last_seq("r") == 100 and store.verify("r").ok


def test_blobs_are_content_addressed_compressed_and_deduplicated(store, db_path):
    text = "epoch 1 loss 0.5\n" * 2000
    sha = store.put_blob(text)
    assert sha == EventStore.blob_hash(text.encode()) and store.put_blob(text.encode()) == sha
    assert store.get_blob(sha) == text.encode()
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT codec, size, length(data) FROM blobs").fetchall()
    assert rows == [("zlib", len(text), len(zlib.compress(text.encode(), 6)))]
    assert rows[0][2] < len(text) / 20


def test_blobs_travel_atomically_with_their_events(store):
    code = b"print('hi')\n" * 10
    sha = EventStore.blob_hash(code)
    store.append("r", [NewEvent("CodeGenerated", {"code_sha": sha})], 0, blobs={sha: code})
    assert store.get_blob(sha) == code
    with pytest.raises(EventError, match="hashes to"):
        store.append("r", [NewEvent("X", {})], 1, blobs={"0" * 64: b"other"})
    assert store.last_seq("r") == 1


def test_unknown_types_are_stored_and_read_untouched(store):
    store.append("r", [NewEvent("FromTheFuture", {"a": 1}, schema_version=7)], 0)
    (e,) = store.read("r")
    assert (e.type, e.schema_version, e.payload) == ("FromTheFuture", 7, {"a": 1})


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}])
def test_payloads_that_are_not_plain_json_are_refused_before_writing(store, bad):
    with pytest.raises(EventError, match="run r: Bad payload is not plain JSON"):
        store.append("r", [NewEvent("Bad", bad)], 0)
    assert store.last_seq("r") == 0


@pytest.mark.parametrize("how", ["hook", "env"])
@pytest.mark.parametrize("kind,message", [("full", "disk is full"), ("ioerror", "I/O error")])
def test_disk_faults_keep_nothing_partial_and_clear(store, monkeypatch, how, kind, message):
    store.append("r", [NewEvent("A", {})], 0)
    blob = b"big log " * 100
    if how == "hook":
        store.faults.arm_disk(kind, times=1)
    else:
        monkeypatch.setenv("GOME_FAULT_DISK", kind)
    with pytest.raises(DiskTrouble, match=rf"run r.*{message}.*nothing from this write was kept"):
        store.append("r", [NewEvent("B", {}), NewEvent("C", {})], 1,
                     blobs={EventStore.blob_hash(blob): blob})
    assert store.last_seq("r") == 1 and not store.has_blob(EventStore.blob_hash(blob))
    monkeypatch.delenv("GOME_FAULT_DISK", raising=False)
    assert [e.seq for e in store.append("r", [NewEvent("B", {})], 1)] == [2]
    assert store.verify("r").ok


def test_snapshots_by_schema_and_seq(store):
    assert store.load_snapshot("r", state_schema=1) is None
    store.save_snapshot("r", 10, 1, '{"n": 10}')
    store.save_snapshot("r", 20, 1, '{"n": 20}')
    store.save_snapshot("r", 30, 2, '{"n": 30}')
    assert store.load_snapshot("r", state_schema=1) == (20, '{"n": 20}')
    assert store.load_snapshot("r", state_schema=1, max_seq=15) == (10, '{"n": 10}')
    assert store.load_snapshot("r", state_schema=3) is None
    assert store.snapshot_seqs("r", 1) == [10, 20]
    store.drop_snapshots("r", 1, [10])
    assert store.snapshot_seqs("r", 1) == [20] and store.snapshot_seqs("r", 2) == [30]


def test_saved_snapshots_are_thinned_to_the_newest_and_one_per_band(store):
    """A run saved every 1000 events keeps ~a dozen snapshots at 100k events, not a hundred."""
    from gome_es.core.state import STATE_SCHEMA, RunState
    from gome_es.driver.snapshots import SNAPSHOT_BAND, save_state, snapshots_to_drop

    assert snapshots_to_drop([1000, 2000, 9000, 10000, 11000, 25000, 26000], band=10_000) == [2000, 9000, 11000]
    assert snapshots_to_drop([]) == [] and snapshots_to_drop([5]) == []
    for seq in range(1000, 100_001, 1000):
        save_state(store, RunState(run_id="r", last_seq=seq))
    kept = store.snapshot_seqs("r", STATE_SCHEMA)
    assert kept == sorted([1000, 99_000, *range(SNAPSHOT_BAND, 100_001, SNAPSHOT_BAND)])
    assert store.load_snapshot("r", state_schema=STATE_SCHEMA)[0] == 100_000


def test_runs_summarise_task_status_and_counts(store):
    fill(store, "run-a", n=4)
    fill(store, "run-b", n=2)
    store.append("run-b", [NewEvent("RunFinished", {"status": "done"}, ts=2000.0)], 2)
    a, b = store.runs()
    assert (a.run_id, a.task, a.status, a.created, a.events, a.last_ts) == (
        "run-a", "spaceship", "unfinished", 1000.0, 4, 1003.0)
    assert (b.run_id, b.status, b.events, b.last_ts) == ("run-b", "done", 3, 2000.0)


def test_migrations_apply_once_and_reapplying_is_a_no_op(db_path):
    EventStore.open(db_path).close()
    EventStore.open(db_path).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == list(range(1, schema.code_version() + 1))
    before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    schema.migrate(conn, str(db_path))
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(versions)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_events_table_is_append_only(store, db_path):
    fill(store, n=3)
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET payload = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")


def test_statement_splitter_keeps_trigger_bodies_whole():
    sql = ("-- a; comment\nCREATE TABLE t (a);\nCREATE TRIGGER x BEFORE DELETE ON t BEGIN "
           "SELECT RAISE(ABORT, 'no; really'); END;\n-- trailing\n")
    parts = schema.split_statements(sql)
    assert len(parts) == 2 and parts[1].endswith("END;")


def test_reading_several_types_merges_indexed_reads_in_seq_order(store):
    fill(store, "r", n=30)
    kinds = ["A", "B", "C"]
    store.append("r", [NewEvent(kinds[i % 3], {"i": i}) for i in range(60)], 30)
    want = [e.seq for e in store.read("r") if e.type in ("A", "C")]
    got = list(store.read("r", types=["C", "A", "C"], batch=7))
    assert [e.seq for e in got] == want and {e.type for e in got} == {"A", "C"}
    assert [e.seq for e in store.read("r", types=["A", "B"], from_seq=40, to_seq=50)] == [
        e.seq for e in store.read("r", from_seq=40, to_seq=50) if e.type in ("A", "B")]
    plan = store._conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE run_id = ? AND type = ? AND seq > ? ORDER BY seq LIMIT ?",
        ("r", "A", 0, 10)).fetchall()
    assert "events_by_type" in str(plan)  # one type: the index, not a walk of the run
