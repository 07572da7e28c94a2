"""Small hand-built states for the policy's rules (no run, no store: the rules are pure functions)."""

from __future__ import annotations

from typing import Any

from gome_es.core.events import RunConfig
from gome_es.core.state import RunState, TracePhase, TraceState


def state(lower_is_better: bool = False, **config: Any) -> RunState:
    return RunState(run_id="r", task={"lower_is_better": lower_is_better}, config=RunConfig(**config))


def trace(st: RunState, tid: str, index: int, *, phase: TracePhase = TracePhase.STARTED,
          hypothesis: dict[str, Any] | None = None, sota: float | None = None) -> TraceState:
    tr = TraceState(trace_id=tid, index=index, direction=f"d{index}", phase=phase, hypothesis=hypothesis,
                    sota_score=sota)
    st.traces[tid] = tr
    st.view_cache.clear()
    return tr
