"""Parallel replay (gome_es.driver.replay_jobs) reports exactly what the serial replay reports.

Real SQLite stores, real worker processes: a synthetic run of ~3,000 events is
stored with its blobs, then replayed with ``jobs`` forced above what the
automatic choice would pick for so small a run.  Slices start from the fold
of the log before them or from stored snapshots; a snapshot that disagrees
with the fold must never change the answer, only cost a serial replay.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gome_es.core.replay import ReplayReport
from gome_es.core.state import STATE_SCHEMA, RunState, apply, state_to_json
from gome_es.driver.replay_jobs import MAX_AUTO_JOBS, MIN_EVENTS_PER_JOB, auto_jobs, replay_run, replay_store
from gome_es.driver.snapshots import save_state
from gome_es.rdagent.importer import import_rdagent
from gome_es.store import EventStore, NewEvent
from gome_es.store.errors import BlobMissing
from tests.support.runs import gome
from tests.support.synthetic import SyntheticRun, synthesize

RUN = "r"
SNAPSHOT_EVERY = 500
RDAGENT_FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"


@pytest.fixture(scope="module")
def synthetic() -> SyntheticRun:
    # small blobs and many short iterations: ~3,000 events in well under a second
    run = synthesize(5, traces=4, max_iterations=60, max_events=4000, code_size=200, log_size=50, step_s=0.8,
                     budget_s=10 * 24 * 3600.0, stop_rate=0.001)
    assert 2500 < len(run.events) < 4000 and run.state.is_finished
    return run


def _store(path: Path, run: SyntheticRun, events: list[Any] | None = None) -> EventStore:
    store = EventStore.open(path)
    store.append(RUN, [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version)
                       for e in (events if events is not None else run.events)], 0, blobs=run.blobs)
    assert store.verify(RUN).ok
    return store


@pytest.fixture
def store(tmp_path, synthetic) -> EventStore:
    with _store(tmp_path / "g.db", synthetic) as st:
        yield st


def _snapshot_while_folding(store: EventStore, every: int = SNAPSHOT_EVERY, *, prune: bool = False) -> list[int]:
    """Fold the stored run, saving the state every ``every`` events; the seqs kept."""
    state = RunState(run_id=RUN)
    for ev in store.read(RUN):
        apply(state, ev)
        if ev.seq % every == 0:
            if prune:  # what a live run does: keeps the newest two and one per band
                save_state(store, state)
            else:
                store.save_snapshot(RUN, state.last_seq, STATE_SCHEMA, state_to_json(state))
    return store.snapshot_seqs(RUN, STATE_SCHEMA)


def _parallel(store: EventStore, jobs: int | None) -> tuple[ReplayReport, list[str]]:
    lines: list[str] = []
    return replay_store(store, RUN, jobs=jobs, progress=lines.append), lines


def _slices(lines: list[str]) -> list[tuple[int, int]]:
    """The slices a parallel replay announced ("... (slices 1-1809, 1810-3076)")."""
    (line,) = lines
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)-(\d+)", line.split("slices", 1)[1])]


def _same_as_serial(par: ReplayReport, ser: ReplayReport) -> None:
    assert (par.ok, par.mode, par.events, par.decisions, par.last_agreeing_seq) == \
        (ser.ok, ser.mode, ser.events, ser.decisions, ser.last_agreeing_seq)


# ---------------------------------------------------------------- agreeing runs


@pytest.mark.integration
@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_replay_gives_the_serial_report(store, jobs) -> None:
    n = store.last_seq(RUN)
    serial = replay_run(store, RUN)
    assert serial.ok and serial.events == n and serial.decisions > 1000
    report, lines = _parallel(store, jobs)
    _same_as_serial(report, serial)
    assert report.last_agreeing_seq == n
    assert report.notes == [f"replayed on {jobs} processes"]
    slices = _slices(lines)
    assert len(slices) == jobs and f"{n:,} events on {jobs} processes" in lines[0]
    # the slices cover the run exactly once, in order
    assert slices[0][0] == 1 and slices[-1][1] == n
    assert all(b + 1 == c for (_, b), (c, _) in itertools.pairwise(slices))


@pytest.mark.integration
@pytest.mark.parametrize("prune", [False, True], ids=["every-snapshot-kept", "save_state-pruning"])
@pytest.mark.parametrize("jobs", [2, 3])
def test_slices_start_from_stored_snapshots(store, jobs, prune) -> None:
    snaps = _snapshot_while_folding(store, prune=prune)
    assert len(snaps) >= 3
    serial = replay_run(store, RUN)
    report, lines = _parallel(store, jobs)
    _same_as_serial(report, serial)
    # every snapshot agreed with the fold: no fallback, no note but the process count
    assert report.notes == [f"replayed on {jobs} processes"]
    slices = _slices(lines)
    assert len(slices) == jobs
    if not prune:  # a snapshot every 500 events: every cut is at one
        assert all(first - 1 in snaps for first, _ in slices[1:]), (slices, snaps)
    # thinned to the newest two and the first (bands of 10,000 events on a 3k-event run): no
    # snapshot near an even cut, so the workers fold their prefixes; the result is the same


# ---------------------------------------------------------------- snapshots are a cache, never trusted


def _tamper_spent(state: dict[str, Any]) -> None:
    state["spent_s"] += 1.0


def _tamper_iteration(state: dict[str, Any]) -> None:
    trace = next(iter(state["traces"].values()))
    trace["iteration"] += 1


def _tamper_last_seq(state: dict[str, Any]) -> None:
    # claims an earlier seq: the worker folds the log onto it, which the log cannot continue
    state["last_seq"] -= 300


@pytest.mark.integration
@pytest.mark.parametrize("tamper", [_tamper_spent, _tamper_iteration, _tamper_last_seq],
                         ids=["spent_s", "trace-iteration", "last-seq"])
def test_a_snapshot_that_differs_from_the_fold_is_caught_and_replay_stays_right(store, tamper) -> None:
    snaps = _snapshot_while_folding(store)
    bad_seq = 1500  # the nearest snapshot to the middle of the run: the boundary two jobs use
    assert bad_seq in snaps
    seq, text = store.load_snapshot(RUN, state_schema=STATE_SCHEMA, max_seq=bad_seq)
    assert seq == bad_seq
    state = json.loads(text)
    tamper(state)
    store.save_snapshot(RUN, bad_seq, STATE_SCHEMA, json.dumps(state))

    serial = replay_run(store, RUN)
    report, lines = _parallel(store, 2)
    assert _slices(lines)[1][0] == bad_seq + 1  # the second slice was planned to start from it
    _same_as_serial(report, serial)
    assert report.ok and report.last_agreeing_seq == store.last_seq(RUN)
    assert len(report.notes) == 1  # the parallel result was thrown away: replayed serially
    assert f"snapshot at seq {bad_seq}" in report.notes[0] and "does not match" in report.notes[0]
    assert "replayed serially" in report.notes[0]


@pytest.mark.integration
def test_an_unreadable_snapshot_at_a_boundary_falls_back_to_the_log(store) -> None:
    assert 1500 in _snapshot_while_folding(store)
    store.save_snapshot(RUN, 1500, STATE_SCHEMA, "not a state")
    serial = replay_run(store, RUN)
    report, _ = _parallel(store, 2)
    _same_as_serial(report, serial)
    assert any("seq 1500" in note for note in report.notes)


# ---------------------------------------------------------------- divergence


def _with_one_altered_verdict(run: SyntheticRun, at_fraction: float) -> tuple[list[Any], int]:
    """The run's events with the first ValidationJudged after ``at_fraction`` of the run altered."""
    events = list(run.events)
    i = next(i for i, e in enumerate(events) if e.type == "ValidationJudged" and i >= at_fraction * len(events))
    ev = events[i]
    levels = [dict(level) for level in ev.payload["levels"]]
    levels[0]["detail"] = "altered after the fact"
    events[i] = NewEvent(ev.type, {**ev.payload, "levels": levels}, ev.trace_id, ev.ts, ev.schema_version)
    return events, i + 1


