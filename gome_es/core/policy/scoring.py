"""Scoring, similarity rejection and the seeded draw: from a proposal to one hypothesis.

Each candidate is scored on the five dimensions (:data:`DIMENSIONS`), each
score clamped to [1, 10] (NaN to 1), and the weighted sum is its total.  A
candidate whose text (word Jaccard) or change is at least ``similarity_threshold``
close to a hypothesis another trace has in flight is rejected; if all are, the
least similar is kept.  The top ``top_k`` by total (ties by id) form the pool,
and one is drawn from a ``random.Random`` seeded by (run seed, trace,
iteration, "draw").  Without structured reasoning (an ablation) nothing is
scored and the draw is among all eligible candidates.  Pure module.
"""

from __future__ import annotations

import functools
import random
import re
from typing import Any

from ..events import Candidate, Draw, HypothesisProposed, Problem
from ..schemas import DIMENSIONS, ProposalOut
from ..state import RunState, TraceState
from .contexts import in_flight
from .decision import Decision, derive_seed

_WORD = re.compile(r"[a-z0-9_]+")


@functools.lru_cache(maxsize=4096)
def words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def jaccard(wa: frozenset[str], wb: frozenset[str]) -> float:
    if not wa or not wb:
        return 0.0
    common = len(wa & wb)
    return common / (len(wa) + len(wb) - common)


def clamp_score(v: float) -> float:
    """A dimension score in [1, 10]; NaN counts as 1 (the comparisons order it so)."""
    v = v if v > 1.0 else 1.0
    return float(v if v < 10.0 else 10.0)


def score(scores: dict[str, float], dim_weights: list[tuple[str, float]]) -> tuple[dict[str, float], float]:
    """(clamped scores per dimension, weighted total rounded to 6 places); a missing score counts 5."""
    out: dict[str, float] = {}
    total = 0.0
    for d, w in dim_weights:
        v = clamp_score(scores.get(d, 5.0))
        out[d] = v
        total += w * v
    return out, round(total, 6)


def similarity(text_words: frozenset[str], change: dict[str, Any],
               others: list[tuple[str, frozenset[str], Any]]) -> tuple[float, str | None]:
    """(highest similarity, the trace it is to) among in-flight hypotheses; an equal change counts 1."""
    sim, against = 0.0, None
    for other_id, other_words, other_change in others:
        s = 1.0 if change and change == other_change else jaccard(text_words, other_words)
        if s > sim:
            sim, against = s, other_id
    return sim, against


def draw(seed: int, pool_size: int) -> int:
    """The index drawn from a pool of ``pool_size`` with its own seeded stream."""
    return random.Random(seed).randrange(pool_size)


def hypothesis_decision(
    state: RunState, tr: TraceState, iteration: int, answer: ProposalOut, llm_key: str, parent_id: str | None = None
) -> Decision:
    """``HypothesisProposed``: every candidate scored and checked for similarity, the pool and the draw."""
    cfg = state.config
    structured = bool(cfg.structured_reasoning)
    weights = dict(cfg.weights) if structured else {}
    threshold = float(cfg.similarity_threshold)
    others = [(o["trace_id"], words(o["hypothesis"]), o["change"]) for o in in_flight(state, tr)]
    dim_weights = [(d, weights.get(d, 0.0)) for d in DIMENSIONS]
    cands: list[Candidate] = []
    for i, c in enumerate(answer.candidates[: max(1, int(cfg.n_candidates))]):
        scores, total = score(c.scores, dim_weights) if structured else ({}, 0.0)
        sim, against = similarity(words(c.text), c.change, others)
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
                similarity=round(sim, 6) if others else None,
            )
        )
    eligible = [c for c in cands if c.rejected is None]
    if not eligible:  # everything collides: take the least similar
        eligible = [min(cands, key=lambda c: (c.similarity or 0.0, c.id))]
    if structured:
        eligible.sort(key=lambda c: (-c.total, c.id))
        pool = eligible[: max(1, int(cfg.top_k))]
    else:
        pool = eligible
    seed = derive_seed(cfg.seed, tr.trace_id, iteration, "draw")
    index = draw(seed, len(pool))
    chosen = pool[index]
    return Decision(
        HypothesisProposed(
            iteration=iteration,
            parent_solution_id=parent_id if parent_id is not None else tr.sota_id,
            structured=structured,
            problems=[Problem(name=p.name, evidence=p.evidence) for p in answer.problems] if structured else [],
            candidates=cands,
            weights=weights,
            top_k=len(pool) if not structured else int(cfg.top_k),
            draw=Draw(seed=seed, pool=[c.id for c in pool], index=index, chosen_id=chosen.id),
            memory_version=state.memory_version,
            llm_key=llm_key,
            hypothesis=chosen.text,
            component=chosen.component,
            change=chosen.change,
        ),
        tr.trace_id,
    )
