# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: host_oom
# slow
# spec: {"memory_limit_mb": 200}
"""Allocate far beyond the memory limit (3 GB under 512 MB said 'ok' once the cgroup was left)."""
honest_outputs()
blocks = []
for _ in range(200):
    blocks.append(bytearray(32 * 2**20))
leak("allocated 6.4 GB under a 200 MB limit")
