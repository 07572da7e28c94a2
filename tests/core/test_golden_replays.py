"""The runs recorded in replays/ replay with zero divergence under today's code."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome_es.replay_jobs import replay_run
from gome_es.core.state import fold
from gome_es.store import EventStore

REPLAYS = sorted((Path(__file__).resolve().parents[2] / "replays").glob("*.jsonl.gz"))


def test_there_are_at_least_three_golden_runs() -> None:
    assert len(REPLAYS) >= 3


@pytest.mark.parametrize("path", REPLAYS, ids=lambda p: p.name.split(".")[0])
def test_golden_run_replays_with_zero_divergence(tmp_path, path: Path) -> None:
    store = EventStore.open(tmp_path / "g.db")
    run_id = store.import_run(path)
    assert store.verify(run_id).ok
    report = replay_run(store, run_id)
    assert report.ok, report.to_json()["divergence"]
    assert report.decisions > 20
    state = fold(store.read(run_id), run_id)
    assert state.is_finished and state.grade is not None


def test_a_changed_policy_rule_is_caught_at_the_right_seq_of_a_golden_run(tmp_path, monkeypatch) -> None:
    import gome_es.core.policy.scoring as policy

    store = EventStore.open(tmp_path / "g.db")
    run_id = store.import_run(next(p for p in REPLAYS if p.name.startswith("breast-cancer-gome")))
    expected = next(e.seq for e in store.read(run_id, types=["HypothesisProposed"]) if e.payload["structured"])
    # the rule "draw among the top k by weighted score" becomes "always take the best"
    original = policy.hypothesis_decision

    def top1(state, tr, iteration, answer, llm_key, parent_id=None):
        saved = state.config
        state.config = saved.with_overrides({"top_k": 1})
        try:
            return original(state, tr, iteration, answer, llm_key, parent_id)
        finally:
            state.config = saved

    monkeypatch.setattr(policy, "hypothesis_decision", top1)
    report = replay_run(store, run_id)
    assert not report.ok and report.divergence.seq == expected
    assert report.last_agreeing_seq == expected - 1
