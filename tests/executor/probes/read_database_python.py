# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""The database through Python's open(): refused by the sandbox, and the attempt is recorded."""
for key in ("db", "wal", "shm"):
    try_read(TARGETS[key])
honest_outputs()
