"""`gome runs` lists what people can use, and `gome runs delete/rename/tag/untag/note` change runs
(issue 25 items 2 and 8): real imported runs in a real SQLite file, checked through the library."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import gome_es as gome
from gome_es.cli.main import cli
from gome_es.store import EventStore
from gome_es.store import NewEvent as NE

FIXES = Path(__file__).parents[1] / "fixtures" / "diff"
SWEEP = "sweep-20261207-150150-0db4a"
CELLS = [f"{SWEEP}-breast-cancer-{v}-s{s}" for v in ("full", "no-memory") for s in (0, 1)]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gome.db"
    with EventStore.open(path) as store:
        store.import_run(FIXES / "breast-cancer-seed0.jsonl.gz", run_id="solo")
        cells = []
        for run_id in CELLS:
            seed = int(run_id[-1])
            store.import_run(FIXES / f"breast-cancer-seed{seed}.jsonl.gz", run_id=run_id)
            cells.append({"task": "breast-cancer", "variant": run_id.split("-cancer-")[1][:-3], "seed": seed,
                          "run_id": run_id})
        store.append(SWEEP, [NE("SweepPlanned", {"spec": {}, "cells": cells})], 0)
    return path


def gome_cli(*args: str, columns: int = 80, input: str | None = None):
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, list(args), input=input)


def test_ids_are_never_cut_and_sweeps_are_not_runs(db: Path) -> None:
    r = gome_cli("runs", "--db", str(db), columns=80)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    for run_id in CELLS:  # whole, so four cells can be told apart and copied
        assert any(line.split()[0] == run_id for line in lines), r.output
    assert not any(line.split()[0] == SWEEP for line in lines)  # the sweep is not a broken run
    assert "interrupted" not in r.output
    head = lines[0].split()
    assert "SWEEP" in head and "VARIANT" in head
    cell = next(line for line in lines if line.startswith(CELLS[2]))
    assert SWEEP in cell.split()[1:] and "full" not in cell.split()[-1]  # its sweep id whole, its variant


def test_other_columns_shrink_to_the_terminal(db: Path) -> None:
    wide = gome_cli("runs", "--db", str(db), "--task", "breast-cancer-diagnosis", columns=300).output
    narrow = gome_cli("runs", "--db", str(db), columns=60).output
    assert "breast-cancer-diagnosis" in wide
    assert "breast-cancer-diagnosis" not in narrow and "…" in narrow
    assert max(map(len, narrow.splitlines())) < max(map(len, wide.splitlines()))


def test_sweep_filter_takes_an_id_a_prefix_or_last(db: Path) -> None:
    for given in (SWEEP, SWEEP[:12], "@last"):
        r = gome_cli("runs", "--db", str(db), "--sweep", given, "--json")
        assert r.exit_code == 0, r.output
        rows = [json.loads(line) for line in r.output.splitlines()]
        assert sorted(x["run_id"] for x in rows) == sorted(CELLS)
        assert {x["sweep"] for x in rows} == {SWEEP} and {x["variant"] for x in rows} == {"full", "no-memory"}
    r = gome_cli("runs", "--db", str(db), "--sweep", "sweep-1999")
    assert r.exit_code == 2 and SWEEP in r.output  # names the sweeps there are


def test_the_library_gives_the_same_rows_and_columns(db: Path) -> None:
    cli_rows = [json.loads(line) for line in gome_cli("runs", "--db", str(db), "--json").output.splitlines()]
    with gome.open(db) as g:
        frame = g.runs()
        swept = g.runs(sweep="@last")
    assert list(frame["run_id"]) == [x["run_id"] for x in cli_rows]
    assert {"sweep", "variant", "tags", "note", "status"} <= set(frame.columns)
    assert list(frame["status"]) == [x["status"] for x in cli_rows]
    assert sorted(swept["run_id"]) == sorted(CELLS)


def test_tags_and_notes_show_everywhere_and_leave_the_chain(db: Path) -> None:
    with EventStore.open(db, readonly=True) as store:
        head = store.head("solo")
    assert gome_cli("runs", "tag", "solo", "baseline", "good", "--db", str(db)).exit_code == 0
    assert gome_cli("runs", "--db", str(db), "note", "sol", "lr too high\nretry with 0.01").exit_code == 0
    r = gome_cli("runs", "--db", str(db), "--tag", "good", columns=200)
    assert [line.split()[0] for line in r.output.splitlines()[1:]] == ["solo"]
    assert "baseline,good" in r.output and "lr too high retry with 0.01" in r.output
    with gome.open(db) as g:
        row = g.runs().set_index("run_id").loc["solo"]
    assert list(row["tags"]) == ["baseline", "good"] and row["note"] == "lr too high\nretry with 0.01"
    shown = gome_cli("show", "solo", "--db", str(db))
    assert "tags baseline, good" in shown.output and "note lr too high\n     retry with 0.01" in shown.output
    as_json = json.loads(gome_cli("show", "solo", "--db", str(db), "--json").output)
    assert as_json["tags"] == ["baseline", "good"] and as_json["note"].startswith("lr too high")
    assert gome_cli("runs", "untag", "solo", "good", "--db", str(db)).exit_code == 0
    assert gome_cli("runs", "note", "solo", "", "--db", str(db)).exit_code == 0
    with gome.open(db) as g:
        row = g.runs().set_index("run_id").loc["solo"]
    assert list(row["tags"]) == ["baseline"] and row["note"] is None
    with EventStore.open(db, readonly=True) as store:
        assert store.head("solo") == head and store.verify("solo").ok
    for bad in ("two words", "a,b", "", "x" * 65, "bell\x07"):
        r = gome_cli("runs", "tag", "solo", bad, "--db", str(db))
        assert r.exit_code == 2 and "tag" in r.output, (bad, r.output)


def test_delete_asks_then_removes_only_that_run(db: Path) -> None:
    r = gome_cli("runs", "delete", "solo", "--db", str(db), input="n\n")
    assert r.exit_code == 1 and "nothing deleted" in r.output
    with EventStore.open(db, readonly=True) as store:
        assert store.run_exists("solo")
        blobs_before = store.query("SELECT count(*) FROM blobs")[0][0]
    r = gome_cli("runs", "delete", CELLS[1], "--db", str(db), input="y\n")  # seed 1: blobs only it has
    assert r.exit_code == 0, r.output
    with EventStore.open(db, readonly=True) as store:
        assert not store.run_exists(CELLS[1])
        assert store.query("SELECT count(*) FROM blobs")[0][0] == blobs_before  # CELLS[3] shares them
        for other in ["solo", *CELLS[:1], *CELLS[2:]]:
            assert store.verify(other).ok, other
    r = gome_cli("runs", "delete", CELLS[3], "--db", str(db), "--yes")
    assert r.exit_code == 0
    with EventStore.open(db, readonly=True) as store:
        assert store.query("SELECT count(*) FROM blobs")[0][0] < blobs_before  # now unreferenced: gone
        assert all(store.verify(x).ok for x in ("solo", CELLS[0], CELLS[2]))
    # the guard against deleting events is back, exactly as the migration made it
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events WHERE run_id = 'solo'")
    conn.close()


def test_deleting_a_sweep_takes_its_cells(db: Path) -> None:
    r = gome_cli("runs", "delete", SWEEP, "--db", str(db), "-y")
    assert r.exit_code == 0, r.output
    with EventStore.open(db, readonly=True) as store:
        assert [s.run_id for s in store.runs()] == ["solo"] and store.verify("solo").ok


@pytest.mark.integration
def test_a_live_run_is_refused_and_nothing_is_deleted(db: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom gome_es.store import EventStore\nfrom gome_es.driver.lease import RunLease\n"
         f"s = EventStore.open({str(db)!r})\ng = RunLease.acquire(s, 'solo')\nprint('held', flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for args in (["delete", CELLS[0], "solo", "-y"], ["rename", "solo", "solo2"]):
            r = gome_cli("runs", *args, "--db", str(db))
            assert r.exit_code == 2 and "being driven by" in r.output, r.output
        with EventStore.open(db, readonly=True) as store:
            assert store.run_exists("solo") and store.run_exists(CELLS[0])  # all or nothing
    finally:
        holder.kill()
        holder.wait()


def test_rename_is_a_verified_copy_under_the_new_id(db: Path) -> None:
    gome_cli("runs", "tag", "solo", "keep", "--db", str(db))
    with EventStore.open(db, readonly=True) as store:
        before = [(e.seq, e.type, e.payload) for e in store.read("solo")]
    r = gome_cli("runs", "rename", "solo", "baseline-1", "--db", str(db))
    assert r.exit_code == 0 and "chain verified" in r.output, r.output
    with EventStore.open(db, readonly=True) as store:
        assert not store.run_exists("solo")
        assert [(e.seq, e.type, e.payload) for e in store.read("baseline-1")] == before
        assert store.verify("baseline-1").ok and all(store.verify(c).ok for c in CELLS)
    with gome.open(db) as g:
        assert list(g.runs().set_index("run_id").loc["baseline-1", "tags"]) == ["keep"]
    for args, said in ((["baseline-1", "../x"], "A-Z a-z 0-9"), (["baseline-1", CELLS[0]], "already exists"),
                       ([CELLS[0], "y"], "cell of a sweep"), ([SWEEP, "y"], "a sweep")):
        r = gome_cli("runs", "rename", *args, "--db", str(db))
        assert r.exit_code == 2 and said in r.output, (args, r.output)


def test_a_damaged_run_is_not_renamed(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript("DROP TRIGGER events_no_update; UPDATE events SET ts = ts + 1 WHERE run_id = 'solo' "
                       "AND seq = 5;")
    conn.close()
    r = gome_cli("runs", "rename", "solo", "fresh", "--db", str(db))
    assert r.exit_code == 1 and "damaged at seq 5" in r.output, r.output  # exit 1, as `gome verify`
    with EventStore.open(db, readonly=True) as store:
        assert store.run_exists("solo") and not store.run_exists("fresh")


def test_an_older_database_read_only_has_no_labels_and_lists_fine(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript("DROP TABLE run_tags; DROP TABLE run_notes; DELETE FROM schema_migrations WHERE version = 5;")
    conn.close()
    os.chmod(db, 0o444)
    try:
        r = gome_cli("runs", "--db", str(db), "--json")
        assert r.exit_code == 0, r.output
        assert all(json.loads(line)["tags"] == [] for line in r.output.splitlines())
    finally:
        os.chmod(db, 0o644)


@pytest.mark.integration
def test_a_crashed_runs_stale_lease_does_not_block_delete(db: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # that process has exited: its lease is a crashed run's leftover
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO run_leases VALUES ('solo', 'old', ?, ?, NULL, 0, ?)",
                 (pid, socket.gethostname(), 0.0))
    conn.commit()
    conn.close()
    r = gome_cli("runs", "delete", "solo", "--db", str(db), "--yes")
    assert r.exit_code == 0, r.output
    with EventStore.open(db, readonly=True) as store:
        assert not store.run_exists("solo") and store.query("SELECT count(*) FROM run_leases")[0][0] == 0


def test_labels_frame(db: Path) -> None:
    gome_cli("runs", "tag", CELLS[0], "a", "b", "--db", str(db))
    with gome.open(db) as g:
        frame = g.labels()
    assert list(frame["run_id"]) == [CELLS[0]] and list(frame["tags"][0]) == ["a", "b"]


def test_a_config_file_cannot_skip_the_question(db: Path) -> None:
    (db.parent / "gome.toml").write_text("[runs.delete]\nyes = true\n")
    r = CliRunner(env={"GOME_DB": str(db)}).invoke(cli, ["runs", "delete", "solo"], input="n\n")
    assert r.exit_code == 1 and "nothing deleted" in r.output and "ignored" in r.stderr, r.output
    with EventStore.open(db, readonly=True) as store:
        assert store.run_exists("solo")
