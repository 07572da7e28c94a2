"""`gome diff` on real recorded runs: exit codes, first divergence, exports, JSON shape."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.analysis.diff import diff_runs
from gome_es.api.sources import source_from_export, source_from_store
from gome_es.cli.main import cli
from gome_es.store import EventStore

from .conftest import Recorded

pytestmark = pytest.mark.integration


def gome(*args: str):
    return CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)


def test_identical_runs_are_the_same_although_ids_times_and_durations_differ(recorded: Recorded):
    with EventStore.open(recorded.db, readonly=True) as store:
        a, b = list(store.read("same-1")), list(store.read("same-2"))
    assert [e.ts for e in a] != [e.ts for e in b]
    def durations(evs):
        return [e.payload["duration_s"] for e in evs if e.type == "ExecutionFinished"]
    assert durations(a) != durations(b)
    def workspaces(evs):
        return [e.payload["workspace"] for e in evs if e.type == "ExecutionStarted"]
    assert workspaces(a) != workspaces(b)

    result = gome("same-1", "same-2", "--db", str(recorded.db))
    assert result.exit_code == 0, result.output
    assert "SAME" in result.output
    assert "t1" in result.output and "t2" in result.output  # the per-trace table


def test_different_runs_exit_1_with_first_divergence_where_the_answer_changed(recorded: Recorded):
    result = gome("same-1", "broken", "--db", str(recorded.db), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    first = report["first_divergence"]
    assert (first["trace"], first["iteration"], first["attempt"], first["stage"]) == \
        ("t2", 1, 0, "LLMResponded[code]")
    with EventStore.open(recorded.db, readonly=True) as store:
        seq_of = {name: next(e.seq for e in store.read(name) if e.type == "LLMResponded"
                             and e.payload["key"] == "t2/it1/code/0") for name in ("same-1", "broken")}
    assert first["a"]["seq"] == seq_of["same-1"] and first["b"]["seq"] == seq_of["broken"]
    # an LLM answer's fields are folded in --json (they repeat the code), kept with --fields
    assert any(f["path"] == "content_sha:*" and f["class"] == "exchange" and f["fields"] >= 1
               for f in first["fields"])
    full = json.loads(gome("same-1", "broken", "--db", str(recorded.db), "--json", "--fields").output)
    assert any(f["path"] == "content_sha:code" for f in full["first_divergence"]["fields"])

    by_where = {d["where"]: d for d in report["differences"]}
    code = by_where["t2 it1 CodeGenerated"]["code"]
    assert any(line.startswith("+raise RuntimeError") for line in code["diff"])
    verdict = by_where["t2 it1 ValidationJudged"]["verdict"]
    assert verdict["a"] == {"accepted": True, "first_failure": None}
    assert verdict["b"] == {"accepted": False, "first_failure": "ran_cleanly"}
    only_b = {d["where"] for d in report["differences"] if d["status"] == "only_b"}
    assert {"t2 it1 LLMRequested[debug] attempt 1", "t2 it1 CodeGenerated attempt 1",
            "t2 it1 ExecutionFinished attempt 1"} <= only_b
    assert report["b"]["summary"]["traces"]["t2"]["failures"] == 1
    assert report["a"]["summary"]["traces"]["t2"]["failures"] == 0

    human = gome("same-1", "broken", "--db", str(recorded.db))
    assert human.exit_code == 1
    assert "FIRST DIFFERING DECISION: t2 i1 a0: different code; a different verdict" in human.output
    assert "+raise RuntimeError('scripted failure')" in human.output  # the first decision's code
    rows = [line.split() for line in human.output.splitlines()]
    assert ["B", "*", "—", "*rejected:", "ran_cleanly", "=", "same", "(code", "differs)"] in rows
    assert "FIRST DIVERGENCE" not in human.output and "content_sha" not in human.output
    assert "rejected: ran_cleanly = the solution crashed or was stopped" in human.output  # the legend

    human = gome("same-1", "broken", "--db", str(recorded.db), "--fields")
    assert human.exit_code == 1
    assert "FIRST DIVERGENCE: t2 it1 LLMResponded[code]" in human.output
    assert "+raise RuntimeError('scripted failure')" in human.output
    assert "verdict B: rejected: the solution crashed or was stopped [ran_cleanly]" in human.output


def test_run_against_its_export_and_its_import_in_another_db_is_the_same(recorded: Recorded, tmp_path: Path):
    export = tmp_path / "same-2.jsonl.gz"
    with EventStore.open(recorded.db, readonly=True) as store:
        store.export_run("same-2", export)
        store.export_run("same-1", tmp_path / "same-1.jsonl")
    other_db = tmp_path / "other.db"
    with EventStore.open(other_db) as other:
        other.import_run(export, run_id="elsewhere")

    r = gome("same-1", str(export), "--db", str(recorded.db))
    assert r.exit_code == 0, r.output
    r = gome("same-1", "elsewhere", "--db", str(recorded.db), "--db-b", str(other_db))
    assert r.exit_code == 0, r.output
    r = gome(str(tmp_path / "same-1.jsonl"), str(export))  # two files, no database at all
    assert r.exit_code == 0, r.output
    r = gome(str(export), "broken", "--db", str(recorded.db))
    assert r.exit_code == 1, r.output

    # the library reads the export's blobs too: the code diff comes from the file
    with EventStore.open(recorded.db, readonly=True) as store:
        report = diff_runs(source_from_export(export), source_from_store(store, "broken"))
    assert report.first_divergence.key.stage == "LLMResponded[code]"
    assert any(d.code and "diff" in d.code for d in report.differences)


def test_trouble_exits_2_with_a_message_naming_what_is_missing(recorded: Recorded, tmp_path: Path):
    r = gome("same-1", "no-such-run", "--db", str(recorded.db))
    assert r.exit_code == 2
    assert "no-such-run" in r.output and str(recorded.db) in r.output

    r = gome("same-1", "same-1", "--db", str(recorded.db), "--db-b", str(tmp_path / "absent.db"))
    assert r.exit_code == 2
    assert "absent.db" in r.output

    r = gome("same-1", str(tmp_path / "missing.jsonl"), "--db", str(recorded.db))
    assert r.exit_code == 2 and "missing.jsonl" in r.output

    export = tmp_path / "cut.jsonl"
    with EventStore.open(recorded.db, readonly=True) as store:
        store.export_run("same-1", export)
    lines = export.read_text().splitlines(keepends=True)
    export.write_text("".join(lines[:20]))
    r = gome("same-1", str(export), "--db", str(recorded.db))
    assert r.exit_code == 2 and "truncated" in r.output

    edited = tmp_path / "edited.jsonl.gz"
    text = "".join(lines).replace('"val_score":0.99', '"val_score":0.98', 1)
    assert text != "".join(lines)
    with gzip.open(edited, "wt") as fh:
        fh.write(text)
    r = gome("same-1", str(edited), "--db", str(recorded.db))
    assert r.exit_code == 2 and "broken at seq" in r.output


def test_json_report_shape(recorded: Recorded):
    r = gome("same-1", "broken", "--db", str(recorded.db), "--json", "--context", "0")
    report = json.loads(r.output)
    assert set(report) == {"same", "verdict", "prefix_of", "a", "b", "steps_compared", "counts", "provenance",
                           "include_provenance", "loops_differing", "trace_pairs", "traces_renamed",
                           "first_divergence", "differences", "exchange_values", "decisions", "seconds"}
    assert report["same"] is False and report["verdict"] == "different" and report["traces_renamed"] == {}
    assert r.output.count("\n") == 1  # one line
    assert set(report["counts"]) == {"changed", "only_a", "only_b"}
    assert sum(report["counts"].values()) == len(report["differences"])
    for side, run_id in (("a", "same-1"), ("b", "broken")):
        s = report[side]
        assert s["run_id"] == run_id and s["where"] == str(recorded.db) and s["events"] > 40
        summary = s["summary"]
        assert summary["status"] == "completed" and summary["task_id"] == "breast-cancer-diagnosis"
        assert set(summary["traces"]) == {"t1", "t2"}
        for row in summary["traces"].values():
            assert set(row) == {"direction", "iterations", "accepted", "best_val_score", "llm_calls",
                                "cost_usd", "prompt_tokens", "completion_tokens", "executions", "failures"}
            assert row["iterations"] == 2
    for d in report["differences"]:
        assert {"trace", "iteration", "attempt", "stage", "occurrence", "where", "status", "a", "b",
                "fields"} <= set(d)
        assert (d["a"] is None) == (d["status"] == "only_b") and (d["b"] is None) == (d["status"] == "only_a")
    code = next(d["code"] for d in report["differences"] if "code" in d and "diff" in d["code"])
    hunk = [line for line in code["diff"][2:] if not line.startswith("@@")]
    assert hunk and not any(line.startswith(" ") for line in hunk)  # --context 0

    same = json.loads(gome("same-1", "same-2", "--db", str(recorded.db), "--json").output)
    assert same["same"] is True and same["first_divergence"] is None and same["differences"] == []
