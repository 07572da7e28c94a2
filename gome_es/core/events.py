"""The event vocabulary: pydantic models, schema versions and upcasters.

An event is a past-tense fact.  Each model here is the *payload* of one row of
the ``events`` table; the envelope (run_id, seq, trace_id, ts, hashes) belongs
to the store.  Every type declares three class-level facts:

``schema_version``
    the current shape; older stored shapes are lifted by :data:`UPCASTERS`
    (plain ``dict -> dict`` functions chained by version) before validation,
    so old rows are never rewritten.
``kind``
    ``"decision"`` when the policy derives the event from the folded state
    (replay re-derives and compares it), ``"observation"`` when it records an
    outcome from outside the pure core (an LLM answer, an execution result, a
    resume, a lease takeover), ``"input"`` for the run's configuration.
``volatile``
    payload fields that legitimately differ between two honest recordings of
    the same decision or outcome (durations, hosts, paths).  Replay and diff
    exclude exactly these, by declaration, never ad hoc.

Fields named ``*_sha`` (and lists ``*_shas``) reference content-addressed blobs.
Pure module: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from .. import __version__
from ..errors import EventError, UnknownEventType
from .limits import MAX_TRACES
from .vocabulary import VALIDATION_LEVELS as VALIDATION_LEVELS  # re-exported: the levels are an enum there
from .vocabulary import (
    FailureClass,
    Purpose,
    ReasonerKind,
    ResumeCause,
    RunStatus,
    TraceEnd,
    ValidationLevel,
    default_weights,
)


class Event(BaseModel):
    """Base class of every event payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    schema_version: ClassVar[int] = 1
    kind: ClassVar[str] = "decision"
    volatile: ClassVar[frozenset[str]] = frozenset()
    # Where an imported event came from: {"source": agent, "files": [{"path",
    # "dialect", "signature", "sha256", "bytes", "pid", "logged_at"}], "loop",
    # "step"}.  None (and absent from the stored payload) for gome's own events.
    # Declared in PROVENANCE: diff and the report's divergence skip it by default.
    provenance: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude={"type"})
        if out.get("provenance") is None:
            out.pop("provenance", None)  # native events keep their stored shape and hashes
        return out


# ---------------------------------------------------------------- run level


# The model each kind of reasoner uses when none is named (the one place these names are written).
DEFAULT_MODELS: dict[str, str] = {ReasonerKind.offline.value: "offline-rules-v1",
                                  ReasonerKind.openai.value: "gpt-4o-mini",
                                  ReasonerKind.replay.value: "replay"}


MIN_EXPERIMENT_S = 5.0  # the least budget slice an experiment is planned in (a fresh Python + sklearn)


def estimated_experiment_s(budget_s: float) -> float:
    """The budget slice one experiment is planned in: a twentieth of the budget, 5 s to 30 s."""
    return min(30.0, max(MIN_EXPERIMENT_S, budget_s / 20))


class ReasonerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ReasonerKind = ReasonerKind.offline
    model: str = "offline-rules-v1"  # when not given (or None): DEFAULT_MODELS[kind]
    base_url: str | None = None
    replay_from: str | None = None  # run id whose answers the replay reasoner serves
    # given prices ($ per million tokens in / out); without them only OpenAI's endpoint is priced
    price_in: float | None = None
    price_out: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_model(cls, data: Any) -> Any:
        # Every recorded ReasonerConfig names its model, so this only fills in new ones.
        if isinstance(data, dict) and data.get("model") is None:
            data = {k: v for k, v in data.items() if k != "model"}
            kind = data.get("kind", ReasonerKind.offline.value)
            if kind in DEFAULT_MODELS:
                data["model"] = DEFAULT_MODELS[kind]
        return data


