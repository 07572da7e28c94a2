"""Keeps unit tests honest: a test not marked ``integration`` may not start a process or sleep.

The suite has two kinds of tests (docs/testing.md): unit tests, which run in this
process and finish in milliseconds, and integration tests (``@pytest.mark.integration``),
which start real processes (the ``gome`` CLI, sandboxed solutions, Ray, a browser) or
wait on real time.  ``pytest -m 'not integration'`` runs the unit tests alone, so a test
that starts a process without the mark would quietly make that run slow.  While a unit
test (or a fixture it sets up) runs, this guard makes every way of starting a process
(``subprocess``, ``multiprocessing``, ``os.fork``, ``os.posix_spawn``, ``os.system``) and
every sleep longer than ``SLEEP_LIMIT_S`` raise :class:`UnitTestMisfiled`, which names
the test and says to mark it.  Code under test may catch that error (an executor turns
exceptions into recorded failures), so the breach is also recorded, and the test fails
afterwards even if something caught it.  (It is an ``Exception``: pytest's fixture stack
does not recover from other ``BaseException``s raised in a fixture.)
"""

from __future__ import annotations

import _posixsubprocess  # type: ignore[import-not-found]  # where subprocess and multiprocessing fork
import asyncio
import os
import platform
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# One sleep this long or longer is a wait on real time, not a yield to another thread.
SLEEP_LIMIT_S = 0.05
# A unit test may yield many times, but not wait this long in all.
SLEEP_TOTAL_S = 0.5


class UnitTestMisfiled(Exception):
    """A test not marked integration started a process or slept."""


class UnitGuard:
    """Patches the process and sleep primitives; refuses them while a unit test is watched."""

    def __init__(self, sleep_limit_s: float = SLEEP_LIMIT_S, sleep_total_s: float = SLEEP_TOTAL_S) -> None:
        self.sleep_limit_s = sleep_limit_s
        self.sleep_total_s = sleep_total_s
        self.test: str | None = None  # node id of the unit test being watched, None between tests
        self.breaches: list[str] = []
        self._slept = 0.0
        self._older: set[threading.Thread] = set()  # threads that were running before the watched test began
        self._saved: list[tuple[Any, str, Any]] = []

    # ------------------------------------------------------------ watching

    @contextmanager
    def watching(self, nodeid: str | None) -> Iterator[None]:
        """Refuse processes and sleeps while the block runs (``None``: allow them, an integration test)."""
        previous, slept, older = self.test, self._slept, self._older
        # threads already running (left by an earlier integration test, a daemon of a library) are
        # not this test's doing: what they start or sleep is theirs
        self.test, self._slept = nodeid, 0.0
        self._older = set(threading.enumerate()) - {threading.current_thread()}  # objects: idents are reused
        try:
            yield
        finally:
            self.test, self._slept, self._older = previous, slept, older

    def take_breaches(self) -> list[str]:
        out, self.breaches = self.breaches, []
        return out

    def _refuse(self, what: str) -> None:
        test = self.test
        if test is None or threading.current_thread() in self._older:
            return
        message = (f"{test} is a unit test (not marked integration) but {what}. Unit tests start no process "
                   "and do not wait on real time, so that `pytest -m 'not integration'` stays fast. If the "
                   "test needs this, mark it `@pytest.mark.integration` (a whole module: `pytestmark = "
                   "pytest.mark.integration`); otherwise fake the process or the clock. See docs/testing.md.")
        self.breaches.append(message)
        raise UnitTestMisfiled(message)

    def _sleep(self, seconds: float) -> None:
        if self.test is not None and threading.current_thread() not in self._older:
            if seconds >= self.sleep_limit_s:
                self._refuse(f"called time.sleep({seconds!r}) (a unit test may sleep under {self.sleep_limit_s} s)")
            self._slept += max(0.0, float(seconds))
            if self._slept >= self.sleep_total_s:
                self._refuse(f"slept {self._slept:.2f} s in all (a unit test may sleep under {self.sleep_total_s} s)")

    # ------------------------------------------------------------ patching

    def install(self) -> None:
        """Wrap the primitives (module attributes, so ``subprocess`` and ``asyncio`` see the wrappers)."""
        # The standard library asks `uname -p` once per process and caches it (platform.processor,
        # read by the openai client's headers); ask it now so no unit test is blamed for it.
        platform.platform()
        platform.processor()
        def refusing(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self._refuse(f"called {name}")
                return real(*args, **kwargs)
            wrapper.__wrapped__ = real  # type: ignore[attr-defined]
            return wrapper

        # subprocess.Popen starts through fork_exec (bound into subprocess at import, so patched
        # there too); multiprocessing's spawn and forkserver call it on _posixsubprocess
        self._patch(_posixsubprocess, "fork_exec", lambda real: refusing("subprocess (a new process)", real))
        if getattr(subprocess, "_fork_exec", None) is not None:
            self._patch(subprocess, "_fork_exec", lambda real: refusing("subprocess (a new process)", real))
        for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
            if hasattr(os, name):
                self._patch(os, name, lambda real, name=name: refusing(f"os.{name}", real))

        def sleeping(real: Callable[[float], None]) -> Callable[[float], None]:
            def sleep(seconds: float) -> None:
                self._sleep(seconds)
                real(seconds)
            sleep.__wrapped__ = real  # type: ignore[attr-defined]
            return sleep
        self._patch(time, "sleep", sleeping)

        def async_sleeping(real: Callable[..., Any]) -> Callable[..., Any]:
            async def sleep(delay: float, result: Any = None) -> Any:
                self._sleep(delay)
                return await real(delay, result)
            sleep.__wrapped__ = real  # type: ignore[attr-defined]
            return sleep
        self._patch(asyncio, "sleep", async_sleeping)

    def uninstall(self) -> None:
        while self._saved:
            owner, name, real = self._saved.pop()
            setattr(owner, name, real)

    def _patch(self, owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
        real = getattr(owner, name)
        self._saved.append((owner, name, real))
        new = wrap(real)
        # named where it sits, so pickle still refers to it by reference (os.system pickles as "os system")
        new.__module__, new.__name__, new.__qualname__ = owner.__name__, name, name
        setattr(owner, name, new)
