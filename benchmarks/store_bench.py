"""Event store speed and size on this machine (a measurement, not a test).

    .venv/bin/python benchmarks/store_bench.py [--single 2000] [--batched 100000] [--db-dir DIR]

Prints durable single-event appends/s (one fsync'd transaction each),
batched appends/s (100 events per transaction), streaming read speed and
database bytes per event.  Payloads look like real agent events (ids, a
score, a blob reference).  Target: single appends >= 1k/s.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.store import EventStore, NewEvent  # noqa: E402

CODE = b"import pandas as pd\n" * 40
CODE_SHA = EventStore.blob_hash(CODE)


def payload(i: int) -> dict:
    return {"iteration": i, "parent_id": f"node-{i - 1}", "score": 0.5 + i * 1e-6,
            "hypothesis": "add target encoding of the cabin deck", "code_sha": CODE_SHA}


def raw_commit_floor(folder: str, n: int = 500) -> float:
    """Plain sqlite3 single-row WAL+FULL commits/s in the same folder: the disk's floor."""
    path = Path(folder) / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (a, b)")
    t0 = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (i, "x" * 200))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batched", type=int, default=100_000)
    parser.add_argument("--db-dir", default=None, help="folder for the scratch databases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        path = Path(tmp) / "bench.db"
        floor = raw_commit_floor(tmp)
        store = EventStore.open(path)
        store.put_blob(CODE)

        t0 = time.perf_counter()
        for i in range(args.single):
            store.append("single", [NewEvent("Step", payload(i), trace_id="t0")], i)
        single = args.single / (time.perf_counter() - t0)

        t0, seq = time.perf_counter(), 0
        while seq < args.batched:
            batch = [NewEvent("Step", payload(seq + j), trace_id=f"t{j % 4}") for j in range(100)]
            seq = store.append("batched", batch, seq)[-1].seq
        batched = seq / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        count = sum(1 for _ in store.read("batched"))
        read = count / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = store.verify("batched")
        verify = report.checked / (time.perf_counter() - t0)

        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db_bytes(path)
        total = args.single + seq
        store.close()

    print(f"machine: {os.cpu_count()} cpus, python {sys.version.split()[0]}")
    print(f"raw sqlite3 commit floor     : {floor:10,.0f} commits/s (same disk, no gome)")
    print(f"durable single-event appends : {single:10,.0f} events/s  (target >= 1,000)")
    print(f"batched appends (100/txn)    : {batched:10,.0f} events/s")
    print(f"streaming read               : {read:10,.0f} events/s")
    print(f"verify (hash chain)          : {verify:10,.0f} events/s")
    print(f"database size                : {size / total:10,.0f} bytes/event ({total:,} events)")


if __name__ == "__main__":
    main()
