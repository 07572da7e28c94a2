# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
# driver: subprocess
"""Kill the driver: the parent, PID 1, every process it can see whose command line looks like
gome (a run stayed stuck at 'executing' forever when a solution did this)."""
import signal

for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
        print("signalled", pid)
    except OSError:
        pass
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            cmd = open(f"/proc/{entry}/cmdline", "rb").read()
        except OSError:
            continue
        if TARGETS["driver_marker"].encode() in cmd:
            try:
                os.kill(int(entry), signal.SIGKILL)
                leak(f"killed the driver {entry}")
            except OSError:
                pass
honest_outputs()
