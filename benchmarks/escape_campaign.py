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

Then the attacks on gome's own commands (tests/trust/own_attacks.py, own_attacks_more.py), in five
sections, the way a hostile or careless user of a shared machine would make them. gc: a project's
``gome.toml`` pointing `gome gc` at ``.`` or ``/``, unmarked or foreign folders in the workspace, a
folder swapped between gc's plan and its removal, a scratch or ``.gome`` folder made first by
``nobody`` (where the campaign runs as root), links and loose modes, the launcher handed a
hostile ``launch.json``, an attempt folder swapped before the launch, the sandbox's environment
naming host paths (sections "gc" and "shared folders"); an imported export whose model name, code,
hypotheses and logs carry OSC 0/52/8, DCS, APC, C1, bidi and CSI, through logs, code, diff, show,
runs --csv and events ("terminal escapes"); a 1 MB export inflating to 1 GB given to import and
diff, a 100,000-column submission, a gome.toml nested 100,000 deep, a FIFO as --config ("bombs");
a gome.toml sending the API key to another host, naming /etc as the workspace, pointing gc at /
("config").  It prints one line per attack and ``tried / stopped / failed`` per section (plus
``skipped``: what this host cannot stage).

    .venv/bin/python benchmarks/escape_campaign.py [PROBE ...] [--json] [--section sandbox|own]

Exit status 0 when every probe and attack was stopped, 1 otherwise.
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


def own_commands(names: list[str], as_json: bool) -> dict:
    """The sections of attacks on gome's own commands (gc, shared folders, terminal escapes, bombs,
    config): each attack in a fresh folder; tried / stopped / failed printed per section."""
    from tests.trust.own_attacks import Unsupported, sections

    out: dict = {"sections": {}, "totals": {}}
    for section, attacks in sections().items():
        rows = []
        for attack in [a for a in attacks if not names or a.name in names]:
            root = Path(tempfile.mkdtemp(prefix=f"gome-own-{attack.name}-"))
            t = time.monotonic()
            try:
                got = attack.run(root)
                status, detail = ("stopped", "") if got is None else ("failed", got)
            except Unsupported as exc:
                status, detail = "skipped", str(exc)
            except Exception as exc:  # noqa: BLE001 - an attack that crashes gome counts against it
                status, detail = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                shutil.rmtree(root, ignore_errors=True)
            rows.append({"attack": attack.name, "status": status, "detail": detail,
                         "seconds": round(time.monotonic() - t, 2)})
            if not as_json:
                print(f"{status:14} {attack.name:28} {rows[-1]['seconds']:6.2f}s  {detail[:90]}", flush=True)
        if not rows:
            continue
        totals = {k: sum(r["status"] == k for r in rows) for k in ("stopped", "failed", "skipped")}
        totals["tried"] = totals["stopped"] + totals["failed"]
        out["sections"][section] = {"totals": totals, "attacks": rows}
        if not as_json:
            print(f"own commands: {section}: tried {totals['tried']}  stopped {totals['stopped']}  "
                  f"failed {totals['failed']}  skipped {totals['skipped']}", flush=True)
    out["totals"] = {k: sum(s["totals"][k] for s in out["sections"].values())
                     for k in ("tried", "stopped", "failed", "skipped")}
    return out


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    section = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--section"), None)
    names = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--section")]
    own = None
    if section in (None, "own"):
        if not as_json:
            print("== own commands: gc, shared folders, terminal escapes, bombs, config ==")
        own = own_commands(names, as_json)
        if section == "own":
            if as_json:
                print(json.dumps({"own_commands": own}, indent=2))
            return 0 if own["totals"]["failed"] == 0 else 1
    if not as_json:
        print("== sandbox probes ==")
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
        print(json.dumps({"totals": totals, "probes": rows, **({"own_commands": own} if own else {})}, indent=2))
    else:
        print(f"tried {totals['tried']}  stopped {totals['stopped']}  leaked {totals['leaked']}  "
              f"left {totals['left']}  misclassified {totals['misclassified']}  "
              f"({time.monotonic() - started:.1f} s)")
    own_ok = own is None or own["totals"]["failed"] == 0
    return 0 if totals["stopped"] == totals["tried"] and own_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
