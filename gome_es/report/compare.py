"""Many runs side by side: `gome compare RUN_OR_SWEEP...` and ``gome.compare([...])``.

:func:`collect` reads each run (a sweep stands for its cells' runs) into a :class:`RunPoint`:
task, variant, seed, the selected validation score, the test grade, the medal, and the curve
of the best validation score over the budget spent (from the fold, so downtime before a resume
does not count).  :func:`summarize` groups the points by task and variant (mean and standard
error over runs), and pairs variants by seed within a task (the mean and standard error of the
per-seed differences, signed so that a positive difference is better on the metric).  Both are
pure; :func:`render_text` and :func:`render_html` print them (the HTML is one self-contained
file: inline SVG plots, no script, every text escaped).

A run's variant is its sweep cell's variant when it is a cell, otherwise what its recorded
config says: ``tree``, ``no-structured-reasoning``, ``no-memory``, ``one-trace`` or ``gome``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from ..core.state import RunState, apply
from ..errors import GomeError
from ..store import EventStore
from ..store.runids import resolve_run_id
from .svg import TRACE_COLORS, esc, fmt, nice_ticks
from .tables import run_rows, run_status, sweep_cells, sweep_ids

GRID = 40  # points on the budget-fraction axis of the curves


@dataclass
class RunPoint:
    run_id: str
    task: str
    variant: str
    seed: int | None
    status: str
    metric: str | None
    lower_is_better: bool
    val: float | None  # the selected submission's validation score
    test: float | None  # the grade's score (None: not graded or invalid)
    valid: bool
    above_median: bool
    medal: str | None  # gold / silver / bronze
    budget_s: float
    curve: list[tuple[float, float]] = field(default_factory=list)  # (budget spent s, best val so far)
    sweep: str | None = None

    def best_at(self, spent_s: float) -> float | None:
        """The best validation score once ``spent_s`` of the budget was spent."""
        best = None
        for t, v in self.curve:
            if t > spent_s:
                break
            best = v
        return best


def variant_of(config: dict[str, Any]) -> str:
    """The sweep variant a run's recorded config corresponds to."""
    if config.get("strategy") == "tree":
        return "tree"
    if config.get("structured_reasoning") is False:
        return "no-structured-reasoning"
    if config.get("memory") is False:
        return "no-memory"
    if config.get("traces") == 1:
        return "one-trace"
    return "gome"


def expand(store: EventStore, given: list[str]) -> list[str]:
    """Run ids (each given as an id, a unique prefix or ``@last``); a sweep stands for its cells'
    runs that exist.  Duplicates are dropped, order kept."""
    if not given:
        raise GomeError("compare needs at least one run or sweep id (`gome runs` lists them)")
    cells = sweep_cells(store)
    sweeps = set(sweep_ids(store))
    out: list[str] = []
    for g in given:
        rid = resolve_run_id(store, g)
        if rid in sweeps:
            members = [r for r, (s, _) in cells.items() if s == rid and store.run_exists(r)]
            if not members:
                raise GomeError(f"sweep {rid} has no run with events yet; `gome sweep status {rid}` shows its cells")
            out += members
        else:
            out.append(rid)
    return list(dict.fromkeys(out))


def run_point(store: EventStore, run_id: str, cell: tuple[str, dict[str, Any]] | None = None,
              row: dict[str, Any] | None = None) -> RunPoint:
    """One run's figures and its best-validation curve, folded from its events."""
    state = RunState(run_id=run_id)
    curve: list[tuple[float, float]] = []
    best: float | None = None
    for ev in store.read(run_id):
        apply(state, ev)
        sol = state.best_solution()
        if sol is not None and sol.val_score is not None and (best is None or sol.val_score != best):
            best = sol.val_score
            curve.append((state.spent_s, best))
    cfg = state.config.model_dump(mode="json")
    grade = state.grade or {}
    medal = next((m for m in ("gold", "silver", "bronze") if grade.get(f"{m}_medal")), None)
    if row is None:  # one run asked for alone; collect() reads the view once for all of them
        row = next((r for r in run_rows(store) if r["run_id"] == run_id), None)
    status = run_status(store, row) if row is not None else state.status
    score = grade.get("score")
    return RunPoint(
        run_id=run_id, task=str(state.task.get("id") or state.task_id or "?"),
        variant=str(cell[1].get("variant")) if cell else variant_of(cfg),
        seed=int(cfg["seed"]) if isinstance(cfg.get("seed"), int) else None,
        status=status, metric=state.task.get("metric"), lower_is_better=state.lower_is_better,
        val=(state.selected or {}).get("val_score"),
        test=float(score) if isinstance(score, (int, float)) and math.isfinite(score) else None,
        valid=bool(grade.get("valid_submission")), above_median=bool(grade.get("above_median")),
        medal=medal, budget_s=float(cfg.get("budget_s") or 0.0), curve=curve, sweep=cell[0] if cell else None)


