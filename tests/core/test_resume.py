"""Crash-proof resume: kill -9 at event k or mid side effect, graceful stop, changed code, disk trouble."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome_es.store import EventStore
from gome_es.store.errors import StoreMissing
from tests.support.runs import (
    ASYNC_RUN_ARGS,
    RUN_ARGS,
    check_async_crash_invariants,
    check_crash_invariants,
    crash_then_resume,
    gome,
)

pytestmark = pytest.mark.integration


def _wait_for_first_execution(db: Path, run_id: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if db.exists():
            try:
                store = EventStore.open(db, readonly=True)
            except StoreMissing:  # the file exists but the run has not written its schema yet
                time.sleep(0.2)
                continue
            started = list(store.read(run_id, types=["ExecutionStarted"])) if store.run_exists(run_id) else []
            store.close()
            if started:
                return
        time.sleep(0.2)
    raise AssertionError(f"no execution of run {run_id} started within {timeout}s")


def _sample_points(n_events: int) -> list[int]:
    # a small, spread sample by default; benchmarks/crash_campaign.py tries every k
    return sorted({n_events // 3, (2 * n_events) // 3, n_events - 2})


@pytest.mark.parametrize("point", [0, 1, 2])
def test_kill_after_event_k_then_resume_matches_uninterrupted_run(tmp_path, baseline, point) -> None:
    store = EventStore.open(baseline["db"], readonly=True)
    n = store.last_seq(baseline["run_id"])
    k = _sample_points(n)[point]
    db, fx = crash_then_resume(tmp_path, {"GOME_CRASH_AFTER_SEQ": str(k)}, baseline)
    check_crash_invariants(db, "r", baseline, fx)
    store = EventStore.open(db, readonly=True)
    resumed = [e for e in store.read("r") if e.type == "RunResumed"]
    assert len(resumed) == 1 and resumed[0].payload["cause"] == "crash"
    assert [e.type for e in store.read("r")][-1] == "SubmissionGraded"


@pytest.mark.parametrize("crash", [pytest.param({"GOME_CRASH_AFTER_SEQ": "27"}, marks=pytest.mark.slow),
                                   {"GOME_CRASH_DURING_EFFECT": "5"}], ids=["after-seq-27", "mid-effect-5"])
def test_async_run_killed_anywhere_resumes_to_a_log_that_replays(tmp_path, crash) -> None:
    # two traces, two slots, outcomes in whatever order they finish: the resumed run may decide
    # differently from an uninterrupted one, but its own log replays, with each effect done once
    # except those in flight at the kill (benchmarks/crash_campaign.py --schedule async tries every k)
    db, fx = crash_then_resume(tmp_path, crash, args=ASYNC_RUN_ARGS)
    check_async_crash_invariants(db, "r", fx)
    store = EventStore.open(db, readonly=True)
    started = next(store.read("r", to_seq=1))
    assert started.payload["config"]["schedule"] == "async"
    resumed = list(store.read("r", types=["RunResumed"]))
    assert len(resumed) == 1 and resumed[0].payload["cause"] == "crash"
    if "GOME_CRASH_DURING_EFFECT" in crash:
        assert resumed[0].payload["redo_keys"], "the effect in flight is redone"


def test_kill_in_the_middle_of_an_execution_kills_the_orphan_and_redoes_it_once(tmp_path, baseline) -> None:
    # effect 1 is the directions call; effect 3 is trace t1's first execution (slots=1: one at a time)
    db, fx = crash_then_resume(tmp_path, {"GOME_CRASH_DURING_EFFECT": "4"}, baseline)
    check_crash_invariants(db, "r", baseline, fx)
    store = EventStore.open(db, readonly=True)
    starts = [e for e in store.read("r") if e.type == "ExecutionStarted"]
    first = starts[0].payload
    again = [s for s in starts[1:] if s.payload["key"] == first["key"]]
    assert again, "the orphaned execution was redone"
    fin = [e for e in store.read("r", types=["ExecutionFinished"]) if e.payload["key"] == first["key"]]
    assert len(fin) == 1 and fin[0].payload["redone"] is True
    assert fin[0].payload["workspace"] != first["workspace"], "redone in a fresh workspace"
    try:  # the orphan is gone: its pid is free or belongs to someone else now
        os.kill(first["pid"], 0)
        alive_start = Path(f"/proc/{first['pid']}/stat").read_text().split(")")[-1].split()[19]
        assert str(alive_start) != str(first["start_time"])
    except ProcessLookupError:
        pass


def test_graceful_stop_records_it_and_resume_finishes_the_same_run(tmp_path, baseline) -> None:
    db, fx = tmp_path / "g.db", tmp_path / "effects.log"
    work = ["--workspace", str(tmp_path / "work")]
    env = {**os.environ, "GOME_DB": str(db), "GOME_EFFECT_LOG": str(fx)}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "run", *RUN_ARGS, "--run-id", "r", *work], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_first_execution(db, "r")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "SIGINT received" in err, (proc.returncode, err[-2000:])
    # the stop is said once: why it stopped and how to go on, not twice in other words
    assert err.count("stopped before the end") == 1 and err.count("gome resume r") == 1, err[-2000:]
    store = EventStore.open(db, readonly=True)
    types = [e.type for e in store.read("r")]
    assert types[-1] == "RunStopped"
    assert gome(["show", "r"], db=db).stdout.count("status stopped") == 1
    res = gome(["resume", "r", "--quiet", "--slots", "1", *work], db=db, env={"GOME_EFFECT_LOG": str(fx)})
    assert res.returncode == 0, res.stderr[-3000:]
    store = EventStore.open(db, readonly=True)
    resumed = [e for e in store.read("r", types=["RunResumed"])]
    assert resumed[0].payload["cause"] == "graceful_stop"
    check_crash_invariants(db, "r", baseline, fx, max_extra=1)


def test_a_second_ctrl_c_stops_at_once_and_the_run_still_resumes(tmp_path) -> None:
    db = tmp_path / "g.db"
    work = ["--workspace", str(tmp_path / "work")]
    env = {**os.environ, "GOME_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "run", *RUN_ARGS, "--run-id", "r", *work], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_first_execution(db, "r")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    out, err = proc.communicate(timeout=60)
    # 130: killed at once by the second Ctrl-C (or stopped by the first); -2: the second arrived
    # while the interpreter was already exiting. Either way, fast, and the log is intact.
    assert proc.returncode in (130, -signal.SIGINT) and time.time() - t0 < 10, err[-3000:]
    assert gome(["verify", "r"], db=db).returncode == 0
    res = gome(["resume", "r", "--quiet", *work], db=db)
    assert res.returncode == 0, res.stderr[-2000:]
