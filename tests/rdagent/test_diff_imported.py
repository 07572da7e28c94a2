"""Diffs of imported RD-Agent runs show decisions, not where and how the files were written.

``run_c-signed`` and ``run_d-plain`` were written by two RD-Agent processes (other
pids, timestamps, workspaces, signing) from the same plan except the hypotheses of
loops 2 and 4 (tests/fixtures/rdagent/make_fixtures.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.analysis.diff import diff_runs
from gome_es.api.sources import source_from_store
from gome_es.cli.main import cli
from gome_es.rdagent.importer import import_rdagent
from gome_es.report.build import find_divergence
from gome_es.report.divergence import first_divergence
from gome_es.store import EventStore

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("diff") / "g.db"
    with EventStore.open(path) as st:
        import_rdagent(st, FIX / "run_c-signed", run_id="c")
        import_rdagent(st, FIX / "run_d-plain", run_id="d")
        import_rdagent(st, FIX / "run_a-signed", run_id="a-signed")
        import_rdagent(st, FIX / "run_a-plain", run_id="a-plain")
    return path


def _diff(db, a, b, **kw):
    with EventStore.open(db, readonly=True) as st:
        return diff_runs(source_from_store(st, a), source_from_store(st, b), **kw)


def test_two_runs_differing_at_loops_2_and_4_show_exactly_those_loops(db):
    report = _diff(db, "c", "d")
    assert report.loops == [2, 4]
    first = report.first_divergence
    assert first is not None and first.loop == 2
    assert (first.key.trace, first.key.iteration) == ("t0", 2)
    # the decisions of loop 2 are among the differences: hypothesis, code, verdict
    loop2 = {d.key.stage for d in report.differences if d.loop == 2}
    assert {"HypothesisProposed", "CodeGenerated", "ValidationJudged"} <= loop2
    hyp = next(d for d in report.differences if d.loop == 2 and d.key.stage == "HypothesisProposed")
    assert hyp.hypothesis["a"] == "Group passengers by travel party"
    assert hyp.hypothesis["b"] == "Log-transform the spending columns"
    # loops 0, 1 and 3 were compared step by step and are equal
    assert not [d for d in report.differences if d.loop in (0, 1, 3)]
    assert report.steps_compared >= 60
    # nothing in any difference is a file name, pid or hash of a source file
    text = json.dumps([d.to_json() for d in report.differences])
    assert "__session__" not in text and ".pkl" not in text and "Loop_" not in text


def test_include_provenance_shows_the_recording_differences(db):
    report = _diff(db, "c", "d", include_provenance=True)
    assert report.include_provenance
    assert {0, 1} <= set(report.loops)  # source files, pids, signatures differ in every loop
    assert report.first_divergence.key.stage == "RunStarted"
    fields = {f["path"].split("[")[0].split(".")[0] for d in report.differences for f in d.fields}
    assert "provenance" in fields
    assert any(d.key.stage.startswith("ImportedRecord") for d in report.differences)


def test_the_same_trace_in_two_dialects_is_the_same_run(db):
    assert _diff(db, "a-signed", "a-plain").same
    assert not _diff(db, "a-signed", "a-plain", include_provenance=True).same


def test_cli_summary_names_the_loops_and_flag_shows_provenance(db):
    out = CliRunner().invoke(cli, ["diff", "c", "d", "--db", str(db)])
    assert out.exit_code == 1, out.output
    assert "imported loops that differ: 2, 4" in out.output
    assert "FIRST DIFFERING DECISION: t0 i2" in out.output and "[loop 2]" in out.output
    fields = CliRunner().invoke(cli, ["diff", "c", "d", "--db", str(db), "--fields"]).output
    assert "FIRST DIVERGENCE: t0 it2" in fields and "[loop 2]" in fields
    js = json.loads(CliRunner().invoke(cli, ["diff", "c", "d", "--db", str(db), "--json"]).output)
    assert js["loops_differing"] == [2, 4] and js["first_divergence"]["loop"] == 2
    same = CliRunner().invoke(cli, ["diff", "a-signed", "a-plain", "--db", str(db)])
    assert same.exit_code == 0, same.output
    prov = CliRunner().invoke(cli, ["diff", "a-signed", "a-plain", "--db", str(db), "--include-provenance"])
    assert prov.exit_code == 1 and "provenance" in prov.output


def test_report_divergence_marker_follows_the_same_rule(db):
    with EventStore.open(db, readonly=True) as st:
        ea, eb = list(st.read("c")), list(st.read("d"))
        marked = find_divergence(st, "c", "d", ea, eb)
        assert marked is not None and (marked.trace_id, marked.iteration) == ("t0", 2)
        # the report's own stream-by-stream finder (used without gome_es.diff) agrees
        own = first_divergence(ea, eb)
        assert own is not None and (own.trace_id, own.iteration) == ("t0", 2)
        assert first_divergence(list(st.read("a-signed")), list(st.read("a-plain"))) is None
