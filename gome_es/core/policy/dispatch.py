"""The entry of the policy: from the folded state, the single next decision.

:func:`decide_one` walks the run's phase, then each trace's phase in order, and
returns the first decision it finds (or ``None`` when everything waits on an
outcome).  It owns the phases every strategy shares (directions, traces,
coding, executing, judging, memory, SOTA, selection, the end of the run) and
asks the run's :class:`~.strategy.Strategy` only where strategies differ.
Pure module.
"""

from __future__ import annotations

from typing import Any

from ..canonical import loads
from ..events import (
    CodeGenerated,
    ExecutionRequested,
    RunFinished,
    SotaChanged,
    SubmissionSelected,
    TraceFinished,
    TraceStarted,
)
from ..schemas import CodeOut, ProposalOut
from ..state import RunPhase, RunState, Solution, TracePhase, TraceState
from . import scoring
from .contexts import (
    code_context,
    debug_context,
    directions,
    directions_context,
    last_directions_key,
    propose_context,
    selection_candidates,
    task_view,
)
from .decision import LLM_RETRIES, BlobReader, Decision, parse_answer, request, text_blob
from .memory import memory_entry
from .strategy import Strategy, strategy_for
from .validation import BUG_LEVELS, judged

# phases in which a trace waits on an outcome (or has finished): nothing to decide
WAITING = frozenset({TracePhase.FINISHED, TracePhase.REASONING, TracePhase.CODING, TracePhase.EXECUTING})


def decide_one(state: RunState, read_blob: BlobReader) -> Decision | None:
    """The next decision, or None when everything waits on an outcome."""
    if state.phase in (RunPhase.NEW, RunPhase.FINISHED):
        return None
    if state.is_stopped:
        return None  # stopped gracefully: nothing more until resumed
    strategy = _strategy(state)

    if state.phase == RunPhase.STARTED:
        ctx = directions_context(state, strategy.n_directions())
        return request(state, None, "directions", "run/directions/0", None, 0, ctx)
    if state.phase == RunPhase.DIRECTING:
        return None
    if state.phase == RunPhase.DIRECTED:
        return _after_directions(state, strategy, read_blob)
    if state.phase == RunPhase.RUNNING:
        if len(state.traces) < strategy.n_traces():
            return _start_trace(state, len(state.traces), read_blob)
        for tr in state.traces_in_order():
            if tr.phase in WAITING:
                continue
            d = _decide_trace(state, strategy, tr, read_blob)
            if d is not None:
                return d
        if all(t.phase == TracePhase.FINISHED for t in state.traces.values()):
            return _select(state)
        return None
    if state.phase == RunPhase.SELECTING:
        call = state.llm[state.select_key] if state.select_key else None
        if call is None or call.response is None:
            return None
        return _selected_from_answer(state, call.response, read_blob)
    if state.phase == RunPhase.SELECTED:
        budget_hit = any(t.finished_reason == "budget" for t in state.traces.values())
        summary = {
            "traces": {
                t.trace_id: {"best": t.sota_score, "iterations": t.iteration + 1, "accepted": t.accepted}
                for t in state.traces.values()
            },
            "selected": (state.selected or {}).get("solution_id"),
        }
        status = "budget_exhausted" if budget_hit else "completed"
        if state.selected and state.selected.get("solution_id") is None:
            status = "failed"
        return Decision(RunFinished(status=status, summary=summary))
    return None


def _strategy(state: RunState) -> Strategy:
    """The run's strategy, kept in the view cache while the (immutable) config object is the same."""
    cached = state.view_cache.get("strategy")
    if cached is not None and cached[0] is state.config:
        kept: Strategy = cached[1]
        return kept
    strategy = strategy_for(state.config)
    state.view_cache["strategy"] = (state.config, strategy)
    return strategy


# ------------------------------------------------------------ run level


def _after_directions(state: RunState, strategy: Strategy, read_blob: BlobReader) -> Decision | None:
    call = state.llm[last_directions_key(state)]
    if not directions(state, read_blob) and call.attempt < LLM_RETRIES:
        a = call.attempt + 1
        ctx = directions_context(state, strategy.n_directions())
        return request(state, None, "directions", f"run/directions/{a}", None, a, ctx)
    return _start_trace(state, 0, read_blob)


