"""A run's duration in ``runs_v`` (and so `gome runs`, `gome compare`, ``db.runs()``) is the budget time
`gome show` says it spent: the gap before a resume is downtime, not duration.

The runs are real: the recorded breast-cancer run imported, forked after its traces finished (the fork's
copied events keep their recorded times, days before now) and resumed, once plainly and once with
``--count-downtime``; the expected figures come from `gome show --json`, which folds the events.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.report.tables import run_time, view_definitions
from gome_es.store import EventStore
from gome_es.store.schema import load_migrations, split_statements

FIX = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"


def gome(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("durations") / "g.db"
    with EventStore.open(path) as store:
        store.import_run(FIX, run_id="seed-0")
        last_trace_finished = max(e.seq for e in store.read("seed-0") if e.type == "TraceFinished")
    for fork, extra in (("fork-plain", ()), ("fork-counted", ("--count-downtime",))):
        gome("fork", "seed-0", "--at", str(last_trace_finished), "--run-id", fork, "--db", str(path))
        gome("resume", fork, "--quiet", *extra, "--db", str(path))
    return path


def runs_v(path: Path, *, uri: bool = False) -> dict[str, dict]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro" if uri else path, uri=uri)
    conn.row_factory = sqlite3.Row
    try:
        return {r["run_id"]: dict(r) for r in conn.execute("SELECT * FROM runs_v")}
    finally:
        conn.close()


def shown(path: Path, run_id: str) -> dict:
    return json.loads(gome("show", run_id, "--json", "--db", str(path)))


def test_a_forked_and_resumed_runs_duration_is_its_spent_time_not_the_gap(db):
    rows = runs_v(db)
    plain, counted, original = rows["fork-plain"], rows["fork-counted"], rows["seed-0"]
    show = shown(db, "fork-plain")
    # the gap is real and large: the fixture was recorded long before this test ran
    assert show["downtime_s"] > 3600 and plain["resumes"] == 1 and plain["status"] == "completed"
    assert plain["duration_s"] == pytest.approx(show["spent_s"], abs=1e-3)
    assert plain["downtime_s"] == pytest.approx(show["downtime_s"], abs=1e-3)
    assert plain["duration_s"] + plain["downtime_s"] == pytest.approx(plain["last_ts"] - plain["started"])
    assert plain["duration_s"] < original["duration_s"] + 600  # the recorded minute plus the resume's own work
    # --count-downtime: the resume asked for the gap to count, and the view counts it as the fold does
    show_c = shown(db, "fork-counted")
    assert show_c["downtime_s"] == 0 and show_c["spent_s"] > 3600
    assert counted["duration_s"] == pytest.approx(show_c["spent_s"], abs=1e-3) and counted["downtime_s"] == 0
    # one run's time without the whole view (what a sweep records for its cell) is the same figure
    with EventStore.open(db, readonly=True) as store:
        for run_id, row in rows.items():
            assert run_time(store, run_id) == pytest.approx((row["duration_s"], row["downtime_s"]))
        assert run_time(store, "no-such-run") == (0.0, 0.0)
    # a run never resumed: duration is last event minus start, as before
    assert original["downtime_s"] == 0
    assert original["duration_s"] == pytest.approx(original["last_ts"] - original["started"])


def test_gome_runs_prints_and_exports_the_spent_duration(db):
    out = {json.loads(x)["run_id"]: json.loads(x) for x in gome("runs", "--json", "--db", str(db)).splitlines()}
    assert out["fork-plain"]["duration_s"] == pytest.approx(shown(db, "fork-plain")["spent_s"], abs=1e-3)
    assert out["fork-plain"]["downtime_s"] > 3600
    line = next(x for x in gome("runs", "--db", str(db)).splitlines() if x.startswith("fork-plain "))
    assert "h" not in line.split()[6]  # the DURATION column: about a minute, not days


def _downgrade_to_schema_5(path: Path) -> None:
    """Make ``path`` what gome wrote before migration 6: 0003's runs_v, schema_migrations up to 5."""
    (m3,) = [m for m in load_migrations() if m.version == 3]
    old_view = next(s for s in split_statements(m3.sql) if "CREATE VIEW runs_v" in s)
    conn = sqlite3.connect(path)
    conn.execute("DROP VIEW runs_v")
    conn.execute(old_view)
    conn.execute("DELETE FROM schema_migrations WHERE version >= 6")
    conn.commit()
    conn.close()


def test_a_read_only_older_schema_database_gets_the_newest_runs_v_as_a_temp_view(db, tmp_path):
    old = tmp_path / "old.db"
    with sqlite3.connect(db) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
    _downgrade_to_schema_5(old)
    stale = runs_v(old, uri=True)["fork-plain"]
    assert "downtime_s" not in stale and stale["duration_s"] > 3600  # the old definition counts the gap
    before = old.read_bytes()
    out = {json.loads(x)["run_id"]: json.loads(x) for x in gome("runs", "--json", "--db", str(old)).splitlines()}
    want = shown(old, "fork-plain")
    assert out["fork-plain"]["duration_s"] == pytest.approx(want["spent_s"], abs=1e-3)
    assert out["fork-plain"]["downtime_s"] == pytest.approx(want["downtime_s"], abs=1e-3)
    # reading did not migrate the file: it still holds schema 5 and the old view
    assert old.read_bytes() == before
    assert runs_v(old, uri=True)["fork-plain"]["duration_s"] == stale["duration_s"]
    # a writing open migrates it, and then the file's own view agrees
    with EventStore.open(old):
        pass
    assert runs_v(old)["fork-plain"]["duration_s"] == pytest.approx(want["spent_s"], abs=1e-3)


def test_the_newest_migration_defining_a_view_is_the_one_used():
    defs = view_definitions()
    newest = max(m.version for m in load_migrations() if "CREATE VIEW runs_v" in m.sql)
    assert defs["runs_v"][0] == newest >= 6 and "downtime_s" in defs["runs_v"][1]
    assert defs["steps_v"][0] == 3
