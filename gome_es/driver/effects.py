"""The driver's effect adapters: from a recorded request to the side effect, and from its result
to the outcome event.

An LLM call: the request's recorded prompt and context become an :class:`LlmRequest`, the
reasoner answers (an ordinary failure comes back as an ``error``, not an exception), and the
answer becomes ``LLMResponded`` with its content as a blob.  An execution: the recorded code
becomes an :class:`~gome_es.executor.ExecutionSpec`, the executor runs it, and the result
becomes ``ExecutionFinished``, after the submission is checked against the task's sample
(an ``ok`` run whose submission does not match becomes ``invalid_submission``).  GPU health
changes become ``DeviceHealthChanged``.  The loop that decides when to do these, and appends
what they return, is :class:`gome_es.driver.driver.Driver`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ..core.canonical import sha256_hex
from ..core.events import DeviceHealthChanged, Event, ExecutionFinished, ExecutionStarted, LLMResponded, LlmUsage
from ..core.reasoner import LlmRequest, LlmResponse, Reasoner
from ..core.state import ExecCall, LlmCall
from ..core.vocabulary import FailureClass
from ..errors import GomeError, ReasonerError, ReplayMissing
from ..tasks.submission import check_submission
from ..trust.limits import Deadline, LimitExceeded, call_bounded

if TYPE_CHECKING:
    from ..executor import ExecutionResult, ProcessInfo
    from ..tasks.model import Task

Outcome = tuple[Event, str | None, dict[str, bytes]]  # event, trace id, new blobs

# The check of a solution's submission.csv is part of its experiment: it gets what is left of the
# execution's own timeout, at least CHECK_MIN_S and at most CHECK_MAX_S (and never past the run's
# budget), and a check past that is an ``invalid_submission`` with the reason.  Files up to
# CHECK_IN_PROCESS_BYTES are checked in the driver's process (about 0.4 s for the slowest 1 MB shape
# measured), larger ones in a worker process that is killed at the deadline.
CHECK_MIN_S = 10.0
CHECK_MAX_S = 120.0
CHECK_IN_PROCESS_BYTES = 1 << 20
_WORKER_START_S = 5.0  # a worker's interpreter and imports, on top of its check's deadline


class ExecutionPort(Protocol):
    """What the driver needs of an executor: run one execution spec in the sandbox.

    :class:`gome_es.executor.Executor` is the one implementation (tests bring their own).
    """

    def run(self, spec: Any, on_start: Callable[[Any], None] | None = None) -> Any: ...


def llm_request(call: LlmCall, read_blob: Callable[[str], bytes]) -> LlmRequest:
    """The request a recorded ``LLMRequested`` stands for (its prompt and context are blobs)."""
    req = call.request
    return LlmRequest(key=call.key, purpose=call.purpose, schema_name=req["schema_name"],
                      messages=json.loads(read_blob(req["messages_sha"])),
                      context=json.loads(read_blob(req["context_sha"])), model=req.get("model", ""))


def ask(reasoner: Reasoner, request: LlmRequest) -> LlmResponse:
    """The reasoner's answer; a :class:`ReasonerError` becomes an answer with ``error`` set.

    :class:`ReplayMissing` (a replay reasoner without the recorded answer) is raised: that is
    not feedback for the policy but a run that cannot continue.
    """
    try:
        return reasoner.complete(request)
    except ReplayMissing:
        raise
    except ReasonerError as exc:
        return LlmResponse(content=None, error=str(exc), model=request.model)


def llm_outcome(call: LlmCall, resp: LlmResponse, elapsed_s: float) -> Outcome:
    """``LLMResponded`` for an answer (kept even when a stop came meanwhile: it was paid for)."""
    blobs: dict[str, bytes] = {}
    content_sha = None
    if resp.content is not None:
        raw = resp.content.encode("utf-8")
        content_sha = sha256_hex(raw)
        blobs[content_sha] = raw
    usage = resp.model_dump(include=set(LlmUsage.model_fields))
    usage.update(model=resp.model or call.request.get("model", ""), latency_s=resp.latency_s or elapsed_s)
    return LLMResponded(key=call.key, content_sha=content_sha, **usage), call.trace_id, blobs


def started_event(call: ExecCall, info: ProcessInfo) -> ExecutionStarted:
    """``ExecutionStarted`` from the executor's process info (what resume needs to find an orphan)."""
    return ExecutionStarted(
        key=call.key, pid=info.pid, pgid=info.pgid, start_time=info.start_time,
        boot_id=getattr(info, "boot_id", None), host=info.host, workspace=str(info.workspace),
        cgroup_dirs=[str(p) for p in getattr(info, "cgroup_dirs", [])],
    )


