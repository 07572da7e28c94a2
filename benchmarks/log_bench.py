"""Fold, replay and fork speed on synthetic runs at 12-hour scale.

    python benchmarks/log_bench.py [--events 100000] [--jobs N] [--fold-1m]

A synthetic run is the real policy driven by random (seeded) outcomes with
realistic blob sizes (4 KB code, 2 KB logs); it is stored in a real SQLite
file with a snapshot saved every 1000 events, as the driver does (and thinned
the same way), then folded, replayed (every decision re-derived) on one
process and on --jobs processes (default: one per core), and forked.
Targets on the 2-core machine: fold >= 100k events/s, replay >= 50k events/s.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.core.state import STATE_SCHEMA, RunState, apply, fold  # noqa: E402
from gome_es.driver.replay_jobs import (  # noqa: E402
    auto_jobs,
    replay_run,  # noqa: E402
    replay_store,
)
from gome_es.driver.resume import fork_run  # noqa: E402
from gome_es.driver.snapshots import save_state  # noqa: E402
from gome_es.store import EventStore, NewEvent  # noqa: E402
from tests.support.synthetic import synthesize  # noqa: E402


def best_of(n: int, fn):
    best = float("inf")
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=None, help="processes for the parallel replay (default: one per core)")
    ap.add_argument("--fold-1m", action="store_true", help="also fold 1M events (a 100k run folded 10x over)")
    args = ap.parse_args()

    traces = 8
    iters = max(2, args.events // (traces * 9))  # ~11 events an iteration: the cap binds
    t0 = time.perf_counter()
    # ~0.4 s between events: 100k events span about 12 hours of recorded time
    run = synthesize(11, traces=traces, max_iterations=iters, max_events=args.events, code_size=4000,
                     log_size=2000, stop_rate=0.001, step_s=0.8, budget_s=10 * 24 * 3600.0)
    synth_s = time.perf_counter() - t0
    n = len(run.events)
    blob_bytes = sum(len(b) for b in run.blobs.values())
    print(f"synthetic run: {n:,} events, {len(run.blobs):,} blobs ({blob_bytes / 1e6:.1f} MB), "
          f"generated in {synth_s:.1f}s")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = EventStore.open(db)
        t = time.perf_counter()
        seq = 0
        live = RunState(run_id="bench")
        for i in range(0, n, 1000):
            chunk = run.events[i:i + 1000]
            shas = {k: v for e in chunk for k, v in _blobs_of(e, run.blobs)}
            stored = store.append("bench", [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version)
                                            for e in chunk], seq, blobs=shas)
            seq += len(chunk)
            for e in stored:
                apply(live, e)
            save_state(store, live)  # as the driver does every 1000 events
        snaps = store.snapshot_seqs("bench", STATE_SCHEMA)
        print(f"stored in {time.perf_counter() - t:.1f}s; database {db.stat().st_size / n:.0f} bytes/event "
              f"({len(snaps)} snapshots kept)")

        events = list(store.read("bench"))
        fold_mem, state = best_of(3, lambda: fold(events, "bench"))
        print(f"fold (rows in memory):   {n / fold_mem:>10,.0f} events/s  ({fold_mem:.2f}s)   target >= 100,000")
        fold_db, _ = best_of(2, lambda: fold(store.read("bench"), "bench"))
        print(f"fold (streamed from db): {n / fold_db:>10,.0f} events/s  ({fold_db:.2f}s)")
        # replay as `gome replay` does: in a process that holds no run in memory
        del state, live
        events = None  # free it (a closure above reads events, so it cannot be deleted)
        run = None
        gc.collect()
        rep_s, rep = best_of(2, lambda: replay_run(store, "bench"))
        assert rep.ok, rep.to_json()
        print(f"replay, 1 process:       {n / rep_s:>10,.0f} events/s  ({rep_s:.2f}s, {rep.decisions:,} decisions "
              f"re-derived)")
        jobs = args.jobs or auto_jobs(n)
        par_s, par = best_of(2, lambda: replay_store(store, "bench", jobs=jobs))
        assert par.ok and par.decisions == rep.decisions, par.to_json()
        print(f"replay, {jobs} processes:     {n / par_s:>10,.0f} events/s  ({par_s:.2f}s, from snapshots; "
              f"x{rep_s / par_s:.2f})   target >= 50,000")
        store.drop_snapshots("bench", STATE_SCHEMA, snaps)
        bare_s, bare = best_of(2, lambda: replay_store(store, "bench", jobs=jobs))
        assert bare.ok and bare.decisions == rep.decisions, bare.to_json()
        print(f"replay, {jobs} processes:     {n / bare_s:>10,.0f} events/s  ({bare_s:.2f}s, no snapshots: "
              f"each folds its prefix)")
        fork_s, _ = best_of(1, lambda: fork_run(store, "bench", n // 2, "bench-fork"))
        print(f"fork at seq {n // 2:,}:      {fork_s:.2f}s")
        if args.fold_1m:
            t = time.perf_counter()
            big = synthesize(12, traces=16, max_iterations=10_000, max_events=1_000_000, code_size=64,
                             log_size=16, step_s=0.05, budget_s=10 * 24 * 3600.0)
            print(f"1M-event run generated in {time.perf_counter() - t:.0f}s")
            s, _ = best_of(2, lambda: fold(big.events, "big"))
            print(f"fold 1M events (in memory): {len(big.events) / s:,.0f} events/s ({s:.2f}s)")


def _blobs_of(ev, blobs):
    for k, v in ev.payload.items():
        if k.endswith("_sha") and isinstance(v, str) and v in blobs:
            yield v, blobs[v]


if __name__ == "__main__":
    main()
