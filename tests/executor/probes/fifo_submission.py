# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""submission.csv as a FIFO: a driver that opened it would block forever (or read whatever a
leftover writer feeds it)."""
honest_outputs()
os.remove("submission.csv")
os.mkfifo("submission.csv")
