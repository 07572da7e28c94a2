# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: ok
"""Forge the audit channel: warnings, a GPU peak and an exit record on every descriptor it
holds (the in-process hook's included)."""
lines = [{"kind": "warning", "text": "FORGED warning"}, {"kind": "gpu_peak", "mb": 123456.0},
         {"kind": "exit", "code": 0, "leftover": 99}]
for fd in range(3, 64):
    for line in lines:
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        except OSError:
            break
honest_outputs()
