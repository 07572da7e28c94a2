"""Inline SVG charts for the HTML report, drawn in Python so the file needs no script.

Every piece of text that may come from a log goes through :func:`esc`; numbers
are formatted here.  Pure: returns strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from ..core.vocabulary import FailureClass
from .model import ScorePoint

TRACE_COLORS = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
FAILURE_COLORS: dict[str, str] = {  # the executor's failure classes; others get one of OTHER_FAILURE
    FailureClass.timeout: "#f59e0b", FailureClass.host_oom: "#92400e", FailureClass.cuda_oom: "#7c2d12",
    FailureClass.cuda_fault: "#9f1239", FailureClass.no_gpu: "#6b21a8", FailureClass.killed: "#475569",
    FailureClass.forbidden_access: "#000000", FailureClass.python_exception: "#dc2626",
    FailureClass.nonzero_exit: "#e11d48", FailureClass.nan_metric: "#c026d3",
    FailureClass.missing_submission: "#64748b", FailureClass.missing_metrics: "#0f766e",
    FailureClass.invalid_metrics: "#0d9488", FailureClass.sandbox_error: "#334155",
}
OTHER_FAILURE = ("#ef4444", "#a855f7", "#0ea5e9", "#84cc16", "#f97316", "#14b8a6")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def esc(text: object) -> str:
    """HTML-escape log text; control characters (terminal escapes) become visible ``\\xNN``."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return escape(s, quote=True)


def fmt(x: float | None, digits: int = 5) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def failure_color(name: str) -> str:
    if name in FAILURE_COLORS:
        return FAILURE_COLORS[name]
    # stable across runs and processes (no hash randomisation): sum of code points
    return OTHER_FAILURE[sum(map(ord, name)) % len(OTHER_FAILURE)]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


@dataclass
class Series:
    label: str
    color: str
    points: list[ScorePoint]
    dashed: bool = False
    end_x: float | None = None  # where the trace's best-so-far line stops


@dataclass
class Marker:
    x: float
    label: str
    color: str = "#b91c1c"


@dataclass
class _Frame:
    w: int = 660
    h: int = 330
    left: int = 64
    right: int = 18
    top: int = 16
    bottom: int = 64  # room for the x axis and the failures band
    xlo: float = 0.0
    xhi: float = 1.0
    ylo: float = 0.0
    yhi: float = 1.0
    parts: list[str] = field(default_factory=list)

    @property
    def plot_bottom(self) -> float:
        return self.h - self.bottom

    @property
    def band_y(self) -> float:  # failures have no score: they sit in a band below the axis
        return self.h - self.bottom + 22

    def sx(self, x: float) -> float:
        span = (self.xhi - self.xlo) or 1.0
        return self.left + (x - self.xlo) / span * (self.w - self.left - self.right)

    def sy(self, y: float) -> float:
        span = (self.yhi - self.ylo) or 1.0
        return self.plot_bottom - (y - self.ylo) / span * (self.plot_bottom - self.top)


