"""Compare strategies and ablations with the offline reasoner on the bundled tasks.

    python benchmarks/agent_compare.py [--budget 10m] [--seeds 0 1 2] [--tasks ...]
                                       [--variants gome tree no-structured no-memory one-trace]
                                       [--max-iterations 8] [--out results.jsonl]

Every (variant, task, seed) is a real run: real store, real executor, the
offline reasoner, the same budget.  Prints per variant: valid-submission rate,
above-median rate, any-medal rate, mean best validation score per task,
iterations, and the share of wall time spent in the event store vs in
executions.  Issue 5's goal: with a 10-minute budget on 2 cores, a valid
submission on every task and a medal on at least 3 of 5 (variant `gome`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.agent import DriveOptions, drive, start_run  # noqa: E402
from gome_es.cli.run_cmds import parse_duration  # noqa: E402
from gome_es.core.events import ReasonerConfig, RunConfig  # noqa: E402
from gome_es.store import EventStore  # noqa: E402
from gome_es.tasks import list_tasks, load_task  # noqa: E402

SLOTS = 2
VARIANTS = {
    "gome": {},
    "tree": {"strategy": "tree"},
    "no-structured": {"structured_reasoning": False},
    "no-memory": {"memory": False},
    "one-trace": {"traces": 1},
}


def one_run(root: Path, variant: str, task_id: str, seed: int, budget_s: float, max_iter: int) -> dict:
    db = root / f"{variant}-{task_id}-{seed}.db"
    store = EventStore.open(db)
    task = load_task(task_id)
    cfg = {"traces": 2, "max_iterations": max_iter, "budget_s": budget_s, "seed": seed,
           "exec_timeout_s": min(300.0, budget_s / 3), "est_exec_s": min(30.0, budget_s / 20),
           **VARIANTS[variant]}
    rid = start_run(store, task, RunConfig(**cfg), ReasonerConfig(kind="offline"), run_id="r")
    timings: dict[str, float] = {}
    t = time.time()
    state = drive(store, rid, task=task, options=DriveOptions(workspace_root=root / "work" / db.stem, slots=SLOTS),
                  timings=timings)
    wall = time.time() - t
    g = state.grade or {}
    best = state.best_solution()
    return {
        "variant": variant, "task": task_id, "seed": seed, "wall_s": round(wall, 1),
        "valid": bool(g.get("valid_submission")), "above_median": bool(g.get("above_median")),
        "medal": bool(g.get("any_medal")), "score": g.get("score"),
        "best_val": best.val_score if best else None,
        "iterations": sum(t.iteration + 1 for t in state.traces.values()),
        "executions": len(state.executions), "events": state.event_count,
        # exec time is summed over concurrent slots: the share of slot-time spent executing
        "store_share": timings.get("store_s", 0) / wall, "exec_share": timings.get("exec_s", 0) / (wall * SLOTS),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", default="10m")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--tasks", nargs="+", default=None)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--max-iterations", type=int, default=50, help="per trace; the budget usually binds first")
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per run")
    args = ap.parse_args()
    budget = parse_duration(args.budget)
    tasks = args.tasks or [t.id for t in list_tasks()]
    root = Path(tempfile.mkdtemp(prefix="gome-compare-"))
    rows = []
    for variant in args.variants:
        for task_id in tasks:
            for seed in args.seeds:
                row = one_run(root, variant, task_id, seed, budget, args.max_iterations)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.out:
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
    print(f"\nbudget {budget:.0f}s per run, seeds {args.seeds}, offline reasoner, 2 cores")
    print(f"{'variant':<14} {'valid':>6} {'>median':>8} {'medal':>6} {'iters':>6} {'store%':>7} {'exec%':>6}  "
          "best val per task")
    by = defaultdict(list)
    for r in rows:
        by[r["variant"]].append(r)
    for variant, rs in by.items():
        n = len(rs)
        per_task = defaultdict(list)
        for r in rs:
            if r["best_val"] is not None:
                per_task[r["task"]].append(r["best_val"])
        vals = " ".join(f"{t.split('-')[0]}={statistics.mean(v):.4g}" for t, v in per_task.items())
        print(f"{variant:<14} {sum(r['valid'] for r in rs) / n:>6.0%} {sum(r['above_median'] for r in rs) / n:>8.0%} "
              f"{sum(r['medal'] for r in rs) / n:>6.0%} {statistics.mean(r['iterations'] for r in rs):>6.1f} "
              f"{statistics.mean(r['store_share'] for r in rs):>7.2%} {statistics.mean(r['exec_share'] for r in rs):>6.0%}  {vals}")
    medals = defaultdict(set)
    for r in rows:
        if r["medal"]:
            medals[r["variant"]].add(r["task"])
    for variant in by:
        print(f"{variant}: medal on {len(medals[variant])}/{len(tasks)} tasks ({', '.join(sorted(medals[variant]))})")


if __name__ == "__main__":
    main()
