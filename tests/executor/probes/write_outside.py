# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Write outside the workspace: the public data, the interpreter's libraries, /etc, a canary
folder of the host, the host's /tmp."""
import sys

for path in (os.path.join(os.environ["GOME_DATA_DIR"], "train.csv"), os.path.join(sys.prefix, "gome-probe"),
             "/etc/gome-probe", os.path.join(TARGETS["canary_dir"], "written"), TARGETS["host_tmp_file"]):
    try:
        with open(path, "a") as f:
            f.write("tamper")
        if path != TARGETS["host_tmp_file"]:
            leak(f"wrote {path}")
    except OSError:
        pass
honest_outputs()
