"""The driver's two schedules, over the driver's public interface (:class:`Drivable`).

A loop chooses *when* effects are performed and their outcomes appended; the
driver (:class:`gome_es.driver.driver.Driver`) decides, performs one effect and
appends.  The loops see the driver only through :class:`Drivable`, so this
module imports nothing of ``driver.py`` and touches no private attribute
(tests/core/test_loops_interface.py reads this file to hold that).

* :func:`run_lockstep` (runs recorded before the option, or ``--schedule
  lockstep``): every outstanding effect of a round is performed, each outcome
  appended the moment it is known, and nothing is decided until the whole
  round is in.
* :class:`AsyncLoop` (``async``): the driver keeps up to ``slots`` executions
  and up to ``llm_concurrency`` LLM calls in flight.  When one finishes, its
  outcome and every decision it unlocks are appended as one atomic batch
  (:meth:`Drivable.append_outcome`): the policy decides on the live state with
  the outcome folded in, which is exactly the state replay folds before those
  seqs.  The new requests start as soon as there is room, so a slot is never
  idle while a trace has an experiment it could start.  Requests wait in the
  log (in request order) while the slots are full.

The budget is a wall-clock deadline derived from the log (the last event's
time plus the budget left, which stays constant as time passes).  Under the
async schedule no execution starts after it; one running at it is stopped
there (its timeout is clipped to the deadline) and recorded as
``budget_cut``, and one still queued is recorded as ``budget_cut`` without
running.  The policy then finishes the traces, selects and the run is graded
as under the lock-step schedule.

Nothing here decides.  Which order effects finish in is an input recorded by
the log, never by the policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar, Union

from ..core.events import Event, ExecutionFinished, LLMResponded
from ..core.state import ExecCall, LlmCall, RunState
from ..core.vocabulary import FailureClass
from ..errors import GomeError
from ..store import StoredEvent
from .effects import Outcome

SCHEDULES = ("async", "lockstep")

Call = Union[LlmCall, ExecCall]
C = TypeVar("C", LlmCall, ExecCall)
Batch = list[tuple[Event, Union[str, None]]]  # events to append, each with its trace id


class LoopOptions(Protocol):
    """The options a loop reads (:class:`gome_es.driver.driver.DriveOptions` has them)."""

    @property
    def slots(self) -> int:
        """Concurrent executions (lock-step: concurrent effects of any kind)."""

    @property
    def llm_concurrency(self) -> int:
        """Concurrent LLM calls under the async schedule."""


class Drivable(Protocol):
    """The driver's public interface: all a loop may ask of it.

    Appends are atomic and serialised by the driver; :meth:`reading` holds the
    same lock, so a loop sees the state between two appends, never during one.
    """

    @property
    def state(self) -> RunState:
        """The run's state, folded up to the last event appended."""

    @property
    def opts(self) -> LoopOptions:
        """How many effects may be in flight."""

    @property
    def stopping(self) -> bool:
        """A stop was requested (a signal, or the LLM endpoint failing call after call)."""

    def reading(self) -> AbstractContextManager[RunState]:
        """Hold the append lock while reading :attr:`state` (workers append while a loop reads)."""

    def decide(self) -> bool:
        """Decide until the policy waits and append the decisions as one batch; False when none."""

    def perform_llm(self, call: LlmCall) -> Outcome | None:
        """Ask the reasoner for one requested LLM call; None when stopped before it."""

    def perform_exec(self, call: ExecCall, deadline: float | None = None) -> Outcome | None:
        """Run one requested execution (stopped at ``deadline``); None when stopped before or during it."""

    def device_changes(self) -> Batch:
        """A ``DeviceHealthChanged`` for every GPU whose health differs from the log."""

    def count_llm_outcome(self, event: LLMResponded) -> None:
        """Count an LLM answer; failures in a row past the limit request a stop."""

    def append(self, events: Batch, blobs: dict[str, bytes] | None = None) -> list[StoredEvent]:
        """Append ``events`` (and their blobs) atomically and fold them into :attr:`state`."""

    def append_outcome(self, events: Batch, blobs: dict[str, bytes], decide: bool = True) -> list[StoredEvent]:
        """Append an outcome and (with ``decide``) the decisions it unlocks, as one atomic batch."""

    def progress(self) -> None:
        """Report progress (the caller's callback, if any)."""

    def stuck(self) -> GomeError:
        """The error for a run with no decision to take and nothing pending."""


def schedule_of(state: RunState) -> str:
    """The run's schedule: recorded in its config; a log from before the option is lock-step."""
    return str(state.config.schedule)


def budget_deadline(state: RunState) -> float | None:
    """The wall-clock time the budget runs out (None before the first event).

    Budget spent is the time between consecutive events (a resume's gap left
    out), so ``last_ts + budget_left_s`` does not move while nothing is
    appended and only a recorded change (a resume, a new budget) moves it.
    """
    if state.last_ts is None:
        return None
    return state.last_ts + state.budget_left_s


def run_schedule(d: Drivable) -> None:
    """Drive until the run is finished, stopped, or an effect raised: under the run's own schedule."""
    if schedule_of(d.state) == "async":
        AsyncLoop(d).run()
    else:
        run_lockstep(d)


# ------------------------------------------------------------------ lock-step