@pytest.mark.integration
@pytest.mark.parametrize("jobs,at_fraction,snapshots", [
    (2, 0.9, False), (3, 0.5, False), (3, 0.9, False), (2, 0.1, False), (2, 0.9, True), (3, 0.75, True)])
def test_a_divergence_is_reported_as_the_serial_replay_reports_it(tmp_path, synthetic, jobs, at_fraction,
                                                                  snapshots) -> None:
    events, bad_seq = _with_one_altered_verdict(synthetic, at_fraction)
    with _store(tmp_path / "g.db", synthetic, events) as store:  # the hash chain is valid: only replay can tell
        if snapshots:
            _snapshot_while_folding(store)
        serial = replay_run(store, RUN)
        report, lines = _parallel(store, jobs)

    assert not serial.ok and serial.divergence.seq == bad_seq
    slices = _slices(lines)
    if at_fraction >= 0.5:
        assert bad_seq > slices[0][1], "the divergence should lie beyond the first slice"
    assert not report.ok
    _same_as_serial(report, serial)
    assert report.last_agreeing_seq == bad_seq - 1
    d, s = report.divergence, serial.divergence
    assert (d.seq, d.recorded["type"], d.recorded["trace_id"]) == (s.seq, "ValidationJudged", s.recorded["trace_id"])
    assert d.recorded == s.recorded and d.derived == s.derived and d.fields == s.fields
    assert [f["path"] for f in d.fields] == ["payload.levels[0].detail"]
    assert d.likely_cause == s.likely_cause
    assert report.notes == [f"replayed on {jobs} processes"]