class RunConfig(BaseModel):
    """Everything that shapes the policy's decisions; recorded in RunStarted."""

    # Bounds hold for every config built here (start_run, forks, the CLI); a recorded config is
    # read back as stored (from_log), so an old log replays whatever it holds.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    traces: int = Field(2, ge=1, le=MAX_TRACES)
    max_iterations: int = Field(4, ge=1)
    budget_s: float = Field(600.0, gt=0)
    seed: int = 0
    strategy: Literal["gome", "tree"] = "gome"
    n_candidates: int = Field(5, ge=1)
    top_k: int = Field(2, ge=1)
    weights: dict[str, float] = Field(default_factory=default_weights)
    structured_reasoning: bool = True
    memory: bool = True
    memory_half_life: float = 4.0  # iterations; success memory decays toward recent gains
    similarity_threshold: float = 0.8
    debug_max: int = 2
    exec_timeout_s: float = Field(300.0, gt=0)
    # the smallest slice of budget worth starting an experiment in; when not given,
    # estimated_experiment_s(budget_s) (every recorded RunConfig has it, so old logs keep theirs)
    est_exec_s: float = 30.0
    tree_drafts: int = 3
    tree_debug_prob: float = 0.5
    tree_max_debug_depth: int = 2
    # how the driver interleaves traces: "async" (an outcome and the decisions it unlocks are
    # appended together; traces never wait for each other) or "lockstep" (decide only once a
    # round's effects are all in).  Logs recorded before the option have no key: lockstep
    # (LOG_DEFAULTS), so they resume as they were recorded.
    schedule: Literal["async", "lockstep"] = "async"
    # An improvement must beat the best by more than floating-point noise on the metric's scale:
    # a and b tie when math.isclose(a, b, rel_tol, abs_tol).  A tie is "not better" everywhere
    # (validation's beats_sota, success memory, SOTA, the final selection).  Logs recorded before
    # the option compared strictly (LOG_DEFAULTS: 0 and 0), so they replay as they were.
    improve_rel_tol: float = Field(1e-9, ge=0, le=0.5)
    improve_abs_tol: float = Field(1e-12, ge=0)

    @classmethod
    def from_log(cls, recorded: dict[str, Any]) -> "RunConfig":
        """The config a log recorded, values exactly as stored (no coercion, so decisions replay
        byte for byte); a key the log lacks means what it meant when the policy read the dict
        with defaults (:data:`LOG_DEFAULTS` where that differs from today's default).  Keys this
        gome does not know are ignored, as the policy always ignored them."""
        known = {k: v for k, v in recorded.items() if k in cls.model_fields}
        return cls.model_construct(**{**LOG_DEFAULTS, **known})

    def with_overrides(self, overrides: dict[str, Any]) -> "RunConfig":
        """This config with a resume's or fork's recorded overrides applied (values as stored)."""
        return self.model_copy(update={k: v for k, v in overrides.items() if k in type(self).model_fields})

    @model_validator(mode="before")
    @classmethod
    def _derive_est_exec(cls, data: Any) -> Any:
        if isinstance(data, dict) and "est_exec_s" not in data:
            budget = data.get("budget_s", 600.0)
            if isinstance(budget, (int, float)) and not isinstance(budget, bool):
                data = {**data, "est_exec_s": estimated_experiment_s(float(budget))}
        return data


# Where a missing key meant something other than today's default when the policy read the
# config as a dict: no weights (so every total was 0) and no budget.
LOG_DEFAULTS: dict[str, Any] = {"weights": {}, "budget_s": 0.0, "schedule": "lockstep",
                                "improve_rel_tol": 0.0, "improve_abs_tol": 0.0}
# The keys of LOG_DEFAULTS that a stored RunStarted's config is completed with when it is read as
# an event (the others are filled in by from_log only: their log defaults break today's bounds).
_RECORDED_FILL = ("schedule", "improve_rel_tol", "improve_abs_tol")


