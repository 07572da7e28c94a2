"""The structured inputs of every LLM request: what the reasoner is shown, built from the state.

Each context is a plain dict encoded canonically into a blob (the prompt is a
rendering of it), so what a reasoner saw is part of the log and replay compares
it.  Nothing here decides anything; :mod:`.dispatch` and the strategies call it.
Pure module.
"""

from __future__ import annotations

from typing import Any

from ..state import RunState, Solution, TracePhase, TraceState
from .decision import BlobReader, derive_seed, parse_answer
from .memory import memory_view

# phases in which a trace has a hypothesis that is being coded or run (for similarity rejection)
BUSY = frozenset({
    TracePhase.HYPOTHESIZED,
    TracePhase.CODING,
    TracePhase.DRAFTED,
    TracePhase.CODED,
    TracePhase.EXECUTING,
    TracePhase.EXECUTED,
})


def task_view(state: RunState) -> dict[str, Any]:
    return dict(state.task)


def directions_context(state: RunState, n: int) -> dict[str, Any]:
    """Ask for ``n`` starting directions (one per trace, or one per tree draft)."""
    return {"task": task_view(state), "n": n, "seed": derive_seed(state.config.seed, "directions")}


def last_directions_key(state: RunState) -> str:
    keys = [k for k, c in state.llm.items() if c.purpose == "directions"]
    return keys[-1] if keys else ""


def directions(state: RunState, read_blob: BlobReader) -> list[dict[str, Any]]:
    """The directions of the last answered directions request ([] when it failed)."""
    call = state.llm.get(last_directions_key(state))
    answer = parse_answer(call.response if call else None, "DirectionsOut", read_blob)
    if answer is None:
        return []
    return [d.model_dump() for d in answer.directions]


def feedback_of(state: RunState, sol: Solution | None) -> dict[str, Any] | None:
    """What an execution of ``sol`` told: failure, score, metrics, stderr tail, checks and verdict."""
    if sol is None or sol.exec_key is None:
        return None
    res = state.executions[sol.exec_key].result
    if res is None:
        return None
    return {
        "solution_id": sol.solution_id,
        "failure": res.get("failure"),
        "failure_detail": res.get("failure_detail", ""),
        "val_score": res.get("val_score"),
        "metrics": res.get("metrics", {}),
        "duration_s": res.get("duration_s"),
        "stderr_tail": (res.get("stderr_tail") or "")[-2000:],
        "exception": res.get("exception"),
        "submission_check": res.get("submission_check", {}),
        "audit": res.get("audit", {}),
        "accepted": sol.accepted,
        "first_failure": sol.first_failure,
    }


def in_flight(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
    """Hypotheses other traces are coding or running now (a new candidate too close to one is rejected)."""
    out = []
    for other in state.traces_in_order():
        if other.trace_id == tr.trace_id or other.phase not in BUSY or not other.hypothesis:
            continue
        out.append(
            {
                "trace_id": other.trace_id,
                "hypothesis": other.hypothesis["text"],
                "change": other.hypothesis.get("change", {}),
            }
        )
    return out


def history(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
    out = []
    for sid in tr.solutions[-10:]:
        s = state.solutions[sid]
        out.append(
            {
                "iteration": s.iteration,
                "hypothesis": s.hypothesis,
                "change": s.change,
                "accepted": s.accepted,
                "val_score": s.val_score,
                "failure": s.failure,
            }
        )
    return out


def parent_view(state: RunState, sid: str | None) -> dict[str, Any] | None:
    if sid is None:
        return None
    s = state.solutions[sid]
    res = state.executions[s.exec_key].result if s.exec_key and s.exec_key in state.executions else None
    return {"solution_id": s.solution_id, "recipe": s.recipe, "val_score": s.val_score, "code_sha": s.code_sha,
            "metrics": (res or {}).get("metrics", {})}


def sotas(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
    """Other traces' best solutions: partners for ensembles, read across traces."""
    out = []
    for other in state.traces_in_order():
        if other.trace_id != tr.trace_id and other.sota_id is not None:
            s = state.solutions[other.sota_id]
            out.append({"trace_id": other.trace_id, "solution_id": s.solution_id, "recipe": s.recipe,
                        "val_score": s.val_score})
    return out


def propose_context(state: RunState, tr: TraceState, iteration: int, parent_id: str | None = None) -> dict[str, Any]:
    """What a propose request shows: parent, last feedback, history, memory, in-flight work, other SOTAs."""
    parent_id = parent_id if parent_id is not None else tr.sota_id
    last = state.solutions.get(tr.last_judged or "") if tr.last_judged else None
    return {
        "task": task_view(state),
        "trace_id": tr.trace_id,
        "iteration": iteration,
        "seed": derive_seed(state.config.seed, tr.trace_id, iteration, "propose"),
        "n_candidates": int(state.config.n_candidates),
        "structured": bool(state.config.structured_reasoning),
        "direction": {"name": tr.direction, **(tr.direction_detail or {})},
        "parent": parent_view(state, parent_id),
        "feedback": feedback_of(state, last),
        "history": history(state, tr),
        "memory": memory_view(state),
        "memory_version": state.memory_version,
        "in_flight": in_flight(state, tr),
        "sotas": sotas(state, tr) if state.config.memory else [],
        "time_limit_s": float(state.config.exec_timeout_s),
    }


def debug_context(state: RunState, sol: Solution, attempt: int, read_blob: BlobReader) -> dict[str, Any]:
    return {
        "task": task_view(state),
        "solution_id": sol.solution_id,
        "recipe": sol.recipe,
        "code": read_blob(sol.code_sha).decode("utf-8"),
        "feedback": feedback_of(state, sol),
        "attempt": attempt,
        "hypothesis": {"text": sol.hypothesis, "component": sol.component, "change": sol.change},
    }


def code_context(state: RunState, tr: TraceState, read_blob: BlobReader) -> dict[str, Any]:
    """What a code request shows: the drawn hypothesis, the parent and its code, the direction, memory."""
    hyp = tr.hypothesis or {}
    parent_id = hyp.get("parent_solution_id")
    return {
        "task": task_view(state),
        "hypothesis": {"text": hyp.get("text", ""), "component": hyp.get("component"), "change": hyp.get("change", {})},
        "parent": parent_view(state, parent_id),
        "parent_code": read_blob(state.solutions[parent_id].code_sha).decode("utf-8") if parent_id else None,
        "direction": {"name": tr.direction, **(tr.direction_detail or {})},
        "memory": memory_view(state),
    }


def selection_candidates(state: RunState) -> list[dict[str, Any]]:
    """Each trace's SOTA, the candidates of the final selection."""
    out = []
    for tr in state.traces_in_order():
        if tr.sota_id is None:
            continue
        sol = state.solutions[tr.sota_id]
        out.append(
            {
                "solution_id": sol.solution_id,
                "trace_id": tr.trace_id,
                "val_score": sol.val_score,
                "recipe": sol.recipe,
                "hypothesis": sol.hypothesis,
            }
        )
    return out
