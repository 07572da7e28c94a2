"""Read-only views of a folded run: what `gome show`, `status` and `watch` print.  Pure.

One iteration numbering for every command, the reports and the events: an iteration is named
as the solution ids name it, 0-based (:func:`iteration_label`: ``i3`` is the iteration of
``t1-i3-a0``), and progress is a count of iterations finished (:func:`iterations_done`,
``4/4 done``).  Every command that shows iterations goes through these helpers.
"""

from __future__ import annotations

from typing import Any

from ..core.state import RunState, TracePhase, TraceState

# phases in which a trace is asking for its *next* iteration's hypothesis (tr.iteration still names
# the previous one: HypothesisProposed moves it)
_BETWEEN_ITERATIONS = frozenset({TracePhase.STARTED, TracePhase.REASONING, TracePhase.REASONED})


def iteration_label(iteration: int | None) -> str:
    """An iteration as the solution ids name it (0-based): ``i3`` for ``t1-i3-a0``; ``-`` for none."""
    return "-" if iteration is None or iteration < 0 else f"i{iteration}"


def current_iteration(tr: TraceState) -> int | None:
    """The iteration a trace is working on (0-based, as in its solution ids), or for a finished trace
    the last it worked on; None for a trace that never began one.  While the hypothesis of the next
    iteration is being reasoned about, that next iteration."""
    if tr.finished_reason is not None:
        return tr.iteration if tr.iteration >= 0 else None
    if tr.phase in _BETWEEN_ITERATIONS:
        return tr.iteration + 1
    return tr.iteration


def iterations_done(tr: TraceState) -> int:
    """How many iterations a trace has finished: all it began once it has finished (what its
    TraceFinished records), else those before the one in progress."""
    if tr.finished_reason is not None:
        return max(tr.iteration + 1, 0)
    return current_iteration(tr) or 0


def trace_progress(tr: TraceState, max_iterations: int | None) -> str:
    """``i3 3/4 done``: the iteration in progress (or the last one) and the count finished."""
    cap = f"/{max_iterations}" if max_iterations else ""
    return f"{iteration_label(current_iteration(tr))} {iterations_done(tr)}{cap} done"


def run_summary(state: RunState) -> dict[str, Any]:
    traces = {}
    for tr in state.traces_in_order():
        traces[tr.trace_id] = {
            "direction": tr.direction,
            "phase": tr.phase.value,
            "iteration": current_iteration(tr),  # 0-based as in the solution ids; None before the first
            "iterations_done": iterations_done(tr),
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
        parts.append(f"{tr.trace_id} {trace_progress(tr, state.config.max_iterations)} {tr.phase.value:<12} "
                     f"best={best}")
    left = max(0.0, state.budget_left_s)
    head = f"[{state.run_id} seq {state.last_seq}] "
    if not parts:
        return head + state.phase.value
    return head + " | ".join(parts) + f" | budget left {left:,.0f}s"