def _start_trace(state: RunState, index: int, read_blob: BlobReader) -> Decision:
    # Directions come from the last answered directions request; without any (the
    # reasoner failed), traces start from a neutral direction and diverge by seed.
    dirs = directions(state, read_blob)
    detail = dirs[index % len(dirs)] if dirs else {}
    name = detail.get("name") or f"direction-{index + 1}"
    tid = f"t{index + 1}"
    ev = TraceStarted(index=index, direction=str(name), direction_detail=detail)
    return Decision(ev, tid)


def _select(state: RunState) -> Decision:
    cands = selection_candidates(state)
    if not cands:
        return Decision(
            SubmissionSelected(
                solution_id=None,
                selected_trace=None,
                val_score=None,
                submission_sha=None,
                by="none",
                reason="no trace produced a valid solution",
            )
        )
    context = {"task": task_view(state), "candidates": cands}
    return request(state, None, "select", "run/select/0", None, 0, context)


def _selected_from_answer(state: RunState, response: dict[str, Any], read_blob: BlobReader) -> Decision:
    answer = parse_answer(response, "SelectOut", read_blob)
    by_score = state.best_of(state.solutions[c["solution_id"]] for c in selection_candidates(state))
    assert by_score is not None  # asked only with candidates
    chosen, by, reason = by_score, "val_score", "best validation score (reasoner answer unusable)"
    if answer is not None and answer.solution_id in state.solutions:
        sol = state.solutions[answer.solution_id]
        if state.traces.get(sol.trace_id or "") and state.traces[sol.trace_id or ""].sota_id == sol.solution_id:
            chosen, by, reason = sol, "reasoner", answer.reason or "chosen by the reasoner"
    return Decision(
        SubmissionSelected(
            solution_id=chosen.solution_id,
            selected_trace=chosen.trace_id,
            val_score=chosen.val_score,
            submission_sha=chosen.submission_sha,
            by=by,
            reason=reason,
            llm_key=state.select_key,
        )
    )


# ----------------------------------------------------------- trace level


def _decide_trace(state: RunState, strategy: Strategy, tr: TraceState, read_blob: BlobReader) -> Decision | None:
    ph = tr.phase
    if ph in WAITING:
        return None
    if ph == TracePhase.STARTED:
        return _begin_iteration(state, strategy, tr, read_blob)
    if ph == TracePhase.REASONED:
        return _hypothesis_from_answer(state, tr, read_blob)
    if ph == TracePhase.HYPOTHESIZED:
        return _request_code(state, tr, read_blob)
    if ph == TracePhase.DRAFTED:
        return _code_from_answer(state, strategy, tr, read_blob)
    if ph == TracePhase.CODED:
        if state.budget_left_s < float(state.config.est_exec_s):
            return _finish(tr, "budget")
        sol = state.solutions[tr.solution_id or ""]
        key = f"{tr.trace_id}/it{tr.iteration}/exec/{tr.attempt}"
        return Decision(
            ExecutionRequested(
                key=key,
                solution_id=sol.solution_id,
                code_sha=sol.code_sha,
                iteration=tr.iteration,
                attempt=tr.attempt,
                timeout_s=float(state.config.exec_timeout_s),
            ),
            tr.trace_id,
        )
    if ph == TracePhase.EXECUTED:
        return judged(state, tr)
    if ph == TracePhase.JUDGED:
        sol = state.solutions[tr.last_judged or ""]
        if sol.accepted:
            prev = tr.sota_score
            if strategy.remembers() and prev is not None:
                return memory_entry(state, tr, sol, prev)
            return _sota(tr, sol)
        if (
            strategy.debugs_after_judging()
            and sol.first_failure in BUG_LEVELS
            and tr.attempt < int(state.config.debug_max)
            and state.budget_left_s >= float(state.config.est_exec_s)
        ):
            a = tr.attempt + 1
            ctx = debug_context(state, sol, a, read_blob)
            return request(state, tr, "debug", f"{tr.trace_id}/it{tr.iteration}/debug/{a}", tr.iteration, a, ctx)
        return _begin_iteration(state, strategy, tr, read_blob)
    if ph == TracePhase.REMEMBERED:
        return _sota(tr, state.solutions[tr.last_judged or ""])
    if ph == TracePhase.IMPROVED:
        return _begin_iteration(state, strategy, tr, read_blob)
    return None


