"""Sandbox launcher: the program the driver starts for every execution, before
the solution itself (docs/executor.md, "The sandbox").

Stand-alone on purpose (standard library only, run with ``python -I -S``): it
is executed by path, not imported, so it starts fast and cannot be influenced
by the solution's environment.  Three processes, each holding the next:

outer (a child of the driver, in the driver's namespaces)
    dies with the driver (PR_SET_PDEATHSIG), joins the execution's cgroups,
    unshares mount, network, PID, IPC and UTS namespaces (a user namespace too
    when not root) and forks the init;
init (PID 1 of the new PID namespace)
    dies with the outer, builds the solution's file system from an allow-list
    (a fresh tmpfs root holding read-only binds of the interpreter and its
    libraries, the task's public data, the workspace, a private /tmp, a
    minimal /dev, a /proc that shows only this namespace, /sys read-only
    without cgroupfs), pivots into it, brings up loopback, forks the solution
    and reaps; when the solution ends it reports its exit status on the
    trusted channel and exits, and the kernel kills whatever is left in the
    namespace;
solution (PID 2)
    drops to an unprivileged uid (or, without root, an empty capability
    bounding set), sets no_new_privs, closes every descriptor it must not
    hold (the trusted channel among them) and exec()s the interpreter.

``--probe`` prints which namespaces this host lets us create.  Any failure
before the solution starts exits 125 with a line ``GOME_SANDBOX_ERROR: ...``.
"""

from __future__ import annotations  # annotations stay strings: nothing below imports typing at run time

import ctypes
import fcntl
import json
import os
import platform
import resource
import select
import signal
import socket
import stat
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy only: the launcher imports nothing beyond what it uses
    from typing import Any, NoReturn

    Config = dict[str, Any]  # the JSON object the driver hands over

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
_OPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
              "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
NAMESPACES = {"mount": CLONE_NEWNS, "net": CLONE_NEWNET, "pid": CLONE_NEWPID, "ipc": CLONE_NEWIPC,
              "uts": CLONE_NEWUTS}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.syscall.restype = ctypes.c_long


def _fail(what: str) -> NoReturn:
    sys.stderr.write(f"GOME_SANDBOX_ERROR: {what}\n")
    sys.stderr.flush()
    os._exit(125)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_enc(src), _enc(target), _enc(fstype), ctypes.c_ulong(flags), _enc(data)),
           f"mount {src} on {target}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


