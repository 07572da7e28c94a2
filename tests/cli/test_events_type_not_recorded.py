"""`gome events RUN --type X` for a type gome knows but the run never recorded says so (issue 25, item 10).

It exits 2 on stderr naming the types the run did record, as `steps --trace` does for a trace with
no steps: a filter that matches nothing is an error, never a silent empty answer. The run is the
recorded breast-cancer run (it finished uninterrupted: no RunStopped, RunResumed or SubmissionGraded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gome_es.core.events import EVENT_TYPES
from gome_es.store import EventStore
from tests.support.recorded import db_with

pytestmark = pytest.mark.integration  # real gome processes



@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return db_with(tmp_path_factory.mktemp("events-types") / "g.db")


def recorded(db: Path, trace: str | None = None) -> list[str]:
    with EventStore.open(db, readonly=True) as store:
        return sorted({e.type for e in store.read("r1") if trace is None or e.trace_id == trace})


def gome(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.run([sys.executable, "-m", "gome_es", "events", "r1", *args, "--db", str(db)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("as_json", [False, True])
def test_a_known_type_the_run_never_recorded_is_named_with_the_types_it_has(db, as_json):
    have = recorded(db)
    assert "RunStopped" in EVENT_TYPES and "RunStopped" not in have
    r = gome(db, "--type", "RunStopped", *(["--json"] if as_json else []))
    assert r.returncode == 2 and r.stdout == ""
    assert f"run r1 has no RunStopped events (it has: {', '.join(have)})" in " ".join(r.stderr.split())
    assert "'--type'" in r.stderr and "Traceback" not in r.stderr


def test_with_a_trace_the_types_are_that_traces(db):
    have = recorded(db, "t1")
    assert "RunStarted" not in have  # a run-level event: no trace has it
    r = gome(db, "--trace", "t1", "--type", "RunStarted")
    assert r.returncode == 2 and r.stdout == ""
    assert f"run r1 trace t1 has no RunStarted events (it has: {', '.join(have)})" in " ".join(r.stderr.split())


def test_one_missing_type_among_found_ones_is_a_note_and_the_others_print(db):
    r = gome(db, "--type", "RunStopped", "--type", "SotaChanged", "--json")
    assert r.returncode == 0
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines and {x["type"] for x in lines} == {"SotaChanged"}
    assert "run r1 has no RunStopped events" in r.stderr


def test_an_unknown_type_is_still_refused_as_unknown(db):
    r = gome(db, "--type", "RunStoped")
    assert r.returncode == 2 and "no event type 'RunStoped' (did you mean RunStopped?)" in r.stderr


@pytest.mark.parametrize("option", ["--type", "--trace"])
def test_a_huge_filter_value_is_refused_by_its_ends_not_echoed_whole(db, option):
    value = "Run" + "x" * 100_000 + "END"
    r = gome(db, option, value)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr) < 2_000 and "characters)" in r.stderr and "xEND'" in r.stderr
