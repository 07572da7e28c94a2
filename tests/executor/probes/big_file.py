# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: disk_limit
# slow
# spec: {"max_workspace_mb": 32, "timeout_s": 20}
"""One file larger than the whole workspace limit (RLIMIT_FSIZE stops it at once)."""
honest_outputs()
with open("huge.bin", "wb") as f:
    for _ in range(64):
        f.write(b"y" * 2**20)
