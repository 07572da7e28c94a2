"""The driver's decisions, in memory and in milliseconds: no process, no sandbox, no file store.

The run is real (``start_run`` + ``drive`` with the offline reasoner, the policy, the fold, the
hash-chained log) but lives in ``EventStore.memory()``, and its executions go to
:class:`ScriptedExecutor`, which runs nothing: it records every spec it was handed and answers
from a script of outcomes.  So each test says what the experiments "did" and checks what the
driver decided from that: which steps it accepted, what it re-ran after a crash, what it
never ran twice.  The real executor and the real CLI are covered by the integration tests.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.driver.replay_jobs import replay_run
from gome_es.executor.spec import ExecutionResult, ExecutionSpec
from gome_es.llm.offline import OfflineReasoner
from gome_es.store import EventStore
from gome_es.tasks import load_task

TASK = "breast-cancer-diagnosis"


class DriverCrashed(BaseException):
    """Stands for the driver's process dying in the middle of an execution."""


class ScriptedExecutor:
    """An executor that runs nothing: each call takes the next ``(failure, val_score)`` of the script.

    An ``ok`` outcome leaves the task's sample submission (a valid one) in the workspace; the
    string ``"crash"`` raises :class:`DriverCrashed` instead of answering.
    """

    def __init__(self, task: Any, script: Iterable[tuple[str, float | None] | str]) -> None:
        self.task, self.script = task, iter(script)
        self.specs: list[ExecutionSpec] = []

    def run(self, spec: ExecutionSpec, on_start: Any = None) -> ExecutionResult:
        step = next(self.script, ("ok", 0.9))
        if step == "crash":
            raise DriverCrashed(spec.key)
        self.specs.append(spec)
        failure, score = step
        workspace = spec.workspace_root / spec.key
        workspace.mkdir(parents=True, exist_ok=True)
        submission = None
        if failure == "ok":
            submission = workspace / "submission.csv"
            shutil.copyfile(self.task.sample_submission_path, submission)
        return ExecutionResult(key=spec.key, failure=failure, val_score=score if failure == "ok" else None,
                               exit_code=0 if failure == "ok" else 1, duration_s=1.5, workspace=workspace,
                               submission_path=submission,
                               stderr_tail="" if failure == "ok" else "Traceback: ValueError: boom")


@pytest.fixture(scope="module")
def task():
    return load_task(TASK)


@pytest.fixture
def store():
    s = EventStore.memory()
    yield s
    s.close()


def _start(store: EventStore, task: Any, **config: Any) -> str:
    cfg = RunConfig(**{"traces": 1, "max_iterations": 3, "budget_s": 3600, "seed": 3, **config})
    return start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id="r")


def _drive(store: EventStore, rid: str, task: Any, executor: ScriptedExecutor, tmp_path: Path, **kw: Any):
    opts = DriveOptions(workspace_root=tmp_path / "work", slots=1, grade=False)
    return drive(store, rid, task=task, reasoner=OfflineReasoner(), executor=executor, options=opts, **kw)


def _types(store: EventStore, rid: str) -> Counter[str]:
    return Counter(e.type for e in store.read(rid))


def test_a_run_in_memory_finishes_replays_and_runs_each_experiment_once(store, task, tmp_path):
    executor = ScriptedExecutor(task, [("ok", 0.90), ("ok", 0.95), ("ok", 0.97), ("ok", 0.98)])
    rid = _start(store, task)
    state = _drive(store, rid, task, executor, tmp_path)
    assert state.is_finished and store.verify(rid).ok
    requested = [e.payload["key"] for e in store.read(rid, types=["ExecutionRequested"])]
    finished = [e.payload["key"] for e in store.read(rid, types=["ExecutionFinished"])]
    assert requested == finished == [s.key for s in executor.specs]  # each experiment ran exactly once
    assert len(set(requested)) == len(requested) >= 2
    # every spec runs the code the log recorded for it, in the run's own workspace
    code = {e.payload["key"]: e.payload["code_sha"] for e in store.read(rid, types=["ExecutionRequested"])}
    assert all(EventStore.blob_hash(s.code) == code[s.key] for s in executor.specs)
    assert all(tmp_path / "work" in s.workspace_root.parents for s in executor.specs)
    assert replay_run(store, rid).ok  # today's code takes the same decisions from the log


def test_only_a_step_that_beats_the_trace_best_becomes_its_sota(store, task, tmp_path):
    # higher is better on this task: 0.90 first, then a worse 0.80, then a better 0.95
    assert not task.lower_is_better
    executor = ScriptedExecutor(task, [("ok", 0.90), ("ok", 0.80), ("ok", 0.95), ("ok", 0.70)])
    rid = _start(store, task)
    _drive(store, rid, task, executor, tmp_path)
    sota = [e.payload["val_score"] for e in store.read(rid, types=["SotaChanged"])]
    assert sota == [0.90, 0.95]
    judged = [(e.payload["val_score"], e.payload["accepted"], e.payload["first_failure"])
              for e in store.read(rid, types=["ValidationJudged"])]
    assert (0.80, False, "beats_sota") in judged and (0.95, True, None) in judged


def test_a_failed_experiment_is_judged_at_its_first_failure_and_never_becomes_sota(store, task, tmp_path):
    executor = ScriptedExecutor(task, [("python_exception", None)] * 12)
    rid = _start(store, task, max_iterations=2)
    state = _drive(store, rid, task, executor, tmp_path)
    assert state.is_finished
    verdicts = [e.payload for e in store.read(rid, types=["ValidationJudged"])]
    assert verdicts and all(not v["accepted"] for v in verdicts)
    assert {v["first_failure"] for v in verdicts} == {"ran_cleanly"}
    assert _types(store, rid)["SotaChanged"] == 0


def test_after_a_crash_resume_reruns_only_the_unfinished_experiment(store, task, tmp_path):
    first = ScriptedExecutor(task, [("ok", 0.90), "crash"])
    rid = _start(store, task)
    with pytest.raises(DriverCrashed) as crashed:
        _drive(store, rid, task, first, tmp_path)
    lost = str(crashed.value)
    finished_before = {e.payload["key"] for e in store.read(rid, types=["ExecutionFinished"])}
    assert [s.key for s in first.specs] == sorted(finished_before) and lost not in finished_before

    second = ScriptedExecutor(task, [("ok", 0.95), ("ok", 0.97), ("ok", 0.99)])
    state = _drive(store, rid, task, second, tmp_path, resuming=True)
    assert state.is_finished and store.verify(rid).ok
    assert second.specs[0].key == lost  # the request with no outcome is redone first, once
    ran = [s.key for s in first.specs + second.specs]
    finished = [e.payload["key"] for e in store.read(rid, types=["ExecutionFinished"])]
    assert sorted(ran) == sorted(finished) and len(set(ran)) == len(ran)  # nothing finished ran twice
    assert _types(store, rid)["RunResumed"] == 1
