# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""/proc: every process's root, cwd, environ and open descriptors (the driver's among them, if
visible), and how many processes are visible at all."""
pids = [p for p in os.listdir("/proc") if p.isdigit()]
if len(pids) > 3:
    leak(f"/proc shows {len(pids)} processes: not only this namespace's")
for pid in pids:
    for sub in ("root" + TARGETS["answers"], "cwd", "environ", "cmdline"):
        try_read(f"/proc/{pid}/{sub}")
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try_read(f"/proc/{pid}/fd/{fd}")
    except OSError:
        pass
honest_outputs()
