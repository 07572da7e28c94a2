"""The run lease: one live driver, refusals that name the holder, takeovers of the dead."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from gome_es.driver.lease import RunLease
from gome_es.errors import LeaseHeld
from gome_es.store import EventStore

from .conftest import PYTHON, child_env


def _plant(store, pid, host, heartbeat, proc_start=None):
    with store.write_transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO run_leases VALUES ('r', 'tok', ?, ?, ?, ?, ?)",
                     (pid, host, proc_start, heartbeat - 5, heartbeat))


def test_second_driver_is_refused_naming_the_holder(store, db_path):
    grant = RunLease.acquire(store, "r")
    assert grant.took_over is None and grant.holder.pid == os.getpid()
    other = EventStore.open(db_path)
    with pytest.raises(LeaseHeld, match=rf"run r is being driven by pid {os.getpid()} on host "
                                        rf"{socket.gethostname()} since \d{{4}}-"):
        RunLease.acquire(other, "r")
    grant.release()
    again = RunLease.acquire(other, "r")
    assert again.took_over is None
    again.release()


@pytest.mark.integration
def test_heartbeat_advances_and_a_taken_lease_is_noticed(store):
    grant = RunLease.acquire(store, "r", heartbeat_s=0.05)
    first = RunLease.current(store, "r").heartbeat
    time.sleep(0.3)
    assert RunLease.current(store, "r").heartbeat > first
    with store.write_transaction() as conn:
        conn.execute("UPDATE run_leases SET token = 'someone-else'")
    assert grant.heartbeat() is False and grant.lost
    grant.release()


@pytest.mark.integration
def test_dead_pid_on_this_host_is_taken_over(store):
    child = subprocess.Popen([PYTHON, "-c", "pass"])
    child.wait()
    _plant(store, child.pid, socket.gethostname(), time.time())
    grant = RunLease.acquire(store, "r")
    assert grant.took_over.pid == child.pid and "no longer exists" in grant.took_over_reason
    grant.release()


def test_reused_pid_is_taken_over(store):
    _plant(store, os.getpid(), socket.gethostname(), time.time(), proc_start="1")
    grant = RunLease.acquire(store, "r")
    assert "belongs to another process" in grant.took_over_reason
    grant.release()


def test_other_host_is_trusted_until_its_heartbeat_goes_stale(store):
    _plant(store, 4242, "elsewhere", time.time())
    with pytest.raises(LeaseHeld, match="pid 4242 on host elsewhere"):
        RunLease.acquire(store, "r", stale_after_s=30)
    _plant(store, 4242, "elsewhere", time.time() - 60)
    grant = RunLease.acquire(store, "r", stale_after_s=30)
    assert grant.took_over.host == "elsewhere" and "heartbeat is 60s old" in grant.took_over_reason
    grant.release()


HOLDER = """
import sys, time
from gome_es.store import EventStore
from gome_es.driver.lease import RunLease
store = EventStore.open(sys.argv[1])
RunLease.acquire(store, "r", heartbeat_s=0.1)
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.integration
def test_killed_holder_process_is_taken_over(db_path):
    EventStore.open(db_path).close()
    child = subprocess.Popen([PYTHON, "-c", HOLDER, str(db_path)], stdout=subprocess.PIPE,
                             env=child_env(), text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with EventStore.open(db_path) as store:
            with pytest.raises(LeaseHeld, match=f"pid {child.pid}"):
                RunLease.acquire(store, "r")
            child.send_signal(signal.SIGKILL)
            child.wait()
            grant = RunLease.acquire(store, "r")
            assert grant.took_over.pid == child.pid
            grant.release()
    finally:
        child.kill()
        child.wait()
