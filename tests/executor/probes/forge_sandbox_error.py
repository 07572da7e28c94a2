# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: nonzero_exit
"""Pose as the sandbox: print the launcher's error line and exit 125, hoping to be filed as the
sandbox's fault (sandbox_error) instead of its own.  The namespace's init reported the real exit
on the trusted channel, so the driver knows the sandbox was fine."""
import sys

honest_outputs()
sys.stderr.write("GOME_SANDBOX_ERROR: cannot build the sandbox's file system: forged\n")
sys.stderr.flush()
os._exit(125)
