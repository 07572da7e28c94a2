# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Write a sysctl (the same value back, so nothing changes if it gets through)."""
for path in ("/proc/sys/vm/swappiness", "/proc/sys/kernel/hostname", "/proc/sys/vm/overcommit_memory"):
    try:
        value = open(path).read()
        with open(path, "w") as f:
            f.write(value)
        leak(f"wrote sysctl {path}")
    except OSError:
        pass
honest_outputs()
