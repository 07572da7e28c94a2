"""The sweep driver: plans a sweep, launches its cells, records what happens, resumes after a kill.

The sweep's log is the truth (see :mod:`.state`).  ``CellAssigned`` is appended
before a run is launched and the outcome (``CellFinished``/``CellFailed``) after
it ends, so a driver killed at any instant leaves every cell either done or
launchable again.  What a launch does is decided from the run's own log: no run
yet -> `gome run --run-id`; a run that exists -> `gome resume` (or, finished and
graded, nothing but ``CellFinished``).  The store itself refuses a second
``RunStarted`` under a cell's run id, so no cell is ever started twice.  One
driver per sweep: it holds the sweep's lease (the run-lease table, keyed by the
sweep id) the way a run's driver holds its run's.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from .. import __version__
from ..core.vocabulary import ReasonerKind
from ..driver.lease import RunLease, live_status
from ..driver.snapshots import load_state
from ..errors import GomeError
from ..report.tables import run_time
from ..store import EventStore, NewEvent
from ..store.runids import check_run_id, shown_id
from ..version import code_version
from . import plan as planmod
from .local import Exited, LocalBackend, Shipped, Started
from .plan import Cell, SweepError
from .ray_backend import RayBackend
from .ship import apply_delta
from .state import SWEEP_PREFIX, SweepLogError, SweepState, apply, fold, progress_text

log = structlog.get_logger("gome.sweep")

GRADE_KEYS = ("competition_id", "score", "valid_submission", "submission_exists", "above_median", "any_medal",
              "gold_medal", "silver_medal", "bronze_medal", "is_lower_better", "median_threshold",
              "bronze_threshold", "silver_threshold", "gold_threshold")
DEFAULT_MAX_TRIES = 3


def new_sweep_id() -> str:
    return time.strftime(f"{SWEEP_PREFIX}%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]


def load_sweep(store: EventStore, sweep_id: str) -> SweepState:
    if not store.run_exists(sweep_id):
        raise SweepError(f"sweep {sweep_id} not found in {store.path}; `gome runs --db {store.path}` lists "
                         "every stream it holds (sweeps start with 'sweep-')")
    try:
        return fold(sweep_id, store.read(sweep_id))
    except (SweepLogError, KeyError, TypeError, ValueError) as exc:
        raise SweepError(f"{sweep_id} in {store.path} cannot be read as a sweep: {exc}") from None


def check_plan(store: EventStore | None, *, tasks: list[str], variants: list[str], seeds: list[int],
               sweep_id: str | None = None) -> tuple[str, list[Any]]:
    """The sweep id and its cells, checked as a sweep is before it starts (``gome sweep --dry-run`` runs
    the same checks): tasks given, a valid sweep id that the store (if any) does not hold yet, and no
    cell's run id taken."""
    if not tasks:
        raise SweepError("the sweep has no task; pass --tasks ID,ID,... or local or a file of ids")
    sid = sweep_id or new_sweep_id()
    if not sid.startswith(SWEEP_PREFIX):
        raise SweepError(f"a sweep id starts with {SWEEP_PREFIX!r}; {shown_id(sid)!r} does not")
    check_run_id(sid, "sweep id")
    if store is not None and store.run_exists(sid):
        raise SweepError(f"{sid} already exists in {store.path}; continue it with `gome sweep resume {sid}`")
    cells = planmod.plan_cells(sid, tasks, variants, seeds)
    for c in cells:
        check_run_id(c.run_id, f"the run id of cell {c.label}")
    taken = [c.run_id for c in cells if store is not None and store.run_exists(c.run_id)]
    if taken:
        raise SweepError(f"run {taken[0]} already exists in {store.path if store else '?'}; pick another --sweep-id")
    return sid, cells


def plan_sweep(store: EventStore, *, tasks: list[str], variants: list[str], seeds: list[int],
               budget_s: float, traces: int = 2, max_iterations: int = 50, reasoner: str = ReasonerKind.offline.value,
               model: str | None = None, base_url: str | None = None, mlebench_data: str | None = None,
               exec_timeout: str | None = None, slots: int = 2, concurrency: int = 2, gpus_per_run: float = 0,
               cpus_per_run: float = 1, max_tries: int = DEFAULT_MAX_TRIES, ray: str | None = None,
               workspace: str | None = None, sweep_id: str | None = None) -> str:
    """Append ``SweepPlanned`` (the spec and every cell) and return the sweep id."""
    sid, cells = check_plan(store, tasks=tasks, variants=variants, seeds=seeds, sweep_id=sweep_id)
    spec = {"tasks": tasks, "variants": variants, "seeds": seeds, "budget_s": budget_s, "traces": traces,
            "max_iterations": max_iterations, "reasoner": reasoner, "model": model, "base_url": base_url,
            "mlebench_data": mlebench_data, "exec_timeout": exec_timeout, "slots": slots,
            "concurrency": concurrency, "gpus_per_run": gpus_per_run, "cpus_per_run": cpus_per_run,
            "max_tries": max_tries, "ray": ray, "workspace": workspace}
    payload = {"spec": spec, "cells": [c.to_json() for c in cells], "code_version": code_version(),
               "gome_version": __version__, "host": socket.gethostname(), "pid": os.getpid()}
    store.append(sid, [NewEvent(type="SweepPlanned", payload=payload)], 0)
    return sid


