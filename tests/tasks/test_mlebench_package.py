"""Grading through an installed `mlebench` package: a stand-in package with mlebench's module
layout and habits (root INFO logging switched on at import, warnings for invalid submissions,
an unrounded float score) checks what gome does around it without mle-bench's dependencies."""

from __future__ import annotations

import logging
import sys
import textwrap

import pandas as pd
import pytest

from gome_es.tasks import grade_submission_with_reasons, load_task

from . import mlebench_data

FAKE_GRADE = '''
import logging
from dataclasses import dataclass
from datetime import datetime

logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")  # as mlebench.utils does
logger = logging.getLogger("mlebench.grade")
SCORE = {"value": 0.5}


@dataclass
class Report:
    score: object
    valid: bool
    path: str

    def to_dict(self):
        return {"competition_id": "spaceship-titanic", "score": self.score, "gold_threshold": 0.8,
                "silver_threshold": 0.79, "bronze_threshold": 0.78, "median_threshold": 0.7,
                "any_medal": False, "gold_medal": False, "silver_medal": False, "bronze_medal": False,
                "above_median": self.score is not None, "submission_exists": True,
                "valid_submission": self.valid, "is_lower_better": False,
                "created_at": datetime.now().isoformat(), "submission_path": self.path}


def grade_csv(path, competition):
    logging.getLogger("httpx").info("HTTP Request: POST http://example/v1 200")
    if SCORE["value"] is None:
        logger.warning("Invalid submission: Submission must have the same length as the answers.")
        return Report(None, False, str(path))
    return Report(SCORE["value"], True, str(path))
'''

FAKE_REGISTRY = '''
class _Registry:
    def set_data_dir(self, path):
        return self

    def get_competition(self, cid):
        return cid


registry = _Registry()
'''


@pytest.fixture
def fake_mlebench(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "mlebench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "grade.py").write_text(textwrap.dedent(FAKE_GRADE))
    (pkg / "registry.py").write_text(textwrap.dedent(FAKE_REGISTRY))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "mlebench" or m.startswith("mlebench.")]:
        monkeypatch.delitem(sys.modules, name)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for name in [m for m in sys.modules if m == "mlebench" or m.startswith("mlebench.")]:
        del sys.modules[name]
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def test_grading_through_the_package_keeps_its_logging_out_and_refuses_infinity(fake_mlebench, tmp_path, capsys):
    data = mlebench_data.make(tmp_path / "mle", scale=0.2, only=["spaceship-titanic"])
    task = load_task("mlebench:spaceship-titanic", mlebench_data=data)
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    import mlebench.grade as fake  # the stand-in, from the fixture's path

    graded = grade_submission_with_reasons(task, task.sample_submission_path)
    assert graded.report.score == 0.5 and graded.report.valid_submission
    # mlebench's basicConfig(INFO) is undone: no handler added, level unchanged, nothing printed
    assert list(root.handlers) == handlers_before and root.level == level_before
    logging.getLogger("httpx").info("HTTP Request: POST http://example/v1 200")
    assert "HTTP Request" not in capsys.readouterr().err

    fake.SCORE["value"] = float("inf")
    graded = grade_submission_with_reasons(task, task.sample_submission_path)
    assert graded.report.score is None and not graded.report.valid_submission
    assert "inf" in " ".join(graded.reasons)
    assert pd.Series([graded.report.model_dump(mode="json")["score"]]).isna().all()

    fake.SCORE["value"] = None
    graded = grade_submission_with_reasons(task, task.sample_submission_path)
    assert graded.reasons == ["Invalid submission: Submission must have the same length as the answers."]
