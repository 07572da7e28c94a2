"""`gome sweep status` tells a dead driver's cell from a live one by the leases (issue 24)."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.driver.lease import RunLease
from gome_es.store import EventStore, NewEvent
from gome_es.sweep import plan_sweep

SID = "sweep-lease"


def _sweep_with_a_started_cell(db) -> str:
    with EventStore.open(db) as store:
        plan_sweep(store, tasks=["wine-cultivar"], variants=["gome", "tree"], seeds=[0], budget_s=60, sweep_id=SID)
        state_cells = json.loads(CliRunner().invoke(cli, ["sweep", "status", SID, "--json", "--db", str(db)]).output)
        run_id = state_cells["cells"][0]["run_id"]
        store.append(SID, [NewEvent("CellAssigned", {"run_id": run_id, "attempt": 1, "mode": "run",
                                                      "backend": "local"}),
                           NewEvent("CellStarted", {"run_id": run_id, "pid": 999_999_999, "node": socket.gethostname(),
                                                     "attempt": 1})], 1)
    return run_id


def status(db, *extra):
    return CliRunner().invoke(cli, ["sweep", "status", SID, *extra, "--db", str(db)])


def test_a_cell_of_a_dead_driver_is_interrupted_with_no_eta(tmp_path):
    db = tmp_path / "gome.db"
    run_id = _sweep_with_a_started_cell(db)
    r = status(db)
    assert r.exit_code == 0, r.output
    head = r.output.splitlines()[0]
    assert "0 running, 1 interrupted" in head and "ETA" not in head and f"gome sweep resume {SID}" in head
    assert any(line.split()[0] == "interrupted" and run_id in line for line in r.output.splitlines()[1:])
    cells = json.loads(status(db, "--json").output)
    assert cells["driver_running"] is False and cells["cells"][0]["status"] == "interrupted"


def test_a_cell_of_a_live_driver_is_running_with_an_eta(tmp_path):
    db = tmp_path / "gome.db"
    run_id = _sweep_with_a_started_cell(db)
    with EventStore.open(db) as store, RunLease.acquire(store, SID):  # this process is the live driver
        r = status(db)
    head = r.output.splitlines()[0]
    assert "1 running" in head and "interrupted" not in head and "ETA" in head, head
    assert any(line.split()[0] == "started" and run_id in line for line in r.output.splitlines()[1:])
