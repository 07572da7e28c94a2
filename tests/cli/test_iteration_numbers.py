"""One iteration numbering everywhere: a stopped and a finished run read through every command.

The runs are real: the recorded breast-cancer run (imported) and a fork of it stopped mid-way.
What each trace is at comes from the events themselves (the iteration of its solution ids and
of its last hypothesis or pending proposal, TraceFinished's count), not from the code under
test; then `status`, `show` (text and JSON), `watch`, `steps`, `events`, the HTML report, the
live progress of `run` and `resume`'s start line must all name the same iteration (``i2``, as in
``t1-i2-a0``) and the same count done (``3/3 done``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.api.sources import source_from_export
from gome_es.cli.main import cli
from gome_es.cli.progress import progress_line, resume_notice, status_block
from gome_es.core.state import RunState, apply
from gome_es.store import EventStore

FIX = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"


def gome(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def expected(events: list) -> dict[str, tuple[str, int]]:
    """trace -> (iteration label, iterations done), from the events alone."""
    at: dict[str, int] = {}
    done: dict[str, int] = {}
    for e in events:
        p, t = e.payload, e.trace_id
        if e.type == "HypothesisProposed" or (e.type == "LLMRequested" and p.get("purpose") == "propose"):
            at[t] = int(p["iteration"])
        if e.type == "CodeGenerated":  # the solution id carries its iteration: t1-i2-a0
            assert p["solution_id"].startswith(f"{t}-i{p['iteration']}-a")
        if e.type == "TraceFinished":
            done[t] = int(p["iterations"])
    return {t: (f"i{i}", done.get(t, i)) for t, i in at.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("numbers")
    db = tmp / "g.db"
    events = list(source_from_export(FIX).events)
    with EventStore.open(db) as store:
        store.import_run(FIX, run_id="done-run")
    # stop it where one trace is inside an iteration and another asks for its next hypothesis
    cut = next(e.seq for e in events if e.type == "ExecutionRequested" and e.payload["solution_id"].startswith("t1-i1"))
    gome("fork", "done-run", "--at", str(cut), "--run-id", "stopped-run", "--db", str(db))
    return {"db": str(db), "tmp": tmp, "done-run": events, "stopped-run": events[:cut]}


@pytest.mark.parametrize("run", ["stopped-run", "done-run"])
def test_every_command_names_the_same_iteration_and_count(runs, run):
    db, events = runs["db"], runs[run]
    want = expected(events)
    assert want and len(want) >= 2
    cap = 3  # the recorded run's --max-iterations
    if run == "done-run":
        assert all(d == cap for _, d in want.values())
    else:
        assert any(d < cap for _, d in want.values())
    state = RunState(run_id=run)
    for e in events:
        apply(state, e)

    def says(line: str, tid: str) -> None:
        label, done = want[tid]
        assert re.search(rf"\b{tid}\b[^|\n]*?\b{label} {done}/{cap} done", line), (tid, line)

    status = gome("status", run, "--db", db)
    for tid in want:
        says(status, tid)
    show = gome("show", run, "--db", db)
    for tid in want:
        says(next(x for x in show.splitlines() if x.strip().startswith(f"{tid}:")), tid)
    js = json.loads(gome("show", run, "--json", "--db", db))
    for tid, (label, done) in want.items():
        assert (f"i{js['traces'][tid]['iteration']}", js["traces"][tid]["iterations_done"]) == (label, done)
    watch = gome("watch", run, "--once", "--width", "120", "--db", db)
    for tid, (label, done) in want.items():
        row = next(x for x in watch.splitlines() if x.startswith(f"{tid} "))
        assert f" {label} {done}/{cap} " in row, row
    for line in status_block(state, 140)[1:-1] + [progress_line(state), resume_notice(state, "stopped", 0.0)]:
        for tid in want:
            if f"{tid} " in line:
                assert f"{want[tid][0]} {want[tid][1]}/{cap} done" in line, line
    # steps and events name iterations as the solution ids do
    steps = [json.loads(x) for x in gome("steps", run, "--json", "--db", db).splitlines()]
    table = gome("steps", run, "--db", db)
    for s in steps:
        assert s["solution_id"].startswith(f"{s['trace']}-i{s['iteration']}-")
        assert re.search(rf"^{s['trace']}\s+i{s['iteration']}\s+{s['attempt']}\s", table, re.M)
    drew = re.findall(r"HypothesisProposed.*?\b(i\d+) drew", gome("events", run, "--db", db))
    assert drew and set(drew) <= {f"i{n}" for n in range(cap)}
    out = runs["tmp"] / f"{run}.html"
    gome("report", run, "-o", str(out), "--db", db)
    page = html.unescape(re.sub(r"<[^>]+>", " ", out.read_text()))
    for tid, (label, done) in want.items():
        assert re.search(rf"trace {tid} .*?· {label} {done}/{cap} done ·", page), tid
    # no second numbering in the report (effect keys such as t1/it0/exec/0 are recorded ids, left as they are)
    assert not re.search(r"(?<![/\w])it\d", page.split("<script", 1)[0])


def test_a_finished_trace_counts_what_its_trace_finished_event_records(runs):
    finished = {e.trace_id: e.payload["iterations"] for e in runs["done-run"] if e.type == "TraceFinished"}
    js = json.loads(gome("show", "done-run", "--json", "--db", runs["db"]))
    assert {t: v["iterations_done"] for t, v in js["traces"].items()} == finished
