"""Replay re-derives every decision; a changed policy rule is caught at the right seq."""

from __future__ import annotations

import pytest

import gome_es.core.policy.scoring as policy
from gome_es.core.replay import replay_events
from tests.support.synthetic import synthesize


@pytest.mark.parametrize("seed,strategy,stop", [(1, "gome", 0.0), (2, "gome", 0.05), (3, "tree", 0.0)])
def test_synthetic_runs_replay_with_zero_divergence(seed: int, strategy: str, stop: float) -> None:
    run = synthesize(seed, traces=3, max_iterations=5, strategy=strategy, stop_rate=stop)
    report = replay_events(run.run_id, run.events, run.blobs.__getitem__)
    assert report.ok, report.to_json()
    assert report.events == len(run.events)
    assert report.decisions == sum(1 for e in run.events if e.type not in
                                   {"RunStarted", "LLMResponded", "ExecutionStarted", "ExecutionFinished",
                                    "RunResumed", "RunStopped"})


def test_a_changed_policy_rule_is_caught_at_the_first_decision_it_changes(monkeypatch) -> None:
    run = synthesize(7, traces=2, max_iterations=4)
    # the rule: draw among the top-k; change k from the recorded 2 to 1
    first = next(e for e in run.events if e.type == "HypothesisProposed" and e.payload["structured"])
    monkeypatch.setattr(policy, "hypothesis_decision", _top1(policy.hypothesis_decision))
    report = replay_events(run.run_id, run.events, run.blobs.__getitem__, current_code_version="changed")
    assert not report.ok
    d = report.divergence
    assert d.seq == first.seq and d.recorded["type"] == "HypothesisProposed"
    assert any(f["path"].startswith("payload.draw") or f["path"].startswith("payload.top_k") for f in d.fields)
    assert report.last_agreeing_seq == first.seq - 1
    assert "code version changed" in d.likely_cause


def _top1(original):
    def patched(state, tr, iteration, answer, llm_key, parent_id=None):
        cfg = state.config
        state.config = cfg.with_overrides({"top_k": 1})
        try:
            return original(state, tr, iteration, answer, llm_key, parent_id)
        finally:
            state.config = cfg

    return patched


def test_a_tampered_observation_changes_later_decisions() -> None:
    run = synthesize(8, traces=1, max_iterations=4, fail_rate=0.0)
    i = next(i for i, e in enumerate(run.events) if e.type == "ExecutionFinished")
    ev = run.events[i]
    ev.payload = {**ev.payload, "val_score": None, "failure": "nan_metric"}
    report = replay_events(run.run_id, run.events, run.blobs.__getitem__)
    assert not report.ok
    assert report.divergence.seq == i + 2  # the verdict right after the outcome
    assert report.divergence.recorded["type"] == "ValidationJudged"