class RunStarted(Event):
    type: Literal["RunStarted"] = "RunStarted"
    kind: ClassVar[str] = "input"
    volatile: ClassVar[frozenset[str]] = frozenset({"host", "pid", "started_at", "db_path"})

    task_id: str
    origin: str = "gome"  # "gome", or the agent an imported trace came from (e.g. "rdagent")
    task: dict[str, Any] = Field(default_factory=dict)  # type, metric, lower_is_better, fingerprint
    config: RunConfig
    reasoner: ReasonerConfig
    code_version: str
    gome_version: str
    forked_from: dict[str, Any] | None = None  # {"run_id", "seq"}
    host: str | None = None
    pid: int | None = None
    started_at: float | None = None
    db_path: str | None = None

    @field_validator("config", mode="before")
    @classmethod
    def _recorded_schedule(cls, value: Any) -> Any:
        # a stored config without a key predates the option: it ran (and resumes) as it did then,
        # in lock-step and comparing scores strictly
        if isinstance(value, dict) and any(k not in value for k in _RECORDED_FILL):
            return {**{k: LOG_DEFAULTS[k] for k in _RECORDED_FILL}, **value}
        return value


class TraceStarted(Event):
    type: Literal["TraceStarted"] = "TraceStarted"
    index: int
    direction: str
    direction_detail: dict[str, Any] = Field(default_factory=dict)


class RunResumed(Event):
    type: Literal["RunResumed"] = "RunResumed"
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset({"gap_s", "host", "pid", "previous_holder"})

    cause: ResumeCause
    gap_s: float
    count_downtime: bool = False
    code_version: str
    previous_code_version: str | None = None
    forced: bool = False
    redo_keys: list[str] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)  # reasoner/config changes (forks)
    previous_holder: dict[str, Any] | None = None
    host: str | None = None
    pid: int | None = None


class RunStopped(Event):
    """A graceful stop (a signal, or a reasoner that kept failing): the driver finished its append and stopped."""

    type: Literal["RunStopped"] = "RunStopped"
    kind: ClassVar[str] = "observation"
    reason: str
    cancelled_keys: list[str] = Field(default_factory=list)
    # why: "signal" (Ctrl-C/SIGTERM; ``reason`` names it), "llm_unavailable" (the endpoint kept
    # failing) or "offline_rules" (the offline reasoner's rules kept failing); None in runs
    # recorded before the field existed (all of them signals)
    cause: str | None = None


class LeaseTakenOver(Event):
    type: Literal["LeaseTakenOver"] = "LeaseTakenOver"
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset({"previous", "holder"})
    previous: dict[str, Any]
    holder: dict[str, Any]
    why: str


class DeviceHealthChanged(Event):
    type: Literal["DeviceHealthChanged"] = "DeviceHealthChanged"
    kind: ClassVar[str] = "observation"
    device: str
    healthy: bool
    reason: str


class SubmissionSelected(Event):
    type: Literal["SubmissionSelected"] = "SubmissionSelected"
    solution_id: str | None
    selected_trace: str | None
    val_score: float | None
    submission_sha: str | None
    by: Literal["val_score", "reasoner", "none"]
    reason: str
    llm_key: str | None = None


class RunFinished(Event):
    type: Literal["RunFinished"] = "RunFinished"
    status: RunStatus
    summary: dict[str, Any] = Field(default_factory=dict)


class SubmissionGraded(Event):
    """The hidden-answer grade of the selected submission.  Never read by the policy."""

    type: Literal["SubmissionGraded"] = "SubmissionGraded"
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset({"report.created_at", "report.submission_path"})
    report: dict[str, Any]


# -------------------------------------------------------------- per trace


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    evidence: str = ""


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    text: str
    component: str = "model"
    change: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, float] = Field(default_factory=dict)
    total: float = 0.0
    rejected: str | None = None  # why it was not eligible (e.g. too similar to trace t2)
    similarity: float | None = None


class Draw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: int
    pool: list[str]
    index: int
    chosen_id: str


