"""Helpers for the sweep tests: `gome sweep` as a real subprocess on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gome_es.store import EventStore

ROOT = Path(__file__).resolve().parents[2]
# the smallest real sweep: one iteration per trace, a one-minute budget, the offline reasoner
TINY = ["--budget", "60", "--max-iterations", "1", "--concurrency", "2"]


def sweep_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GOME_DB", None)
    env.update(PYTHONPATH=str(ROOT), GOME_HOME=str(tmp / "home"), PYTHONUNBUFFERED="1", RAY_AUTH_MODE="disabled")
    env.update(extra)
    return env


def gome(tmp: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gome_es", *args], cwd=tmp, env=env or sweep_env(tmp),
                          capture_output=True, text=True, timeout=timeout)


def start_gome(tmp: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gome_es", *args], cwd=tmp, env=env or sweep_env(tmp),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def events(db: Path, stream: str) -> list[Any]:
    with EventStore.open(db, readonly=True) as store:
        return list(store.read(stream))


def wait_for(what: str, check: Callable[[], Any], timeout: float = 240, proc: subprocess.Popen | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = check()
        except Exception:  # the database is being created: look again
            got = None
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the sweep exited ({proc.returncode}) before {what}:\n{err[-3000:]}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def assert_each_cell_once(db: Path, sweep_id: str) -> dict[str, list[Any]]:
    """Every cell finished exactly once, its run started once, verifies, and was graded."""
    evs = events(db, sweep_id)
    cells = [c["run_id"] for c in evs[0].payload["cells"]]
    finished = [e.payload["run_id"] for e in evs if e.type == "CellFinished"]
    assert sorted(finished) == sorted(cells), "each cell must finish exactly once"
    assert evs[-1].type == "SweepFinished"
    runs = {}
    with EventStore.open(db, readonly=True) as store:
        for rid in cells:
            run = list(store.read(rid))
            assert [e.type for e in run].count("RunStarted") == 1
            assert [e.type for e in run].count("SubmissionGraded") == 1, rid
            assert store.verify(rid).ok, rid
            runs[rid] = run
        assert store.verify(sweep_id).ok
    return runs


@pytest.fixture(scope="session")
def chromium() -> str:
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed (run `bash .ci/install-browser`): "
                    "the browser tests of the sweep report need /usr/bin/chromium")
    return found
