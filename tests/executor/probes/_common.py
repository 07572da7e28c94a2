# ruff: noqa: F821 - TARGETS is prepended by tests/executor/escape_probes.py
# Shared by every probe (prepended to each, after TARGETS): report what got through, then
# hand in outputs that would pass every check, so only the sandbox stands between the
# attack and an "ok".
import json
import os
import subprocess

SECRET = "".join(TARGETS["secret_parts"])


def leak(what):
    print(f"LEAK: {what}", flush=True)


def try_read(path, how="open"):
    """True when ``path``'s content (or listing) shows the secret."""
    try:
        if how == "cat":
            out = subprocess.run(["cat", path], capture_output=True, timeout=10).stdout.decode(errors="replace")
        elif os.path.isdir(path):
            out = " ".join(os.listdir(path))
            for name in os.listdir(path):
                full = os.path.join(path, name)
                if os.path.isfile(full):
                    out += open(full, errors="replace").read()
        else:
            out = open(path, errors="replace").read()
    except Exception:  # noqa: BLE001 - every refusal is the expected outcome
        return False
    if SECRET in out:
        leak(f"{how} {path}")
        return True
    return False


def honest_outputs():
    with open("submission.csv", "w") as f:
        f.write("id,y\n1,0\n")
    with open("metrics.json", "w") as f:
        json.dump({"val_score": 0.5}, f)
