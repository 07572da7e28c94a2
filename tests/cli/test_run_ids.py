"""Run ids people can use: every command that takes a run id takes a unique prefix and ``@last``,
answers an unknown id with the nearest, and names a sweep's id as a sweep.

A real database: the recorded breast-cancer run imported twice (``alpha-one``, ``alpha-two``, the
newest) and a planned sweep whose own stream is ``sweep-x1``.  Each command is run with the whole
id and with a prefix, and must print the same; the error cases exit 2 with a message that says
what to type instead.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.core.events import validate_payload
from gome_es.store import EventStore
from gome_es.sweep.driver import plan_sweep

FIX = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
# longer than any column a table gives an id; imports keep their recorded times, so @last breaks the tie
# between the three imports by id: alpha-two stays the newest
LONG = "a-study-" + "x" * 80 + "-cell-7"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ids") / "g.db"
    with EventStore.open(path, validator=validate_payload) as store:
        store.import_run(FIX, run_id="alpha-one")
        store.import_run(FIX, run_id=LONG)
        store.import_run(FIX, run_id="alpha-two")
        plan_sweep(store, tasks=["breast-cancer-diagnosis"], variants=["gome", "no-memory"], seeds=[0],
                   budget_s=60, sweep_id="sweep-x1")
    return path


def gome(db: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)


# (command, arguments after the id, exit code of a clean answer); events/verify/export also read sweeps
COMMANDS = [
    ("status", (), 0), ("show", (), 0), ("show", ("--json",), 0), ("steps", (), 0), ("events", (), 0),
    ("verify", (), 0), ("code", ("t1-i0-a0",), 0), ("logs", ("t1-i0-a0",), 0), ("watch", ("--once",), 0),
    ("replay", (), 0),
]


@pytest.mark.parametrize(("cmd", "rest", "code"), COMMANDS, ids=[" ".join((c, *r)) for c, r, _ in COMMANDS])
def test_a_unique_prefix_and_last_name_the_run_as_its_whole_id_does(db, cmd, rest, code):
    whole = gome(db, cmd, "alpha-two", *rest)
    assert whole.exit_code == code, whole.output
    for given in ("alpha-t", "@last"):
        r = gome(db, cmd, given, *rest)
        assert r.exit_code == code, r.output
        assert _steady(r.output) == _steady(whole.output)


def _steady(output: str) -> str:
    """An output without what a clock measures (replay's own speed)."""
    return re.sub(r"in [\d.]+s( \([\d,]+ events/s\))?", "in Ts", output)


def test_two_run_commands_resolve_both_ids(db, tmp_path):
    assert _steady(gome(db, "diff", "alpha-o", "@last").output) == _steady(
        gome(db, "diff", "alpha-one", "alpha-two").output)
    out = tmp_path / "pair.html"
    r = gome(db, "report", "alpha-o", "alpha-t", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "alpha-one" in out.read_text() and "alpha-two" in out.read_text()
    exp = tmp_path / "one.jsonl"
    assert gome(db, "export", "alpha-o", "-o", str(exp)).exit_code == 0
    assert '"run_id": "alpha-one"' in exp.read_text() or "alpha-one" in exp.read_text()


def test_fork_records_the_whole_id(db, tmp_path):
    db = Path(shutil.copy(db, tmp_path / "copy.db"))  # the other tests keep their three runs
    r = gome(db, "fork", "alpha-o", "--at", "20", "--run-id", "fork-of-one")
    assert r.exit_code == 0, r.output
    shown = gome(db, "show", "fork-of-one", "--json").output
    assert '"run_id": "alpha-one"' in shown  # forked_from names the whole id


@pytest.mark.parametrize("cmd", ["status", "show", "steps", "watch", "report", "resume", "replay", "fork", "code"])
def test_an_unknown_id_suggests_the_nearest(db, cmd):
    extra = {"fork": ("--at", "3"), "code": ("t1-i0-a0",)}.get(cmd, ())
    r = gome(db, cmd, "alpah-one", *extra)
    assert r.exit_code == 2
    assert "run alpah-one not found" in r.output and "did you mean alpha-one" in r.output


def test_an_ambiguous_prefix_lists_its_matches(db):
    r = gome(db, "show", "alpha")
    assert r.exit_code == 2
    assert "'alpha' is the start of 2 run ids" in r.output and "alpha-one, alpha-two" in r.output


@pytest.mark.parametrize("cmd", ["show", "status", "steps", "watch", "report", "resume", "replay", "code"])
@pytest.mark.parametrize("given", ["sweep-x1", "sweep-x"])
def test_a_sweep_id_is_named_as_a_sweep_and_points_at_sweep_status(db, cmd, given):
    extra = {"code": ("t1-i0-a0",)}.get(cmd, ())
    r = gome(db, cmd, given, *extra)
    assert r.exit_code == 2, r.output
    assert "sweep-x1 is a sweep, not a run" in r.output
    assert "gome sweep status sweep-x1" in r.output
    assert "newer gome-es" not in r.output


def test_last_skips_the_sweep_stream_where_a_run_is_wanted_and_sweep_commands_take_prefixes(db):
    assert "alpha-two" in gome(db, "status", "@last").output  # the sweep was planned after it
    status = gome(db, "sweep", "status", "sweep-x1").output
    assert gome(db, "sweep", "status", "sw").output == status == gome(db, "sweep", "status", "@last").output
    r = gome(db, "sweep", "status", "alpha-one")
    assert r.exit_code == 2 and "alpha-one is a run, not a sweep" in r.output
    r = gome(db, "sweep", "report", "sweep-y1")
    assert r.exit_code == 2 and "did you mean sweep-x1" in r.output
    assert gome(db, "events", "sweep-x1").exit_code == 0  # a sweep's stream is still an event stream


def test_watch_shows_a_long_run_id_whole_even_when_narrow(db):
    r = gome(db, "watch", LONG[:10], "--once", "--width", "80")
    assert r.exit_code == 0, r.output
    assert re.search(rf"run {re.escape(LONG)}(\s|$)", r.output, re.M)
