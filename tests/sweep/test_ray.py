"""A sweep on a small local Ray cluster (num_cpus = this machine's 2): it runs to the end, and a worker
SIGKILLed mid-run has its run resumed from the events that reached the driver, and finished."""

from __future__ import annotations

import json
import os
import signal

import pytest

from gome_es.store import EventStore
from tests.sweep.conftest import TINY, assert_each_cell_once, events, start_gome, wait_for

pytest.importorskip("ray", reason="Ray is not installed: `pip install 'gome-es[ray]'` runs the Ray sweep tests")


@pytest.mark.integration
def test_ray_sweep_survives_a_lost_worker(tmp_path):
    db, sid = tmp_path / "gome.db", "sweep-ray"
    proc = start_gome(tmp_path, "sweep", "--tasks", "breast-cancer-diagnosis,wine-cultivar", "--variants", "gome",
                      "--seeds", "1", *TINY, "--ray", "local", "--checkpoint", "1s", "--sweep-id", sid,
                      "--db", str(db))

    def shipped_mid_run():
        evs = events(db, sid)
        pids = {e.payload["run_id"]: e.payload["pid"] for e in evs if e.type == "CellStarted"}
        for e in evs:
            if e.type == "CellShipped" and e.payload["head_seq"] >= 5 and e.payload["run_id"] in pids:
                return e.payload["run_id"], pids[e.payload["run_id"]], e.payload["head_seq"]
        return None

    victim, worker_pid, shipped = wait_for("a run's events shipped back mid-run", shipped_mid_run, proc=proc)
    assert worker_pid != proc.pid
    os.kill(worker_pid, signal.SIGKILL)  # the Ray worker, and with it the gome process it drives
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err[-3000:]
    assert out.strip().splitlines()[-1] == sid

    runs = assert_each_cell_once(db, sid)
    evs = events(db, sid)
    lost = [e.payload for e in evs if e.type == "CellFailed"]
    assert len(lost) == 1 and lost[0]["run_id"] == victim and not lost[0]["final"]
    assert lost[0]["reason"].startswith("worker lost")
    assigned = [e.payload for e in evs if e.type == "CellAssigned" and e.payload["run_id"] == victim]
    assert [a["mode"] for a in assigned] == ["run", "resume"]
    # resumed from what had reached the driver: the events up to the last shipment are kept as they were
    resumed = [e for e in runs[victim] if e.type == "RunResumed"]
    assert len(resumed) == 1 and resumed[0].seq > shipped
    with EventStore.open(db, readonly=True) as store:
        assert store.verify(victim).ok
    assert all(e.payload["run_id"] != victim or e.payload["head_seq"] <= runs[victim][-1].seq
               for e in evs if e.type == "CellShipped")
    json.dumps([e.payload for e in evs])  # the sweep log is plain JSON


@pytest.mark.slow
def test_small_ray_sweep_runs_to_the_end(tmp_path):
    """Two tasks, two variants, two seeds on the local Ray cluster: eight runs, each finished once."""
    from tests.sweep.conftest import gome

    db = tmp_path / "gome.db"
    res = gome(tmp_path, "sweep", "--tasks", "breast-cancer-diagnosis,wine-cultivar", "--variants", "gome,no-memory",
               "--seeds", "2", *TINY, "--ray", "local", "--db", str(db), timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    sid = res.stdout.strip().splitlines()[-1]
    assert len(assert_each_cell_once(db, sid)) == 8
    assert all(e.payload["backend"] == "ray" for e in events(db, sid) if e.type == "CellAssigned")


@pytest.mark.slow
def test_ray_sweep_driver_killed_mid_run_resumes_from_the_shipped_events(tmp_path):
    from tests.sweep.conftest import gome

    db, sid = tmp_path / "gome.db", "sweep-raykill"
    proc = start_gome(tmp_path, "sweep", "--tasks", "wine-cultivar", "--variants", "gome", "--seeds", "1", *TINY,
                      "--ray", "local", "--checkpoint", "1s", "--sweep-id", sid, "--db", str(db))
    shipped = wait_for("events shipped mid-run", lambda: max(
        [e.payload["head_seq"] for e in events(db, sid) if e.type == "CellShipped"] or [0]) >= 5, proc=proc)
    assert shipped
    proc.kill()
    proc.communicate()
    res = gome(tmp_path, "sweep", "resume", sid, "--checkpoint", "1s", "--db", str(db))
    assert res.returncode == 0, res.stderr[-3000:]
    runs = assert_each_cell_once(db, sid)
    assert [e.type for e in next(iter(runs.values()))].count("RunResumed") == 1