def check_seconds(timeout_s: float, duration_s: float | None, budget_left_s: float | None = None) -> float:
    """How long the submission check of an execution may take (see ``CHECK_MIN_S``)."""
    left = float(timeout_s) - float(duration_s or 0.0)
    seconds = min(CHECK_MAX_S, max(CHECK_MIN_S, left))
    if budget_left_s is not None:
        seconds = min(seconds, max(1.0, budget_left_s))
    return seconds


def check_submission_bounded(task: Task, path: Path, seconds: float) -> dict[str, Any]:
    """``{"valid", "reasons"}`` for a solution's submission, decided within ``seconds``.

    A check that runs past its limit, or whose worker fails, is invalid with the reason (the limit and
    what was being done): the experiment pays for its file, the run goes on.
    """
    try:
        size = path.stat().st_size
        if size <= CHECK_IN_PROCESS_BYTES or not hasattr(task, "model_dump"):
            verdict = check_submission(task, path, Deadline(seconds, "the submission check"))
            return {"valid": bool(verdict.valid), "reasons": list(verdict.reasons)}
        answer = call_bounded(
            "gome_es.tasks.submission:check_submission_json",
            {"task": task.model_dump(mode="json"), "path": str(path), "seconds": seconds},
            seconds=seconds + _WORKER_START_S, what=f"the submission check of {path} ({size} bytes)")
        return {"valid": bool(answer["valid"]), "reasons": [str(r) for r in answer["reasons"]]}
    except LimitExceeded as exc:
        return {"valid": False, "reasons": [f"{exc}; write one row per test id with the sample "
                                            "submission's columns only"]}
    except GomeError as exc:
        return {"valid": False, "reasons": [str(exc)]}


def finished_outcome(task: Task, call: ExecCall, result: ExecutionResult, redo: bool,
                     budget_left_s: float | None = None) -> Outcome:
    """``ExecutionFinished`` for an executor result: logs and submission as blobs, the submission checked.

    The check is bounded (:func:`check_seconds`, :func:`check_submission_bounded`); ``budget_left_s``
    is what the run's budget still allows, when it has one.
    """
    blobs: dict[str, bytes] = {}

    def keep(text: str | bytes | None) -> str | None:
        if text is None:
            return None
        raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
        sha = sha256_hex(raw)
        blobs[sha] = raw
        return sha

    sub_sha, check = None, {"valid": False, "reasons": ["no submission.csv"]}
    sub = result.submission_path
    if sub is not None and Path(sub).exists():
        sub_sha = keep(Path(sub).read_bytes())
        seconds = check_seconds(float(call.request.get("timeout_s", CHECK_MIN_S)), result.duration_s, budget_left_s)
        check = check_submission_bounded(task, Path(sub), seconds)
    failure = FailureClass(result.failure)
    if failure is FailureClass.ok and sub_sha is not None and not check["valid"]:
        failure = FailureClass.invalid_submission
    ev = ExecutionFinished(
        key=call.key, solution_id=call.solution_id, failure=failure.value, failure_detail=result.detail,
        exit_code=result.exit_code, signal=result.signal, duration_s=result.duration_s,
        peak_rss_mb=result.peak_rss_mb, peak_gpu_mb=result.peak_gpu_mb, val_score=result.val_score,
        metrics=result.metrics, submission_sha=sub_sha, submission_check=check,
        exception=result.exception.model_dump() if result.exception else None,
        audit=result.audit.model_dump(), stdout_tail=result.stdout_tail[-4000:],
        stderr_tail=result.stderr_tail[-4000:], stdout_sha=keep(result.read_stdout()),
        stderr_sha=keep(result.read_stderr()), warnings=list(result.warnings),
        workspace=str(result.workspace), device=result.device, redone=redo,
        sandbox={"memory_limit_mb": getattr(result, "memory_limit_mb", None),
                 "memory_limit_source": getattr(result, "memory_limit_source", ""),
                 "uid": getattr(result, "uid", None), "isolation": list(getattr(result, "isolation", []))},
    )
    return ev, call.trace_id, blobs


def gpu_pool_of(executor: Any) -> Any:
    """The executor's GPU pool when it has devices, else None (a CPU run)."""
    pool = getattr(executor, "gpu_pool", None)
    return pool if pool is not None and getattr(pool, "has_devices", False) else None


def device_changes(pool: Any, known: dict[str, dict[str, Any]]) -> list[tuple[Event, str | None]]:
    """``DeviceHealthChanged`` for every GPU whose health differs from what the log says (``known``)."""
    if pool is None:
        return []
    out: list[tuple[Event, str | None]] = []
    for dev in pool.devices:
        name = f"cuda:{dev.index}"
        reason = pool.unhealthy.get(dev.index)
        healthy = reason is None
        if known.get(name, {"healthy": True})["healthy"] != healthy:
            out.append((DeviceHealthChanged(device=name, healthy=healthy, reason=reason or "probe passed"), None))
    return out
