"""The diff follows what changed: traces paired by direction, resume overrides and fork points as
inputs, "same apart from bookkeeping", wrapped code lines, compact JSON (issue 25, item 7)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from gome_es.analysis.diff import diff_runs
from gome_es.cli.diff_cmd import wrap_diff_line
from gome_es.cli.main import cli
from gome_es.core.events import RunResumed
from gome_es.store import EventStore, NewEvent

from .synth import Synth, synth_run
from .test_alignment import source

TRACE_ID = re.compile(r"^t([12])(?=$|[-/])")


def swapped(s: Synth) -> Synth:
    """The same run recorded with its traces' ids swapped (t1 <-> t2): what two seeds do when each
    starts the other's direction first. Ids, solution ids (t1-i0-a0) and keys (t1/it0/code/0) are
    swapped; texts (hypotheses, directions, prompts) stay as the trace that wrote them wrote them."""

    def swap(value):
        if isinstance(value, str):
            return TRACE_ID.sub(lambda m: "t" + ("2" if m.group(1) == "1" else "1"), value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    out = []
    for e in s.events:
        payload = swap(e.payload)
        tid = swap(e.trace_id) if e.trace_id else e.trace_id
        out.append(NewEvent(e.type, payload, trace_id=tid, ts=e.ts, schema_version=e.schema_version))
    return Synth(out, s.blobs)


def gome(*args: str):
    return CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)


def store_with(tmp_path: Path, **runs: Synth) -> Path:
    db = tmp_path / "gome.db"
    with EventStore.open(db) as store:
        for run_id, s in runs.items():
            s.write(store, run_id)
    return db


# ------------------------------------------------------------------ pairing traces


def test_swapped_trace_ids_pair_by_direction_and_the_runs_are_the_same():
    # memory off: its version counter follows the interleaving of traces, which shuffling changes
    a = synth_run(traces=2, iterations=3, memory=False)
    b = swapped(synth_run(traces=2, iterations=3, jitter=3, shuffle=True, memory=False))
    start_b = {e.trace_id: e.payload["direction"] for e in b.events if e.type == "TraceStarted"}
    assert start_b == {"t2": "dir-t1", "t1": "dir-t2"}
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert report.same, [d.key.label() for d in report.differences[:5]]
    assert report.renamed == {"t2": "t1", "t1": "t2"}
    assert [(p["a"], p["b"], p["how"]) for p in report.pairs] == [("t1", "t2", "direction"),
                                                                  ("t2", "t1", "direction")]
    assert report.b["summary"]["traces"]["t1"]["own_id"] == "t2"
    js = report.to_json()
    assert js["trace_pairs"] == report.pairs and js["traces_renamed"] == report.renamed


def test_without_the_pairing_every_step_would_differ_and_a_real_change_is_found_in_its_trace():
    a = synth_run(traces=2, iterations=3)
    b = swapped(synth_run(traces=2, iterations=3, jitter=1, diverge=("t2", 1)))
    report = diff_runs(source(a, "a"), source(b, "b"))
    # a's t2 changed from iteration 1 on; in b it is recorded as t1, compared as t2
    assert {d.key.trace for d in report.differences if d.key.trace} == {"t2"}
    assert report.first_divergence.key.iteration == 1
    first = (report.decisions or {})["first_decision"]
    assert (first["trace"], first["iteration"]) == ("t2", 1)
    assert report.b_trace("t2") == "t1"


def test_cli_names_the_pairing_and_b_s_own_trace(tmp_path: Path):
    a = synth_run(traces=2, iterations=2)
    b = swapped(synth_run(traces=2, iterations=2, jitter=1, diverge=("t1", 0)))
    db = store_with(tmp_path, a=a, b=b)
    r = gome("a", "b", "--db", str(db))
    assert r.exit_code == 1, r.output
    assert "traces paired by starting direction: A t1 (dir-t1) with B t2; A t2 (dir-t2) with B t1." in r.output
    assert "trace t1 (B's t2):" in r.output
    assert re.search(r"^t1\s+B:t2\s", r.output, re.M)
    assert "FIRST DIFFERING DECISION: t1 i0 a0 (B's t2)" in r.output


def test_a_direction_only_one_run_started_falls_back_to_the_id():
    a = synth_run(traces=2, iterations=2)
    b = Synth([NewEvent(e.type, {**e.payload, "direction": "other"}, trace_id=e.trace_id, ts=e.ts,
                        schema_version=e.schema_version)
               if e.type == "TraceStarted" and e.trace_id == "t1" else e for e in a.events], a.blobs)
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert report.renamed == {}
    assert [(p["a"], p["b"], p["how"]) for p in report.pairs] == [("t1", "t1", "id"), ("t2", "t2", "direction")]
    assert [d.key.stage for d in report.differences] == ["TraceStarted"]


# ------------------------------------------------------------------ inputs and verdicts


def _resumed(s: Synth, overrides: dict, at_type: str = "ExecutionStarted") -> Synth:
    at = next(i for i, e in enumerate(s.events) if e.type == at_type)
    ev = NewEvent("RunResumed", RunResumed(cause="fork", gap_s=5.0, code_version="x",
                                           overrides=overrides).payload())
    return Synth(s.events[:at + 1] + [ev] + s.events[at + 1:], s.blobs)


def test_resume_overrides_and_the_fork_point_are_inputs():
    a = synth_run(traces=2, iterations=3)
    b = _resumed(synth_run(traces=2, iterations=3), {"config": {"max_iterations": 2},
                                                      "reasoner": {"kind": "replay"}})
    start = next(i for i, e in enumerate(b.events) if e.type == "RunStarted")
    b.events[start] = NewEvent("RunStarted", {**b.events[start].payload, "forked_from": {"run_id": "a", "seq": 9}},
                               ts=b.events[start].ts, schema_version=b.events[start].schema_version)
    report = diff_runs(source(a, "a"), source(b, "b"))
    inputs = {d["name"]: (d["a"], d["b"]) for d in report.decisions["inputs"]}
    assert inputs == {"forked from": (None, "a up to seq 9"),
                      "resume 1: config.max_iterations": (None, 2),
                      "resume 1: reasoner.kind": (None, "replay")}
    assert report.verdict == "different"  # a chosen setting differs, even though every step agrees


def test_a_resume_without_overrides_and_a_fork_point_alone_leave_the_runs_the_same(tmp_path: Path):
    a = synth_run(traces=2, iterations=2)
    b = _resumed(synth_run(traces=2, iterations=2, jitter=2), {})
    start = next(i for i, e in enumerate(b.events) if e.type == "RunStarted")
    b.events[start] = NewEvent("RunStarted", {**b.events[start].payload, "forked_from": {"run_id": "a", "seq": 9}},
                               ts=b.events[start].ts, schema_version=b.events[start].schema_version)
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert [d["name"] for d in report.decisions["inputs"]] == ["forked from"]
    assert report.verdict == "same" and report.same  # forked_from is provenance: shown, not counted
    db = store_with(tmp_path, a=a, b=b)
    r = gome("a", "b", "--db", str(db))
    assert r.exit_code == 0 and "forked from" in r.output and "a up to seq 9" in r.output


def test_a_run_against_its_own_prefix_is_the_same_apart_from_bookkeeping(tmp_path: Path):
    a = synth_run(traces=2, iterations=3)
    cut = Synth(a.events[:len(a.events) * 2 // 3], a.blobs)
    report = diff_runs(source(a, "a"), source(cut, "cut"))
    assert not report.same and report.verdict == "bookkeeping" and report.prefix_of == "a"
    assert {d.status for d in report.differences} == {"only_a"}
    assert diff_runs(source(cut, "cut"), source(a, "a")).prefix_of == "b"

    db = store_with(tmp_path, a=a, cut=cut, other=synth_run(traces=2, iterations=3, diverge=("t1", 2)))
    r = gome("a", "cut", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "SAME APART FROM BOOKKEEPING: B stops where A goes on" in r.output
    assert "STEPS" not in r.output  # nothing decided differently: no step table
    assert gome("a", "cut", "--db", str(db), "--strict").exit_code == 1
    js = json.loads(gome("a", "cut", "--db", str(db), "--json").output)
    assert js["verdict"] == "bookkeeping" and js["prefix_of"] == "a" and js["same"] is False
    # a step missing in the middle is not a prefix; a changed decision is not bookkeeping
    other = gome("a", "other", "--db", str(db))
    assert other.exit_code == 1 and other.output.splitlines()[2].startswith("DIFFERENT")
    same = gome("a", "a", "--db", str(db), "--strict")
    assert same.exit_code == 0 and same.output.splitlines()[2].startswith("SAME;")


def test_a_step_missing_before_shared_steps_is_not_a_prefix():
    a = synth_run(traces=1, iterations=3)
    drop = next(i for i, e in enumerate(a.events) if e.type == "ExecutionFinished")
    holed = Synth(a.events[:drop] + a.events[drop + 1:], a.blobs)
    report = diff_runs(source(a, "a"), source(holed, "holed"))
    assert report.prefix_of is None and report.verdict == "different"


# ------------------------------------------------------------------ wrapping and JSON


def test_long_diff_lines_wrap_without_losing_a_character():
    line = "+RECIPE = " + "".join(f"p{i}={i * 7}," for i in range(60)) + "changed_at_the_end=1"
    for width in (20, 80, 157):
        out = wrap_diff_line(line, width, "    ")
        assert all(len(w) <= width + 4 for w in out)
        assert all(w.startswith("    +↪ ") for w in out[1:])
        rebuilt = out[0][4:] + "".join(w[len("    +↪ "):] for w in out[1:])
        assert rebuilt == line
    assert wrap_diff_line("-short", 80) == ["-short"]


def test_terminal_shows_the_end_of_a_long_changed_code_line(tmp_path: Path):
    a = synth_run(traces=1, iterations=1)
    code_a = next(e.payload["code_sha"] for e in a.events if e.type == "CodeGenerated")
    tail = "x" * 230 + "learning_rate=0.1)\n"
    b_code = (a.blobs[code_a].decode() + "model = Thing(" + tail.replace("0.1", "0.05"))
    a_code = (a.blobs[code_a].decode() + "model = Thing(" + tail)
    sha_a, sha_b = a.blob(a_code), a.blob(b_code)

    def with_code(sha: str) -> Synth:
        return Synth([NewEvent(e.type, {**e.payload, "code_sha": sha}, trace_id=e.trace_id, ts=e.ts,
                               schema_version=e.schema_version) if "code_sha" in e.payload else e
                      for e in a.events], a.blobs)

    db = store_with(tmp_path, a=with_code(sha_a), b=with_code(sha_b))
    r = gome("a", "b", "--db", str(db))
    assert r.exit_code == 1
    assert "learning_rate=0.05)" in r.output and "learning_rate=0.1)" in r.output
    assert max(len(line) for line in r.output.splitlines()) <= 160


def test_json_is_one_line_and_folds_llm_exchanges_unless_fields_asked(tmp_path: Path):
    a = synth_run(traces=2, iterations=3)
    b = synth_run(traces=2, iterations=3, jitter=1, diverge=("t1", 0))
    db = store_with(tmp_path, a=a, b=b)
    compact = gome("a", "b", "--db", str(db), "--json").output
    full = gome("a", "b", "--db", str(db), "--json", "--fields").output
    assert compact.count("\n") == 1 and len(compact) < len(full)
    jc, jf = json.loads(compact), json.loads(full)
    assert jc["exchange_values"] == "left out" and jf["exchange_values"] == "all"
    exch_c = [f for d in jc["differences"] for f in d["fields"] if f["class"] == "exchange"]
    exch_f = [f for d in jf["differences"] for f in d["fields"] if f["class"] == "exchange"]
    assert exch_c and all(set(f) == {"path", "class", "fields", "values"} for f in exch_c)
    assert sum(f["fields"] for f in exch_c) == len(exch_f)
    assert all(f["path"].endswith(":*") or ":" not in f["path"] for f in exch_c)
    # decisions keep their values in both
    def dec(j: dict) -> list:
        return [f for d in j["differences"] for f in d["fields"] if f["class"] == "decision"]

    assert dec(jc) == dec(jf) and dec(jc)
