"""Scoring, similarity rejection and the seeded draw, called directly."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gome_es.core.policy import derive_seed
from gome_es.core.policy.scoring import clamp_score, draw, hypothesis_decision, jaccard, score, similarity, words
from gome_es.core.schemas import DIMENSIONS, ProposalOut
from gome_es.core.state import TracePhase

from .helpers import state, trace

WEIGHTS = {"alignment": 0.2, "impact": 0.4, "novelty": 0.2, "feasibility": 0.1, "risk_reward": 0.1}


def proposal(*cands: dict) -> ProposalOut:
    return ProposalOut.model_validate({"problems": [{"name": "p", "evidence": "e"}], "candidates": list(cands)})


@pytest.mark.parametrize("raw,clamped", [(0.0, 1.0), (-3.0, 1.0), (1.0, 1.0), (5.5, 5.5), (10.0, 10.0),
                                         (11.0, 10.0), (math.inf, 10.0), (-math.inf, 1.0), (math.nan, 1.0)])
def test_a_dimension_score_is_clamped_to_one_to_ten_and_nan_counts_one(raw: float, clamped: float) -> None:
    assert clamp_score(raw) == clamped


def test_the_total_is_the_weighted_sum_and_a_missing_dimension_counts_five() -> None:
    dims = [(d, WEIGHTS[d]) for d in DIMENSIONS]
    scores, total = score({"alignment": 10, "impact": 8, "novelty": 2, "feasibility": 20}, dims)
    assert scores == {"alignment": 10.0, "impact": 8.0, "novelty": 2.0, "feasibility": 10.0, "risk_reward": 5.0}
    assert total == round(0.2 * 10 + 0.4 * 8 + 0.2 * 2 + 0.1 * 10 + 0.1 * 5, 6)


def test_the_pool_is_the_top_k_by_total_and_the_draw_is_seeded() -> None:
    s = state(top_k=2, seed=3)
    tr = trace(s, "t1", 0)
    answer = proposal({"text": "low", "scores": dict.fromkeys(DIMENSIONS, 2)},
                      {"text": "high", "scores": dict.fromkeys(DIMENSIONS, 9)},
                      {"text": "mid", "scores": dict.fromkeys(DIMENSIONS, 6)})
    ev = hypothesis_decision(s, tr, 1, answer, "t1/it1/propose/0").event
    assert [c.total for c in ev.candidates] == [2.0, 9.0, 6.0]
    assert ev.draw.pool == ["c1", "c2"] and ev.top_k == 2
    seed = derive_seed(3, "t1", 1, "draw")
    assert ev.draw.seed == seed and ev.draw.index == random.Random(seed).randrange(2)
    assert ev.hypothesis == {"c1": "high", "c2": "mid"}[ev.draw.chosen_id]
    # the same state and answer decide the same: no hidden randomness
    assert hypothesis_decision(s, tr, 1, answer, "t1/it1/propose/0").event == ev


def test_ties_in_total_are_broken_by_candidate_id() -> None:
    s = state(top_k=1)
    tr = trace(s, "t1", 0)
    same = dict.fromkeys(DIMENSIONS, 7)
    ev = hypothesis_decision(s, tr, 1, proposal({"text": "a x", "scores": same}, {"text": "b y", "scores": same}),
                             "k").event
    assert ev.draw.pool == ["c0"] and ev.hypothesis == "a x"


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=50))
def test_the_draw_is_a_pure_function_of_its_seed_and_stays_in_the_pool(seed: int, size: int) -> None:
    i = draw(seed, size)
    assert 0 <= i < size and draw(seed, size) == i


def test_draws_of_different_traces_and_iterations_use_different_seeds() -> None:
    seeds = {derive_seed(0, t, it, "draw") for t in ("t1", "t2", "t3") for it in range(10)}
    assert len(seeds) == 30


def test_without_structured_reasoning_nothing_is_scored_and_every_eligible_candidate_may_be_drawn() -> None:
    s = state(structured_reasoning=False, top_k=1)
    tr = trace(s, "t1", 0)
    ev = hypothesis_decision(s, tr, 2, proposal({"text": "a", "scores": dict.fromkeys(DIMENSIONS, 9)},
                                                {"text": "b"}, {"text": "c"}), "k").event
    assert all(c.scores == {} and c.total == 0.0 for c in ev.candidates)
    assert ev.draw.pool == ["c0", "c1", "c2"] and ev.top_k == 3 and ev.weights == {} and ev.problems == []


# --------------------------------------------------------------- similarity


def test_word_jaccard() -> None:
    assert jaccard(words("Add a GBM model"), words("add a gbm model")) == 1.0
    assert jaccard(words("scale features"), words("tune trees")) == 0.0
    assert jaccard(words("a b c"), words("b c d")) == pytest.approx(2 / 4)
    assert jaccard(words(""), words("anything")) == 0.0


def test_an_equal_change_is_maximally_similar_whatever_the_text() -> None:
    change = {"model": "gbm"}
    assert similarity(words("totally different words"), change, [("t2", words("nothing shared"), change)]) == (1.0, "t2")
    assert similarity(words("x"), {}, [("t2", words("y"), {})]) == (0.0, None)


def test_a_candidate_too_close_to_another_traces_in_flight_hypothesis_is_rejected() -> None:
    s = state(similarity_threshold=0.8, top_k=2)
    trace(s, "t2", 1, phase=TracePhase.EXECUTING,
          hypothesis={"text": "use gradient boosting with 300 trees", "change": {}})
    trace(s, "t3", 2, phase=TracePhase.FINISHED,  # finished: not in flight, never a reason to reject
          hypothesis={"text": "standardise the numeric features", "change": {}})
    tr = trace(s, "t1", 0)
    ev = hypothesis_decision(s, tr, 1, proposal({"text": "use gradient boosting with 300 trees"},
                                                {"text": "standardise the numeric features"}), "k").event
    c0, c1 = ev.candidates
    assert c0.similarity == 1.0 and c0.rejected and "in-flight hypothesis of t2" in c0.rejected
    assert c1.rejected is None and c1.similarity == 0.0
    assert ev.draw.pool == ["c1"] and ev.hypothesis == "standardise the numeric features"


def test_when_every_candidate_collides_the_least_similar_is_kept() -> None:
    s = state(similarity_threshold=0.5)
    trace(s, "t2", 1, phase=TracePhase.CODING, hypothesis={"text": "a b c d", "change": {}})
    tr = trace(s, "t1", 0)
    ev = hypothesis_decision(s, tr, 1, proposal({"text": "a b c d"}, {"text": "a b c e"}), "k").event
    assert all(c.rejected for c in ev.candidates)
    assert ev.draw.pool == ["c1"]  # similarity 0.6 < 1.0


def test_no_similarity_is_recorded_when_nothing_is_in_flight() -> None:
    s = state()
    tr = trace(s, "t1", 0)
    ev = hypothesis_decision(s, tr, 1, proposal({"text": "a"}), "k").event
    assert ev.candidates[0].similarity is None and ev.candidates[0].rejected is None
