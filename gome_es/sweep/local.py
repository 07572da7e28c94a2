"""Runs a sweep's cells on this machine: each one `python -m gome_es run|resume` in a subprocess.

Every run writes into the sweep's own database (one writing connection per
process, ``BEGIN IMMEDIATE`` with a busy timeout: concurrent runs and the sweep
driver take turns for the write lock, and each run's lease keeps a second
process off it).  A child dies with the driver: it gets SIGTERM the moment the
driver's process is gone (``PR_SET_PDEATHSIG``), stops gracefully (``RunStopped``)
and the next ``gome sweep resume`` continues it through ``gome resume``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gome_es

from ..trust.folders import ensure_folder
from .plan import Cell

PR_SET_PDEATHSIG = 1
TAIL_BYTES = 4000
FAULT_VARIABLES = ("GOME_CRASH_AFTER_SEQ", "GOME_CRASH_DURING_EFFECT", "GOME_FAULT_DISK")


@dataclass
class Started:
    run_id: str
    pid: int
    node: str


@dataclass
class Shipped:
    run_id: str
    delta: dict[str, Any]


@dataclass
class Exited:
    run_id: str
    returncode: int | None
    tail: str
    lost: bool = False  # the worker itself was lost (Ray), not the run failing


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> None:
    """preexec_fn: the child gets ``sig`` when the process that started it is gone.

    ``parent``: the starter's pid, read before the fork; if it died before the
    prctl took effect, the child is already orphaned and exits at once.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: the child outlives a killed driver; resume waits for its lease
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def dies_with_me(sig: int = signal.SIGTERM) -> Any:
    """A preexec_fn for a child of this process (see :func:`die_with_parent`)."""
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, with the gome_es being run importable by the child."""
    env = dict(os.environ)
    root = str(Path(gome_es.__file__).resolve().parents[1])
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    for name in FAULT_VARIABLES:  # fault injection aimed at the sweep driver, not at its runs
        env.pop(name, None)
    env.update(extra or {})
    return env


def gome_command(mode: str, cell: Cell, run_args: list[str], db: str, workspace: str | None,
                 spec: dict[str, Any]) -> list[str]:
    """The argv of one cell's run (``mode`` run) or of continuing it (``mode`` resume)."""
    cmd = [sys.executable, "-m", "gome_es", mode]
    if mode == "run":
        cmd += [*run_args, "--run-id", cell.run_id]
    else:
        cmd += [cell.run_id, "--slots", str(spec["slots"])]
        if spec.get("mlebench_data"):
            cmd += ["--mlebench-data", str(spec["mlebench_data"])]
    cmd += ["--db", db, "--quiet"]
    if workspace:
        cmd += ["--workspace", workspace]
    return cmd


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


class LocalBackend:
    """At most ``concurrency`` gome processes at a time on this machine (the driver enforces it).

    GPUs are not pinned per run here: each run's executor shares the machine's GPU
    slots as it does for one run (small trainings share a GPU well, see DESIGN.md).
    """

    name = "local"

    def __init__(self, db: str, log_dir: Path, workspace: str | None) -> None:
        self.db, self.log_dir, self.workspace = db, log_dir, workspace
        self.procs: dict[str, tuple[subprocess.Popen[Any], Path]] = {}

        ensure_folder(self.log_dir)  # made 0700, ours, closed to others' writes (issue 24)

    def launch(self, cell: Cell, mode: str, run_args: list[str], spec: dict[str, Any], attempt: int) -> list[Any]:
        log = self.log_dir / f"{cell.run_id}.{attempt}.log"
        cmd = gome_command(mode, cell, run_args, self.db, self.workspace, spec)
        with open(log, "ab") as out:
            out.write(f"$ {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=child_env(), start_new_session=True,
                                    preexec_fn=dies_with_me())
        self.procs[cell.run_id] = (proc, log)
        return [Started(cell.run_id, proc.pid, socket.gethostname())]

    def poll(self, timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            out: list[Any] = []
            for rid, (proc, log) in list(self.procs.items()):
                rc = proc.poll()
                if rc is not None:
                    del self.procs[rid]
                    out.append(Exited(rid, rc, read_tail(log)))
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(0.2)

    @property
    def running(self) -> set[str]:
        return set(self.procs)

    def stop(self, grace_s: float = 60.0) -> list[Any]:
        """SIGTERM every run (each records RunStopped), wait for them; SIGKILL the stragglers."""
        for proc, _ in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace_s
        for proc, _ in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait()
        out = [Exited(rid, proc.returncode, read_tail(log)) for rid, (proc, log) in self.procs.items()]
        self.procs.clear()
        return out

    def cancel(self, run_id: str) -> None:
        entry = self.procs.pop(run_id, None)
        if entry is not None:
            try:
                os.killpg(entry[0].pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            entry[0].wait()

    def close(self) -> None:
        pass
