"""`--ray local` always starts a Ray instance of the sweep's own (issue 24): even with $RAY_ADDRESS naming
another cluster (one that is gone here), where a bare ray.init() would attach to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed: `pip install 'gome-es[ray]'` runs the Ray sweep tests")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from pathlib import Path
import ray
from gome_es.sweep.ray_backend import RayBackend
backend = RayBackend("local", Path(sys.argv[1]), cpus_per_run=1, gpus_per_run=0, checkpoint_s=1, store=None)
print("CLUSTER", backend.cluster, backend.started_ray)
ray.shutdown()
"""


@pytest.mark.slow
def test_ray_local_never_attaches_to_the_cluster_ray_address_names(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    bogus = f"127.0.0.1:{s.getsockname()[1]}"
    s.close()  # nothing answers there: attaching would fail
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_ADDRESS": bogus}
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "logs")], capture_output=True, text=True,
                       env=env, timeout=400)
    assert p.returncode == 0, p.stderr[-3000:]
    line = next(x for x in p.stdout.splitlines() if x.startswith("CLUSTER "))
    _, address, started = line.split()
    assert address != bogus and started == "True", line


def test_the_first_line_names_where_the_cells_run():
    from gome_es.cli.sweep_cmd import _where

    assert _where(None) == "on this machine"
    assert "of its own" in _where("local")
    assert "at 10.1.2.3:6379" in _where("10.1.2.3:6379") and "API key" in _where("10.1.2.3:6379")
