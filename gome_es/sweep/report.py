"""A sweep's results, aggregated the way MLE-bench and the paper do, as JSON, text or one HTML file.

Per variant and seed, a rate is the share of the sweep's tasks on which the run
reached it (valid submission, above median, any medal, gold, silver, bronze);
the table gives the mean over seeds and its standard error (sample standard
deviation / sqrt(seeds)).  A cell that failed counts as a run with no valid
submission, as MLE-bench counts a missing one; cells not run yet are left out
and the report says the sweep is incomplete.  ``gome - X`` is paired by seed:
the mean and standard error of the per-seed differences.  The HTML is
self-contained (inline CSS and SVG, no script, no network) and escapes all text; given the store,
it also carries `gome compare`'s plots over the cells' recorded runs (best validation score over
the budget per task and variant, validation against test per run).
"""

from __future__ import annotations

import html
import json
import math
import statistics
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..driver.snapshots import load_state
from ..report import write_report
from ..report.compare import collect, curve_plot, val_test_plot, variant_colors
from ..store import EventStore
from ..trust.folders import ensure_folder
from .driver import load_sweep
from .plan import SweepError

METRICS = ("valid_submission", "above_median", "any_medal", "gold_medal", "silver_medal", "bronze_medal")
HEADLINE = ("valid_submission", "above_median", "any_medal")
SHORT = {"valid_submission": "valid", "above_median": ">median", "any_medal": "medal", "gold_medal": "gold",
         "silver_medal": "silver", "bronze_medal": "bronze"}


def mean_se(values: list[float]) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"mean": None, "se": None, "n": 0, "values": []}
    mean = sum(values) / n
    se = statistics.stdev(values) / math.sqrt(n) if n >= 2 else None
    why = None
    if n < 2:
        why = "one seed only: no spread to measure"
    elif se == 0:
        why = "every seed gave the same value"
    return {"mean": mean, "se": se, "n": n, "values": values, "zero_se_why": why}


def _outcome(c: Any) -> dict[str, Any] | None:
    """A cell's grade figures; a failed cell is a run with no valid submission; None while not run."""
    if c.status == "finished":
        return c.grade or {}
    if c.status == "failed":
        return {"valid_submission": False, "failed": True}
    return None


def build_report(store: EventStore, sweep_id: str) -> dict[str, Any]:
    state = load_sweep(store, sweep_id)
    spec = state.spec
    variants, tasks, seeds = list(spec["variants"]), list(spec["tasks"]), list(spec["seeds"])
    outcomes: dict[tuple[str, str, int], dict[str, Any]] = {}
    pending = 0
    for c in state.cells.values():
        o = _outcome(c)
        if o is None:
            pending += 1
        else:
            outcomes[(c.cell.task, c.cell.variant, c.cell.seed)] = o

    def rate(variant: str, seed: int, metric: str) -> float | None:
        got = [outcomes[(t, variant, seed)] for t in tasks if (t, variant, seed) in outcomes]
        if not got:
            return None
        return sum(bool(o.get(metric)) for o in got) / len(got)

    per_variant: dict[str, Any] = {}
    for v in variants:
        row: dict[str, Any] = {}
        for m in METRICS:
            vals = [r for s in seeds if (r := rate(v, s, m)) is not None]
            row[m] = mean_se(vals)
        row["runs"] = sum(1 for (t, vv, s) in outcomes if vv == v)
        row["failed"] = sum(1 for (t, vv, s), o in outcomes.items() if vv == v and o.get("failed"))
        per_variant[v] = row

    per_task: dict[str, Any] = {}
    for t in tasks:
        per_task[t] = {}
        for v in variants:
            got = [(s, outcomes[(t, v, s)]) for s in seeds if (t, v, s) in outcomes]
            scores = [o.get("score") for _, o in got]
            numeric = [float(x) for x in scores if isinstance(x, (int, float))]
            per_task[t][v] = {
                "runs": len(got), "scores": scores,
                "by_seed": {str(s): ("x" if o.get("failed") else o.get("score") if o.get("score") is not None
                                     else "invalid") for s, o in got},
                "score": mean_se(numeric),
                "medals": sum(bool(o.get("any_medal")) for _, o in got),
                "gold": sum(bool(o.get("gold_medal")) for _, o in got),
                "silver": sum(bool(o.get("silver_medal")) for _, o in got),
                "bronze": sum(bool(o.get("bronze_medal")) for _, o in got),
                "above_median": sum(bool(o.get("above_median")) for _, o in got),
                "valid": sum(bool(o.get("valid_submission")) for _, o in got),
                "failed": sum(bool(o.get("failed")) for _, o in got),
                "is_lower_better": next((o.get("is_lower_better") for _, o in got
                                         if o.get("is_lower_better") is not None), None),
            }

    diffs: dict[str, Any] = {}
    if "gome" in variants:
        for v in variants:
            if v == "gome":
                continue
            diffs[v] = {}
            for m in METRICS:
                pairs = [(a, b) for s in seeds
                         if (a := rate("gome", s, m)) is not None and (b := rate(v, s, m)) is not None]
                diffs[v][m] = mean_se([a - b for a, b in pairs])
    counts = state.counts()
    cells = [{**c.cell.to_json(), "status": c.status, "recorded": store.run_exists(c.cell.run_id)}
             for c in state.cells.values()]
    return {"sweep_id": sweep_id, "spec": spec, "counts": counts, "complete": pending == 0 and counts["running"] == 0,
            "pending": pending, "variants": variants, "tasks": tasks, "seeds": seeds,
            "per_variant": per_variant, "per_task": per_task, "gome_minus": diffs, "cells": cells}


