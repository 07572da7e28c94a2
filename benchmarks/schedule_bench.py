"""Asynchronous vs lock-step scheduling: slot utilisation and iterations per trace (issue 13).

    python benchmarks/schedule_bench.py [--budget 60s] [--fast 0.5] [--slow 5] [--slots 2]
                                        [--real digits-8x8] [--real-budget 4m] [--skip-real] [--json OUT]

Two traces whose experiments differ tenfold in duration run under each
schedule with the same budget.  Two set-ups:

* sleeping: a test executor that sleeps (tests/support/sleeper.py), trace t1
  ``--fast`` seconds per experiment, t2 ``--slow`` seconds; everything else
  is real (store, offline reasoner, policy).  On a shared machine this gives
  the clean ratios.
* real: a bundled task with the real executor, each trace pinned to a model
  family (``--real-families``, default torch_cnn,logreg on digits-8x8): the
  offline reasoner's directions answer is reordered so t1 starts from the
  first family and t2 from the second (what an LLM told "start one trace on
  a CNN" would answer; later iterations may move on, as they would).

Printed per schedule: slot utilisation = busy slot-seconds / slot-seconds
available while work was waiting (at each instant min(slots, traces not yet
finished) slots could have been busy), experiments completed per trace (a
cut one not counted), best validation score per trace, and whether the run
replays with zero divergence.  Not a timed test: wall-clock figures on a
shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.cli.run_cmds import parse_duration  # noqa: E402
from gome_es.core.events import ReasonerConfig, RunConfig  # noqa: E402
from gome_es.driver.driver import DriveOptions, drive, start_run  # noqa: E402
from gome_es.driver.replay_jobs import replay_run  # noqa: E402
from gome_es.llm.offline import OfflineReasoner  # noqa: E402
from gome_es.store import EventStore  # noqa: E402
from gome_es.tasks import load_task  # noqa: E402
from tests.support.sleeper import SleepingExecutor  # noqa: E402


class PinnedDirections(OfflineReasoner):
    """The offline reasoner, with its directions reordered so trace i starts from ``families[i]``."""

    def __init__(self, families: list[str]) -> None:
        super().__init__()
        self.families = families

    def complete(self, request: Any) -> Any:
        if request.purpose != "directions":
            return super().complete(request)
        n = int(request.context["n"])
        # ask for a direction per family, then answer the n asked for, pinned families first
        wide = request.model_copy(update={"context": {**request.context, "n": 32}})
        resp = super().complete(wide)
        body = json.loads(resp.content)
        dirs = body["directions"]
        first = {}  # family -> its first (round-one) direction
        for d in dirs:
            first.setdefault((d.get("change") or {}).get("family"), d)
        missing = [f for f in self.families if f not in first]
        if missing:
            raise SystemExit(f"the offline reasoner proposes no {missing} direction for this task")
        pinned = [first[f] for f in self.families]
        body["directions"] = (pinned + [d for d in dirs if all(d is not q for q in pinned)])[:n]
        return resp.model_copy(update={"content": json.dumps(body)})


def measure(store: EventStore, run_id: str, slots: int) -> dict[str, Any]:
    """Utilisation, experiments and best score per trace, from the log alone."""
    evs = list(store.read(run_id))
    changes: list[tuple[float, int, int]] = []  # (ts, d_busy, d_active)
    start_of: dict[str, float] = {}
    done: dict[str, int] = {}
    cut: dict[str, int] = {}
    took: dict[str, list[float]] = {}
    for e in evs:
        if e.type == "TraceStarted":
            changes.append((e.ts, 0, +1))
            done.setdefault(e.trace_id, 0)
            cut.setdefault(e.trace_id, 0)
        elif e.type == "TraceFinished":
            changes.append((e.ts, 0, -1))
        elif e.type == "ExecutionRequested":
            start_of[e.payload["key"]] = e.ts  # replaced by its ExecutionStarted when there is one
        elif e.type == "ExecutionStarted":
            start_of[e.payload["key"]] = e.ts
        elif e.type == "ExecutionFinished":
            p = e.payload
            if p["failure_detail"].startswith("not started"):
                cut[e.trace_id] += 1
                continue
            changes.append((start_of[p["key"]], +1, 0))
            changes.append((e.ts, -1, 0))
            if p["failure"] == "budget_cut":
                cut[e.trace_id] += 1
            else:
                done[e.trace_id] += 1
                took.setdefault(e.trace_id, []).append(float(p.get("duration_s") or 0.0))
    changes.sort()
    busy = active = 0
    busy_s = avail_s = 0.0
    last = changes[0][0] if changes else 0.0
    for ts, db, da in changes:
        cap = min(slots, active)
        avail_s += cap * (ts - last)
        busy_s += min(busy, cap) * (ts - last)
        busy, active, last = busy + db, active + da, ts
    from gome_es.core.state import fold

    state = fold(iter(evs), run_id)
    best = {t.trace_id: t.sota_score for t in state.traces_in_order()}
    rep = replay_run(store, run_id)
    span = (evs[-1].ts - evs[0].ts) if evs else 0.0
    return {"utilisation": busy_s / avail_s if avail_s else 0.0, "busy_slot_s": round(busy_s, 1),
            "available_slot_s": round(avail_s, 1), "experiments": done, "cut": cut, "best": best,
            "mean_experiment_s": {t: round(sum(v) / len(v), 1) for t, v in took.items()},
            "replays": rep.ok, "events": len(evs), "wall_s": round(span, 1), "status": state.status}


def one(root: Path, name: str, schedule: str, task_id: str, budget_s: float, slots: int, executor_for: Any,
        reasoner: Any, est_exec_s: float, exec_timeout_s: float) -> dict[str, Any]:
    store = EventStore.open(root / f"{name}-{task_id}.db")
    task = load_task(task_id)
    cfg = RunConfig(traces=2, max_iterations=10_000, budget_s=budget_s, seed=0, est_exec_s=est_exec_s,
                    exec_timeout_s=exec_timeout_s, schedule=schedule)  # type: ignore[arg-type]
    rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id=schedule)
    drive(store, rid, task=task, reasoner=reasoner, executor=executor_for(task),
          options=DriveOptions(workspace_root=root / "work" / name, slots=slots, grade=False))
    return measure(store, rid, slots)


def show(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'schedule':<9} {'utilisation':>11} {'busy/avail slot-s':>18}  experiments per trace"
          "             best val per trace           replay")
    for sched, r in rows.items():
        exps = ", ".join(f"{t} {n}" + (f" (+{r['cut'][t]} cut)" if r["cut"].get(t) else "")
                         for t, n in r["experiments"].items())
        best = ", ".join(f"{t} {'-' if v is None else f'{v:.5f}'}" for t, v in r["best"].items())
        print(f"  {sched:<9} {r['utilisation']:>10.1%} {r['busy_slot_s']:>8}/{r['available_slot_s']:<9}  "
              f"{exps:<33} {best:<28} {'zero divergence' if r['replays'] else 'DIVERGED'}")
    for sched, r in rows.items():
        print(f"  {sched:<9} mean experiment: "
              + ", ".join(f"{t} {v}s" for t, v in sorted(r["mean_experiment_s"].items())))
    if {"async", "lockstep"} <= set(rows):
        a, b = rows["async"]["experiments"], rows["lockstep"]["experiments"]
        ratios = ", ".join(f"{t} x{a[t] / b[t]:.1f}" for t in a if b.get(t))
        print(f"  async / lockstep experiments: {ratios}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", default="60s", help="budget of each sleeping run")
    ap.add_argument("--fast", type=float, default=0.5, help="seconds per experiment of trace t1 (sleeping)")
    ap.add_argument("--slow", type=float, default=5.0, help="seconds per experiment of trace t2 (sleeping)")
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--sleep-task", default="breast-cancer-diagnosis", help="task whose submissions the sleeper writes")
    ap.add_argument("--real", default="digits-8x8", help="bundled task of the real run")
    ap.add_argument("--real-families", default="torch_cnn,logreg", help="the families t1 and t2 start from")
    ap.add_argument("--real-budget", default="4m")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-sleeping", action="store_true")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gome-schedule-"))
    out: dict[str, Any] = {}
    budget_s = parse_duration(args.budget)
    durations = {"t1": args.fast, "t2": args.slow}
    sleeping = {}
    for sched in () if args.skip_sleeping else ("async", "lockstep"):
        t = time.time()
        sleeping[sched] = one(root, "sleep-" + sched, sched, args.sleep_task, budget_s, args.slots,
                              lambda task: SleepingExecutor(task, durations), None,
                              est_exec_s=min(args.fast, 1.0), exec_timeout_s=max(60.0, 4 * args.slow))
        print(f"sleeping {sched}: {time.time() - t:.0f}s", file=sys.stderr)
    if sleeping:
        show(f"sleeping executor: t1 {args.fast}s, t2 {args.slow}s per experiment, budget {budget_s:.0f}s, "
             f"{args.slots} slots", sleeping)
        out["sleeping"] = sleeping
    if not args.skip_real:
        fams = args.real_families.split(",")
        real = {}
        rb = parse_duration(args.real_budget)
        for sched in ("async", "lockstep"):
            t = time.time()
            from gome_es.executor.factory import make_executor

            real[sched] = one(root, "real-" + sched, sched, args.real, rb, args.slots, lambda task: make_executor(),
                              PinnedDirections(fams), est_exec_s=min(30.0, rb / 20), exec_timeout_s=min(300.0, rb / 2))
            print(f"real {sched}: {time.time() - t:.0f}s", file=sys.stderr)
        show(f"real executor: {args.real}, t1 from {fams[0]}, t2 from {fams[1]}, budget {rb:.0f}s, "
             f"{args.slots} slots", real)
        out["real"] = real
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
