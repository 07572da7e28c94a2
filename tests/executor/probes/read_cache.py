# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""gome's cache (extracted tasks, answers) by its host path, with `cat` and a directory walk."""
for root, _dirs, files in os.walk(TARGETS["cache"]):
    for name in files:
        try_read(os.path.join(root, name), "cat")
try_read(TARGETS["cache_answers"], "cat")
honest_outputs()
