"""What the host lets us isolate, probed once per process, and per-execution
cgroups (memory and process-count limits counted over the whole process tree).

Probing runs `unshare` with a no-op command, so the answer reflects this host
as it is (root or not, container or not), and every missing layer becomes a
warning in the results instead of a silent gap.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Capabilities:
    unshare_prefix: tuple[str, ...]  # command prefix that enters the namespaces, () if none
    network_isolated: bool
    mount_isolated: bool
    cgroups: bool
    warnings: tuple[str, ...]


_caps: Capabilities | None = None
_caps_lock = threading.Lock()


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd + ["true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def probe() -> Capabilities:
    """Find the strongest isolation this host allows (cached)."""
    global _caps
    with _caps_lock:
        if _caps is None:
            _caps = _probe()
        return _caps


def _probe() -> Capabilities:
    warnings: list[str] = []
    unshare = shutil.which("unshare")
    prefix: tuple[str, ...] = ()
    net = mnt = False
    if unshare is None:
        warnings.append("network not isolated: unshare not found")
    else:
        # As root: plain namespaces.  Otherwise a user namespace maps us to root inside.
        for cand, has_mnt in (
            ([unshare, "--net", "--mount", "--propagation", "private"], True),
            ([unshare, "--user", "--map-root-user", "--net", "--mount", "--propagation", "private"], True),
            ([unshare, "--net"], False),
            ([unshare, "--user", "--map-root-user", "--net"], False),
        ):
            if _works(cand):
                prefix, net, mnt = tuple(cand), True, has_mnt
                break
        if not net:
            warnings.append("network not isolated: unshare unavailable (no privileges for a network namespace)")
    if not mnt:
        warnings.append(
            "file system not isolated: no mount namespace; forbidden paths are guarded by the audit hook only"
        )
    cg = os.geteuid() == 0 and bool(_cgroup_parents())
    if not cg:
        warnings.append("no cgroups: memory limit is per process (RLIMIT_AS) and the process count is unbounded")
    return Capabilities(prefix, net, mnt, cg, tuple(warnings))


def _cgroup_parents() -> dict[str, Path]:
    """Writable cgroup directories we may create children in, per controller
    ("memory", "pids"; "unified" for cgroup v2)."""
    mine: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                mine[c] = path
    except OSError:
        return {}
    found: dict[str, Path] = {}
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return {}
    for line in mountinfo:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(rfields) < 3:
            continue
        fstype, superopts = rfields[0], rfields[2].split(",")
        root, mountpoint = fields[3], fields[4]
        if fstype == "cgroup":
            for ctrl in ("memory", "pids"):
                if ctrl in superopts and ctrl in mine and ctrl not in found:
                    rel = os.path.relpath(mine[ctrl], root) if mine[ctrl].startswith(root) else None
                    if rel is not None:
                        d = Path(mountpoint) / rel
                        if os.access(d, os.W_OK):
                            found[ctrl] = d.resolve()
    return found


@dataclass
class TreeCgroup:
    """One execution's cgroup directories (cgroup v1 memory + pids controllers)."""

    dirs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, memory_limit_mb: int | None, max_processes: int) -> "TreeCgroup | None":
        parents = _cgroup_parents()
        if not parents:
            return None
        cg = cls()
        try:
            if "memory" in parents:
                d = parents["memory"] / name
                d.mkdir()
                cg.dirs["memory"] = d
                if memory_limit_mb is not None:
                    (d / "memory.limit_in_bytes").write_text(str(memory_limit_mb * 2**20))
            if "pids" in parents:
                d = parents["pids"] / name
                d.mkdir()
                cg.dirs["pids"] = d
                (d / "pids.max").write_text(str(max_processes))
        except OSError:
            cg.remove()
            return None
        return cg

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def peak_memory_mb(self) -> float | None:
        d = self.dirs.get("memory")
        try:
            return int((d / "memory.max_usage_in_bytes").read_text()) / 2**20 if d else None
        except OSError:
            return None

    def oom_killed(self) -> bool:
        d = self.dirs.get("memory")
        if d is None:
            return False
        try:
            for line in (d / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
            return False
        except (OSError, ValueError):
            return False

    def kill_all(self) -> int:
        return kill_cgroup_members(list(self.dirs.values()))

    def remove(self) -> None:
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still has members being reaped
                    kill_cgroup_members([d])
                    threading.Event().wait(0.02)


def cgroup_members(dirs: list[Path]) -> set[int]:
    pids: set[int] = set()
    for d in dirs:
        try:
            pids.update(int(p) for p in (Path(d) / "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            pass
    return pids


def kill_cgroup_members(dirs: list[Path]) -> int:
    """SIGKILL every process in the cgroups; repeated because a fork bomb adds
    members while we kill (the pids limit bounds how long that can go on)."""
    killed = 0
    for _ in range(20):
        members = cgroup_members(dirs)
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        threading.Event().wait(0.01)
    return killed
