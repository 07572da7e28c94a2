"""An execution during which the driver dies is not redone forever: after two
attempts that each ended with the driver's death, resume records it as failed
(``driver_killed``), the trace gets that as feedback, and the run finishes."""

from __future__ import annotations

import pytest

from gome_es.driver.resume import MAX_DRIVER_DEATHS, driver_deaths
from gome_es.store import EventStore, NewEvent
from tests.support.runs import RUN_ARGS, gome


def _log(tmp_path, events):
    store = EventStore.open(tmp_path / "d.db")
    store.append("r", [NewEvent(type=t, payload=p) for t, p in events], 0)
    return store


def test_driver_deaths_counts_attempts_that_ended_with_the_driver(tmp_path):
    started = ("ExecutionStarted", {"key": "k"})
    resumed = ("RunResumed", {"cause": "crash"})
    store = _log(tmp_path, [started, resumed, started, ("ExecutionStarted", {"key": "other"}),
                            ("ExecutionFinished", {"key": "other"})])
    # attempt 1 died (a resume followed it), attempt 2 is the one this resume finds unfinished
    assert driver_deaths(store, "r", ["k", "other", "never"]) == {"k": 2, "other": 0, "never": 0}


def test_a_graceful_stop_is_not_a_driver_death(tmp_path):
    store = _log(tmp_path, [("ExecutionStarted", {"key": "k"}), ("RunStopped", {"cancelled_keys": ["k"]}),
                            ("RunResumed", {"cause": "graceful_stop"}), ("ExecutionStarted", {"key": "k"})])
    assert driver_deaths(store, "r", ["k"]) == {"k": 1}


@pytest.mark.slow
def test_resume_gives_up_on_an_execution_that_killed_its_driver_twice(tmp_path):
    """Three real `gome` processes (~80 s): run, resume, resume."""
    db, work = tmp_path / "g.db", ["--workspace", str(tmp_path / "work")]
    # effect 4 is trace t1's first execution (slots 1): the driver dies while it runs
    first = gome(["run", *RUN_ARGS, "--run-id", "r", *work], db=db, env={"GOME_CRASH_DURING_EFFECT": "4"})
    assert first.returncode == -9, first.stderr[-2000:]
    store = EventStore.open(db, readonly=True)
    key = [e for e in store.read("r", types=["ExecutionStarted"])][-1].payload["key"]
    store.close()
    # the resume redoes it first, and its driver dies again during that attempt
    second = gome(["resume", "r", "--quiet", "--slots", "1", *work], db=db, env={"GOME_CRASH_DURING_EFFECT": "1"})
    assert second.returncode == -9, second.stderr[-2000:]
    third = gome(["resume", "r", "--quiet", "--slots", "1", *work], db=db)
    assert third.returncode == 0, third.stderr[-3000:]

    store = EventStore.open(db, readonly=True)
    events = list(store.read("r"))
    starts = [e for e in events if e.type == "ExecutionStarted" and e.payload["key"] == key]
    assert len(starts) == MAX_DRIVER_DEATHS == 2  # never started a third time
    finished = [e for e in events if e.type == "ExecutionFinished" and e.payload["key"] == key]
    assert len(finished) == 1
    fin = finished[0].payload
    assert fin["failure"] == "driver_killed" and fin["redone"] is True and "2 attempts" in fin["failure_detail"]
    resumed = [e for e in events if e.type == "RunResumed"]
    assert key in resumed[0].payload["redo_keys"] and key not in resumed[1].payload["redo_keys"]
    assert finished[0].seq == resumed[1].seq + 1  # recorded with the resume, before anything else
    judged = [e for e in events if e.type == "ValidationJudged" and e.payload["solution_id"] == fin["solution_id"]]
    assert judged and judged[0].payload["accepted"] is False  # the trace got it as a failure
    assert events[-1].type == "SubmissionGraded"
    # the log still replays with no divergence
    assert gome(["replay", "r"], db=db).returncode == 0
