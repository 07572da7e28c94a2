# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: timeout
# slow
# spec: {"max_processes": 40, "timeout_s": 6, "grace_s": 0.5}
"""A fork bomb: bounded by the pids limit, and nothing of it survives the run."""
import time

honest_outputs()
made = 0
for _ in range(500):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    except OSError:
        pass
    if made >= 40:
        leak(f"made {made} processes under a limit of 40")
        break
print("made", made, flush=True)
time.sleep(60)
