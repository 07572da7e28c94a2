"""The offline reasoner on every generated MLE-bench competition, one real run each.

    python benchmarks/mlebench_offline.py [--budget 3m] [--scale 1.0] [--traces 2]
                                          [--only ID ...] [--data DIR] [--out results.jsonl]

Prepares the competitions of tests/fixtures/mlebench/make_competitions.py (MLE-bench's
layout, synthetic rows) unless --data names a data dir that has them, then runs
`gome run --task mlebench:<id>` through the library (real store, real executor, the
offline reasoner) with the budget given, and prints per competition: its modality, status,
the selected solution's validation score, whether the final submission is valid, its score,
the medal against the fixture leaderboard, iterations and minutes.  Target (issue 23): a
valid submission on all 22 competitions of the lite split.  ``--weights-dir`` hands the
runs a folder of pretrained weights (see docs/offline.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gome_es.cli.run_cmds import parse_duration  # noqa: E402
from gome_es.core.events import ReasonerConfig, RunConfig  # noqa: E402
from gome_es.driver.driver import DriveOptions, drive, start_run  # noqa: E402
from gome_es.executor.weights import describe  # noqa: E402
from gome_es.store import EventStore  # noqa: E402
from gome_es.tasks import load_task  # noqa: E402


def _generator():
    path = ROOT / "tests" / "fixtures" / "mlebench" / "make_competitions.py"
    spec = importlib.util.spec_from_file_location("make_competitions", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def run_one(cid: str, data: Path, work: Path, budget_s: float, traces: int, max_iterations: int,
            weights_dir: Path | None = None) -> dict:
    task = load_task(f"mlebench:{cid}", mlebench_data=data)
    store = EventStore.open(work / f"{cid}.db")
    cfg = RunConfig(traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=0,
                    est_exec_s=min(30.0, max(1.0, budget_s / 20)))
    weights = describe(weights_dir) if weights_dir else None
    rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id=f"bench-{cid}", weights=weights)
    started = time.monotonic()
    state = drive(store, rid, task=task, options=DriveOptions(workspace_root=work / "w", slots=2))
    wall = time.monotonic() - started
    grade = state.grade or {}
    medal = next((m for m in ("gold", "silver", "bronze") if grade.get(f"{m}_medal")), None)
    iterations = sum(t.iteration for t in state.traces.values())
    row = {
        "competition": cid, "modality": getattr(task, "modality", None) or task.task_type,
        "task_type": task.task_type, "metric": task.metric, "status": state.status,
        "val_score": (state.selected or {}).get("val_score"), "valid": bool(grade.get("valid_submission")),
        "score": grade.get("score"), "medal": medal, "above_median": grade.get("above_median"),
        "iterations": iterations, "executions": len(state.executions), "wall_s": round(wall, 1),
        "grading_error": grade.get("error"),
    }
    store.close()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="3m", help="budget per competition (default 3m)")
    parser.add_argument("--scale", type=float, default=1.0, help="row multiplier of the generated data")
    parser.add_argument("--traces", type=int, default=2)
    parser.add_argument("--max-iterations", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=None, help="competition ids (default: all)")
    parser.add_argument("--data", type=Path, default=None, help="a data dir already holding them")
    parser.add_argument("--out", type=Path, default=None, help="also write one JSON line per run")
    parser.add_argument("--weights-dir", type=Path, default=None, help="a folder of pretrained weights for the runs")
    args = parser.parse_args(argv)
    gen = _generator()
    ids = args.only or list(getattr(gen, "LITE_SPLIT", gen.COMPETITIONS))
    work = Path(tempfile.mkdtemp(prefix="gome-mlebench-"))
    data = args.data or gen.make_competitions(work / "data", scale=args.scale, only=ids) and work / "data"
    rows = []
    for cid in ids:
        row = run_one(cid, Path(data), work, parse_duration(args.budget), args.traces, args.max_iterations,
                      args.weights_dir)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
    print(f"\n{'competition':<48} {'modality':<15} {'status':<16} {'val':>9} {'valid':>5} {'score':>9} "
          f"{'medal':>6} {'iters':>5} {'min':>5}")
    for r in rows:
        val = f"{r['val_score']:.4f}" if isinstance(r["val_score"], (int, float)) else "-"
        score = f"{r['score']:.4f}" if isinstance(r["score"], (int, float)) else "-"
        print(f"{r['competition']:<48} {str(r['modality']):<15} {r['status']:<16} {val:>9} {str(r['valid']):>5} "
              f"{score:>9} {r['medal'] or '-':>6} {r['iterations']:>5} {r['wall_s'] / 60:>5.1f}")
    valid = sum(r["valid"] for r in rows)
    print(f"\nvalid submissions: {valid}/{len(rows)} (budget {args.budget} each, scale {args.scale}, work dir {work})")
    return 0 if valid == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
