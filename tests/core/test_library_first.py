"""What a run needs is derived in the library (RunConfig, ReasonerConfig, start_run), not in the CLI:
a library caller gets what `gome run` gets."""

from __future__ import annotations

import pytest

from gome_es.core.events import DEFAULT_MODELS, ReasonerConfig, RunConfig, RunStarted, estimated_experiment_s
from gome_es.driver.driver import start_run
from gome_es.store import EventStore
from gome_es.tasks import load_task


@pytest.mark.parametrize("budget,est", [(10.0, 5.0), (60.0, 5.0), (200.0, 10.0), (600.0, 30.0), (7200.0, 30.0)])
def test_the_estimated_experiment_time_follows_the_budget(budget: float, est: float) -> None:
    assert estimated_experiment_s(budget) == est
    assert RunConfig(budget_s=budget).est_exec_s == est


def test_an_explicit_estimate_and_a_recorded_one_are_kept() -> None:
    assert RunConfig(budget_s=60, est_exec_s=12.5).est_exec_s == 12.5
    recorded = RunConfig(budget_s=60, est_exec_s=30.0).model_dump(mode="json")
    assert RunConfig.model_validate(recorded).est_exec_s == 30.0  # an old log keeps what it recorded


@pytest.mark.parametrize("kind", ["offline", "openai", "replay"])
def test_each_reasoner_kind_has_its_default_model_in_one_place(kind: str) -> None:
    assert ReasonerConfig(kind=kind).model == DEFAULT_MODELS[kind]
    assert ReasonerConfig(kind=kind, model=None).model == DEFAULT_MODELS[kind]
    assert ReasonerConfig(kind=kind, model="m-1").model == "m-1"


def test_a_library_run_records_what_the_cli_would(tmp_path) -> None:
    store = EventStore.open(tmp_path / "g.db")
    task = load_task("breast-cancer-diagnosis")
    rid = start_run(store, task, RunConfig(traces=1, max_iterations=1, budget_s=120),
                    ReasonerConfig(kind="openai"), run_id="lib")
    started = next(iter(store.read(rid, types=["RunStarted"])))
    ev = RunStarted.model_validate({**started.payload, "type": "RunStarted"})
    assert ev.config.est_exec_s == 6.0 and ev.reasoner.model == "gpt-4o-mini"  # 120 s / 20
