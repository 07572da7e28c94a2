"""Compare strategies and ablations with the offline reasoner on the bundled tasks: a `gome sweep`.

    python benchmarks/agent_compare.py [--budget 3m] [--seeds 0 1 2] [--tasks local]
                                       [--variants gome,tree,no-structured-reasoning,no-memory,one-trace]
                                       [--max-iterations 50] [--concurrency 2] [--db sweep.db] [--out report.json]

A thin wrapper over the sweep library (gome_es.sweep), kept so old commands
still work: every (task, variant, seed) is a real run (real store, real
executor, the offline reasoner, the same budget), the sweep is resumable with
`gome sweep resume SWEEP --db DB`, and the table printed is `gome sweep report`'s
(mean and standard error over seeds of the valid, above-median and medal rates;
per-task scores; gome minus each ablation and tree).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.cli.run_cmds import parse_duration  # noqa: E402
from gome_es.store import EventStore  # noqa: E402
from gome_es.sweep import drive_sweep, plan_sweep, resolve_tasks  # noqa: E402
from gome_es.sweep.plan import parse_seeds, parse_variants  # noqa: E402
from gome_es.sweep.report import build_report, render_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", default="10m")
    ap.add_argument("--seeds", nargs="+", default=["0", "1", "2"], help="the seeds, as before: --seeds 0 1 2")
    ap.add_argument("--tasks", nargs="+", default=["local"])
    ap.add_argument("--variants", nargs="+", default=["gome,tree,no-structured-reasoning,no-memory,one-trace"])
    ap.add_argument("--max-iterations", type=int, default=50, help="per trace; the budget usually binds first")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--db", type=Path, default=None, help="the sweep's database (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = ap.parse_args()
    seeds = parse_seeds(",".join(args.seeds) + ",")  # always a list of seeds, as the old script took
    db = args.db or Path(tempfile.mkdtemp(prefix="gome-compare-")) / "sweep.db"
    with EventStore.open(db) as store:
        sid = plan_sweep(store, tasks=resolve_tasks(",".join(args.tasks)),
                         variants=parse_variants(",".join(args.variants)), seeds=seeds,
                         budget_s=parse_duration(args.budget), max_iterations=args.max_iterations,
                         concurrency=args.concurrency)
        print(f"sweep {sid} in {db} (continue it with `gome sweep resume {sid} --db {db}`)", file=sys.stderr)
        drive_sweep(store, sid, progress=lambda line: print(line, file=sys.stderr, flush=True))
        report = build_report(store, sid)
    print(render_text(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
