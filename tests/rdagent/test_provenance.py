"""Every imported step says where it came from; logs imported before that still read.

``imported-v1-run_b.jsonl.gz`` is a genuine export of a run imported by the
previous importer (commit d8321dc): one ``ImportedRecord`` (schema 1, ``source``
= file) per source file, standing before the events derived from it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.core.events import parse_event, upcast
from gome_es.core.state import fold
from gome_es.rdagent.importer import import_rdagent
from gome_es.rdagent.logdir import scan
from gome_es.rdagent.provenance import step_sources
from gome_es.store import EventStore

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"
OLD = FIX / "imported-v1-run_b.jsonl.gz"
KEY = "gome-fixture-signing-key-0123456789abcdef"


def _gome(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_imported_record_v1_upcasts_to_the_provenance_field():
    v1 = {"source": "Loop_0/coding/10402/2026-11-27_17-45-02-422943.pkl", "tag": "Loop_0.coding",
          "summary": {"dialect": "plain", "signature": "unsigned", "file_sha256": "ab" * 32, "bytes": 2048,
                      "pid": "10402", "loop": 0, "step": "coding", "derived": ["CodeGenerated"],
                      "object": {"class": "x.DSExperiment"}},
          "data_sha": None, "decoded": True, "why": ""}
    v2 = upcast("ImportedRecord", 1, v1)
    assert "source" not in v2
    assert v2["provenance"] == {"source": "rdagent", "loop": 0, "step": "coding", "files": [
        {"path": v1["source"], "dialect": "plain", "signature": "unsigned", "sha256": "ab" * 32, "bytes": 2048,
         "pid": "10402"}]}
    assert v2["summary"] == {"derived": ["CodeGenerated"], "object": {"class": "x.DSExperiment"}}
    ev = parse_event("ImportedRecord", 1, v1)
    assert ev.provenance["files"][0]["path"] == v1["source"]
    assert v1["source"]  # the stored payload is not rewritten


def test_an_old_imported_log_still_imports_verifies_replays_and_shows_its_sources(tmp_path):
    rows = [json.loads(line) for line in gzip.open(OLD, "rt")]
    old_records = [r for r in rows if r.get("type") == "ImportedRecord"]
    assert old_records and all(r["schema_version"] == 1 and "source" in r["payload"] for r in old_records)
    db = str(tmp_path / "g.db")
    assert _gome("import", str(OLD), "--db", db).exit_code == 0
    assert _gome("verify", "old-b", "--db", db).exit_code == 0
    rep = _gome("replay", "old-b", "--db", db, "--json")
    assert rep.exit_code == 0 and json.loads(rep.output)["ok"]
    with EventStore.open(Path(db), readonly=True) as st:
        events = list(st.read("old-b"))
    state = fold(events, "old-b")
    assert state.phase.value == "finished" and state.imported == len(old_records)
    sources = step_sources(events)
    hyp = [r for r in sources if r["type"] == "HypothesisProposed"]
    assert len(hyp) == 3 and all(r["inferred"] for r in hyp)
    assert [r["files"][0]["path"].split("/")[:2] for r in hyp] == [["Loop_0", "direct_exp_gen"],
                                                                   ["Loop_1", "direct_exp_gen"],
                                                                   ["Loop_2", "direct_exp_gen"]]
    shown = _gome("show", "old-b", "--db", db, "--provenance")
    assert shown.exit_code == 0 and "(inferred) Loop_1/direct_exp_gen/" in shown.output
    assert _gome("diff", "old-b", "old-b", "--db", db).exit_code == 0


def test_new_imports_name_every_file_in_show_export_and_report(tmp_path):
    db = tmp_path / "g.db"
    with EventStore.open(db) as st:
        import_rdagent(st, FIX / "run_b-signed", run_id="b", hmac_key=KEY)
        events = list(st.read("b"))
    rows = step_sources(events)
    named = {f["path"] for r in rows for f in r["files"]}
    assert named == {f.rel for f in scan(FIX / "run_b-signed")}
    assert all(f["signature"] == "verified" and f["dialect"] == "signed" for r in rows for f in r["files"])
    steps = [r for r in rows if not r.get("standalone")]
    decisions = {"HypothesisProposed", "CodeGenerated", "ExecutionFinished", "ValidationJudged"}
    for r in steps:
        if r["type"] in decisions:
            assert r["loop"] is not None and r["step"], r
            # loop 1 failed in RD-Agent's coder: nothing ran, so no file backs its execution
            assert r["files"] or (r["type"] == "ExecutionFinished" and r["loop"] == 1), r
    # gome show: a summary line, and --provenance lists every step with its files
    shown = json.loads(_gome("show", "b", "--db", str(db), "--json").output)
    assert shown["provenance"]["files"] == len(named)
    assert shown["provenance"]["files_by_dialect_signature"] == {"signed/verified": len(named)}
    listed = _gome("show", "b", "--db", str(db), "--provenance").output
    assert "Loop_1/coding/" in listed and "(signed, verified)" in listed
    # an export carries the provenance in each event
    out = tmp_path / "b.jsonl"
    assert _gome("export", "b", "-o", str(out), "--db", str(db)).exit_code == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    code = next(e for e in exported if e.get("type") == "CodeGenerated")
    assert code["payload"]["provenance"]["files"][0]["path"].startswith("Loop_0/coding/")
    # the report lists the sources
    html = tmp_path / "b.html"
    assert _gome("report", "b", "-o", str(html), "--db", str(db)).exit_code == 0
    page = html.read_text()
    assert "Where every step came from" in page and "Loop_2/feedback/" in page


def test_native_events_keep_their_stored_shape():
    from gome_es.core.events import TraceStarted

    ev = TraceStarted(index=0, direction="d")
    assert "provenance" not in ev.payload()
    assert "provenance" in TraceStarted(index=0, direction="d", provenance={"source": "x"}).payload()
