# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""submission.csv as a link to a file inside the workspace: links are never followed, wherever
they point (the driver cannot know what a relative link resolves to outside the sandbox)."""
honest_outputs()
os.rename("submission.csv", "real.csv")
os.symlink("real.csv", "submission.csv")
