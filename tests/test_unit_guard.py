"""The guard that keeps unit tests free of processes and sleeps (tests/support/unit_guard.py).

Each test installs a second guard over the suite's own and watches a made-up test id, so
every refusal here comes from the second guard before anything is started or slept.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import subprocess
import sys
import time

import pytest

from tests.support.unit_guard import UnitGuard, UnitTestMisfiled


@pytest.fixture
def guard():
    g = UnitGuard(sleep_limit_s=0.05, sleep_total_s=0.02)
    g.install()
    yield g
    g.uninstall()


def _ctx_spawn() -> None:
    multiprocessing.get_context("spawn").Process(target=print).start()


STARTS = {
    "subprocess.run": lambda: subprocess.run([sys.executable, "-c", "pass"]),
    "subprocess.Popen": lambda: subprocess.Popen(["true"]),
    "os.system": lambda: os.system("true"),
    "os.fork": lambda: os.fork(),
    "os.posix_spawn": lambda: os.posix_spawn("/bin/true", ["true"], {}),
    "multiprocessing spawn": _ctx_spawn,
}


@pytest.mark.parametrize("start", STARTS.values(), ids=STARTS.keys())
def test_every_way_to_start_a_process_is_refused_with_what_to_do(guard, start):
    with guard.watching("tests/x.py::test_y"), pytest.raises(UnitTestMisfiled) as refused:
        start()
    message = str(refused.value)
    assert message.startswith("tests/x.py::test_y is a unit test (not marked integration) but called ")
    assert "@pytest.mark.integration" in message and "docs/testing.md" in message
    assert guard.take_breaches() == [message]


def test_a_long_sleep_is_refused_and_short_ones_add_up(guard):
    with guard.watching("t"):
        with pytest.raises(UnitTestMisfiled, match=r"time.sleep\(1\) \(a unit test may sleep under 0.05 s\)"):
            time.sleep(1)
        time.sleep(0.001)  # a yield to another thread is fine ...
        with pytest.raises(UnitTestMisfiled, match=r"slept 0.0\d s in all"):
            for _ in range(30):  # ... but not many of them
                time.sleep(0.001)
        with pytest.raises(UnitTestMisfiled, match=r"time.sleep\(0.5\)"):
            asyncio.run(asyncio.sleep(0.5))


def test_a_caught_refusal_is_still_recorded(guard):
    with guard.watching("t"):
        try:
            subprocess.run(["true"])
        except Exception:
            pass  # as an executor turns a launch error into a recorded failure
    assert len(guard.take_breaches()) == 1 and guard.take_breaches() == []


def test_outside_a_watched_test_everything_passes_through(guard):
    with guard.watching("t"), guard.watching(None):  # an integration test inside a unit test's block
        time.sleep(0.001)
    assert guard.test is None and guard.take_breaches() == []


def test_patched_functions_still_pickle_by_reference(guard):
    assert pickle.loads(pickle.dumps(os.system)) is os.system
    assert pickle.loads(pickle.dumps(time.sleep)) is time.sleep


def test_uninstall_puts_the_real_functions_back():
    real = (os.fork, time.sleep, subprocess._fork_exec)
    g = UnitGuard()
    g.install()
    assert os.fork is not real[0] and os.fork.__wrapped__ is real[0]
    g.uninstall()
    assert (os.fork, time.sleep, subprocess._fork_exec) == real


def test_a_thread_left_running_from_before_the_test_is_not_blamed():
    import threading

    # limits below the suite's own, so the sleeps here (0.01 s) are refused only by this guard
    guard = UnitGuard(sleep_limit_s=0.005, sleep_total_s=1.0)
    go, done, seen = threading.Event(), threading.Event(), []

    def leftover():  # as a sweep's poller left running by an earlier integration test
        go.wait(10)
        try:
            time.sleep(0.01)
        except UnitTestMisfiled as exc:
            seen.append(exc)
        done.set()

    threading.Thread(target=leftover, daemon=True).start()
    guard.install()
    try:
        with guard.watching("t"):
            go.set()
            assert done.wait(10)
            started = threading.Thread(target=lambda: seen.append(pytest.raises(UnitTestMisfiled, time.sleep, 0.01)))
            started.start()  # a thread the test starts is the test's own
            started.join(10)
    finally:
        guard.uninstall()
    assert len(seen) == 1 and len(guard.take_breaches()) == 1
