"""The runs recorded in replays/ replay with zero divergence under today's code."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome_es.core.state import fold
from gome_es.driver.replay_jobs import replay_run
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


def _decided_while_others_ran(store: EventStore, run_id: str) -> int:
    """Decisions appended while another trace's execution was in flight (lock-step never does that)."""
    from gome_es.core.events import EVENT_TYPES

    running: dict[str, str | None] = {}  # exec key -> trace, from its start to its outcome
    n = 0
    for ev in store.read(run_id):
        if ev.type == "ExecutionStarted":
            running[ev.payload["key"]] = ev.trace_id
        elif ev.type == "ExecutionFinished":
            running.pop(ev.payload["key"], None)
        elif EVENT_TYPES[ev.type].kind == "decision" and any(t != ev.trace_id for t in running.values()):
            n += 1
    return n


@pytest.mark.parametrize("path", REPLAYS, ids=lambda p: p.name.split(".")[0])
def test_each_golden_run_was_recorded_under_the_schedule_its_config_names(tmp_path, path: Path) -> None:
    from gome_es.driver.loops import schedule_of

    store = EventStore.open(tmp_path / "g.db")
    run_id = store.import_run(path)
    state = fold(store.read(run_id), run_id)
    overlapped = _decided_while_others_ran(store, run_id)
    if schedule_of(state) == "async":
        assert overlapped > 0, "an asynchronous run decides for one trace while another's experiment runs"
    else:
        # the three runs from before the option: no key in their config, read as lock-step
        assert "schedule" not in state.config or state.config["schedule"] == "lockstep"
        assert overlapped == 0


def test_there_is_an_asynchronous_golden_run() -> None:
    import gzip
    import json

    schedules = set()
    for path in REPLAYS:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec.get("type") == "RunStarted":
                    schedules.add(rec["payload"]["config"].get("schedule", "lockstep"))
                    break
    assert schedules == {"async", "lockstep"}


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
