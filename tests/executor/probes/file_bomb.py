# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: disk_limit
# slow
# spec: {"max_workspace_files": 2000, "timeout_s": 20}
"""Exhaust inodes with empty files in the workspace."""
import time

honest_outputs()
os.makedirs("many", exist_ok=True)
for i in range(200000):
    open(f"many/{i}", "w").close()
time.sleep(5)
