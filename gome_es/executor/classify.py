"""Failure classification: pure functions from what a finished process left
behind (exit status, signal, output text, metrics text, files present) to a
`FailureClass` with a one-line detail.

No I/O, no clock: the fixtures in tests/executor feed it real CUDA output.
Precedence, first match wins: forbidden outputs (links, FIFOs), timeout,
disk limit, host OOM, CUDA OOM, CUDA fault, no GPU, killed by a signal, forbidden access, Python exception, other non-zero
exit, NaN metric, missing submission, missing metrics, invalid metrics, ok.
Process-level causes come first because they explain everything after them
(a CUDA OOM also prints a traceback; a poisoned context also breaks metrics).
"""

from __future__ import annotations

import json
import math
import re
import signal as _signal
from typing import Any

from pydantic import BaseModel, Field

from gome_es.executor.spec import ExceptionInfo, FailureClass

_CUDA_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory|CUBLAS_STATUS_ALLOC_FAILED")
_CUDA_FAULT = re.compile(
    r"device-side assert triggered|cudaErrorAssert|illegal memory access"
    r"|an illegal instruction was encountered|misaligned address|unspecified launch failure"
    r"|Assertion `[^`]*` failed\.|CUDA error: (?!out of memory)[a-z]"
)
_NO_GPU = re.compile(
    r"No CUDA GPUs are available|Found no NVIDIA driver|no CUDA-capable device is detected"
    r"|Torch not compiled with CUDA enabled|CUDA driver initialization failed"
    r"|Attempting to deserialize object on a CUDA device but torch\.cuda\.is_available\(\) is False"
)
_HOST_OOM = re.compile(
    r"^MemoryError\b|std::bad_alloc|DefaultCPUAllocator: can't allocate memory"
    r"|Unable to allocate [\d.]+ \w?i?B for an array",
    re.MULTILINE,
)
_DISK_FULL = re.compile(r"\[Errno 27\] File too large|\[Errno 28\] No space left on device|\[Errno 122\] Disk quota")
_NAN_LOSS = re.compile(r"\bloss\b[^\n]{0,20}?\b(nan|inf)\b", re.IGNORECASE)
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (.+)$')
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault)\w*|[A-Za-z_][\w.]*)(?::\s?(.*))?$")

FRAMES_KEPT = 5


class Observation(BaseModel):
    """What the executor saw; the classifier's whole input."""

    exit_code: int | None  # negative: killed by signal -exit_code
    signal: int | None = None
    timed_out: bool = False
    oom_killed: bool = False  # the kernel's memory cgroup killed something in the tree
    stdout: str = ""
    stderr: str = ""
    metrics_text: str | None = None  # metrics.json as read, None when absent
    submission_present: bool = False
    private_access: list[str] = Field(default_factory=list)
    network: list[str] = Field(default_factory=list)
    timeout_s: float | None = None
    outputs: list[str] = Field(default_factory=list)  # outputs handed over as links, FIFOs, devices
    disk_exceeded: str | None = None  # the executor stopped it for outgrowing its workspace limits


class Metrics(BaseModel):
    val_score: float | None = None
    values: dict[str, Any] = Field(default_factory=dict)  # JSON-safe: non-finite floats as strings
    problem: FailureClass | None = None  # nan_metric / invalid_metrics
    detail: str = ""


class Verdict(BaseModel):
    failure: FailureClass
    detail: str
    val_score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    exception: ExceptionInfo | None = None


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def load_untrusted_json(text: str) -> object:
    """``json.loads`` for what a solution wrote: nesting too deep to parse is a ValueError like
    any other malformed text, never a RecursionError that would unwind the driver."""
    try:
        return json.loads(text)  # accepts NaN/Infinity tokens, which json.dump writes
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None


def parse_metrics(text: str | None) -> Metrics:
    """Read the metrics.json contract: a JSON object with a finite numeric val_score."""
    if text is None:
        return Metrics(problem=None, detail="no metrics.json")
    try:
        data = load_untrusted_json(text)
    except ValueError as exc:
        return Metrics(problem=FailureClass.invalid_metrics, detail=f"metrics.json is not JSON: {exc}")
    if not isinstance(data, dict):
        return Metrics(problem=FailureClass.invalid_metrics, detail="metrics.json is not a JSON object")
    values = _json_safe(data)
    raw = data.get("val_score")
    if raw is None:
        return Metrics(values=values, problem=FailureClass.invalid_metrics, detail="metrics.json has no val_score")
    if isinstance(raw, str):
        try:
            raw = float(raw)  # "nan" / "0.93" written as a string
        except ValueError:
            return Metrics(values=values, problem=FailureClass.invalid_metrics, detail=f"val_score {raw!r} is not a number")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return Metrics(values=values, problem=FailureClass.invalid_metrics, detail=f"val_score {raw!r} is not a number")
    score = float(raw)
    if not math.isfinite(score):
        return Metrics(values=values, problem=FailureClass.nan_metric, detail=f"val_score is {score!r}")
    return Metrics(val_score=score, values=values)


