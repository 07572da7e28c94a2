# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""Reach the network: a raw socket (outside Python's hook too, via `getent`/`curl` if present)."""
import socket

try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    leak("connected to 1.1.1.1")
except OSError:
    pass
ifaces = [ln.split(":")[0].strip() for ln in open("/proc/net/dev").read().splitlines()[2:]]
if ifaces != ["lo"]:
    leak(f"network interfaces visible: {ifaces}")
honest_outputs()
