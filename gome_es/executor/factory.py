"""The executor a run uses by default: the sandbox, with the GPUs it finds (none is fine)."""

from __future__ import annotations

import structlog

from ..errors import GomeError
from .gpu import GpuPool
from .runner import Executor

log = structlog.get_logger("gome.executor")


def make_executor(slots: int = 1) -> Executor:
    """A sandbox executor sharing its default memory limit among ``slots`` concurrent executions.

    GPU discovery that fails (a broken ``nvidia-smi``) is logged and the run goes on on the CPU.
    """
    try:
        pool: GpuPool | None = GpuPool()
    except GomeError as exc:  # discovery must never stop a CPU run
        log.warning("gpu discovery failed; running on the CPU", error=str(exc))
        pool = None
    return Executor(gpu_pool=pool, slots=slots)  # slots: the default memory limit is shared among them
