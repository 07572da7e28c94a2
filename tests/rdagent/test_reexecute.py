"""`gome replay IMPORTED --reexecute --mlebench-data DIR` re-runs RD-Agent's recorded code in gome's sandbox.

``run_e-plain`` was written by RD-Agent's workflow objects on the bundled
``penguin-body-mass`` data, each loop's ``main.py`` really run in its RD-Agent
workspace (data at ``./workspace_input/``, ``scores.csv`` read back): loop 0 is
deterministic, loop 1 splits its validation set without a seed, loop 2 failed
in RD-Agent's coder and never ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.executor import ExecutionResult, FailureClass
from gome_es.rdagent.reexecute import _why_not_ok, safe_files, solution_for
from gome_es.tasks import load_task

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"


def _mlebench_layout(tmp_path: Path) -> Path:
    """DIR/<competition>/prepared/{public,private}, as `mlebench prepare` lays it out."""
    task = load_task("penguin-body-mass")
    root = tmp_path / "mle"
    shutil.copytree(task.public_dir, root / "penguin-body-mass" / "prepared" / "public")
    shutil.copytree(task.private_dir, root / "penguin-body-mass" / "prepared" / "private")
    # what mle-bench keeps per competition (mlebench/competitions/<id>/), placed beside prepared/
    (root / "penguin-body-mass" / "config.yaml").write_text(
        "id: penguin-body-mass\nname: Penguin body mass\n\ndataset:\n"
        "  answers: penguin-body-mass/prepared/private/answers.csv\n"
        "  sample_submission: penguin-body-mass/prepared/public/sample_submission.csv\n\n"
        "grader:\n  name: root-mean-squared-error\n")
    shutil.copy(task.leaderboard_path, root / "penguin-body-mass" / "leaderboard.csv")
    return root


@pytest.mark.integration
def test_replay_reexecute_reports_each_imported_experiment(tmp_path):
    db = str(tmp_path / "g.db")
    r = CliRunner().invoke(cli, ["import-rdagent", str(FIX / "run_e-plain"), "--run-id", "e", "--db", db])
    assert r.exit_code == 0, r.output
    mle = _mlebench_layout(tmp_path)
    out = CliRunner().invoke(cli, ["replay", "e", "--reexecute", "--mlebench-data", str(mle), "--db", db, "--json"])
    assert out.exit_code == 1, out.output  # not everything reproduced
    rex = json.loads(out.stdout)["reexecute"]
    assert rex["task"] == "mlebench:penguin-body-mass"
    assert (rex["total"], rex["reproduced"], rex["differs"], rex["cannot_run"]) == (3, 1, 1, 1)
    rows = {r["loop"]: r for r in rex["experiments"]}
    # loop 0: the same code on the same data gives RD-Agent's recorded ensemble score
    assert rows[0]["status"] == "reproduced" and rows[0]["failure"] == "ok"
    assert abs(rows[0]["val_score"] - rows[0]["recorded_val_score"]) < 1e-6
    assert 300 < rows[0]["val_score"] < 450  # an RMSE in grams, read from scores.csv
    # loop 1: ran cleanly, another random split: recorded vs now, both shown
    assert rows[1]["status"] == "differs" and rows[1]["failure"] == "ok"
    assert rows[1]["val_score"] != rows[1]["recorded_val_score"]
    assert str(rows[1]["recorded_val_score"]) in rows[1]["why"]
    # loop 2: RD-Agent's coder gave up; there is nothing to reproduce
    assert rows[2]["status"] == "cannot_run" and "coder_error" in rows[2]["why"]
    assert rows[2]["failure"] is None  # nothing was executed


@pytest.mark.integration
def test_solution_maps_the_data_mount_and_scores_to_gomes_contract(tmp_path):
    # run the generated solution as the sandbox would (cwd = workspace, GOME_DATA_DIR = public data)
    data = tmp_path / "public"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n3,4\n")
    main = (
        "import pandas as pd, os\n"
        "a = pd.read_csv('./workspace_input/train.csv')\n"
        "b = pd.read_csv('/kaggle/input/train.csv')\n"
        "from helper import factor\n"
        "pd.DataFrame({'rmse': [0.5, factor * len(a) + len(b)]}, index=['m', 'ensemble']).to_csv('scores.csv')\n"
        "pd.DataFrame({'id': [0], 'y': [1]}).to_csv('submission.csv', index=False)\n"
    )
    code = solution_for(3, {"main.py": main, "helper.py": "factor = 0.25\n", "../escape.py": "x", "/abs.py": "x"})
    work = tmp_path / "work"
    work.mkdir()
    (work / "solution.py").write_text(code)
    done = subprocess.run([sys.executable, "solution.py"], cwd=work, capture_output=True, text=True,
                          env={**os.environ, "GOME_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    metrics = json.loads((work / "metrics.json").read_text())
    assert metrics["val_score"] == 2.5 and metrics["metric"] == "rmse"
    assert metrics["rdagent_scores"] == {"m": ["0.5"], "ensemble": ["2.5"]}
    assert (work / "submission.csv").is_file()
    assert not (tmp_path / "escape.py").exists() and not Path("/abs.py").exists()
    assert safe_files({"a/b.py": "", "../x": "", "/y": "", "c\\d": ""}) == {"a/b.py": ""}


def test_a_missing_package_is_cannot_run_and_a_crash_differs():
    missing = ExecutionResult(key="k", workspace=Path("/w"), failure=FailureClass.python_exception, detail="exit 1",
                              stderr_tail="ModuleNotFoundError: No module named 'lightgbm'\n")
    assert _why_not_ok(missing) == ("cannot_run", "the code needs the package 'lightgbm', which this "
                                                  "environment lacks")
    crashed = ExecutionResult(key="k", workspace=Path("/w"), failure=FailureClass.timeout, detail="ran past 60s")
    status, why = _why_not_ok(crashed)
    assert status == "differs" and "now timeout" in why


def test_a_competition_without_data_says_to_pass_mlebench_data(tmp_path):
    db = str(tmp_path / "g.db")
    assert CliRunner().invoke(cli, ["import-rdagent", str(FIX / "run_c-signed"), "--run-id", "c", "--db", db]).exit_code == 0
    out = CliRunner().invoke(cli, ["replay", "c", "--reexecute", "--db", db])
    assert out.exit_code == 2
    assert "spaceship-titanic" in out.output and "--mlebench-data" in out.output
    assert "Traceback" not in out.output
    missing = CliRunner().invoke(cli, ["replay", "c", "--reexecute", "--mlebench-data", str(tmp_path), "--db", db])
    assert missing.exit_code == 2 and "mlebench prepare" in missing.output