def score_plot(series: Sequence[Series], *, x: str = "time", lower_is_better: bool = False,
               markers: Sequence[Marker] = (), title: str = "validation score") -> str:
    """Score against elapsed budget time (``x="time"``) or iteration (``x="iteration"``)."""
    def xv(p: ScorePoint) -> float:
        return p.elapsed_s if x == "time" else p.iteration + 0.12 * p.attempt

    f = _Frame()
    pts = [p for s in series for p in s.points]
    xs = [xv(p) for p in pts] + [s.end_x for s in series if s.end_x is not None] + [m.x for m in markers]
    ys = [p.val_score for p in pts if p.val_score is not None]
    if x == "time":
        f.xlo, f.xhi = 0.0, max(xs + [1.0]) * 1.03
    else:
        f.xlo, f.xhi = -0.4, max(xs + [0.0]) + 0.4
    if ys:
        lo, hi = min(ys), max(ys)
        pad = (hi - lo) * 0.08 or max(abs(hi) * 0.01, 0.01)
        f.ylo, f.yhi = lo - pad, hi + pad
    xlabel = "budget time spent (s)" if x == "time" else "iteration (debug attempts offset right)"
    out = [f'<svg class="plot score-plot" data-x="{esc(x)}" viewBox="0 0 {f.w} {f.h}" '
           f'width="{f.w}" height="{f.h}" role="img" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{esc(title)} by {esc(x)}</title>",
           f'<rect x="{f.left}" y="{f.top}" width="{f.w - f.left - f.right}" '
           f'height="{f.plot_bottom - f.top:.1f}" fill="#fbfcfe" stroke="#e2e8f0"/>']
    for t in nice_ticks(f.ylo, f.yhi, 5):
        if f.ylo <= t <= f.yhi:
            y = f.sy(t)
            out.append(f'<line x1="{f.left}" x2="{f.w - f.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e8edf3"/>')
            out.append(f'<text x="{f.left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{fmt(t, 4)}</text>')
    xticks = nice_ticks(max(f.xlo, 0.0), f.xhi, 8)
    if x == "iteration":  # whole iterations only, however long the run
        xticks = sorted({int(round(t)) for t in xticks if abs(t - round(t)) < 1e-9} | {0})
    for t in xticks:
        if f.xlo <= t <= f.xhi:
            xx = f.sx(t)
            label = f"{t:,.0f}" if abs(t) >= 1000 else fmt(t, 4)
            out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{f.top}" y2="{f.plot_bottom:.1f}" stroke="#f0f3f7"/>')
            out.append(f'<text x="{xx:.1f}" y="{f.plot_bottom + 14:.1f}" text-anchor="middle" class="tick">'
                       f"{label}</text>")
    out.append(f'<text x="{(f.left + f.w - f.right) / 2:.0f}" y="{f.h - 4}" text-anchor="middle" '
               f'class="axis-label">{esc(xlabel)}</text>')
    arrow = "lower is better" if lower_is_better else "higher is better"
    out.append(f'<text x="14" y="{(f.top + f.plot_bottom) / 2:.0f}" text-anchor="middle" class="axis-label" '
               f'transform="rotate(-90 14 {(f.top + f.plot_bottom) / 2:.0f})">{esc(title)} ({arrow})</text>')
    out.append(f'<text x="{f.left - 6}" y="{f.band_y + 4:.1f}" text-anchor="end" class="tick">failed</text>')
    out.append(f'<line x1="{f.left}" x2="{f.w - f.right}" y1="{f.band_y:.1f}" y2="{f.band_y:.1f}" '
               'stroke="#f1d5d5" stroke-dasharray="2 3"/>')
    for m in markers:
        xx = f.sx(m.x)
        out.append(f'<g class="divergence-marker"><line x1="{xx:.1f}" x2="{xx:.1f}" y1="{f.top}" '
                   f'y2="{f.band_y + 6:.1f}" stroke="{m.color}" stroke-width="1.5" stroke-dasharray="5 3"/>'
                   f'<text x="{xx + 4:.1f}" y="{f.top + 12}" class="marker-label" fill="{m.color}">'
                   f"{esc(m.label)}</text></g>")
    small = len(pts) > 150  # crowded: smaller marks keep the line readable
    for s in series:
        out.append(_series(f, s, xv, small))
    out.append("</svg>")
    return "".join(out)


