"""The asynchronous schedule: traces never wait for each other.

The driver (:class:`gome_es.driver.driver.Driver`) keeps up to ``slots`` executions
and up to ``llm_concurrency`` LLM calls in flight.  When one finishes, its
outcome and every decision it unlocks are appended as one atomic batch
(:meth:`Driver._append_outcome`): the policy decides on the live state with
the outcome folded in, which is exactly the state replay folds before those
seqs.  The new requests start as soon as there is room, so a slot is never
idle while a trace has an experiment it could start.  Requests wait in the
log (in request order) while the slots are full.

The budget is a wall-clock deadline derived from the log (the last event's
time plus the budget left, which stays constant as time passes).  No
execution starts after it; one running at it is stopped there (its timeout is
clipped to the deadline) and recorded as ``budget_cut``, and one still queued
is recorded as ``budget_cut`` without running.  The policy then finishes the
traces, selects and the run is graded as under the lock-step schedule.

Nothing here decides: it only chooses *when* effects are performed.  Which
order they finish in is an input recorded by the log, never by the policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ..core.events import ExecutionFinished
from ..core.vocabulary import FailureClass

if TYPE_CHECKING:
    from ..core.state import RunState
    from .driver import Driver

SCHEDULES = ("async", "lockstep")


def schedule_of(state: "RunState") -> str:
    """The run's schedule: recorded in its config; a log from before the option is lock-step."""
    return str(state.config.schedule)


def budget_deadline(state: "RunState") -> float | None:
    """The wall-clock time the budget runs out (None before the first event).

    Budget spent is the time between consecutive events (a resume's gap left
    out), so ``last_ts + budget_left_s`` does not move while nothing is
    appended and only a recorded change (a resume, a new budget) moves it.
    """
    if state.last_ts is None:
        return None
    return state.last_ts + state.budget_left_s


class AsyncLoop:
    """One run of the asynchronous schedule over a driver's state, store and effect adapters."""

    def __init__(self, driver: "Driver") -> None:
        self.d = driver
        self.slots = max(1, int(driver.opts.slots))
        self.llm_slots = max(1, int(getattr(driver.opts, "llm_concurrency", 4)))
        self.flight: dict[Future, tuple[str, Any]] = {}  # future -> (kind, call)
        self.started: set[str] = set()  # keys handed to a worker in this process

    def _count(self, kind: str) -> int:
        return sum(1 for k, _ in self.flight.values() if k == kind)

    def run(self) -> None:
        d = self.d
        error: BaseException | None = None
        with ThreadPoolExecutor(self.slots, thread_name_prefix="exec") as xpool, \
                ThreadPoolExecutor(self.llm_slots, thread_name_prefix="llm") as lpool:
            # a fresh run has its first decisions to take; a resumed one may too
            if d._decide_batch():
                d._progress()
            while True:
                going = error is None and not d._stop.is_set() and not d.state.is_finished
                if going:
                    self._start_ready(xpool, lpool)
                if not self.flight:
                    if not going:
                        break
                    if d._decide_batch():
                        d._progress()
                        continue
                    if d.state.is_finished:
                        break
                    if self._cut_queued():
                        continue
                    raise d._stuck()
                done, _ = wait(list(self.flight), timeout=self._wake_in(), return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: self.flight[f][1].request_seq):
                    kind, call = self.flight.pop(fut)
                    try:
                        res = fut.result()
                    except BaseException as exc:  # keep what the others produce, then re-raise
                        error = error or exc
                        continue
                    if res is None:
                        continue  # stopped mid-effect: no outcome, so resume redoes it
                    event, trace_id, blobs = res
                    extra = d._device_changes() if kind == "exec" else []
                    if kind == "llm":
                        d._count_llm_outcome(event)  # an endpoint failing call after call stops the run
                    # while stopping (or failing) an outcome is kept, but nothing new is decided:
                    # the next decisions are taken by the resumed run, from the log as it stands
                    decide = error is None and not d._stop.is_set()
                    d._append_outcome([(event, trace_id)] + extra, blobs, decide=decide)
                    d._progress()
                    if decide:  # what it unlocked starts now, not after the other outcomes at hand
                        self._start_ready(xpool, lpool)
        if error is not None:
            raise error

    def _wake_in(self) -> float | None:
        """How long to wait for an outcome: until the deadline when executions are queued behind it."""
        with self.d._lock:  # a worker may be appending an ExecutionStarted
            deadline = budget_deadline(self.d.state)
            queued = any(c.key not in self.started for c in self.d.state.pending_executions())
        if deadline is None or not queued:
            return None
        return max(0.05, deadline - time.time())

    def _start_ready(self, xpool: ThreadPoolExecutor, lpool: ThreadPoolExecutor) -> None:
        """Hand requested effects to the workers, oldest request first, while there is room."""
        d = self.d
        # past the deadline, executions waiting for a slot are cut first: the decisions that
        # follows (a trace finishing, the selection's LLM request) are then started below
        self._cut_queued()
        with d._lock:  # a consistent view: a worker may be appending an ExecutionStarted
            llm_calls = d.state.pending_llm()
            exec_calls = d.state.pending_executions()
            deadline = budget_deadline(d.state)
        self._start("llm", llm_calls, self.llm_slots, lambda call: lpool.submit(d._do_llm, call))
        if deadline is not None and time.time() >= deadline:
            return  # no experiment starts after the deadline (one requested since is cut next time)
        self._start("exec", exec_calls, self.slots, lambda call: xpool.submit(d._do_exec, call, deadline))

    def _start(self, kind: str, calls: list[Any], slots: int, submit: Callable[[Any], Future]) -> None:
        """Start the calls not started yet, while ``kind`` has free slots."""
        room = slots - self._count(kind)
        for call in calls:
            if room <= 0:
                break
            if call.key in self.started:
                continue
            self.started.add(call.key)
            self.flight[submit(call)] = (kind, call)
            room -= 1

    def _cut_queued(self) -> bool:
        """Past the deadline: record every execution still waiting for a slot as cut, unrun."""
        d = self.d
        with d._lock:
            deadline = budget_deadline(d.state)
            waiting = d.state.pending_executions()
        if deadline is None or time.time() < deadline:
            return False
        cut = False
        for call in waiting:
            if call.key in self.started:
                continue
            self.started.add(call.key)
            ev = ExecutionFinished(
                key=call.key, solution_id=call.solution_id, failure=FailureClass.budget_cut.value,
                failure_detail="not started: the run's budget was spent before a slot was free",
                submission_check={"valid": False, "reasons": ["not run"]},
            )
            d._append_outcome([(ev, call.trace_id)], {})
            d._progress()
            cut = True
        return cut
