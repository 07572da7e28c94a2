"""Diff time of two ~10k-event runs (issue 7 target: under 2 s on the 2-core machine).

Synthesises two runs with the driver's event shapes (tests/diff/synth.py):
8 traces x 110 iterations, a debug attempt every 7th iteration of t3, ~3 KB
of code, ~4 KB of prompt and ~1 KB of context per LLM call.  Run B is an
honest re-recording (other timestamps, durations, hosts, pids, and the
durations quoted in every prompt context, so all context and message blobs
differ by sha and must be opened to be judged equal) that also diverges on
trace t5 from iteration 60 (other hypothesis, code and scores).  Both are
written into real SQLite stores; the figures cover reading both runs from
their stores and diffing them.

    .venv/bin/python benchmarks/diff_bench.py [--traces 8] [--iterations 110] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.analysis.diff import diff_runs  # noqa: E402
from gome_es.api.sources import source_from_store  # noqa: E402
from gome_es.store import EventStore  # noqa: E402
from tests.diff.synth import synth_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=110)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    fail = {("t3", i) for i in range(0, args.iterations, 7)}
    t0 = time.perf_counter()
    a = synth_run(traces=args.traces, iterations=args.iterations, fail=fail)
    b = synth_run(traces=args.traces, iterations=args.iterations, fail=fail, jitter=1,
                  diverge=("t5", args.iterations * 6 // 11))
    synth_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        store_a = EventStore.open(Path(tmp) / "a.db")
        store_b = EventStore.open(Path(tmp) / "b.db")
        t0 = time.perf_counter()
        a.write(store_a, "run-a")
        b.write(store_b, "run-b")
        write_s = time.perf_counter() - t0
        blob_mb = sum(map(len, a.blobs.values())) / 1e6
        reads, diffs, totals = [], [], []
        report = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            src_a = source_from_store(store_a, "run-a")
            src_b = source_from_store(store_b, "run-b")
            t1 = time.perf_counter()
            report = diff_runs(src_a, src_b)
            t2 = time.perf_counter()
            reads.append(t1 - t0)
            diffs.append(t2 - t1)
            totals.append(t2 - t0)
        assert report is not None
        j = report.to_json()
        first = j["first_divergence"]
        figures = {
            "events_a": len(a.events), "events_b": len(b.events), "blob_mb_a": round(blob_mb, 1),
            "synthesise_s": round(synth_s, 2), "write_both_s": round(write_s, 2),
            "read_both_s_median": round(statistics.median(reads), 3),
            "diff_s_median": round(statistics.median(diffs), 3),
            "read_plus_diff_s_median": round(statistics.median(totals), 3),
            "read_plus_diff_s_min": round(min(totals), 3),
            "events_per_s": round((len(a.events) + len(b.events)) / statistics.median(totals)),
            "steps_compared": j["steps_compared"], "counts": j["counts"],
            "first_divergence": first and first["where"],
            "target_s": 2.0, "met": statistics.median(totals) < 2.0,
        }
        store_a.close()
        store_b.close()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
