# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""The event database and its -wal/-shm files (a live run's WAL held another run's graded
score), read with `cat` so the in-process hook never sees it."""
for key in ("db", "wal", "shm", "cwd_db"):
    try_read(TARGETS[key], "cat")
honest_outputs()
