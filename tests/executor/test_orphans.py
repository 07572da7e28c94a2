"""Durability: an execution orphaned by a SIGKILLed driver is found from the
recorded ProcessInfo and killed; a reused pid never is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome_es.executor import ProcessInfo, kill_orphan, process_start_time
from gome_es.executor.isolation import cgroup_members, is_dead
from tests.executor.escape_probes import processes_of


def is_alive(pid: int) -> bool:
    return not is_dead(pid)


REPO = Path(__file__).resolve().parents[2]

DRIVER = """
import json, sys
from pathlib import Path
from gome_es.executor import ExecutionSpec, Executor
info_path = Path(sys.argv[1])
def on_start(info):
    info_path.write_text(info.model_dump_json())
Executor().run(ExecutionSpec(key="orphan", code="import time\\nopen('started', 'w').close()\\ntime.sleep(600)\\n",
    data_dir=Path(sys.argv[2]), workspace_root=Path(sys.argv[3]), timeout_s=600), on_start=on_start)
"""


def _wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.integration
def test_solutions_die_with_their_driver(layout, tmp_path):
    """SIGKILL the driver: the sandbox (PR_SET_PDEATHSIG down to the namespace's init) takes the
    solution with it at once, not at the next resume; resume's orphan check then finds nothing to
    kill and removes the cgroups the dead driver could not."""
    info_path = tmp_path / "info.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(info_path), str(layout["public"]),
                               str(layout["workspaces"])], env=env)
    try:
        assert _wait_for(info_path.exists), "driver never reported the start"
        info = ProcessInfo.model_validate_json(info_path.read_text())
        # Once the solution itself runs (not just the launcher), kill its driver.
        assert _wait_for((info.workspace / "started").exists), "the solution never started"
        assert processes_of(info.workspace), "the solution should be running"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert _wait_for(lambda: not is_alive(info.pid) and not processes_of(info.workspace), 3), \
            "the solution outlived its driver"
        # the sandbox's init is reaped a moment after the solution: wait for the cgroups to empty
        assert _wait_for(lambda: not cgroup_members([Path(d) for d in info.cgroup_dirs]), 3), \
            "a process of the execution outlived its driver"
        # Nothing is left for resume's orphan sweep to kill (an init still tearing its namespace down
        # after leaving its cgroups is exiting, not alive), and it removes the cgroups the dead
        # driver could not.
        assert kill_orphan(info) is False
        assert not any(Path(d).exists() for d in info.cgroup_dirs)
    finally:
        driver.kill()


@pytest.mark.integration
def test_reused_pid_is_never_killed(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        real_start = process_start_time(bystander.pid)
        # A record of an older process that had the same pid: start times differ.
        stale = ProcessInfo(key="old", pid=bystander.pid, pgid=bystander.pid, start_time=real_start - 1000,
                            boot_id=Path("/proc/sys/kernel/random/boot_id").read_text().strip(), host="h",
                            workspace=tmp_path)
        assert kill_orphan(stale) is False
        other_boot = stale.model_copy(update={"start_time": real_start, "boot_id": "another-boot"})
        assert kill_orphan(other_boot) is False
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_process_already_exiting_counts_as_dead():
    """Measured: after the driver's SIGKILL the namespace's init sits in state S with PF_EXITING
    for a while, outside its cgroups, waiting for the namespace to empty; it must not count as a
    survivor.  Built from this process's real /proc stat line with the flag set or cleared."""
    from gome_es.executor.isolation import PF_EXITING, is_dead, stat_says_dead

    line = Path(f"/proc/{os.getpid()}/stat").read_text()
    head, rest = line[: line.rfind(")") + 2], line[line.rfind(")") + 2 :].split()
    assert not is_dead(os.getpid()) and not stat_says_dead(line)

    def with_(state: str, flags: int) -> str:
        return head + " ".join([state, *rest[1:6], str(flags), *rest[7:]])

    assert stat_says_dead(with_("S", int(rest[6]) | PF_EXITING))
    assert not stat_says_dead(with_("S", int(rest[6]) & ~PF_EXITING))
    assert stat_says_dead(with_("Z", 0)) and stat_says_dead(with_("X", 0))
    assert stat_says_dead("garbage") and is_dead(2**22 + 1)
