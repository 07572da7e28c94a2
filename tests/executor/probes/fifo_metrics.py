# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""metrics.json as a FIFO."""
honest_outputs()
os.remove("metrics.json")
os.mkfifo("metrics.json")
