"""The one small interface a search strategy implements, and the choice of one from a run's config.

The dispatch (:mod:`.dispatch`) owns the phases every strategy shares: asking
for directions, starting traces, coding, executing, judging, selecting.  A
strategy answers only what differs: how many traces and directions, whether an
accepted improvement enters the success memory, whether a failed attempt is
debugged at once, and what a new iteration starts with.  Pure module.
"""

from __future__ import annotations

from typing import Protocol

from ..events import RunConfig
from ..state import RunState, TraceState
from .decision import BlobReader, Decision
from .gome import GomeStrategy
from .tree import TreeStrategy


class Strategy(Protocol):
    @property
    def name(self) -> str:
        """The strategy's name in ``RunConfig.strategy``."""

    def n_traces(self) -> int:
        """How many traces the run keeps."""

    def n_directions(self) -> int:
        """How many starting directions to ask the reasoner for."""

    def remembers(self) -> bool:
        """Whether an accepted improvement enters the shared success memory (a ``MemoryUpdated``)."""

    def debugs_after_judging(self) -> bool:
        """Whether an attempt that failed a bug level is debugged right away (else a new iteration starts)."""

    def begin_iteration(self, state: RunState, tr: TraceState, iteration: int, read_blob: BlobReader) -> Decision:
        """The first decision of ``iteration`` (budget and iteration limits are already checked)."""


def strategy_for(config: RunConfig) -> Strategy:
    """The strategy a run's config names (``gome`` unless it says ``tree``), configured by it."""
    if config.strategy == "tree":
        return TreeStrategy.from_config(config)
    return GomeStrategy.from_config(config)
