"""Hierarchical validation: ordered checks of an execution's outcome, the first failure wins.

ran cleanly -> submission exists -> format matches the sample submission ->
validation score valid (finite) -> no access to hidden answers -> beats the
trace's SOTA.  Levels after the first failure are "not reached".  A failure at
one of :data:`BUG_LEVELS` means the code is buggy (worth a debug attempt);
failing only ``beats_sota`` means it ran but did not improve.  Pure module.
"""

from __future__ import annotations

import math
from typing import Any

from ..events import LevelVerdict, ValidationJudged
from ..state import RunState, TraceState
from ..vocabulary import BUG_LEVELS, RAN_CLEANLY, FailureClass
from ..vocabulary import ValidationLevel as L
from .decision import Decision

__all__ = ["BUG_LEVELS", "RAN_CLEANLY", "judge", "judged"]


def judge(state: RunState, tr: TraceState, res: dict[str, Any]) -> list[LevelVerdict]:
    """The hierarchical validation: ordered checks, the first failure wins."""
    checks: list[tuple[L, bool, str]] = []
    failure = res.get("failure", FailureClass.ok.value)
    ran = failure in RAN_CLEANLY and (res.get("exit_code") in (0, None))
    checks.append((L.ran_cleanly, ran, failure if not ran else "exit 0"))
    has_sub = res.get("submission_sha") is not None
    checks.append((L.submission_exists, has_sub, "submission.csv written" if has_sub else "no submission.csv"))
    chk = res.get("submission_check") or {}
    fmt_ok = bool(chk.get("valid", False))
    checks.append((L.format_matches, fmt_ok, "; ".join(chk.get("reasons", []))[:500] or "matches sample submission"))
    score = res.get("val_score")
    score_ok = isinstance(score, (int, float)) and math.isfinite(score) and failure != FailureClass.nan_metric
    checks.append((L.score_valid, score_ok, f"val_score={score}" if score_ok else f"no finite val_score ({failure})"))
    audit = res.get("audit") or {}
    hidden = list(audit.get("private_access") or [])
    checks.append((L.no_hidden_access, not hidden, f"tried to read {hidden[:3]}" if hidden else "no access"))
    beats = state.better(score, tr.sota_score) if score_ok else False
    checks.append(
        (L.beats_sota, beats, f"{score} vs SOTA {tr.sota_score}" + ("" if beats else " (not better)"))
    )
    out: list[LevelVerdict] = []
    failed = False
    for name, ok, detail in checks:
        if failed:
            out.append(LevelVerdict(level=name, passed=None, detail="not reached"))
            continue
        out.append(LevelVerdict(level=name, passed=ok, detail=detail))
        failed = not ok
    return out


def judged(state: RunState, tr: TraceState) -> Decision:
    """``ValidationJudged`` for the trace's current attempt, from its execution's outcome."""
    sol = state.solutions[tr.solution_id or ""]
    call = state.executions[sol.exec_key or ""]
    res = call.result or {}
    levels = judge(state, tr, res)
    first = next((lv.level for lv in levels if lv.passed is False), None)
    return Decision(
        ValidationJudged(
            key=call.key,
            solution_id=sol.solution_id,
            iteration=tr.iteration,
            attempt=tr.attempt,
            levels=levels,
            first_failure=first,
            accepted=first is None,
            val_score=res.get("val_score"),
            sota_score=tr.sota_score,
        ),
        tr.trace_id,
    )
