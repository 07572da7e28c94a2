"""The executor's data: what to run (`ExecutionSpec`), what happened
(`ExecutionResult`), how a run failed (`FailureClass`), and what a resumed run
needs to find an orphaned process (`ProcessInfo`).

Everything here is plain pydantic and JSON-safe, so the agent loop can put a
spec into `ExecutionRequested` and a result into `ExecutionFinished` as is.
No I/O beyond reading a finished run's captured log files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gome_es.errors import ExecutorError

from ..core.vocabulary import FailureClass as FailureClass  # the log's vocabulary; re-exported here

# Variables a solution may inherit from the driver's environment.  Anything
# else (API keys, tokens, proxies, cloud credentials) never reaches it.
DEFAULT_ENV_ALLOW = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM"]


class ExceptionInfo(BaseModel):
    type: str
    message: str
    frames: list[str] = Field(default_factory=list)  # last frames, "file:line in func"


class Audit(BaseModel):
    """Attempts the solution made to leave its closed world (recorded, then refused)."""

    private_access: list[str] = Field(default_factory=list)  # reported by the in-process hook
    network: list[str] = Field(default_factory=list)  # reported by the in-process hook
    outputs: list[str] = Field(default_factory=list)  # found by the driver: outputs that were links, FIFOs...


class ProcessInfo(BaseModel):
    """Enough to find and safely kill an execution after the driver crashed.

    ``start_time`` is the process start time in clock ticks since boot
    (/proc/PID/stat field 22) and ``boot_id`` the kernel's boot id: together
    with ``pid`` they name one process even after its pid number is reused.
    """

    key: str
    pid: int
    pgid: int
    start_time: int
    boot_id: str
    host: str
    workspace: Path
    cgroup_dirs: list[Path] = Field(default_factory=list)


class ExecutionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str  # idempotency key; names the workspace
    code: str  # the solution source, written to solution.py
    data_dir: Path  # task public data, exposed read-only
    forbidden_paths: list[Path] = Field(default_factory=list)  # private answers, the gome db
    workspace_root: Path
    timeout_s: float = 3600.0
    grace_s: float = 5.0
    memory_limit_mb: int | None = None  # whole process tree; None: the executor's host-derived default
    threads: int = 1
    max_output_bytes: int = 4 * 1024 * 1024  # per stream, head + tail kept
    max_processes: int = 256  # processes + threads in the tree (fork bombs stay bounded)
    max_workspace_mb: int = 20480  # disk used by the workspace (and the largest single file)
    max_workspace_files: int = 100_000  # files and folders in the workspace
    max_submission_mb: int = 1024  # a larger submission.csv is not read
    interpreter: str | None = None  # default: the driver's sys.executable
    env_allow: list[str] = Field(default_factory=lambda: list(DEFAULT_ENV_ALLOW))
    use_gpu: bool = False
    # a folder of pretrained weights (gome run --weights-dir), mounted read-only, named by $GOME_WEIGHTS_DIR
    weights_dir: Path | None = None

    @field_validator("timeout_s", "grace_s")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("must be > 0")
        return v

    @field_validator("memory_limit_mb")
    @classmethod
    def _memory_positive(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be >= 1 (MB)")
        return v

    @field_validator("threads", "max_output_bytes", "max_processes", "max_workspace_mb", "max_workspace_files",
                     "max_submission_mb")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v

    def resolved_interpreter(self) -> str:
        return self.interpreter or sys.executable


def task_spec(task: Any, *, key: str, code: str, workspace_root: Path, timeout_s: float,
              db: str | Path | None = None, threads: int = 1, memory_limit_mb: int | None = None,
              use_gpu: bool = False, weights_dir: str | Path | None = None) -> ExecutionSpec:
    """The spec that runs ``code`` on ``task``'s public data.

    The one place that says what a solution may not read: the task's private
    answers and the gome event database ``db`` with its -wal/-shm/-journal
    files (it holds earlier runs' graded submissions); without ``db``, the
    database a gome command run here would use (``$GOME_DB``, else
    ./gome.db).  The executor adds gome's own package and cache.  The agent,
    `gome exec` and `gome replay --reexecute` all build their specs here.
    """
    forbidden = [Path(task.private_dir)]
    for extra in ("private_files",):  # answers shipped apart from the task directory (bundled tasks)
        forbidden.extend(Path(p) for p in getattr(task, extra, None) or [])
    forbidden.extend(db_files(db or os.environ.get("GOME_DB") or "gome.db"))
    try:
        return ExecutionSpec(
            key=key, code=code, data_dir=Path(task.public_dir), forbidden_paths=forbidden,
            workspace_root=workspace_root, timeout_s=timeout_s, threads=threads, memory_limit_mb=memory_limit_mb,
            use_gpu=use_gpu, weights_dir=Path(weights_dir) if weights_dir else None,
        )
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(str(x) for x in e['loc'])} {e['msg']} (got {e.get('input')!r})"
                        for e in exc.errors())
        raise ExecutorError(f"execution {key}: {bad}; pass a positive timeout, memory and thread count") from None


class ExecutionResult(BaseModel):
    """What one execution did; JSON-safe (non-finite floats never appear)."""

    key: str
    failure: FailureClass
    detail: str = ""
    exit_code: int | None = None  # negative: killed by that signal (subprocess convention)
    signal: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    stdout_bytes_total: int = 0
    stderr_bytes_total: int = 0
    stdout_path: Path | None = None  # head + tail of the stream, capped at max_output_bytes
    stderr_path: Path | None = None
    val_score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    submission_path: Path | None = None
    exception: ExceptionInfo | None = None
    audit: Audit = Field(default_factory=Audit)
    warnings: list[str] = Field(default_factory=list)
    pid: int | None = None
    pgid: int | None = None
    start_time: int | None = None
    workspace: Path
    device: str | None = None  # "cuda:0" or "cpu"
    isolation: list[str] = Field(default_factory=list)  # e.g. ["mountns", "netns", "pidns", "uid:65534", "cgroup-v1"]
    memory_limit_mb: int | None = None  # the limit the execution ran under
    memory_limit_source: str = ""  # "spec" or how the default was derived
    uid: int | None = None  # the unprivileged uid it ran as; None: the driver's own

    def read_stdout(self) -> str:
        return _read(self.stdout_path)

    def read_stderr(self) -> str:
        return _read(self.stderr_path)


def _read(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_bytes().decode("utf-8", errors="replace")


def db_files(db: Path | str) -> list[Path]:
    """A SQLite database and the files that hold its recent writes."""
    db = Path(db).absolute()
    return [db] + [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
