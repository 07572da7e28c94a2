"""`gome report` on real runs: the plots, trees and tables are there, log text is inert."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.report import build_report, first_divergence, load_run
from gome_es.report.build import find_divergence
from gome_es.store import EventStore
from tests.report.htmlparse import parse

pytestmark = pytest.mark.integration


def _store(runs) -> EventStore:
    return EventStore.open(runs["db"], readonly=True)


def test_report_holds_plots_trees_and_tables(runs):
    with _store(runs) as store:
        rep, _ = load_run(store, runs["a"])
        doc = parse(build_report(store, [runs["a"]]))
    st = rep.state
    plots = doc.find_all("svg", "score-plot")
    assert [p.attrs["data-x"] for p in plots] == ["time", "iteration"]
    for plot in plots:  # every judged solution is a point, by outcome
        assert len(plot.find_all(cls="accepted")) == sum(s.accepted for s in st.solutions.values())
        assert len(plot.find_all(cls="failed")) == 1
        assert plot.find_all(cls="failed")[0].attrs["data-failure"] == "python_exception"
        assert len(plot.find_all(cls="pt")) == sum(s.judged for s in st.solutions.values())
        assert len(plot.find_all("path", "sota-line")) == len(st.traces)
    # one tree per trace, one node or chip per solution, the trace best starred
    trees = doc.find_all("details", "trace-tree")
    assert [t.attrs["data-trace"] for t in trees] == ["t1", "t2"]
    shown = {n.find_all("span", "sid")[0].all_text() for n in doc.find_all("span", "node")}
    shown |= {c.find_all("span", "sid")[0].all_text() for c in doc.find_all("span", "chip")}
    assert shown == set(st.solutions)
    assert len(doc.find_all("span", "sota")) == len(st.traces)
    assert "failed: python_exception" in doc.all_text()
    # hypotheses: one row per candidate, dimension columns, one drawn per iteration
    rows = doc.find_all("table", "hypotheses")
    cand_rows = [r for t in rows for r in t.find_all("tr") if "data-iteration" in r.attrs]
    assert len(cand_rows) == sum(len(h.candidates) for h in rep.hypotheses)
    assert len([r for r in cand_rows if "drawn" in r.classes()]) == len(rep.hypotheses)
    header = [th.all_text() for th in rows[0].find_all("th")]
    assert all(any(h.startswith(d) for h in header) for d in ("alignment", "impact", "novelty", "feasibility"))
    sim_rejected = sum(1 for h in rep.hypotheses for c in h.candidates if c.get("rejected"))
    assert len([r for r in cand_rows if r.classes() & {"rejected-sim", "sim-drawn"}]) == sim_rejected
    # memory as it grew, cost, budget and the grade against the medal thresholds
    mem = doc.find_all("table", "memory")[0].find_all("tr")[1:]
    assert [r.find_all("td")[0].all_text() for r in mem] == [f"v{i}" for i in range(1, st.memory_version + 1)]
    # the scripted reasoner spends no tokens and no money: a sentence, not tables of $0
    assert not doc.find_all("table", "cost")
    (no_cost,) = doc.find_all("p", "no-cost")
    assert f"{len(st.llm)} calls" in no_cost.all_text()
    assert doc.find_all(id="budget") and doc.find_all("div", "spent")
    scale = doc.find_all("svg", "grade-scale")[0]
    assert {g.attrs["data-medal"] for g in scale.find_all("g", "threshold")} == {"median", "bronze", "silver", "gold"}
    assert f"{st.grade['score']:.5g}" in scale.all_text()


def test_log_text_is_escaped_and_nothing_can_run_or_fetch(runs):
    with _store(runs) as store:
        html = build_report(store, [runs["a"]])
    doc = parse(html)
    assert "<script" not in html.lower()
    assert not doc.find_all("script") and not doc.find_all("img")
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")  # only as text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[2J" in html
    # the hostile text is really shown to the reader, as text
    assert "<script>alert('x')</script>" in doc.all_text()
    csp = doc.find_all("meta", http_equiv="Content-Security-Policy")[0].attrs["content"]
    assert "default-src 'none'" in csp
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no network references


def test_side_by_side_marks_first_divergence(runs):
    with _store(runs) as store:
        ra, ea = load_run(store, runs["a"])
        rb, eb = load_run(store, runs["b"])
        own = first_divergence(ea, eb)
        div = find_divergence(store, runs["a"], runs["b"], ea, eb)  # gome diff's answer
        doc = parse(build_report(store, [runs["a"], runs["b"]]))
    assert div.source == "diff" and (own.iteration, own.stage) == (div.iteration, div.stage)
    # same config, task and first iteration; the bias changes what iteration 1 reasons from
    assert (div.iteration, div.stage) == (1, "reasoning") and div.trace_id in ("t1", "t2")
    assert div.type_a == div.type_b and div.type_a in ("LLMRequested", "LLMResponded", "HypothesisProposed")
    assert ea[own.seq_a - 1].payload != eb[own.seq_b - 1].payload
    banner = doc.find_all("section", "divergence")[0].all_text()
    assert f"trace {div.trace_id}, iteration 1, stage reasoning" in banner
    assert [c.attrs["data-run"] for c in doc.find_all("div", "run-col")] == ["run-a", "run-b"]
    marked = [r for r in doc.find_all("tr", "diverged")]
    assert marked and all(r.attrs["data-trace"] == div.trace_id and r.attrs["data-iteration"] == "1" for r in marked)
    assert len(doc.find_all("g", "divergence-marker")) == 2  # on both plots
    series = {g.attrs["data-series"] for g in doc.find_all("g", "series")}
    assert series == {"A t1", "A t2", "B t1", "B t2"}


def test_a_run_against_itself_took_the_same_path(runs):
    with _store(runs) as store:
        _, ea = load_run(store, runs["b"])
        assert first_divergence(ea, ea) is None
        assert find_divergence(store, runs["b"], runs["b"], ea, ea) is None
        html = build_report(store, [runs["b"], runs["b"]])
    assert "The runs took the same path" in html and "divergence-marker" not in html


def test_cli_writes_one_file_and_refuses_unknown_runs(runs, tmp_path):
    out = tmp_path / "sub" / "r.html"
    res = CliRunner().invoke(cli, ["report", runs["a"], "-o", str(out), "--db", str(runs["db"])])
    assert res.exit_code == 2 and "make it first" in res.output  # -o names a file in an existing folder
    out.parent.mkdir()
    res = CliRunner().invoke(cli, ["report", runs["a"], "-o", str(out), "--db", str(runs["db"])])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output and out.read_text().startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(cli, ["report", "no-such-run", "-o", str(tmp_path / "x.html"), "--db", str(runs["db"])])
    assert res.exit_code == 2 and "no-such-run" in res.output and "gome runs" in res.output
    assert not (tmp_path / "x.html").exists()
    res = CliRunner().invoke(cli, ["report", runs["a"], runs["b"], "-o", str(tmp_path / "ab.html"),
                                   "--db", str(runs["db"])])
    assert res.exit_code == 0 and "first divergence" in (tmp_path / "ab.html").read_text().lower()


def test_colours_follow_the_starting_direction_in_both_runs(runs):
    from gome_es.report.html import _trace_colors, share_direction_colors

    with EventStore.open(runs["db"], readonly=True) as store:
        (ra, _), (rb, _) = load_run(store, runs["a"]), load_run(store, runs["b"])
    # B started the same directions in the other order (what two seeds do)
    tids = rb.trace_ids()
    dirs = [rb.state.traces[t].direction for t in tids]
    for t, d in zip(tids, reversed(dirs)):
        rb.state.traces[t].direction = d
    share_direction_colors(ra, rb)
    ca, cb = _trace_colors(ra), _trace_colors(rb)
    by_dir_a = {ra.state.traces[t].direction: c for t, c in ca.items()}
    by_dir_b = {rb.state.traces[t].direction: c for t, c in cb.items()}
    shared = set(by_dir_a) & set(by_dir_b)
    assert shared and all(by_dir_a[d] == by_dir_b[d] for d in shared)
    assert len(set(by_dir_a.values())) == len(by_dir_a)  # one colour per direction


def test_a_run_without_llm_cost_gets_a_sentence_not_tables_of_zeros(runs):
    with EventStore.open(runs["db"], readonly=True) as store:
        rep, _ = load_run(store, runs["a"])
        html = build_report(store, [runs["a"]])
    uses = list(rep.llm_by_purpose.values()) + list(rep.llm_by_model.values())
    costly = bool(rep.state.cost_usd) or any(u.prompt_tokens or u.completion_tokens for u in uses)
    assert ('<table class="cost">' in html) == costly
    assert ("No LLM cost" in html) == (not costly)
