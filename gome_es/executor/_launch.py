"""Sandbox launcher: the first program run inside the solution's new network
and mount namespaces (started by `unshare`), before the solution itself.

Stand-alone on purpose (standard library only, run with ``python -I -S``): it
is executed by path, not imported, so it starts fast and cannot be influenced
by the solution's environment.  It joins the execution's cgroups, hides the
forbidden paths, makes the whole file system read-only except the workspace,
brings up loopback, sets resource limits, drops privileges and finally
exec()s the interpreter on solution.py, keeping the same pid throughout.
Any failure here exits 125 with a line starting ``GOME_SANDBOX_ERROR:``.
"""

import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_NOATIME, MS_NODIRATIME = 32, 4096, 1024, 2048
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
_OPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
              "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
# Kernel-virtual trees stay as they are: /proc, /sys and /dev are not data.
_KEEP_WRITABLE = ("/proc", "/sys", "/dev")

_libc = ctypes.CDLL(None, use_errno=True)


def _fail(what):
    sys.stderr.write(f"GOME_SANDBOX_ERROR: {what}\n")
    sys.stderr.flush()
    os._exit(125)


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if _libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {src} on {target}: {os.strerror(err)}")


def _mounts():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            yield fields[4].replace("\\040", " "), fields[5].split(",")


def _hide(path):
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _under(path, parent):
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _read_only_world(workspace, keep_visible, notes):
    for mountpoint, opts in list(_mounts()):
        if mountpoint.startswith(_KEEP_WRITABLE) or "ro" in opts:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for opt in opts:
            flags |= _OPT_FLAGS.get(opt, 0)
        try:
            _mount(None, mountpoint, None, flags)
        except OSError as exc:
            notes.append(f"could not make {mountpoint} read-only: {exc.strerror}")
    _mount(workspace, workspace, None, MS_BIND)
    _mount(None, workspace, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    for scratch, size in (("/tmp", "256m"), ("/dev/shm", "2g")):
        # A private scratch dir, unless it would hide the workspace, data or interpreter.
        if os.path.isdir(scratch) and not any(_under(p, scratch) for p in keep_visible):
            _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")


def _loopback_up():
    # A fresh network namespace has only `lo`, and it is down; solutions that talk
    # to themselves over 127.0.0.1 (dataloaders, local servers) need it up.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, 0x8913, struct.pack("16sH14x", b"lo", 0))  # SIOCGIFFLAGS
        flags = struct.unpack("16sH14x", ifr)[1] | 0x1  # IFF_UP
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags))  # SIOCSIFFLAGS
    finally:
        s.close()


def _drop_capabilities():
    for cap in range(63, -1, -1):  # CAP_SETPCAP (8) must go last: it allows the drops
        if cap != 8:
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAPBSET_DROP, 8, 0, 0, 0)


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    notes = []
    try:
        for procs in cfg["cgroup_procs"]:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
    except OSError as exc:
        _fail(f"cannot join cgroup: {exc}")
    if cfg["network_isolated"]:
        try:
            _loopback_up()
        except OSError as exc:
            notes.append(f"loopback left down: {exc.strerror}")
    if cfg["mount_isolated"]:
        try:
            for path in cfg["forbidden"]:
                _hide(path)
            _read_only_world(cfg["workspace"], cfg["keep_visible"], notes)
        except OSError as exc:
            _fail(f"cannot isolate the file system: {exc}")
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cfg.get("rlimit_as"):
            resource.setrlimit(resource.RLIMIT_AS, (cfg["rlimit_as"], cfg["rlimit_as"]))
        if cfg.get("uid") is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (cfg["max_processes"], cfg["max_processes"]))
            os.setgroups([])
            os.setgid(cfg["uid"])
            os.setuid(cfg["uid"])
        elif os.geteuid() == 0 and cfg["drop_caps"]:
            _drop_capabilities()
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except OSError as exc:
        _fail(f"cannot set limits or drop privileges: {exc}")
    audit_fd = int(cfg["audit_fd"])
    for note in notes:
        os.write(audit_fd, (json.dumps({"kind": "warning", "text": note}) + "\n").encode())
    os.chdir(cfg["workspace"])
    argv = [cfg["interpreter"], "solution.py"]
    try:
        os.execve(cfg["interpreter"], argv, cfg["env"])
    except OSError as exc:
        _fail(f"cannot start {cfg['interpreter']}: {exc}")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - anything here is the sandbox's fault, not the solution's
        _fail(f"{type(exc).__name__}: {exc}")