class Channel:
    """JSON lines to the driver on a descriptor only the sandbox holds."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, kind: str, **fields: Any) -> None:
        try:
            os.write(self.fd, (json.dumps({"kind": kind, **fields}) + "\n").encode())
        except OSError:
            pass


# ------------------------------------------------------------ the file system

class RootBuilder:
    """Builds the allow-listed tree under ``root`` (in a private mount namespace)."""

    def __init__(self, root: str, notes: list[str]) -> None:
        self.root = root.rstrip("/")
        self.notes = notes
        self.own_devs: set[int] = set()  # file systems we mounted (mount points may be created there)
        self.writable: set[str] = set()  # mount points left writable by the final pass

    def at(self, path: str) -> str:
        return self.root + "/" + path.lstrip("/")

    def _tmpfs(self, target: str, data: str, writable: bool = False) -> None:
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)
        self.own_devs.add(os.stat(target).st_dev)
        if writable:
            self.writable.add(target)

    def ensure(self, path: str, is_dir: bool = True) -> None:
        """Create ``path`` (inside the new root) as a mount point; only ever on our own tmpfs."""
        if os.path.lexists(path):
            return
        parent = os.path.dirname(path)
        self.ensure(parent)
        if os.stat(parent).st_dev not in self.own_devs:
            raise OSError(0, f"cannot create mount point {path}: its parent is not the sandbox's own tmpfs")
        if is_dir:
            os.mkdir(path, 0o755)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))

    def start(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        self._tmpfs(self.root, "size=4m,mode=755")

    def bind_tree(self, src: str, read_only: bool = True) -> None:
        if not os.path.lexists(src):
            return
        dst = self.at(src)
        if os.path.islink(src):
            # /bin -> usr/bin on merged-/usr systems: the same link, not the target's content.
            if not os.path.lexists(dst):
                self.ensure(os.path.dirname(dst))
                os.symlink(os.readlink(src), dst)
            return
        if os.path.lexists(dst) and os.stat(dst).st_dev not in self.own_devs:
            return  # already visible through an enclosing tree
        self.ensure(dst, os.path.isdir(src))
        _mount(src, dst, None, MS_BIND | MS_REC)
        if not read_only:
            self.writable.add(dst)

    def mask(self, path: str) -> None:
        """Hide ``path`` if the tree shows it: an empty read-only dir or an empty file."""
        dst = self.at(path)
        if not os.path.lexists(dst) or os.path.islink(dst):
            return
        if os.path.isdir(dst):
            self._tmpfs(dst, "size=16k,mode=755")
        else:
            _mount("/dev/null", dst, None, MS_BIND)

    def dev(self, extra: list[str]) -> None:
        d = self.at("/dev")
        self.ensure(d)
        self._tmpfs(d, "size=64k,mode=755")
        for name in _DEVICES + tuple(extra):
            src = name if name.startswith("/") else f"/dev/{name}"
            if not os.path.exists(src):
                continue
            dst = self.at(src)
            self.ensure(os.path.dirname(dst))
            self.ensure(dst, is_dir=False)
            _mount(src, dst, None, MS_BIND)
        for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{d}/{link}")
        os.mkdir(f"{d}/shm", 0o1777)
        self._tmpfs(f"{d}/shm", "size=2g,mode=1777", writable=True)

    def proc(self) -> None:
        d = self.at("/proc")
        self.ensure(d)
        _mount("proc", d, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        self.writable.add(d)  # procfs; its writable files are root's, and the solution is not

    def sys(self) -> None:
        d = self.at("/sys")
        self.ensure(d)
        try:
            # A fresh sysfs, read-only: device information for CUDA and friends, and no cgroupfs
            # (cgroup hierarchies are separate mounts that a fresh sysfs does not carry).
            _mount("sysfs", d, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as exc:
            self.notes.append(f"/sys absent in the sandbox: {exc.strerror}")

    def tmp(self, size_mb: int) -> None:
        d = self.at("/tmp")
        self.ensure(d)
        self._tmpfs(d, f"size={size_mb}m,mode=1777", writable=True)

    def seal(self) -> None:
        """Every mount below the root read-only, except the ones meant to be written."""
        with open("/proc/self/mountinfo") as f:
            mounts = [(ln.split()[4].replace("\\040", " "), ln.split()[5].split(",")) for ln in f]
        for mountpoint, opts in mounts:
            if not (mountpoint == self.root or mountpoint.startswith(self.root + "/")):
                continue
            if mountpoint in self.writable or mountpoint.startswith(self.at("/proc") + "/"):
                continue
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY
            for opt in opts:
                flags |= _OPT_FLAGS.get(opt, 0)
            try:
                _mount(None, mountpoint, None, flags)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot make {mountpoint} read-only: {exc.strerror}") from None

    def pivot(self) -> None:
        os.chdir(self.root)
        number = _PIVOT_ROOT.get(platform.machine())
        if number is not None and _libc.syscall(number, b".", b".") == 0:
            _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
        else:
            # No pivot_root: move the new root over / and chroot into it (the old root stays
            # mounted underneath, unreachable without CAP_SYS_CHROOT, which the solution lacks).
            _mount(self.root, "/", None, 8192)  # MS_MOVE
            os.chroot(".")
        os.chdir("/")


def build_root(cfg: Config, notes: list[str]) -> None:
    b = RootBuilder(cfg["root_dir"], notes)
    b.start()
    # Kernel trees and the private /tmp first: a tree or bind below /tmp (a venv there) goes on top.
    b.tmp(cfg.get("tmp_mb", 512))
    b.dev(cfg.get("devices", []))
    b.proc()
    b.sys()
    for tree in cfg["ro_trees"]:
        b.bind_tree(tree)
    for path in cfg["masks"]:
        b.mask(path)
    for src, read_only in cfg["binds"]:
        dst = b.at(src)
        b.ensure(dst, os.path.isdir(src))
        _mount(src, dst, None, MS_BIND | MS_REC)
        if not read_only:
            b.writable.add(dst)
    b.seal()
    b.pivot()


# -------------------------------------------------------------------- network

def _loopback_up() -> None:
    # A fresh network namespace has only `lo`, and it is down; solutions that talk
    # to themselves over 127.0.0.1 (dataloaders, local servers) need it up.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, 0x8913, struct.pack("16sH14x", b"lo", 0))  # SIOCGIFFLAGS
        flags = struct.unpack("16sH14x", ifr)[1] | 0x1  # IFF_UP
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags))  # SIOCSIFFLAGS
    finally:
        s.close()


def _drop_capabilities() -> None:
    for cap in range(63, -1, -1):  # CAP_SETPCAP (8) must go last: it allows the drops
        if cap != 8:
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAPBSET_DROP, 8, 0, 0, 0)


# -------------------------------------------------------------- the processes

def _solution(cfg: Config, keep_fds: list[int]) -> NoReturn:
    """PID 2: limits, identity, then the interpreter.  Never returns."""
    try:
        _close_all_but(keep_fds)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cfg.get("rlimit_as"):
            resource.setrlimit(resource.RLIMIT_AS, (cfg["rlimit_as"], cfg["rlimit_as"]))
        if cfg.get("rlimit_fsize"):
            resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["rlimit_fsize"], cfg["rlimit_fsize"]))
        if cfg.get("rlimit_nproc"):
            resource.setrlimit(resource.RLIMIT_NPROC, (cfg["rlimit_nproc"], cfg["rlimit_nproc"]))
        os.chdir(cfg["workspace"])
        if cfg.get("uid") is not None:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        else:
            _drop_capabilities()
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError as exc:
        _fail(f"cannot set limits or drop privileges: {exc}")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execve(cfg["interpreter"], [cfg["interpreter"], "solution.py"], cfg["env"])
    except OSError as exc:
        _fail(f"cannot start {cfg['interpreter']}: {exc}")


def _close_all_but(keep: list[int]) -> None:
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _ns_processes() -> list[int]:
    """Living processes of the namespace other than init (zombies are dead already)."""
    alive: list[int] = []
    for e in os.listdir("/proc"):
        if e.isdigit() and e != "1":
            try:
                with open(f"/proc/{e}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state not in ("Z", "X"):
                alive.append(int(e))
    return alive


def _init(cfg: Config, channel: Channel, alive_r: int) -> NoReturn:
    """PID 1 of the namespace: build the world, run the solution, reap, report."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The outer may have died before the line above: then our end of its pipe is at EOF.
        if select.select([alive_r], [], [], 0)[0]:
            os._exit(125)
    except OSError as exc:
        _fail(f"cannot tie the sandbox to its driver: {exc}")
    notes: list[str] = []
    flags = cfg["unshare"]
    try:
        if flags & CLONE_NEWNS:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _check_attempt(cfg)
            build_root(cfg, notes)
    except OSError as exc:
        _fail(f"cannot build the sandbox's file system: {exc}")
    if flags & CLONE_NEWNET:
        try:
            _loopback_up()
        except OSError as exc:
            notes.append(f"loopback left down: {exc.strerror}")
    if flags & CLONE_NEWUTS:
        try:
            socket.sethostname("gome-sandbox")
        except OSError:
            pass
    for note in notes:
        channel.send("warning", text=note)
    # The solution may not inspect us (/proc/1/fd holds the trusted channel).
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    child = os.fork()
    if child == 0:
        os.close(alive_r)
        _solution(cfg, [cfg["audit_fd"]] if cfg.get("audit_fd") is not None else [])
    channel.send("started", pid_in_ns=child)
    status: int | None = None
    while status is None:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = st
    # Without a PID namespace /proc is the host's, and kill(-1) would reach every process we may
    # signal: the driver's process group and cgroup kill take care of leftovers then.
    in_own_ns = bool(flags & CLONE_NEWPID)
    leftover = _ns_processes() if in_own_ns else []
    if status is not None:
        if os.WIFSIGNALED(status):
            channel.send("exit", signal=os.WTERMSIG(status), leftover=len(leftover))
        else:
            channel.send("exit", code=os.WEXITSTATUS(status), leftover=len(leftover))
    if leftover and in_own_ns:
        os.kill(-1, signal.SIGKILL)  # every process of the namespace but us
    code = os.waitstatus_to_exitcode(status) if status is not None else 125
    os._exit(code if code >= 0 else 128 - code)


