"""GPU discovery and slots: which devices exist (nvidia-smi CSV, else torch),
how many executions may share each one, which are healthy.

A slot is handed to one execution through CUDA_VISIBLE_DEVICES.  After a CUDA
fault (device-side assert, illegal address) the device is marked unhealthy and
a tiny probe subprocess must succeed on it before it gets another slot.  On a
machine without GPUs the pool is empty and `acquire` returns None at once:
executions then run on the CPU.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

NVIDIA_SMI_QUERY = "index,name,memory.used,memory.total,utilization.gpu,temperature.gpu"
DEFAULT_SLOTS_PER_GPU = 4
# Fixture gpu_share.json: small trainings use ~0.4 GB each and eight share an H100
# without slowing down; reserve a generous per-slot budget so memory bounds the count.
DEFAULT_MIN_SLOT_MB = 8192
_PROBE_CODE = "import torch; x = torch.ones(8, device='cuda'); assert float((x * 2).sum()) == 16.0"


class GpuDevice(BaseModel):
    index: int
    name: str
    memory_total_mb: int
    memory_used_mb: int = 0


@dataclass(frozen=True)
class GpuSlot:
    index: int  # the device's index, the value of CUDA_VISIBLE_DEVICES
    slot: int


def _mib(text: str) -> int:
    return int(float(text.strip().split()[0]))


def parse_nvidia_smi_csv(text: str) -> list[GpuDevice]:
    """Parse ``nvidia-smi --query-gpu=... --format=csv`` output (header with units)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = [h.strip().split(" [")[0] for h in lines[0].split(",")]
    devices = []
    for line in lines[1:]:
        row = dict(zip(header, (c.strip() for c in line.split(","))))
        try:
            devices.append(GpuDevice(
                index=int(row["index"]), name=row.get("name", "?"),
                memory_total_mb=_mib(row["memory.total"]), memory_used_mb=_mib(row.get("memory.used", "0")),
            ))
        except (KeyError, ValueError):
            continue  # "[N/A]" or a malformed row: that device is not usable
    return devices


