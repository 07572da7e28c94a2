"""Every command on a database with damaged pages exits 2 with a message, never a traceback (issue 24)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from tests.support.recorded import db_with


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Path:
    path = db_with(tmp_path_factory.mktemp("damaged") / "gome.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute("PRAGMA journal_mode=DELETE")  # one file, so the damage is all there is
    conn.close()
    data = bytearray(path.read_bytes())
    for page in range(2, pages, 2):  # every other page after the schema's: b-tree pages of every table
        data[page * size:page * size + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    return path


COMMANDS = [["runs"], ["runs", "--csv"], ["runs", "--json"], ["steps", "r1"], ["steps", "r1", "--csv"],
            ["events", "r1"], ["show", "r1"], ["status", "r1"], ["verify", "r1"], ["code", "r1", "t1-i0-a0"],
            ["logs", "r1", "t1-i0-a0"], ["watch", "r1", "--once"], ["replay", "r1"], ["diff", "r1", "r1"],
            ["fork", "r1", "--at", "3"], ["sweep", "status", "sweep-x"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_damaged_pages_are_exit_2_with_a_message(damaged, args):
    r = CliRunner().invoke(cli, [*args, "--db", str(damaged)])
    assert not isinstance(r.exception, sqlite3.DatabaseError), r.exception
    assert r.exit_code in (1, 2), (r.exit_code, r.output)  # verify: 1 names the bad seq, else 2
    assert "Traceback" not in r.output and r.output.strip(), r.output


def test_the_message_names_the_database_and_what_to_do(damaged):
    for args in (["runs"], ["steps", "r1"]):
        r = CliRunner().invoke(cli, [*args, "--db", str(damaged)])
        assert r.exit_code == 2 and str(damaged) in r.output, r.output
        assert "damaged" in r.output or "malformed" in r.output, r.output
