"""The pure policy: from the folded state, the next decision.

:func:`decide_one` returns the single next decision event the agent takes (or
``None`` when every trace waits on a side effect).  The live driver calls it
until it returns ``None``, appends the batch, then performs the outstanding
side effects; replay calls it at every recorded decision and compares.  So
the same code path makes and checks every decision.

Inputs are the state, the recorded blobs (content-addressed, so reading one is
referentially transparent) and nothing else: randomness comes from seeds
derived from (run seed, trace, iteration), time from recorded ``ts``.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from .canonical import fast_canonical_json, loads, sha256_hex
from .events import (
    Candidate,
    CodeGenerated,
    Draw,
    Event,
    ExecutionRequested,
    HypothesisProposed,
    LevelVerdict,
    LLMRequested,
    MemoryEntry,
    MemoryUpdated,
    Problem,
    RunFinished,
    SotaChanged,
    SubmissionSelected,
    TraceFinished,
    TraceStarted,
    ValidationJudged,
)
from .schemas import DIMENSIONS, PURPOSE_SCHEMA, SCHEMAS, CodeOut, ProposalOut
from .state import RunPhase, RunState, Solution, TracePhase, TraceState
from . import prompts

BlobReader = Callable[[str], bytes]

# Validation levels where a failure means the code is buggy (worth a debug attempt).
BUG_LEVELS = ("ran_cleanly", "submission_exists", "format_matches", "score_valid", "no_hidden_access")
LLM_RETRIES = 2  # extra requests after a reasoner error before giving up on that step


@dataclass
class Decision:
    """One event the policy decided, plus the new blobs it references."""

    event: Event
    trace_id: str | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)


def derive_seed(*parts: Any) -> int:
    """A seed from (run seed, trace, iteration, ...): independent streams, no shared RNG."""
    return int(sha256_hex(fast_canonical_json(list(parts)))[:8], 16)  # < 2**32: fits any library seed


def _blob(data: str) -> tuple[str, bytes]:
    raw = data.encode("utf-8")
    return sha256_hex(raw), raw


# ------------------------------------------------------------------ entry


def decide_one(state: RunState, read_blob: BlobReader) -> Decision | None:
    """The next decision, or None when everything waits on an outcome."""
    if state.phase in (RunPhase.NEW, RunPhase.FINISHED):
        return None
    if state.is_stopped:
        return None  # stopped gracefully: nothing more until resumed
    cfg = state.config
    n_traces = 1 if cfg.get("strategy") == "tree" else int(cfg["traces"])

    if state.phase == RunPhase.STARTED:
        return _request(state, None, "directions", "run/directions/0", None, 0, _directions_context(state))
    if state.phase == RunPhase.DIRECTING:
        return None
    if state.phase == RunPhase.DIRECTED:
        return _after_directions(state, read_blob)
    if state.phase == RunPhase.RUNNING:
        if len(state.traces) < n_traces:
            return _start_trace(state, len(state.traces), read_blob)
        for tr in state.traces_in_order():
            if tr.phase in _WAITING:
                continue
            d = _decide_trace(state, tr, read_blob)
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


# ------------------------------------------------------------ run level


def _request(
    state: RunState,
    tr: TraceState | None,
    purpose: str,
    key: str,
    iteration: int | None,
    attempt: int,
    context: dict[str, Any],
) -> Decision:
    model = str(state.reasoner.get("model", ""))
    ctx_text = fast_canonical_json(context)  # encoded once: the blob and the prompt share it
    csha, craw = _blob(ctx_text)
    msha, mraw = _blob(prompts.messages_json(prompts.messages_for(purpose, context, ctx_text)))
    ev = LLMRequested(
        key=key,
        purpose=purpose,  # type: ignore[arg-type]
        iteration=iteration,
        attempt=attempt,
        model=model,
        messages_sha=msha,
        context_sha=csha,
        schema_name=PURPOSE_SCHEMA[purpose],
    )
    return Decision(ev, tr.trace_id if tr else None, {msha: mraw, csha: craw})


def _parse(call_response: dict[str, Any] | None, schema: str, read_blob: BlobReader) -> Any | None:
    """The validated answer of a response, or None when it errored or does not validate."""
    if not call_response or call_response.get("error") or not call_response.get("content_sha"):
        return None
    try:
        raw = read_blob(call_response["content_sha"]).decode("utf-8")
        return SCHEMAS[schema].model_validate(loads(raw))
    except (ValueError, ValidationError, KeyError):
        return None


def _task_view(state: RunState) -> dict[str, Any]:
    return dict(state.task)


def _directions_context(state: RunState) -> dict[str, Any]:
    cfg = state.config
    n = int(cfg.get("tree_drafts", 3)) if cfg.get("strategy") == "tree" else int(cfg["traces"])
    return {"task": _task_view(state), "n": n, "seed": derive_seed(cfg["seed"], "directions")}


def _directions(state: RunState, read_blob: BlobReader) -> list[dict[str, Any]]:
    call = state.llm.get(_last_directions_key(state))
    answer = _parse(call.response if call else None, "DirectionsOut", read_blob)
    if answer is None:
        return []
    return [d.model_dump() for d in answer.directions]


def _last_directions_key(state: RunState) -> str:
    keys = [k for k, c in state.llm.items() if c.purpose == "directions"]
    return keys[-1] if keys else ""


def _after_directions(state: RunState, read_blob: BlobReader) -> Decision | None:
    call = state.llm[_last_directions_key(state)]
    if not _directions(state, read_blob) and call.attempt < LLM_RETRIES:
        a = call.attempt + 1
        return _request(state, None, "directions", f"run/directions/{a}", None, a, _directions_context(state))
    return _start_trace(state, 0, read_blob)


def _start_trace(state: RunState, index: int, read_blob: BlobReader) -> Decision:
    # Directions come from the last answered directions request; without any (the
    # reasoner failed), traces start from a neutral direction and diverge by seed.
    dirs = _directions(state, read_blob)
    detail = dirs[index % len(dirs)] if dirs else {}
    name = detail.get("name") or f"direction-{index + 1}"
    tid = f"t{index + 1}"
    ev = TraceStarted(index=index, direction=str(name), direction_detail=detail)
    return Decision(ev, tid)


def _select(state: RunState) -> Decision:
    cands = _selection_candidates(state)
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
    context = {"task": _task_view(state), "candidates": cands}
    return _request(state, None, "select", "run/select/0", None, 0, context)


def _selection_candidates(state: RunState) -> list[dict[str, Any]]:
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


def _selected_from_answer(state: RunState, response: dict[str, Any], read_blob: BlobReader) -> Decision:
    answer = _parse(response, "SelectOut", read_blob)
    by_score = max(
        (state.solutions[c["solution_id"]] for c in _selection_candidates(state)),
        key=lambda s: (s.val_score if not state.lower_is_better else -(s.val_score or 0.0)),
    )
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
            by=by,  # type: ignore[arg-type]
            reason=reason,
            llm_key=state.select_key,
        )
    )


# ----------------------------------------------------------- trace level


# phases in which a trace waits on an outcome (or has finished): nothing to decide
_WAITING = frozenset({TracePhase.FINISHED, TracePhase.REASONING, TracePhase.CODING, TracePhase.EXECUTING})


def _decide_trace(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision | None:
    ph = tr.phase
    if ph in _WAITING:
        return None
    if ph == TracePhase.STARTED:
        return _begin_iteration(state, tr, read_blob)
    if ph == TracePhase.REASONED:
        return _hypothesis_from_answer(state, tr, read_blob)
    if ph == TracePhase.HYPOTHESIZED:
        return _request_code(state, tr, read_blob)
    if ph == TracePhase.DRAFTED:
        return _code_from_answer(state, tr, read_blob)
    if ph == TracePhase.CODED:
        if state.budget_left_s < float(state.config.get("est_exec_s", 30.0)):
            return _finish(state, tr, "budget")
        sol = state.solutions[tr.solution_id or ""]
        key = f"{tr.trace_id}/it{tr.iteration}/exec/{tr.attempt}"
        return Decision(
            ExecutionRequested(
                key=key,
                solution_id=sol.solution_id,
                code_sha=sol.code_sha,
                iteration=tr.iteration,
                attempt=tr.attempt,
                timeout_s=float(state.config.get("exec_timeout_s", 300.0)),
            ),
            tr.trace_id,
        )
    if ph == TracePhase.EXECUTED:
        return _judge(state, tr)
    if ph == TracePhase.JUDGED:
        sol = state.solutions[tr.last_judged or ""]
        if sol.accepted:
            prev = tr.sota_score
            if state.config.get("memory", True) and prev is not None and state.config.get("strategy") != "tree":
                delta = (prev - sol.val_score) if state.lower_is_better else (sol.val_score - prev)  # type: ignore[operator]
                entry = MemoryEntry(
                    trace_id=tr.trace_id,
                    iteration=tr.iteration,
                    solution_id=sol.solution_id,
                    hypothesis=sol.hypothesis,
                    component=sol.component or "model",
                    change=sol.change,
                    delta=float(delta),
                    val_score=float(sol.val_score),  # type: ignore[arg-type]
                )
                return Decision(MemoryUpdated(version=state.memory_version + 1, entry=entry), tr.trace_id)
            return _sota(state, tr, sol)
        if (
            state.config.get("strategy") != "tree"
            and sol.first_failure in BUG_LEVELS
            and tr.attempt < int(state.config.get("debug_max", 2))
            and state.budget_left_s >= float(state.config.get("est_exec_s", 30.0))
        ):
            a = tr.attempt + 1
            ctx = _debug_context(state, sol, a, read_blob)
            return _request(state, tr, "debug", f"{tr.trace_id}/it{tr.iteration}/debug/{a}", tr.iteration, a, ctx)
        return _begin_iteration(state, tr, read_blob)
    if ph == TracePhase.REMEMBERED:
        return _sota(state, tr, state.solutions[tr.last_judged or ""])
    if ph == TracePhase.IMPROVED:
        return _begin_iteration(state, tr, read_blob)
    return None


def _finish(state: RunState, tr: TraceState, reason: str) -> Decision:
    return Decision(
        TraceFinished(
            reason=reason,  # type: ignore[arg-type]
            best_solution_id=tr.sota_id,
            best_score=tr.sota_score,
            iterations=tr.iteration + 1,
        ),
        tr.trace_id,
    )


def _sota(state: RunState, tr: TraceState, sol: Solution) -> Decision:
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


def _begin_iteration(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    nxt = tr.iteration + 1
    cfg = state.config
    if nxt >= int(cfg["max_iterations"]):
        return _finish(state, tr, "max_iterations")
    if state.budget_left_s < float(cfg.get("est_exec_s", 30.0)):
        return _finish(state, tr, "budget")
    if cfg.get("strategy") == "tree":
        from .tree_policy import tree_step

        return tree_step(state, tr, nxt, read_blob)
    if nxt == 0:
        return _direction_hypothesis(state, tr, nxt)
    ctx = propose_context(state, tr, nxt)
    return _request(state, tr, "propose", f"{tr.trace_id}/it{nxt}/propose/0", nxt, 0, ctx)


def _direction_hypothesis(state: RunState, tr: TraceState, iteration: int, parent: str | None = None) -> Decision:
    detail = tr.direction_detail or {}
    text = detail.get("text") or f"start from {tr.direction}"
    seed = derive_seed(state.config["seed"], tr.trace_id, iteration)
    return single_hypothesis(state, tr, iteration, seed, parent, text, detail.get("component", "model"),
                             detail.get("change", {}))


def single_hypothesis(state: RunState, tr: TraceState, iteration: int, seed: int, parent: str | None, text: str,
                      component: str, change: dict[str, Any]) -> Decision:
    """A hypothesis with one candidate and nothing to draw (a starting direction, a draft, a debug step)."""
    cand = Candidate(id="c0", text=text, component=component, change=change)
    return Decision(
        HypothesisProposed(
            iteration=iteration,
            parent_solution_id=parent,
            structured=False,
            candidates=[cand],
            top_k=1,
            draw=Draw(seed=seed, pool=["c0"], index=0, chosen_id="c0"),
            memory_version=state.memory_version,
            hypothesis=text,
            component=component,
            change=change,
        ),
        tr.trace_id,
    )


# --------------------------------------------------------------- contexts


def feedback_of(state: RunState, sol: Solution | None) -> dict[str, Any] | None:
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


def memory_view(state: RunState) -> list[dict[str, Any]]:
    """Success memory weighted toward recent and large gains (shared by all traces).

    The view is a function of the memory (which only grows, each entry bumping
    ``memory_version``) and two config values, so it is kept on the state
    under that key: a trace's propose and code requests, and the other traces,
    read the same view until the memory changes.  Callers must not mutate it.
    """
    if not state.config.get("memory", True):
        return []
    half_life = float(state.config.get("memory_half_life", 4.0)) or 1.0
    key = (state.memory_version, len(state.memory), half_life)
    cached = state.view_cache.get("memory_view")
    if cached is not None and cached[0] == key:
        return cached[1]
    top = max((abs(m["delta"]) for m in state.memory), default=0.0) or 1.0
    weights = [
        round((abs(m["delta"]) / top) * 0.5 ** ((state.memory_version - m["version"]) / half_life), 6)
        for m in state.memory
    ]
    # the 12 heaviest, ties in memory order (a stable sort); dicts only for those
    best = sorted(range(len(weights)), key=lambda i: -weights[i])[:12]
    view = [
        {
            "trace_id": state.memory[i]["trace_id"],
            "hypothesis": state.memory[i]["hypothesis"],
            "component": state.memory[i]["component"],
            "change": state.memory[i].get("change", {}),
            "delta": state.memory[i]["delta"],
            "weight": weights[i],
        }
        for i in best
    ]
    state.view_cache["memory_view"] = (key, view)
    return view


def _in_flight(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
    busy = {
        TracePhase.HYPOTHESIZED,
        TracePhase.CODING,
        TracePhase.DRAFTED,
        TracePhase.CODED,
        TracePhase.EXECUTING,
        TracePhase.EXECUTED,
    }
    out = []
    for other in state.traces_in_order():
        if other.trace_id == tr.trace_id or other.phase not in busy or not other.hypothesis:
            continue
        out.append(
            {
                "trace_id": other.trace_id,
                "hypothesis": other.hypothesis["text"],
                "change": other.hypothesis.get("change", {}),
            }
        )
    return out


def _history(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
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


def _parent_view(state: RunState, sid: str | None) -> dict[str, Any] | None:
    if sid is None:
        return None
    s = state.solutions[sid]
    res = state.executions[s.exec_key].result if s.exec_key and s.exec_key in state.executions else None
    return {"solution_id": s.solution_id, "recipe": s.recipe, "val_score": s.val_score, "code_sha": s.code_sha,
            "metrics": (res or {}).get("metrics", {})}


def _sotas(state: RunState, tr: TraceState) -> list[dict[str, Any]]:
    """Other traces' best solutions: partners for ensembles, read across traces."""
    out = []
    for other in state.traces_in_order():
        if other.trace_id != tr.trace_id and other.sota_id is not None:
            s = state.solutions[other.sota_id]
            out.append({"trace_id": other.trace_id, "solution_id": s.solution_id, "recipe": s.recipe,
                        "val_score": s.val_score})
    return out