def counts_text(counts: dict[str, Any]) -> str:
    """A sweep's cell counts in words: ``2 finished, 1 failed, 3 planned``."""
    return ", ".join(f"{n} {k}" for k, n in counts.items() if isinstance(n, int) and n) or "no cells"


def cell_report_name(run_id: str) -> str:
    """Where a cell's own report goes, beside the sweep report (``<sweep>_runs/<run id>.html``)."""
    return f"{run_id}.html"


# ---------------------------------------------------------------- text


def _pct(ms: dict[str, Any]) -> str:
    if ms.get("mean") is None:
        return "-"
    se = ms.get("se")
    return f"{ms['mean'] * 100:5.1f}" + (f"±{se * 100:4.1f}" if se is not None else "")


def _pp(ms: dict[str, Any]) -> str:
    if ms.get("mean") is None:
        return "-"
    se = ms.get("se")
    mean = round(ms["mean"] * 100, 6) + 0.0  # no "-0.0" from float noise
    return f"{mean:+6.1f}" + (f"±{se * 100:4.1f}" if se is not None else "")


def render_text(r: dict[str, Any]) -> str:
    spec = r["spec"]
    out = [f"sweep {r['sweep_id']}: {len(r['tasks'])} tasks x {len(r['variants'])} variants x "
           f"{len(r['seeds'])} seeds, budget {spec['budget_s']:.0f}s, reasoner {spec['reasoner']}"
           + ("" if r["complete"] else f"  (INCOMPLETE: {r['pending']} cells not run yet)"),
           "", "rates in % over tasks, mean ± standard error over seeds:",
           f"{'variant':<25}" + "".join(f"{SHORT[m]:>13}" for m in METRICS) + f"{'runs':>6}{'failed':>7}"]
    for v, row in r["per_variant"].items():
        out.append(f"{v:<25}" + "".join(f"{_pct(row[m]):>13}" for m in METRICS) + f"{row['runs']:>6}{row['failed']:>7}")
    if r["gome_minus"]:
        out += ["", "gome minus (percentage points, paired by seed):",
                f"{'variant':<25}" + "".join(f"{SHORT[m]:>13}" for m in HEADLINE)]
        for v, d in r["gome_minus"].items():
            out.append(f"{v:<25}" + "".join(f"{_pp(d[m]):>13}" for m in HEADLINE))
    out += ["", "per task: test score mean ± SE over seeds [medals/runs]:"]
    out.append(f"{'task':<26}" + "".join(f"{v[:25]:>26}" for v in r["variants"]))
    for t, row in r["per_task"].items():
        cells = []
        for v in r["variants"]:
            x = row[v]
            sc = x["score"]
            txt = "-" if sc["mean"] is None else (
                f"{sc['mean']:.4g}" + (f"±{sc['se']:.2g}" if sc["se"] is not None else ""))
            cells.append(f"{txt} [{x['medals']}/{x['runs']}]")
        out.append(f"{t[:25]:<26}" + "".join(f"{c:>26}" for c in cells))
    out += ["", f"per task, test score by seed ({', '.join(map(str, r['seeds']))}; '-' not run, 'x' failed):"]
    out.append(f"{'task':<26}" + "".join(f"{v[:25]:>26}" for v in r["variants"]))
    for t, row in r["per_task"].items():
        out.append(f"{t[:25]:<26}" + "".join(f"{' / '.join(_seed_scores(row[v], r['seeds'])):>26}"
                                             for v in r["variants"]))
    notes = zero_se_notes(r)
    if notes:
        out += ["", "error bars: " + "; ".join(notes)]
    return "\n".join(out)


