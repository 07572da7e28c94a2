"""The decision view of `gome diff`: inputs first, then decisions, quiet about their echoes.

The two fixtures are real recorded runs (offline reasoner, real executor, 2 traces x 3
iterations on breast-cancer-diagnosis) that differ only in the run seed, exported with
`gome export` from runs made by `gome_es.driver.driver.start_run` + `drive` with seeds 0 and 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.analysis.decisions import CLASSIFIERS, Context, classify, leaf_name, step_rows
from gome_es.analysis.diff import diff_runs
from gome_es.api.sources import source_from_export
from gome_es.cli.main import cli

FIX = Path(__file__).parents[1] / "fixtures" / "diff"
SEED0, SEED1 = FIX / "breast-cancer-seed0.jsonl.gz", FIX / "breast-cancer-seed1.jsonl.gz"
SCREEN = 50  # lines


def gome(*args: str):
    return CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def report():
    return diff_runs(source_from_export(SEED0), source_from_export(SEED1))


def test_two_seeds_fit_one_screen_per_trace_and_lead_with_the_seed(report):
    r = gome(str(SEED0), str(SEED1))
    assert r.exit_code == 1
    lines = r.output.splitlines()
    traces = set(report.decisions and {s["trace"] for s in report.decisions["steps"]})
    assert len(traces) == 2
    assert len(lines) <= SCREEN * len(traces), len(lines)
    # the seed is named once, as an input, before any decision
    inputs_at = lines.index("INPUTS THAT DIFFER")
    assert lines[inputs_at + 1].split() == ["seed", "A", "0", "B", "1"]
    first_at = next(i for i, line in enumerate(lines) if line.startswith("FIRST DIFFERING DECISION"))
    assert inputs_at < first_at
    # no echo of the seed, no hashes, no timings in the default view
    body = "\n".join(lines[inputs_at + 2:])
    seeds_b = {str(f["b"]) for d in report.differences for f in d.fields
               if leaf_name(f["path"]) == "seed" and isinstance(f["b"], int) and f["b"] > 1}
    assert seeds_b
    for noise in (*seeds_b, "_sha", "fit_seconds", "total_seconds", "RunStarted"):
        assert noise not in body, noise
    # one block per trace, two lines per aligned step
    steps = report.decisions["steps"]
    for t in traces:
        assert any(line.startswith(f"trace {t}: ") for line in lines)
    assert sum(1 for line in lines if line[:14].split()[:1] in (["A"], ["B"]) or
               (line[:3] == "it" and "A" in line[:14])) >= len(steps)


def test_the_old_report_counted_echoes_of_the_seed(report):
    # what the issue saw: the first "divergence" is the seed itself, and most fields echo it
    assert report.first_divergence.key.stage == "RunStarted"
    classes = report.decisions["field_classes"]
    assert classes.get("derived", 0) > 50 and classes.get("measured", 0) > 10
    first = report.decisions["first_decision"]
    assert first["trace"] is not None and first["decision"] in ("draw", "hypothesis", "code", "verdict")


def test_every_seed_copy_hash_and_timing_is_classified_quiet(report):
    for d in report.differences:
        kind = (d.a or d.b)["type"]
        for f in d.fields:
            name = leaf_name(f["path"])
            if kind == "RunStarted":
                assert f["class"] == "input"
            elif name == "seed":
                assert f["class"] == "derived", (d.key, f["path"])
            elif f["path"].endswith("_sha") and ":" not in f["path"]:
                assert f["class"] == "derived"
            elif name.endswith("_seconds"):
                assert f["class"] == "measured"


def test_code_that_differs_only_by_the_copied_seed_is_not_a_code_decision(report):
    src_a, src_b = source_from_export(SEED0), source_from_export(SEED1)
    rows_a, rows_b = step_rows(src_a.events), step_rows(src_b.events)
    step0 = ("t1", 0, 0)
    code_a = src_a.read_blob(rows_a[step0].code_sha).decode()
    code_b = src_b.read_blob(rows_b[step0].code_sha).decode()
    assert code_a != code_b  # the recipe's seed is written into the code
    s0 = next(s for s in report.decisions["steps"] if (s["trace"], s["iteration"], s["attempt"]) == step0)
    assert "code" not in s0["decisions"]
    cg = next(d for d in report.differences if d.key.stage == "CodeGenerated" and d.key.trace == "t1"
              and d.key.iteration == 0)
    assert cg.code["derived_only"] is True and cg.decisive is False


def test_a_real_parameter_change_in_code_is_a_decision_even_with_seeds_mapped():
    ctx = Context([{"name": "seed", "a": 0, "b": 1}], {"3438583429": "1203880592"})
    same = {"path": "content_sha:code", "a": "seed=1203880592\nC=1", "b": "seed=3438583429\nC=1"}
    other = {"path": "content_sha:code", "a": "seed=1203880592\nC=1", "b": "seed=3438583429\nC=2"}
    assert classify(ctx, "CodeGenerated", same) == "derived"
    assert classify(ctx, "CodeGenerated", other) == "decision"
    # without a differing seed input nothing is explained away as its copy
    assert classify(Context([]), "CodeGenerated", {"path": "recipe.seed", "a": 1, "b": 2}) == "decision"
    # chosen timeouts are inputs, not measurements
    assert classify(ctx, "RunStarted", {"path": "config.exec_timeout_s", "a": 1.0, "b": 2.0}) == "input"
    assert classify(ctx, "ExecutionFinished", {"path": "metrics.fit_seconds", "a": 1.0, "b": 2.0}) == "measured"


def test_classifiers_are_an_open_list(report):
    # a declared-field filter (provenance, say) sits in front of the built-in ones
    def provenance(ctx, type_, f):
        return "provenance" if f["path"] == "hypothesis" else None

    CLASSIFIERS.insert(0, provenance)
    try:
        assert classify(Context([]), "HypothesisProposed", {"path": "hypothesis", "a": "x", "b": "y"}) \
            == "provenance"
    finally:
        CLASSIFIERS.remove(provenance)


def test_fields_shows_the_field_level_detail_and_json_stays_proportional(report):
    r = gome(str(SEED0), str(SEED1), "--fields")
    assert "FIRST DIVERGENCE: run RunStarted" in r.output and "config.seed: 0 -> 1" in r.output
    assert "[derived]" in r.output
    j = json.loads(gome(str(SEED0), str(SEED1), "--json").output)
    assert j["decisions"]["inputs"] == [{"name": "seed", "a": 0, "b": 1}]
    assert {"inputs", "first_decision", "steps", "field_classes", "steps_differing"} <= set(j["decisions"])
    # long texts travel as diffs, not whole: no field value longer than a line of text
    for d in j["differences"]:
        for f in d["fields"]:
            for side in ("a", "b"):
                v = f.get(side)
                assert not (isinstance(v, str) and len(v) > 200), (d["where"], f["path"])
    events = sum(1 for _ in source_from_export(SEED0).events)
    assert len(json.dumps(j)) < 2500 * events  # was ~5.6 KB an event with whole code texts in fields


def test_same_runs_have_no_decision_and_no_inputs():
    r = diff_runs(source_from_export(SEED0), source_from_export(SEED0))
    assert r.same and r.decisions["inputs"] == [] and r.decisions["first_decision"] is None
    assert all(not s["decisions"] and not s["score_differs"] for s in r.decisions["steps"])


def test_declared_provenance_has_its_own_class():
    ctx = Context([])
    assert classify(ctx, "RunStarted", {"path": "code_version", "a": "1", "b": "2"}) == "provenance"
    assert classify(ctx, "RunStarted", {"path": "task.logdir", "a": "/x", "b": "/y"}) == "provenance"
    assert classify(ctx, "HypothesisProposed", {"path": "provenance.files[0].pid", "a": 1, "b": 2}) == "provenance"
    assert classify(ctx, "ImportedRecord", {"path": "tag", "a": "x", "b": "y"}) == "provenance"
    assert classify(ctx, "RunStarted", {"path": "config.seed", "a": 0, "b": 1}) == "input"
