"""Resume and fork: continuing a run from what its log says.

``prepare_resume`` runs under the run's lease, before the driver loop: it
works out why the run stopped (crash with a stale lease, graceful stop, GPU
fault, fork), refuses to go on under changed code whose policy would decide
the recorded past differently (unless forced), kills executions orphaned by
the crash (guarding against pid reuse), and records ``RunResumed``.  The
driver then reuses every finished side effect and redoes the unfinished ones,
except an execution whose driver died during each of its last
``MAX_DRIVER_DEATHS`` attempts: that one is recorded as failed
(``driver_killed``) so the trace gets it as feedback and the run goes on,
instead of redoing it, and dying, forever.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import structlog

from ..core.events import ExecutionFinished, RunResumed
from ..core.state import RunState, fold
from ..core.vocabulary import GPU_FAILURES, EventType, FailureClass, ResumeCause
from ..errors import Divergence, GomeError, RunExists, RunNotFound
from ..executor import ProcessInfo, kill_orphan
from ..store import EventStore, NewEvent, StoredEvent
from ..version import code_version
from .lease import LeaseHolder
from .options import DriveOptions
from .replay_jobs import replay_run

log = structlog.get_logger("gome.resume")

# Attempts of one execution that may end with the driver dead before resume gives up on it.
MAX_DRIVER_DEATHS = 2


def driver_deaths(store: EventStore, run_id: str, keys: list[str]) -> dict[str, int]:
    """For each execution key: how many of its recorded attempts (``ExecutionStarted``)
    ended with the driver gone, counting the attempt that the resume under way finds
    unfinished.  An attempt cancelled by a graceful stop (``RunStopped``) does not count."""
    wanted = set(keys)
    deaths = dict.fromkeys(keys, 0)
    open_attempts: set[str] = set()
    for ev in store.read(run_id, types=[EventType.ExecutionStarted, EventType.ExecutionFinished,
                                        EventType.RunStopped, EventType.RunResumed]):
        p = ev.payload
        if ev.type == EventType.ExecutionStarted and p.get("key") in wanted:
            open_attempts.add(p["key"])
        elif ev.type == EventType.ExecutionFinished:
            open_attempts.discard(p.get("key"))
        elif ev.type == EventType.RunStopped:
            open_attempts -= set(p.get("cancelled_keys") or [])
        elif ev.type == EventType.RunResumed:
            for key in open_attempts:
                deaths[key] += 1
            open_attempts = set()
    for key in open_attempts:  # the attempt this resume finds unfinished
        deaths[key] += 1
    return deaths


def detect_cause(state: RunState) -> ResumeCause:
    if state.forked_from and not state.resumes:
        return ResumeCause.fork
    if state.is_stopped:
        return ResumeCause.graceful_stop
    if any(not d["healthy"] for d in state.devices.values()):
        return ResumeCause.gpu_fault
    for call in state.executions.values():
        if call.result is not None and call.result.get("failure") in GPU_FAILURES:
            last_gpu = call.result_seq or 0
            if last_gpu >= state.last_seq - 3:
                return ResumeCause.gpu_fault
    return ResumeCause.crash


def check_resumable(store: EventStore, run_id: str, state: RunState) -> None:
    """Raise unless the run has events and is not finished and graded."""
    if state.phase.value == "new":
        raise RunNotFound(f"run {run_id} has no events in {store.path}; nothing to resume.")
    if state.is_finished and state.grade is not None and not state.grade.get("grading_failed"):
        raise GomeError(
            f"run {run_id} already finished (seq {state.last_seq}, status {state.status}); nothing to "
            f"resume. To explore another path use `gome fork {run_id} --at SEQ`."
        )


def prepare_resume(store: EventStore, run_id: str, state: RunState, opts: DriveOptions, overrides: dict[str, Any],
                   took_over: LeaseHolder | None = None) -> list[StoredEvent]:
    """Check, kill orphans and append ``RunResumed``; returns what was appended (``state`` is left as is)."""
    check_resumable(store, run_id, state)
    now_version = code_version()
    forced = False
    if state.code_version and state.code_version != now_version:
        log.warning("code version changed since the run was recorded", run_id=run_id,
                    recorded=state.code_version, now=now_version)
        report = replay_run(store, run_id)
        if not report.ok:
            d = report.divergence
            assert d is not None
            if not getattr(opts, "force", False):
                raise Divergence(
                    f"run {run_id} was recorded by code {state.code_version}; this gome ({now_version}) "
                    f"decides differently at seq {d.seq} ({d.recorded['type']}: {d.likely_cause}). "
                    f"Fork from the last agreeing event (`gome fork {run_id} --at {d.seq - 1}`) and "
                    f"resume the fork, or resume with --force to continue under the new code anyway."
                )
            forced = True
    cause = detect_cause(state)
    redo: list[str] = []
    pending = state.pending_executions()
    deaths = driver_deaths(store, run_id, [c.key for c in pending]) if pending else {}
    given_up: list[tuple[Any, int]] = []
    for call in pending:
        if call.started:
            _kill_orphan(call.started, run_id)
        if deaths.get(call.key, 0) >= MAX_DRIVER_DEATHS:
            given_up.append((call, deaths[call.key]))
        else:
            redo.append(call.key)
    redo.extend(c.key for c in state.pending_llm())
    gap = max(0.0, time.time() - (state.last_ts or time.time()))
    ev = RunResumed(
        cause=cause, gap_s=gap, count_downtime=bool(getattr(opts, "count_downtime", False)),
        code_version=now_version, previous_code_version=state.code_version, forced=forced,
        redo_keys=redo, overrides=overrides,
        previous_holder=took_over.__dict__ if took_over is not None else None,
        host=socket.gethostname(), pid=os.getpid(),
    )
    batch = [NewEvent(type=ev.type, payload=ev.payload())]
    for call, n in given_up:
        failed = ExecutionFinished(
            key=call.key, solution_id=call.solution_id, failure=FailureClass.driver_killed.value,
            failure_detail=(f"the driver died during each of the {n} attempts of this execution (killed, "
                            f"out of memory, or crashed); gome does not try it again. If the code kills its "
                            f"parent, exhausts the host or crashes the interpreter, change that."),
            submission_check={"valid": False, "reasons": ["no submission: the driver died during every attempt"]},
            warnings=[f"gave up after {n} attempts that each ended with the driver's death"], redone=True,
        )
        batch.append(NewEvent(type=failed.type, payload=failed.payload(), trace_id=call.trace_id,
                              schema_version=ExecutionFinished.schema_version))
    stored = store.append(run_id, batch, state.last_seq)
    log.info("run resumed", run_id=run_id, cause=cause, gap_s=round(gap, 1), redo=redo,
             gave_up=[c.key for c, _ in given_up])
    return stored


def _kill_orphan(started: dict[str, Any], run_id: str) -> None:
    try:
        info = ProcessInfo(
            key=started["key"], pid=started["pid"], pgid=started["pgid"],
            start_time=int(started.get("start_time") or 0), boot_id=started.get("boot_id") or "",
            host=started["host"], workspace=Path(started["workspace"]),
            cgroup_dirs=[Path(p) for p in started.get("cgroup_dirs", [])],
        )
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("cannot describe orphaned execution", run_id=run_id, error=str(exc))
        return
    if info.host != socket.gethostname():
        log.warning("orphaned execution ran on another host; cannot kill it from here",
                    run_id=run_id, key=info.key, host=info.host)
        return
    killed = kill_orphan(info)
    log.info("orphan check", run_id=run_id, key=info.key, pid=info.pid, killed=killed)


def fork_run(store: EventStore, run_id: str, at_seq: int, new_run_id: str | None = None) -> str:
    """A new run holding ``run_id``'s events up to ``at_seq`` (blobs are shared in the same store)."""
    store.require_run(run_id)
    last = store.last_seq(run_id)
    if not 1 <= at_seq <= last:
        raise GomeError(f"--at {at_seq} is outside run {run_id} (seq 1..{last}).")
    new_id = new_run_id or f"{run_id}-fork{at_seq}"
    if store.run_exists(new_id):
        raise RunExists(f"run {new_id} already exists; pass another --run-id.")
    batch: list[NewEvent] = []
    expected = 0
    for ev in store.read(run_id, to_seq=at_seq):
        payload = ev.payload
        if ev.type == EventType.RunStarted:
            payload = {**payload, "forked_from": {"run_id": run_id, "seq": at_seq}}
        batch.append(NewEvent(type=ev.type, payload=payload, trace_id=ev.trace_id, ts=ev.ts,
                              schema_version=ev.schema_version))
        if len(batch) >= 1000:
            store.append(new_id, batch, expected)
            expected += len(batch)
            batch = []
    if batch:
        store.append(new_id, batch, expected)
    # the fork must fold: a cut inside a decision batch is fine (the policy decides the rest)
    fold(store.read(new_id), new_id)
    return new_id
