"""The sweep report's arithmetic on a real store, its HTML, and the CLI's errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gome_es.store import EventStore, NewEvent
from gome_es.sweep import SweepError, plan_sweep
from gome_es.sweep.report import build_report, render_html, render_text, write_html, zero_se_notes
from tests.report.htmlparse import parse
from tests.sweep.conftest import gome

MEDAL = {"valid_submission": True, "above_median": True, "any_medal": True, "gold_medal": False,
         "silver_medal": False, "bronze_medal": True, "score": 0.9}
PLAIN = {"valid_submission": True, "above_median": False, "any_medal": False, "gold_medal": False,
         "silver_medal": False, "bronze_medal": False, "score": 0.5}
# (task, variant, seed) -> grade; None: the cell failed for good
OUTCOMES = {("a", "gome", 0): MEDAL, ("b", "gome", 0): MEDAL, ("a", "gome", 1): MEDAL, ("b", "gome", 1): PLAIN,
            ("a", "tree", 0): PLAIN, ("b", "tree", 0): None, ("a", "tree", 1): MEDAL, ("b", "tree", 1): PLAIN}


@pytest.fixture
def swept(tmp_path):
    """A sweep log with every cell's outcome appended as the driver would (no runs needed to aggregate)."""
    db = tmp_path / "gome.db"
    store = EventStore.open(db)
    sid = plan_sweep(store, tasks=["a", "b"], variants=["gome", "tree"], seeds=[0, 1], budget_s=60,
                     sweep_id="sweep-rep")
    seq = store.last_seq(sid)
    for (t, v, s), grade in OUTCOMES.items():
        rid = f"{sid}--{t}--{v}--s{s}"
        ev = (NewEvent("CellFinished", {"run_id": rid, "grade": {**grade, "score": grade["score"] + s / 100},
                                        "duration_s": 10.0})
              if grade else NewEvent("CellFailed", {"run_id": rid, "reason": "exit 2: no data", "final": True}))
        store.append(sid, [ev], seq)
        seq += 1
    yield store, sid, db
    store.close()


def test_rates_are_means_over_seeds_with_standard_errors(swept):
    store, sid, _ = swept
    r = build_report(store, sid)
    g, t = r["per_variant"]["gome"], r["per_variant"]["tree"]
    # gome: medal rate 2/2 on seed 0, 1/2 on seed 1 -> 0.75 ± stdev(1, .5)/sqrt(2) = 0.25
    assert g["any_medal"]["values"] == [1.0, 0.5]
    assert g["any_medal"]["mean"] == pytest.approx(0.75) and g["any_medal"]["se"] == pytest.approx(0.25)
    assert g["bronze_medal"]["mean"] == pytest.approx(0.75) and g["gold_medal"]["mean"] == 0.0
    assert g["gold_medal"]["zero_se_why"] == "every seed gave the same value"
    # tree: the failed cell counts as no valid submission, as MLE-bench counts a missing one
    assert t["valid_submission"]["values"] == [0.5, 1.0] and t["failed"] == 1
    assert t["any_medal"]["mean"] == pytest.approx(0.25)
    d = r["gome_minus"]["tree"]["any_medal"]  # paired by seed: (1 - 0), (0.5 - 0.5)
    assert d["values"] == [1.0, 0.0] and d["mean"] == pytest.approx(0.5)
    assert d["se"] == pytest.approx(math.sqrt(0.5) / math.sqrt(2))
    cell = r["per_task"]["a"]["gome"]
    assert cell["medals"] == 2 and cell["scores"] == [0.9, 0.91]
    assert cell["score"]["mean"] == pytest.approx(0.905)
    assert r["per_task"]["b"]["tree"]["failed"] == 1 and r["complete"]
    assert r["per_task"]["b"]["tree"]["by_seed"] == {"0": "x", "1": pytest.approx(0.51)}
    text = render_text(r)
    assert "gome minus" in text and " 75.0±25.0" in text
    assert "x / 0.51" in text  # the per-seed spread is shown, a failed cell as x
    # zero error bars are explained, not hidden
    assert zero_se_notes(r) == ["every seed gave the same value: gome valid/gold/silver, tree gold/silver"]


def test_incomplete_sweep_says_so(tmp_path):
    with EventStore.open(tmp_path / "g.db") as store:
        sid = plan_sweep(store, tasks=["a"], variants=["gome"], seeds=[0], budget_s=60, sweep_id="sweep-inc")
        r = build_report(store, sid)
    assert not r["complete"] and r["pending"] == 1 and r["per_variant"]["gome"]["any_medal"]["mean"] is None
    assert "INCOMPLETE" in render_text(r)


def test_html_is_self_contained_with_bars_error_bars_and_grid(swept):
    store, sid, _ = swept
    page = render_html(build_report(store, sid))
    dom = parse(page)
    bars = dom.find_all("rect", "bar")
    assert [b.attrs["data-variant"] for b in bars] == ["gome", "tree"]
    assert float(bars[0].attrs["data-mean"]) == pytest.approx(0.75)
    assert len(dom.find_all("g", "errorbar")) == 2
    grid = dom.find_all("td", "grid-cell")
    assert len(grid) == 4 and grid[0].attrs["data-medals"] == "2"
    assert not dom.find_all("script") and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_task_names_are_escaped(tmp_path):
    with EventStore.open(tmp_path / "g.db") as store:
        sid = plan_sweep(store, tasks=["<script>alert(1)</script>"], variants=["gome"], seeds=[0], budget_s=60,
                         sweep_id="sweep-xss")
        page = render_html(build_report(store, sid))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.integration
def test_cli_report_json_and_html(swept, tmp_path):
    _, sid, db = swept
    res = gome(tmp_path, "sweep", "report", sid, "--json", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["per_variant"]["gome"]["any_medal"]["mean"] == pytest.approx(0.75)
    out = tmp_path / "r.html"
    res = gome(tmp_path, "sweep", "report", sid, "-o", str(out), "--db", str(db))
    assert res.returncode == 0 and out.read_text().startswith("<!DOCTYPE html>")
    res = gome(tmp_path, "sweep", "report", sid, "-o", str(tmp_path / "nope" / "r.html"), "--db", str(db))
    assert res.returncode == 2 and "folder" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(SweepError, match="is a directory"):
        write_html(build_report(swept[0], sid), tmp_path)


@pytest.mark.integration
def test_the_html_names_counts_in_words_and_links_each_recorded_cell_to_its_own_report(swept, tmp_path):
    store, sid, db = swept
    rid = f"{sid}--a--gome--s0"
    fix = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
    store.import_run(fix, run_id=rid)  # one cell's run is in the database; the others only in the plan
    out = tmp_path / "study.html"
    res = gome(tmp_path, "sweep", "report", sid, "-o", str(out), "--db", str(db))
    assert res.returncode == 0, res.stderr
    page = out.read_text()
    intro = page.split("<p>", 1)[1].split("</p>", 1)[0]
    assert "{" not in intro and "cells: 7 done, 1 failed." in intro
    assert f'<a href="study_runs/{rid}.html">{rid}</a>' in page
    cell = tmp_path / "study_runs" / f"{rid}.html"
    assert cell.is_file() and f"run {rid}" in cell.read_text()
    other = f"{sid}--b--gome--s0"
    assert other in page and f"{other}.html" not in page  # not recorded here: named, not linked
    assert sorted(p.name for p in (tmp_path / "study_runs").iterdir()) == [f"{rid}.html"]
