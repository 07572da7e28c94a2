"""A real database for the web view's tests: synthetic-policy runs (one with hostile texts),
a run no gome would accept (its id written by another tool, straight into SQLite), and a sweep
one of whose cells has run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gome_es.core.events import validate_payload
from gome_es.store import EventStore, NewEvent
from gome_es.sweep.driver import plan_sweep
from tests.support.synthetic import synthesize

HOSTILE = '<script>alert("hyp")</script><img src=x onerror=alert(1)>&amp;'
HOSTILE_ID = '<img src=x onerror=alert(7)>"run'


def hostile(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """The payload with every hypothesis and the model name replaced by markup."""
    p = dict(payload)
    if kind == "HypothesisProposed":
        p["hypothesis"] = HOSTILE
        p["candidates"] = [{**c, "text": HOSTILE} for c in p.get("candidates", [])]
    if kind == "RunStarted":
        p["reasoner"] = {**p.get("reasoner", {}), "model": HOSTILE}
    return p


def on_task(payload: dict[str, Any], kind: str, task: str | None) -> dict[str, Any]:
    if kind != "RunStarted" or task is None:
        return payload
    return {**payload, "task_id": task, "task": {**payload["task"], "id": task}}


def synthetic_events(run_id: str, seed: int, ts0: float = 0.0, *, evil: bool = False, iterations: int = 3,
                     task: str | None = None) -> tuple[list[NewEvent], dict[str, bytes]]:
    """A synthetic-policy run's events (its task renamed to ``task``; its texts hostile if ``evil``)."""
    run = synthesize(seed, run_id=run_id, traces=2, max_iterations=iterations, code_size=120, log_size=40)
    events = [NewEvent(e.type, on_task(hostile(e.payload, e.type) if evil else e.payload, e.type, task),
                       e.trace_id, e.ts + ts0, e.schema_version) for e in run.events]
    return events, run.blobs


def add_run(store: EventStore, run_id: str, seed: int, ts0: float = 0.0, *, evil: bool = False,
            task: str | None = None, keep: float = 1.0) -> int:
    """Append a run; ``keep`` < 1 keeps only its first events (a run that stopped writing)."""
    events, blobs = synthetic_events(run_id, seed, ts0, evil=evil, task=task)
    events = events[: max(1, int(len(events) * keep))]
    store.append(run_id, events, 0, blobs=blobs)
    return len(events)


def make_db(path: Path) -> dict[str, Any]:
    with EventStore.open(path, validator=validate_payload) as store:
        add_run(store, "run-alpha-1", 1, 0.0)
        add_run(store, "run-alpha-2", 2, 1000.0)
        add_run(store, "run-evil", 3, 2000.0, evil=True)
        sweep = plan_sweep(store, tasks=["breast-cancer-diagnosis"], variants=["gome", "no-memory"], seeds=[0],
                           budget_s=60, sweep_id="sweep-web-1")
        cells = [c["run_id"] for c in next(iter(store.read(sweep))).payload["cells"]]
        add_run(store, cells[0], 4, 3000.0, task="breast-cancer-diagnosis")
        add_run(store, "run-cut", 5, 3500.0, keep=0.5)  # no RunFinished, no lease: interrupted
    con = sqlite3.connect(path)  # another tool's row: an id gome itself would refuse
    with con:
        con.execute("INSERT INTO events SELECT ?, seq, trace_id, type, schema_version, ts + 4000, payload, "
                    "prev_hash, hash FROM events WHERE run_id = 'run-alpha-1'", (HOSTILE_ID,))
    con.close()
    return {"db": path, "sweep": sweep, "cells": cells}


@pytest.fixture(scope="session")
def study(tmp_path_factory) -> dict[str, Any]:
    return make_db(tmp_path_factory.mktemp("web") / "study.db")
