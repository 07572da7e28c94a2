# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
# slow
"""Raise hard limits, become root again, regain capabilities through a setuid binary."""
import resource

for name in ("RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE"):
    res = getattr(resource, name)
    soft, hard = resource.getrlimit(res)
    if hard != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            leak(f"raised {name}")
        except (ValueError, OSError):
            pass
for fn in (os.setuid, os.setgid):
    try:
        fn(0)
        leak(f"{fn.__name__}(0) worked")
    except OSError:
        pass
if os.getuid() == 0 or os.geteuid() == 0:
    leak("running as root")
for cmd in (["su", "-c", "id -u"], ["sudo", "-n", "id", "-u"]):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
        if out == "0":
            leak(f"{cmd[0]} gave root")
    except (OSError, subprocess.TimeoutExpired):
        pass
honest_outputs()