def _series(f: _Frame, s: Series, xv: Callable[[ScorePoint], float], small: bool = False) -> str:
    ra, rr, k = (2.6, 2.3, 2.5) if small else (4.6, 4.0, 4.0)
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    parts = [f'<g class="series" data-series="{esc(s.label)}">']
    # best-so-far as a step line: it only moves when a step is accepted
    path: list[str] = []
    best: float | None = None
    for p in sorted(s.points, key=xv):
        if p.accepted and p.val_score is not None:
            X, Y = f.sx(xv(p)), f.sy(p.val_score)
            path.append(f"M{X:.1f},{Y:.1f}" if best is None else f"H{X:.1f}V{Y:.1f}")
            best = p.val_score
    if path:
        last_x = max([xv(p) for p in s.points] + ([s.end_x] if s.end_x is not None else []))
        path.append(f"H{f.sx(last_x):.1f}")
        parts.append(f'<path class="sota-line" d="{"".join(path)}" fill="none" stroke="{s.color}" '
                     f'stroke-width="2.2"{dash}/>')
    for p in s.points:
        tip = esc(f"{s.label} {p.solution_id}: iteration {p.iteration} attempt {p.attempt}, "
                  f"{p.outcome}" + (f" ({p.first_failure})" if p.first_failure else "")
                  + ("" if p.failure == FailureClass.ok else f", failure {p.failure}")
                  + f", score {fmt(p.val_score, 6)}, seq {p.seq}")
        X = f.sx(xv(p))
        if p.outcome == "failed":
            c = failure_color(p.failure if p.failure != FailureClass.ok else (p.first_failure or "failed"))
            Y = f.band_y
            parts.append(f'<g class="pt failed" data-failure="{esc(p.failure)}"><title>{tip}</title>'
                         f'<path d="M{X - k:.1f},{Y - k:.1f}l{2 * k},{2 * k}m0,-{2 * k}l-{2 * k},{2 * k}" stroke="{c}" '
                         'stroke-width="2.2"/></g>')
        elif p.outcome == "accepted":
            parts.append(f'<circle class="pt accepted" cx="{X:.1f}" cy="{f.sy(p.val_score or 0):.1f}" r="{ra}" '
                         f'fill="{s.color}" stroke="#fff" stroke-width="1.4"><title>{tip}</title></circle>')
        else:
            parts.append(f'<circle class="pt rejected" cx="{X:.1f}" cy="{f.sy(p.val_score or 0):.1f}" r="{rr}" '
                         f'fill="#fff" stroke="{s.color}" stroke-width="1.6"><title>{tip}</title></circle>')
    parts.append("</g>")
    return "".join(parts)


def grade_scale(score: float | None, thresholds: dict[str, float], lower_is_better: bool) -> str:
    """A number line with the median and medal thresholds and where the score landed."""
    w, h, pad = 620, 92, 40
    vals = [v for v in thresholds.values() if v is not None] + ([score] if score is not None else [])
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or max(abs(hi) * 0.05, 0.01)
    lo, hi = lo - span * 0.12, hi + span * 0.12

    def sx(v: float) -> float:
        t = (v - lo) / (hi - lo)
        return pad + (1 - t if lower_is_better else t) * (w - 2 * pad)

    colors = {"median": "#64748b", "bronze": "#b45309", "silver": "#94a3b8", "gold": "#ca8a04"}
    out = [f'<svg class="plot grade-scale" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img"><title>score against medal thresholds</title>',
           f'<line x1="{pad}" x2="{w - pad}" y1="48" y2="48" stroke="#cbd5e1" stroke-width="3"/>',
           f'<text x="{w - pad}" y="80" text-anchor="end" class="tick">better &#8594;</text>']
    for i, (name, v) in enumerate(sorted(thresholds.items(), key=lambda kv: sx(kv[1]))):
        X = sx(v)
        y = 30 if i % 2 == 0 else 20
        out.append(f'<g class="threshold" data-medal="{esc(name)}"><line x1="{X:.1f}" x2="{X:.1f}" y1="40" '
                   f'y2="56" stroke="{colors.get(name, "#334155")}" stroke-width="3"/>'
                   f'<text x="{X:.1f}" y="{y}" text-anchor="middle" class="tick" fill="{colors.get(name, "#334155")}">'
                   f"{esc(name)} {fmt(v)}</text></g>")
    if score is not None:
        X = sx(score)
        out.append(f'<g class="score-mark"><path d="M{X:.1f},{40:.1f}l7,8l-7,8l-7,-8z" fill="#dc2626"/>'
                   f'<text x="{X:.1f}" y="74" text-anchor="middle" class="marker-label" fill="#dc2626">'
                   f"score {fmt(score)}</text></g>")
    out.append("</svg>")
    return "".join(out)


def spark_bars(values: Sequence[float], color: str = "#059669", w: int = 120, h: int = 14) -> str:
    """A tiny bar (for one memory delta, scaled to the largest)."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    return "".join(
        f'<svg class="bar" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="2" width="{max(1.0, abs(v) / top * w):.1f}" height="{h - 4}" rx="2" fill="{color}"/></svg>'
        for v in values)
