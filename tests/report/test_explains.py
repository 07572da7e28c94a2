"""The report explains: why each step stopped, what it tried, in which metric, with honest medal words."""

from __future__ import annotations

import pytest

from gome_es.report import build_report, load_run
from gome_es.report.watch import medal_words
from gome_es.store import EventStore
from tests.report.htmlparse import parse


def _doc(runs, *ids):
    with EventStore.open(runs["db"], readonly=True) as store:
        reps = [load_run(store, i)[0] for i in ids]
        return reps, parse(build_report(store, list(ids)))


@pytest.mark.integration
def test_every_step_that_went_nowhere_says_why_and_what_it_tried(runs):
    (rep,), doc = _doc(runs, runs["a"])
    chips = {c.attrs["data-solution"]: c.all_text() for c in doc.find_all("span", "chip")}
    assert chips
    for sid, text in chips.items():
        sol = rep.state.solutions[sid]
        rejected = ("not better than best" if sol.first_failure == "beats_sota"
                    else "rejected: " + str(sol.first_failure))
        assert rejected in text or "failed: " in text, text
        assert "rejected: beats_sota" not in text  # it read as its opposite
        assert sol.hypothesis.split()[0] in text  # the hypothesis is inline, not in a hover title
    # the failed first attempt has a debug child, so it is a full node: its failure class is inline too
    nodes = [n.all_text() for n in doc.find_all("span", "node")]
    assert any("failed: python_exception" in t for t in nodes)
    assert not any("title" in c.attrs for c in doc.find_all("span", "chip"))


@pytest.mark.integration
def test_metric_name_and_direction_on_axes_and_tiles(runs):
    (rep,), doc = _doc(runs, runs["a"])
    metric = rep.state.task["metric"]
    assert metric
    for plot in doc.find_all("svg", "score-plot"):
        labels = [t.all_text() for t in plot.find_all("text", "axis-label")]
        assert f"validation {metric} (higher is better)" in labels
    cards = {c.find_all("div", "k")[0].all_text(): c.find_all("div", "d")[0].all_text()
             for c in doc.find_all("div", "card")}
    assert f"{metric}, higher is better" in cards["best validation score"]
    assert f"{metric}, higher is better" in cards["test score (graded)"]


@pytest.mark.integration
def test_no_cost_tile_without_cost_and_no_empty_problems(runs):
    (rep,), doc = _doc(runs, runs["a"])
    assert rep.state.cost_usd == 0
    keys = [c.find_all("div", "k")[0].all_text() for c in doc.find_all("div", "card")]
    assert "LLM cost" not in keys and "experiments" in keys
    assert "[no problem visible]" not in doc.all_text() and "problems: no problem visible" not in doc.all_text()


def test_medals_are_worded_as_mlebench_means_them():
    silver = {"score": 0.98961, "gold_threshold": 0.99048, "silver_threshold": 0.9886,
              "bronze_threshold": 0.98658, "median_threshold": 0.98, "gold_medal": False, "silver_medal": True,
              "bronze_medal": False, "above_median": True, "is_lower_better": False, "valid_submission": True}
    assert medal_words(silver) == "silver; bronze line passed too"
    gold = {**silver, "score": 0.995, "gold_medal": True, "silver_medal": False}
    assert medal_words(gold) == "gold; silver and bronze lines passed too"
    lower = {"score": 1.0, "gold_threshold": 0.5, "silver_threshold": 0.9, "bronze_threshold": 1.2,
             "bronze_medal": True, "is_lower_better": True, "above_median": True}
    assert medal_words(lower) == "bronze"
    assert medal_words({**silver, "silver_medal": False, "above_median": False}) == "no medal (below median)"
    assert medal_words({"valid_submission": False}) == "invalid submission"


@pytest.mark.integration
def test_grade_table_says_which_lines_were_passed(runs):
    (rep,), doc = _doc(runs, runs["a"])
    g = rep.state.grade
    table = doc.find_all("table", "grade")[0]
    rows = {r.find_all("td")[0].all_text(): r.find_all("td")[2].all_text() for r in table.find_all("tr")[1:]}
    for line in ("bronze", "silver", "gold"):
        beat = g["score"] >= g[f"{line}_threshold"]
        assert rows[line].startswith("passed") == beat, (line, rows)
        assert ("(the medal)" in rows[line]) == bool(g[f"{line}_medal"])
    assert "reached" not in doc.all_text()


@pytest.mark.integration
def test_two_runs_align_step_by_step(runs):
    (ra, rb), doc = _doc(runs, runs["a"], runs["b"])
    table = doc.find_all("table", "steps")[0]
    rows = table.find_all("tr")[1:]
    keys = {(s.trace_id, s.iteration, s.attempt) for s in ra.state.solutions.values()} | {
        (s.trace_id, s.iteration, s.attempt) for s in rb.state.solutions.values()}
    assert len(rows) == len(keys)
    # a step only A took (A's debug attempt) says so on B's side
    only_a = {k for k in keys if k not in {(s.trace_id, s.iteration, s.attempt) for s in rb.state.solutions.values()}}
    assert only_a and any("step not taken" in r.all_text() for r in rows)
    # every section has its A/B pair in one grid: the run columns hold the same sections in order
    cols = doc.find_all("div", "run-col")
    assert [[s.attrs.get("id") for s in c.children if getattr(s, "tag", "") == "section"] for c in cols] == [
        [None, "trees", "hypotheses", "memory", "cost", "budget", "grade"]] * 2
    assert doc.find_all("tr", "diverged-step")


@pytest.mark.integration
def test_the_glossary_explains_every_code_the_page_shows(runs):
    (rep,), doc = _doc(runs, runs["a"])
    (glossary,) = doc.find_all("section", id="glossary")
    text = glossary.all_text()
    for code in ("beats_sota", "m0, m1", "c0, c1", "no problem visible", "python_exception", "t1-i2-a0"):
        assert code in text, code
    assert "did not beat the trace's best" in text


def test_docs_report_lists_every_glossary_entry():
    from pathlib import Path

    from gome_es.analysis.plain_words import glossary

    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text()
    missing = [k for k, v in glossary() if f"| `{k}` | {v} |" not in doc]
    assert not missing, f"docs/report.md's glossary lacks {missing}: regenerate it from analysis/plain_words.py"
