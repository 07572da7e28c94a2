"""Read-only views of a folded run: what `gome show`, `status` and `watch` print.  Pure."""

from __future__ import annotations

from typing import Any

from .state import RunState


def run_summary(state: RunState) -> dict[str, Any]:
    traces = {}
    for tr in state.traces_in_order():
        traces[tr.trace_id] = {
            "direction": tr.direction,
            "phase": tr.phase.value,
            "iteration": tr.iteration,
            "best_val_score": tr.sota_score,
            "best_solution": tr.sota_id,
            "accepted": tr.accepted,
            "solutions": len(tr.solutions),
            "finished": tr.finished_reason,
        }
    failures: dict[str, int] = {}
    for call in state.executions.values():
        if call.result is not None:
            f = call.result.get("failure", "?")
            failures[f] = failures.get(f, 0) + 1
    return {
        "run_id": state.run_id,
        "task_id": state.task_id,
        "origin": state.origin,
        "status": state.status,
        "phase": state.phase.value,
        "strategy": state.config.strategy,
        "reasoner": state.reasoner,
        "code_version": state.code_version,
        "forked_from": state.forked_from,
        "event_count": state.event_count,
        "last_seq": state.last_seq,
        "budget_s": state.budget_s,
        "spent_s": round(state.spent_s, 3),
        "downtime_s": round(state.downtime_s, 3),
        "budget_left_s": round(state.budget_left_s, 3),
        "traces": traces,
        "executions": {"total": len(state.executions), "pending": len(state.pending_executions()),
                       "by_outcome": failures},
        "llm_calls": {"total": len(state.llm), "pending": len(state.pending_llm())},
        "tokens": state.tokens,
        "cost_usd": round(state.cost_usd, 6),
        "memory": {"version": state.memory_version, "entries": len(state.memory)},
        "resumes": [{k: r.get(k) for k in ("seq", "cause", "gap_s", "redo_keys")} for r in state.resumes],
        "selected": state.selected,
        "grade": state.grade,
        "imported_records": state.imported,
    }


def progress_line(state: RunState) -> str:
    parts = []
    for tr in state.traces_in_order():
        best = "-" if tr.sota_score is None else f"{tr.sota_score:.5g}"
        parts.append(f"{tr.trace_id} it{max(tr.iteration, 0)} {tr.phase.value:<12} best={best}")
    left = max(0.0, state.budget_left_s)
    head = f"[{state.run_id} seq {state.last_seq}] "
    if not parts:
        return head + state.phase.value
    return head + " | ".join(parts) + f" | budget left {left:,.0f}s"