def run_lockstep(d: Drivable) -> None:
    """Rounds: perform every outstanding effect, then decide, until the run is finished or stopped."""
    with ThreadPoolExecutor(max_workers=max(1, d.opts.slots), thread_name_prefix="effect") as pool:
        while not d.state.is_finished and not d.stopping:
            # A round's effects all finish before anything is decided: after a crash
            # the unfinished ones are redone first, so a resumed run takes its
            # decisions in the same order, from the same states, as an uninterrupted one.
            pending_llm = d.state.pending_llm()
            pending_exec = d.state.pending_executions()
            if pending_llm or pending_exec:
                _perform_round(d, pool, pending_llm, pending_exec)
                d.progress()
                continue
            if d.decide():
                d.progress()
                continue
            if d.stopping:
                break  # stopped before the policy decided anything
            if not d.state.is_finished:
                raise d.stuck()


def _perform_round(d: Drivable, pool: ThreadPoolExecutor, llm_calls: list[LlmCall],
                   execs: list[ExecCall]) -> None:
    """Perform every outstanding effect; append each outcome the moment it is known.

    An outcome is made durable as soon as its effect completes, so a crash
    loses at most the effects still in flight.  The next decisions wait for
    the whole round: every outcome touches only its own trace, so the state
    they are decided from does not depend on which finished first.
    """
    jobs: list[tuple[int, Call]] = [(c.request_seq, c) for c in llm_calls] + [(c.request_seq, c) for c in execs]
    jobs.sort(key=lambda j: j[0])
    futures: dict[Future[Outcome | None], Call] = {}
    for _, call in jobs:
        if isinstance(call, LlmCall):
            futures[pool.submit(d.perform_llm, call)] = call
        else:
            futures[pool.submit(d.perform_exec, call)] = call
    first_error: BaseException | None = None
    for fut in as_completed(futures):
        try:
            res = fut.result()
        except BaseException as exc:  # keep what the others produce, then re-raise
            first_error = first_error or exc
            continue
        if res is not None:
            event, trace_id, blobs = res
            extra = d.device_changes() if isinstance(event, ExecutionFinished) else []
            d.append([(event, trace_id)] + extra, blobs)
            if isinstance(event, LLMResponded):
                d.count_llm_outcome(event)
    if first_error is not None:
        raise first_error


# ---------------------------------------------------------------------- async


class AsyncLoop:
    """One run of the asynchronous schedule over a driver's public interface."""

    def __init__(self, driver: Drivable) -> None:
        self.d = driver
        self.slots = max(1, int(driver.opts.slots))
        self.llm_slots = max(1, int(driver.opts.llm_concurrency))
        self.flight: dict[Future[Outcome | None], tuple[str, Call]] = {}  # future -> (kind, call)
        self.started: set[str] = set()  # keys handed to a worker in this process

    def _count(self, kind: str) -> int:
        return sum(1 for k, _ in self.flight.values() if k == kind)

    def run(self) -> None:
        d = self.d
        error: BaseException | None = None
        with ThreadPoolExecutor(self.slots, thread_name_prefix="exec") as xpool, \
                ThreadPoolExecutor(self.llm_slots, thread_name_prefix="llm") as lpool:
            # a fresh run has its first decisions to take; a resumed one may too
            if d.decide():
                d.progress()
            while True:
                going = error is None and not d.stopping and not d.state.is_finished
                if going:
                    self._start_ready(xpool, lpool)
                if not self.flight:
                    if not going:
                        break
                    if d.decide():
                        d.progress()
                        continue
                    if d.state.is_finished:
                        break
                    if self._cut_queued():
                        continue
                    raise d.stuck()
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
                    extra = d.device_changes() if kind == "exec" else []
                    if kind == "llm" and isinstance(event, LLMResponded):
                        d.count_llm_outcome(event)  # an endpoint failing call after call stops the run
                    # while stopping (or failing) an outcome is kept, but nothing new is decided:
                    # the next decisions are taken by the resumed run, from the log as it stands
                    decide = error is None and not d.stopping
                    d.append_outcome([(event, trace_id)] + extra, blobs, decide=decide)
                    d.progress()
                    if decide:  # what it unlocked starts now, not after the other outcomes at hand
                        self._start_ready(xpool, lpool)
        if error is not None:
            raise error

    def _wake_in(self) -> float | None:
        """How long to wait for an outcome: until the deadline when executions are queued behind it."""
        with self.d.reading() as state:  # a worker may be appending an ExecutionStarted
            deadline = budget_deadline(state)
            queued = any(c.key not in self.started for c in state.pending_executions())
        if deadline is None or not queued:
            return None
        return max(0.05, deadline - time.time())

    def _start_ready(self, xpool: ThreadPoolExecutor, lpool: ThreadPoolExecutor) -> None:
        """Hand requested effects to the workers, oldest request first, while there is room."""
        d = self.d
        # past the deadline, executions waiting for a slot are cut first: the decisions that
        # follows (a trace finishing, the selection's LLM request) are then started below
        self._cut_queued()
        with d.reading() as state:  # a consistent view: a worker may be appending an ExecutionStarted
            llm_calls = state.pending_llm()
            exec_calls = state.pending_executions()
            deadline = budget_deadline(state)

        self._start("llm", llm_calls, self.llm_slots, lambda call: lpool.submit(d.perform_llm, call))
        if deadline is not None and time.time() >= deadline:
            return  # no experiment starts after the deadline (one requested since is cut next time)
        self._start("exec", exec_calls, self.slots, lambda call: xpool.submit(d.perform_exec, call, deadline))

    def _start(self, kind: str, calls: list[C], slots: int, submit: Callable[[C], Future[Outcome | None]]) -> None:
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
        with d.reading() as state:
            deadline = budget_deadline(state)
            waiting = state.pending_executions()
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
            d.append_outcome([(ev, call.trace_id)], {})
            d.progress()
            cut = True
        return cut
