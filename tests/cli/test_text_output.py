"""Text output for people never shows a Python repr: rounded numbers, "—" for nothing, words for grades."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.report.textfmt import counts, duration, hypothesis_text, score, text
from tests.support.recorded import SEED0, db_with

REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|\['|\d\.\d{7,}")


def gome(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_formatters():
    assert score(0.9953250706675364) == "0.99533" and score(None) == "—" and score(1234.5678) == "1234.6"
    assert text(["malignant"]) == "malignant" and text(None) == "—" and text({"ok": 8}) == "ok 8"
    assert counts({"ok": 7, "timeout": 1}) == "7 ok, 1 timeout"
    assert duration(75.3) == "1m15s" and duration(None) == "—" and duration(-3) == "0.0s"
    assert hypothesis_text("switch the model to svm [no problem visible]") == "switch the model to svm"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return db_with(tmp_path_factory.mktemp("text") / "gome.db", {"seed-0": SEED0})


@pytest.mark.parametrize("args", [
    ["show", "seed-0"], ["status", "seed-0"], ["runs"], ["steps", "seed-0"], ["events", "seed-0"],
])
def test_run_commands_print_no_reprs(db, args):
    r = gome(*args, "--db", str(db))
    assert r.exit_code == 0, r.output
    assert not REPR.search(r.output), REPR.search(r.output)


def test_show_words_the_grade(db):
    out = gome("show", "seed-0", "--db", str(db)).output
    assert "metric auc_roc (higher is better)" in out
    assert re.search(r"selected: t\d-i\d-a\d from t\d \(validation auc_roc 0\.\d{5}; by ", out)
    assert "executions 6 (6 ok)" in out


def test_tasks_show_and_grade_read_as_text():
    out = gome("tasks", "show", "breast-cancer-diagnosis").output
    assert "target_columns           malignant" in out and not REPR.search(out)
    from gome_es.tasks import load_task

    task = load_task("breast-cancer-diagnosis")
    out = gome("tasks", "grade", "breast-cancer-diagnosis", str(task.sample_submission_path)).output
    assert out.splitlines()[1].startswith("test score   ") and "auc_roc, higher is better" in out
    assert out.splitlines()[2].startswith("medal        ") and not REPR.search(out)
