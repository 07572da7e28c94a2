"""`gome tasks` through click's CliRunner, checked against the library."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from gome_es.cli.tasks_cmd import tasks_group
from gome_es.tasks import list_tasks, load_task

runner = CliRunner()


def test_every_command_has_help():
    for args in ([], ["list"], ["show"], ["grade"], ["validate"]):
        result = runner.invoke(tasks_group, args + ["--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_list_json_matches_library():
    result = runner.invoke(tasks_group, ["list", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == [i.model_dump(mode="json") for i in list_tasks()]
    table = runner.invoke(tasks_group, ["list"]).output
    assert "penguin-body-mass" in table and "rmse" in table and "lower" in table


def test_show_json_includes_paths():
    result = runner.invoke(tasks_group, ["show", "wine-cultivar", "--json"])
    data = json.loads(result.output)
    task = load_task("wine-cultivar")
    assert data["root"] == str(task.root) and data["fingerprint"] == task.fingerprint
    assert data["metric"] == "multiclass_log_loss" and data["lower_is_better"] is True


def test_unknown_task_is_a_clean_error():
    result = runner.invoke(tasks_group, ["show", "no-such-task"])
    assert result.exit_code == 1 and "no task 'no-such-task'" in result.output
    assert "Traceback" not in result.output


def test_grade_json_report(tmp_path):
    task = load_task("wine-cultivar")
    result = runner.invoke(tasks_group, ["grade", "wine-cultivar", str(task.sample_submission_path), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["competition_id"] == "wine-cultivar" and report["valid_submission"] is True
    assert report["is_lower_better"] is True and report["above_median"] is False


def test_grade_invalid_prints_null_and_reason(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1], "x": [2]}).to_csv(bad, index=False)
    result = runner.invoke(tasks_group, ["grade", "wine-cultivar", str(bad), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["score"] is None
    assert "missing column" in result.stderr


def test_validate_exit_codes(tmp_path):
    task = load_task("penguin-body-mass")
    ok = runner.invoke(tasks_group, ["validate", task.id, str(task.sample_submission_path)])
    assert ok.exit_code == 0 and ok.output.startswith("valid")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,body_mass_g\n1,x\n")
    res = runner.invoke(tasks_group, ["validate", task.id, str(bad)])
    assert res.exit_code == 1 and "invalid" in res.output and "score" not in res.output
