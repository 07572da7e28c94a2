"""What `gome run`/`resume` say while they work and when they end (states folded from a real run)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.api.sources import source_from_export
from gome_es.cli.main import cli
from gome_es.cli.progress import (
    Progress,
    end_reason,
    eta_s,
    finish_lines,
    progress_line,
    status_block,
)
from gome_es.core.state import RunState, apply
from gome_es.store import EventStore

FIX = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"


@pytest.fixture(scope="module")
def events():
    return list(source_from_export(FIX).events)


def fold(events, upto: int | None = None) -> RunState:
    st = RunState(run_id="seed-0")
    for e in events[:upto]:
        apply(st, e)
    return st


def gome(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_terminal_block_redraws_in_place_with_iterations_metric_budget_and_eta(events):
    out = io.StringIO()
    clock = iter(range(1000))
    p = Progress(stream=out, tty=True, width=120, clock=lambda: float(next(clock)), min_interval_s=0)
    middle = len(events) // 2
    p(fold(events, middle))
    p(fold(events, middle + 5))
    text = out.getvalue()
    first, second = text.split("\x1b[", 1)[0], text
    assert "\x1b[" not in first  # the first block is written plainly
    assert re.search(r"\x1b\[\d+F\x1b\[J", second)  # the second moves up over it and clears
    block = status_block(fold(events, middle), 120)
    assert "auc_roc (higher is better)" in block[0]
    assert all(re.search(r" i\d \d/3 done ", line) for line in block[1:-1])
    assert re.search(r"best auc_roc 0\.\d{5} \(t\d-i\d-a\d\) · budget \S+ of 10m00s \(\d+%\) · ETA ~\S+", block[-1])


def test_pipe_gets_one_line_per_change_with_one_precision(events):
    out = io.StringIO()
    p = Progress(stream=out, tty=False)
    for i in range(10, len(events)):
        p(fold(events, i))
    lines = out.getvalue().splitlines()
    assert lines and "\x1b" not in out.getvalue()
    assert len(lines) == len(set(lines))  # no repeats
    scores = re.findall(r"best=(\S+)", out.getvalue())
    assert {len(s.split(".")[1]) for s in scores if s != "—"} == {5}


def test_budget_left_is_never_negative_and_eta_is_bounded_by_it(events):
    st = fold(events)
    st.config = st.config.with_overrides({"budget_s": 1.0})  # spent more than the budget
    assert st.budget_left_s < 0
    assert "budget left 0.0s" in progress_line(st)
    mid = fold(events, len(events) // 2)
    eta, bound = eta_s(mid)
    assert eta is not None and 0 <= eta <= max(0.0, mid.budget_left_s) and bound in ("iterations", "budget")


def test_every_end_names_its_reason(events):
    st = fold(events)
    assert end_reason(st) == "completed: every trace reached --max-iterations (3)"
    lines = finish_lines(st)
    assert lines[1].startswith("selected t") and "validation auc_roc 0.99" in lines[1]
    assert "None" not in " ".join(lines)
    assert end_reason(fold(events, 30)).startswith("stopped before the end")
    for tr in st.traces.values():
        tr.finished_reason = "budget"
    st.finished = {**st.finished, "status": "budget_exhausted"}
    assert end_reason(st).startswith("budget spent: every trace stopped for the budget (10m00s;")


def test_a_budget_too_small_for_one_experiment_is_refused_before_anything_is_written(tmp_path):
    db = tmp_path / "g.db"
    r = gome("run", "--task", "breast-cancer-diagnosis", "--budget", "2s", "--db", str(db))
    assert r.exit_code == 2 and "cannot fit one experiment" in r.output and "--budget" in r.output
    assert not db.exists()


def test_resume_says_what_it_found_and_a_fresh_fork_is_not_interrupted(tmp_path, events):
    db = tmp_path / "g.db"
    with EventStore.open(db) as store:
        store.import_run(FIX, run_id="seed-0")
    last_trace_finished = max(e.seq for e in events if e.type == "TraceFinished")
    r = gome("fork", "seed-0", "--at", str(last_trace_finished), "--run-id", "what-if", "--db", str(db))
    assert r.exit_code == 0, r.output
    rows = {json.loads(x)["run_id"]: json.loads(x) for x in gome("runs", "--db", str(db), "--json").output.splitlines()}
    assert rows["what-if"]["status"] == "forked"
    r = gome("resume", "what-if", "--db", str(db))
    assert r.exit_code == 0, r.output
    # workspaces are keyed by database and run
    assert (tmp_path / ".gome" / "work" / "what-if" / "selected" / "submission.csv").is_file()
    err = r.output
    assert "resuming run what-if" in err and "it was forked and never resumed" in err
    assert "no effect in flight; nothing to redo" in err
    assert "completed: every trace reached --max-iterations (3)" in err
