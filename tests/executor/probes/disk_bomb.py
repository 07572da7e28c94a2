# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: disk_limit
# slow
# spec: {"max_workspace_mb": 64, "timeout_s": 20}
"""Fill the disk through the workspace, one big file at a time."""
import time

honest_outputs()
block = b"x" * 2**20
for i in range(4096):
    with open(f"fill-{i}.bin", "wb") as f:
        for _ in range(16):
            f.write(block)
time.sleep(5)
