"""Each trace's own timeline: its experiments on the budget clock, side by side.

Under the asynchronous schedule traces run independently, so one line per
trace shows what each was doing while the others ran: every experiment from
its request to its outcome, placed in budget time (the time the run has spent
of its budget, downtime excluded: the x axis of the score plot).  Pure: a
folded state and the budget time at each seq in, lanes, text or SVG out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..core.state import RunState
from ..core.vocabulary import FailureClass
from .svg import esc as _esc


@dataclass(frozen=True)
class Span:
    trace_id: str
    key: str
    start_s: float  # budget time of its request
    end_s: float | None  # budget time of its outcome; None while it runs
    failure: str | None  # the outcome's class ("ok", "timeout", "budget_cut", ...); None while it runs


def lanes(state: RunState, elapsed_at: Mapping[int, float]) -> dict[str, list[Span]]:
    """The experiments of each trace (in trace order), each from request to outcome."""
    out: dict[str, list[Span]] = {t.trace_id: [] for t in state.traces_in_order()}
    for call in state.executions.values():
        tid = call.trace_id or "?"
        start = elapsed_at.get(call.request_seq, 0.0)
        end = elapsed_at.get(call.result_seq) if call.result_seq is not None else None
        failure = (call.result or {}).get("failure") if call.result is not None else None
        out.setdefault(tid, []).append(Span(tid, call.key, start, end, failure))
    return out


def _horizon(state: RunState, ln: dict[str, list[Span]]) -> float:
    """The x range: the whole budget while the run goes on, the time it took once finished."""
    ends = [s.end_s or 0.0 for spans in ln.values() for s in spans]
    return max([state.spent_s if state.is_finished else state.budget_s, state.spent_s] + ends) or 1.0


def _glyph(span: Span, i: int) -> str:
    if span.failure is None:
        return "▶"  # running now
    if span.failure == FailureClass.ok:
        return "█▓"[i % 2]  # alternate, so back-to-back experiments stay apart
    if span.failure == FailureClass.budget_cut:
        return "✂"
    return "▒"  # failed


def text_lanes(state: RunState, elapsed_at: Mapping[int, float], width: int = 60) -> list[str]:
    """One line per trace: █/▓ an experiment that ran, ▒ one that failed, ✂ cut by the budget, ▶ running."""
    ln = lanes(state, elapsed_at)
    horizon = _horizon(state, ln)
    rows = []
    for tid, spans in ln.items():
        cells = ["·"] * width
        for i, s in enumerate(spans):
            end = s.end_s if s.end_s is not None else state.spent_s
            a = min(width - 1, int(s.start_s / horizon * width))
            b = max(a, min(width - 1, int(end / horizon * width)))
            for j in range(a, b + 1):
                cells[j] = _glyph(s, i)
        name = "".join(ch for ch in tid if ch.isprintable())[:6]  # ids come from the log: no escapes
        rows.append(f"  {name:<6}│{''.join(cells)}│{len(spans):>3} exp")
    return rows


def svg_lanes(state: RunState, elapsed_at: Mapping[int, float], colors: Mapping[str, str] | None = None,
              width: int = 760) -> str:
    """The same lanes as an SVG: one row per trace, a bar per experiment, budget time on x."""
    ln = lanes(state, elapsed_at)
    horizon = _horizon(state, ln)
    left, row_h, top = 60, 22, 8
    plot_w = width - left - 10
    height = top + row_h * max(1, len(ln)) + 24
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="experiments of each trace over budget time">']
    for i, (tid, spans) in enumerate(ln.items()):
        y = top + i * row_h
        color = (colors or {}).get(tid, "#2563eb")
        parts.append(f'<text x="4" y="{y + 14}" font-size="12">{_esc(tid)}</text>')
        parts.append(f'<line x1="{left}" y1="{y + 10}" x2="{left + plot_w}" y2="{y + 10}" stroke="#e5e7eb"/>')
        for s in spans:
            end = s.end_s if s.end_s is not None else state.spent_s
            x0 = left + s.start_s / horizon * plot_w
            w = max(1.5, (end - s.start_s) / horizon * plot_w)
            fill = color if s.failure in (FailureClass.ok, None) else "#9ca3af" if s.failure == FailureClass.budget_cut else "#dc2626"
            parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="14" rx="2" fill="{fill}" '
                         f'opacity="{0.85 if s.failure is not None else 0.5}"><title>{_esc(s.key)}: '
                         f'{_esc(s.failure or "running")} ({s.start_s:.0f}s to '
                         f'{"now" if s.end_s is None else f"{s.end_s:.0f}s"} of budget)</title></rect>')
    y = top + row_h * max(1, len(ln)) + 14
    parts.append(f'<text x="{left}" y="{y}" font-size="11" fill="#6b7280">0</text>')
    parts.append(f'<text x="{left + plot_w}" y="{y}" font-size="11" fill="#6b7280" text-anchor="end">'
                 f'{horizon:.0f}s of budget</text>')
    parts.append("</svg>")
    return "".join(parts)

