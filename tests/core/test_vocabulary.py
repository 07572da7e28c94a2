"""The log's vocabulary is enums in the core, and the strings that had drifted from it are gone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gome_es.core.events import LevelVerdict, RunResumed, TraceFinished, ValidationJudged, parse_event
from gome_es.core.vocabulary import (
    BUG_LEVELS,
    GPU_FAILURES,
    RAN_CLEANLY,
    VALIDATION_LEVELS,
    FailureClass,
    ValidationLevel,
)
from gome_es.errors import EventError
from gome_es.executor import FailureClass as ExecutorFailureClass

ROOT = Path(__file__).resolve().parents[2] / "gome_es"
VALUES = {f.value for f in FailureClass}


def test_the_executor_and_the_core_share_one_failure_class() -> None:
    assert ExecutorFailureClass is FailureClass


def test_every_failure_the_resume_and_the_validation_name_is_a_failure_class() -> None:
    assert GPU_FAILURES <= VALUES and RAN_CLEANLY <= VALUES
    assert "device_lost" not in GPU_FAILURES  # checked for, never produced
    assert "invalid_submission" in VALUES  # produced by the driver, now declared


def test_the_driver_names_its_reclassification_through_the_enum() -> None:
    """No failure class is spelled as a bare string in the driver or in resume (that is how they drifted)."""
    for name in ("driver/driver.py", "driver/effects.py", "driver/resume.py", "driver/loops.py"):
        tree = ast.parse((ROOT / name).read_text())
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not literals & (VALUES - {"ok"}), f"gome_es/{name} spells {literals & VALUES} as strings"


def test_missing_and_invalid_metrics_fail_at_the_same_level() -> None:
    from gome_es.core.policy.validation import judge
    from tests.core.policy.helpers import state, trace

    s = state()
    tr = trace(s, "t1", 0)
    base = {"exit_code": 0, "submission_sha": "s", "submission_check": {"valid": True}, "val_score": None}
    first = {}
    for failure in ("missing_metrics", "invalid_metrics"):
        levels = judge(s, tr, {**base, "failure": failure})
        first[failure] = next(lv.level for lv in levels if lv.passed is False)
    assert first == {"missing_metrics": "score_valid", "invalid_metrics": "score_valid"}


def test_levels_are_ordered_and_all_but_the_last_are_bugs() -> None:
    assert [lv.value for lv in VALIDATION_LEVELS] == ["ran_cleanly", "submission_exists", "format_matches",
                                                      "score_valid", "no_hidden_access", "beats_sota"]
    assert BUG_LEVELS == VALIDATION_LEVELS[:-1]


@pytest.mark.parametrize("etype,payload", [
    ("TraceFinished", {"reason": "bored", "best_solution_id": None, "best_score": None, "iterations": 1}),
    ("RunResumed", {"cause": "device_lost", "gap_s": 1.0, "code_version": "x"}),
    ("ValidationJudged", {"key": "k", "solution_id": "s", "iteration": 0, "attempt": 0,
                          "levels": [{"level": "looks_fine", "passed": True}], "first_failure": None,
                          "accepted": True, "val_score": 1.0, "sota_score": None}),
])
def test_a_word_outside_the_vocabulary_is_refused_when_an_event_is_validated(etype: str, payload: dict) -> None:
    with pytest.raises(EventError):
        parse_event(etype, 1, payload)


def test_typed_fields_store_the_same_strings_as_before() -> None:
    ev = TraceFinished(reason="budget", best_solution_id=None, best_score=None, iterations=2)
    assert ev.payload()["reason"] == "budget" and type(ev.payload()["reason"]) is str
    lv = LevelVerdict(level=ValidationLevel.score_valid, passed=False)
    assert lv.model_dump(mode="json") == {"level": "score_valid", "passed": False, "detail": ""}
    rr = RunResumed(cause="crash", gap_s=0.0, code_version="v")
    assert rr.payload()["cause"] == "crash"
    assert ValidationJudged.model_fields["first_failure"].annotation == ValidationLevel | None
