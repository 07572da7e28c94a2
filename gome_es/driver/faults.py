"""Fault hooks for the driver's side effects, used by the crash campaigns and the resume tests.

Beside :mod:`gome_es.store.faults` (faults inside an append), these act inside an
effect, read from the environment so a test can set them for a child process:

``GOME_EFFECT_LOG=PATH``
    every real side effect appends one fsync'd line ``llm KEY`` or ``exec KEY``:
    tests count that each LLM call and execution happened exactly once.
``GOME_CRASH_DURING_EFFECT=n``
    the driver sends itself SIGKILL while its n-th side effect is in flight.

Each driver holds its own :class:`EffectFaults` (no module globals).
"""

from __future__ import annotations

import os
import signal
import threading


def effect_log(kind: str, key: str) -> None:
    """Record one real side effect in GOME_EFFECT_LOG, when it is set (one fsync'd line)."""
    path = os.environ.get("GOME_EFFECT_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{kind} {key}\n")
        fh.flush()
        os.fsync(fh.fileno())


class EffectFaults:
    """Counts the effects a driver starts, to crash inside the n-th one when GOME_CRASH_DURING_EFFECT=n."""

    def __init__(self) -> None:
        self._started = 0
        self._lock = threading.Lock()

    def maybe_crash(self) -> None:
        target = os.environ.get("GOME_CRASH_DURING_EFFECT")
        if not target:
            return
        with self._lock:
            self._started += 1
            hit = self._started == int(target)
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)
