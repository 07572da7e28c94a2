# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: timeout
# slow
# spec: {"timeout_s": 2, "grace_s": 0.5, "max_output_bytes": 65536}
"""Flood stdout and stderr: the capture keeps head and tail only, the run ends at its limit."""
import sys

honest_outputs()
line = b"z" * 4095 + b"\n"
while True:
    sys.stdout.buffer.write(line)
    sys.stderr.buffer.write(line)
