# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""metrics.json as a link to a file elsewhere (here the database's WAL)."""
honest_outputs()
os.remove("metrics.json")
os.symlink(TARGETS["wal"], "metrics.json")