def grade_summary(store: EventStore, run_id: str) -> tuple[bool, dict[str, Any], str]:
    """(finished and graded?, the grade's headline figures, why not) of a cell's run, from its log."""
    if not store.run_exists(run_id):
        return False, {}, "its run has no events"
    try:
        state = load_state(store, run_id)
    except GomeError as exc:  # a run that cannot be folded is this cell's failure, not the sweep's
        return False, {}, f"its run cannot be read: {exc}"
    if not state.is_finished:
        return False, {}, f"its run ended unfinished at seq {state.last_seq}"
    if state.grade is None:
        return False, {}, f"its run finished at seq {state.last_seq} but was not graded"
    g = {k: state.grade.get(k) for k in GRADE_KEYS if k in state.grade}
    sel = state.selected or {}
    g["submission_sha"] = sel.get("submission_sha")
    g["best_val"] = sel.get("val_score")
    g["run_status"] = state.status
    g["events"] = state.last_seq
    return True, g, ""


def _reason(rc: int | None, tail: str, lost: bool) -> str:
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip() and not ln.startswith("$ ")]
    last = lines[-1][:300] if lines else "no output"
    if lost:
        return f"worker lost: {last}"
    return f"exit {rc}: {last}"


class SweepDriver:
    """Drives one sweep to its end (or a stop) from whatever its log says."""

    def __init__(self, store: EventStore, sweep_id: str, backend: Any, *, concurrency: int,
                 progress: Callable[[str], None] | None = None, progress_every_s: float = 30.0) -> None:
        self.store, self.sweep_id, self.backend = store, sweep_id, backend
        self.concurrency = max(1, concurrency)
        self.progress, self.progress_every_s = progress, progress_every_s
        self.state = load_sweep(store, sweep_id)
        self._stop = threading.Event()
        self._last_line, self._last_time = "", 0.0
        self._waiting: set[str] = set()  # cells whose run another live process still drives

    # ------------------------------------------------------------ log

    def _append(self, type_: str, payload: dict[str, Any]) -> None:
        stored = self.store.append(self.sweep_id, [NewEvent(type=type_, payload=payload)], self.state.last_seq)
        for s in stored:
            apply(self.state, s.seq, s.type, s.ts, s.payload)

    # ------------------------------------------------------------ loop

    def run(self) -> SweepState:
        grant = RunLease.acquire(self.store, self.sweep_id)
        old = self._install_signals()
        try:
            self.state = load_sweep(self.store, self.sweep_id)  # under the lease: nobody else appends now
            if self.state.finished:
                return self.state
            self._append("SweepDriverStarted", {
                "pid": os.getpid(), "host": socket.gethostname(), "backend": self.backend.name,
                "concurrency": self.concurrency, "resumed": self.state.drivers > 0,
                "took_over": grant.took_over.__dict__ if grant.took_over is not None else None})
            self._loop()
            if self._stop.is_set():
                for msg in self.backend.stop():
                    self._handle(msg, stopping=True)
                self._append("SweepStopped", {"reason": "signal", "counts": self.state.counts()})
            else:
                self._append("SweepFinished", {"counts": self.state.counts()})
            self._show(force=True)
            return self.state
        finally:
            try:
                for msg in self.backend.stop(grace_s=30.0):  # an error above: leave no run behind
                    log.warning("run stopped with the sweep driver", run_id=msg.run_id)
            finally:
                self.backend.close()
                self._restore_signals(old)
                grant.release()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._fill()
            running = self.backend.running
            if not running and not self._launchable():
                if not self._waiting:
                    return
                time.sleep(1.0)  # a run still driven by a process of an earlier driver: wait for it
                continue
            for msg in self.backend.poll(1.0):
                self._handle(msg)
            self._show()

    def _launchable(self) -> list[Any]:
        running = self.backend.running
        return [c for c in self.state.pending() if c.cell.run_id not in running]

    def _fill(self) -> None:
        self._waiting.clear()
        for c in self._launchable():
            if len(self.backend.running) >= self.concurrency or self._stop.is_set():
                return
            rid = c.cell.run_id
            if self.store.run_exists(rid) and live_status(self.store, rid) == "running":
                self._waiting.add(rid)  # driven by a process an earlier driver left: never a second one
                continue
            self._launch(c)

    def _launch(self, c: Any) -> None:
        cell: Cell = c.cell
        exists = self.store.run_exists(cell.run_id)
        if exists:
            done, grade, _ = grade_summary(self.store, cell.run_id)
            if done:  # finished before the last driver could record it
                self._append("CellFinished", {"run_id": cell.run_id, "grade": grade,
                                              "duration_s": self._run_wall(cell.run_id), "recovered": True})
                return
        mode = "resume" if exists else "run"
        attempt = c.assignments + 1
        self._append("CellAssigned", {"run_id": cell.run_id, "attempt": attempt, "mode": mode,
                                      "backend": self.backend.name})
        try:
            msgs = self.backend.launch(cell, mode, planmod.run_args(self.state.spec, cell), self.state.spec,
                                       attempt)
        except (OSError, GomeError) as exc:
            self._fail(c, f"could not launch: {exc}", None, "")
            return
        for msg in msgs:
            self._handle(msg)

    def _run_wall(self, run_id: str) -> float | None:
        """The cell's run time as `gome runs` shows it: the gap before a resume is downtime, not time run."""
        if not self.store.run_exists(run_id):
            return None
        return round(run_time(self.store, run_id)[0], 3)

    def _handle(self, msg: Any, stopping: bool = False) -> None:
        c = self.state.cells[msg.run_id]
        if isinstance(msg, Started):
            self._append("CellStarted", {"run_id": msg.run_id, "pid": msg.pid, "node": msg.node,
                                         "attempt": c.assignments})
        elif isinstance(msg, Shipped):
            try:
                head = apply_delta(self.store, msg.run_id, msg.delta)
            except GomeError as exc:
                self.backend.cancel(msg.run_id)
                self._fail(c, f"events shipped back were refused: {exc}", None, "")
                return
            self._append("CellShipped", {"run_id": msg.run_id, "head_seq": head})
        elif isinstance(msg, Exited):
            done, grade, why = grade_summary(self.store, msg.run_id)
            if done:
                self._append("CellFinished", {"run_id": msg.run_id, "grade": grade, "attempt": c.assignments,
                                              "duration_s": self._run_wall(msg.run_id)})
            elif stopping and not msg.lost:
                pass  # stopped with the sweep: `gome sweep resume` continues it, no try used
            else:
                self._fail(c, f"{_reason(msg.returncode, msg.tail, msg.lost)} ({why})", msg.returncode, msg.tail)

    def _fail(self, c: Any, reason: str, rc: int | None, tail: str) -> None:
        max_tries = int(self.state.spec.get("max_tries") or DEFAULT_MAX_TRIES)
        final = c.tries_failed + 1 >= max_tries
        self._append("CellFailed", {"run_id": c.cell.run_id, "attempt": c.assignments, "reason": reason,
                                    "exit_code": rc, "output_tail": tail[-2000:], "final": final,
                                    "tries": c.tries_failed + 1, "max_tries": max_tries})
        level = "gave up on" if final else "will retry"
        self._say(f"sweep {self.sweep_id}: {c.cell.label} failed (try {c.tries_failed}/{max_tries}, {level} "
                  f"it): {reason}")

    # ------------------------------------------------------------ progress, signals

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def _show(self, force: bool = False) -> None:
        now = time.time()
        line = progress_text(self.state, self.concurrency, now)
        core = line.split(" | ")[0]
        if force or core != self._last_line or now - self._last_time >= self.progress_every_s:
            self._say(line)
            self._last_line, self._last_time = core, now

    def _install_signals(self) -> dict[int, Any]:
        old: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return old
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, self._on_signal)
        return old

    def _restore_signals(self, old: dict[int, Any]) -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop.is_set():
            os._exit(130)
        self._say(f"gome sweep: {signal.Signals(signum).name} received: stopping the running cells "
                  "(each records RunStopped); `gome sweep resume` continues")
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


