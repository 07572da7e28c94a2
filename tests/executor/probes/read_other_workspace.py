# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Another run's workspace (its submission, its logs) next to ours."""
try_read(TARGETS["other_workspace_file"], "cat")
parent = os.path.dirname(os.path.dirname(os.getcwd()))
try:
    for name in os.listdir(parent):
        for root, _d, files in os.walk(os.path.join(parent, name)):
            for f in files:
                try_read(os.path.join(root, f), "cat")
except OSError:
    pass
honest_outputs()
