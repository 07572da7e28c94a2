"""Escape campaign: every probe in tests/executor/probes/ (real hostile
solutions: links as outputs, the answers by every path, the database and its
WAL, the cache, the bundled archives, /proc, cgroups, sysctls, limits, user
namespaces, killing or tracing the driver, outliving the run, forging the
audit channel, fork/memory/disk/file bombs, output floods) run through the
real sandbox, each in a fresh world holding a secret everywhere it must not
reach.  Prints one line per probe and the totals:

    tried    probes run
    stopped  nothing leaked, classified as its header expects, nothing left behind
    leaked   the secret (or a forged audit line) got through, or the driver died
    left     a process, cgroup or file outlived the run
    misclassified  stopped and clean, but not the class the probe expects

    .venv/bin/python benchmarks/escape_campaign.py [PROBE ...] [--json]

Exit status 0 when every probe was stopped, 1 otherwise.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.executor import isolation
from tests.executor.escape_probes import all_probes, make_world, run_probe


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    names = [a for a in argv if not a.startswith("--")]
    caps = isolation.probe()
    print(f"sandbox: namespaces={list(caps.namespaces)} uid={caps.uid} cgroups={caps.cgroups} "
          f"warnings={list(caps.warnings)}", file=sys.stderr)
    probes = [p for p in all_probes() if not names or p.name in names]
    rows = []
    started = time.monotonic()
    for probe in probes:
        root = Path(tempfile.mkdtemp(prefix=f"gome-escape-{probe.name}-"))
        t = time.monotonic()
        try:
            outcome = run_probe(probe, make_world(root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        status = ("stopped" if outcome.stopped else "leaked" if outcome.leaks
                  else "left" if outcome.leftovers else "misclassified")
        rows.append({"probe": probe.name, "status": status, "failure": outcome.failure, "expected": probe.expect,
                     "leaks": outcome.leaks, "leftovers": outcome.leftovers, "detail": outcome.detail,
                     "seconds": round(time.monotonic() - t, 2)})
        if not as_json:
            print(f"{status:14} {probe.name:28} {outcome.failure:18} {rows[-1]['seconds']:6.2f}s  "
                  f"{'; '.join(outcome.leaks + outcome.leftovers) or outcome.detail[:70]}", flush=True)
    totals = {k: sum(r["status"] == k for r in rows) for k in ("stopped", "leaked", "left", "misclassified")}
    totals["tried"] = len(rows)
    if as_json:
        print(json.dumps({"totals": totals, "probes": rows}, indent=2))
    else:
        print(f"tried {totals['tried']}  stopped {totals['stopped']}  leaked {totals['leaked']}  "
              f"left {totals['left']}  misclassified {totals['misclassified']}  "
              f"({time.monotonic() - started:.1f} s)")
    return 0 if totals["stopped"] == totals["tried"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
