"""Real recorded runs for the diff tests, made once per session.

Three runs of 2 traces x 2 iterations on the bundled breast-cancer task, each
driven by the real driver, executor and store with the scripted reasoner:
``same-1`` and ``same-2`` take identical decisions (same seed, same answers)
but differ in timestamps, durations, pids and workspaces; ``broken`` gets a
crashing solution for t2's iteration 1, so it debugs where the others do not.

The runs use the lock-step schedule. Under the async schedule (the default) a
trace's draw reads the success memory as the other trace's finished steps left
it, so which execution ends first (a matter of load) can change a decision: two
async runs with one seed are not the same run, and the diff rightly says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.support.scripted import ScriptedReasoner

BROKEN_KEY = "t2/it1/code/0"


@dataclass(frozen=True)
class Recorded:
    root: Path
    db: Path


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("diff-runs")
    db = root / "gome.db"
    task = load_task("breast-cancer-diagnosis")
    runs = {"same-1": ScriptedReasoner(), "same-2": ScriptedReasoner(),
            "broken": ScriptedReasoner(fail_code_keys={BROKEN_KEY})}
    with EventStore.open(db) as store:
        for run_id, reasoner in runs.items():
            start_run(store, task, RunConfig(traces=2, max_iterations=2, budget_s=600, seed=0,
                                                 schedule="lockstep"),
                      ReasonerConfig(kind="offline"), run_id=run_id)
            state = drive(store, run_id, task=task, reasoner=reasoner,
                          options=DriveOptions(workspace_root=root / "work", grade=True))
            assert state.status == "completed", (run_id, state.status)
    return Recorded(root, db)
