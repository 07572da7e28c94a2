"""Labels (tags, notes) and whole-run housekeeping in the store (gome_es.store.runadmin): labels leave
the chain alone; delete and rename touch only the run named, whatever its id looks like."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gome_es.errors import GomeError, RunExists, RunNotFound
from gome_es.store import EventStore
from gome_es.store import NewEvent as NE
from gome_es.store.runadmin import BadLabel, Labels, delete_run, note_run, read_labels, rename_run, tag_run, untag_run


def _run(store: EventStore, run_id: str, text: str) -> None:
    sha = store.put_blob(text)
    store.append(run_id, [NE("RunStarted", {"task_id": "t"}), NE("CodeGenerated", {"code_sha": sha})], 0)


@pytest.fixture()
def store(tmp_path: Path):
    with EventStore.open(tmp_path / "gome.db") as s:
        _run(s, "a_b", "shared code")
        _run(s, "axb", "shared code")  # `_` is a LIKE wildcard: must not be taken for a_b
        _run(s, "a_b-2", "only mine")
        yield s


def test_labels_round_trip_and_do_not_touch_the_chain(store: EventStore) -> None:
    head = store.head("a_b")
    assert tag_run(store, "a_b", ["z", "a", "z"]) == Labels(("a", "z"), None)
    assert note_run(store, "a_b", "ünïcode\nsecond line").note == "ünïcode\nsecond line"
    labels, absent = untag_run(store, "a_b", ["z", "never"])
    assert labels.tags == ("a",) and absent == ["never"]
    assert note_run(store, "a_b", "   ").note is None
    assert store.head("a_b") == head and store.verify("a_b").ok
    assert set(read_labels(store)) == {"a_b"}


@pytest.mark.parametrize("bad", ["", "two words", "a,b", "tab\t", "\x1b[31m", "x" * 65])
def test_bad_tags_are_refused_with_the_rule(store: EventStore, bad: str) -> None:
    with pytest.raises(BadLabel):
        tag_run(store, "a_b", [bad])
    assert read_labels(store) == {}


def test_labels_need_a_run(store: EventStore) -> None:
    with pytest.raises(RunNotFound):
        tag_run(store, "nobody", ["x"])
    with pytest.raises(BadLabel):
        note_run(store, "a_b", "x" * 5000)


def test_delete_takes_only_that_run_and_its_unshared_blobs(store: EventStore) -> None:
    tag_run(store, "a_b-2", ["gone"])
    store.save_snapshot("a_b-2", 2, 1, "{}")
    only = store.blob_hash("only mine")
    done = delete_run(store, "a_b-2")
    assert (done.events, done.blobs, done.snapshots) == (2, 1, 1)
    assert not store.has_blob(only) and store.has_blob(store.blob_hash("shared code"))
    assert read_labels(store) == {}
    done = delete_run(store, "a_b")
    assert done.blobs == 0  # axb still uses it
    assert [s.run_id for s in store.runs()] == ["axb"] and store.verify("axb").ok
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM events")  # the guard is back


def test_delete_refuses_a_lease_it_does_not_hold(store: EventStore) -> None:
    with store.write_transaction() as conn:
        conn.execute("INSERT INTO run_leases VALUES ('a_b', 'someone', 1, 'h', NULL, 0, 0)")
    with pytest.raises(GomeError, match="lease held by another process"):
        delete_run(store, "a_b", lease_token="mine")
    assert store.run_exists("a_b")
    assert delete_run(store, "a_b", lease_token="someone").events == 2


def test_rename_rechains_and_moves_labels(store: EventStore) -> None:
    tag_run(store, "a_b", ["t"])
    before = [(e.seq, e.type, e.payload) for e in store.read("a_b")]
    assert rename_run(store, "a_b", "fresh") == 2
    assert [(e.seq, e.type, e.payload) for e in store.read("fresh")] == before
    assert store.verify("fresh").ok and not store.run_exists("a_b")
    assert read_labels(store) == {"fresh": Labels(("t",), None)}
    with pytest.raises(RunExists):
        rename_run(store, "fresh", "axb")
    with pytest.raises(GomeError, match="not allowed"):
        rename_run(store, "fresh", "../up")