def make_backend(store: EventStore, state: SweepState, *, ray: str | None = None,
                 log_dir: Path | None = None, checkpoint_s: float = 10.0) -> Any:
    spec = state.spec
    # lazy: the sweep's driver side loads only when a sweep launches runs
    from ..driver.options import default_home

    logs = log_dir or (default_home() / "sweeps" / state.sweep_id)
    address = ray if ray is not None else spec.get("ray")
    if address and address != "off":
        return RayBackend(address, logs, cpus_per_run=float(spec.get("cpus_per_run") or 1),
                          gpus_per_run=float(spec.get("gpus_per_run") or 0), checkpoint_s=checkpoint_s,
                          store=store)
    return LocalBackend(store.path, logs, spec.get("workspace"))


def drive_sweep(store: EventStore, sweep_id: str, *, concurrency: int | None = None, ray: str | None = None,
                progress: Callable[[str], None] | None = None, checkpoint_s: float = 10.0) -> tuple[SweepState, bool]:
    """Run (or go on with) a sweep until every cell is done; returns its state and whether it was stopped."""
    state = load_sweep(store, sweep_id)
    backend = make_backend(store, state, ray=ray, checkpoint_s=checkpoint_s)
    if getattr(backend, "cluster", None) and progress is not None:
        progress(f"sweep {sweep_id}: joined the Ray cluster at {backend.cluster} (its workers run the cells "
                 "with their environment)")
    driver = SweepDriver(store, sweep_id, backend, concurrency=concurrency or int(state.spec.get("concurrency") or 2),
                         progress=progress)
    final = driver.run()
    return final, driver.stopped