def parse_exception(stderr: str) -> ExceptionInfo | None:
    """The last Python traceback in stderr: exception type, message, last frames."""
    start = stderr.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    lines = stderr[start:].splitlines()[1:]
    frames: list[str] = []
    exc_type, message = "", ""
    for i, line in enumerate(lines):
        m = _FRAME.match(line)
        if m:
            frames.append(f"{m.group(1)}:{m.group(2)} in {m.group(3)}")
            continue
        if line.startswith(" ") or not line.strip():
            continue
        em = _EXC_LINE.match(line)
        if em:
            exc_type = em.group(1)
            rest = [em.group(2) or ""] + [ln for ln in lines[i + 1 :] if ln.strip()]
            message = "\n".join(rest).strip()
            break
    if not exc_type:
        return None
    return ExceptionInfo(type=exc_type, message=message[:2000], frames=frames[-FRAMES_KEPT:])


def _signal_name(sig: int) -> str:
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _first_line(pattern: re.Pattern[str], text: str) -> str:
    m = pattern.search(text)
    if not m:
        return ""
    line_start = text.rfind("\n", 0, m.start()) + 1
    line_end = text.find("\n", m.end())
    return text[line_start : line_end if line_end >= 0 else len(text)].strip()[:300]


def classify(obs: Observation) -> Verdict:
    """Decide how the execution ended; see the module docstring for precedence."""
    text = obs.stderr + "\n" + obs.stdout
    metrics = parse_metrics(obs.metrics_text)
    exception = parse_exception(obs.stderr)
    sig = obs.signal if obs.signal is not None else (-obs.exit_code if obs.exit_code is not None and obs.exit_code < 0 else None)

    def verdict(failure: FailureClass, detail: str) -> Verdict:
        return Verdict(
            failure=failure,
            detail=detail,
            val_score=metrics.val_score if failure is FailureClass.ok else None,
            metrics=metrics.values,
            exception=exception,
        )

    if obs.outputs:
        # Before anything else: a submission linked to the answers is the attack that matters most.
        return verdict(FailureClass.forbidden_access, f"forbidden output: {obs.outputs[0]}")
    if obs.timed_out:
        limit = f" of {obs.timeout_s:g} s" if obs.timeout_s else ""
        return verdict(FailureClass.timeout, f"wall-clock limit{limit} reached; process group terminated")
    if obs.disk_exceeded:
        return verdict(FailureClass.disk_limit, obs.disk_exceeded)
    if sig == _signal.SIGXFSZ:
        return verdict(FailureClass.disk_limit, "a file outgrew the workspace limit (SIGXFSZ)")
    if obs.oom_killed:
        return verdict(FailureClass.host_oom, "memory limit reached: the kernel OOM-killed a process in the tree")
    if _CUDA_OOM.search(text):
        return verdict(FailureClass.cuda_oom, _first_line(_CUDA_OOM, text))
    if _CUDA_FAULT.search(text):
        # Even when the solution caught the error and exited 0, its CUDA context was
        # poisoned: every later GPU result in that process is meaningless.
        return verdict(FailureClass.cuda_fault, _first_line(_CUDA_FAULT, text))
    if _DISK_FULL.search(obs.stderr):
        return verdict(FailureClass.disk_limit, _first_line(_DISK_FULL, obs.stderr))
    if _HOST_OOM.search(obs.stderr):
        return verdict(FailureClass.host_oom, _first_line(_HOST_OOM, obs.stderr))
    if _NO_GPU.search(text):
        return verdict(FailureClass.no_gpu, _first_line(_NO_GPU, text))
    if sig is not None:
        return verdict(FailureClass.killed, f"killed by {_signal_name(sig)}")
    if obs.private_access:
        return verdict(FailureClass.forbidden_access, f"tried to read {obs.private_access[0]}")
    if obs.network:
        return verdict(FailureClass.forbidden_access, f"tried to reach the network: {obs.network[0]}")
    if obs.exit_code not in (0, None):
        if exception is not None:
            return verdict(FailureClass.python_exception, f"{exception.type}: {exception.message.splitlines()[0] if exception.message else ''}".strip())
        return verdict(FailureClass.nonzero_exit, f"exit status {obs.exit_code}")
    if metrics.problem is FailureClass.nan_metric:
        return verdict(FailureClass.nan_metric, metrics.detail)
    if obs.metrics_text is None and _NAN_LOSS.search(text):
        return verdict(FailureClass.nan_metric, f"training diverged: {_first_line(_NAN_LOSS, text)}")
    if not obs.submission_present:
        return verdict(FailureClass.missing_submission, "no submission.csv in the workspace")
    if obs.metrics_text is None:
        return verdict(FailureClass.missing_metrics, "no metrics.json in the workspace")
    if metrics.problem is not None:
        return verdict(metrics.problem, metrics.detail)
    return verdict(FailureClass.ok, f"val_score {metrics.val_score!r}")
