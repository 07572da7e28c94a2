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


def test_a_floating_point_tie_is_not_an_improvement() -> None:
    # the run: 0.99709 "beat" 0.99709 by 1.1e-16 and entered success memory
    sota = 0.1 + 0.2  # 0.30000000000000004
    assert first_failure({**GOOD, "val_score": 0.3}, sota=sota, lower=True) == "beats_sota"
    assert first_failure({**GOOD, "val_score": sota + 1.1e-16}, sota=sota) == "beats_sota"
    assert first_failure({**GOOD, "val_score": sota * (1 + 1e-7)}, sota=sota) is None  # a real gain still counts


def test_a_recorded_config_without_tolerances_compares_strictly_as_it_did() -> None:
    from gome_es.core.events import RunConfig, RunStarted
    old = RunConfig.from_log({"traces": 2})
    assert (old.improve_rel_tol, old.improve_abs_tol) == (0.0, 0.0)
    s = state()
    s.config = old
    assert s.better(0.3 + 1e-16, 0.3) and not s.better(0.3, 0.3)
    started = RunStarted(task_id="t", config={"traces": 2}, reasoner={"kind": "offline"}, code_version="c",
                         gome_version="v")
    assert started.config.improve_rel_tol == 0.0 and started.config.schedule == "lockstep"
    assert RunConfig().improve_rel_tol > 0  # new runs get the tolerance


def test_selection_by_score_keeps_the_first_of_tied_solutions() -> None:
    from gome_es.core.state import Solution
    s = state()
    def sol(sid: str, score: float) -> Solution:
        return Solution(solution_id=sid, trace_id=sid[:2], iteration=0, attempt=0, parent_solution_id=None,
                        code_sha="c" * 64, val_score=score)
    a, b, c = sol("t1-i0-a0", 0.99709), sol("t1-i2-a0", 0.99709 + 1.1e-16), sol("t2-i1-a0", 0.998)
    assert s.best_of([a, b]) is a
    assert s.best_of([a, b, c]) is c
