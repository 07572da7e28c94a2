"""Fixtures for the store tests: real SQLite files in a temp folder."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from gome_es.store import EventStore, NewEvent

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "gome.db"


@pytest.fixture
def store(db_path: Path):
    s = EventStore.open(db_path)
    yield s
    s.close()


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child python that imports gome_es from this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOME_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


PYTHON = sys.executable


def fill(store: EventStore, run_id: str = "run-a", n: int = 10, trace_of=lambda i: f"t{i % 2}"):
    events = [NewEvent("RunStarted", {"task_id": "spaceship"}, ts=1000.0)]
    events += [NewEvent("Step", {"i": i, "note": "x" * i}, trace_id=trace_of(i), ts=1000.0 + i)
               for i in range(1, n)]
    return store.append(run_id, events, expected_seq=0)


def tamper(db_path: Path, *statements: str) -> None:
    """Edit the file the way someone with the sqlite3 shell would (dropping the guards)."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
