"""The words the log speaks in, one enum each: failure classes, validation levels, resume causes,
how a trace or a run ends, why an LLM request is made, the scoring dimensions (with their default
weights), the reasoner kinds and the event types.

Every member's value is the string stored in event payloads, so typing an event
field with one of these changes no stored byte; a value outside the enum fails
validation instead of drifting in silently (``"device_lost"`` was checked for
but never produced; ``"invalid_submission"`` was produced but never declared).
Pure module.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class FailureClass(StrEnum):
    """How an execution ended, most specific cause first (see docs/executor.md).

    The executor's classifier assigns all but ``invalid_submission``, which the
    driver assigns when an execution that ended ``ok`` wrote a submission whose
    format does not match the sample submission, and ``driver_killed``, which
    resume records for an execution during whose every attempt the driver died.
    """

    ok = "ok"
    timeout = "timeout"  # wall-clock limit hit; the group got SIGTERM then SIGKILL
    host_oom = "host_oom"  # host memory limit hit (cgroup OOM kill, MemoryError, bad_alloc)
    cuda_oom = "cuda_oom"  # CUDA out of memory
    cuda_fault = "cuda_fault"  # device-side assert, illegal address: the CUDA context is poisoned
    no_gpu = "no_gpu"  # the solution needed CUDA and none was visible
    killed = "killed"  # ended by a signal we did not send (SIGKILL from outside, SIGSEGV...)
    forbidden_access = "forbidden_access"  # tried to read private answers / reach the network
    python_exception = "python_exception"  # uncaught exception, non-zero exit
    nonzero_exit = "nonzero_exit"  # non-zero exit status without a Python traceback
    nan_metric = "nan_metric"  # val_score (or the training loss) is NaN or infinite
    missing_submission = "missing_submission"  # exit 0 but no submission.csv
    missing_metrics = "missing_metrics"  # exit 0, submission written, no metrics.json
    invalid_metrics = "invalid_metrics"  # metrics.json unreadable, or val_score not a number
    disk_limit = "disk_limit"  # the workspace outgrew its size or file-count limit (or one file did)
    sandbox_error = "sandbox_error"  # the executor itself could not start the solution
    driver_killed = "driver_killed"  # (resume) the driver died during every attempt; not tried again
    invalid_submission = "invalid_submission"  # (driver) exit 0, submission.csv does not match the sample
    budget_cut = "budget_cut"  # (driver) the run's budget ran out: stopped at the deadline, or never started


# Failures of the device rather than of the solution's logic: a resume right after one is a "gpu_fault".
# (Sets of the values, so a plain string read from a payload is looked up by value.)
GPU_FAILURES = frozenset(f.value for f in (FailureClass.cuda_fault, FailureClass.cuda_oom, FailureClass.no_gpu))

# Failures after which the solution still counts as having run cleanly: what went wrong is judged by a
# later validation level (the submission exists, its format, the score).
RAN_CLEANLY = frozenset(f.value for f in (FailureClass.ok, FailureClass.missing_submission,
                                          FailureClass.invalid_submission, FailureClass.nan_metric,
                                          FailureClass.missing_metrics, FailureClass.invalid_metrics))


class ValidationLevel(StrEnum):
    """The hierarchical validation's checks, in order: the first failure wins."""

    ran_cleanly = "ran_cleanly"
    submission_exists = "submission_exists"
    format_matches = "format_matches"
    score_valid = "score_valid"
    no_hidden_access = "no_hidden_access"
    beats_sota = "beats_sota"


VALIDATION_LEVELS: tuple[ValidationLevel, ...] = tuple(ValidationLevel)
# A failure at one of these means the code is buggy (worth a debug attempt): all but beats_sota.
BUG_LEVELS: tuple[ValidationLevel, ...] = VALIDATION_LEVELS[:-1]


class ResumeCause(StrEnum):
    """Why a run was resumed (``RunResumed.cause``)."""

    crash = "crash"
    graceful_stop = "graceful_stop"
    gpu_fault = "gpu_fault"
    fork = "fork"
    unknown = "unknown"


class TraceEnd(StrEnum):
    """Why a trace finished (``TraceFinished.reason``)."""

    max_iterations = "max_iterations"
    budget = "budget"
    stopped = "stopped"  # imported traces that stopped on their own
    reasoner_failed = "reasoner_failed"


class RunStatus(StrEnum):
    """How a run finished (``RunFinished.status``)."""

    completed = "completed"
    budget_exhausted = "budget_exhausted"
    failed = "failed"


class Purpose(StrEnum):
    """What an LLM request is for (``LLMRequested.purpose``); each has one answer schema."""

    directions = "directions"
    propose = "propose"
    code = "code"
    debug = "debug"
    select = "select"


class Dimension(StrEnum):
    """What a candidate hypothesis is scored on, 1 to 10 each (``CandidateOut.scores``)."""

    alignment = "alignment"
    impact = "impact"
    novelty = "novelty"
    feasibility = "feasibility"
    risk_reward = "risk_reward"


# The dimensions in their one order: the prompt names them so, the report's columns follow it.
DIMENSIONS: tuple[str, ...] = tuple(d.value for d in Dimension)

# A new run's weights (``RunConfig.weights``), one per dimension, summing to 1.  A recorded run keeps
# the weights it was started with, so changing these changes only runs started afterwards.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({
    Dimension.alignment.value: 0.2,
    Dimension.impact.value: 0.4,
    Dimension.novelty.value: 0.2,
    Dimension.feasibility.value: 0.1,
    Dimension.risk_reward.value: 0.1,
})


def default_weights() -> dict[str, float]:
    """A fresh, mutable copy of :data:`DEFAULT_WEIGHTS`."""
    return dict(DEFAULT_WEIGHTS)


def dimensions_in_words() -> str:
    """The dimensions as a sentence names them: ``"alignment, impact, ... and risk_reward"``."""
    return ", ".join(DIMENSIONS[:-1]) + " and " + DIMENSIONS[-1]


class ReasonerKind(StrEnum):
    """Which reasoner answers a run's LLM requests (``gome run --reasoner``, ``reasoner.kind``)."""

    offline = "offline"
    openai = "openai"
    replay = "replay"


class EventType(StrEnum):
    """The type of every event (``events.type``): one member per model of ``core/events.py``'s union.

    Each member's name is its value, so a plain stored type string finds the member's entry in a
    dict keyed by members (an enum hashes by name) and compares equal to it.  Code that compares or
    dispatches on a type uses these members, never the words (tests/core/test_registries.py).
    """

    RunStarted = "RunStarted"
    TraceStarted = "TraceStarted"
    RunResumed = "RunResumed"
    RunStopped = "RunStopped"
    LeaseTakenOver = "LeaseTakenOver"
    DeviceHealthChanged = "DeviceHealthChanged"
    SubmissionSelected = "SubmissionSelected"
    RunFinished = "RunFinished"
    SubmissionGraded = "SubmissionGraded"
    HypothesisProposed = "HypothesisProposed"
    CodeGenerated = "CodeGenerated"
    ExecutionRequested = "ExecutionRequested"
    ExecutionStarted = "ExecutionStarted"
    ExecutionFinished = "ExecutionFinished"
    ValidationJudged = "ValidationJudged"
    MemoryUpdated = "MemoryUpdated"
    SotaChanged = "SotaChanged"
    TraceFinished = "TraceFinished"
    LLMRequested = "LLMRequested"
    LLMResponded = "LLMResponded"
    ImportedRecord = "ImportedRecord"
