"""The durable state machine: a pure fold from events to a :class:`RunState`.

Phases and their legal transitions live in two explicit tables
(:data:`RUN_TRANSITIONS`, :data:`TRACE_TRANSITIONS`).  :func:`apply` moves the
state by one stored event and raises :class:`IllegalTransition` naming run,
seq, phase and event type when the table forbids it.  Nothing here reads a
clock, a file or a random stream: time is the recorded ``ts`` of events, and
the budget spent is summed from those.

The fold works on plain payload dicts (upcast to the current schema) rather
than validated models: it is on the hot path of resume, replay and ``show``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Iterable, Protocol

from pydantic import BeforeValidator, Field, TypeAdapter

from ..errors import IllegalTransition, UnknownEventType
from .events import EVENT_TYPES, RunConfig, upcast
from .vocabulary import EventType

STATE_SCHEMA = 2  # bump when RunState's shape changes: stale snapshots are ignored (2: config is a RunConfig)


class StoredLike(Protocol):
    """What the fold reads of an event: read-only, so the store's frozen ``StoredEvent`` satisfies it."""

    @property
    def seq(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def trace_id(self) -> str | None: ...
    @property
    def ts(self) -> float: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def payload(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class PendingEvent:
    """An event with its (future) seq and ts: what the fold applies before, or without, a store."""

    seq: int
    type: str
    trace_id: str | None
    ts: float
    payload: dict[str, Any]
    schema_version: int = 1

    @classmethod
    def of(cls, seq: int, event: Any, trace_id: str | None, ts: float) -> "PendingEvent":
        return cls(seq, event.type, trace_id, ts, event.payload(), type(event).schema_version)


class RunPhase(StrEnum):
    NEW = "new"
    STARTED = "started"
    DIRECTING = "directing"  # asked the reasoner for starting directions
    DIRECTED = "directed"
    RUNNING = "running"  # traces exist
    SELECTING = "selecting"
    SELECTED = "selected"
    FINISHED = "finished"


class TracePhase(StrEnum):
    STARTED = "started"
    REASONING = "reasoning"  # propose request outstanding
    REASONED = "reasoned"
    HYPOTHESIZED = "hypothesized"
    CODING = "coding"  # code or debug request outstanding
    DRAFTED = "drafted"
    CODED = "coded"
    EXECUTING = "executing"
    EXECUTED = "executed"
    JUDGED = "judged"
    REMEMBERED = "remembered"
    IMPROVED = "improved"
    FINISHED = "finished"


P = TracePhase
# trace phase -> {transition key -> next phase}.  LLM requests are keyed by purpose.
TRACE_TRANSITIONS: dict[TracePhase, dict[str, TracePhase]] = {
    P.STARTED: {
        "LLMRequested[propose]": P.REASONING,
        EventType.HypothesisProposed: P.HYPOTHESIZED,
        EventType.TraceFinished: P.FINISHED,
    },
    P.REASONING: {EventType.LLMResponded: P.REASONED},
    P.REASONED: {
        EventType.HypothesisProposed: P.HYPOTHESIZED,
        "LLMRequested[propose]": P.REASONING,
        EventType.TraceFinished: P.FINISHED,
    },
    P.HYPOTHESIZED: {
        "LLMRequested[code]": P.CODING,
        "LLMRequested[debug]": P.CODING,
        EventType.CodeGenerated: P.CODED,
        EventType.TraceFinished: P.FINISHED,
    },
    P.CODING: {EventType.LLMResponded: P.DRAFTED},
    P.DRAFTED: {
        EventType.CodeGenerated: P.CODED,
        "LLMRequested[code]": P.CODING,
        "LLMRequested[debug]": P.CODING,
        EventType.HypothesisProposed: P.HYPOTHESIZED,
        "LLMRequested[propose]": P.REASONING,
        EventType.TraceFinished: P.FINISHED,
    },
    P.CODED: {EventType.ExecutionRequested: P.EXECUTING, EventType.TraceFinished: P.FINISHED},
    P.EXECUTING: {EventType.ExecutionStarted: P.EXECUTING, EventType.ExecutionFinished: P.EXECUTED},
    P.EXECUTED: {EventType.ValidationJudged: P.JUDGED},
    P.JUDGED: {
        EventType.MemoryUpdated: P.REMEMBERED,
        EventType.SotaChanged: P.IMPROVED,
        "LLMRequested[debug]": P.CODING,
        "LLMRequested[propose]": P.REASONING,
        EventType.HypothesisProposed: P.HYPOTHESIZED,
        EventType.TraceFinished: P.FINISHED,
    },
    P.REMEMBERED: {EventType.SotaChanged: P.IMPROVED},
    P.IMPROVED: {
        "LLMRequested[propose]": P.REASONING,
        EventType.HypothesisProposed: P.HYPOTHESIZED,
        EventType.TraceFinished: P.FINISHED,
    },
    P.FINISHED: {},
}

R = RunPhase
# Run-level events that are legal in *any* phase after RunStarted.
RUN_ANYTIME = frozenset(
    {EventType.RunResumed, EventType.RunStopped, EventType.LeaseTakenOver, EventType.DeviceHealthChanged,
     EventType.ImportedRecord}
)
RUN_TRANSITIONS: dict[RunPhase, dict[str, RunPhase]] = {
    R.NEW: {EventType.RunStarted: R.STARTED},
    R.STARTED: {"LLMRequested[directions]": R.DIRECTING, EventType.TraceStarted: R.RUNNING},
    R.DIRECTING: {EventType.LLMResponded: R.DIRECTED},
    R.DIRECTED: {EventType.TraceStarted: R.RUNNING, "LLMRequested[directions]": R.DIRECTING},
    R.RUNNING: {
        EventType.TraceStarted: R.RUNNING,
        "LLMRequested[select]": R.SELECTING,
        EventType.SubmissionSelected: R.SELECTED,
    },
    R.SELECTING: {EventType.LLMResponded: R.SELECTING, EventType.SubmissionSelected: R.SELECTED},
    R.SELECTED: {EventType.RunFinished: R.FINISHED},
    R.FINISHED: {EventType.SubmissionGraded: R.FINISHED},
}


def transition_key(type_name: str, payload: dict[str, Any]) -> str:
    if type_name == EventType.LLMRequested:
        return f"LLMRequested[{payload['purpose']}]"
    return type_name


@dataclass(slots=True)
class LlmCall:
    key: str
    trace_id: str | None
    purpose: str
    request_seq: int
    request: dict[str, Any]
    iteration: int | None = None
    attempt: int = 0
    response: dict[str, Any] | None = None
    response_seq: int | None = None


@dataclass(slots=True)
class ExecCall:
    key: str
    trace_id: str | None
    solution_id: str
    request_seq: int
    request: dict[str, Any]
    started: dict[str, Any] | None = None  # the latest ExecutionStarted (pid, pgid, ...)
    result: dict[str, Any] | None = None
    result_seq: int | None = None


@dataclass(slots=True)
class Solution:
    solution_id: str
    trace_id: str | None
    iteration: int
    attempt: int
    parent_solution_id: str | None
    code_sha: str
    recipe: dict[str, Any] = field(default_factory=dict)
    hypothesis: str = ""
    component: str = ""
    change: dict[str, Any] = field(default_factory=dict)
    exec_key: str | None = None
    failure: str | None = None
    val_score: float | None = None
    submission_sha: str | None = None
    judged: bool = False
    accepted: bool = False
    first_failure: str | None = None


@dataclass(slots=True)
class TraceState:
    trace_id: str
    index: int
    direction: str
    direction_detail: dict[str, Any] = field(default_factory=dict)
    phase: TracePhase = TracePhase.STARTED
    iteration: int = -1  # the iteration in progress (first HypothesisProposed makes it 0)
    attempt: int = 0
    hypothesis: dict[str, Any] | None = None  # the drawn hypothesis of this iteration
    solution_id: str | None = None  # the solution of the current attempt
    pending_llm: str | None = None
    pending_exec: str | None = None
    last_llm: str | None = None  # the key of the latest answered request
    last_judged: str | None = None  # solution id last judged
    sota_id: str | None = None
    sota_score: float | None = None
    solutions: list[str] = field(default_factory=list)
    accepted: int = 0
    finished_reason: str | None = None
    started_seq: int = 0


def _config_as_recorded(value: Any) -> Any:
    """A saved config back as it was recorded: built unvalidated, and a model instance is not
    validated again (pydantic's revalidate_instances="never")."""
    return RunConfig.from_log(value) if isinstance(value, dict) else value


@dataclass(slots=True)
class RunState:
    run_id: str
    task_id: str | None = None
    origin: str = "gome"
    task: dict[str, Any] = field(default_factory=dict)
    # from RunStarted, overrides applied; a saved state reads it back as recorded (bounds apply to
    # configs made now, and an old log's may lie outside them)
    config: Annotated[RunConfig, BeforeValidator(_config_as_recorded)] = field(
        default_factory=lambda: RunConfig.from_log({}))
    reasoner: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    forked_from: dict[str, Any] | None = None
    phase: RunPhase = RunPhase.NEW
    traces: dict[str, TraceState] = field(default_factory=dict)
    llm: dict[str, LlmCall] = field(default_factory=dict)
    executions: dict[str, ExecCall] = field(default_factory=dict)
    solutions: dict[str, Solution] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    memory_version: int = 0
    selected: dict[str, Any] | None = None
    select_key: str | None = None
    finished: dict[str, Any] | None = None
    grade: dict[str, Any] | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumes: list[dict[str, Any]] = field(default_factory=list)
    stops: list[dict[str, Any]] = field(default_factory=list)
    event_count: int = 0
    last_seq: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    spent_s: float = 0.0  # budget spent, from recorded time (downtime excluded by default)
    downtime_s: float = 0.0
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})
    cost_usd: float = 0.0
    imported: int = 0
    # Memoised views of the state (the policy's memory view, keyed by what it is
    # a function of): never compared, never written into snapshots.
    view_cache: Annotated[dict[str, Any], Field(exclude=True)] = field(
        default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ views

    @property
    def lower_is_better(self) -> bool:
        return bool(self.task.get("lower_is_better", False))

    @property
    def budget_s(self) -> float:
        return float(self.config.budget_s)

    @property
    def budget_left_s(self) -> float:
        return self.budget_s - self.spent_s

    def better(self, a: float | None, b: float | None) -> bool:
        """Is score ``a`` better than ``b`` by more than the run's tolerance (None is worst)?

        Scores within ``math.isclose(a, b, rel_tol=improve_rel_tol, abs_tol=improve_abs_tol)``
        tie, and a tie is not better: floating-point noise (1e-16) is no improvement."""
        if a is None:
            return False
        if b is None:
            return True
        cfg = self.config
        if math.isclose(a, b, rel_tol=cfg.improve_rel_tol, abs_tol=cfg.improve_abs_tol):
            return False
        return a < b if self.lower_is_better else a > b

    def pending_llm(self) -> list[LlmCall]:
        return [c for c in self.llm.values() if c.response is None]

    def pending_executions(self) -> list[ExecCall]:
        return [c for c in self.executions.values() if c.result is None]

    def traces_in_order(self) -> list[TraceState]:
        """The traces by index (kept in the view cache until a trace starts; do not mutate)."""
        cached = self.view_cache.get("traces")
        if cached is not None and cached[0] == len(self.traces):
            kept: list[TraceState] = cached[1]
            return kept
        order = sorted(self.traces.values(), key=lambda t: t.index)
        self.view_cache["traces"] = (len(self.traces), order)
        return order

    @property
    def is_stopped(self) -> bool:
        """Stopped gracefully and not resumed since."""
        return bool(self.stops) and (not self.resumes or self.stops[-1]["seq"] > self.resumes[-1]["seq"])

    @property
    def is_finished(self) -> bool:
        return self.phase == RunPhase.FINISHED

    @property
    def status(self) -> str:
        if self.finished is not None:
            return str(self.finished.get("status", "finished"))
        if self.is_stopped:
            return "stopped"
        if self.phase == RunPhase.NEW:
            return "empty"
        return "running"

    def best_of(self, solutions: Iterable[Solution]) -> Solution | None:
        """The first of ``solutions`` that no later one is :meth:`better` than (ties keep the first)."""
        best: Solution | None = None
        for sol in solutions:
            if best is None or self.better(sol.val_score, best.val_score):
                best = sol
        return best

    def best_solution(self) -> Solution | None:
        return self.best_of(self.solutions[tr.sota_id] for tr in self.traces.values() if tr.sota_id is not None)


# ------------------------------------------------------------------ fold


def _illegal(state: RunState, ev: StoredLike, where: str, phase: str, allowed: Iterable[str]) -> IllegalTransition:
    allowed_s = ", ".join(sorted(allowed)) or "nothing (finished)"
    return IllegalTransition(
        f"run {state.run_id} seq {ev.seq}: {ev.type} is not allowed in {where} phase "
        f"'{phase}' (allowed: {allowed_s}). The log does not follow gome's state machine; "
        "run `gome verify` and, if the chain is intact, report the run."
    )


def apply(state: RunState, ev: StoredLike) -> RunState:
    """Move ``state`` by one stored event (in place) and return it."""
    etype = ev.type
    if etype not in EVENT_TYPES:
        raise UnknownEventType(
            f"run {state.run_id} seq {ev.seq}: unknown event type {etype!r}; "
            "this log was written by a newer gome-es: upgrade to read it (the row is kept)."
        )
    p = ev.payload
    if ev.schema_version != EVENT_TYPES[etype].schema_version:
        p = upcast(etype, ev.schema_version, p)
    if ev.seq != state.last_seq + 1:
        raise IllegalTransition(
            f"run {state.run_id}: expected seq {state.last_seq + 1} but got {ev.seq}; "
            "the log has a gap or is out of order (run `gome verify`)."
        )

    # budget: time between consecutive events is spent, except a resume's gap
    if state.last_ts is not None:
        gap = max(0.0, ev.ts - state.last_ts)
        if etype == EventType.RunResumed and not p.get("count_downtime", False):
            state.downtime_s += gap
        else:
            state.spent_s += gap
    if state.first_ts is None:
        state.first_ts = ev.ts
    state.last_ts = ev.ts
    state.last_seq = ev.seq
    state.event_count += 1

    key = transition_key(etype, p)
    tid = ev.trace_id
    if tid is not None and etype not in (EventType.TraceStarted,) and etype not in RUN_ANYTIME:
        tr = state.traces.get(tid)
        if tr is None:
            raise _illegal(state, ev, f"trace {tid} (never started)", "none", [EventType.TraceStarted])
        if state.phase in (RunPhase.SELECTED, RunPhase.FINISHED):
            raise _illegal(state, ev, "run", state.phase.value, RUN_TRANSITIONS[state.phase])
        nxt = TRACE_TRANSITIONS[tr.phase].get(key)
        if nxt is None:
            raise _illegal(state, ev, f"trace {tid}", tr.phase.value, TRACE_TRANSITIONS[tr.phase])
        _apply_trace(state, tr, ev, etype, p)
        tr.phase = nxt
        return state

    if etype in RUN_ANYTIME:
        if state.phase == RunPhase.NEW:
            raise _illegal(state, ev, "run", state.phase.value, RUN_TRANSITIONS[state.phase])
        _apply_run(state, ev, etype, p)
        return state
    nxt_run = RUN_TRANSITIONS[state.phase].get(key)
    if nxt_run is None:
        raise _illegal(state, ev, "run", state.phase.value, RUN_TRANSITIONS[state.phase])
    _apply_run(state, ev, etype, p)
    state.phase = nxt_run
    return state


def _apply_run(state: RunState, ev: StoredLike, etype: str, p: dict[str, Any]) -> None:
    if etype == EventType.RunStarted:
        state.task_id = p["task_id"]
        state.origin = p.get("origin", "gome")
        state.task = dict(p.get("task", {}))
        state.config = RunConfig.from_log(p["config"])
        state.reasoner = dict(p["reasoner"])
        state.code_version = p.get("code_version")
        state.forked_from = p.get("forked_from")
    elif etype == EventType.TraceStarted:
        tid = ev.trace_id or f"t{p['index']}"
        state.traces[tid] = TraceState(
            trace_id=tid,
            index=p["index"],
            direction=p["direction"],
            direction_detail=dict(p.get("direction_detail", {})),
            started_seq=ev.seq,
        )
    elif etype == EventType.LLMRequested:
        _llm_requested(state, ev, p)
        if p["purpose"] == "select":
            state.select_key = p["key"]
    elif etype == EventType.LLMResponded:
        _llm_responded(state, ev, p)
    elif etype == EventType.SubmissionSelected:
        state.selected = dict(p)
    elif etype == EventType.RunFinished:
        state.finished = dict(p)
    elif etype == EventType.SubmissionGraded:
        state.grade = dict(p["report"])
    elif etype == EventType.RunResumed:
        state.resumes.append({"seq": ev.seq, **p})
        if p.get("overrides"):
            ov = p["overrides"]
            if "reasoner" in ov:
                state.reasoner = {**state.reasoner, **ov["reasoner"]}
            if "config" in ov:
                state.config = state.config.with_overrides(ov["config"])
        if p.get("code_version"):
            state.code_version = p["code_version"]
    elif etype == EventType.RunStopped:
        state.stops.append({"seq": ev.seq, **p})
    elif etype == EventType.DeviceHealthChanged:
        state.devices[p["device"]] = {"healthy": p["healthy"], "reason": p["reason"], "seq": ev.seq}
    elif etype == EventType.ImportedRecord:
        state.imported += 1
    # LeaseTakenOver: provenance only


def _llm_requested(state: RunState, ev: StoredLike, p: dict[str, Any]) -> LlmCall:
    key = p["key"]
    if key in state.llm:
        raise IllegalTransition(
            f"run {state.run_id} seq {ev.seq}: LLM request key {key!r} was already requested at "
            f"seq {state.llm[key].request_seq}; idempotency keys must be unique."
        )
    call = LlmCall(
        key=key,
        trace_id=ev.trace_id,
        purpose=p["purpose"],
        iteration=p.get("iteration"),
        attempt=p.get("attempt", 0),
        request_seq=ev.seq,
        request=dict(p),
    )
    state.llm[key] = call
    return call


def _llm_responded(state: RunState, ev: StoredLike, p: dict[str, Any]) -> LlmCall:
    key = p["key"]
    call = state.llm.get(key)
    if call is None or call.response is not None:
        why = "was never requested" if call is None else f"was already answered at seq {call.response_seq}"
        raise IllegalTransition(
            f"run {state.run_id} seq {ev.seq}: LLMResponded for key {key!r} which {why}."
        )
    if call.trace_id != ev.trace_id:
        raise IllegalTransition(
            f"run {state.run_id} seq {ev.seq}: LLMResponded for {key!r} on trace {ev.trace_id} "
            f"but it was requested on trace {call.trace_id}."
        )
    call.response = dict(p)
    call.response_seq = ev.seq
    state.tokens["prompt"] += int(p.get("prompt_tokens", 0))
    state.tokens["completion"] += int(p.get("completion_tokens", 0))
    state.cost_usd += float(p.get("cost_usd") or 0.0)  # null: price unknown, counted as nothing
    return call


def _apply_trace(state: RunState, tr: TraceState, ev: StoredLike, etype: str, p: dict[str, Any]) -> None:
    if etype == EventType.LLMRequested:
        _llm_requested(state, ev, p)
        tr.pending_llm = p["key"]
    elif etype == EventType.LLMResponded:
        if tr.pending_llm != p["key"]:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: trace {tr.trace_id} awaits {tr.pending_llm!r}, "
                f"not {p['key']!r}."
            )
        _llm_responded(state, ev, p)
        tr.pending_llm = None
        tr.last_llm = p["key"]
    elif etype == EventType.HypothesisProposed:
        tr.iteration = p["iteration"]
        tr.attempt = 0
        tr.solution_id = None
        tr.hypothesis = {
            "text": p["hypothesis"],
            "component": p.get("component", "model"),
            "change": p.get("change", {}),
            "parent_solution_id": p.get("parent_solution_id"),
            "structured": p.get("structured", True),
            "seq": ev.seq,
        }
    elif etype == EventType.CodeGenerated:
        sid = p["solution_id"]
        if sid in state.solutions:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: solution id {sid!r} already exists."
            )
        hyp = tr.hypothesis or {}
        state.solutions[sid] = Solution(
            solution_id=sid,
            trace_id=tr.trace_id,
            iteration=p["iteration"],
            attempt=p["attempt"],
            parent_solution_id=p.get("parent_solution_id"),
            code_sha=p["code_sha"],
            recipe=dict(p.get("recipe", {})),
            hypothesis=hyp.get("text", ""),
            component=hyp.get("component", ""),
            change=dict(hyp.get("change", {})),
        )
        tr.solutions.append(sid)
        tr.solution_id = sid
        tr.attempt = p["attempt"]
    elif etype == EventType.ExecutionRequested:
        key = p["key"]
        if key in state.executions:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: execution key {key!r} was already requested."
            )
        state.executions[key] = ExecCall(
            key=key, trace_id=tr.trace_id, solution_id=p["solution_id"], request_seq=ev.seq, request=dict(p)
        )
        sol = state.solutions.get(p["solution_id"])
        if sol is not None:
            sol.exec_key = key
        tr.pending_exec = key
    elif etype == EventType.ExecutionStarted:
        call = state.executions.get(p["key"])
        if call is None or call.result is not None:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: ExecutionStarted for {p['key']!r}, which is not pending."
            )
        call.started = dict(p)
    elif etype == EventType.ExecutionFinished:
        call = state.executions.get(p["key"])
        if call is None or call.result is not None or tr.pending_exec != p["key"]:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: ExecutionFinished for {p['key']!r}, which trace "
                f"{tr.trace_id} is not awaiting (pending: {tr.pending_exec!r})."
            )
        call.result = dict(p)
        call.result_seq = ev.seq
        tr.pending_exec = None
        sol = state.solutions.get(p["solution_id"])
        if sol is not None:
            sol.failure = p["failure"]
            sol.val_score = p.get("val_score")
            sol.submission_sha = p.get("submission_sha")
    elif etype == EventType.ValidationJudged:
        sol = state.solutions.get(p["solution_id"])
        if sol is not None:
            sol.judged = True
            sol.accepted = bool(p["accepted"])
            sol.first_failure = p.get("first_failure")
        tr.last_judged = p["solution_id"]
    elif etype == EventType.MemoryUpdated:
        if p["version"] != state.memory_version + 1:
            raise IllegalTransition(
                f"run {state.run_id} seq {ev.seq}: memory version {p['version']} does not follow "
                f"{state.memory_version}."
            )
        state.memory.append({**p["entry"], "version": p["version"], "seq": ev.seq})
        state.memory_version = p["version"]
    elif etype == EventType.SotaChanged:
        tr.sota_id = p["solution_id"]
        tr.sota_score = p["val_score"]
        tr.accepted += 1
    elif etype == EventType.TraceFinished:
        tr.finished_reason = p["reason"]


def fold(events: Iterable[StoredLike], run_id: str, state: RunState | None = None) -> RunState:
    """Fold ``events`` (in seq order) onto ``state`` (or an empty one)."""
    st = state if state is not None else RunState(run_id=run_id)
    for ev in events:
        apply(st, ev)
    return st


_STATE_ADAPTER: TypeAdapter[RunState] = TypeAdapter(RunState)


def state_to_json(state: RunState) -> str:
    return _STATE_ADAPTER.dump_json(state).decode("utf-8")


def state_from_json(text: str) -> RunState:
    return _STATE_ADAPTER.validate_json(text)

