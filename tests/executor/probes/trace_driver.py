# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
# slow
# driver: subprocess
"""ptrace the driver (and PID 1): attaching would let it read the driver's memory."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
for pid in {os.getppid(), 1}:
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        leak(f"ptrace attached to {pid}")
        libc.ptrace(PTRACE_DETACH, pid, None, None)
honest_outputs()
