"""What the host lets us isolate, probed once per process; per-execution
cgroups (memory and process count over the whole tree, cgroup v2 or v1); the
default memory limit.

Probing runs the launcher with ``--probe``, so the answer reflects this host
as it is (root or not, container or not), and every missing layer becomes a
warning in the results instead of a silent gap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_LAUNCHER = Path(__file__).with_name("_launch.py")
# The unprivileged identity solutions run as when the driver is root ("nobody").
SANDBOX_UID = 65534
SANDBOX_GID = 65534
# Share of the host's memory that executions may use together (the rest is the driver's and the OS's).
MEMORY_SHARE = 0.75
# Executions' cgroups are named gome-d<driver pid>-<attempt>: a driver that was killed before it
# could remove them is recognised by the next one (see sweep_stale_cgroups).
CGROUP_PREFIX = "gome-d"
_CLONE = {"mount": 0x20000, "uts": 0x4000000, "ipc": 0x8000000, "pid": 0x20000000, "net": 0x40000000}


@dataclass(frozen=True)
class Capabilities:
    namespaces: tuple[str, ...]  # of "mount", "net", "pid", "ipc", "uts" that can be made
    user_ns: bool  # not root: the namespaces live in a user namespace mapping us to 0
    uid: int | None  # the unprivileged uid solutions run as; None: the driver's own uid
    cgroups: str | None  # "v2", "v1" or None
    warnings: tuple[str, ...]

    @property
    def network_isolated(self) -> bool:
        return "net" in self.namespaces

    @property
    def mount_isolated(self) -> bool:
        return "mount" in self.namespaces

    @property
    def pid_isolated(self) -> bool:
        return "pid" in self.namespaces

    @property
    def unshare_flags(self) -> int:
        return sum(_CLONE[n] for n in self.namespaces)


_caps: Capabilities | None = None
_caps_lock = threading.Lock()


def probe() -> Capabilities:
    """Find the strongest isolation this host allows (cached)."""
    global _caps
    with _caps_lock:
        if _caps is None:
            _caps = _probe()
        return _caps


def _probe() -> Capabilities:
    warnings: list[str] = []
    found: dict[str, Any] = {"ok": [], "user_ns": False, "pivot_root": False}
    try:
        out = subprocess.run([sys.executable, "-I", "-S", str(_LAUNCHER), "--probe"], capture_output=True,
                             text=True, timeout=30)
        if out.returncode == 0:
            found = json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        warnings.append(f"sandbox probe failed ({exc})")
    ok = tuple(n for n in ("mount", "net", "pid", "ipc", "uts") if n in found["ok"])
    if "net" not in ok:
        warnings.append("network not isolated: no privileges for a network namespace")
    if "mount" not in ok:
        warnings.append("file system not isolated: no mount namespace; the whole host file system is visible "
                        "and forbidden paths are guarded by the in-process audit hook only")
    if "pid" not in ok:
        warnings.append("no PID namespace: the solution can see (not signal) the host's processes in /proc, "
                        "and processes it leaves behind are found through its process group and cgroup only")
    root = os.geteuid() == 0
    uid = SANDBOX_UID if root and "mount" in ok else None
    if uid is None:
        warnings.append("solutions run as the driver's own uid (not root, so no other uid to switch to); "
                        "their capability bounding set is emptied instead")
    cg = CgroupHost.discover() if root else None
    if cg is not None:
        sweep_stale_cgroups(cg)
    if cg is None:
        warnings.append("no cgroups: memory is limited per process (RLIMIT_AS), "
                        + ("processes per sandbox uid (RLIMIT_NPROC)" if uid is not None
                           else "and the process count is not bounded"))
    return Capabilities(ok, bool(found.get("user_ns")), uid, cg.version if cg else None, tuple(warnings))


# ------------------------------------------------------------------ cgroups

@dataclass(frozen=True)
class CgroupHost:
    """Where executions' cgroups are made: one v2 directory, or v1 memory and pids directories."""

    version: str  # "v2" or "v1"
    parents: dict[str, Path]  # v2: {"unified": dir}; v1: {"memory": dir, "pids": dir}

    @classmethod
    def discover(cls, proc_cgroup: str | None = None, mountinfo: str | None = None) -> CgroupHost | None:
        """From /proc/self/cgroup and /proc/self/mountinfo (or the given texts, for tests)."""
        try:
            proc_cgroup = proc_cgroup if proc_cgroup is not None else Path("/proc/self/cgroup").read_text()
            mountinfo = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
        mine: dict[str, str] = {}
        for line in proc_cgroup.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            _, ctrls, path = parts
            for c in ctrls.split(",") if ctrls else ["unified"]:
                mine[c] = path
        v1: dict[str, Path] = {}
        v2: Path | None = None
        for line in mountinfo.splitlines():
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(rfields) < 3 or len(fields) < 5:
                continue
            fstype, superopts = rfields[0], rfields[2].split(",")
            root, mountpoint = fields[3], fields[4].replace("\\040", " ")
            if fstype == "cgroup2" and "unified" in mine and v2 is None:
                v2 = _under_mount(mine["unified"], root, mountpoint)
            elif fstype == "cgroup":
                for ctrl in ("memory", "pids"):
                    if ctrl in superopts and ctrl in mine and ctrl not in v1:
                        d = _under_mount(mine[ctrl], root, mountpoint)
                        if d is not None:
                            v1[ctrl] = d
        if v2 is not None and v2.is_dir() and os.access(v2, os.W_OK):
            try:
                controllers = (v2 / "cgroup.controllers").read_text().split()
            except OSError:
                controllers = []
            if {"memory", "pids"} <= set(controllers):
                return cls("v2", {"unified": v2})
        v1 = {c: d for c, d in v1.items() if d.is_dir() and os.access(d, os.W_OK)}
        if "memory" in v1:
            return cls("v1", v1)
        return None

    def create(self, name: str, memory_limit_mb: int | None, max_processes: int) -> TreeCgroup:
        """Make the execution's cgroup(s) and write its limits; OSError says what failed."""
        cg = TreeCgroup(version=self.version)
        try:
            if self.version == "v2":
                parent = self.parents["unified"]
                _enable_v2_controllers(parent)
                d = parent / name
                d.mkdir()
                cg.dirs["unified"] = d
                if memory_limit_mb is not None:
                    (d / "memory.max").write_text(str(memory_limit_mb * 2**20))
                    _write_optional(d / "memory.swap.max", "0")  # no escaping the limit into swap
                (d / "pids.max").write_text(str(max_processes))
            else:
                for ctrl, parent in self.parents.items():
                    d = parent / name
                    d.mkdir()
                    cg.dirs[ctrl] = d
                    if ctrl == "memory" and memory_limit_mb is not None:
                        (d / "memory.limit_in_bytes").write_text(str(memory_limit_mb * 2**20))
                        _write_optional(d / "memory.memsw.limit_in_bytes", str(memory_limit_mb * 2**20))
                    if ctrl == "pids":
                        (d / "pids.max").write_text(str(max_processes))
        except OSError:
            cg.remove()
            raise
        return cg