def _write_id_maps(cfg: Config) -> None:
    # Without root: map our own ids to 0 inside a user namespace, so the namespaces below can be made.
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")


def _read_config(argv: list[str]) -> Config:
    """The configuration, from the pipe the driver hands over (``--config-fd N``), never from a path:
    a file could be renamed or replaced by whoever can write to a folder above it."""
    if len(argv) != 2 or argv[0] != "--config-fd" or not argv[1].isdigit():
        _fail("the launcher takes its configuration only from an inherited descriptor: --config-fd N")
    fd = int(argv[1])
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            _fail(f"descriptor {fd} is not the driver's pipe")
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)
        cfg: Config = json.loads(b"".join(chunks))
        return cfg
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the configuration from descriptor {fd}: {exc}")


def _check_attempt(cfg: Config) -> None:
    """The attempt folder must still be the one the driver made (same device and inode, reached
    without a link): a folder swapped in by someone else is never used."""
    if not cfg.get("attempt"):
        return
    path, dev, ino = cfg["attempt"]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _fail(f"the attempt folder {path} cannot be opened without following a link ({exc.strerror}); "
              "it was replaced after gome made it")
    if (st.st_dev, st.st_ino) != (dev, ino) or os.path.realpath(path) != path or st.st_uid != os.geteuid():
        _fail(f"the attempt folder {path} was replaced after gome made it; nothing in it is used")


