"""The fold: legal logs never raise, prefixes compose, snapshots agree, illegal steps are named."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gome_es.core.state import (
    RUN_TRANSITIONS,
    TRACE_TRANSITIONS,
    PendingEvent,
    TracePhase,
    fold,
    state_from_json,
    state_to_json,
)
from gome_es.driver.snapshots import load_state, save_state
from gome_es.errors import IllegalTransition
from gome_es.store import EventStore, NewEvent
from tests.support.synthetic import synthesize

runs = st.builds(
    lambda seed, traces, iters, fail, stop, tree, lower: synthesize(
        seed, traces=traces, max_iterations=iters, fail_rate=fail, stop_rate=stop, code_size=200, log_size=50,
        strategy="tree" if tree else "gome", lower_is_better=lower),
    st.integers(0, 10**6), st.integers(1, 3), st.integers(1, 4), st.sampled_from([0.0, 0.3, 0.8]),
    st.sampled_from([0.0, 0.05]), st.booleans(), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs, st.data())
def test_fold_of_random_legal_logs_never_raises_and_prefix_composes(run, data) -> None:
    whole = fold(run.events, run.run_id)
    assert whole.is_finished and whole.event_count == len(run.events)
    cut = data.draw(st.integers(0, len(run.events)))
    prefix = fold(run.events[:cut], run.run_id)
    # through JSON, as a snapshot would be stored
    resumed = fold(run.events[cut:], run.run_id, state_from_json(state_to_json(prefix)))
    assert resumed == whole


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs)
def test_accepted_steps_always_improve_the_trace_sota(run) -> None:
    best: dict[str, float | None] = {}
    lower = run.state.lower_is_better
    for ev in run.events:
        if ev.type == "SotaChanged":
            prev = best.get(ev.trace_id)
            new = ev.payload["val_score"]
            assert prev is None or (new < prev if lower else new > prev)
            best[ev.trace_id] = new


def test_every_phase_has_a_row_and_no_transition_leads_nowhere() -> None:
    assert set(TRACE_TRANSITIONS) == set(TracePhase)
    for row in TRACE_TRANSITIONS.values():
        assert all(nxt in TRACE_TRANSITIONS for nxt in row.values())
    for row in RUN_TRANSITIONS.values():
        assert all(nxt in RUN_TRANSITIONS for nxt in row.values())


def test_illegal_event_names_run_seq_phase_and_type() -> None:
    run = synthesize(3, traces=1, max_iterations=2)
    events = list(run.events)
    # an ExecutionFinished straight after the trace starts is not in the table
    i = next(i for i, e in enumerate(events) if e.type == "TraceStarted")
    bad = PendingEvent(events[i].seq + 1, "ExecutionFinished", events[i].trace_id, events[i].ts,
                     {"key": "k", "solution_id": "s", "failure": "ok"}, 2)
    with pytest.raises(IllegalTransition) as exc:
        fold(events[: i + 1] + [bad], "r1")
    msg = str(exc.value)
    assert "run r1" in msg and f"seq {bad.seq}" in msg and "ExecutionFinished" in msg and "'started'" in msg


def test_a_gap_in_seq_is_refused() -> None:
    run = synthesize(4, traces=1, max_iterations=1)
    with pytest.raises(IllegalTransition, match="expected seq 3 but got 4"):
        fold(run.events[:2] + run.events[3:], "r")


def test_snapshot_plus_rest_equals_full_fold_and_stale_schema_is_ignored(tmp_path, monkeypatch) -> None:
    run = synthesize(5, traces=2, max_iterations=3, code_size=100)
    store = EventStore.open(tmp_path / "g.db")
    store.append("r", [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version) for e in run.events],
                 0, blobs=run.blobs)
    evs = list(store.read("r"))
    half = fold(evs[: len(evs) // 2], "r")
    save_state(store, half)
    full = fold(store.read("r"), "r")
    assert load_state(store, "r") == full
    # a snapshot written under another state schema is ignored, not trusted
    import gome_es.driver.snapshots as snaps

    store.save_snapshot("r", half.last_seq, 999, '{"garbage": true}')
    monkeypatch.setattr(snaps, "STATE_SCHEMA", 1000)
    assert load_state(store, "r") == full


def test_budget_spent_excludes_resume_gaps_unless_counted() -> None:
    run = synthesize(6, traces=1, max_iterations=2, stop_rate=0.3)
    st_ = fold(run.events, "r")
    gaps = sum(max(0.0, b.ts - a.ts) for a, b in zip(run.events, run.events[1:]))
    resumed_gaps = sum(max(0.0, b.ts - a.ts) for a, b in zip(run.events, run.events[1:]) if b.type == "RunResumed")
    assert st_.spent_s == pytest.approx(gaps - resumed_gaps)
    assert st_.downtime_s == pytest.approx(resumed_gaps)


def test_count_downtime_makes_a_resume_gap_count_against_the_budget() -> None:
    run = synthesize(9, traces=1, max_iterations=2, stop_rate=0.3)
    resumed = [i for i, e in enumerate(run.events) if e.type == "RunResumed"]
    assert resumed, "the synthetic run was stopped and resumed at least once"
    base = fold(run.events, "r")
    for i in resumed:
        run.events[i].payload = {**run.events[i].payload, "count_downtime": True}
    counted = fold(run.events, "r")
    assert counted.downtime_s == 0.0
    assert counted.spent_s == pytest.approx(base.spent_s + base.downtime_s)
