"""Success-memory weighting, called directly: recent and large gains weigh most."""

from __future__ import annotations

import pytest

from gome_es.core.policy.memory import VIEW_SIZE, memory_entry, memory_view, weights
from gome_es.core.state import Solution

from .helpers import state, trace


def entry(version: int, delta: float, tid: str = "t1") -> dict:
    return {"version": version, "delta": delta, "trace_id": tid, "hypothesis": f"h{version}", "component": "model",
            "change": {}}


def test_weight_is_relative_gain_halved_every_half_life_of_age() -> None:
    mem = [entry(1, 0.02), entry(3, 0.01), entry(5, -0.04)]
    assert weights(mem, 5, 2.0) == [round(0.5 * 0.5 ** 2, 6), round(0.25 * 0.5, 6), 1.0]


def test_the_view_shows_the_heaviest_first_ties_in_memory_order() -> None:
    s = state(memory_half_life=4.0)
    s.memory = [entry(1, 0.1), entry(2, 0.1), entry(3, 0.5)]
    s.memory_version = 3
    view = memory_view(s)
    assert [v["hypothesis"] for v in view] == ["h3", "h2", "h1"]
    s2 = state(memory_half_life=1e9)  # no decay: the two equal gains tie and keep memory order
    s2.memory, s2.memory_version = [entry(1, 0.1), entry(2, 0.1)], 2
    assert [v["hypothesis"] for v in memory_view(s2)] == ["h1", "h2"]


def test_the_view_keeps_only_the_heaviest_entries() -> None:
    s = state()
    s.memory = [entry(i, 0.01 * i) for i in range(1, 21)]
    s.memory_version = 20
    view = memory_view(s)
    assert len(view) == VIEW_SIZE and view[0]["hypothesis"] == "h20"


def test_the_view_is_empty_without_memory_and_recomputed_when_memory_grows() -> None:
    off = state(memory=False)
    off.memory, off.memory_version = [entry(1, 0.1)], 1
    assert memory_view(off) == []
    s = state()
    s.memory, s.memory_version = [entry(1, 0.1)], 1
    assert len(memory_view(s)) == 1
    s.memory.append(entry(2, 0.3))
    s.memory_version = 2
    assert [v["hypothesis"] for v in memory_view(s)] == ["h2", "h1"]


@pytest.mark.parametrize("lower,prev,score,delta", [(False, 0.8, 0.85, 0.05), (True, 0.3, 0.2, 0.1)])
def test_an_entry_records_the_gain_in_the_metric_direction(lower: bool, prev: float, score: float,
                                                            delta: float) -> None:
    s = state(lower_is_better=lower)
    tr = trace(s, "t1", 0)
    sol = Solution(solution_id="t1-i2-a0", trace_id="t1", iteration=2, attempt=0, parent_solution_id=None,
                   code_sha="c", hypothesis="h", component="", val_score=score)
    ev = memory_entry(s, tr, sol, prev).event
    assert ev.version == 1 and ev.entry.delta == pytest.approx(delta) and ev.entry.component == "model"