def main() -> NoReturn:
    cfg = _read_config(sys.argv[1:])
    _check_attempt(cfg)
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError as exc:
        _fail(f"cannot tie the sandbox to its driver: {exc}")
    if os.getppid() != cfg["driver_pid"]:
        os._exit(125)  # the driver died before we could tie ourselves to it
    channel = Channel(cfg["trusted_fd"])
    try:
        for procs in cfg["cgroup_procs"]:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
    except OSError as exc:
        _fail(f"cannot join cgroup: {exc}")
    try:
        if cfg.get("user_ns"):
            _write_id_maps(cfg)
        _unshare(cfg["unshare"])
    except OSError as exc:
        _fail(f"cannot create the namespaces: {exc}")
    alive_r, alive_w = os.pipe()
    try:
        child = os.fork()
    except OSError as exc:
        _fail(f"cannot start the sandbox's init: {exc}")
    if child == 0:
        os.close(alive_w)
        try:
            _init(cfg, channel, alive_r)
        except BaseException as exc:  # noqa: BLE001 - anything here is the sandbox's fault
            _fail(f"init: {type(exc).__name__}: {exc}")
        os._exit(125)
    os.close(alive_r)
    # A timeout's SIGTERM is for the solution; the outer and init wait for its end (or a SIGKILL).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for fd in (0, 1, 2):
        os.close(fd)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def probe() -> None:
    """Which namespaces can be made here: {"root": bool, "ok": [names], "user_ns": bool}."""
    out = {"root": os.geteuid() == 0, "ok": [], "user_ns": False, "pivot_root": platform.machine() in _PIVOT_ROOT}
    for use_user in ((False, True) if os.geteuid() == 0 else (True,)):
        ok = []
        for name, flag in NAMESPACES.items():
            pid = os.fork()
            if pid == 0:
                try:
                    if use_user:
                        _write_id_maps({})
                    _unshare(flag)
                    if flag == CLONE_NEWPID:  # the namespace exists once a child is in it
                        if os.fork() == 0:
                            os._exit(0)
                        os.wait()
                    os._exit(0)
                except OSError:
                    os._exit(1)
            _, st = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(st) == 0:
                ok.append(name)
        if ok:
            out["ok"], out["user_ns"] = ok, use_user
            break
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        probe()
        sys.exit(0)
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - anything here is the sandbox's fault, not the solution's
        _fail(f"{type(exc).__name__}: {exc}")
