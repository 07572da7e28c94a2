"""The gradient-like strategy: N diverse traces, structured proposals, a shared success memory.

Each trace starts from its own direction (iteration 0 is that direction, taken
as is), then every iteration asks the reasoner to propose scored candidates
from the feedback, the history, the memory and what other traces have in
flight (:mod:`.scoring` draws one).  Failed attempts are debugged at once.
The ablations are configuration of this strategy, not other strategies:
``--traces 1``, ``--no-memory`` (``memory``), ``--no-structured-reasoning``
(``structured_reasoning``, read by the scoring and the propose context).
Pure module.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events import RunConfig
from ..state import RunState, TraceState
from .contexts import propose_context
from .decision import BlobReader, Decision, derive_seed, request, single_hypothesis


@dataclass(frozen=True)
class GomeStrategy:
    traces: int
    memory: bool = True
    name: str = "gome"

    @classmethod
    def from_config(cls, config: RunConfig) -> "GomeStrategy":
        return cls(traces=int(config.traces), memory=bool(config.memory))

    def n_traces(self) -> int:
        return self.traces

    def n_directions(self) -> int:
        return self.traces

    def remembers(self) -> bool:
        return self.memory

    def debugs_after_judging(self) -> bool:
        return True

    def begin_iteration(self, state: RunState, tr: TraceState, iteration: int, read_blob: BlobReader) -> Decision:
        if iteration == 0:
            return direction_hypothesis(state, tr, iteration)
        ctx = propose_context(state, tr, iteration)
        return request(state, tr, "propose", f"{tr.trace_id}/it{iteration}/propose/0", iteration, 0, ctx)


def direction_hypothesis(state: RunState, tr: TraceState, iteration: int, parent: str | None = None) -> Decision:
    """Iteration 0 of a trace: its starting direction, as a hypothesis with nothing to draw."""
    detail = tr.direction_detail or {}
    text = detail.get("text") or f"start from {tr.direction}"
    seed = derive_seed(state.config.seed, tr.trace_id, iteration)
    return single_hypothesis(state, tr, iteration, seed, parent, text, detail.get("component", "model"),
                             detail.get("change", {}))