class HypothesisProposed(Event):
    type: Literal["HypothesisProposed"] = "HypothesisProposed"
    iteration: int
    parent_solution_id: str | None
    structured: bool
    problems: list[Problem] = Field(default_factory=list)
    candidates: list[Candidate]
    weights: dict[str, float] = Field(default_factory=dict)
    top_k: int = 1
    draw: Draw
    memory_version: int = 0
    llm_key: str | None = None
    hypothesis: str
    component: str = "model"
    change: dict[str, Any] = Field(default_factory=dict)


class CodeGenerated(Event):
    type: Literal["CodeGenerated"] = "CodeGenerated"
    iteration: int
    attempt: int  # 0 first try, >0 debug attempts
    solution_id: str
    parent_solution_id: str | None
    code_sha: str
    llm_key: str | None = None
    summary: str = ""
    recipe: dict[str, Any] = Field(default_factory=dict)


class ExecutionRequested(Event):
    type: Literal["ExecutionRequested"] = "ExecutionRequested"
    key: str
    solution_id: str
    code_sha: str
    iteration: int
    attempt: int
    timeout_s: float


class ExecutionStarted(Event):
    """Where the child runs, so a resumed driver can find and kill an orphan."""

    type: Literal["ExecutionStarted"] = "ExecutionStarted"
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset(
        {"pid", "pgid", "start_time", "host", "workspace", "device", "boot_id", "cgroup_dirs"}
    )
    key: str
    pid: int
    pgid: int
    start_time: float | int | str | None = None
    boot_id: str | None = None
    host: str
    workspace: str
    cgroup_dirs: list[str] = Field(default_factory=list)
    device: str | None = None


class ExecutionFinished(Event):
    type: Literal["ExecutionFinished"] = "ExecutionFinished"
    schema_version: ClassVar[int] = 2
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset(
        {
            "duration_s",
            "peak_rss_mb",
            "peak_gpu_mb",
            "workspace",
            "device",
            "stdout_tail",
            "stderr_tail",
            "stdout_sha",
            "stderr_sha",
            "warnings",
            "sandbox",
        }
    )
    key: str
    solution_id: str
    # a FailureClass value for gome runs (the classifier's, or the driver's invalid_submission);
    # an imported run keeps its own agent's labels (RD-Agent: coder_error, not_run, no_score)
    failure: str
    failure_detail: str = ""
    exit_code: int | None = None
    signal: int | None = None
    duration_s: float = 0.0
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None
    val_score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    submission_sha: str | None = None
    submission_check: dict[str, Any] = Field(default_factory=dict)  # {"valid": bool, "reasons": [...]}
    exception: dict[str, Any] | None = None
    audit: dict[str, Any] = Field(default_factory=dict)
    stdout_tail: str = ""
    stderr_tail: str = ""
    stdout_sha: str | None = None
    stderr_sha: str | None = None
    warnings: list[str] = Field(default_factory=list)
    workspace: str | None = None
    device: str | None = None
    redone: bool = False  # the first attempt was orphaned by a crash
    # the limits and isolation it ran under: memory_limit_mb (+ where it came from), uid, layers
    sandbox: dict[str, Any] = Field(default_factory=dict)


class LevelVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: ValidationLevel
    passed: bool | None  # None: not reached (an earlier level failed)
    detail: str = ""


class ValidationJudged(Event):
    type: Literal["ValidationJudged"] = "ValidationJudged"
    key: str
    solution_id: str
    iteration: int
    attempt: int
    levels: list[LevelVerdict]
    first_failure: ValidationLevel | None
    accepted: bool
    val_score: float | None
    sota_score: float | None


class MemoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    trace_id: str
    iteration: int
    solution_id: str
    hypothesis: str
    component: str
    change: dict[str, Any] = Field(default_factory=dict)
    delta: float  # improvement, positive = better whatever the metric's direction
    val_score: float


class MemoryUpdated(Event):
    type: Literal["MemoryUpdated"] = "MemoryUpdated"
    version: int
    entry: MemoryEntry


