"""The sweep report carries `gome compare`'s plots (issue 25, item 4): the best validation score over
the budget per task and variant, and validation against test per run, drawn from the cells' runs.

Two cells' runs are real recorded runs (breast-cancer, offline reasoner, seeds 0 and 1) imported
under the cells' ids and graded by `gome resume` (a finished run with no grade is graded on resume);
the other cells were never recorded here, as when a sweep's runs live in another database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gome_es.report.compare import collect
from gome_es.report.svg import fmt
from gome_es.store import EventStore, NewEvent
from gome_es.sweep import plan_sweep
from gome_es.sweep.report import build_report, render_html
from tests.report.htmlparse import parse
from tests.sweep.conftest import gome

pytestmark = pytest.mark.integration  # real gome processes

FIX = Path(__file__).parents[1] / "fixtures" / "diff"
TASK = "breast-cancer-diagnosis"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep-plots")
    db = tmp / "gome.db"
    with EventStore.open(db) as store:
        sid = plan_sweep(store, tasks=[TASK], variants=["gome", "tree"], seeds=[0, 1], budget_s=7200,
                         sweep_id="sweep-plots")
        cells = {(c["variant"], c["seed"]): c["run_id"] for c in next(iter(store.read(sid))).payload["cells"]}
        recorded = {cells[("gome", 0)]: "breast-cancer-seed0.jsonl.gz",
                    cells[("tree", 1)]: "breast-cancer-seed1.jsonl.gz"}
        for rid, file in recorded.items():
            store.import_run(FIX / file, run_id=rid)
    for rid in recorded:
        r = gome(tmp, "resume", rid, "--quiet", "--db", str(db))  # grades the finished run
        assert r.returncode == 0, r.stderr
    with EventStore.open(db) as store:
        seq = store.last_seq(sid)
        for rid in recorded:
            grade = next(e.payload["report"] for e in store.read(rid, types=["SubmissionGraded"]))
            store.append(sid, [NewEvent("CellFinished", {"run_id": rid, "grade": grade, "duration_s": 60.0})], seq)
            seq += 1
    return {"db": db, "sid": sid, "tmp": tmp, "recorded": list(recorded)}


def test_the_sweep_page_carries_the_score_over_budget_and_validation_vs_test_plots(study):
    out = study["tmp"] / "study.html"
    r = gome(study["tmp"], "sweep", "report", study["sid"], "-o", str(out), "--db", str(study["db"]))
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    dom = parse(page)
    (curve,) = dom.find_all("svg", "curve-plot")
    assert curve.attrs["aria-label"] == f"{TASK}: best validation score over the budget"
    assert sorted(p.attrs["data-variant"] for p in curve.find_all("polyline", "curve")) == ["gome", "tree"]
    (scatter,) = dom.find_all("svg", "val-test-plot")
    assert sorted(c.attrs["data-run"] for c in scatter.find_all("circle", "run")) == sorted(study["recorded"])
    # the dots are the runs' own figures, as gome compare reads them
    with EventStore.open(study["db"], readonly=True) as store:
        points = {p.run_id: p for p in collect(store, study["recorded"])}
    for c in scatter.find_all("circle", "run"):
        p = points[c.attrs["data-run"]]
        assert p.val is not None and p.test is not None
        assert f"val {fmt(p.val)}, test {fmt(p.test)}" in c.all_text()
    # still one self-contained file, the existing sections kept, and each recorded cell linked
    assert dom.find_all("rect", "bar") and dom.find_all("td", "grid-cell")
    assert not dom.find_all("script") and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for rid in study["recorded"]:
        assert f'<a href="study_runs/{rid}.html">{rid}</a>' in page


def test_a_sweep_with_no_recorded_run_says_why_there_are_no_curves(study):
    with EventStore.open(study["db"], readonly=True) as store:
        r = build_report(store, study["sid"])
    for c in r["cells"]:
        c["recorded"] = False
    dom = parse(render_html(r, points=[]))
    (plots,) = dom.find_all("section", id="plots")
    assert "No cell's run is recorded in this database" in plots.all_text()
    assert not dom.find_all("svg", "curve-plot")
    assert not parse(render_html(r)).find_all("section", id="plots")  # no store given: no plots section
