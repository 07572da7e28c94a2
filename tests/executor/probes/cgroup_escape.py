# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Loosen or leave the cgroup: raise memory and pids limits, move to the parent cgroup, mount
cgroupfs ourselves (all worked from a writable /sys as uid 0)."""
import ctypes

for line in open("/proc/self/cgroup").read().splitlines():
    _, ctrl, path = line.split(":", 2)
    for ctrl_dir in {ctrl.split(",")[0] or "unified", "memory", "pids", "unified"}:
        base = f"/sys/fs/cgroup/{ctrl_dir}{path}"
        for name, value in (("memory.limit_in_bytes", "8589934592"), ("memory.max", "max"),
                            ("pids.max", "max")):
            try:
                with open(os.path.join(base, name), "w") as f:
                    f.write(value)
                leak(f"wrote {base}/{name}")
            except OSError:
                pass
        try:
            with open(os.path.join(os.path.dirname(base), "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            leak(f"moved to {os.path.dirname(base)}")
        except OSError:
            pass
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("cg", exist_ok=True)
for fstype, opts in ((b"cgroup", b"memory"), (b"cgroup2", None)):
    if libc.mount(fstype, b"cg", fstype, 0, opts) == 0:
        leak(f"mounted {fstype}")
honest_outputs()