class SotaChanged(Event):
    type: Literal["SotaChanged"] = "SotaChanged"
    solution_id: str
    val_score: float
    previous_solution_id: str | None
    previous_score: float | None
    code_sha: str
    submission_sha: str | None


class TraceFinished(Event):
    type: Literal["TraceFinished"] = "TraceFinished"
    reason: TraceEnd
    best_solution_id: str | None
    best_score: float | None
    iterations: int


# ------------------------------------------------------------ side effects


class LLMRequested(Event):
    type: Literal["LLMRequested"] = "LLMRequested"
    key: str
    purpose: Purpose
    iteration: int | None = None
    attempt: int = 0
    model: str
    messages_sha: str  # blob: the chat messages as JSON
    context_sha: str  # blob: the structured context (what the offline reasoner reads)
    schema_name: str


class LlmUsage(BaseModel):
    """What answering one request took: recorded in LLMResponded, reported by every reasoner."""

    model_config = ConfigDict(extra="forbid")

    model: str
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float | None = 0.0  # None: the price is not known (a local server, an unlisted model)
    attempts: int = 1
    retries: int = 0
    repairs: int = 0


class LLMResponded(Event, LlmUsage):
    type: Literal["LLMResponded"] = "LLMResponded"
    kind: ClassVar[str] = "observation"
    volatile: ClassVar[frozenset[str]] = frozenset({"latency_s", "attempts", "retries"})
    key: str
    content_sha: str | None  # blob: validated JSON text of the answer; None on error


# ---------------------------------------------------------- imported traces


class ImportedRecord(Event):
    """A file of a foreign trace that no step was derived from (a session checkpoint, an
    undecodable or unknown file), kept as provenance.  Files that steps were derived from
    are named in those steps' ``provenance`` instead (logs imported before that carry one
    ImportedRecord per file; they read as before)."""

    type: Literal["ImportedRecord"] = "ImportedRecord"
    schema_version: ClassVar[int] = 2
    kind: ClassVar[str] = "observation"
    tag: str
    summary: dict[str, Any] = Field(default_factory=dict)
    data_sha: str | None = None
    decoded: bool = True
    why: str = ""


AnyEvent = Annotated[
    Union[
        RunStarted,
        TraceStarted,
        RunResumed,
        RunStopped,
        LeaseTakenOver,
        DeviceHealthChanged,
        SubmissionSelected,
        RunFinished,
        SubmissionGraded,
        HypothesisProposed,
        CodeGenerated,
        ExecutionRequested,
        ExecutionStarted,
        ExecutionFinished,
        ValidationJudged,
        MemoryUpdated,
        SotaChanged,
        TraceFinished,
        LLMRequested,
        LLMResponded,
        ImportedRecord,
    ],
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].default: cls
    for cls in AnyEvent.__origin__.__args__  # type: ignore[attr-defined]
}

# ---------------------------------------------------------------- upcasters
#
# UPCASTERS[type][v] lifts a payload stored at schema_version v to v + 1.
# Chains run before validation; stored rows are never rewritten.


def _execution_finished_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 reported the outcome as "status" and had no submission check.
    out = dict(payload)
    out["failure"] = out.pop("status", FailureClass.ok.value)
    out.setdefault("submission_check", {})
    return out


_V1_FILE_FACTS = {"dialect": "dialect", "signature": "signature", "file_sha256": "sha256", "bytes": "bytes",
                  "pid": "pid"}


def _imported_record_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 named its file in "source" and kept the file's facts (dialect, signature,
    # hash, size, pid, loop, step) in its summary; v2 keeps them in the declared
    # provenance field, shaped like every imported step's provenance.
    out = dict(payload)
    summary = dict(out.get("summary") or {})
    file = {"path": out.pop("source", None)}
    for old, new in _V1_FILE_FACTS.items():
        if old in summary:
            file[new] = summary.pop(old)
    prov: dict[str, Any] = {"source": "rdagent", "files": [file]}
    for name in ("loop", "step"):
        if summary.get(name) is not None:
            prov[name] = summary[name]
        summary.pop(name, None)
    out["summary"] = summary
    out.setdefault("provenance", prov)
    return out