@pytest.mark.integration
def test_a_missing_blob_late_in_the_run_raises_as_in_a_serial_replay(tmp_path, synthetic) -> None:
    db = tmp_path / "g.db"
    _store(db, synthetic).close()
    late = [e for e in synthetic.events if e.type == "LLMResponded" and e.payload.get("content_sha")][-3]
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM blobs WHERE sha = ?", (late.payload["content_sha"],))
    conn.close()
    with EventStore.open(db, readonly=True) as store:
        with pytest.raises(BlobMissing) as serial:
            replay_run(store, RUN)
        with pytest.raises(BlobMissing) as parallel:  # raised in a worker, re-raised here: no hang, same error
            replay_store(store, RUN, jobs=2)
    assert str(parallel.value) == str(serial.value) and late.payload["content_sha"] in str(serial.value)


# ---------------------------------------------------------------- what stays serial


def test_an_imported_run_replays_serially_fold_only(tmp_path) -> None:
    with EventStore.open(tmp_path / "g.db") as store:
        import_rdagent(store, RDAGENT_FIX / "run_a-plain", run_id="a")
        n = store.last_seq("a")
        assert n >= 4
        serial = replay_run(store, "a")
        lines: list[str] = []
        report = replay_store(store, "a", jobs=2, progress=lines.append)
    assert serial.mode == "fold-only" and serial.ok
    assert report.mode == "fold-only" and report.ok
    assert (report.events, report.decisions, report.last_agreeing_seq) == (n, serial.decisions, n)
    assert lines == [] and report.notes == []  # no workers were started


@pytest.mark.integration
def test_jobs_1_and_small_runs_replay_serially(store) -> None:
    serial = replay_run(store, RUN)
    for jobs in (1, None):  # None: automatic, and ~3,000 events are too few to split
        report, lines = _parallel(store, jobs)
        _same_as_serial(report, serial)
        assert lines == [] and report.notes == []


def test_auto_jobs_is_one_per_core_by_run_size() -> None:
    assert auto_jobs(0) == 1
    assert auto_jobs(MIN_EVENTS_PER_JOB - 1) == 1
    assert 1 <= auto_jobs(2 * MIN_EVENTS_PER_JOB) <= 2
    assert 1 <= auto_jobs(10**9) <= MAX_AUTO_JOBS


# ---------------------------------------------------------------- the CLI


@pytest.mark.integration
def test_cli_replay_jobs(tmp_path, synthetic) -> None:
    db = tmp_path / "g.db"
    _store(db, synthetic).close()
    res = gome(["replay", RUN, "--jobs", "2", "--db", str(db)], db=db)
    assert res.returncode == 0, res.stderr
    assert "all decisions agree" in res.stdout
    assert "on 2 processes" in res.stderr and "replayed on 2 processes" in res.stderr

    res = gome(["replay", RUN, "--jobs", "2", "--json", "--db", str(db)], db=db)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["ok"] and out["events_checked"] == len(synthetic.events)
    assert out["notes"] == ["replayed on 2 processes"]

    res = gome(["replay", RUN, "--jobs", "0", "--db", str(db)], db=db)
    assert res.returncode == 2
    assert "--jobs" in res.stderr and "0 is not a number of processes" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.integration
def test_cli_replay_jobs_reports_a_late_divergence(tmp_path, synthetic) -> None:
    events, bad_seq = _with_one_altered_verdict(synthetic, 0.9)
    db = tmp_path / "g.db"
    _store(db, synthetic, events).close()
    res = gome(["replay", RUN, "--jobs", "2", "--db", str(db)], db=db)
    assert res.returncode == 1, res.stderr
    assert f"DIVERGED at seq {bad_seq} (ValidationJudged" in res.stdout
    assert "replayed on 2 processes" in res.stderr


def test_the_plan_cuts_at_snapshots_only_when_each_cut_has_one_near() -> None:
    from gome_es.driver.replay_jobs import _plan

    # one far-away snapshot: every worker folds its prefix instead (slices shrink with the fold to do)
    sparse = _plan(100_000, 4, [100])
    assert len(sparse) == 4 and all(s.snapshot_seq is None for s in sparse)
    assert [s.last_seq - s.first_seq + 1 for s in sparse] == sorted(
        (s.last_seq - s.first_seq + 1 for s in sparse), reverse=True)
    assert sparse[0].first_seq == 1 and sparse[-1].last_seq == 100_000
    assert all(a.last_seq + 1 == b.first_seq for a, b in zip(sparse, sparse[1:]))
    # band snapshots (as the driver keeps them): cut at them, the slice before hashes its end state
    banded = _plan(100_000, 2, [1000, *range(10_000, 100_001, 10_000), 99_000])
    assert [(s.first_seq, s.last_seq, s.snapshot_seq, s.digest_end) for s in banded] == [
        (1, 50_000, None, True), (50_001, 100_000, 50_000, False)]