def propose_context(state: RunState, tr: TraceState, iteration: int, parent_id: str | None = None) -> dict[str, Any]:
    parent_id = parent_id if parent_id is not None else tr.sota_id
    last = state.solutions.get(tr.last_judged or "") if tr.last_judged else None
    return {
        "task": _task_view(state),
        "trace_id": tr.trace_id,
        "iteration": iteration,
        "seed": derive_seed(state.config["seed"], tr.trace_id, iteration, "propose"),
        "n_candidates": int(state.config.get("n_candidates", 5)),
        "structured": bool(state.config.get("structured_reasoning", True)),
        "direction": {"name": tr.direction, **(tr.direction_detail or {})},
        "parent": _parent_view(state, parent_id),
        "feedback": feedback_of(state, last),
        "history": _history(state, tr),
        "memory": memory_view(state),
        "memory_version": state.memory_version,
        "in_flight": _in_flight(state, tr),
        "sotas": _sotas(state, tr) if state.config.get("memory", True) else [],
        "time_limit_s": float(state.config.get("exec_timeout_s", 300.0)),
    }


def _debug_context(state: RunState, sol: Solution, attempt: int, read_blob: BlobReader) -> dict[str, Any]:
    return {
        "task": _task_view(state),
        "solution_id": sol.solution_id,
        "recipe": sol.recipe,
        "code": read_blob(sol.code_sha).decode("utf-8"),
        "feedback": feedback_of(state, sol),
        "attempt": attempt,
        "hypothesis": {"text": sol.hypothesis, "component": sol.component, "change": sol.change},
    }