def collect(store: EventStore, given: list[str]) -> list[RunPoint]:
    cells = sweep_cells(store)
    rows = {r["run_id"]: r for r in run_rows(store)}  # the runs_v view once, not once per run
    return [run_point(store, rid, cells.get(rid), rows.get(rid)) for rid in expand(store, given)]


# ---------------------------------------------------------------- summary (pure)


def mean_se(values: list[float]) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"mean": None, "se": None, "n": 0}
    mean = sum(values) / n
    return {"mean": mean, "se": statistics.stdev(values) / math.sqrt(n) if n >= 2 else None, "n": n}


def _signed(points: list[RunPoint]) -> float:
    return -1.0 if points and points[0].lower_is_better else 1.0


def summarize(points: list[RunPoint]) -> dict[str, Any]:
    """Groups by task and variant, and paired differences by seed between each variant and the
    first variant of the task (``gome`` when present)."""
    tasks: dict[str, dict[str, list[RunPoint]]] = {}
    for p in points:
        tasks.setdefault(p.task, {}).setdefault(p.variant, []).append(p)
    groups = []
    paired = []
    for task, by_variant in tasks.items():
        for variant, ps in by_variant.items():
            groups.append({
                "task": task, "variant": variant, "runs": len(ps), "metric": ps[0].metric,
                "lower_is_better": ps[0].lower_is_better,
                "val": mean_se([p.val for p in ps if p.val is not None]),
                "test": mean_se([p.test for p in ps if p.test is not None]),
                "valid": sum(p.valid for p in ps), "above_median": sum(p.above_median for p in ps),
                "medals": sum(p.medal is not None for p in ps),
                "gold": sum(p.medal == "gold" for p in ps), "silver": sum(p.medal == "silver" for p in ps),
                "bronze": sum(p.medal == "bronze" for p in ps),
            })
        names = list(by_variant)
        base = "gome" if "gome" in by_variant else names[0]
        sign = _signed(by_variant[base])
        for other in names:
            if other == base:
                continue
            for what in ("test", "val"):
                a = {p.seed: getattr(p, what) for p in by_variant[base] if getattr(p, what) is not None}
                b = {p.seed: getattr(p, what) for p in by_variant[other] if getattr(p, what) is not None}
                seeds = sorted(s for s in a if s in b and s is not None)
                d = mean_se([sign * (a[s] - b[s]) for s in seeds])
                paired.append({"task": task, "a": base, "b": other, "score": what, "seeds": seeds, **d})
    return {"groups": groups, "paired": paired, "runs": len(points),
            "tasks": list(tasks), "variants": list(dict.fromkeys(p.variant for p in points))}


