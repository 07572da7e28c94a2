"""The two-run report's "steps side by side" table pairs traces as `gome diff` does: by starting
direction when two seeds start the directions in the other order (issue 25, items 6-8).

A is the recorded breast-cancer run of seed 0 (t1 hgb, t2 logreg). B is the recorded run of seed 1
written under its traces' swapped ids (its t1 is logreg, its t2 hgb: what a seed that starts the
other direction first records); the same seed-1 run under its own ids is the reference, where ids
and directions agree. Each row of the table must put B's step of the same direction beside A's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.api.sources import source_from_export
from gome_es.cli.main import cli
from gome_es.store import EventStore, NewEvent
from tests.report.htmlparse import Node, parse

FIX = Path(__file__).parents[1] / "fixtures" / "diff"
TRACE_ID = re.compile(r"^t([12])(?=$|[-/])")


def swap_ids(value):
    """t1 <-> t2 in ids (t1, t1-i0-a0, t1/it0/code/0); texts stay as the trace that wrote them."""
    if isinstance(value, str):
        return TRACE_ID.sub(lambda m: "t" + ("2" if m.group(1) == "1" else "1"), value)
    if isinstance(value, dict):
        return {k: swap_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [swap_ids(v) for v in value]
    return value


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pairing") / "gome.db"
    with EventStore.open(path) as store:
        store.import_run(FIX / "breast-cancer-seed0.jsonl.gz", run_id="seed-0")
        store.import_run(FIX / "breast-cancer-seed1.jsonl.gz", run_id="seed-1")
        swapped = [NewEvent(e.type, swap_ids(e.payload), trace_id=swap_ids(e.trace_id) if e.trace_id else None,
                            ts=e.ts, schema_version=e.schema_version)
                   for e in source_from_export(FIX / "breast-cancer-seed1.jsonl.gz").events]
        store.append("seed-1-swapped", swapped, expected_seq=0)  # blobs are the imported run's
    return path


def report(db: Path, tmp: Path, a: str, b: str) -> Node:
    out = tmp / f"{a}-vs-{b}.html"
    r = CliRunner().invoke(cli, ["report", a, b, "-o", str(out), "--db", str(db)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return parse(out.read_text())


def step_rows(doc: Node) -> list[Node]:
    (table,) = doc.find_all("table", "steps")
    return [r for r in table.find_all("tr") if "data-trace" in r.attrs]


def b_side(row: Node) -> list[str]:
    """The B cells of a row (value, verdict, hypothesis), as text; the '*' marks left out."""
    cells = row.find_all("td")[1:]
    texts = [c.all_text().replace("* ", "").strip() for c in cells]
    return texts[3:] if len(texts) == 6 else texts[len(texts) - 1:]


def directions(db: Path, run_id: str) -> dict[str, str]:
    with EventStore.open(db, readonly=True) as store:
        return {e.trace_id: e.payload["direction"] for e in store.read(run_id, types=["TraceStarted"])}


def test_swapped_seeds_meet_by_direction_in_the_steps_table(db, tmp_path):
    assert directions(db, "seed-0") == {"t1": "hgb", "t2": "logreg"}
    assert directions(db, "seed-1-swapped") == {"t1": "logreg", "t2": "hgb"}
    reference = step_rows(report(db, tmp_path, "seed-0", "seed-1"))
    paired = step_rows(report(db, tmp_path, "seed-0", "seed-1-swapped"))
    # the rows are A's steps, in A's trace ids, and B's own id for the trace is named
    assert [r.attrs["data-trace"] for r in paired] == [r.attrs["data-trace"] for r in reference]
    assert {(r.attrs["data-trace"], r.attrs["data-trace-b"]) for r in paired} == {("t1", "t2"), ("t2", "t1")}
    assert all(f"B: {r.attrs['data-trace-b']}" in r.find_all("td")[0].all_text() for r in paired)
    assert not any(r.find_all(cls="b-own") for r in reference)  # ids agree there: nothing to name
    # B's side of every row is what the same seed-1 run shows when its ids agree with A's
    assert [b_side(r) for r in paired] == [b_side(r) for r in reference]
    # and that is a real pairing: the hgb and logreg steps of B read differently, so pairing by id
    # would have put the wrong step beside A's
    by_trace = {t: [b_side(r) for r in reference if r.attrs["data-trace"] == t] for t in ("t1", "t2")}
    assert by_trace["t1"] != by_trace["t2"]
    assert any("logreg" in " ".join(side) for side in by_trace["t2"])


def test_the_page_says_the_traces_are_paired_by_direction(db, tmp_path):
    doc = report(db, tmp_path, "seed-0", "seed-1-swapped")
    (steps,) = doc.find_all("section", id="steps")
    assert "same starting direction" in steps.all_text()
    (pairing,) = doc.find_all("p", "pairing")
    assert "A t1 (hgb) with B t2" in pairing.all_text() and "A t2 (logreg) with B t1" in pairing.all_text()
    same = report(db, tmp_path, "seed-0", "seed-1")
    assert not same.find_all("p", "pairing") and "same starting direction" not in same.all_text()
