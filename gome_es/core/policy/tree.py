"""The tree-search baseline (AIDE-like), on the same machinery as the gradient strategy.

One trace walks a tree of solutions.  Each iteration it either drafts a new
root (until ``tree_drafts`` roots exist), debugs a buggy leaf (with probability
``tree_debug_prob``, up to ``tree_max_debug_depth`` fixes deep), or greedily
improves the best node so far.  The choice is drawn from a seed derived from
(run seed, iteration), so it replays exactly.  No success memory, and a failed
attempt is not debugged at once (a later iteration may pick it).  Pure module.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..events import RunConfig
from ..state import RunState, Solution, TraceState
from .contexts import directions, propose_context
from .decision import BlobReader, Decision, derive_seed, request, single_hypothesis
from .validation import BUG_LEVELS


@dataclass(frozen=True)
class TreeStrategy:
    drafts: int = 3
    debug_prob: float = 0.5
    max_debug_depth: int = 2
    name: str = "tree"

    @classmethod
    def from_config(cls, config: RunConfig) -> "TreeStrategy":
        return cls(drafts=int(config.tree_drafts), debug_prob=float(config.tree_debug_prob),
                   max_debug_depth=int(config.tree_max_debug_depth))

    def n_traces(self) -> int:
        return 1

    def n_directions(self) -> int:
        return self.drafts

    def remembers(self) -> bool:
        return False

    def debugs_after_judging(self) -> bool:
        return False

    def begin_iteration(self, state: RunState, tr: TraceState, iteration: int, read_blob: BlobReader) -> Decision:
        seed = derive_seed(state.config.seed, "tree", iteration)
        rng = random.Random(seed)
        roots = [s for s in state.solutions.values() if s.parent_solution_id is None and s.component != "debug"]
        buggy = buggy_leaves(state, tr, self.max_debug_depth)
        if len(roots) < self.drafts or tr.sota_id is None and not buggy:
            dirs = directions(state, read_blob)
            detail = dirs[len(roots) % len(dirs)] if dirs else {}
            text = detail.get("text") or f"draft {len(roots) + 1}"
            return single_hypothesis(state, tr, iteration, seed, None, text, "draft", detail.get("change", {}))
        roll = rng.random()
        if buggy and (roll < self.debug_prob or tr.sota_id is None):
            leaf = buggy[rng.randrange(len(buggy))]
            text = f"debug {leaf.solution_id}: {leaf.first_failure}"
            return single_hypothesis(state, tr, iteration, seed, leaf.solution_id, text, "debug", {})
        ctx = propose_context(state, tr, iteration, parent_id=tr.sota_id)
        ctx["n_candidates"] = 1
        ctx["structured"] = False
        ctx["memory"] = []
        return request(state, tr, "propose", f"{tr.trace_id}/it{iteration}/propose/0", iteration, 0, ctx)


def debug_depth(state: RunState, sol: Solution) -> int:
    """How many debug fixes deep ``sol`` is (0 for a draft or an improvement)."""
    depth = 0
    cur = sol
    while cur.component == "debug" and cur.parent_solution_id in state.solutions:
        depth += 1
        cur = state.solutions[cur.parent_solution_id]
    return depth


def buggy_leaves(state: RunState, tr: TraceState, max_depth: int) -> list[Solution]:
    """Judged solutions of the trace that failed a bug level, have no child and are under ``max_depth``."""
    children = {s.parent_solution_id for s in state.solutions.values() if s.parent_solution_id}
    return [
        state.solutions[sid]
        for sid in tr.solutions
        if state.solutions[sid].judged
        and state.solutions[sid].first_failure in BUG_LEVELS
        and sid not in children
        and debug_depth(state, state.solutions[sid]) < max_depth
    ]