def _finish(tr: TraceState, reason: str) -> Decision:
    return Decision(
        TraceFinished(
            reason=reason,
            best_solution_id=tr.sota_id,
            best_score=tr.sota_score,
            iterations=tr.iteration + 1,
        ),
        tr.trace_id,
    )


def _sota(tr: TraceState, sol: Solution) -> Decision:
    return Decision(
        SotaChanged(
            solution_id=sol.solution_id,
            val_score=float(sol.val_score),  # type: ignore[arg-type]
            previous_solution_id=tr.sota_id,
            previous_score=tr.sota_score,
            code_sha=sol.code_sha,
            submission_sha=sol.submission_sha,
        ),
        tr.trace_id,
    )


def _begin_iteration(state: RunState, strategy: Strategy, tr: TraceState, read_blob: BlobReader) -> Decision:
    nxt = tr.iteration + 1
    cfg = state.config
    if nxt >= int(cfg.max_iterations):
        return _finish(tr, "max_iterations")
    if state.budget_left_s < float(cfg.est_exec_s):
        return _finish(tr, "budget")
    return strategy.begin_iteration(state, tr, nxt, read_blob)


def _hypothesis_from_answer(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    call = state.llm[tr.last_llm or ""]
    answer: ProposalOut | None = parse_answer(call.response, "ProposalOut", read_blob)
    iteration = call.iteration if call.iteration is not None else tr.iteration + 1
    if answer is None or not answer.candidates:
        if call.attempt < LLM_RETRIES:
            a = call.attempt + 1
            ctx = propose_context(state, tr, iteration)
            return request(state, tr, "propose", f"{tr.trace_id}/it{iteration}/propose/{a}", iteration, a, ctx)
        return _finish(tr, "reasoner_failed")
    # looked up on the module, so a test can swap the rule and watch replay catch it
    return scoring.hypothesis_decision(state, tr, iteration, answer, call.key)


def _request_code(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    hyp = tr.hypothesis or {}
    parent_id = hyp.get("parent_solution_id")
    if hyp.get("component") == "debug" and parent_id:
        sol = state.solutions[parent_id]
        a = tr.attempt + 1
        ctx = debug_context(state, sol, a, read_blob)
        return request(state, tr, "debug", f"{tr.trace_id}/it{tr.iteration}/debug/{a}", tr.iteration, a, ctx)
    key = f"{tr.trace_id}/it{tr.iteration}/code/0"
    return request(state, tr, "code", key, tr.iteration, 0, code_context(state, tr, read_blob))


def _code_from_answer(state: RunState, strategy: Strategy, tr: TraceState, read_blob: BlobReader) -> Decision:
    call = state.llm[tr.last_llm or ""]
    answer: CodeOut | None = parse_answer(call.response, "CodeOut", read_blob)
    if answer is None or not answer.code.strip():
        if call.purpose == "code" and call.attempt < LLM_RETRIES:
            a = call.attempt + 1
            ctx = loads(read_blob(call.request["context_sha"]))
            key = f"{tr.trace_id}/it{tr.iteration}/code/{a}"
            return request(state, tr, "code", key, tr.iteration, a, ctx)
        return _begin_iteration(state, strategy, tr, read_blob)
    attempt = call.attempt if call.purpose == "debug" else 0
    hyp = tr.hypothesis or {}
    parent = hyp.get("parent_solution_id")
    if call.purpose == "debug":
        # a debug attempt fixes the current attempt's code; its parent is what it fixes
        parent = tr.solution_id or parent
    sid = f"{tr.trace_id}-i{tr.iteration}-a{attempt}"
    sha, raw = text_blob(answer.code)
    return Decision(
        CodeGenerated(
            iteration=tr.iteration,
            attempt=attempt,
            solution_id=sid,
            parent_solution_id=parent,
            code_sha=sha,
            llm_key=call.key,
            summary=answer.summary[:500],
            recipe=answer.recipe,
        ),
        tr.trace_id,
        {sha: raw},
    )
