"""Success memory: accepted improvements, shared by all traces, weighted toward recent and large gains.

:func:`memory_entry` is what an accepted improvement adds; :func:`memory_view`
is what a reasoner is shown of the memory (the heaviest entries).  The weight of
an entry is ``|delta| / max |delta|`` times ``0.5 ** (age / half_life)``, age in
memory versions.  Pure module.
"""

from __future__ import annotations

from typing import Any

from ..events import MemoryEntry, MemoryUpdated
from ..state import RunState, Solution, TraceState
from .decision import Decision

VIEW_SIZE = 12  # entries a reasoner is shown


def weights(memory: list[dict[str, Any]], version: int, half_life: float) -> list[float]:
    """Each entry's weight: its gain relative to the largest, halved every ``half_life`` versions of age."""
    top = max((abs(m["delta"]) for m in memory), default=0.0) or 1.0
    return [round((abs(m["delta"]) / top) * 0.5 ** ((version - m["version"]) / half_life), 6) for m in memory]


def memory_view(state: RunState) -> list[dict[str, Any]]:
    """Success memory weighted toward recent and large gains (shared by all traces).

    The view is a function of the memory (which only grows, each entry bumping
    ``memory_version``) and two config values, so it is kept on the state
    under that key: a trace's propose and code requests, and the other traces,
    read the same view until the memory changes.  Callers must not mutate it.
    """
    if not state.config.memory:
        return []
    half_life = float(state.config.memory_half_life) or 1.0
    key = (state.memory_version, len(state.memory), half_life)
    cached = state.view_cache.get("memory_view")
    if cached is not None and cached[0] == key:
        kept: list[dict[str, Any]] = cached[1]
        return kept
    w = weights(state.memory, state.memory_version, half_life)
    # the 12 heaviest, ties in memory order (a stable sort); dicts only for those
    best = sorted(range(len(w)), key=lambda i: -w[i])[:VIEW_SIZE]
    view = [
        {
            "trace_id": state.memory[i]["trace_id"],
            "hypothesis": state.memory[i]["hypothesis"],
            "component": state.memory[i]["component"],
            "change": state.memory[i].get("change", {}),
            "delta": state.memory[i]["delta"],
            "weight": w[i],
        }
        for i in best
    ]
    state.view_cache["memory_view"] = (key, view)
    return view


def memory_entry(state: RunState, tr: TraceState, sol: Solution, previous: float) -> Decision:
    """``MemoryUpdated`` for an accepted ``sol`` that beat the trace's SOTA ``previous``."""
    delta = (previous - sol.val_score) if state.lower_is_better else (sol.val_score - previous)  # type: ignore[operator]
    entry = MemoryEntry(
        trace_id=tr.trace_id,
        iteration=tr.iteration,
        solution_id=sol.solution_id,
        hypothesis=sol.hypothesis,
        component=sol.component or "model",
        change=sol.change,
        delta=float(delta),
        val_score=float(sol.val_score),  # type: ignore[arg-type]
    )
    return Decision(MemoryUpdated(version=state.memory_version + 1, entry=entry), tr.trace_id)