def _seed_scores(x: dict[str, Any], seeds: list[int]) -> list[str]:
    out = []
    for s in seeds:
        v = x["by_seed"].get(str(s), "-")
        out.append(v if isinstance(v, str) else f"{v:.4g}")
    return out


def zero_se_notes(r: dict[str, Any]) -> list[str]:
    """Why an error bar is zero or missing, grouped by reason (the table must say it, not hide it)."""
    by: dict[str, list[str]] = {}
    total = len(r["per_variant"]) * len(METRICS)
    for v, row in r["per_variant"].items():
        hit = [m for m in METRICS if row[m].get("zero_se_why") and row[m]["n"]]
        for why in dict.fromkeys(row[m]["zero_se_why"] for m in hit):
            ms = [m for m in hit if row[m]["zero_se_why"] == why]
            by.setdefault(why, []).append(f"{v} (all rates)" if len(ms) == len(METRICS)
                                          else f"{v} {'/'.join(SHORT[m] for m in ms)}")
    counted = {why: sum(len(METRICS) if "(all rates)" in i else i.count("/") + 1 for i in items)
               for why, items in by.items()}
    return [f"{why}: every rate" if counted[why] == total else f"{why}: {', '.join(items)}"
            for why, items in by.items()]


# ---------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td.name,th.name{text-align:left}
.grid td{text-align:center;min-width:110px}.grid th{text-align:center}.grid td.name{text-align:left}
.muted{color:#777}.note{color:#555;font-size:13px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _bars_svg(r: dict[str, Any]) -> str:
    """Any-medal rate per variant, with mean ± SE error bars."""
    variants = r["variants"]
    w, h, left, bottom, top = 120 * max(1, len(variants)) + 80, 300, 60, 60, 20
    plot_h = h - bottom - top
    parts = [f'<svg class="medal-bars" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img" aria-label="any-medal rate per variant">']
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 10}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{pct}%</text>')
    for i, v in enumerate(variants):
        ms = r["per_variant"][v]["any_medal"]
        x = left + 20 + i * 120
        mean = ms["mean"] or 0.0
        y = top + plot_h * (1 - mean)
        parts.append(f'<rect class="bar" data-variant="{_e(v)}" data-mean="{mean:.4f}" x="{x}" y="{y:.1f}" '
                     f'width="70" height="{top + plot_h - y:.1f}" fill="#4a7fb5"/>')
        if ms["se"] is not None:
            lo = top + plot_h * (1 - max(0.0, mean - ms["se"]))
            hi = top + plot_h * (1 - min(1.0, mean + ms["se"]))
            cx = x + 35
            parts.append(f'<g class="errorbar" data-se="{ms["se"]:.4f}" stroke="#222" stroke-width="1.5">'
                         f'<line x1="{cx}" y1="{lo:.1f}" x2="{cx}" y2="{hi:.1f}"/>'
                         f'<line x1="{cx - 8}" y1="{lo:.1f}" x2="{cx + 8}" y2="{lo:.1f}"/>'
                         f'<line x1="{cx - 8}" y1="{hi:.1f}" x2="{cx + 8}" y2="{hi:.1f}"/></g>')
        label = "-" if ms["mean"] is None else f"{mean * 100:.0f}%"
        parts.append(f'<text x="{x + 35}" y="{y - 6:.1f}" font-size="12" text-anchor="middle">{label}</text>'
                     f'<text x="{x + 35}" y="{h - bottom + 18}" font-size="12" text-anchor="middle">{_e(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _shade(frac: float | None) -> str:
    if frac is None:
        return "#f7f7f7"
    g = int(235 - 120 * frac)
    return f"rgb({g},{235},{g})"


def sweep_points(store: EventStore, r: dict[str, Any]) -> list[Any]:
    """The recorded cells' runs of report ``r`` read as `gome compare` reads them
    (:class:`gome_es.report.compare.RunPoint`: curve of the best validation score over the budget,
    validation and test scores); cells whose run is not in this database have none."""
    recorded = [str(c["run_id"]) for c in r.get("cells") or [] if c.get("recorded")]
    return collect(store, recorded) if recorded else []


def _plots_html(r: dict[str, Any], points: list[Any] | None) -> str:
    """`gome compare`'s plots over the sweep's runs: best validation score over the budget per task
    (one line per variant, a ±SE band over seeds) and validation against test per run."""
    if points is None:
        return ""
    head = '<section id="plots"><h2>Best validation score over the budget, per task and variant</h2>'
    if not points:
        return (head + "<p class=note>No cell's run is recorded in this database, so there is no curve to draw: "
                "the plots read the runs' events (report on the database the sweep's runs were shipped to).</p>"
                "</section>")
    colors = variant_colors(list(dict.fromkeys([*r["variants"], *(p.variant for p in points)])))
    legend = ", ".join(f'<span style="color:{colors[v]}">{_e(v)}</span>' for v in colors)
    tasks = list(dict.fromkeys(p.task for p in points))
    curves = "".join(f"<h3>{_e(t)}</h3>{curve_plot(points, t, colors)}" for t in tasks)
    shown = len(points)
    return (head + f"<p class=note>From the {shown} cell run(s) recorded here ({legend}); x is the share of each "
            "run's budget spent (downtime before a resume not counted), the band ± one standard error over "
            f"seeds.</p>{curves}</section>"
            '<section id="val-test"><h2>Validation against test score, one dot per graded run</h2>'
            "<p class=note>On the dashed line a run's test score equals its validation score; the distance "
            "from it is how far validation misjudged test.</p>"
            f"{val_test_plot(points, colors)}</section>")


def render_html(r: dict[str, Any], runs_dir: str | None = None, points: list[Any] | None = None) -> str:
    """The sweep's page; with ``points`` (:func:`sweep_points`), also `gome compare`'s plots."""
    spec = r["spec"]
    rows = []
    for v, row in r["per_variant"].items():
        rows.append("<tr><td class=name>" + _e(v) + "</td>" + "".join(
            f"<td>{_e(_pct(row[m]).replace(' ', ''))}</td>" for m in METRICS)
            + f"<td>{row['runs']}</td><td>{row['failed']}</td></tr>")
    diff_rows = []
    for v, d in r["gome_minus"].items():
        diff_rows.append("<tr><td class=name>gome − " + _e(v) + "</td>" + "".join(
            f"<td>{_e(_pp(d[m]).strip())}</td>" for m in METRICS) + "</tr>")
    grid = ["<tr><th class=name>task</th>" + "".join(f"<th>{_e(v)}</th>" for v in r["variants"]) + "</tr>"]
    for t, row in r["per_task"].items():
        tds = []
        for v in r["variants"]:
            x = row[v]
            frac = x["medals"] / x["runs"] if x["runs"] else None
            sc = x["score"]
            score = "-" if sc["mean"] is None else f"{sc['mean']:.4g}" + (f" ± {sc['se']:.2g}" if sc["se"] else "")
            tds.append(f'<td class="grid-cell" data-medals="{x["medals"]}" data-runs="{x["runs"]}" '
                       f'style="background:{_shade(frac)}">{_e(score)}<br><span class=muted>medals '
                       f'{x["medals"]}/{x["runs"]} (G{x["gold"]} S{x["silver"]} B{x["bronze"]}), valid '
                       f'{x["valid"]}/{x["runs"]}</span></td>')
        grid.append(f"<tr><td class=name>{_e(t)}</td>" + "".join(tds) + "</tr>")
    zero = zero_se_notes(r)
    head = "".join(f"<th>{_e(SHORT[m])} %</th>" for m in METRICS)
    model = (" " + _e(spec["model"])) if spec.get("model") else ""
    incomplete = "" if r["complete"] else f"<p class=note><b>Incomplete:</b> {r['pending']} cells not run yet.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gome sweep {_e(r['sweep_id'])}</title>
<style>{CSS}</style></head><body>
<h1>Sweep {_e(r['sweep_id'])}</h1>
<p>{len(r['tasks'])} tasks × {len(r['variants'])} variants × {len(r['seeds'])} seeds
(seeds {_e(', '.join(map(str, r['seeds'])))}), budget {spec['budget_s']:.0f} s per run, reasoner
{_e(spec['reasoner'])}{model}; cells: {_e(counts_text(r['counts']))}.</p>
{incomplete}
<section id="medal-rate"><h2>Any-medal rate per variant (mean ± standard error over seeds)</h2>
{_bars_svg(r)}</section>
<section id="rates"><h2>Rates per variant</h2>
<table class="rates"><tr><th class=name>variant</th>{head}<th>runs</th><th>failed</th></tr>{''.join(rows)}</table>
<p class=note>A rate is the share of tasks where a seed's run reached it; mean ± standard error over seeds.
A failed cell counts as no valid submission.</p></section>
<section id="diffs"><h2>gome minus each ablation and tree (percentage points, paired by seed)</h2>
<table class="diffs"><tr><th class=name>difference</th>{head}</tr>{''.join(diff_rows)}</table></section>
<section id="grid"><h2>Task × variant: test score (mean ± SE over seeds) and medals</h2>
<table class="grid">{''.join(grid)}</table></section>
<p class="note zero-se">{('Error bars: ' + _e('; '.join(zero))) if zero else ''}</p>
{_plots_html(r, points)}
{_cells_html(r, runs_dir)}
</body></html>
"""


def _cells_html(r: dict[str, Any], runs_dir: str | None) -> str:
    """One row per cell, its run id linking to the cell's own report (written beside this one)."""
    rows = []
    for c in r.get("cells") or []:
        rid = _e(c["run_id"])
        link = (f'<a href="{_e(quote(runs_dir))}/{_e(quote(cell_report_name(c["run_id"])))}">{rid}</a>'
                if runs_dir and c.get("recorded") else rid)
        rows.append(f"<tr><td class=name>{_e(c['task'])}</td><td>{_e(c['variant'])}</td><td>{_e(c['seed'])}</td>"
                    f"<td>{_e(c['status'])}</td><td class=run>{link}</td></tr>")
    return ('<section id="cells"><h2>Cells</h2><table class="cells"><tr><th class=name>task</th><th>variant</th>'
            "<th>seed</th><th>status</th><th>run (its own report)</th></tr>" + "".join(rows) + "</table></section>")


def write_html(report: dict[str, Any], path: Path, store: EventStore | None = None) -> Path:
    """Write the sweep's report to ``path``; with the ``store``, also `gome compare`'s plots over the
    recorded cells' runs and each recorded cell's own report into ``<name>_runs/`` beside it, which
    the sweep report's cell table links to."""
    path = Path(path)
    if path.is_dir():
        raise SweepError(f"cannot write the report to {path}: it is a directory; pass a file name (-o report.html)")
    if not path.parent.exists():
        raise SweepError(f"cannot write {path}: folder {path.parent} does not exist")
    runs_dir = None
    points = sweep_points(store, report) if store is not None else None
    if store is not None and any(c.get("recorded") for c in report.get("cells") or []):
        runs_dir = f"{path.stem}_runs"
        folder = path.parent / runs_dir
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise SweepError(f"cannot make {folder} for the cells' reports ({exc.strerror})") from None
        for c in report["cells"]:
            if c.get("recorded"):
                write_report(store, [c["run_id"]], folder / cell_report_name(c["run_id"]))
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(render_html(report, runs_dir, points), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SweepError(f"cannot write {path} ({exc.strerror})") from None
    return path


# ---------------------------------------------------------------- MLE-bench submissions


def export_mlebench(store: EventStore, sweep_id: str, out: Path, files_dir: Path | None = None) -> tuple[int, int]:
    """Write MLE-bench's submissions JSONL: one line per cell with competition_id and submission_path.

    Each run's selected submission is written as ``files_dir/<run id>.csv``; a run
    without one keeps its line, with a path that does not exist, so MLE-bench
    grades it as an invalid submission rather than leaving it out of the rates.
    """
    state = load_sweep(store, sweep_id)
    out = Path(out)
    files = Path(files_dir) if files_dir else out.with_name(out.stem + "_files")

    try:
        ensure_folder(files)  # the submissions MLE-bench grades: in a folder nobody else can change
    except OSError as exc:
        raise SweepError(f"cannot create {files} ({exc.strerror})") from None
    lines, missing = [], 0
    for c in state.cells.values():
        path = (files / f"{c.cell.run_id}.csv").resolve()
        sha = None
        if store.run_exists(c.cell.run_id):
            sha = (load_state(store, c.cell.run_id).selected or {}).get("submission_sha")
        if sha:
            path.write_bytes(store.get_blob(sha))
        else:
            path.unlink(missing_ok=True)
            missing += 1
        comp = c.cell.task.split(":", 1)[1] if c.cell.task.startswith("mlebench:") else c.cell.task
        lines.append(json.dumps({"competition_id": comp, "submission_path": str(path), "run_id": c.cell.run_id,
                                 "variant": c.cell.variant, "seed": c.cell.seed}, sort_keys=True))
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SweepError(f"cannot write {out} ({exc.strerror})") from None
    return len(lines), missing
