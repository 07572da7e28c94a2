"""`gome runs`, `gome steps`, the SQL views runs_v/steps_v, `gome events`, `gome code`, `gome logs`.

Runs are the two real recorded runs of tests/fixtures/diff (offline reasoner, real executor,
breast-cancer-diagnosis, seeds 0 and 1), imported into a fresh database; every answer is
checked against the events themselves.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.store import EventStore, NewEvent

FIX = Path(__file__).parents[1] / "fixtures" / "diff"
RUNS = {"seed-0": FIX / "breast-cancer-seed0.jsonl.gz", "seed-1": FIX / "breast-cancer-seed1.jsonl.gz"}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tables") / "gome.db"
    with EventStore.open(path) as store:
        for run_id, file in RUNS.items():
            store.import_run(file, run_id=run_id)
    return path


def gome(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def events(db: Path, run_id: str):
    with EventStore.open(db, readonly=True) as store:
        return list(store.read(run_id))


def test_accepted_hypotheses_of_a_trace_in_one_plain_select(db):
    conn = sqlite3.connect(db)
    got = conn.execute("SELECT iteration, attempt, hypothesis, val_score FROM steps_v "
                       "WHERE run_id = 'seed-0' AND trace = 't1' AND accepted = 1 "
                       "ORDER BY iteration, attempt").fetchall()
    evs = events(db, "seed-0")
    hyp = {(e.trace_id, e.payload["iteration"]): e.payload["hypothesis"]
           for e in evs if e.type == "HypothesisProposed"}
    want = [(e.payload["iteration"], e.payload["attempt"], hyp[("t1", e.payload["iteration"])],
             e.payload["val_score"])
            for e in evs if e.type == "ValidationJudged" and e.trace_id == "t1" and e.payload["accepted"]]
    assert got == want and len(want) >= 2


def test_runs_v_agrees_with_the_log(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {r["run_id"]: dict(r) for r in conn.execute("SELECT * FROM runs_v")}
    assert set(rows) == set(RUNS)
    for run_id, row in rows.items():
        evs = events(db, run_id)
        start = evs[0].payload
        assert (row["task"], row["seed"], row["reasoner"], row["strategy"]) == (
            "breast-cancer-diagnosis", start["config"]["seed"], "offline", "gome")
        assert row["events"] == len(evs)
        assert row["iterations"] == sum(e.type == "HypothesisProposed" for e in evs)
        assert row["best_val_score"] == max(e.payload["val_score"] for e in evs if e.type == "SotaChanged")
        finished = [e.payload["status"] for e in evs if e.type == "RunFinished"]
        assert row["status"] == finished[-1]
        assert row["duration_s"] == pytest.approx(evs[-1].ts - evs[0].ts)


def test_steps_v_has_a_row_per_code_generated_with_its_execution(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM steps_v WHERE run_id = 'seed-1' ORDER BY seq")]
    evs = events(db, "seed-1")
    codes = [e for e in evs if e.type == "CodeGenerated"]
    assert [r["solution_id"] for r in rows] == [e.payload["solution_id"] for e in codes]
    fin = {e.payload["solution_id"]: e.payload for e in evs if e.type == "ExecutionFinished"}
    for r in rows:
        assert r["failure"] == fin[r["solution_id"]]["failure"]
        assert r["duration_s"] == fin[r["solution_id"]]["duration_s"]
        assert r["verdict"] in ("accepted", "rejected")
        assert (r["rejected_at"] is None) == (r["verdict"] == "accepted")
    drawn = [r for r in rows if r["iteration"] > 0]
    assert drawn and all(json.loads(r["scores"]) for r in drawn)  # the drawn candidate's dimensions


def test_views_yield_nulls_not_errors_on_odd_payloads(tmp_path):
    path = tmp_path / "odd.db"
    with EventStore.open(path) as store:
        store.append("odd", [NewEvent("RunStarted", {"task_id": ["not", "a", "string"]}),
                             NewEvent("CodeGenerated", {"solution_id": 7, "iteration": "x"}, trace_id="t1"),
                             NewEvent("HypothesisProposed", {"candidates": "nope", "draw": None},
                                      trace_id="t1"),
                             NewEvent("ValidationJudged", {"accepted": "maybe"}, trace_id="t1"),
                             NewEvent("SubmissionGraded", {"report": 3})], expected_seq=0)
    conn = sqlite3.connect(path)
    (run,) = conn.execute("SELECT run_id, status, medal, best_val_score FROM runs_v").fetchall()
    assert run == ("odd", "unfinished", "none", None)
    (step,) = conn.execute("SELECT solution_id, hypothesis, val_score, scores FROM steps_v").fetchall()
    assert step == (7, None, None, None)
    r = gome("runs", "--db", str(path))
    assert r.exit_code == 0 and "odd" in r.output and "None" not in r.output


def test_runs_table_csv_and_json(db):
    r = gome("runs", "--db", str(db))
    assert r.exit_code == 0
    head, *rows = r.output.splitlines()
    assert head.split() == ["RUN", "TASK", "STRATEGY", "REASONER", "SEED", "STATUS", "DURATION", "ITERS",
                            "BEST", "VAL", "TEST", "MEDAL"]
    assert len(rows) == 2 and all("completed" in x and "6/6" in x for x in rows)
    table = list(csv.DictReader(io.StringIO(gome("runs", "--db", str(db), "--csv").output)))
    assert [t["run_id"] for t in table] == ["seed-0", "seed-1"] and table[1]["seed"] == "1"
    js = [json.loads(x) for x in gome("runs", "--db", str(db), "--json").output.splitlines()]
    assert [j["best_val_score"] for j in js] == [float(t["best_val_score"]) for t in table]
    assert "0.99" in rows[0] and ".9963579" not in r.output  # rounded for people, whole for scripts


def test_steps_table_csv_json_and_missing_run(db):
    r = gome("steps", "seed-0", "--db", str(db))
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split()[:5] == ["TRACE", "IT", "ATT", "VAL", "VERDICT"] and len(lines) == 7
    assert "[no problem visible]" not in r.output and "None" not in r.output
    rows = list(csv.DictReader(io.StringIO(gome("steps", "seed-0", "--db", str(db), "--csv").output)))
    assert {"hypothesis", "component", "score_impact", "drawn", "val_score", "verdict", "rejected_at",
            "failure", "duration_s", "cost_usd"} <= set(rows[0])
    t1 = [json.loads(x) for x in gome("steps", "seed-0", "--db", str(db), "--json", "--trace", "t1")
          .output.splitlines()]
    assert {x["trace"] for x in t1} == {"t1"} and len(t1) == 3
    missing = gome("steps", "nope", "--db", str(db))
    assert missing.exit_code == 2 and "nope" in missing.output


def test_an_older_database_opened_read_only_gets_the_views_without_a_write(db, tmp_path):
    old = tmp_path / "old.db"
    old.write_bytes(db.read_bytes())
    conn = sqlite3.connect(old)
    conn.executescript("DROP VIEW runs_v; DROP VIEW steps_v; DELETE FROM schema_migrations WHERE version = 3;")
    conn.close()
    before = old.read_bytes()
    r = gome("runs", "--db", str(old))
    assert r.exit_code == 0 and "seed-1" in r.output
    assert old.read_bytes() == before


def test_events_are_one_readable_line_each(db):
    r = gome("events", "seed-0", "--db", str(db))
    lines = r.output.splitlines()
    assert len(lines) == len(events(db, "seed-0"))
    assert not any("{" in line for line in lines)  # no JSON, no dict reprs
    judged = [line for line in lines if "ValidationJudged" in line]
    assert judged and all(("accepted" in x) or ("not better than best" in x) or ("rejected:" in x) for x in judged)
    assert any("RunStarted" in x and "seed 0" in x for x in lines)
    raw = gome("events", "seed-0", "--db", str(db), "--json", "--type", "RunStarted").output
    assert json.loads(raw)["payload"]["config"]["seed"] == 0


def test_code_and_logs_print_a_solutions_texts(db):
    evs = events(db, "seed-0")
    cg = next(e for e in evs if e.type == "CodeGenerated" and e.payload["solution_id"] == "t1-i1-a0")
    with EventStore.open(db, readonly=True) as store:
        code = store.get_blob(cg.payload["code_sha"]).decode()
        fin = next(e.payload for e in evs if e.type == "ExecutionFinished"
                   and e.payload["solution_id"] == "t1-i1-a0")
        stdout = store.get_blob(fin["stdout_sha"]).decode()
    r = gome("code", "seed-0", "t1-i1-a0", "--db", str(db))
    assert r.exit_code == 0 and r.output == code
    logs = gome("logs", "seed-0", "t1-i1-a0", "--db", str(db), "--stream", "stdout")
    assert logs.exit_code == 0 and logs.output == stdout and "val=" in stdout
    both = gome("logs", "seed-0", "t1-i1-a0", "--db", str(db)).output
    assert "-- stdout" in both and "-- stderr" in both and "ok, exit 0" in both
    bad = gome("code", "seed-0", "t9-i9-a9", "--db", str(db))
    assert bad.exit_code == 2 and "t9-i9-a9" in bad.output and "t1-i0-a0" in bad.output
    bad = gome("logs", "nope", "t1-i0-a0", "--db", str(db))
    assert bad.exit_code == 2 and "nope" in bad.output
