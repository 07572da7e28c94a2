"""The library face as a notebook calls it: ``import gome_es as gome; db = gome.open(path)``.

A real SQLite file holding real (synthetic-policy) runs and a planned sweep; every table is
checked against what the store itself says, and the commands' library calls agree with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import gome_es as gome
from gome_es.core.events import validate_payload
from gome_es.errors import GomeError, RunNotFound
from gome_es.store import EventStore, NewEvent
from gome_es.sweep.driver import plan_sweep
from tests.support.synthetic import synthesize


def _add(store: EventStore, run_id: str, seed: int, ts0: float) -> None:
    run = synthesize(seed, run_id=run_id, traces=2, max_iterations=3, code_size=120, log_size=40)
    store.append(run_id, [NewEvent(e.type, e.payload, e.trace_id, e.ts + ts0, e.schema_version)
                          for e in run.events], 0, blobs=run.blobs)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    with EventStore.open(path, validator=validate_payload) as store:
        _add(store, "run-alpha-1", 1, 0.0)
        _add(store, "run-alpha-2", 2, 1000.0)
        _add(store, "run-beta-1", 3, 2000.0)
        plan_sweep(store, tasks=["breast-cancer-diagnosis"], variants=["gome", "no-memory"], seeds=[0],
                   budget_s=60, sweep_id="sweep-study-1")
    return path


def test_runs_steps_and_events_are_dataframes_that_agree_with_the_log(db_path: Path) -> None:
    with gome.open(db_path) as db:
        runs = db.runs()
        assert isinstance(runs, pd.DataFrame)
        assert list(runs["run_id"]) == ["run-alpha-1", "run-alpha-2", "run-beta-1"]  # the sweep is no run
        assert set(runs["status"]) <= {"completed", "budget_exhausted", "failed", "interrupted", "stopped"}
        steps = db.steps("run-alpha-1")
        events = db.events("run-alpha-1")
        assert list(events["seq"]) == list(range(1, len(events) + 1))
        assert len(steps) == int((events["type"] == "CodeGenerated").sum())  # a step per attempt
        assert {"trace", "iteration", "attempt", "val_score", "score_impact"} <= set(steps.columns)
        judged = events[events["type"] == "ValidationJudged"]
        assert steps["accepted"].fillna(False).sum() == sum(bool(p.get("accepted")) for p in judged["payload"])
        only = db.events("run-alpha-1", types=["SotaChanged"])
        assert set(only["type"]) <= {"SotaChanged"} and len(only) == int((events["type"] == "SotaChanged").sum())


def test_code_and_logs_are_text_not_blobs(db_path: Path) -> None:
    with gome.open(db_path) as db:
        events = db.events("run-alpha-1", types=["CodeGenerated"])
        sol = events["payload"].iloc[0]["solution_id"]
        code = db.code("run-alpha-1", sol)
        assert isinstance(code, str) and code
        with EventStore.open(db_path, readonly=True) as store:
            sha = events["payload"].iloc[0]["code_sha"]
            assert code == store.get_blob(sha).decode()
        executed = db.events("run-alpha-1", types=["ExecutionFinished"])["payload"].iloc[0]["solution_id"]
        assert isinstance(db.log("run-alpha-1", executed), str)
        with pytest.raises(RunNotFound, match="its solutions: "):
            db.code("run-alpha-1", "t9-i9-a9")


def test_run_ids_by_prefix_last_and_near_misses(db_path: Path) -> None:
    with gome.open(db_path) as db:
        assert db.resolve("run-beta") == "run-beta-1"
        assert db.resolve("@last") == "sweep-study-1"
        assert len(db.steps("run-alpha-2")) > 0
        with pytest.raises(RunNotFound, match="start of 2 run ids.*run-alpha-1, run-alpha-2"):
            db.resolve("run-alpha")
        with pytest.raises(RunNotFound, match="did you mean run-alpha-1"):
            db.resolve("run-alpah-1")
        with pytest.raises(RunNotFound, match="not found"):
            db.resolve("x" * 120_000)


def test_a_sweep_lists_its_cells_and_its_runs_name_it(db_path: Path) -> None:
    with gome.open(db_path) as db:
        cells = db.sweep("sweep-study")
        assert list(cells["variant"]) == ["gome", "no-memory"] and set(cells["status"]) == {"planned"}
        assert list(db.sweeps()["sweep_id"]) == ["sweep-study-1"]
        assert db.runs(sweep="sweep-study-1").empty  # planned, not yet run


def test_opening_never_creates_or_writes(tmp_path: Path, db_path: Path) -> None:
    with pytest.raises(GomeError, match="no gome database"):
        gome.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    before = db_path.read_bytes()
    with gome.open(db_path) as db:
        db.runs()
        db.steps("run-alpha-1")
    assert db_path.read_bytes() == before


def test_unknown_event_types_are_named_with_the_valid_ones(db_path: Path) -> None:
    with gome.open(db_path) as db, pytest.raises(GomeError, match="unknown event type.*Bogus.*RunStarted"):
        db.events("run-alpha-1", types=["Bogus"])


def test_state_is_the_folded_run(db_path: Path) -> None:
    with gome.open(db_path) as db:
        st = db.state("run-beta")
        assert st.run_id == "run-beta-1" and st.is_finished
        assert st.last_seq == len(db.events("run-beta-1"))