def slots_for(device: GpuDevice, slots_per_gpu: int, min_slot_mb: int) -> int:
    """Concurrent executions on one device: the configured count, bounded by memory."""
    by_memory = max(1, (device.memory_total_mb - device.memory_used_mb) // max(1, min_slot_mb))
    return max(1, min(slots_per_gpu, by_memory))


def visible_indices(env: dict[str, str] | None = None) -> list[int] | None:
    """The physical device indices ``CUDA_VISIBLE_DEVICES`` allows, or None for all.

    An empty value or one starting with ``-1`` hides every device, as it does for CUDA.
    Entries that are not integers (``GPU-<uuid>``, ``MIG-...``) are not mapped: the
    value is then ignored (None), as documented in docs/gpu_checks.md.
    """
    value = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    out: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            break
        try:
            index = int(part)
        except ValueError:
            return None
        if index < 0:
            break  # CUDA stops at the first invalid index
        out.append(index)
    return out


def _no_driver() -> bool:
    """True when this host plainly has no NVIDIA GPU (Linux: no /dev/nvidia* nodes)."""
    return sys.platform.startswith("linux") and not glob.glob("/dev/nvidia[0-9]*")


def discover(interpreter: str | None = None, env: dict[str, str] | None = None) -> list[GpuDevice]:
    """The GPUs executions may use: nvidia-smi's list (else torch's), narrowed to the
    devices ``CUDA_VISIBLE_DEVICES`` names.  Fast on hosts without a GPU: no nvidia-smi
    and no /dev/nvidia* means none, without starting torch (which costs seconds)."""
    visible = visible_indices(env)
    if visible == []:
        return []
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv"],
                                 capture_output=True, text=True, timeout=30)
            if out.returncode == 0:
                devices = parse_nvidia_smi_csv(out.stdout)  # physical indices
                return devices if visible is None else [d for d in devices if d.index in visible]
        except (OSError, subprocess.TimeoutExpired):
            pass
    elif _no_driver():
        return []
    code = ("import torch\nfor i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):\n"
            " p = torch.cuda.get_device_properties(i); print(f'{i}, {p.name}, 0 MiB, {p.total_memory >> 20} MiB')")
    try:
        out = subprocess.run([interpreter or sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return []
    devices = parse_nvidia_smi_csv("index, name, memory.used [MiB], memory.total [MiB]\n" + out.stdout)
    if visible is None:
        return devices
    # torch numbers the visible devices 0..n-1: map them back to physical indices, the
    # values each execution's CUDA_VISIBLE_DEVICES is set to.
    return [d.model_copy(update={"index": visible[d.index]}) for d in devices if d.index < len(visible)]


def parse_compute_apps(text: str) -> dict[int, float]:
    """``nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits``: MiB per pid."""
    out: dict[int, float] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        try:
            out[int(parts[0])] = out.get(int(parts[0]), 0.0) + float(parts[1])
        except (IndexError, ValueError):
            continue
    return out


class GpuMemorySampler:
    """Peak GPU memory of one execution, measured from outside it.

    Every ``interval_s`` the driver asks nvidia-smi which processes hold GPU
    memory and sums what the execution's processes (``pids()``: host pids of
    its process group and cgroup) hold.  The solution cannot forge this (it
    could forge anything it reported itself).  None when nvidia-smi is absent
    or never saw the execution's processes (sampling can miss a run shorter
    than the interval).
    """

    def __init__(self, pids: Callable[[], set[int]], interval_s: float = 1.0) -> None:
        self._pids = pids
        self._interval = interval_s
        self._smi = shutil.which("nvidia-smi")
        self.peak_mb: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gpu-sampler", daemon=True)
        if self._smi:
            self._thread.start()

    def _sample(self) -> None:
        if self._smi is None:
            return
        try:
            out = subprocess.run([self._smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return
        if out.returncode != 0:
            return
        mine = self._pids()
        used = sum(mb for pid, mb in parse_compute_apps(out.stdout).items() if pid in mine)
        if used > 0 and (self.peak_mb is None or used > self.peak_mb):
            self.peak_mb = used

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            self._sample()

    def stop(self) -> float | None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        return self.peak_mb


class GpuPool:
    """Hands out (device, slot) pairs; thread-safe.  ``devices=None`` discovers them."""

    def __init__(self, devices: list[GpuDevice] | None = None, *, slots_per_gpu: int = DEFAULT_SLOTS_PER_GPU,
                 min_slot_mb: int = DEFAULT_MIN_SLOT_MB, interpreter: str | None = None) -> None:
        self.devices = discover(interpreter) if devices is None else devices
        self.interpreter = interpreter or sys.executable
        self._free = {d.index: list(range(slots_for(d, slots_per_gpu, min_slot_mb))) for d in self.devices}
        self._busy: dict[int, int] = {d.index: 0 for d in self.devices}
        self.unhealthy: dict[int, str] = {}
        self._cond = threading.Condition()

    @property
    def has_devices(self) -> bool:
        return bool(self.devices)

    def acquire(self, timeout: float | None = None) -> GpuSlot | None:
        """A slot on the least busy healthy device; None without GPUs or when all are unhealthy."""
        with self._cond:
            while True:
                if not self.devices:
                    return None
                for index in list(self.unhealthy):
                    if self._busy[index] == 0 and self._probe(index):
                        del self.unhealthy[index]
                healthy = [i for i in self._free if i not in self.unhealthy]
                if not healthy:
                    return None
                ready = [i for i in healthy if self._free[i]]
                if ready:
                    index = min(ready, key=lambda i: self._busy[i])
                    self._busy[index] += 1
                    return GpuSlot(index, self._free[index].pop())
                if not self._cond.wait(timeout):
                    return None

    def release(self, slot: GpuSlot) -> None:
        with self._cond:
            self._free[slot.index].append(slot.slot)
            self._busy[slot.index] -= 1
            self._cond.notify_all()

    def mark_unhealthy(self, index: int, reason: str) -> None:
        with self._cond:
            self.unhealthy[index] = reason

    def _probe(self, index: int) -> bool:
        """A fresh process must compute on the device before it is trusted again."""
        try:
            out = subprocess.run([self.interpreter, "-c", _PROBE_CODE], capture_output=True, timeout=120,
                                 env={"CUDA_VISIBLE_DEVICES": str(index), "PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out.returncode == 0
