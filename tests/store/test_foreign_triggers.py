"""A trigger someone else added to gome's database is named on every writing open, and `gome verify`
fails while it is there (issue 24)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from gome_es.cli.main import cli
from tests.support.recorded import SEED0, db_with

SPY = ("CREATE TABLE loot (payload TEXT); CREATE TRIGGER spy AFTER INSERT ON events "
       "BEGIN INSERT INTO loot VALUES (NEW.payload); END;")


def _db(tmp_path: Path, spy: bool = True) -> Path:
    db = db_with(tmp_path / "gome.db")
    if spy:
        conn = sqlite3.connect(db)
        conn.executescript(SPY)
        conn.close()
    return db


def gome(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_every_writing_open_names_the_foreign_trigger(tmp_path):
    db = _db(tmp_path)
    for args in (["fork", "r1", "--at", "3"], ["import", str(SEED0), "--run-id", "r2"]):
        r = gome(*args, "--db", str(db))
        assert r.exit_code == 0, r.output
        assert "triggers gome did not make" in r.stderr and "'spy' on events" in r.stderr, r.stderr


def test_verify_fails_on_a_foreign_trigger_and_passes_without(tmp_path):
    db = _db(tmp_path)
    r = gome("verify", "r1", "--db", str(db))
    assert r.exit_code == 1 and "'spy' on events" in r.stderr and "NOT OK" in r.stderr, r.output
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER spy")
    conn.close()
    r = gome("verify", "r1", "--db", str(db))
    assert r.exit_code == 0 and "ok" in r.stdout, r.output


def test_gomes_own_guards_are_not_foreign(tmp_path):
    db = _db(tmp_path, spy=False)
    r = gome("fork", "r1", "--at", "3", "--db", str(db))
    assert r.exit_code == 0 and "did not make" not in r.stderr
    assert gome("verify", "r1", "--db", str(db)).exit_code == 0
