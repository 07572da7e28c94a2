"""The tree-search baseline (AIDE-like), on the same machinery as the gradient policy.

One trace walks a tree of solutions.  Each iteration it either drafts a new
root (until ``tree_drafts`` roots exist), debugs a buggy leaf (with probability
``tree_debug_prob``, up to ``tree_max_debug_depth`` fixes deep), or greedily
improves the best node so far.  The choice is drawn from a seed derived from
(run seed, iteration), so it replays exactly.  Pure module.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from .policy import BlobReader, Decision
    from .state import RunState, Solution, TraceState


def _debug_depth(state: "RunState", sol: "Solution") -> int:
    depth = 0
    cur = sol
    while cur.component == "debug" and cur.parent_solution_id in state.solutions:
        depth += 1
        cur = state.solutions[cur.parent_solution_id]
    return depth


def _buggy_leaves(state: "RunState", tr: "TraceState") -> list["Solution"]:
    from .policy import BUG_LEVELS

    children = {s.parent_solution_id for s in state.solutions.values() if s.parent_solution_id}
    limit = int(state.config.get("tree_max_debug_depth", 2))
    return [
        state.solutions[sid]
        for sid in tr.solutions
        if state.solutions[sid].judged
        and state.solutions[sid].first_failure in BUG_LEVELS
        and sid not in children
        and _debug_depth(state, state.solutions[sid]) < limit
    ]


def tree_step(state: "RunState", tr: "TraceState", iteration: int, read_blob: "BlobReader") -> "Decision":
    from .policy import _request, derive_seed, propose_context, single_hypothesis

    cfg = state.config
    seed = derive_seed(cfg["seed"], "tree", iteration)
    rng = random.Random(seed)
    roots = [s for s in state.solutions.values() if s.parent_solution_id is None and s.component != "debug"]
    n_drafts = int(cfg.get("tree_drafts", 3))
    buggy = _buggy_leaves(state, tr)
    if len(roots) < n_drafts or tr.sota_id is None and not buggy:
        from .policy import _directions

        dirs = _directions(state, read_blob)
        detail = dirs[len(roots) % len(dirs)] if dirs else {}
        text = detail.get("text") or f"draft {len(roots) + 1}"
        return single_hypothesis(state, tr, iteration, seed, None, text, "draft", detail.get("change", {}))
    roll = rng.random()
    if buggy and (roll < float(cfg.get("tree_debug_prob", 0.5)) or tr.sota_id is None):
        leaf = buggy[rng.randrange(len(buggy))]
        text = f"debug {leaf.solution_id}: {leaf.first_failure}"
        return single_hypothesis(state, tr, iteration, seed, leaf.solution_id, text, "debug", {})
    ctx = propose_context(state, tr, iteration, parent_id=tr.sota_id)
    ctx["n_candidates"] = 1
    ctx["structured"] = False
    ctx["memory"] = []
    return _request(state, tr, "propose", f"{tr.trace_id}/it{iteration}/propose/0", iteration, 0, ctx)
