"""The store commands through click's CliRunner, results checked through the library."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.cli.store_cmds import COMMANDS, events_cmd, export_cmd, import_cmd, runs_cmd, verify_cmd
from gome_es.store import EventStore, NewEvent

from .conftest import fill, tamper


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def filled(store):
    fill(store, n=6)
    return store


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help_and_db_option(runner, cmd):
    result = runner.invoke(cmd, ["--help"])
    assert result.exit_code == 0 and "--db" in result.output and "GOME_DB" in result.output


def test_runs_json_and_env_db(runner, filled, db_path):
    result = runner.invoke(runs_cmd, ["--json"], env={"GOME_DB": str(db_path)})
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["run_id"] == "run-a" and row["task"] == "spaceship" and row["events"] == 6
    assert "run-a" in runner.invoke(runs_cmd, ["--db", str(db_path)]).output


def test_events_filters_and_json_lines(runner, filled, db_path):
    result = runner.invoke(events_cmd, ["run-a", "--db", str(db_path), "--trace", "t1", "--json"])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["seq"] for r in rows] == [e.seq for e in filled.read("run-a", trace_id="t1")]
    assert set(rows[0]) >= {"seq", "type", "trace_id", "ts", "payload"}
    result = runner.invoke(events_cmd, ["run-a", "--db", str(db_path), "--type", "RunStarted"])
    assert result.exit_code == 0 and len(result.output.splitlines()) == 1
    # a library error reaches the terminal through the command group, as under `gome`
    missing = runner.invoke(cli, ["events", "nope", "--db", str(db_path)])
    assert missing.exit_code == 2 and "run nope not found in" in missing.output


def test_verify_exit_codes_name_the_bad_seq(runner, filled, db_path):
    ok = runner.invoke(verify_cmd, ["run-a", "--db", str(db_path)])
    assert ok.exit_code == 0 and "ok, 6 events" in ok.output
    tamper(db_path, "UPDATE events SET payload = '{\"i\":77}' WHERE seq = 4")
    bad = runner.invoke(verify_cmd, ["run-a", "--db", str(db_path)])
    assert bad.exit_code == 1 and "BROKEN at seq 4" in bad.output


def test_export_then_import_round_trips(runner, store, db_path, tmp_path):
    sha = store.put_blob("x = 1\n" * 50)
    fill(store, n=4)
    store.append("run-a", [NewEvent("CodeGenerated", {"code_sha": sha}, trace_id="t0")], 4)
    out = tmp_path / "run.jsonl.gz"
    result = runner.invoke(export_cmd, ["run-a", "--db", str(db_path), "-o", str(out)])
    assert result.exit_code == 0 and "5 events, 1 blobs" in result.output
    other = tmp_path / "other.db"
    result = runner.invoke(import_cmd, [str(out), "--db", str(other), "--no-event-check"])
    assert result.exit_code == 0, result.output
    with EventStore.open(other) as copy:
        assert copy.verify("run-a").ok and copy.head("run-a") == store.head("run-a")
        assert [e.payload for e in copy.read("run-a")] == [e.payload for e in store.read("run-a")]
        assert copy.get_blob(sha) == store.get_blob(sha)
    again = runner.invoke(cli, ["import", str(out), "--db", str(other), "--no-event-check"])
    assert again.exit_code == 2 and "already exists" in again.output
    renamed = runner.invoke(import_cmd, [str(out), "--db", str(other), "--no-event-check",
                                         "--run-id", "run-b"])
    assert renamed.exit_code == 0
    with EventStore.open(other) as copy:
        assert copy.verify("run-b").ok and copy.last_seq("run-b") == 5


def test_commands_on_a_file_that_is_not_a_database(runner, tmp_path):
    path = tmp_path / "x.db"
    path.write_text("plain text" * 10)
    result = runner.invoke(runs_cmd, ["--db", str(path)])
    assert result.exit_code == 2 and "not a SQLite database" in result.output
    result = runner.invoke(runs_cmd, ["--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 2 and "no gome database at" in result.output


def test_require_run_names_the_store_and_how_to_list_its_runs(filled, db_path):
    from gome_es.errors import RunNotFound

    filled.require_run("run-a")  # present: no error
    with pytest.raises(RunNotFound) as err:
        filled.require_run("nope")
    assert str(err.value) == (f"run nope not found in {filled.path}: it is not in the list "
                              f"`gome runs --db {filled.path}` prints.")
    assert err.value.exit_code == 2
