"""GPU discovery: CUDA_VISIBLE_DEVICES narrows what the executor hands out, and a host without
an NVIDIA device answers at once.  nvidia-smi and the torch fallback are real executables on
PATH that print what the real ones print on a four-GPU node (the H100 line is the captured one)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from gome_es.executor import gpu

H100 = "NVIDIA H100 80GB HBM3, 0 MiB, 81559 MiB, 0 %, 39"
SMI_OUT = "index, name, memory.used [MiB], memory.total [MiB], utilization.gpu [%], temperature.gpu\n" + \
    "".join(f"{i}, {H100}\n" for i in range(4))


def _exe(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def smi_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "smi.csv").write_text(SMI_OUT)
    _exe(bin_dir / "nvidia-smi", f'cat "{tmp_path / "smi.csv"}"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


@pytest.mark.integration
@pytest.mark.parametrize("value, expected", [
    (None, [0, 1, 2, 3]), ("2,0", [0, 2]), ("3", [3]), ("", []), ("-1", []), ("1,-1,3", [1]),
    ("GPU-8a1c2e3f", [0, 1, 2, 3]),  # uuids are not mapped: documented, every device stays
])
def test_cuda_visible_devices_narrows_the_devices(smi_on_path, value, expected):
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    assert sorted(d.index for d in gpu.discover(env=env)) == expected


@pytest.mark.integration
def test_slots_name_physical_devices(smi_on_path):
    pool = gpu.GpuPool(gpu.discover(env={"CUDA_VISIBLE_DEVICES": "3,1"}), slots_per_gpu=1)
    got = sorted(pool.acquire(timeout=0).index for _ in range(2))
    assert got == [1, 3] and pool.acquire(timeout=0) is None


def test_no_driver_answers_at_once_without_starting_python(tmp_path, monkeypatch):
    if not gpu._no_driver():
        pytest.skip("this host has /dev/nvidia* device nodes")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    if gpu.shutil.which("nvidia-smi"):
        pytest.skip("nvidia-smi is installed in /usr/bin here")
    marker = tmp_path / "started"
    fake_python = _exe(tmp_path / "python", f'touch "{marker}"\n')
    started = time.monotonic()
    assert gpu.discover(str(fake_python), env={}) == []
    assert time.monotonic() - started < 1.0 and not marker.exists()


@pytest.mark.integration
def test_torch_fallback_maps_visible_devices_back_to_physical(tmp_path, monkeypatch):
    """Without nvidia-smi, torch numbers the visible devices 0..n-1: each slot must carry the
    physical index, which is what the execution's CUDA_VISIBLE_DEVICES is set to."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    if gpu.shutil.which("nvidia-smi"):
        pytest.skip("nvidia-smi is installed in /usr/bin here")
    monkeypatch.setattr(gpu, "_no_driver", lambda: False)  # stand in for /dev/nvidia0 existing
    fake_python = _exe(tmp_path / "python", "echo '0, NVIDIA H100, 0 MiB, 81559 MiB'\n"
                                            "echo '1, NVIDIA H100, 0 MiB, 81559 MiB'\n")
    devices = gpu.discover(str(fake_python), env={"CUDA_VISIBLE_DEVICES": "5,2"})
    assert [d.index for d in devices] == [5, 2]


@pytest.mark.integration
def test_the_environment_is_read_when_no_env_is_given(smi_on_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert [d.index for d in gpu.discover()] == [1]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert len(gpu.discover()) == 4
    assert os.environ.get("CUDA_VISIBLE_DEVICES") is None