UPCASTERS: dict[str, dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "ExecutionFinished": {1: _execution_finished_v1_to_v2},
    "ImportedRecord": {1: _imported_record_v1_to_v2},
}


def current_version(type_name: str) -> int:
    try:
        return EVENT_TYPES[type_name].schema_version
    except KeyError:
        raise UnknownEventType(_unknown(type_name)) from None


def _unknown(type_name: str) -> str:
    return (
        f"unknown event type {type_name!r}: this gome ({_version()}) knows "
        f"{', '.join(sorted(EVENT_TYPES))}. The log was probably written by a newer gome; "
        "upgrade gome-es to read it. The row is kept untouched."
    )


def _version() -> str:
    return f"gome-es {__version__}"


def upcast(type_name: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Lift a stored payload to the current schema version of its type."""
    target = current_version(type_name)
    if schema_version > target:
        raise EventError(
            f"{type_name} payload has schema_version {schema_version} but this gome reads up to "
            f"{target}; upgrade gome-es."
        )
    chain = UPCASTERS.get(type_name, {})
    version = schema_version
    while version < target:
        step = chain.get(version)
        if step is None:
            raise EventError(f"no upcaster for {type_name} v{version} -> v{version + 1}")
        payload = step(payload)
        version += 1
    return payload


def parse_event(type_name: str, schema_version: int, payload: dict[str, Any]) -> Event:
    """Upcast and validate one stored payload into today's event class."""
    lifted = upcast(type_name, schema_version, payload)
    try:
        event: Event = _ADAPTER.validate_python({**lifted, "type": type_name})
        return event
    except ValidationError as exc:
        raise EventError(f"{type_name} payload does not validate: {exc}") from None


def validate_payload(type_name: str, payload: dict[str, Any], schema_version: int | None = None) -> None:
    parse_event(type_name, current_version(type_name) if schema_version is None else schema_version, payload)


# Fields that say how and where a step was recorded, not which path the run took:
# excluded by diff and the report's divergence by default (--include-provenance
# shows them).  "*" applies to every type; dotted names are nested fields.
# Events of PROVENANCE_TYPES are provenance as a whole.
PROVENANCE: dict[str, frozenset[str]] = {
    "*": frozenset({"provenance"}),
    # task.logdir: the log folder's name, in runs imported before the provenance field
    "RunStarted": frozenset({"code_version", "gome_version", "forked_from", "task.logdir"}),
    "ExecutionFinished": frozenset({"redone"}),
}
PROVENANCE_TYPES = frozenset({"ImportedRecord"})


def provenance_fields(type_name: str) -> frozenset[str]:
    """The payload fields of ``type_name`` declared provenance (see :data:`PROVENANCE`)."""
    return PROVENANCE["*"] | PROVENANCE.get(type_name, frozenset())


def strip_provenance(type_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without its declared provenance fields."""
    return _drop_fields(payload, provenance_fields(type_name))


def _drop_fields(payload: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    out = dict(payload)
    for name in names:
        head, _, rest = name.partition(".")
        if not rest:
            out.pop(head, None)
        elif isinstance(out.get(head), dict):
            out[head] = _drop_fields(out[head], frozenset({rest}))
    return out


def strip_volatile(type_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the fields its type declares volatile (dotted = nested)."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None or not cls.volatile:
        return payload
    out = dict(payload)
    for name in cls.volatile:
        head, _, rest = name.partition(".")
        if not rest:
            out.pop(head, None)
        elif isinstance(out.get(head), dict):
            inner = dict(out[head])
            inner.pop(rest, None)
            out[head] = inner
    return out
