"""The store contract again, on the in-memory store (``EventStore.memory()``), plus what only it does.

Every contract test in test_contract.py that needs no file of its own (it takes the ``store``
fixture, not ``db_path``) runs here as well, against a store whose fixture below gives the
in-memory one: the backend used by the driver's unit tests keeps the same promises
(gap-free seqs, conflicts, hash chain, blobs, snapshots, disk-fault rollback).  The tests that
look at the file itself or open it twice stay file-only.
"""

from __future__ import annotations

import inspect

import pytest

from gome_es.errors import ConcurrencyConflict, StoreError
from gome_es.store import EventStore, NewEvent

from . import test_contract
from .conftest import fill

FILE_ONLY = {"db_path"}
CONTRACT = [name for name, fn in vars(test_contract).items()
            if name.startswith("test_") and callable(fn)
            and not FILE_ONLY & set(inspect.signature(fn).parameters)]
globals().update({name: getattr(test_contract, name) for name in CONTRACT})


@pytest.fixture
def store():
    s = EventStore.memory()
    yield s
    s.close()


def test_most_of_the_contract_runs_here_too():
    assert len(CONTRACT) >= 12, CONTRACT  # a filter gone wrong would quietly test nothing


def test_open_with_the_memory_path_gives_a_fresh_store_each_time():
    a, b = EventStore.open(":memory:"), EventStore.open(":memory:")
    assert a.in_memory and a.path == ":memory:" and not a.readonly
    fill(a, "r", n=3)
    assert a.last_seq("r") == 3 and b.last_seq("r") == 0 and b.runs() == []
    a.close(), b.close()
    assert a.closed


@pytest.mark.parametrize("kw", [{"readonly": True}, {"create": False}])
def test_a_memory_store_cannot_be_opened_as_an_existing_database(kw):
    with pytest.raises(StoreError, match=r":memory: store starts empty .* Pass the path of a file"):
        EventStore.open(":memory:", **kw)


def test_a_conflict_names_the_run_and_keeps_the_log(store):
    store.append("r", [NewEvent("A", {})], 0)
    with pytest.raises(ConcurrencyConflict, match=r"run r: .*seq 0 .* seq 1"):
        store.append("r", [NewEvent("B", {})], expected_seq=0)
    assert [e.type for e in store.read("r")] == ["A"]


def test_the_log_is_append_only_in_memory_too(store):
    import sqlite3

    fill(store, n=3)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("UPDATE events SET payload = '{}' WHERE seq = 2")


def test_a_run_exported_from_memory_imports_into_a_file_store_unchanged(store, tmp_path):
    code = b"print('hello')\n"
    sha = EventStore.blob_hash(code)
    fill(store, "run-a", n=5)
    store.append("run-a", [NewEvent("CodeGenerated", {"code_sha": sha})], 5, blobs={sha: code})
    out = tmp_path / "run-a.gome"
    store.export_run("run-a", out)
    with EventStore.open(tmp_path / "g.db") as disk:
        disk.import_run(out)
        assert [(e.seq, e.hash) for e in disk.read("run-a")] == [(e.seq, e.hash) for e in store.read("run-a")]
        assert disk.get_blob(sha) == code and disk.verify("run-a").ok
