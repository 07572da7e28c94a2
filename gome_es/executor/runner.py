"""`Executor`: runs one solution in a fresh process inside the sandbox and
turns whatever happened into an `ExecutionResult`; `kill_orphan`: finds and
kills an execution left behind by a crashed driver, never a reused pid.

The I/O edge of the executor: processes, pipes, /proc, cgroups.  Deciding
what a finished run means is `classify`'s job (pure); this module observes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import structlog

import gome_es
from gome_es.errors import ExecutorError
from gome_es.executor import isolation
from gome_es.executor.capture import StreamCapture
from gome_es.executor.classify import Observation, classify, load_untrusted_json
from gome_es.executor.gpu import GpuMemorySampler, GpuPool, GpuSlot
from gome_es.executor.spec import (
    Audit,
    ExecutionResult,
    ExecutionSpec,
    FailureClass,
    ProcessInfo,
    db_files,
)
from gome_es.trust import folders

log = structlog.get_logger("gome.executor")

# Never passed to a solution, even if a caller allow-lists them by mistake.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|PROXY|AUTH|COOKIE|SESSION", re.IGNORECASE)
_LAUNCHER = Path(__file__).with_name("_launch.py")
_SITECUSTOMIZE = Path(__file__).with_name("_sitecustomize.py")
_POLL_S = 0.02
_MAX_METRICS_BYTES = 1 << 20
_TAIL_BYTES = 8192
_DISK_CHECK_S = 1.0
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS", "GOME_THREADS")



def _weights_dir(spec: ExecutionSpec, forbidden: list[str], root: Path) -> Path | None:
    """The weights folder to mount read-only, checked like the data dir (None: the spec has none)."""
    if spec.weights_dir is None:
        return None
    weights = spec.weights_dir.resolve()
    if not weights.is_dir():
        raise SandboxRefused(f"execution {spec.key}: weights dir {weights} does not exist or is not a folder; "
                             "pass --weights-dir with the folder of model weights, or leave it out")
    for other in [*map(Path, forbidden), root]:
        if _inside(weights, other) or _inside(other, weights):
            raise SandboxRefused(f"execution {spec.key}: weights dir {weights} overlaps {other}, which a solution "
                                 "may not read or is gome's own; keep the weights in a folder of their own")
    return weights

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
            # started no earlier than it did.  Zombies and processes already exiting
            # (SIGKILLed with their driver, still tearing down) do not count.
            for pid in _group_members(info.pgid):
                started = process_start_time(pid)
                if started is None or started < info.start_time or isolation.is_dead(pid):
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    log.warning("orphan killed", key=info.key, pid=pid, command=_command(pid))
                except ProcessLookupError:
                    pass
    dirs = [Path(d) for d in info.cgroup_dirs if Path(d).is_dir()]
    if same_boot and isolation.kill_cgroup_members(dirs):
        killed = True
    if dirs:
        isolation.TreeCgroup(dirs={str(i): d for i, d in enumerate(dirs)}).remove()
    return killed


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a captured channel, one a line; anything else on a line (text, a
    non-object, JSON nested too deeply to parse) is skipped."""
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = load_untrusted_json(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _group_members(pgid: int) -> set[int]:
    members = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _process_group(int(entry)) == pgid:
            members.add(int(entry))
    return members


def _make_attempt(root: Path, name: str) -> tuple[Path, tuple[int, int]]:
    """Create the attempt folder ``root/name`` (0700) relative to a descriptor of the checked root;
    returns it with its (device, inode), which the launcher checks again before it uses the folder."""
    with folders.opened(root) as rfd:
        try:
            os.mkdir(name, 0o700, dir_fd=rfd)
        except FileExistsError:
            raise folders.UntrustedFolder(f"attempt folder {root / name} exists already; gome makes a new one "
                                          "for every execution and uses none it did not make") from None
        afd = folders.make_child(rfd, name, where=root)
        st = os.fstat(afd)
        os.close(afd)
    return root / name, (st.st_dev, st.st_ino)


def _hand_over(fd: int, data: bytes) -> None:
    """Write the launcher's configuration into its pipe and close it (a launcher that died early is
    reported by its exit status, not here)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def sandbox_path(host_path: str, trees: list[str], hidden: list[str]) -> str:
    """The solution's PATH: the host's entries that the sandbox shows (inside a read-only tree, outside
    every hidden folder), so it names no folder the solution cannot see (gome's source among them)."""
    keep: list[str] = []
    for entry in host_path.split(os.pathsep):
        if not entry or not os.path.isabs(entry) or entry in keep:
            continue
        p = Path(os.path.normpath(entry))
        if any(_inside(p, Path(h)) for h in hidden) or not any(_inside(p, Path(t)) for t in trees):
            continue
        keep.append(str(p))
    return os.pathsep.join(keep) or "/usr/local/bin:/usr/bin:/bin"


def forbidden_digests(paths: list[str]) -> tuple[str, list[str]]:
    """(salt, digests): the forbidden paths as the in-sandbox hook receives them, salted sha256 digests,
    so the solution's environment names none of them (``_sitecustomize._digest`` computes the same)."""
    salt = secrets.token_hex(16)
    return salt, sorted({hashlib.sha256(f"{salt}\0{p.rstrip('/') or '/'}".encode("utf-8", "surrogateescape"))
                         .hexdigest()[:32] for p in paths})


def _safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:80] or "run"


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


# Where an interpreter's own libraries may live besides its prefixes: the system's shared
# libraries and tools, and /etc (the dynamic loader's cache, certificates, passwd for getpwuid).
SYSTEM_TREES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_views_cache: dict[str, tuple[list[str], list[str]]] = {}
_views_lock = threading.Lock()


def interpreter_view(interpreter: str) -> tuple[list[str], list[str]]:
    """(trees, gome_dirs): the directories the sandbox shows read-only for ``interpreter``
    to start and import, and the copies of gome inside them, which it hides.

    The trees are the system's, the interpreter's prefixes (a venv and the
    Python it was made from) and the ``sys.path`` entries inside them; asked
    of the interpreter itself once per process.  Entries outside the prefixes
    (an editable install's source checkout, such as gome's own) stay hidden.
    """
    with _views_lock:
        if interpreter in _views_cache:
            return _views_cache[interpreter]
    code = ("import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,"
            " sys.path]))")
    prefixes: set[str] = set()
    paths: list[str] = []
    try:
        out = subprocess.run([interpreter, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        *pre, paths = json.loads(out.stdout)
        prefixes = {os.path.realpath(p) for p in pre} | {os.path.abspath(p) for p in pre}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    for exe in (os.path.abspath(interpreter), os.path.realpath(interpreter)):
        prefixes.add(os.path.dirname(os.path.dirname(exe)))
    prefixes.discard("/")
    trees = set(SYSTEM_TREES) | prefixes
    gome_dirs = set()
    for p in paths:
        for cand in {p, os.path.realpath(p)}:
            if any(_inside(Path(cand), Path(pre)) for pre in prefixes):
                trees.add(cand)
                for name in ("gome_es", "gome-es"):
                    if os.path.isdir(os.path.join(cand, name)):
                        gome_dirs.add(os.path.join(cand, name))
    view = sorted(trees, key=lambda t: (t.count("/"), t)), sorted(gome_dirs)
    with _views_lock:
        _views_cache[interpreter] = view
    return view


def gome_private_paths() -> list[Path]:
    """What of gome itself a solution must never see, wherever it lies: gome's own
    package (the bundled task archives are in it), its cache and the event
    databases this process knows of (with their -wal, -shm and -journal files)."""
    named = [Path(gome_es.__file__).resolve().parent, folders.gome_home()]
    dbs = [Path(os.environ["GOME_DB"])] if os.environ.get("GOME_DB") else []
    dbs.append(Path("gome.db"))  # the default database of a command run here
    for db in dbs:
        named.extend(db_files(db))
    out: list[Path] = []
    for p in named:  # as named (made absolute), and where a link or a relative $GOME_HOME leads
        for form in (p.absolute(), Path(os.path.realpath(p))):
            if form not in out:
                out.append(form)
    return out


def safe_output(work: Path, name: str, limit: int) -> tuple[bytes | None, str | None]:
    """Read ``work/name`` as the driver must: never through a link, never a FIFO or device.

    Returns (content, None) for a regular file with one link, (None, None) when
    absent (or a directory), and (None, problem) for a symbolic link, a hard
    link, a FIFO, a socket or a device: the solution tried to hand the driver
    something other than its own file, which counts as forbidden access.
    """
    try:
        dfd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        return None, f"the workspace {work} cannot be opened without following links ({exc.strerror})"
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, dir_fd=dfd)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                try:
                    target = os.readlink(name, dir_fd=dfd)
                except OSError:
                    target = "?"
                return None, f"{name} is a symbolic link (to {target})"
            return None, f"{name} cannot be opened ({exc.strerror})"
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                return None, None
            if not stat.S_ISREG(st.st_mode):
                kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                        else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
                return None, f"{name} is {kind}, not a regular file"
            if st.st_nlink != 1:
                return None, f"{name} has {st.st_nlink} hard links (a link to a file elsewhere)"
            chunks, left = [], limit
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks), None
        finally:
            os.close(fd)
    finally:
        os.close(dfd)


def _ensure_uvm_node(warnings: list[str]) -> None:
    """CUDA needs /dev/nvidia-uvm, which the driver creates on first use through the setuid
    nvidia-modprobe; inside the sandbox (no_new_privs, another uid) that cannot work, so the
    node must exist before the sandbox's /dev is made."""
    if Path("/dev/nvidia-uvm").exists() or not Path("/dev/nvidiactl").exists():
        return
    modprobe = shutil.which("nvidia-modprobe")
    if modprobe:
        try:
            subprocess.run([modprobe, "-u", "-c=0"], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if not Path("/dev/nvidia-uvm").exists():
        warnings.append("/dev/nvidia-uvm does not exist and could not be created (nvidia-modprobe -u): "
                        "CUDA will fail inside the sandbox; run any CUDA program once as root on this host")


def _workspace_usage(work: Path, max_entries: int) -> tuple[int, int]:
    """(bytes on disk, entries) under ``work``, counting at most ``max_entries + 1`` entries."""
    total, entries = 0, 0
    stack = [str(work)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for e in it:
                entries += 1
                if entries > max_entries:
                    return total, entries
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += st.st_blocks * 512
                if stat.S_ISDIR(st.st_mode):
                    stack.append(e.path)
    return total, entries


class Executor:
    """Runs solutions in a sandbox; safe to call `run` from several threads at once.

    ``slots``: how many executions may run at once; with no memory limit in
    the spec each gets ``MEMORY_SHARE`` of the host's memory divided by it.
    """

    def __init__(self, gpu_pool: GpuPool | None = None, *, slots: int = 1, drop_capabilities: bool = True) -> None:
        self.gpu_pool = gpu_pool
        self.slots = max(1, slots)
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
            # the solution's own clock: it is killed at this many seconds (the execution's timeout,
            # already cut to what is left of the run's budget), so it can fit its work inside them
            GOME_TIME_LIMIT_S=f"{spec.timeout_s:g}",
        )
        salt, digests = forbidden_digests(forbidden)
        env["GOME_FORBIDDEN_SALT"] = salt
        env["GOME_FORBIDDEN"] = ",".join(digests)
        if spec.weights_dir is not None:
            env["GOME_WEIGHTS_DIR"] = str(spec.weights_dir.resolve())
        return env

    def memory_limit(self, spec: ExecutionSpec) -> tuple[int, str]:
        """The execution's memory limit in MB and where it came from."""
        if spec.memory_limit_mb is not None:
            return spec.memory_limit_mb, "spec"
        mb = isolation.default_memory_limit_mb(self.slots)
        return mb, f"default: {int(isolation.MEMORY_SHARE * 100)}% of host memory / {self.slots} slot(s)"

    # -- the run -----------------------------------------------------------------
    def run(self, spec: ExecutionSpec, on_start: Callable[[ProcessInfo], None] | None = None) -> ExecutionResult:
        caps = isolation.probe()
        data_dir = spec.data_dir.resolve()
        # Ours, no link, closed to others' writes, and nothing above it lets another user swap it.
        root = folders.ensure_folder(spec.workspace_root).resolve()
        forbidden_set = {str(p.resolve()) for p in spec.forbidden_paths} | {str(p.absolute()) for p in spec.forbidden_paths}
        for f in list(forbidden_set):
            fp = Path(f)
            if _inside(root, fp) or _inside(data_dir, fp):
                raise SandboxRefused(
                    f"execution {spec.key}: forbidden path {f} contains the workspace root {root} or the data dir "
                    f"{data_dir}; put workspaces and public data outside the private directories"
                )
        if not data_dir.is_dir():
            raise SandboxRefused(f"execution {spec.key}: data dir {data_dir} does not exist; check the task's public dir")
        for p in gome_private_paths():
            if not (_inside(root, p) or _inside(data_dir, p)):
                forbidden_set.add(str(p))
        forbidden = sorted(forbidden_set)
        weights = _weights_dir(spec, forbidden, root)

        attempt, attempt_id = _make_attempt(root, f"{_safe_name(spec.key)}-{uuid.uuid4().hex[:8]}")
        work, rundir, site_dir = attempt / "work", attempt / "run", attempt / "run" / "site"
        (work / "tmp").mkdir(parents=True)
        site_dir.mkdir(parents=True)
        site_dir.chmod(0o755)  # the solution's uid reads sitecustomize through a bind of this folder
        (work / "solution.py").write_text(spec.code)
        shutil.copyfile(_SITECUSTOMIZE, site_dir / "sitecustomize.py")
        warnings = list(caps.warnings)
        if caps.uid is not None:
            try:
                for d in (work, work / "tmp"):
                    os.chown(d, caps.uid, isolation.SANDBOX_GID)
            except OSError as exc:  # a file system that refuses chown (root-squashed NFS)
                for d in (work, work / "tmp"):
                    d.chmod(0o1777)
                warnings.append(f"workspace could not be given to uid {caps.uid} ({exc.strerror}); "
                                "it is world-writable instead")

        slot: GpuSlot | None = None
        device, visible = "cpu", ""
        if spec.use_gpu:
            slot = self.gpu_pool.acquire() if self.gpu_pool is not None else None
            if slot is None:
                warnings.append("use_gpu requested but no healthy GPU is available: running on CPU")
            else:
                device, visible = "cuda", str(slot.index)
        try:
            return self._run_in(spec, caps, root, (attempt, attempt_id), work, rundir, site_dir, data_dir,
                                forbidden, device, visible, slot, warnings, on_start, weights)
        finally:
            if slot is not None and self.gpu_pool is not None:
                self.gpu_pool.release(slot)

    def _run_in(self, spec: ExecutionSpec, caps: isolation.Capabilities, root: Path,
                attempt_and_id: tuple[Path, tuple[int, int]], work: Path, rundir: Path, site_dir: Path,
                data_dir: Path, forbidden: list[str], device: str, visible: str, slot: GpuSlot | None,
                warnings: list[str], on_start: Callable[[ProcessInfo], None] | None,
                weights: Path | None = None) -> ExecutionResult:
        attempt, attempt_id = attempt_and_id
        memory_mb, memory_source = self.memory_limit(spec)
        cgroup = None
        if caps.cgroups:
            host = isolation.CgroupHost.discover()
            try:
                if host is None:
                    raise OSError(0, "no writable cgroup directory")
                cgroup = host.create(f"{isolation.CGROUP_PREFIX}{os.getpid()}-{attempt.name}", memory_mb,
                                     spec.max_processes)
            except OSError as exc:
                warnings.append(f"cgroup creation failed ({exc}): memory limit per process only, "
                                "process count per uid")
        rlimit_as = None
        if cgroup is None:
            if spec.use_gpu:
                warnings.append("memory limit not enforced: RLIMIT_AS would break CUDA and no cgroup is available")
                memory_source += " (not enforced: no cgroup, GPU run)"
            else:
                rlimit_as = memory_mb * 2**20
        isolation_used = [f"{ns}ns" for ns in caps.namespaces]
        if caps.uid is not None:
            isolation_used.append(f"uid:{caps.uid}")
        if cgroup is not None:
            isolation_used.append(f"cgroup-{cgroup.version}")

        trusted_r, trusted_w = os.pipe()
        audit_r, audit_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        interpreter = spec.resolved_interpreter()
        trees, gome_dirs = interpreter_view(interpreter)
        hook_forbidden = [f for f in forbidden if not _inside(work, Path(f))]
        hidden = sorted({*forbidden, *gome_dirs, str(root)})
        env = self._env(spec, work, site_dir, device if device == "cpu" else "cuda", visible, audit_w, hook_forbidden)
        env["PATH"] = sandbox_path(env.get("PATH", ""), trees, hidden)
        if slot is not None:
            _ensure_uvm_node(warnings)
        # every NVIDIA node (CUDA_VISIBLE_DEVICES picks the device), MIG capability nodes included
        devices = sorted(str(p) for pattern in ("nvidia*", "nvidia-caps/*") for p in Path("/dev").glob(pattern)
                         if not p.is_dir()) if slot is not None else []
        if slot is not None and caps.uid is not None:
            closed = [d for d in devices if os.stat(d).st_mode & 0o006 != 0o006]
            if closed:
                warnings.append(f"GPU device nodes not open to uid {caps.uid}: {', '.join(closed)}")
        config = {
            "driver_pid": os.getpid(),
            "trusted_fd": trusted_w,
            "audit_fd": audit_w,
            "cgroup_procs": cgroup.procs_files if cgroup else [],
            "unshare": caps.unshare_flags,
            "user_ns": caps.user_ns,
            "uid": caps.uid,
            "gid": isolation.SANDBOX_GID if caps.uid is not None else None,
            "root_dir": str(rundir / "root"),
            "ro_trees": trees,
            "masks": hidden,
            "attempt": [str(attempt), *attempt_id],
            "binds": [[str(data_dir), True], *([[str(weights), True]] if weights else []), [str(site_dir), True],
                      [str(work), False]],
            "devices": devices,
            "tmp_mb": 512,
            "workspace": str(work),
            "rlimit_as": rlimit_as,
            "rlimit_fsize": spec.max_workspace_mb * 2**20,
            "rlimit_nproc": spec.max_processes if (cgroup is None and caps.uid is not None) else None,
            "interpreter": interpreter,
            "env": env,
        }
        # The launcher (root, where gome runs as root) takes its configuration from a pipe it inherits,
        # never from a file: nothing another user can rename or replace stands between the two.
        config_r, config_w = os.pipe()
        cmd = [sys.executable, "-I", "-S", str(_LAUNCHER), "--config-fd", str(config_r)]

        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, pass_fds=(trusted_w, audit_w, config_r),
                start_new_session=True, close_fds=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
        except OSError as exc:
            for fd in (trusted_r, trusted_w, audit_r, audit_w, out_r, out_w, err_r, err_w, config_r, config_w):
                os.close(fd)
            if cgroup:
                cgroup.remove()
            raise ExecutorError(f"execution {spec.key}: cannot start the sandbox ({exc}); is {cmd[0]} installed?") from exc
        for fd in (trusted_w, audit_w, out_w, err_w, config_r):
            os.close(fd)
        _hand_over(config_w, json.dumps(config).encode())
        stdout_cap = StreamCapture(out_r, rundir / "stdout.txt", spec.max_output_bytes)
        stderr_cap = StreamCapture(err_r, rundir / "stderr.txt", spec.max_output_bytes)
        audit_cap = StreamCapture(audit_r, rundir / "audit.jsonl", 1 << 20)
        trusted_cap = StreamCapture(trusted_r, rundir / "sandbox.jsonl", 1 << 20)

        pid = proc.pid
        info = ProcessInfo(
            key=spec.key, pid=pid, pgid=pid, start_time=process_start_time(pid) or 0, boot_id=_boot_id(),
            host=socket.gethostname(), workspace=work, cgroup_dirs=list(cgroup.dirs.values()) if cgroup else [],
        )
        gpu_sampler = GpuMemorySampler(lambda: self._tree_pids(pid, cgroup)) if slot is not None else None
        if on_start is not None:
            try:
                on_start(info)
            except BaseException:
                self._kill_tree(pid, cgroup, signal.SIGKILL)
                proc.wait()
                if gpu_sampler:
                    gpu_sampler.stop()
                raise

        status, rusage, timed_out, leftovers, disk = self._wait(proc, spec, cgroup, work)
        duration = time.monotonic() - started
        gpu_peak = gpu_sampler.stop() if gpu_sampler else None
        proc.returncode = os.waitstatus_to_exitcode(status)
        for cap in (stdout_cap, stderr_cap, audit_cap, trusted_cap):
            if not cap.join(timeout=10):
                warnings.append(f"{cap.path.name}: an escaped process still holds the pipe open")

        exit_code = proc.returncode
        sandbox = self._read_sandbox(trusted_cap.path, warnings)
        if "exit" in sandbox:
            exit_code = sandbox["exit"]
        if "exit" in sandbox and caps.pid_isolated:  # the namespace's init counted what was left
            if sandbox.get("leftover"):
                warnings.append(f"killed {sandbox['leftover']} process(es) the solution left running after it exited")
        elif leftovers:
            warnings.append(f"killed {leftovers} process(es) the solution left running after it exited")
        audit = self._read_audit(audit_cap.path)

        outputs = rundir / "outputs"
        outputs.mkdir()
        metrics_raw, metrics_problem = safe_output(work, "metrics.json", _MAX_METRICS_BYTES)
        sub_raw, sub_problem = safe_output(work, "submission.csv", spec.max_submission_mb * 2**20 + 1)
        if sub_raw is not None and len(sub_raw) > spec.max_submission_mb * 2**20:
            sub_raw, sub_problem = None, f"submission.csv is larger than {spec.max_submission_mb} MB"
        for problem in (sub_problem, metrics_problem):
            if problem:
                audit.outputs.append(problem)
        metrics_text = metrics_raw.decode("utf-8", errors="replace") if metrics_raw is not None else None
        submission = None
        if sub_raw is not None:
            submission = outputs / "submission.csv"
            submission.write_bytes(sub_raw)
        oom = cgroup.oom_killed() if cgroup else False
        peak_rss = cgroup.peak_memory_mb() if cgroup else None
        if peak_rss is None:
            peak_rss = rusage.ru_maxrss / 1024  # KiB; the largest single process that was waited for
        if cgroup:
            cgroup.remove()

        stdout_tail, stderr_tail = stdout_cap.tail_text(_TAIL_BYTES), stderr_cap.tail_text(_TAIL_BYTES)
        verdict = classify(Observation(
            exit_code=exit_code, signal=-exit_code if exit_code < 0 else None, timed_out=timed_out,
            oom_killed=oom, stdout=stdout_tail, stderr=stderr_tail, metrics_text=metrics_text,
            submission_present=submission is not None, private_access=audit.private_access, outputs=audit.outputs,
            network=audit.network, timeout_s=spec.timeout_s, disk_exceeded=disk,
        ))
        failure, detail = verdict.failure, verdict.detail
        if exit_code == 125 and "GOME_SANDBOX_ERROR:" in stderr_tail and "exit" not in sandbox:
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
            val_score=verdict.val_score, metrics=verdict.metrics, submission_path=submission,
            exception=verdict.exception, audit=audit, warnings=warnings, pid=pid, pgid=pid,
            start_time=info.start_time, workspace=work, device=f"cuda:{slot.index}" if slot is not None else "cpu",
            isolation=isolation_used, memory_limit_mb=memory_mb, memory_limit_source=memory_source,
            uid=caps.uid,
        )

    def _wait(self, proc: subprocess.Popen[bytes], spec: ExecutionSpec, cgroup: isolation.TreeCgroup | None, work: Path
              ) -> tuple[int, resource.struct_rusage, bool, int, str | None]:
        deadline = time.monotonic() + spec.timeout_s
        kill_at = None
        timed_out = False
        disk: str | None = None
        next_disk_check = time.monotonic() + _DISK_CHECK_S
        while True:
            # Look without reaping: while the leader is a zombie its pid (= the pgid)
            # cannot be reused, so killing the group's leftovers cannot hit a stranger.
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                leftovers = self._kill_tree(proc.pid, cgroup, signal.SIGKILL)
                _, status, rusage = os.wait4(proc.pid, 0)
                return status, rusage, timed_out, leftovers, disk
            now = time.monotonic()
            if disk is None and now >= next_disk_check:
                next_disk_check = now + _DISK_CHECK_S
                used, entries = _workspace_usage(work, spec.max_workspace_files)
                if used > spec.max_workspace_mb * 2**20 or entries > spec.max_workspace_files:
                    disk = (f"workspace holds {used / 2**20:.0f} MB in {entries}"
                            f"{'+' if entries > spec.max_workspace_files else ''} entries; the limits are "
                            f"{spec.max_workspace_mb} MB and {spec.max_workspace_files} entries")
                    self._kill_tree(proc.pid, cgroup, signal.SIGKILL)
            if kill_at is None and now >= deadline:
                timed_out = True
                self._kill_tree(proc.pid, cgroup, signal.SIGTERM)
                kill_at = now + spec.grace_s
            elif kill_at is not None and now >= kill_at:
                self._kill_tree(proc.pid, cgroup, signal.SIGKILL)
                kill_at = now + 3600  # once is enough; the leader is being reaped
            time.sleep(_POLL_S)

    @staticmethod
    def _tree_pids(pgid: int, cgroup: isolation.TreeCgroup | None) -> set[int]:
        members = _group_members(pgid)
        if cgroup is not None:
            members |= isolation.cgroup_members(list(cgroup.dirs.values()))
        return members

    @staticmethod
    def _kill_tree(pgid: int, cgroup: isolation.TreeCgroup | None, sig: int) -> int:
        """Signal the process group and the cgroup; returns how many processes
        other than the leader were signalled (the solution's leftovers)."""
        members = Executor._tree_pids(pgid, cgroup)
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
    def _read_sandbox(path: Path, warnings: list[str]) -> dict[str, Any]:
        """The trusted channel: only the launcher and the namespace's init hold its descriptor."""
        found: dict[str, Any] = {}
        for entry in _json_lines(path):
            kind = entry.get("kind")
            if kind == "warning":
                warnings.append(str(entry.get("text")))
            elif kind == "exit":
                found["exit"] = -int(entry["signal"]) if entry.get("signal") else int(entry.get("code", 0))
                found["leftover"] = int(entry.get("leftover", 0))
        return found

    @staticmethod
    def _read_audit(path: Path) -> Audit:
        """The in-process hook's reports.  The solution holds this descriptor too, so a line
        here can only count against it (an attempt it admits); it never becomes a
        warning or a measurement."""
        audit = Audit()
        for entry in _json_lines(path):
            kind = entry.get("kind")
            if kind == "private_access":
                audit.private_access.append(f"{entry.get('event')} {entry.get('path')}")
            elif kind == "network":
                audit.network.append(f"{entry.get('event')} {entry.get('address')}")
        return audit


