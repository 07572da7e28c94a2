"""How long a task's fingerprint takes, hashed in full and read back through the stat cache.

    python benchmarks/fingerprint_bench.py [--files 2000] [--kb 400] [--dir DIR]

Writes ``--files`` random files of ``--kb`` KB each (a stand-in for an image competition's
train folder) unless ``--dir`` names a real public folder, then times: every file hashed
(1 worker, then the default pool), the first cached call (hashes and writes the cache) and a
second cached call (stat only).  The digest must be the same in all four.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gome_es.tasks.fingerprint import fingerprint  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--kb", type=int, default=400)
    parser.add_argument("--dir", type=Path, default=None, help="a real public folder to fingerprint")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        public = args.dir
        if public is None:
            public = Path(tmp) / "public"
            public.mkdir()
            for i in range(args.files):
                (public / f"{i:06d}.jpg").write_bytes(os.urandom(args.kb * 1024))
        size = sum(p.stat().st_size for p in public.rglob("*") if p.is_file())
        cache = Path(tmp) / "cache"
        rows = []
        for label, kwargs in [("full, 1 worker", {"cache": False, "workers": 1}), ("full, pool", {"cache": False}),
                              ("cached, first call", {"cache": cache}), ("cached, second call", {"cache": cache})]:
            started = time.perf_counter()
            digest = fingerprint(public, **kwargs)
            rows.append((label, time.perf_counter() - started, digest))
        print(f"{public}: {size / 2**20:,.0f} MB")
        for label, seconds, digest in rows:
            print(f"  {label:<20} {seconds:8.2f} s   {size / 2**20 / seconds:10,.0f} MB/s   {digest[:12]}")
        print(f"  second cached call is {rows[0][1] / rows[3][1]:.1f}x faster than hashing in full")
        return 0 if len({d for _, _, d in rows}) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