# ------------------------------------------------------------- reasoning


_WORD = re.compile(r"[a-z0-9_]+")


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _jaccard(wa: frozenset[str], wb: frozenset[str]) -> float:
    if not wa or not wb:
        return 0.0
    common = len(wa & wb)
    return common / (len(wa) + len(wb) - common)


def _hypothesis_from_answer(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    call = state.llm[tr.last_llm or ""]
    answer: ProposalOut | None = _parse(call.response, "ProposalOut", read_blob)
    iteration = call.iteration if call.iteration is not None else tr.iteration + 1
    if answer is None or not answer.candidates:
        if call.attempt < LLM_RETRIES:
            a = call.attempt + 1
            ctx = propose_context(state, tr, iteration)
            return _request(state, tr, "propose", f"{tr.trace_id}/it{iteration}/propose/{a}", iteration, a, ctx)
        return _finish(state, tr, "reasoner_failed")
    return hypothesis_decision(state, tr, iteration, answer, call.key)


def hypothesis_decision(
    state: RunState, tr: TraceState, iteration: int, answer: ProposalOut, llm_key: str, parent_id: str | None = None
) -> Decision:
    cfg = state.config
    structured = bool(cfg.get("structured_reasoning", True))
    weights = dict(cfg.get("weights", {})) if structured else {}
    threshold = float(cfg.get("similarity_threshold", 0.8))
    in_flight = [(o["trace_id"], _words(o["hypothesis"]), o["change"]) for o in _in_flight(state, tr)]
    dim_weights = [(d, weights.get(d, 0.0)) for d in DIMENSIONS]
    cands: list[Candidate] = []
    for i, c in enumerate(answer.candidates[: max(1, int(cfg.get("n_candidates", 5)))]):
        scores: dict[str, float] = {}
        total = 0.0
        if structured:
            for d, w in dim_weights:
                v = c.scores.get(d, 5.0)
                v = v if v > 1.0 else 1.0  # max(1.0, v) and min(10.0, .), NaN to 1.0 as they do
                v = float(v if v < 10.0 else 10.0)
                scores[d] = v
                total += w * v
        total = round(total, 6)
        sim, against = 0.0, None
        words = _words(c.text)
        for other_id, other_words, other_change in in_flight:
            s = 1.0 if c.change and c.change == other_change else _jaccard(words, other_words)
            if s > sim:
                sim, against = s, other_id
        rejected = f"similarity {sim:.3f} >= {threshold} to in-flight hypothesis of {against}" if sim >= threshold else None
        cands.append(
            Candidate(
                id=f"c{i}",
                text=c.text,
                component=c.component,
                change=c.change,
                scores=scores,
                total=total,
                rejected=rejected,
                similarity=round(sim, 6) if in_flight else None,
            )
        )
    eligible = [c for c in cands if c.rejected is None]
    if not eligible:  # everything collides: take the least similar
        eligible = [min(cands, key=lambda c: (c.similarity or 0.0, c.id))]
    if structured:
        eligible.sort(key=lambda c: (-c.total, c.id))
        pool = eligible[: max(1, int(cfg.get("top_k", 2)))]
    else:
        pool = eligible
    seed = derive_seed(cfg["seed"], tr.trace_id, iteration, "draw")
    index = random.Random(seed).randrange(len(pool))
    chosen = pool[index]
    return Decision(
        HypothesisProposed(
            iteration=iteration,
            parent_solution_id=parent_id if parent_id is not None else tr.sota_id,
            structured=structured,
            problems=[Problem(name=p.name, evidence=p.evidence) for p in answer.problems] if structured else [],
            candidates=cands,
            weights=weights,
            top_k=len(pool) if not structured else int(cfg.get("top_k", 2)),
            draw=Draw(seed=seed, pool=[c.id for c in pool], index=index, chosen_id=chosen.id),
            memory_version=state.memory_version,
            llm_key=llm_key,
            hypothesis=chosen.text,
            component=chosen.component,
            change=chosen.change,
        ),
        tr.trace_id,
    )


def _request_code(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    hyp = tr.hypothesis or {}
    parent_id = hyp.get("parent_solution_id")
    if hyp.get("component") == "debug" and parent_id:
        sol = state.solutions[parent_id]
        a = tr.attempt + 1
        ctx = _debug_context(state, sol, a, read_blob)
        return _request(state, tr, "debug", f"{tr.trace_id}/it{tr.iteration}/debug/{a}", tr.iteration, a, ctx)
    ctx = {
        "task": _task_view(state),
        "hypothesis": {"text": hyp.get("text", ""), "component": hyp.get("component"), "change": hyp.get("change", {})},
        "parent": _parent_view(state, parent_id),
        "parent_code": read_blob(state.solutions[parent_id].code_sha).decode("utf-8") if parent_id else None,
        "direction": {"name": tr.direction, **(tr.direction_detail or {})},
        "memory": memory_view(state),
    }
    key = f"{tr.trace_id}/it{tr.iteration}/code/0"
    return _request(state, tr, "code", key, tr.iteration, 0, ctx)


def _code_from_answer(state: RunState, tr: TraceState, read_blob: BlobReader) -> Decision:
    call = state.llm[tr.last_llm or ""]
    answer: CodeOut | None = _parse(call.response, "CodeOut", read_blob)
    if answer is None or not answer.code.strip():
        if call.purpose == "code" and call.attempt < LLM_RETRIES:
            a = call.attempt + 1
            ctx = loads(read_blob(call.request["context_sha"]))
            key = f"{tr.trace_id}/it{tr.iteration}/code/{a}"
            return _request(state, tr, "code", key, tr.iteration, a, ctx)
        return _begin_iteration(state, tr, read_blob)
    attempt = call.attempt if call.purpose == "debug" else 0
    hyp = tr.hypothesis or {}
    parent = hyp.get("parent_solution_id")
    if call.purpose == "debug":
        # a debug attempt fixes the current attempt's code; its parent is what it fixes
        parent = tr.solution_id or parent
    sid = f"{tr.trace_id}-i{tr.iteration}-a{attempt}"
    sha, raw = _blob(answer.code)
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


# -------------------------------------------------------------- validation


def judge(state: RunState, tr: TraceState, res: dict[str, Any]) -> list[LevelVerdict]:
    """The hierarchical validation: ordered checks, the first failure wins."""
    import math

    checks: list[tuple[str, bool, str]] = []
    failure = res.get("failure", "ok")
    ran = failure in ("ok", "missing_submission", "invalid_submission", "nan_metric", "invalid_metrics") and (
        res.get("exit_code") in (0, None)
    )
    checks.append(("ran_cleanly", ran, failure if not ran else "exit 0"))
    has_sub = res.get("submission_sha") is not None
    checks.append(("submission_exists", has_sub, "submission.csv written" if has_sub else "no submission.csv"))
    chk = res.get("submission_check") or {}
    fmt_ok = bool(chk.get("valid", False))
    checks.append(("format_matches", fmt_ok, "; ".join(chk.get("reasons", []))[:500] or "matches sample submission"))
    score = res.get("val_score")
    score_ok = isinstance(score, (int, float)) and math.isfinite(score) and failure != "nan_metric"
    checks.append(("score_valid", score_ok, f"val_score={score}" if score_ok else f"no finite val_score ({failure})"))
    audit = res.get("audit") or {}
    hidden = list(audit.get("private_access") or [])
    checks.append(("no_hidden_access", not hidden, f"tried to read {hidden[:3]}" if hidden else "no access"))
    beats = state.better(score, tr.sota_score) if score_ok else False
    checks.append(
        ("beats_sota", beats, f"{score} vs SOTA {tr.sota_score}" + ("" if beats else " (not better)"))
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


def _judge(state: RunState, tr: TraceState) -> Decision:
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
