"""Runs a sweep's cells on a Ray cluster (``--ray ADDRESS`` or ``--ray local``); needs ``gome-es[ray]``.

Each cell is one Ray task asking for ``cpus_per_run`` CPUs and ``gpus_per_run``
GPUs.  On its worker the task drives the run with ``python -m gome_es run`` (or
``resume``) in a temporary database of its own, and streams back what the
driver needs as the task's yields: who it is (pid, node), then deltas of the
run's events at checkpoints and at the end (see :mod:`.ship`), then the exit
code.  The driver stores each delta in the sweep's database after checking its
chain, so the sweep always holds every event that reached it.  A worker lost
mid-run ends its task with an error; the cell is launched again (Ray never
retries it by itself: ``max_retries=0``), as ``gome resume`` on an ordinary
export of the events that reached the driver.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.events import validate_payload
from ..errors import GomeError
from ..store import EventStore
from .local import Exited, Shipped, Started, child_env, dies_with_me, gome_command, read_tail
from .plan import Cell, SweepError
from .ship import make_delta, seed_export


def require_ray() -> object:
    """The ray module, or a SweepError saying how to install it."""
    try:
        # lazy: ray is an optional extra (gome-es[ray])
        import ray
    except ImportError:
        raise SweepError("--ray needs Ray 2.x: install the extra with `pip install 'gome-es[ray]'` "
                         "(or run the sweep without --ray, on this machine)") from None
    return ray


def cell_on_worker(cell_json: dict[str, Any], mode: str, run_args: list[str], spec: dict[str, Any],
                   seed: bytes | None, checkpoint_s: float) -> Iterator[dict[str, Any]]:
    """The Ray task's body: drive one cell's run locally and yield what the driver must store."""
    cell = Cell.from_json(cell_json)
    tmp = Path(tempfile.mkdtemp(prefix="gome-ray-cell-"))
    try:
        db = tmp / "gome.db"
        shipped = 0
        if seed is not None:
            seed_path = tmp / "seed.jsonl.gz"
            seed_path.write_bytes(seed)

            with EventStore.open(db, validator=validate_payload) as store:
                store.import_run(seed_path)
                shipped = store.last_seq(cell.run_id)
            mode = "resume"
        log = tmp / "run.log"
        cmd = gome_command(mode, cell, run_args, str(db), str(tmp / "work"), spec)
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=child_env(), preexec_fn=dies_with_me(signal.SIGKILL))
        yield {"kind": "started", "pid": os.getpid(), "node": socket.gethostname(), "child_pid": proc.pid}
        reader = None
        last = 0.0
        while True:
            rc = proc.poll()
            if rc is not None or time.monotonic() - last >= checkpoint_s:
                last = time.monotonic()
                try:
                    reader = reader or EventStore.open(db, readonly=True)
                    delta = make_delta(reader, cell.run_id, shipped)
                except GomeError:
                    delta = None  # the database is not there yet: next checkpoint
                if delta is not None:
                    shipped = delta["rows"][-1][0]
                    yield {"kind": "delta", "delta": delta}
                    continue  # more rows may be waiting (a delta is capped): look again at once
            if rc is not None:
                break
            time.sleep(0.2)
        if reader is not None:
            reader.close()
        yield {"kind": "exit", "rc": rc, "tail": read_tail(log)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cluster_address(ray: Any) -> str:
    """The GCS address of the Ray cluster this process is connected to ('?' when Ray does not say)."""
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # an old Ray without it: the address given is all there is
        return "?"


class RayBackend:
    """Cells as Ray tasks; their yields are read by one thread per task into a queue the driver polls."""

    name = "ray"

    def __init__(self, address: str, log_dir: Path, *, cpus_per_run: float, gpus_per_run: float,
                 checkpoint_s: float, store: Any) -> None:
        ray: Any = require_ray()
        self.ray = ray
        self.store, self.log_dir = store, log_dir
        self.cpus, self.gpus, self.checkpoint_s = cpus_per_run, gpus_per_run, checkpoint_s
        self.started_ray = False
        if not ray.is_initialized():
            try:
                # "local" starts an instance of this sweep's own, even where `ray start` left a cluster
                # behind (a bare ray.init() would attach to the machine's current cluster, or to
                # $RAY_ADDRESS, and hand it every cell and its environment)
                ray.init(address="local" if address == "local" else address, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except Exception as exc:  # ConnectionError, RuntimeError: Ray's own messages say why
                raise SweepError(f"cannot reach the Ray cluster at {address!r}: {exc}. Start one "
                                 "(`ray start --head`) or pass --ray local") from None
            self.started_ray = True
        self.cluster = cluster_address(ray)
        self.remote = ray.remote(max_retries=0)(cell_on_worker)
        self.q: queue.Queue[Any] = queue.Queue()
        self.tasks: dict[str, Any] = {}

    def launch(self, cell: Cell, mode: str, run_args: list[str], spec: dict[str, Any], attempt: int) -> list[Any]:
        seed = seed_export(self.store, cell.run_id) if mode == "resume" else None
        gen = self.remote.options(num_cpus=self.cpus, num_gpus=self.gpus,
                                  name=f"gome-{cell.run_id}").remote(
            cell.to_json(), mode, run_args, spec, seed, self.checkpoint_s)
        self.tasks[cell.run_id] = gen
        threading.Thread(target=self._consume, args=(cell.run_id, gen), daemon=True,
                         name=f"ray-{cell.run_id}").start()
        return []

    def _consume(self, run_id: str, gen: Any) -> None:
        try:
            for ref in gen:
                self.q.put((run_id, gen, self.ray.get(ref)))
        except Exception as exc:  # worker died, node lost, task cancelled
            self.q.put((run_id, gen, {"kind": "lost", "error": f"{type(exc).__name__}: {exc}"[:2000]}))
            return
        self.q.put((run_id, gen, {"kind": "end"}))

    def poll(self, timeout: float) -> list[Any]:
        out: list[Any] = []
        try:
            item = self.q.get(timeout=timeout)
        except queue.Empty:
            return out
        items = [item]
        while True:
            try:
                items.append(self.q.get_nowait())
            except queue.Empty:
                break
        for run_id, gen, msg in items:
            if self.tasks.get(run_id) is not gen:
                continue  # from a task that was cancelled or replaced
            kind = msg["kind"]
            if kind == "started":
                out.append(Started(run_id, msg["pid"], msg["node"]))
            elif kind == "delta":
                out.append(Shipped(run_id, msg["delta"]))
            elif kind == "exit":
                self.tasks.pop(run_id, None)
                out.append(Exited(run_id, msg["rc"], msg["tail"]))
            elif kind == "lost":
                self.tasks.pop(run_id, None)
                out.append(Exited(run_id, None, msg["error"], lost=True))
            elif kind == "end":  # a generator that ended without its exit line
                self.tasks.pop(run_id, None)
                out.append(Exited(run_id, None, "the task ended without reporting an exit", lost=True))
        return out

    @property
    def running(self) -> set[str]:
        return set(self.tasks)

    def cancel(self, run_id: str) -> None:
        gen = self.tasks.pop(run_id, None)
        if gen is not None:
            try:
                self.ray.cancel(gen, force=True)
            except Exception:
                pass

    def stop(self, grace_s: float = 60.0) -> list[Any]:
        """Cancel every task (its worker dies, and its run with it); resume goes on from the driver's events."""
        for run_id in list(self.tasks):
            self.cancel(run_id)
        return []

    def close(self) -> None:
        if self.started_ray:
            try:
                self.ray.shutdown()
            except Exception:
                pass
