"""The validation hierarchy, called directly: ordered checks, the first failure wins."""

from __future__ import annotations

from typing import Any

import pytest

from gome_es.core.events import VALIDATION_LEVELS
from gome_es.core.policy.validation import BUG_LEVELS, judge

from .helpers import state, trace

GOOD: dict[str, Any] = {"failure": "ok", "exit_code": 0, "submission_sha": "s" * 64,
                        "submission_check": {"valid": True, "reasons": []}, "val_score": 0.9, "audit": {}}


def verdicts(res: dict[str, Any], sota: float | None = 0.5, lower: bool = False) -> dict[str, bool | None]:
    s = state(lower_is_better=lower)
    tr = trace(s, "t1", 0, sota=sota)
    levels = judge(s, tr, res)
    assert [lv.level for lv in levels] == list(VALIDATION_LEVELS)
    return {lv.level: lv.passed for lv in levels}


def first_failure(res: dict[str, Any], **kw: Any) -> str | None:
    return next((lv for lv, ok in verdicts(res, **kw).items() if ok is False), None)


def test_a_good_outcome_that_beats_the_sota_passes_every_level() -> None:
    assert set(verdicts(GOOD).values()) == {True}


@pytest.mark.parametrize("change,level", [
    ({"failure": "timeout", "exit_code": None}, "ran_cleanly"),
    ({"failure": "runtime_error", "exit_code": 1}, "ran_cleanly"),
    ({"failure": "ok", "exit_code": 3}, "ran_cleanly"),
    ({"failure": "missing_submission", "submission_sha": None}, "submission_exists"),
    ({"failure": "invalid_submission", "submission_check": {"valid": False, "reasons": ["3 rows, want 4"]}},
     "format_matches"),
    ({"failure": "nan_metric", "val_score": None}, "score_valid"),
    ({"val_score": float("nan")}, "score_valid"),
    ({"val_score": float("inf")}, "score_valid"),
    ({"failure": "invalid_metrics", "val_score": None}, "score_valid"),
    ({"failure": "missing_metrics", "val_score": None}, "score_valid"),  # as invalid_metrics (it failed at ran_cleanly)
    ({"audit": {"private_access": ["/data/private/answers.csv"]}}, "no_hidden_access"),
    ({"val_score": 0.5}, "beats_sota"),
    ({"val_score": 0.1}, "beats_sota"),
])
def test_each_failure_stops_at_its_level_and_later_levels_are_not_reached(change: dict, level: str) -> None:
    v = verdicts({**GOOD, **change})
    i = VALIDATION_LEVELS.index(level)
    assert all(v[lv] is True for lv in VALIDATION_LEVELS[:i]), v
    assert v[level] is False
    assert all(v[lv] is None for lv in VALIDATION_LEVELS[i + 1:]), v


def test_beats_sota_follows_the_metric_direction_and_a_first_solution_always_beats_none() -> None:
    assert first_failure({**GOOD, "val_score": 0.4}, lower=True) is None
    assert first_failure({**GOOD, "val_score": 0.6}, lower=True) == "beats_sota"
    assert first_failure({**GOOD, "val_score": 0.01}, sota=None) is None


def test_every_level_but_beats_sota_marks_a_bug() -> None:
    assert BUG_LEVELS == VALIDATION_LEVELS[:-1] and "beats_sota" not in BUG_LEVELS
