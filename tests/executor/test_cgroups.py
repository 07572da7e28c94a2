"""cgroups: discovery (v2 preferred, v1 otherwise), limits written, peak and OOM
read back, stale cgroups of a killed driver swept; the default memory limit.

cgroup v2 with memory and pids controllers cannot be exercised on this
machine (cgroup v1, with a controller-less cgroup2 at /sys/fs/cgroup/unified),
so the v2 path runs against a temporary directory tree laid out like cgroupfs:
it checks the files gome writes and reads, not the kernel's enforcement.  The
v1 path runs for real where the host has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gome_es.executor import isolation
from gome_es.executor.isolation import (
    CgroupHost,
    TreeCgroup,
    default_memory_limit_mb,
    host_memory_mb,
)

V2_MOUNTINFO = "36 25 0:31 / {root} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = ("40 25 0:35 / {root}/memory rw,relatime shared:15 - cgroup cgroup rw,memory\n"
                "41 25 0:36 / {root}/pids rw,relatime shared:16 - cgroup cgroup rw,pids\n")


def _fake_v2(tmp_path: Path, controllers: str = "cpu memory pids") -> Path:
    me = tmp_path / "cg" / "user.slice" / "gome.service"
    me.mkdir(parents=True)
    (me / "cgroup.controllers").write_text(controllers + "\n")
    (me / "cgroup.subtree_control").write_text("")
    return me


def test_v2_is_found_from_proc_self_cgroup_and_mountinfo(tmp_path):
    me = _fake_v2(tmp_path)
    host = CgroupHost.discover("0::/user.slice/gome.service\n", V2_MOUNTINFO.format(root=tmp_path / "cg"))
    assert host is not None and host.version == "v2" and host.parents == {"unified": me}


def test_v2_without_memory_and_pids_controllers_is_not_used(tmp_path):
    _fake_v2(tmp_path, controllers="cpu io")  # like this machine's hybrid cgroup2 mount
    assert CgroupHost.discover("0::/user.slice/gome.service\n", V2_MOUNTINFO.format(root=tmp_path / "cg")) is None


def test_v2_execution_cgroup_gets_its_limits_and_reports_peak_and_oom(tmp_path):
    me = _fake_v2(tmp_path)
    host = CgroupHost("v2", {"unified": me})
    cg = host.create("gome-d1-x", memory_limit_mb=512, max_processes=40)
    d = me / "gome-d1-x"
    assert cg.dirs == {"unified": d} and cg.procs_files == [str(d / "cgroup.procs")]
    assert (me / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (d / "memory.max").read_text() == str(512 * 2**20)
    assert (d / "memory.swap.max").read_text() == "0"
    assert (d / "pids.max").read_text() == "40"
    (d / "memory.peak").write_text(str(300 * 2**20) + "\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert cg.peak_memory_mb() == 300 and cg.oom_killed() is False
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_killed() is True


def test_v2_kill_uses_cgroup_kill(tmp_path):
    d = tmp_path / "gome-d1-x"
    d.mkdir()
    (d / "cgroup.kill").write_text("")
    (d / "cgroup.procs").write_text("")
    TreeCgroup("v2", {"unified": d}).kill_all()
    assert (d / "cgroup.kill").read_text() == "1"


def test_v2_refusal_to_delegate_says_what_to_do(tmp_path):
    me = _fake_v2(tmp_path)
    (me / "cgroup.subtree_control").unlink()
    (me / "cgroup.subtree_control").mkdir()  # writing it fails, as EBUSY would on a cgroup with processes
    with pytest.raises(OSError, match="Delegate=yes"):
        CgroupHost("v2", {"unified": me}).create("gome-d1-x", 512, 40)


def test_v1_is_found_per_controller(tmp_path):
    for ctrl in ("memory", "pids"):
        (tmp_path / "cg" / ctrl / "job").mkdir(parents=True)
    host = CgroupHost.discover("5:pids:/job\n4:memory:/job\n0::/\n", V1_MOUNTINFO.format(root=tmp_path / "cg"))
    assert host is not None and host.version == "v1"
    assert host.parents == {"memory": tmp_path / "cg" / "memory" / "job", "pids": tmp_path / "cg" / "pids" / "job"}


@pytest.mark.integration
def test_v1_for_real_limits_hold(tmp_path):
    caps = isolation.probe()
    if caps.cgroups != "v1":
        pytest.skip("no writable cgroup v1 memory hierarchy on this host")
    host = CgroupHost.discover()
    cg = host.create(f"gome-test-{os.getpid()}", memory_limit_mb=64, max_processes=8)
    try:
        assert int((cg.dirs["memory"] / "memory.limit_in_bytes").read_text()) == 64 * 2**20
        assert (cg.dirs["pids"] / "pids.max").read_text().strip() == "8"
    finally:
        cg.remove()
    assert not any(d.exists() for d in cg.dirs.values())


def test_cgroups_of_a_dead_driver_are_swept(tmp_path):
    me = _fake_v2(tmp_path)
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can have it
    stale, live = me / f"gome-d{dead}-a", me / f"gome-d{os.getpid()}-b"
    stale.mkdir()
    live.mkdir()
    removed = isolation.sweep_stale_cgroups(CgroupHost("v2", {"unified": me}))
    assert removed == [stale] and not stale.exists() and live.exists()


def test_default_memory_limit_is_three_quarters_of_the_host_shared_by_slots():
    meminfo = "MemTotal:       24000000 kB\nMemFree: 1 kB\n"
    assert host_memory_mb(meminfo, cgroup_limit_bytes=None) == 24000000 // 1024
    # a container's own cgroup limit, when lower, is the host
    assert host_memory_mb(meminfo, cgroup_limit_bytes=8 * 2**30) == 8192
    assert default_memory_limit_mb(4, host_mb=24000) == 4500
    assert default_memory_limit_mb(1, host_mb=24000) == 18000


@pytest.mark.integration
def test_an_execution_records_its_default_memory_limit(tmp_path):
    from gome_es.executor import ExecutionSpec, Executor

    data = tmp_path / "data"
    data.mkdir()
    r = Executor(slots=3).run(ExecutionSpec(key="m", code="print(1)\n", data_dir=data,
                                            workspace_root=tmp_path / "ws", timeout_s=30))
    assert r.memory_limit_mb == default_memory_limit_mb(3)
    assert r.memory_limit_source == "default: 75% of host memory / 3 slot(s)"
    if isolation.probe().cgroups:
        assert any(layer.startswith("cgroup-") for layer in r.isolation)
