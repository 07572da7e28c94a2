"""Files that are not what they should be: each gets a clear, specific error."""

from __future__ import annotations

import os
import sqlite3

import pytest

from gome_es.errors import NotAGomeDatabase, SchemaTooNew, StoreError, UnknownEventType
from gome_es.store import EventStore, NewEvent, schema
from gome_es.store.errors import StoreLocked, StoreMissing, StoreUnreadable

from .conftest import fill


def test_a_text_file_is_not_a_gome_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not sqlite\n" * 20)
    with pytest.raises(NotAGomeDatabase, match=f"{path} is not a SQLite database.*--db"):
        EventStore.open(path)
    assert path.read_text().startswith("hello")  # untouched


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAGomeDatabase, match="not a gome event store.*customers"):
        EventStore.open(path)
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert tables == {"customers"}


def test_a_corrupt_database_file_is_named(store, db_path):
    fill(store, n=50)
    store.close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the schema page, keep the magic
    db_path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(NotAGomeDatabase, match=str(db_path)):
        EventStore.open(db_path)


def test_a_newer_schema_is_refused_naming_both_versions(store, db_path):
    store.close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    conn.commit()
    conn.close()
    for readonly in (False, True):
        with pytest.raises(SchemaTooNew, match=f"version 99.*up to version {schema.code_version()}"):
            EventStore.open(db_path, readonly=readonly)


def test_a_locked_database_is_reported_not_hung(db_path):
    EventStore.open(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        store = EventStore.open(db_path, busy_timeout_s=0.2)
        with pytest.raises(StoreLocked, match="another process holds the database lock"):
            store.append("r", [NewEvent("A", {})], 0)
        holder.execute("ROLLBACK")
        store.append("r", [NewEvent("A", {})], 0)
        assert store.last_seq("r") == 1
    finally:
        holder.close()


def test_missing_directory_and_unreadable_paths(tmp_path):
    with pytest.raises(StoreMissing, match="no gome database at"):
        EventStore.open(tmp_path / "absent.db", create=False)
    with pytest.raises(StoreMissing):
        EventStore.open(tmp_path / "absent.db", readonly=True)
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(StoreUnreadable, match="is a directory"):
        EventStore.open(tmp_path)
    with pytest.raises(StoreUnreadable, match="does not exist"):
        EventStore.open(tmp_path / "no" / "such" / "gome.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_a_file_without_read_permission(store, db_path):
    store.close()
    db_path.chmod(0)
    try:
        with pytest.raises(StoreUnreadable, match="permission"):
            EventStore.open(db_path)
    finally:
        db_path.chmod(0o644)


def test_readonly_store_refuses_writes(store, db_path):
    fill(store, n=3)
    ro = EventStore.open(db_path, readonly=True)
    assert ro.last_seq("run-a") == 3
    with pytest.raises(StoreError, match="read-only"):
        ro.append("run-a", [NewEvent("A", {})], 3)


def test_import_refuses_unknown_event_types_by_default_but_never_drops_them(db_path, tmp_path):
    from gome_es.core.events import validate_payload

    store = EventStore.open(db_path, validator=validate_payload)
    store.append("run-a", [NewEvent("Mystery", {"a": 1})], 0)
    path = tmp_path / "x.jsonl"
    store.export_run("run-a", path)
    with pytest.raises(UnknownEventType, match="seq 1: unknown event type 'Mystery'"):
        store.import_run(path, run_id="copy")
    assert not store.run_exists("copy")
    store.import_run(path, run_id="copy", check_events=False)
    assert [e.type for e in store.read("copy")] == ["Mystery"]
    store.close()


def test_a_store_opened_without_a_validator_checks_the_chain_only(store, tmp_path):
    """The store knows no event vocabulary of its own: unless its opener hands one in,
    an import checks hashes and blobs, and any event type goes through."""
    store.append("run-a", [NewEvent("Mystery", {"a": 1})], 0)
    path = tmp_path / "x.jsonl"
    store.export_run("run-a", path)
    assert store.import_run(path, run_id="copy") == "copy"
    assert [e.type for e in store.read("copy")] == ["Mystery"]


def test_the_cli_import_hands_the_store_gomes_event_check(db_path, tmp_path):
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    with EventStore.open(db_path) as s:
        s.append("run-a", [NewEvent("Mystery", {"a": 1})], 0)
        s.export_run("run-a", tmp_path / "x.jsonl")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "x.jsonl"), "--run-id", "copy",
                                      "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "unknown event type 'Mystery'" in result.output
    ok = CliRunner().invoke(cli, ["import", str(tmp_path / "x.jsonl"), "--run-id", "copy",
                                  "--no-event-check", "--db", str(db_path)])
    assert ok.exit_code == 0, ok.output


def test_export_of_a_file_that_is_not_an_export(store, tmp_path):
    from gome_es.store.errors import ExportInvalid

    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(ExportInvalid, match="not a gome export"):
        store.import_run(path)
    path.write_text("")
    with pytest.raises(ExportInvalid, match="is empty"):
        store.import_run(path)
