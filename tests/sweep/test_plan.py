"""The pure parts of a sweep: parsing, the grid and each cell's `gome run` options, the fold, the ETA."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gome_es.sweep.plan import (
    VARIANTS,
    SweepError,
    parse_seeds,
    parse_task_lines,
    parse_variants,
    plan_cells,
    run_args,
)
from gome_es.sweep.state import SweepLogError, eta_s, fold, progress_text

SPEC = {"budget_s": 180.0, "max_iterations": 50, "reasoner": "offline", "slots": 2, "traces": 2,
        "model": None, "base_url": None, "mlebench_data": None, "exec_timeout": None, "max_tries": 2}


def test_variants_are_todays_run_options():
    """The same mapping benchmarks/agent_compare.py used: each variant is a `gome run` option set."""
    cell = plan_cells("sweep-x", ["wine-cultivar"], list(VARIANTS), [0])
    args = {c.variant: run_args(SPEC, c) for c in cell}
    assert args["gome"][-2:] == ["--traces", "2"]
    assert args["tree"][-2:] == ["--strategy", "tree"]
    assert args["no-structured-reasoning"][-1] == "--no-structured-reasoning"
    assert args["no-memory"][-1] == "--no-memory"
    assert args["one-trace"].count("--traces") == 1 and args["one-trace"][-2:] == ["--traces", "1"]
    assert args["gome"][:4] == ["--task", "wine-cultivar", "--seed", "0"]


def test_run_args_carry_the_model_and_mlebench_data():
    spec = {**SPEC, "reasoner": "openai", "model": "gpt-x", "base_url": "http://h/v1", "mlebench_data": "/d",
            "exec_timeout": "2m"}
    args = run_args(spec, plan_cells("sweep-x", ["mlebench:spaceship-titanic"], ["gome"], [1])[0])
    for pair in (["--model", "gpt-x"], ["--base-url", "http://h/v1"], ["--mlebench-data", "/d"],
                 ["--exec-timeout", "2m"], ["--reasoner", "openai"], ["--seed", "1"]):
        i = args.index(pair[0])
        assert args[i:i + 2] == pair


def test_grid_is_seed_major_with_distinct_run_ids():
    cells = plan_cells("sweep-x", ["a", "mlebench:b/c"], ["gome", "tree"], [0, 1, 2])
    assert len(cells) == 12 and len({c.run_id for c in cells}) == 12
    assert [c.seed for c in cells[:4]] == [0] * 4
    assert cells[2].run_id == "sweep-x--mlebench_b_c--gome--s0"
    with pytest.raises(SweepError, match="same run id"):
        plan_cells("sweep-x", ["a:b", "a/b"], ["gome"], [0])


@pytest.mark.parametrize("text,want", [("3", [0, 1, 2]), ("1", [0]), ("0,1,5", [0, 1, 5]), (" 2 ", [0, 1])])
def test_seeds(text, want):
    assert parse_seeds(text) == want


@pytest.mark.parametrize("text", ["0", "-1", "x", "1,1", "1,-2", "", "2000"])
def test_bad_seeds_are_refused_with_the_value(text):
    with pytest.raises(SweepError, match="--seeds"):
        parse_seeds(text)


def test_variants_parse_with_aliases_and_refuse_unknown():
    assert parse_variants("gome, no-structured,tree,gome") == ["gome", "no-structured-reasoning", "tree"]
    with pytest.raises(SweepError, match="'greedy'"):
        parse_variants("gome,greedy")
    with pytest.raises(SweepError):
        parse_variants(" , ")


def test_task_lines_take_mlebench_split_files():
    lines = ["# low split", "spaceship-titanic", "", "wine-cultivar  # bundled", "mlebench:x", "spaceship-titanic"]
    assert parse_task_lines(lines, {"wine-cultivar"}, mlebench=True) == [
        "mlebench:spaceship-titanic", "wine-cultivar", "mlebench:x"]
    assert parse_task_lines(lines, {"wine-cultivar"}, mlebench=False)[0] == "spaceship-titanic"


def _ev(seq, type_, ts, **payload):
    return SimpleNamespace(seq=seq, type=type_, ts=ts, payload=payload)


def _planned(cells):
    return _ev(1, "SweepPlanned", 0.0, spec={**SPEC, "concurrency": 2}, cells=[c.to_json() for c in cells])


def test_fold_counts_only_a_cells_own_failures_as_tries():
    cells = plan_cells("sweep-x", ["a", "b"], ["gome"], [0])
    a, b = cells[0].run_id, cells[1].run_id
    log = [_planned(cells), _ev(2, "SweepDriverStarted", 1.0),
           _ev(3, "CellAssigned", 1.0, run_id=a), _ev(4, "CellStarted", 2.0, run_id=a),
           # the driver died here; a second driver assigns the cell again: no try used
           _ev(5, "SweepDriverStarted", 9.0), _ev(6, "CellAssigned", 9.0, run_id=a),
           _ev(7, "CellFailed", 10.0, run_id=a, reason="exit 2: boom", final=False),
           _ev(8, "CellAssigned", 11.0, run_id=b), _ev(9, "CellStarted", 11.0, run_id=b)]
    st = fold("sweep-x", log)
    assert st.cells[a].assignments == 2 and st.cells[a].tries_failed == 1 and st.cells[a].status == "planned"
    assert st.cells[a].reasons == ["exit 2: boom"] and st.drivers == 2
    assert st.counts() == {"done": 0, "running": 1, "failed": 0, "left": 1}
    st2 = fold("sweep-x", [*log, _ev(10, "CellFailed", 12.0, run_id=a, reason="again", final=True),
                           _ev(11, "CellFinished", 40.0, run_id=b, grade={"any_medal": True}, duration_s=29.0)])
    assert st2.counts() == {"done": 1, "running": 0, "failed": 1, "left": 0}
    assert st2.cells[b].grade == {"any_medal": True}


def test_fold_refuses_what_is_not_a_sweep():
    with pytest.raises(SweepLogError, match="not a sweep"):
        fold("run-1", [_ev(1, "RunStarted", 0.0)])
    cells = plan_cells("sweep-x", ["a"], ["gome"], [0])
    with pytest.raises(SweepLogError, match="no cell of this sweep"):
        fold("sweep-x", [_planned(cells), _ev(2, "CellStarted", 1.0, run_id="other")])


def test_eta_from_finished_cells():
    cells = plan_cells("sweep-x", ["a", "b", "c", "d", "e"], ["gome"], [0])
    log = [_planned(cells)]
    st = fold("sweep-x", log)
    assert eta_s(st, 2, now=0.0) == pytest.approx(5 * (180 * 1.2 + 20) / 2)  # before any finished: the budget
    log += [_ev(2, "CellAssigned", 0.0, run_id=cells[0].run_id), _ev(3, "CellStarted", 0.0, run_id=cells[0].run_id),
            _ev(4, "CellFinished", 100.0, run_id=cells[0].run_id, grade={}, duration_s=100.0),
            _ev(5, "CellAssigned", 100.0, run_id=cells[1].run_id), _ev(6, "CellStarted", 100.0, run_id=cells[1].run_id)]
    st = fold("sweep-x", log)
    # one running for 40 s of ~100 (60 left), three not started (300): (300 + 60) / 2
    assert eta_s(st, 2, now=140.0) == pytest.approx(180.0)
    assert "1 done, 1 running, 0 failed, 3 left (of 5) | ETA 3m00s" in progress_text(st, 2, 140.0)
