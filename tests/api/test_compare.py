"""`gome.compare` / `gome compare`: many runs grouped by task and variant, paired by seed, plotted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gome_es.core.events import SubmissionGraded, validate_payload
from gome_es.report.compare import collect, render_html, render_text, summarize, variant_of
from gome_es.store import EventStore, NewEvent
from tests.support.synthetic import synthesize


def _add(store: EventStore, run_id: str, seed: int, *, test: float, medal: str | None = None,
         memory: bool = True) -> None:
    run = synthesize(seed, run_id=run_id, traces=2, max_iterations=3, code_size=80, log_size=20)
    events = [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version) for e in run.events]
    if not memory:  # the no-memory ablation as its config records it
        p = dict(events[0].payload)
        p["config"] = {**p["config"], "memory": False}
        events[0] = NewEvent(events[0].type, p, None, events[0].ts, events[0].schema_version)
    grade = SubmissionGraded(report={
        "competition_id": "synthetic-task", "score": test, "valid_submission": True, "submission_exists": True,
        "above_median": medal is not None, "any_medal": medal is not None, "gold_medal": medal == "gold",
        "silver_medal": medal == "silver", "bronze_medal": medal == "bronze", "is_lower_better": False})
    events.append(NewEvent("SubmissionGraded", grade.payload(), None, events[-1].ts, grade.schema_version))
    store.append(run_id, events, 0, blobs=run.blobs)


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    st = EventStore.open(tmp_path / "c.db", validator=validate_payload)
    for seed, (a, b) in enumerate([(0.90, 0.80), (0.85, 0.84), (0.95, 0.70)]):
        _add(st, f"g{seed}", seed, test=a, medal="gold" if a > 0.9 else None)
        _add(st, f"m{seed}", seed, test=b, memory=False)
    yield st
    st.close()


def test_groups_by_variant_with_mean_and_standard_error_and_pairs_by_seed(store: EventStore) -> None:
    points = collect(store, ["g0", "g1", "g2", "m0", "m1", "m2"])
    assert [p.variant for p in points] == ["gome"] * 3 + ["no-memory"] * 3
    s = summarize(points)
    g = {row["variant"]: row for row in s["groups"]}
    assert g["gome"]["test"]["mean"] == pytest.approx(0.9) and g["gome"]["test"]["n"] == 3
    assert g["gome"]["test"]["se"] == pytest.approx(0.05 / 3 ** 0.5)
    assert g["gome"]["gold"] == 1 and g["no-memory"]["medals"] == 0
    pair = next(p for p in s["paired"] if p["score"] == "test")
    assert (pair["a"], pair["b"], pair["n"]) == ("gome", "no-memory", 3)
    assert pair["mean"] == pytest.approx(((0.1) + (0.01) + (0.25)) / 3)
    text = render_text(s)
    assert "gome - no-memory (test, paired by seed over 3; + is better)" in text


def test_the_html_is_self_contained_with_three_plots_and_escapes_text(store: EventStore) -> None:
    points = collect(store, ["g0", "g1", "g2", "m0", "m1", "m2"])
    points[0].run_id = "<script>alert(1)</script>"
    page = render_html(points, summarize(points), links={"g1": "g1.html"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert len(re.findall(r"<svg ", page)) == 3  # score over budget, validation vs test, medals
    assert '<a href="g1.html">g1</a>' in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")


def test_curves_follow_the_best_validation_score_over_the_budget(store: EventStore) -> None:
    p = collect(store, ["g0"])[0]
    assert p.curve and all(b >= a for (_, a), (_, b) in zip(p.curve, p.curve[1:]))  # best so far never drops
    assert p.best_at(-1) is None and p.best_at(p.budget_s) == p.curve[-1][1]


def test_variants_come_from_the_recorded_config() -> None:
    assert variant_of({"strategy": "tree"}) == "tree"
    assert variant_of({"strategy": "gome", "memory": False}) == "no-memory"
    assert variant_of({"strategy": "gome", "structured_reasoning": False}) == "no-structured-reasoning"
    assert variant_of({"strategy": "gome", "traces": 1}) == "one-trace"
    assert variant_of({"strategy": "gome", "traces": 2}) == "gome"


def test_the_library_and_the_command_give_the_same_figures(store: EventStore, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    import gome_es as gome
    from gome_es.cli.main import cli

    cmp = gome.compare(["g0", "g1", "g2", "m0", "m1", "m2"], db=store.path)
    assert list(cmp.groups["variant"]) == ["gome", "no-memory"] and cmp.groups["test_n"].tolist() == [3, 3]
    assert len(cmp.runs) == 6 and set(cmp.paired["score"]) == {"test", "val"}
    res = CliRunner().invoke(cli, ["compare", "g0", "g1", "g2", "m0", "m1", "m2", "--db", str(store.path)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == cmp.text()
    res = CliRunner().invoke(cli, ["compare", "g0", "m0", "--db", str(store.path), "--json"])
    assert json.loads(res.output)["summary"]["runs"] == 2
    page = tmp_path / "cmp.html"
    res = CliRunner().invoke(cli, ["compare", "g0", "m0", "--db", str(store.path), "--html", "-o", str(page)])
    assert res.exit_code == 0 and page.read_text().startswith("<!doctype html>")
    res = CliRunner().invoke(cli, ["compare", "nope", "--db", str(store.path)])
    assert res.exit_code == 2 and "not found" in res.output


def test_the_command_prints_hostile_names_cleaned(store: EventStore) -> None:
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    started = next(iter(store.read("g0", types=["RunStarted"])))
    hostile = "\x1b]0;owned\x07task\x9b31m"
    store.db.execute("DROP TRIGGER IF EXISTS events_no_update")  # forge a task name in place, as an import could
    names = [r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    for name in names:
        store.db.execute(f"DROP TRIGGER {name}")
    payload = {**started.payload, "task_id": hostile, "task": {**started.payload["task"], "id": hostile}}
    import json
    store.db.execute("UPDATE events SET payload = ? WHERE run_id = 'g0' AND seq = 1", (json.dumps(payload),))
    res = CliRunner().invoke(cli, ["compare", "g0", "--db", str(store.path)])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\x9b" not in res.output and "\x07" not in res.output