def sweep_stale_cgroups(host: CgroupHost) -> list[Path]:
    """Remove executions' cgroups whose driver is gone (killed before it could remove them);
    kills what is still in them first.  Returns what was removed."""
    removed = []
    for parent in host.parents.values():
        try:
            children = list(parent.iterdir())
        except OSError:
            continue
        for d in children:
            rest = d.name[len(CGROUP_PREFIX):] if d.name.startswith(CGROUP_PREFIX) else ""
            pid = rest.split("-", 1)[0]
            if not pid.isdigit() or not d.is_dir() or Path(f"/proc/{pid}").exists():
                continue
            TreeCgroup(host.version, {"stale": d}).remove()
            if not d.exists():
                removed.append(d)
    return removed


def _under_mount(path: str, root: str, mountpoint: str) -> Path | None:
    """Where cgroup ``path`` is, given a mount of the hierarchy's ``root`` at ``mountpoint``."""
    if not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return Path(mountpoint) / os.path.relpath(path, root)


def _write_optional(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass  # not compiled in (no swap accounting): nothing to escape into


def _enable_v2_controllers(parent: Path) -> None:
    """Children of ``parent`` need memory and pids in its subtree_control."""
    ctl = parent / "cgroup.subtree_control"
    try:
        enabled = set(ctl.read_text().split())
    except OSError:
        enabled = set()
    missing = {"memory", "pids"} - enabled
    if missing:
        try:
            ctl.write_text(" ".join(f"+{c}" for c in sorted(missing)))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot enable {', '.join(sorted(missing))} in {ctl} ({exc.strerror}); "
                          "run gome in a cgroup delegated to it (e.g. systemd-run -p Delegate=yes)") from None


