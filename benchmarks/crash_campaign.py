"""The full fault-injection campaign of issues 6 and 13: kill -9 after every event k, resume, check.

    python benchmarks/crash_campaign.py [--schedule async|lockstep] [--every N] [--mid-effect] [--keep DIR]

One uninterrupted two-trace run with the offline reasoner is the reference.
Then, for every k (or every N-th), a fresh run is SIGKILLed right after seq k
is committed and `gome resume` takes it to the end.

* ``--schedule lockstep`` (one slot): each must pass `gome verify`, have
  exactly one outcome per idempotency key, perform the same LLM calls and
  executions as the reference plus at most the one in flight, and take the
  same decisions.
* ``--schedule async`` (two slots; the default): outcomes land in the order
  they finish, so a resumed run may decide differently from the reference.
  Each must verify, end finished and graded, have one outcome per key,
  replay with zero divergence (`gome replay`), and perform no effect twice
  except those in flight at the kill (its RunResumed's redo_keys).  A crash
  point past the end of that particular run (async runs differ in length) is
  counted as not reached.

`--mid-effect` also kills inside each side effect in turn.  Prints how many
crash points were tried and how many held.  The default test run samples a
few of these (tests/core/test_resume.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.store import EventStore  # noqa: E402
from tests.support.runs import (  # noqa: E402
    ASYNC_RUN_ARGS,
    RUN_ARGS,
    check_async_crash_invariants,
    check_crash_invariants,
    crash_then_resume,
    decisions,
    effects,
    gome,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=1, help="try every N-th crash point")
    ap.add_argument("--mid-effect", action="store_true", help="also kill inside each side effect")
    ap.add_argument("--keep", type=Path, help="keep the databases here")
    ap.add_argument("--schedule", choices=["async", "lockstep"], default="async",
                    help="the schedule of the runs (and so the acceptance rule)")
    args = ap.parse_args()
    run_args = ASYNC_RUN_ARGS if args.schedule == "async" else RUN_ARGS
    root = args.keep or Path(tempfile.mkdtemp(prefix="gome-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    base_dir = root / "baseline"
    base_dir.mkdir(exist_ok=True)
    db, fx = base_dir / "g.db", base_dir / "effects.log"
    t = time.time()
    gome(["run", *run_args, "--run-id", "base", "--workspace", str(base_dir / "work")], db=db,
         env={"GOME_EFFECT_LOG": str(fx)}, check=True)
    n = EventStore.open(db, readonly=True).last_seq("base")
    baseline = {"db": db, "run_id": "base", "decisions": decisions(db, "base"), "effects": effects(fx)}
    n_effects = sum(baseline["effects"].values())
    print(f"{args.schedule} reference run: {n} events, {n_effects} side effects, {time.time() - t:.0f}s")
    points = [("after-seq", k) for k in range(1, n, args.every)]
    if args.mid_effect:
        points += [("mid-effect", i) for i in range(1, n_effects + 1, args.every)]
    held, failed, unreached = 0, [], 0
    for kind, k in points:
        case = root / f"{kind}-{k}"
        case.mkdir(exist_ok=True)
        env = {"GOME_CRASH_AFTER_SEQ": str(k)} if kind == "after-seq" else {"GOME_CRASH_DURING_EFFECT": str(k)}
        t = time.time()
        try:
            cdb, cfx = crash_then_resume(case, env, baseline, args=run_args)
            if args.schedule == "async":
                check_async_crash_invariants(cdb, "r", cfx)
            else:
                check_crash_invariants(cdb, "r", baseline, cfx)
            held += 1
            status = "held"
        except AssertionError as exc:
            if args.schedule == "async" and str(exc).startswith("(0,"):  # this run ended before the point
                unreached += 1
                print(f"  {kind} {k:>4}: not reached (the run ended first)", flush=True)
                continue
            failed.append((kind, k, str(exc).splitlines()[0][:200]))
            status = "FAILED: " + str(exc).splitlines()[0][:160]
        print(f"  {kind} {k:>4}: {status} ({time.time() - t:.0f}s)", flush=True)
    print(f"{args.schedule}: crash points tried: {len(points)}, held: {held}, failed: {len(failed)}, "
          f"not reached: {unreached}")
    for kind, k, why in failed:
        print(f"  {kind} {k}: {why}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
