# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""submission.csv as a hard link: first to the answers (not visible, so it fails), then to a
file of the workspace (a second name for one inode: the driver refuses any file with more
than one link, since it cannot tell where the other name lives)."""
honest_outputs()
try:
    os.link(TARGETS["answers"], "answers-link.csv")
    leak("hard link to the answers made")
except OSError:
    pass
os.rename("submission.csv", "real.csv")
os.link("real.csv", "submission.csv")
