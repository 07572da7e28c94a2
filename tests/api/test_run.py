"""``gome.run``: a run started from Python is the run `gome run` would make.

One real run (the bundled default task, the offline reasoner, the real sandbox, 1 trace x 1
iteration) into a real SQLite file, read back through ``gome.open`` and replayed; then the
ways a run must be refused before anything is recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gome_es as gome
from gome_es.api import RunNotStarted
from gome_es.core.events import validate_payload
from gome_es.driver.replay_jobs import replay_run
from gome_es.errors import GomeError, RunExists, TaskError
from gome_es.store import EventStore

# the tests that use it are integration tests: a real run in the sandbox (about 30 s on 2 busy cores)
integration = pytest.mark.integration


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("facade") / "lab.db"
    rid = gome.run("breast-cancer-diagnosis", db=db, traces=1, max_iterations=1, budget_s=120, seed=3,
                   run_id="from-python")
    return db, rid


@integration
def test_a_run_started_from_python_ends_graded_and_reads_back_as_tables(ran: tuple[Path, str]) -> None:
    db, rid = ran
    assert rid == "from-python"
    with gome.open(db) as lab:
        runs = lab.runs()
        row = runs[runs.run_id == rid].iloc[0]
        assert row.task == "breast-cancer-diagnosis" and row.reasoner == "offline" and row.seed == 3
        assert row.status == "completed"
        assert row.test_score == row.test_score  # graded: a number, not NaN
        steps = lab.steps(rid)
        assert len(steps) >= 1 and set(steps.trace) == {"t1"} and set(steps.iteration) == {0}
        best = steps.sort_values("val_score", ascending=False).iloc[0]
        assert "submission.csv" in lab.code(rid, best.solution_id)
        started = lab.events(rid, types=["RunStarted"]).payload.iloc[0]
    assert started["config"]["traces"] == 1 and started["config"]["budget_s"] == 120
    assert started["config"]["schedule"] == "async"  # what `gome run` records by default
    # the experiments ran where the commands put them: beside the database, one folder per run
    assert (db.parent / ".gome" / "work" / rid).is_dir()


@integration
def test_the_run_replays_with_no_divergence(ran: tuple[Path, str]) -> None:
    db, rid = ran
    with EventStore.open(db, readonly=True, validator=validate_payload) as store:
        report = replay_run(store, rid)
    assert report.ok and report.decisions > 0, report.to_json()


@integration
def test_a_run_id_already_used_is_refused_and_the_log_is_left_alone(ran: tuple[Path, str]) -> None:
    db, rid = ran
    with gome.open(db) as lab:
        before = len(lab.events(rid))
    with pytest.raises(RunExists, match=rid):
        gome.run("breast-cancer-diagnosis", db=db, traces=1, max_iterations=1, budget_s=120, run_id=rid)
    with gome.open(db) as lab:
        assert len(lab.events(rid)) == before


@pytest.mark.parametrize("options,error,words", [
    ({"budget_s": 1}, RunNotStarted, "cannot fit one experiment"),
    ({"budget_s": float("nan")}, RunNotStarted, "budget_s"),
    ({"traces": 0}, RunNotStarted, "traces"),
    ({"traces": 65}, RunNotStarted, "traces"),
    ({"max_iterations": 0}, RunNotStarted, "max_iterations"),
    ({"strategy": "beam"}, RunNotStarted, "strategy"),
    ({"slots": 0}, RunNotStarted, "slots=0"),
    ({"task": "no-such-task"}, TaskError, "no-such-task"),
    ({"run_id": "../escape"}, GomeError, "run id"),
])
def test_options_that_cannot_make_a_run_are_refused_before_anything_is_recorded(
        tmp_path: Path, options: dict, error: type[Exception], words: str) -> None:
    db = tmp_path / "lab.db"
    task = options.pop("task", "breast-cancer-diagnosis")
    with pytest.raises(error, match=words):
        gome.run(task, db=db, **{"budget_s": 120, **options})
    if db.exists():  # the store may have been opened (a run id is checked there), but holds no run
        with gome.open(db) as lab:
            assert lab.run_ids() == []
    assert not (tmp_path / ".gome" / "work" / "escape").exists()