@dataclass
class TreeCgroup:
    """One execution's cgroup directories."""

    version: str = "v1"
    dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _memory_dir(self) -> Path | None:
        return self.dirs.get("unified") or self.dirs.get("memory")

    def peak_memory_mb(self) -> float | None:
        d = self._memory_dir()
        if d is None:
            return None
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                return int((d / name).read_text().split()[0]) / 2**20
            except (OSError, ValueError, IndexError):
                continue
        return None

    def oom_killed(self) -> bool:
        d = self._memory_dir()
        if d is None:
            return False
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in (d / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
            except (OSError, ValueError):
                continue
        return False

    def kill_all(self) -> int:
        return kill_cgroup_members(list(self.dirs.values()))

    def remove(self) -> None:
        for d in self.dirs.values():
            for _ in range(100):
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
    members while we kill (the pids limit bounds how long that can go on).
    cgroup v2's ``cgroup.kill`` does it in one write where the kernel has it."""
    killed = 0
    for d in dirs:
        kill_file = Path(d) / "cgroup.kill"
        if kill_file.exists():
            try:
                kill_file.write_text("1")
            except OSError:
                pass
    for _ in range(20):
        members = cgroup_members(dirs)
        if not members:
            break
        for pid in members:
            if is_dead(pid):
                continue  # a zombie, or exiting already: nothing left to kill
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        threading.Event().wait(0.01)
    return killed


PF_EXITING = 0x4  # include/linux/sched.h: set on a task as soon as it starts to exit


def is_dead(pid: int) -> bool:
    """True if ``pid`` is gone, a zombie, or already on its way out.

    A SIGKILLed process keeps its /proc entry, its process group and a sleeping
    state while it exits: a namespace's init waits there for the namespace's other
    processes to be reaped, after it has left its cgroups.  The kernel marks such a
    task PF_EXITING (the flags word, field 9 of /proc/PID/stat); signalling it again
    kills nothing, so the orphan sweep does not count it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat_says_dead(stat)


def stat_says_dead(stat: str) -> bool:
    """``is_dead`` on the text of /proc/PID/stat (state in field 3, flags in field 9)."""
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return fields[0] in ("Z", "X") or bool(int(fields[6]) & PF_EXITING)
    except (IndexError, ValueError):
        return True


# ------------------------------------------------------------- memory default

def host_memory_mb(meminfo: str | None = None, cgroup_limit_bytes: int | None = None) -> int:
    """The memory this driver may plan with: MemTotal, or less if its own cgroup says so."""
    try:
        meminfo = meminfo if meminfo is not None else Path("/proc/meminfo").read_text()
        total = next(int(ln.split()[1]) // 1024 for ln in meminfo.splitlines() if ln.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError, IndexError):
        total = 4096
    limit = cgroup_limit_bytes if cgroup_limit_bytes is not None else _own_cgroup_limit()
    if limit is not None and 0 < limit // 2**20 < total:
        total = limit // 2**20
    return total


def _own_cgroup_limit() -> int | None:
    host = CgroupHost.discover()
    if host is None:
        return None
    d = host.parents.get("unified") or host.parents.get("memory")
    for name in ("memory.max", "memory.limit_in_bytes"):
        try:
            text = (d / name).read_text().strip()  # type: ignore[operator]
        except (OSError, TypeError):
            continue
        return None if text == "max" else int(text)
    return None


def default_memory_limit_mb(slots: int, host_mb: int | None = None) -> int:
    """``MEMORY_SHARE`` of the host's memory divided among ``slots`` concurrent executions."""
    host_mb = host_memory_mb() if host_mb is None else host_mb
    return max(64, int(host_mb * MEMORY_SHARE / max(1, slots)))
