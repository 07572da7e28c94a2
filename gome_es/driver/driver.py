"""The driver: the I/O around the pure policy.

The driver folds the log into a :class:`RunState` once (afterwards each
appended event is applied as it is written), asks :func:`policy.decide_one`
for decisions until it has none, and performs the side effects (LLM calls,
executions) they request.  When they happen is the loop's choice
(:mod:`gome_es.driver.loops`, lock-step or async, as the run's config says);
a loop sees the driver only through its public interface
(:class:`gome_es.driver.loops.Drivable`): ``state``, ``opts``, ``stopping``,
``reading()``, ``decide()``, ``perform_llm()``, ``perform_exec()``,
``device_changes()``, ``count_llm_outcome()``, ``append()``,
``append_outcome()``, ``progress()`` and ``stuck()``.

Either way each decision is a pure function of the events before it, so
replay re-derives it at the same seq whatever order the effects finished in.
Intent is always appended before the effect and the outcome after it, so a
crash at any instant leaves either a finished pair (reused on resume) or a
request with no outcome (redone once, after its orphaned process is killed).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import structlog

from .. import __version__
from ..core.canonical import canonical_json, loads
from ..core.events import (
    Event,
    LeaseTakenOver,
    LLMResponded,
    ReasonerConfig,
    RunConfig,
    RunStarted,
    RunStopped,
    SubmissionGraded,
)
from ..core.policy import Decision, decide_one
from ..core.reasoner import Reasoner
from ..core.state import ExecCall, LlmCall, PendingEvent, RunState, apply
from ..core.vocabulary import FailureClass
from ..errors import GomeError, RunExists
from ..executor import ProcessInfo, task_spec
from ..executor.factory import make_executor
from ..llm.factory import make_reasoner
from ..store import EventStore, NewEvent, StoredEvent
from ..tasks import grade_submission
from ..tasks.public_files import public_listing
from ..trust.filemode import ordinary_file_mode
from ..trust.folders import run_folder
from ..version import code_version
from . import effects
from .effects import ExecutionPort, Outcome
from .faults import EffectFaults, effect_log
from .lease import RunLease
from .loops import run_schedule
from .options import DriveOptions
from .resume import check_resumable, prepare_resume
from .snapshots import load_state, maybe_snapshot

if TYPE_CHECKING:
    from ..tasks.model import Task

log = structlog.get_logger("gome.agent")


class Driver:
    """Drives one run to its end (or a graceful stop) from whatever its log says.

    Its public methods are the interface the loops use (:class:`gome_es.driver.loops.Drivable`);
    everything with a leading underscore is its own.
    """

    def __init__(self, store: EventStore, run_id: str, reasoner: Reasoner, executor: ExecutionPort, task: Task,
                 options: DriveOptions | None = None, state: RunState | None = None) -> None:
        """``state``: the run's state as folded up to its last event (loaded here when not given)."""
        self.store, self.run_id = store, run_id
        self.reasoner, self.executor, self.task = reasoner, executor, task
        self.opts = options or DriveOptions()
        self.state = state if state is not None else load_state(store, run_id)
        self._snap_mark = self.state.last_seq
        self._lock = threading.Lock()  # one append at a time; keeps self.state in step
        self._stop = threading.Event()
        self._running: dict[str, ProcessInfo] = {}  # exec key -> ProcessInfo of live children
        self._signals = 0
        # where the wall time goes (diagnostics only; never an input to decisions)
        self.timings = {"store_s": 0.0, "exec_s": 0.0, "llm_s": 0.0, "decide_s": 0.0}
        self._faults = EffectFaults()  # test hooks (GOME_CRASH_DURING_EFFECT), counted per driver

    # ---------------------------------------------------------- appending

    def append(self, events: list[tuple[Event, str | None]], blobs: dict[str, bytes] | None = None
               ) -> list[StoredEvent]:
        """Store ``events`` (and ``blobs``) atomically and fold them into ``self.state``."""
        with self._lock:
            return self._store_locked(events, blobs, None, applied=False)

    def _store_locked(self, events: list[tuple[Event, str | None]], blobs: dict[str, bytes] | None,
                      ts: float | None, applied: bool) -> list[StoredEvent]:
        """Store ``events`` (the lock held), stamped ``ts`` (now when None).

        With ``applied``, the events are already folded in (the policy decided on
        the live state); if storing them fails the driver stops with the error and
        this state is never used again, so nothing needs undoing.
        """
        t0 = time.perf_counter()
        now = ts if ts is not None else time.time()
        new = [NewEvent(type=e.type, payload=e.payload(), trace_id=t, ts=now,
                        schema_version=type(e).schema_version) for e, t in events]
        expected = self.state.last_seq - (len(new) if applied else 0)
        stored = self.store.append(self.run_id, new, expected, blobs=blobs or {})
        if not applied:
            for s in stored:
                apply(self.state, s)
        self._snap_mark = maybe_snapshot(self.store, self.state, self.opts.snapshot_every, self._snap_mark)
        self.timings["store_s"] += time.perf_counter() - t0
        return stored

    def append_outcome(self, events: list[tuple[Event, str | None]], blobs: dict[str, bytes],
                        decide: bool = True) -> list[StoredEvent]:
        """Append an outcome and the decisions it unlocks as one atomic batch (the async schedule).

        The outcome is folded into the live state exactly as it will be read
        back (its payload through the store's JSON), then the policy decides on
        that state until it waits: what replay re-derives at the same seqs.
        """
        with self._lock:
            ts = time.time()
            for e, tid in events:
                payload = loads(canonical_json(e.payload()))
                apply(self.state, PendingEvent(self.state.last_seq + 1, e.type, tid, ts, payload,
                                               type(e).schema_version))
            decisions = self._decide_locked(ts, blobs) if decide else []
            batch = list(events) + [(d.event, d.trace_id) for d in decisions]
            return self._store_locked(batch, blobs, ts, applied=True)

    def read_blob(self, sha: str) -> bytes:
        return self.store.get_blob(sha)

    # --------------------------------------------------------------- loop

    def run(self) -> RunState:
        """Drive the run under its schedule (:func:`gome_es.driver.loops.run_schedule`) to its end or a stop."""
        self._install_signals()
        try:
            run_schedule(self)
            if self._stop.is_set() and not self.state.is_finished:
                self._record_stop()
            elif self.state.is_finished and grade_pending(self.state.grade) and self.opts.grade:
                self._grade()
        finally:
            self._restore_signals()
        return self.state

    @property
    def stopping(self) -> bool:
        """A stop was requested: a signal, or the LLM endpoint failing call after call."""
        return self._stop.is_set()

    @contextmanager
    def reading(self) -> Iterator[RunState]:
        """The state, with appends held off while the caller reads it."""
        with self._lock:
            yield self.state

    def stuck(self) -> GomeError:
        return GomeError(
            f"run {self.run_id} seq {self.state.last_seq}: the policy has no decision and "
            "nothing is pending; the run is stuck. Report it with `gome export`."
        )

    def decide(self) -> bool:
        """Decide until the policy waits, folding each decision in as it is made, then store them as one batch."""
        blobs: dict[str, bytes] = {}
        with self._lock:
            ts = time.time()
            decisions = self._decide_locked(ts, blobs)
            if not decisions:
                return False
            self._store_locked([(d.event, d.trace_id) for d in decisions], blobs, ts, applied=True)
        return True

    def _decide_locked(self, ts: float, blobs: dict[str, bytes]) -> list[Decision]:
        """Decisions until the policy waits, each folded into the live state (stamped ``ts``) as made."""
        t0 = time.perf_counter()
        decisions: list[Decision] = []
        read = self._scratch_reader(blobs)
        # a stop request (SIGINT/SIGTERM) ends the batch at once: what was decided so far is
        # stored, and the run stops before anything else is decided
        while len(decisions) < 500 and not self._stop.is_set():
            d = decide_one(self.state, read)
            if d is None:
                break
            apply(self.state, PendingEvent.of(self.state.last_seq + 1, d.event, d.trace_id, ts))
            decisions.append(d)
            blobs.update(d.blobs)
        self.timings["decide_s"] += time.perf_counter() - t0
        return decisions

    def _scratch_reader(self, pending: dict[str, bytes]) -> Callable[[str], bytes]:
        def read(sha: str) -> bytes:
            if sha in pending:
                return pending[sha]
            return self.store.get_blob(sha)

        return read

    # ------------------------------------------------------------ effects

    def perform_llm(self, call: LlmCall) -> Outcome | None:
        if self._stop.is_set():
            return None
        request = effects.llm_request(call, self.read_blob)
        effect_log("llm", call.key)
        self._faults.maybe_crash()
        t0 = time.monotonic()
        try:
            resp = effects.ask(self.reasoner, request)
        finally:
            self.timings["llm_s"] += time.monotonic() - t0
        return effects.llm_outcome(call, resp, time.monotonic() - t0)

    def _weights_dir(self) -> str | None:
        """The run's --weights-dir (recorded in RunStarted.task), while it is still a folder."""
        recorded = ((getattr(self.state, "task", None) or {}).get("weights") or {}).get("dir")
        return recorded if recorded and Path(recorded).is_dir() else None

    def perform_exec(self, call: ExecCall, deadline: float | None = None) -> Outcome | None:
        """Run one execution; with ``deadline`` (the budget's, async schedule) it is stopped there."""
        if self._stop.is_set():
            return None
        req = call.request
        code = self.read_blob(req["code_sha"]).decode("utf-8")
        redo = call.started is not None
        attempt_dir = self._run_dir(f"r{len(self.state.resumes)}")
        timeout_s = float(req["timeout_s"])
        left = None if deadline is None else deadline - time.time()
        budget_bound = left is not None and left < timeout_s
        if budget_bound:
            timeout_s = max(0.05, left or 0.0)
        spec = task_spec(
            self.task, key=call.key, code=code, workspace_root=attempt_dir, timeout_s=timeout_s,
            db=getattr(self.store, "path", None), threads=self.opts.threads_per_exec,
            memory_limit_mb=self.opts.memory_limit_mb, use_gpu=self._gpu_pool() is not None,
            weights_dir=self._weights_dir(),
        )
        effect_log("exec", call.key)

        def on_start(info: ProcessInfo) -> None:
            self._running[call.key] = info
            if self._stop.is_set():  # a stop came while it was starting: the handler did not see it
                self._terminate(info)
            self.append([(effects.started_event(call, info), call.trace_id)])
            self._faults.maybe_crash()

        t_exec = time.monotonic()
        try:
            result = self.executor.run(spec, on_start=on_start)
        finally:
            self.timings["exec_s"] += time.monotonic() - t_exec
        self._running.pop(call.key, None)
        if self._stop.is_set():
            return None  # stopped mid-execution: no outcome, so resume redoes it
        ev, tid, blobs = effects.finished_outcome(self.task, call, result, redo,
                                                  None if deadline is None else deadline - time.time())
        if budget_bound and FailureClass(result.failure) is FailureClass.timeout:
            ev = ev.model_copy(update={
                "failure": FailureClass.budget_cut.value,
                "failure_detail": f"stopped at the run's budget deadline after {result.duration_s:.1f}s "
                                  f"(its own timeout was {float(req['timeout_s']):.0f}s)"})
        return ev, tid, blobs

    def _gpu_pool(self) -> Any:
        return effects.gpu_pool_of(self.executor)

    def device_changes(self) -> list[tuple[Event, str | None]]:
        """DeviceHealthChanged for every GPU whose health differs from what the log says."""
        return effects.device_changes(self._gpu_pool(), self.state.devices)

    # -------------------------------------------------------------- stops

    def _install_signals(self) -> None:
        self._old_handlers = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _restore_signals(self) -> None:
        if self._signals:
            return  # stopping: a further Ctrl-C must still kill at once, until the process exits
        for sig, old in getattr(self, "_old_handlers", {}).items():
            signal.signal(sig, old)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            os._exit(130)  # second Ctrl-C: stop at once; the log is consistent at every commit
        print(f"\ngome: {signal.Signals(signum).name} received: finishing the current append, stopping "
              "executions (Ctrl-C again to kill at once)", file=sys.stderr)
        self._stop.set()  # before the sweep below: an execution registered after it sees the flag
        self._stop_reason = signal.Signals(signum).name
        for info in list(self._running.values()):
            self._terminate(info)

    @staticmethod
    def _terminate(info: ProcessInfo) -> None:
        try:
            os.killpg(info.pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass

    def count_llm_outcome(self, event: LLMResponded) -> None:
        """Stop the run once the endpoint has failed ``max_llm_failures`` calls in a row."""
        if not event.error:
            self._llm_failures = 0
            return
        self._llm_failures = getattr(self, "_llm_failures", 0) + 1
        limit = self.opts.max_llm_failures
        if limit and self._llm_failures >= limit and not self._stop.is_set():
            if getattr(self.reasoner, "name", None) == "offline":
                # deterministic rules that cannot answer: no endpoint is down, and waiting will not help
                self._stop_cause = "offline_rules"
                self._stop_message = (f"offline_rules: the offline reasoner's rules failed {self._llm_failures} "
                                      f"requests in a row; last error: {event.error}")
                log.warning("stopping: the offline rules cannot answer", run_id=self.run_id,
                            failures=self._llm_failures, error=event.error)
                self._stop.set()
                return
            endpoint = getattr(self.reasoner, "base_url", None) or self.state.reasoner.get("base_url") \
                or self.state.reasoner.get("kind")
            self._stop_cause = "llm_unavailable"
            self._stop_message = (f"llm_unavailable: {self._llm_failures} LLM calls in a row failed at "
                                  f"{endpoint} (model {event.model}); last error: {event.error}")
            log.warning("stopping: the LLM endpoint keeps failing", run_id=self.run_id, endpoint=endpoint,
                        failures=self._llm_failures, error=event.error)
            self._stop.set()

    def _record_stop(self) -> None:
        cancelled = [c.key for c in self.state.pending_executions()] + [c.key for c in self.state.pending_llm()]
        # the cause is what happened, never assumed: "signal" only when a signal came
        cause = getattr(self, "_stop_cause", None) or ("signal" if self._signals else "stop_requested")
        reason = getattr(self, "_stop_message", None) or (
            f"signal {getattr(self, '_stop_reason', '?')}" if self._signals else "a stop was requested (no signal)")
        self.append([(RunStopped(reason=reason, cancelled_keys=cancelled, cause=cause), None)])

    # ------------------------------------------------------------ grading

    def _grade(self) -> None:
        sel = self.state.selected or {}
        sha = sel.get("submission_sha")
        out_dir = self._run_dir("selected")
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "submission.csv"
        if sha:
            _replace_file(path, self.read_blob(sha))
        elif path.is_symlink():
            path.unlink()  # never grade whatever a planted link points at
        try:
            report = grade_submission(self.task, path).model_dump(mode="json")
        except Exception as exc:  # grading needs files outside the run (answers, leaderboard, mlebench)
            # recorded with its reason; the run exits non-zero and `gome resume` grades again
            log.warning("grading failed", run_id=self.run_id, error=str(exc))
            report = {"competition_id": self.state.task_id, "score": None, "valid_submission": False,
                      "grading_failed": True, "error": f"{type(exc).__name__}: {exc}"}
        self.append([(SubmissionGraded(report=report), None)])

    def progress(self) -> None:
        if self.opts.progress is not None:
            self.opts.progress(self.state)

    def _run_dir(self, name: str) -> Path:
        """``<workspace>/<run id>/<name>``, refused unless it resolves inside the workspace root."""
        return run_dir(self.opts.workspace_root, self.run_id, name, db=getattr(self.store, "path", None))


def run_dir(workspace_root: Path, run_id: str, name: str, *, db: Path | str | None = None) -> Path:
    """``<workspace>/<run id>/<name>``, checked to resolve inside ``workspace_root``.

    Run ids are plain names (gome_es.store.runids), but a run imported from an
    older gome, or a link planted in the workspace, must not lead outside it.
    The root and the run's folder must be ours and closed to other users'
    writes (gome_es.trust.folders); the run's folder is made 0700 with gome's
    marker naming ``db``, which is what lets `gome gc` remove it later.
    """
    root = Path(workspace_root).absolute()
    if "\x00" in run_id or len(run_id.encode("utf-8", "surrogateescape")) > 255:
        raise GomeError(f"run {run_id[:60]!r}...: its id cannot be a folder name (too long, or a NUL byte); "
                        "copy it under a plain id with `gome fork RUN --at LAST_SEQ --run-id NEW` and resume that")
    path = root / run_id / name
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved_root not in resolved.parents:
        raise GomeError(f"run {run_id}: its folder {path} resolves to {resolved}, outside the workspace "
                        f"{resolved_root}; gome writes nothing there. Remove the link, or pass --workspace "
                        "with another folder")
    run_folder(root, run_id, db=db)
    return path


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole through a new temporary file renamed over it (a link there is replaced, never followed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, ordinary_file_mode())  # the selected submission is handed on: the umask, not 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ entry points


def grade_pending(grade: dict[str, Any] | None) -> bool:
    """No grade yet, or the last attempt failed (missing answers, unreadable leaderboard)."""
    return grade is None or bool(grade.get("grading_failed"))


DESCRIPTION_CAP = 30_000  # characters of description.md recorded (and shown to a model)


def task_summary(task: Task) -> dict[str, Any]:
    desc = ""
    try:
        desc = Path(task.description_path).read_text(encoding="utf-8")
    except OSError:
        pass
    understanding = getattr(task, "understanding", None) or {}
    summary = {
        "id": task.id,
        "task_type": task.task_type,
        "metric": task.metric,
        "lower_is_better": bool(task.lower_is_better),
        "id_column": task.id_column,
        "target_columns": list(task.target_columns),
        "text_column": "text",
        "fingerprint": getattr(task, "fingerprint", ""),
        "description": desc[:2000] if not understanding else desc[:DESCRIPTION_CAP],
    }
    if understanding:
        # MLE-bench competitions: what was inferred from the public files (and overridden),
        # the grader, where the data lives, and what the model is shown of the folder
        summary.update({
            "description_cap": DESCRIPTION_CAP,
            "description_truncated": len(desc) > DESCRIPTION_CAP,
            "grader": task.grader,
            "submission_kind": task.submission_kind,
            "direction_source": task.direction_source,
            "understanding": understanding,
            "public_files": public_listing(Path(task.public_dir)),
            "mlebench_data": str(task.mlebench_data) if task.mlebench_data else None,
        })
    return summary


def start_run(store: EventStore, task: Task, config: RunConfig, reasoner: ReasonerConfig,
              run_id: str | None = None, forked_from: dict[str, Any] | None = None,
              weights: dict[str, Any] | None = None) -> str:
    """Append RunStarted for a new run and return its id (``weights``: gome_es.executor.weights.describe of
    the run's --weights-dir, recorded in the task summary the reasoners see)."""
    rid = run_id or time.strftime("run-%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]
    if store.run_exists(rid):
        raise RunExists(f"run {rid} already exists in {getattr(store, 'path', 'the store')}; "
                        "choose another --run-id or `gome resume` it.")
    summary = task_summary(task)
    if weights:
        summary["weights"] = weights
    ev = RunStarted(
        task_id=task.id, task=summary, config=config, reasoner=reasoner,
        code_version=code_version(), gome_version=__version__, forked_from=forked_from,
        host=socket.gethostname(), pid=os.getpid(), started_at=time.time(),
        db_path=str(getattr(store, "path", "")),
    )
    store.append(rid, [NewEvent(type=ev.type, payload=ev.payload(), trace_id=None, schema_version=1)], 0)
    return rid


def drive(store: EventStore, run_id: str, *, task: Task, reasoner: Reasoner | None = None,
          executor: ExecutionPort | None = None,
          options: DriveOptions | None = None, resuming: bool = False, overrides: dict[str, Any] | None = None,
          lease_heartbeat_s: float = 5.0, timings: dict[str, float] | None = None) -> RunState:
    """Take the run's lease, (on resume: record it, kill orphans) and drive to the end."""
    opts = options or DriveOptions()
    overrides = overrides or {}
    grant = RunLease.acquire(store, run_id, heartbeat_s=lease_heartbeat_s)
    try:
        # one fold (from the newest snapshot), kept current with every event appended below
        state = load_state(store, run_id)
        if resuming:
            check_resumable(store, run_id, state)
        # the reasoner the run goes on with (overrides included) is built before anything is
        # appended: one that cannot be built (a missing API key) must leave the log as it was
        going_on_with = {**state.reasoner, **(overrides.get("reasoner", {}) if resuming else {})}
        rz = reasoner or make_reasoner(going_on_with, store)
        if grant.took_over is not None:
            ev = LeaseTakenOver(previous=grant.took_over.__dict__, holder=grant.holder.__dict__,
                                why=grant.took_over_reason or "holder gone")
            for s in store.append(run_id, [NewEvent(type=ev.type, payload=ev.payload())], state.last_seq):
                apply(state, s)
        if resuming:
            for s in prepare_resume(store, run_id, state, opts, overrides, took_over=grant.took_over):
                apply(state, s)
        ex = executor or make_executor(opts.slots)
        driver = Driver(store, run_id, rz, ex, task, opts, state=state)
        try:
            return driver.run()
        finally:
            if timings is not None:
                timings.update(driver.timings)
            log.info("where the time went", run_id=run_id, **{k: round(v, 3) for k, v in driver.timings.items()})
    finally:
        grant.release()
