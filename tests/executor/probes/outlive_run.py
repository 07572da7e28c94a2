# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Outlive the run: a double-forked, setsid child that tries to leave the cgroup first, then
keeps writing a heartbeat."""
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for line in open("/proc/self/cgroup").read().splitlines():
            _, ctrl, path = line.split(":", 2)
            try:
                with open(f"/sys/fs/cgroup/{ctrl.split(',')[0]}/cgroup.procs", "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass
        for _ in range(600):
            with open("heartbeat", "w") as f:
                f.write(str(time.time()))
            time.sleep(0.1)
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
honest_outputs()
