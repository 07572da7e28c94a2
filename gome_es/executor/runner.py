"""`Executor`: runs one solution in a fresh process inside the sandbox and
turns whatever happened into an `ExecutionResult`; `kill_orphan`: finds and
kills an execution left behind by a crashed driver, never a reused pid.

The I/O edge of the executor: processes, pipes, /proc, cgroups.  Deciding
what a finished run means is `classify`'s job (pure); this module observes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

from gome_es.errors import ExecutorError
from gome_es.executor import isolation
from gome_es.executor.capture import StreamCapture
from gome_es.executor.classify import Observation, classify
from gome_es.executor.gpu import GpuPool, GpuSlot
from gome_es.executor.spec import (
    Audit,
    ExecutionResult,
    ExecutionSpec,
    FailureClass,
    ProcessInfo,
)

# Never passed to a solution, even if a caller allow-lists them by mistake.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|PROXY|AUTH|COOKIE|SESSION", re.I)
_LAUNCHER = Path(__file__).with_name("_launch.py")
_SITECUSTOMIZE = Path(__file__).with_name("_sitecustomize.py")
_POLL_S = 0.02
_MAX_METRICS_BYTES = 1 << 20
_TAIL_BYTES = 8192
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS", "GOME_THREADS")


class SandboxRefused(ExecutorError):
    """The spec asks for something the sandbox cannot do safely."""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = stat[stat.rfind(")") + 2 :].split()
    return int(rest[19])


def _process_group(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[2])


def kill_orphan(info: ProcessInfo) -> bool:
    """Kill what is left of an execution whose driver died; True if anything was killed.

    The recorded (pid, start_time, boot_id) must still name the same process
    before its group is killed.  If the leader is gone, the group's survivors
    are found by pgid and must have started no earlier than the leader did, and
    members of the execution's own cgroups are killed too (those directories
    belong to this execution alone).
    """
    killed = False
    same_boot = info.boot_id == _boot_id()
    if same_boot:
        current = process_start_time(info.pid)
        if current is not None and current != info.start_time:
            # The pid was reused, which the kernel only allows once no process group
            # carries that id any more: the execution's group is gone already.
            pass
        else:
            # Leader alive: its whole group.  Leader gone: survivors of the group that
            # started no earlier than it did.  Zombies are dead already and do not count.
            for pid in _group_members(info.pgid):
                started = process_start_time(pid)
                if started is None or started < info.start_time or _is_zombie(pid):
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                except ProcessLookupError:
                    pass
    dirs = [Path(d) for d in info.cgroup_dirs if Path(d).is_dir()]
    if same_boot and isolation.kill_cgroup_members(dirs):
        killed = True
    if dirs:
        isolation.TreeCgroup(dirs={str(i): d for i, d in enumerate(dirs)}).remove()
    return killed


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].split()[0] in ("Z", "X")


def _group_members(pgid: int) -> set[int]:
    members = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _process_group(int(entry)) == pgid:
            members.add(int(entry))
    return members


def _safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:80] or "run"


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


class Executor:
    """Runs solutions in a sandbox; safe to call `run` from several threads at once."""

    def __init__(self, gpu_pool: GpuPool | None = None, *, drop_capabilities: bool = True) -> None:
        self.gpu_pool = gpu_pool
        self.drop_capabilities = drop_capabilities

    # -- environment -------------------------------------------------------------
    def _env(self, spec: ExecutionSpec, work: Path, site_dir: Path, device: str, visible: str,
             audit_fd: int, forbidden: list[str]) -> dict[str, str]:
        env = {
            name: os.environ[name]
            for name in spec.env_allow
            if name in os.environ and not _SECRET_NAME.search(name)
        }
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        threads = str(spec.threads)
        env.update({var: threads for var in _THREAD_VARS})
        env.update(
            HOME=str(work),
            TMPDIR=str(work / "tmp"),
            XDG_CACHE_HOME=str(work / ".cache"),
            MPLCONFIGDIR=str(work / ".cache" / "matplotlib"),
            PYTHONPATH=str(site_dir),
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
            CUDA_VISIBLE_DEVICES=visible,
            GOME_DATA_DIR=str(spec.data_dir),
            GOME_OUTPUT_DIR=str(work),
            GOME_DEVICE=device,
            GOME_AUDIT_FD=str(audit_fd),
            GOME_FORBIDDEN=os.pathsep.join(forbidden),
        )
        return env

    # -- the run -----------------------------------------------------------------
    def run(self, spec: ExecutionSpec, on_start: Callable[[ProcessInfo], None] | None = None) -> ExecutionResult:
        caps = isolation.probe()
        data_dir = spec.data_dir.resolve()
        root = spec.workspace_root.resolve()
        forbidden = sorted({str(p.resolve()) for p in spec.forbidden_paths} | {str(p) for p in spec.forbidden_paths})
        for f in forbidden:
            fp = Path(f)
            if _inside(root, fp) or _inside(data_dir, fp):
                raise SandboxRefused(
                    f"execution {spec.key}: forbidden path {f} contains the workspace root {root} or the data dir "
                    f"{data_dir}; put workspaces and public data outside the private directories"
                )
        if not data_dir.is_dir():
            raise SandboxRefused(f"execution {spec.key}: data dir {data_dir} does not exist; check the task's public dir")

        attempt = root / f"{_safe_name(spec.key)}-{uuid.uuid4().hex[:8]}"
        work, rundir, site_dir = attempt / "work", attempt / "run", attempt / "run" / "site"
        (work / "tmp").mkdir(parents=True)
        site_dir.mkdir(parents=True)
        (work / "solution.py").write_text(spec.code)
        shutil.copyfile(_SITECUSTOMIZE, site_dir / "sitecustomize.py")

        warnings = list(caps.warnings)
        slot: GpuSlot | None = None
        device, visible = "cpu", ""
        if spec.use_gpu:
            slot = self.gpu_pool.acquire() if self.gpu_pool is not None else None
            if slot is None:
                warnings.append("use_gpu requested but no healthy GPU is available: running on CPU")
            else:
                device, visible = "cuda", str(slot.index)
        try:
            return self._run_in(spec, caps, attempt, work, rundir, site_dir, data_dir, forbidden,
                                device, visible, slot, warnings, on_start)
        finally:
            if slot is not None and self.gpu_pool is not None:
                self.gpu_pool.release(slot)

    def _run_in(self, spec, caps, attempt, work, rundir, site_dir, data_dir, forbidden, device, visible,
                slot, warnings, on_start) -> ExecutionResult:
        cgroup = None
        if caps.cgroups:
            cgroup = isolation.TreeCgroup.create(f"gome-{attempt.name}", spec.memory_limit_mb, spec.max_processes)
            if cgroup is None:
                warnings.append("cgroup creation failed: memory limit per process only, process count unbounded")
        rlimit_as = None
        if spec.memory_limit_mb is not None and cgroup is None:
            if spec.use_gpu:
                warnings.append("memory limit not enforced: RLIMIT_AS would break CUDA and no cgroup is available")
            else:
                rlimit_as = spec.memory_limit_mb * 2**20
        isolation_used = [name for name, on in (("netns", caps.network_isolated), ("mountns", caps.mount_isolated),
                                                 ("cgroup", cgroup is not None)) if on]

        audit_r, audit_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        interpreter = spec.resolved_interpreter()
        env = self._env(spec, work, site_dir, device if device == "cpu" else "cuda", visible, audit_w, forbidden)
        config = {
            "cgroup_procs": cgroup.procs_files if cgroup else [],
            "network_isolated": caps.network_isolated,
            "mount_isolated": caps.mount_isolated,
            "forbidden": forbidden,
            "keep_visible": [str(work), str(data_dir), str(rundir), *_interpreter_paths(interpreter)],
            "workspace": str(work),
            "rlimit_as": rlimit_as,
            "uid": None,
            "max_processes": spec.max_processes,
            "drop_caps": self.drop_capabilities,
            "audit_fd": audit_w,
            "interpreter": interpreter,
            "env": env,
        }
        config_path = rundir / "launch.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o600)
        cmd = [*caps.unshare_prefix, sys.executable, "-I", "-S", str(_LAUNCHER), str(config_path)]

        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, pass_fds=(audit_w,),
                start_new_session=True, close_fds=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
        except OSError as exc:
            for fd in (audit_r, audit_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            if cgroup:
                cgroup.remove()
            raise ExecutorError(f"execution {spec.key}: cannot start the sandbox ({exc}); is {cmd[0]} installed?") from exc
        for fd in (audit_w, out_w, err_w):
            os.close(fd)
        stdout_cap = StreamCapture(out_r, rundir / "stdout.txt", spec.max_output_bytes)
        stderr_cap = StreamCapture(err_r, rundir / "stderr.txt", spec.max_output_bytes)
        audit_cap = StreamCapture(audit_r, rundir / "audit.jsonl", 1 << 20)

        pid = proc.pid
        info = ProcessInfo(
            key=spec.key, pid=pid, pgid=pid, start_time=process_start_time(pid) or 0, boot_id=_boot_id(),
            host=socket.gethostname(), workspace=work, cgroup_dirs=list(cgroup.dirs.values()) if cgroup else [],
        )
        if on_start is not None:
            try:
                on_start(info)
            except BaseException:
                self._kill_tree(pid, cgroup, signal.SIGKILL)
                proc.wait()
                raise

        status, rusage, timed_out, leftovers = self._wait(proc, spec, cgroup)
        duration = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if leftovers:
            warnings.append(f"killed {leftovers} process(es) the solution left running after it exited")
        for cap in (stdout_cap, stderr_cap, audit_cap):
            if not cap.join(timeout=10):
                warnings.append(f"{cap.path.name}: an escaped process still holds the pipe open")

        audit, gpu_peak = self._read_audit(audit_cap.path, warnings)
        metrics_path = work / "metrics.json"
        metrics_text = None
        if metrics_path.is_file():
            raw = metrics_path.read_bytes()[:_MAX_METRICS_BYTES]
            metrics_text = raw.decode("utf-8", errors="replace")
        submission = work / "submission.csv"
        oom = cgroup.oom_killed() if cgroup else False
        peak_rss = cgroup.peak_memory_mb() if cgroup else None
        if peak_rss is None:
            peak_rss = rusage.ru_maxrss / 1024  # KiB; the largest single process that was waited for
        if cgroup:
            cgroup.remove()

        exit_code = proc.returncode
        stdout_tail, stderr_tail = stdout_cap.tail_text(_TAIL_BYTES), stderr_cap.tail_text(_TAIL_BYTES)
        verdict = classify(Observation(
            exit_code=exit_code, signal=-exit_code if exit_code < 0 else None, timed_out=timed_out,
            oom_killed=oom, stdout=stdout_tail, stderr=stderr_tail, metrics_text=metrics_text,
            submission_present=submission.is_file(), private_access=audit.private_access,
            network=audit.network, timeout_s=spec.timeout_s,
        ))
        failure, detail = verdict.failure, verdict.detail
        if exit_code == 125 and "GOME_SANDBOX_ERROR:" in stderr_tail:
            failure = FailureClass.sandbox_error
            detail = stderr_tail[stderr_tail.find("GOME_SANDBOX_ERROR:") :].splitlines()[0]
        if failure is FailureClass.cuda_fault and slot is not None and self.gpu_pool is not None:
            self.gpu_pool.mark_unhealthy(slot.index, f"{spec.key}: {detail}")
        return ExecutionResult(
            key=spec.key, failure=failure, detail=detail, exit_code=exit_code,
            signal=-exit_code if exit_code < 0 else None, timed_out=timed_out, duration_s=round(duration, 3),
            peak_rss_mb=round(peak_rss, 1) if peak_rss is not None else None, peak_gpu_mb=gpu_peak,
            stdout_tail=stdout_tail, stderr_tail=stderr_tail, stdout_bytes_total=stdout_cap.total,
            stderr_bytes_total=stderr_cap.total, stdout_path=stdout_cap.path, stderr_path=stderr_cap.path,
            val_score=verdict.val_score, metrics=verdict.metrics,
            submission_path=submission if submission.is_file() else None, exception=verdict.exception,
            audit=audit, warnings=warnings, pid=pid, pgid=pid, start_time=info.start_time, workspace=work,
            device=f"cuda:{slot.index}" if slot is not None else "cpu", isolation=isolation_used,
        )

    def _wait(self, proc: subprocess.Popen, spec: ExecutionSpec, cgroup) -> tuple[int, object, bool, int]:
        deadline = time.monotonic() + spec.timeout_s
        kill_at = None
        timed_out = False
        while True:
            # Look without reaping: while the leader is a zombie its pid (= the pgid)
            # cannot be reused, so killing the group's leftovers cannot hit a stranger.
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                leftovers = self._kill_tree(proc.pid, cgroup, signal.SIGKILL)
                _, status, rusage = os.wait4(proc.pid, 0)
                return status, rusage, timed_out, leftovers
            now = time.monotonic()
            if kill_at is None and now >= deadline:
                timed_out = True
                self._kill_tree(proc.pid, cgroup, signal.SIGTERM)
                kill_at = now + spec.grace_s
            elif kill_at is not None and now >= kill_at:
                self._kill_tree(proc.pid, cgroup, signal.SIGKILL)
                kill_at = now + 3600  # once is enough; the leader is being reaped
            time.sleep(_POLL_S)

    @staticmethod
    def _kill_tree(pgid: int, cgroup, sig: int) -> int:
        """Signal the process group and the cgroup; returns how many processes
        other than the leader were signalled (the solution's leftovers)."""
        members = _group_members(pgid)
        if cgroup is not None:
            members |= isolation.cgroup_members(list(cgroup.dirs.values()))
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        for pid in members:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if cgroup is not None and sig == signal.SIGKILL:
            cgroup.kill_all()  # a fork bomb may have added members meanwhile
        members.discard(pgid)
        return len(members)

    @staticmethod
    def _read_audit(path: Path, warnings: list[str]) -> tuple[Audit, float | None]:
        audit = Audit()
        gpu_peak = None
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the solution can write to the fd too; only well-formed lines count
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind == "private_access":
                audit.private_access.append(f"{entry.get('event')} {entry.get('path')}")
            elif kind == "network":
                audit.network.append(f"{entry.get('event')} {entry.get('address')}")
            elif kind == "gpu_peak" and isinstance(entry.get("mb"), (int, float)):
                gpu_peak = float(entry["mb"])
            elif kind == "warning":
                warnings.append(str(entry.get("text")))
        return audit, gpu_peak


def _interpreter_paths(interpreter: str) -> list[str]:
    """What a private /tmp must not hide for the interpreter to start and import.

    The path as given, where it resolves to, and the environment it belongs to
    (the folder above ``bin/``: a virtualenv's site-packages live there).  A venv
    under /tmp whose python links to an interpreter elsewhere was hidden before.
    """
    given = os.path.abspath(interpreter)
    real = os.path.realpath(interpreter)
    return sorted({given, real, os.path.dirname(os.path.dirname(given)), os.path.dirname(os.path.dirname(real))})

