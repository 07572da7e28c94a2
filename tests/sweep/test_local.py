"""A real sweep on this machine: runs to the end, and survives its driver being SIGKILLed at two moments."""

from __future__ import annotations

import signal
import time

import pytest

from gome_es.driver.lease import live_status
from gome_es.store import EventStore
from tests.sweep.conftest import TINY, assert_each_cell_once, events, gome, start_gome, sweep_env, wait_for

TASKS = "breast-cancer-diagnosis,wine-cultivar"


def _types(db, sid):
    return [e.type for e in events(db, sid)]


@pytest.mark.integration
def test_driver_killed_twice_and_resumed_finishes_every_cell_exactly_once(tmp_path):
    """Killed right after its first CellAssigned (before the launch), then mid-sweep with runs in flight."""
    db, sid = tmp_path / "gome.db", "sweep-kill"
    # 1. SIGKILL right after seq 3 (SweepPlanned, SweepDriverStarted, the first CellAssigned) is durable
    first = gome(tmp_path, "sweep", "--tasks", TASKS, "--variants", "tree", "--seeds", "1", *TINY,
                 "--sweep-id", sid, "--db", str(db), env=sweep_env(tmp_path, GOME_CRASH_AFTER_SEQ="3"))
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    assert _types(db, sid) == ["SweepPlanned", "SweepDriverStarted", "CellAssigned"]
    with EventStore.open(db, readonly=True) as store:
        assigned = events(db, sid)[2].payload["run_id"]
        assert not store.run_exists(assigned)  # killed before the launch: nothing started

    # 2. resume one run at a time; SIGKILL the driver once one cell is finished and the other in flight
    proc = start_gome(tmp_path, "sweep", "resume", sid, "--concurrency", "1", "--db", str(db))

    def one_done_one_running():
        evs = events(db, sid)
        done = {e.payload["run_id"] for e in evs if e.type == "CellFinished"}
        started = [e.payload["run_id"] for e in evs if e.type == "CellStarted" and e.payload["run_id"] not in done]
        with EventStore.open(db, readonly=True) as store:
            live = [r for r in started if store.run_exists(r) and store.last_seq(r) >= 5]
        return (done, live[0]) if done and live else None

    done, in_flight = wait_for("a finished cell and a run in flight", one_done_one_running, proc=proc)
    proc.kill()
    proc.communicate()
    # its runs die with it (SIGTERM on the driver's death): each stops gracefully and lets go of its lease
    def stopped():
        with EventStore.open(db, readonly=True) as store:
            return live_status(store, in_flight) != "running"

    wait_for("the orphaned run to stop", stopped, timeout=60)

    # 3. resume to the end
    last = gome(tmp_path, "sweep", "resume", sid, "--db", str(db))
    assert last.returncode == 0, last.stderr[-3000:]
    assert last.stdout.strip().splitlines()[-1] == sid
    assert "done" in last.stderr and "left" in last.stderr and "ETA" in last.stderr
    runs = assert_each_cell_once(db, sid)
    # the run that was in flight was continued through `gome resume`, never started again
    assert any(e.type == "RunResumed" for e in runs[in_flight])
    evs = events(db, sid)
    drivers = [e.payload for e in evs if e.type == "SweepDriverStarted"]
    assert [d["resumed"] for d in drivers] == [False, True, True]
    modes = {(e.payload["run_id"], e.payload["mode"]) for e in evs if e.type == "CellAssigned"}
    assert (in_flight, "resume") in modes
    assert (assigned, "run") in modes
    # a cell already finished was kept: it was never assigned again after it finished
    for rid in done:
        fin = next(e.seq for e in evs if e.type == "CellFinished" and e.payload["run_id"] == rid)
        assert not [e for e in evs if e.type == "CellAssigned" and e.payload["run_id"] == rid and e.seq > fin]
    assert not [e for e in evs if e.type == "CellFailed"]  # a killed driver costs no cell a try

    # the report and the MLE-bench export of the finished sweep
    rep = gome(tmp_path, "sweep", "report", sid, "--json", "--db", str(db))
    assert rep.returncode == 0, rep.stderr
    import json

    r = json.loads(rep.stdout)
    assert r["complete"] and set(r["per_variant"]) == {"tree"}
    assert r["per_variant"]["tree"]["valid_submission"]["mean"] == 1.0
    out = tmp_path / "subs.jsonl"
    exp = gome(tmp_path, "sweep", "export", sid, "--mlebench-submissions", str(out), "--db", str(db))
    assert exp.returncode == 0, exp.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and {x["competition_id"] for x in lines} == set(TASKS.split(","))
    for x in lines:
        head = open(x["submission_path"]).readline()
        assert head.startswith("id"), head


@pytest.mark.slow
def test_small_sweep_runs_to_the_end(tmp_path):
    """Two tasks, two variants, two seeds: eight real runs, each finished and graded once."""
    db = tmp_path / "gome.db"
    res = gome(tmp_path, "sweep", "--tasks", TASKS, "--variants", "gome,no-memory", "--seeds", "2", *TINY,
               "--db", str(db), timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    sid = res.stdout.strip().splitlines()[-1]
    assert len(assert_each_cell_once(db, sid)) == 8


@pytest.mark.slow
def test_crash_campaign_driver_killed_after_every_sweep_event(tmp_path):
    """kill -9 right after each of the sweep's own events is durable, resume, and every cell ends done once."""
    k, tried = 1, 0
    while True:
        root = tmp_path / f"k{k}"
        root.mkdir()
        db, sid = root / "gome.db", f"sweep-crash{k}"
        first = gome(root, "sweep", "--tasks", "wine-cultivar", "--variants", "gome,tree", "--seeds", "1", *TINY,
                     "--sweep-id", sid, "--db", str(db), env=sweep_env(root, GOME_CRASH_AFTER_SEQ=str(k)))
        if first.returncode == 0:
            break  # the sweep has fewer than k events: every point was tried
        assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
        time.sleep(2)  # the orphaned runs got SIGTERM; let them record RunStopped
        res = gome(root, "sweep", "resume", sid, "--db", str(db))
        assert res.returncode == 0, (k, res.stderr[-3000:])
        assert_each_cell_once(db, sid)
        tried += 1
        k += 1
    assert tried >= 6
