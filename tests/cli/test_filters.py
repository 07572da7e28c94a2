"""Filters that would match nothing are named: exit 2 with the values the option could take."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.core.events import EVENT_TYPES, validate_payload
from gome_es.store import EventStore
from tests.support.recorded import db_with


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return db_with(tmp_path_factory.mktemp("filters") / "g.db", validator=validate_payload)


def gome(db: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--db", str(db)])


def test_an_unknown_event_type_lists_the_valid_ones(db):
    r = gome(db, "events", "r1", "--type", "Bogus")
    assert r.exit_code == 2
    assert "'--type'" in r.output and "no event type 'Bogus'" in r.output
    assert all(t in r.output for t in EVENT_TYPES)
    r = gome(db, "events", "r1", "--type", "SotaChanged", "--type", "sotachanged")
    assert r.exit_code == 2 and "did you mean SotaChanged?" in r.output


@pytest.mark.parametrize("cmd", ["events", "steps"])
def test_an_unknown_trace_names_the_runs_traces(db, cmd):
    r = gome(db, cmd, "r1", "--trace", "1")
    assert r.exit_code == 2
    assert "run r1 has no trace '1' (did you mean t1?); its traces: t1, t2" in r.output
    assert "has no steps yet" not in r.output


@pytest.mark.parametrize("cmd", ["events", "steps"])
def test_a_filter_that_matches_still_filters(db, cmd):
    r = gome(db, cmd, "r1", "--trace", "t2", "--json")
    assert r.exit_code == 0 and r.output.strip()
    key = '"trace_id":"t2"' if cmd == "events" else '"trace":"t2"'
    assert all(key in line for line in r.output.splitlines())
    r = gome(db, "events", "r1", "--type", "SotaChanged", "--json")
    with EventStore.open(db, readonly=True) as store:
        want = sum(1 for e in store.read("r1") if e.type == "SotaChanged")
    assert r.exit_code == 0 and want > 0 and r.output.count("\n") == want
