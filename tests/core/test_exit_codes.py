"""Exit codes a script can act on: a run that finished without any valid solution exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_a_run_without_a_valid_solution_exits_1_and_says_why(tmp_path) -> None:
    """Half a second per experiment: no solution even gets sklearn imported, every attempt times out."""
    res = subprocess.run(
        [sys.executable, "-m", "gome_es", "run", "--task", "breast-cancer-diagnosis", "--traces", "1",
         "--max-iterations", "1", "--exec-timeout", "0.5", "--budget", "60", "--quiet",
         "--db", str(tmp_path / "g.db"), "--workspace", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.returncode == 1, res.stderr
    run_id = res.stdout.strip().splitlines()[-1]
    assert "no trace produced a valid solution" in res.stderr
    assert f"no valid solution (exit 1); `gome steps {run_id}`" in res.stderr
    shown = subprocess.run([sys.executable, "-m", "gome_es", "show", run_id, "--db", str(tmp_path / "g.db")],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert shown.returncode == 0 and "failed" in shown.stdout  # reading a failed run is not an error
    # graded as no submission: the grade is shown, no submission file is named
    assert "INVALID submission" in shown.stdout and "submission.csv" not in shown.stdout
