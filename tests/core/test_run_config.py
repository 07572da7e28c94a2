"""RunState.config is a RunConfig: defaults in one place, and an old log keeps meaning what it meant."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gome_es.core.events import LOG_DEFAULTS, RunConfig
from gome_es.core.limits import MAX_TRACES
from gome_es.core.state import PendingEvent, RunState, apply, state_from_json, state_to_json
from tests.support.synthetic import synthesize


def started(config: dict) -> RunState:
    st = RunState(run_id="r")
    payload = {"task_id": "t", "config": config, "reasoner": {"kind": "offline", "model": "m"},
               "code_version": "v", "gome_version": "g"}
    return apply(st, PendingEvent(1, "RunStarted", None, 0.0, payload))


def test_a_recorded_config_is_kept_as_stored() -> None:
    cfg = RunConfig(traces=3, budget_s=900, top_k=4, weights={"impact": 1.0}).model_dump(mode="json")
    st = started(cfg)
    assert st.config == RunConfig.model_validate(cfg) and st.config.top_k == 4 and st.budget_s == 900.0


def test_keys_an_old_log_lacks_mean_what_the_policy_read_then() -> None:
    st = started({"traces": 2, "max_iterations": 3, "seed": 1})
    assert st.config.weights == {} and st.budget_s == 0.0  # the dict reads' defaults, not today's
    assert st.config.top_k == 2 and st.config.est_exec_s == 30.0 and st.config.strategy == "gome"
    assert set(LOG_DEFAULTS) <= set(RunConfig.model_fields)


def test_unknown_keys_are_ignored_and_overrides_apply() -> None:
    st = started({"traces": 2, "max_iterations": 3, "seed": 1, "budget_s": 60.0, "retired_knob": True})
    assert not hasattr(st.config, "retired_knob")
    apply(st, PendingEvent(2, "RunResumed", None, 5.0, {"cause": "crash", "gap_s": 1.0, "code_version": "v",
                                                        "overrides": {"config": {"max_iterations": 7,
                                                                                 "budget_s": 120.0}}}))
    assert st.config.max_iterations == 7 and st.budget_s == 120.0 and st.config.traces == 2


def test_a_snapshot_round_trips_the_config() -> None:
    run = synthesize(4, traces=2, max_iterations=3)
    st = RunState(run_id=run.run_id)
    for ev in run.events:
        apply(st, ev)
    back = state_from_json(state_to_json(st))
    assert back.config == st.config and isinstance(back.config, RunConfig)


@pytest.mark.parametrize("field, value", [
    ("traces", 0), ("traces", 65), ("max_iterations", 0), ("n_candidates", 0), ("top_k", 0),
    ("budget_s", 0.0), ("budget_s", float("inf")), ("budget_s", float("nan")), ("exec_timeout_s", -1.0),
])
def test_a_library_caller_gets_the_clis_bounds(field, value):
    """Library first: start_run's callers cannot build a config the command line would refuse."""
    with pytest.raises(ValidationError, match=field):
        RunConfig(**{field: value})
    assert RunConfig(traces=MAX_TRACES).traces == MAX_TRACES


def test_a_recorded_config_is_read_back_as_stored_even_outside_todays_bounds():
    """An old log replays whatever it holds: bounds apply to configs made now, not to history."""
    old = RunConfig.from_log({"traces": 100, "budget_s": 0.0})
    assert old.traces == 100 and old.budget_s == 0.0


def test_a_saved_state_of_an_old_log_loads_though_its_config_is_out_of_todays_bounds() -> None:
    """Snapshots hold the config as recorded: an old log (no budget key reads 0 s) must not make
    its saved state unreadable once RunConfig gained bounds."""
    st = started({"traces": 2, "max_iterations": 3, "seed": 1})
    assert st.config.budget_s == 0.0
    back = state_from_json(state_to_json(st))
    assert back.config == st.config and back.config.budget_s == 0.0
