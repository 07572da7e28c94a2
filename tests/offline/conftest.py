"""Fixtures for the offline reasoner tests: task directories and a real solution runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import taskdirs


@pytest.fixture(scope="session")
def tasks(tmp_path_factory):
    """Built lazily: task type -> (T, data dir)."""
    root = tmp_path_factory.mktemp("offline-tasks")
    built: dict[str, tuple[dict, Path]] = {}

    def get(task_type: str):
        if task_type not in built:
            d = root / task_type
            t = taskdirs.BUILDERS[task_type](d)
            answers = t.pop("_test_answers")
            built[task_type] = (t, d, answers)
        return built[task_type]

    return get


def run_solution(code: str, data_dir: Path, workspace: Path, timeout: float = 180):
    """Run generated code the way the executor does: fresh process, fresh cwd."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "solution.py").write_text(code)
    env = {**os.environ, "GOME_DATA_DIR": str(data_dir), "GOME_DEVICE": "cpu",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "solution.py"], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=timeout)
    metrics = None
    if (workspace / "metrics.json").exists():
        metrics = json.loads((workspace / "metrics.json").read_text())
    return proc, metrics
