"""The asynchronous schedule: traces that never wait for each other, replayed to the event.

Runs are real (real store, offline reasoner, the state machine and replay);
only the executor sleeps instead of training (tests/support/sleeper.py), so
the clock shows the schedule alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gome_es.core.events import ReasonerConfig, RunConfig, parse_event
from gome_es.core.state import RunState, apply, fold
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.driver.loops import budget_deadline, schedule_of
from gome_es.driver.replay_jobs import replay_run
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.support.sleeper import SleepingExecutor

TASK = "breast-cancer-diagnosis"


def _run(tmp_path: Path, schedule: str, durations: dict[str, float], budget_s: float, *,
         max_iterations: int = 40, slots: int = 2, traces: int = 2) -> tuple[EventStore, RunState, SleepingExecutor]:
    store = EventStore.open(tmp_path / f"{schedule}.db")
    task = load_task(TASK)
    cfg = RunConfig(traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=1, exec_timeout_s=60,
                    est_exec_s=0.05, schedule=schedule)  # type: ignore[arg-type]
    rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id="r")
    ex = SleepingExecutor(task, durations)
    state = drive(store, rid, task=task, executor=ex,
                  options=DriveOptions(workspace_root=tmp_path / "work", slots=slots, grade=False))
    return store, state, ex


def _finished_per_trace(store: EventStore) -> Counter:
    return Counter(e.trace_id for e in store.read("r", types=["ExecutionFinished"])
                   if e.payload["failure"] != "budget_cut")


@pytest.mark.integration
def test_the_fast_trace_does_not_wait_for_the_slow_one_and_the_run_replays(tmp_path) -> None:
    store, state, ex = _run(tmp_path, "async", {"t1": 0.1, "t2": 1.2}, budget_s=3.0)
    assert state.is_finished and schedule_of(state) == "async"
    done = _finished_per_trace(store)
    assert done["t1"] >= 4 * max(1, done["t2"]), done  # lock-step would hold t1 to t2's pace
    # outcomes of t1 land while t2's experiment is in flight: the traces interleave
    types = [(e.type, e.trace_id) for e in store.read("r") if e.type in ("ExecutionRequested", "ExecutionFinished")]
    first_t2_end = types.index(("ExecutionFinished", "t2"))
    assert sum(1 for t in types[:first_t2_end] if t == ("ExecutionFinished", "t1")) >= 3
    # an outcome and the decisions it unlocks are one batch: the same ts, nothing in between
    evs = list(store.read("r"))
    for i, e in enumerate(evs[:-1]):
        if e.type == "ExecutionFinished" and e.payload["failure"] != "budget_cut":
            assert evs[i + 1].type == "ValidationJudged" and evs[i + 1].ts == e.ts
    report = replay_run(store, "r")
    assert report.ok, report.to_json().get("divergence")
    assert report.decisions > 30


@pytest.mark.integration
def test_lockstep_is_kept_and_replays(tmp_path) -> None:
    store, state, _ = _run(tmp_path, "lockstep", {"t1": 0.1, "t2": 0.6}, budget_s=2.5)
    assert state.is_finished and schedule_of(state) == "lockstep"
    done = _finished_per_trace(store)
    assert abs(done["t1"] - done["t2"]) <= 1, done  # each round waits for the slow trace
    assert replay_run(store, "r").ok


@pytest.mark.integration
def test_at_the_deadline_nothing_starts_and_the_running_experiment_is_cut(tmp_path) -> None:
    store, state, ex = _run(tmp_path, "async", {"t1": 0.1, "t2": 30.0}, budget_s=2.0)
    assert state.is_finished
    started = fold(store.read("r", to_seq=1), "r")
    deadline = started.first_ts + 2.0  # type: ignore[operator]
    cut = [e for e in store.read("r", types=["ExecutionFinished"]) if e.payload["failure"] == "budget_cut"]
    slow = [e for e in cut if e.trace_id == "t2"]  # (t1 may be cut too, if one was running at the deadline)
    assert len(slow) == 1, cut
    # stopped at the deadline (plus the executor's grace), not after its 30 s or its 60 s timeout
    assert all(e.ts < deadline + 6.0 and e.payload["duration_s"] < 8.0 for e in cut)
    assert all("budget deadline" in e.payload["failure_detail"] for e in cut)
    # no experiment ran past the deadline in this process either
    assert all(start < deadline for _key, start, _end in ex.busy)
    reasons = {e.trace_id: e.payload["reason"] for e in store.read("r", types=["TraceFinished"])}
    assert reasons["t2"] == "budget" and state.finished["status"] == "budget_exhausted"  # type: ignore[index]
    judged = [e for e in store.read("r", types=["ValidationJudged"]) if e.payload["key"] == slow[0].payload["key"]]
    assert judged and judged[0].payload["first_failure"] == "ran_cleanly"
    assert replay_run(store, "r").ok


@pytest.mark.integration
def test_queued_experiments_past_the_deadline_are_recorded_cut_without_running(tmp_path) -> None:
    # three traces, one slot: requests wait in the log for the slot; at the deadline the waiting ones are cut
    store, state, ex = _run(tmp_path, "async", {"t1": 30.0, "t2": 30.0, "t3": 30.0}, budget_s=1.5, traces=3,
                            slots=1)
    assert state.is_finished
    cut = [e for e in store.read("r", types=["ExecutionFinished"]) if e.payload["failure"] == "budget_cut"]
    assert len(cut) == 3
    unrun = [e for e in cut if e.payload["failure_detail"].startswith("not started")]
    assert len(unrun) == 2 and len(ex.busy) == 1
    assert replay_run(store, "r").ok


def test_a_log_without_the_schedule_key_is_lockstep(tmp_path) -> None:
    # RunStarted as written before the option existed: no "schedule" in its config
    store = EventStore.open(tmp_path / "g.db")
    cfg = RunConfig(traces=2).model_dump()
    cfg.pop("schedule")
    payload = {"task_id": TASK, "config": cfg, "reasoner": {"kind": "offline"}, "code_version": "old",
               "gome_version": "0.0"}
    assert parse_event("RunStarted", 1, payload).config.schedule == "lockstep"  # type: ignore[attr-defined]
    from gome_es.store import NewEvent

    stored = store.append("old", [NewEvent(type="RunStarted", payload=payload)], 0)
    state = apply(RunState(run_id="old"), stored[0])
    assert schedule_of(state) == "lockstep"
    assert budget_deadline(state) == pytest.approx(stored[0].ts + cfg["budget_s"])


@pytest.mark.integration
def test_concurrent_llm_calls_are_bounded_apart_from_slots(tmp_path) -> None:
    import threading
    import time as _time

    from gome_es.llm.offline import OfflineReasoner

    class Counting(OfflineReasoner):
        def __init__(self) -> None:
            super().__init__()
            self.now = self.peak = 0
            self.lock = threading.Lock()

        def complete(self, request):  # type: ignore[no-untyped-def]
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            _time.sleep(0.2)
            try:
                return super().complete(request)
            finally:
                with self.lock:
                    self.now -= 1

    store = EventStore.open(tmp_path / "g.db")
    task = load_task(TASK)
    cfg = RunConfig(traces=4, max_iterations=2, budget_s=600, seed=1, est_exec_s=0.05, schedule="async")
    rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id="r")
    rz = Counting()
    drive(store, rid, task=task, reasoner=rz, executor=SleepingExecutor(task, {}, default_s=0.05),
          options=DriveOptions(workspace_root=tmp_path / "work", slots=4, llm_concurrency=2, grade=False))
    assert rz.peak == 2  # four traces wanted answers at once; two were asked at a time
    assert replay_run(store, rid).ok


@pytest.mark.integration
def test_a_graceful_stop_mid_flight_then_resume_finishes_a_run_that_replays(tmp_path) -> None:
    import signal
    import threading

    from gome_es.driver.driver import Driver
    from gome_es.llm.offline import OfflineReasoner
    from tests.support.runs import key_outcomes

    store = EventStore.open(tmp_path / "g.db")
    task = load_task(TASK)
    cfg = RunConfig(traces=2, max_iterations=4, budget_s=600, seed=2, est_exec_s=0.05, schedule="async")
    rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id="r")
    opts = DriveOptions(workspace_root=tmp_path / "work", slots=2, grade=False)
    driver = Driver(store, rid, OfflineReasoner(), SleepingExecutor(task, {"t1": 0.2, "t2": 1.5}), task, opts)
    # SIGINT's handler, called while t2's first experiment and t1's later ones are in flight
    threading.Timer(1.0, driver._on_signal, args=(signal.SIGINT, None)).start()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        state = driver.run()
    finally:  # a stopped driver keeps its handlers (a second Ctrl-C kills); give pytest its own back
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert not state.is_finished and state.is_stopped
    stopped = list(store.read(rid, types=["RunStopped"]))
    assert len(stopped) == 1 and stopped[0].payload["cancelled_keys"]
    # nothing was decided after the stop began: the last events are outcomes and the stop
    evs = list(store.read(rid))
    assert evs[-1].type == "RunStopped"
    state = drive(store, rid, task=task, executor=SleepingExecutor(task, {"t1": 0.2, "t2": 1.5}),
                  resuming=True, options=opts)
    assert state.is_finished
    lreq, lres, ereq, eres = key_outcomes(tmp_path / "g.db", rid)
    assert set(lreq) == set(lres) and set(ereq) == set(eres)
    assert all(n == 1 for n in list(lres.values()) + list(eres.values()))
    assert replay_run(store, rid).ok


@pytest.mark.integration
def test_a_slot_never_idles_while_an_experiment_waits(tmp_path) -> None:
    # three traces share two slots: while an experiment waits for a slot, both slots are busy
    # (but for the driver's own latency right after one frees: under half a second here)
    store, state, ex = _run(tmp_path, "async", {"t1": 1.0, "t2": 1.5, "t3": 2.0}, budget_s=8.0, traces=3)
    assert state.is_finished
    requested = {e.payload["key"]: e.ts for e in store.read("r", types=["ExecutionRequested"])}
    waited = 0
    for key, start, _end in ex.busy:
        t = requested[key] + 0.5
        waited += start - requested[key] > 0.5
        while t < start - 0.01:
            running = sum(1 for k, s, e in ex.busy if k != key and s <= t < e)
            just_freed = any(t - 0.5 <= e <= t for k, _s, e in ex.busy if k != key)
            assert running == 2 or just_freed, (key, round(t - requested[key], 2), running)
            t += 0.05
    assert waited > 0  # three traces on two slots do queue
    assert max(sum(1 for _k, s, e in ex.busy if s <= t < e) for _k, t, _e in ex.busy) == 2
    assert replay_run(store, "r").ok