def curves(points: list[RunPoint], task: str) -> dict[str, list[dict[str, Any]]]:
    """Per variant of ``task``: the best validation score at each budget fraction (0..1), mean and
    standard error over the runs that have a score by then."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        if p.task != task:
            continue
        out.setdefault(p.variant, [])
    for variant in out:
        ps = [p for p in points if p.task == task and p.variant == variant and p.budget_s > 0]
        for i in range(GRID + 1):
            frac = i / GRID
            vals = [v for p in ps if (v := p.best_at(frac * p.budget_s)) is not None]
            out[variant].append({"frac": frac, **mean_se(vals)})
    return out


# ---------------------------------------------------------------- text


def _ms(d: dict[str, Any]) -> str:
    if d.get("mean") is None:
        return "-"
    return fmt(d["mean"]) + (f" ± {fmt(d['se'], 2)}" if d.get("se") is not None else "")


def render_text(summary: dict[str, Any]) -> str:
    lines = [f"{summary['runs']} runs, {len(summary['tasks'])} task(s), variants: {', '.join(summary['variants'])}"]
    for task in summary["tasks"]:
        rows = [g for g in summary["groups"] if g["task"] == task]
        direction = "lower is better" if rows and rows[0]["lower_is_better"] else "higher is better"
        lines += ["", f"{task}  ({rows[0]['metric'] if rows else '?'}, {direction}; mean ± standard error)",
                  f"  {'variant':<24}{'runs':>5}  {'best val':<22}{'test':<22}{'valid':>6}{'>median':>8}{'medals':>7}"]
        for g in rows:
            lines.append(f"  {g['variant']:<24}{g['runs']:>5}  {_ms(g['val']):<22}{_ms(g['test']):<22}"
                         f"{g['valid']:>6}{g['above_median']:>8}{g['medals']:>7}")
        pairs = [p for p in summary["paired"] if p["task"] == task and p["score"] == "test"]
        for p in pairs:
            if p["n"]:
                lines.append(f"  {p['a']} - {p['b']} (test, paired by seed over {p['n']}; + is better): {_ms(p)}")
            else:
                lines.append(f"  {p['a']} - {p['b']}: no seed graded in both")
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML


def _axes(w: int, h: int, xlo: float, xhi: float, ylo: float, yhi: float, xlabel: str, ylabel: str,
          pad: tuple[int, int, int, int] = (60, 16, 14, 42)) -> tuple[list[str], Any, Any]:
    left, right, top, bottom = pad
    if yhi <= ylo:
        ylo, yhi = ylo - 0.5, yhi + 0.5
    if xhi <= xlo:
        xlo, xhi = xlo - 0.5, xhi + 0.5

    def sx(x: float) -> float:
        return left + (x - xlo) / (xhi - xlo) * (w - left - right)

    def sy(y: float) -> float:
        return h - bottom - (y - ylo) / (yhi - ylo) * (h - bottom - top)

    parts = [f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" '
             'fill="none" stroke="#cbd5e1"/>']
    for t in nice_ticks(ylo, yhi):
        parts.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11">{fmt(t, 4)}</text>')
    for t in nice_ticks(xlo, xhi):
        parts.append(f'<text x="{sx(t):.1f}" y="{h - bottom + 16}" text-anchor="middle" font-size="11">'
                     f'{fmt(t, 3)}</text>')
    parts.append(f'<text x="{(left + w - right) / 2:.1f}" y="{h - 6}" text-anchor="middle" font-size="12">'
                 f'{esc(xlabel)}</text>')
    parts.append(f'<text x="14" y="{(top + h - bottom) / 2:.1f}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + h - bottom) / 2:.1f})">{esc(ylabel)}</text>')
    return parts, sx, sy


def _svg(w: int, h: int, parts: list[str], title: str, cls: str) -> str:
    return (f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
            f'aria-label="{esc(title)}"><title>{esc(title)}</title>{"".join(parts)}</svg>')


def variant_colors(variants: list[str]) -> dict[str, str]:
    """One colour per variant, in the order given (the plots and tables of a page share them)."""
    return {v: TRACE_COLORS[i % len(TRACE_COLORS)] for i, v in enumerate(variants)}


def curve_plot(points: list[RunPoint], task: str, colors: dict[str, str]) -> str:
    """Best validation score over the budget fraction, one line per variant with a ±SE band."""
    cs = curves(points, task)
    ys = [v for rows in cs.values() for r in rows if r["mean"] is not None
          for v in (r["mean"] - (r["se"] or 0), r["mean"] + (r["se"] or 0))]
    w, h = 560, 300
    if not ys:
        return "<p class=muted>no validation score yet</p>"
    parts, sx, sy = _axes(w, h, 0.0, 1.0, min(ys), max(ys), "budget spent (fraction)", "best validation score")
    for i, (variant, rows) in enumerate(cs.items()):
        color = colors[variant]
        have = [r for r in rows if r["mean"] is not None]
        if not have:
            continue
        upper = [(sx(r["frac"]), sy(r["mean"] + (r["se"] or 0))) for r in have]
        lower = [(sx(r["frac"]), sy(r["mean"] - (r["se"] or 0))) for r in reversed(have)]
        band = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)
        parts.append(f'<polygon points="{band}" fill="{color}" opacity="0.15"/>')
        line = " ".join(f"{sx(r['frac']):.1f},{sy(r['mean']):.1f}" for r in have)
        parts.append(f'<polyline class="curve" data-variant="{esc(variant)}" points="{line}" fill="none" '
                     f'stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{w - 150}" y="{20 + 14 * i}" font-size="11" fill="{color}">{esc(variant)}</text>')
    return _svg(w, h, parts, f"{task}: best validation score over the budget", "curve-plot")


def val_test_plot(points: list[RunPoint], colors: dict[str, str]) -> str:
    """Validation against test score, one dot per graded run (per task: scales differ)."""
    ps = [p for p in points if p.val is not None and p.test is not None]
    if not ps:
        return "<p class=muted>no run has both a validation and a test score</p>"
    xs, ys = [p.val for p in ps], [p.test for p in ps]
    lo, hi = min(xs + ys), max(xs + ys)  # type: ignore[type-var]
    w, h = 360, 320
    parts, sx, sy = _axes(w, h, lo, hi, lo, hi, "validation score", "test score")  # type: ignore[arg-type]
    parts.append(f'<line x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" '
                 'stroke="#94a3b8" stroke-dasharray="4 3"/>')
    for p in ps:
        parts.append(f'<circle class="run" data-run="{esc(p.run_id)}" cx="{sx(p.val):.1f}" '
                     f'cy="{sy(p.test):.1f}" r="4" fill="{colors[p.variant]}">'
                     f'<title>{esc(p.run_id)} ({esc(p.variant)}, seed {p.seed}): val {fmt(p.val)}, '
                     f'test {fmt(p.test)}</title></circle>')
    return _svg(w, h, parts, "validation against test score", "val-test-plot")


def medal_plot(summary: dict[str, Any], colors: dict[str, str]) -> str:
    """Runs with a medal per task and variant (bars), out of the runs."""
    groups = summary["groups"]
    if not groups:
        return ""
    w, bar, gap = 560, 16, 10
    h = 40 + len(groups) * (bar + 4) + len(summary["tasks"]) * gap
    parts = []
    y = 10
    most = max(g["runs"] for g in groups) or 1
    for task in summary["tasks"]:
        parts.append(f'<text x="4" y="{y + 12}" font-size="12" font-weight="bold">{esc(task)}</text>')
        y += 18
        for g in (g for g in groups if g["task"] == task):
            width = (w - 260) * g["medals"] / most
            parts.append(f'<text x="14" y="{y + 12}" font-size="11">{esc(g["variant"])}</text>')
            parts.append(f'<rect x="200" y="{y}" width="{width:.1f}" height="{bar}" fill="{colors[g["variant"]]}"/>')
            parts.append(f'<text x="{204 + width:.1f}" y="{y + 12}" font-size="11">{g["medals"]} of {g["runs"]} '
                         f'(gold {g["gold"]}, silver {g["silver"]}, bronze {g["bronze"]})</text>')
            y += bar + 4
        y += gap
    return _svg(w, max(h, y + 10), parts, "medals per task and variant", "medal-plot")


def render_html(points: list[RunPoint], summary: dict[str, Any], *, links: dict[str, str] | None = None) -> str:
    """One self-contained page: the tables, the three plots, and every run (linked to its report
    where ``links`` maps a run id to a relative path)."""
    links = links or {}
    colors = variant_colors(summary["variants"])
    body = [f"<h1>gome compare: {summary['runs']} runs</h1>",
            f"<p>{len(summary['tasks'])} task(s); variants "
            + ", ".join(f'<span style="color:{colors[v]}">{esc(v)}</span>' for v in summary["variants"])
            + ". Scores are mean ± standard error over runs; paired differences are by seed, "
              "positive when the first variant is better on the metric.</p>"]
    for task in summary["tasks"]:
        rows = [g for g in summary["groups"] if g["task"] == task]
        direction = "lower is better" if rows and rows[0]["lower_is_better"] else "higher is better"
        body.append(f"<h2>{esc(task)} <small>({esc(rows[0]['metric'] if rows else '?')}, {direction})</small></h2>")
        body.append("<table><tr><th>variant</th><th>runs</th><th>best val</th><th>test</th><th>valid</th>"
                    "<th>&gt;median</th><th>medals</th></tr>")
        for g in rows:
            body.append(f"<tr><td style='color:{colors[g['variant']]}'>{esc(g['variant'])}</td><td>{g['runs']}</td>"
                        f"<td>{esc(_ms(g['val']))}</td><td>{esc(_ms(g['test']))}</td><td>{g['valid']}</td>"
                        f"<td>{g['above_median']}</td><td>{g['medals']}</td></tr>")
        body.append("</table>")
        for p in (p for p in summary["paired"] if p["task"] == task and p["score"] == "test"):
            body.append(f"<p>{esc(p['a'])} − {esc(p['b'])} (test, paired over {p['n']} seed(s)): "
                        f"{esc(_ms(p)) if p['n'] else 'no seed graded in both'}</p>")
        body.append(curve_plot(points, task, colors))
    body += ["<h2>Validation against test</h2>", val_test_plot(points, colors),
             "<h2>Medals</h2>", medal_plot(summary, colors), "<h2>Runs</h2>",
             "<table><tr><th>run</th><th>task</th><th>variant</th><th>seed</th><th>status</th><th>val</th>"
             "<th>test</th><th>medal</th></tr>"]
    for p in points:
        name = (f'<a href="{esc(links[p.run_id])}">{esc(p.run_id)}</a>' if p.run_id in links else esc(p.run_id))
        body.append(f"<tr><td class=mono>{name}</td><td>{esc(p.task)}</td><td>{esc(p.variant)}</td>"
                    f"<td>{p.seed if p.seed is not None else '-'}</td><td>{esc(p.status)}</td><td>{fmt(p.val)}</td>"
                    f"<td>{fmt(p.test)}</td><td>{esc(p.medal or '-')}</td></tr>")
    body.append("</table>")
    style = ("body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#0f172a}"
             "table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #e2e8f0;padding:3px 10px;"
             "text-align:left;white-space:nowrap}.mono{font-family:ui-monospace,monospace}.muted{color:#64748b}"
             "svg{display:block;margin:8px 0}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>gome compare</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
