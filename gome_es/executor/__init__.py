"""The sandboxed experiment executor: one fresh process per solution, limits,
a closed world, GPU slots, and failures reported as data (docs/executor.md)."""

from gome_es.executor.classify import (
    Observation,
    Verdict,
    classify,
    parse_exception,
    parse_metrics,
)
from gome_es.executor.gpu import GpuDevice, GpuPool, GpuSlot, parse_nvidia_smi_csv
from gome_es.executor.runner import (
    Executor,
    SandboxRefused,
    kill_orphan,
    process_start_time,
)
from gome_es.executor.spec import (
    Audit,
    ExceptionInfo,
    ExecutionResult,
    ExecutionSpec,
    FailureClass,
    ProcessInfo,
    task_spec,
)

__all__ = [
    "Audit", "ExceptionInfo", "ExecutionResult", "ExecutionSpec", "Executor", "FailureClass", "GpuDevice",
    "GpuPool", "GpuSlot", "Observation", "ProcessInfo", "SandboxRefused", "Verdict", "classify", "kill_orphan",
    "parse_exception", "parse_metrics", "parse_nvidia_smi_csv", "process_start_time",
    "task_spec",
]
