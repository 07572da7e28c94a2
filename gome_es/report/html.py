"""The self-contained HTML report: one file, inline CSS and SVG, no script, no network.

Everything from the log is hostile text (LLM answers, generated code, failure
details): it is escaped by :func:`~.svg.esc` at the point it is written, and a
Content-Security-Policy forbids scripts and every fetch, so even a missed
escape could not run code or call out.  Pure: :func:`render_report` and
:func:`render_comparison` return the document as a string.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .. import __version__
from ..analysis.plain_words import glossary, short_verdict
from ..analysis.views import iteration_label, trace_progress
from ..core.vocabulary import FailureClass
from .divergence import DivergencePoint
from .model import HypothesisPool, LlmUse, RunReport, ScorePoint
from .svg import (
    TRACE_COLORS,
    Marker,
    Series,
    esc,
    failure_color,
    fmt,
    grade_scale,
    score_plot,
    spark_bars,
)
from .textfmt import hypothesis_text
from .watch import medal_words

TREE_OPEN_MAX = 40  # a trace with more solutions than this starts folded

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#0f172a;background:#f1f5f9}
main{max-width:1380px;margin:0 auto;padding:20px 24px 60px}
header.top{background:#0f172a;color:#e2e8f0;padding:18px 24px}
header.top h1{margin:0;font-size:22px;font-weight:650;color:#fff}
header.top .sub{color:#94a3b8;font-size:13px;margin-top:3px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:16px 18px;margin:16px 0;overflow-x:auto}
h2{font-size:16px;margin:0 0 10px;color:#0f172a}
h3{font-size:14px;margin:14px 0 6px;color:#334155}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.card{background:#f8fafc;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.card .k{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#64748b}
.card .v{font-size:20px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.card .d{font-size:12px;color:#64748b}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{border-bottom:1px solid #eef2f6;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f8fafc;color:#475569;font-weight:600;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:420px;min-width:220px;overflow-wrap:anywhere}
.pair table{table-layout:fixed;font-size:11.5px}
.pair td.text{min-width:0;max-width:none}
.pair th,.pair td{padding:3px 4px;overflow-wrap:anywhere}
.pair section{overflow-x:visible}
table.steps td.side{border-left:2px solid #e2e8f0}
table.glossary th{position:static;text-align:left;white-space:nowrap;width:14em}
table.steps td.differs{background:#fff7ed}
table.steps .mark{color:#dc2626;font-weight:700}
tr.drawn td{background:#ecfdf5}
tr.rejected-sim td{color:#94a3b8}
tr.diverged td{box-shadow:inset 0 2px 0 #dc2626}
tr.iter-start td{border-top:2px solid #cbd5e1}
.badge{display:inline-block;padding:0 7px;border-radius:999px;font-size:11px;font-weight:600;line-height:18px;white-space:nowrap}
.b-accepted{background:#dcfce7;color:#166534}.b-rejected{background:#fef3c7;color:#92400e}
.b-failed{background:#fee2e2;color:#991b1b}.b-running{background:#e0f2fe;color:#075985}
.b-drawn{background:#059669;color:#fff}.b-pool{background:#d1fae5;color:#065f46}.b-sim{background:#e2e8f0;color:#475569}
.b-gold{background:#fde68a;color:#713f12}.b-silver{background:#e2e8f0;color:#334155}.b-bronze{background:#fed7aa;color:#7c2d12}
.b-none{background:#f1f5f9;color:#475569}.b-div{background:#dc2626;color:#fff}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;color:#334155;margin:6px 0 2px}
.legend .sw{display:inline-block;width:18px;height:4px;border-radius:2px;vertical-align:middle;margin-right:5px}
.legend .dot{display:inline-block;width:10px;height:10px;border-radius:50%;vertical-align:middle;margin-right:4px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
.plots>svg{flex:1 1 560px}
svg.plot{max-width:100%;height:auto;font-family:inherit}
svg .tick{font-size:11px;fill:#64748b}
svg .axis-label{font-size:12px;fill:#334155}
svg .marker-label{font-size:11.5px;font-weight:600}
.trace-tree{margin:8px 0 14px}
.trace-tree>.th{font-weight:600;margin-bottom:4px}
.trace-tree>summary.th{font-weight:600}
ul.chain{list-style:none;margin:0;padding:0 0 0 14px;border-left:2px solid #cbd5e1}
ul.chain>li{position:relative;margin:6px 0;padding-left:12px}
ul.chain>li:before{content:"";position:absolute;left:-2px;top:12px;width:12px;border-top:2px solid #cbd5e1}
ul.branches{list-style:none;margin:4px 0 0 10px;padding:0}
.node{display:inline-block;border:1px solid #cbd5e1;border-radius:7px;padding:3px 9px;background:#fff;max-width:760px}
.node.accepted{border-color:#16a34a;background:#f0fdf4}.node.rejected{border-color:#d97706;background:#fffbeb}
.node.failed{border-color:#dc2626;background:#fef2f2}.node.sota{box-shadow:0 0 0 2px #16a34a55}
.node .hyp{display:block;font-size:12px;color:#475569;overflow-wrap:anywhere}
.node .sid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.chips{display:flex;flex-direction:column;gap:3px;margin:4px 0 0 18px}
.chip{font-size:12px;border-radius:5px;padding:1px 7px;border:1px solid;max-width:760px;overflow-wrap:anywhere}
.chip .sid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px}
.chip .why{font-weight:600}
.chip.rejected{border-color:#d97706;color:#92400e;background:#fffbeb}.chip.failed{border-color:#dc2626;color:#991b1b;background:#fef2f2}
.chip.running{border-color:#0284c7;color:#075985;background:#f0f9ff}
.barwrap{background:#e2e8f0;border-radius:6px;height:18px;position:relative;overflow:hidden;max-width:760px}
.barwrap .spent{position:absolute;left:0;top:0;bottom:0;background:#2563eb}
.barwrap .down{position:absolute;top:0;bottom:0;background:repeating-linear-gradient(45deg,#94a3b8,#94a3b8 4px,#cbd5e1 4px,#cbd5e1 8px)}
.muted{color:#64748b}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);grid-auto-flow:column;
 grid-template-rows:repeat(7,auto);column-gap:16px;align-items:stretch}
.pair>div.run-col{display:contents}
.pair section{margin:8px 0;min-width:0}
.pair th.text{width:40%}
.short{display:none}
.pair .short{display:inline}.pair .long{display:none}
.pair .comp,.pair .seed{display:none}
.pair .badge{white-space:normal;line-height:14px}
.pair .badge.b-div,.pair .badge.b-drawn{white-space:nowrap}
.pair section{overflow-x:auto}
.pair th{overflow-wrap:normal}
.pair table.hypotheses td.num .badge{font-size:10px;padding:0 4px}
.pair table.memory td:not(.text),.pair table.hypotheses td.num{white-space:nowrap}
.pair table.memory th:nth-child(5),.pair table.memory td:nth-child(5),
.pair table.memory th:nth-child(8),.pair table.memory td:nth-child(8){display:none}
.pair table.memory{table-layout:fixed}.pair table.memory div.memo{overflow-wrap:normal}
.pair table.memory th:nth-child(1){width:4.5em}.pair table.memory th:nth-child(2){width:3.5em}.pair table.memory th:nth-child(3){width:2em}.pair table.memory th:nth-child(4){width:6.5em}.pair table.memory th:nth-child(6),.pair table.memory th:nth-child(9){width:5.5em}
.pair th.it,.pair th.cand{width:6%}.pair th.draw{width:12%}.pair th.tot{width:8%}
.pair table.memory th:nth-child(7),.pair table.memory td:nth-child(7){display:none}
.divergence{border:2px solid #dc2626;background:#fef2f2}
.run-tag{display:inline-block;font-weight:700;border-radius:5px;padding:0 6px;color:#fff;margin-right:6px}
details>summary{cursor:pointer;font-weight:600;margin:8px 0 4px}
footer{color:#94a3b8;font-size:12px;text-align:center;margin-top:24px}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}"
        f"<footer>generated by gome-es {esc(__version__)} from the event log alone</footer></body></html>\n"
    )


# ------------------------------------------------------------------ pieces


def _trace_colors(rep: RunReport) -> dict[str, str]:
    by_order = {tid: TRACE_COLORS[i % len(TRACE_COLORS)] for i, tid in enumerate(rep.trace_ids())}
    if not rep.direction_colors:
        return by_order
    dirs = rep.directions()
    return {tid: rep.direction_colors.get(dirs.get(tid, ""), c) for tid, c in by_order.items()}


def share_direction_colors(a: RunReport, b: RunReport) -> None:
    """One colour per starting direction across both runs: A's directions in A's trace order, then B's new
    ones; the same direction is the same colour in A and B whatever its trace id."""
    palette: dict[str, str] = {}
    for rep in (a, b):
        for direction in rep.directions().values():
            if direction not in palette:
                palette[direction] = TRACE_COLORS[len(palette) % len(TRACE_COLORS)]
    a.direction_colors = b.direction_colors = palette


def _medal(grade: dict[str, Any] | None) -> str:
    """The grade's medal as MLE-bench means it (exclusive flags), with the lower lines passed."""
    if not grade:
        return '<span class="badge b-none">not graded</span>'
    if not grade.get("valid_submission", True):
        return '<span class="badge b-failed">invalid submission</span>'
    words = medal_words(grade)
    medal = next((m for m in ("gold", "silver", "bronze") if grade.get(f"{m}_medal")), None)
    return f'<span class="badge b-{medal or "none"}">{esc(words)}</span>'


def _metric_title(rep: RunReport) -> str:
    return str(rep.state.task.get("metric") or "score")


def _metric(rep: RunReport) -> str:
    """``auc_roc, higher is better``: the metric's name and direction, for tiles and axes."""
    metric = rep.state.task.get("metric") or "validation score"
    return f"{metric}, {'lower' if rep.state.lower_is_better else 'higher'} is better"


def _dur(s: float) -> str:
    s = max(0.0, float(s))
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _cards(rep: RunReport) -> str:
    st = rep.state
    best = st.best_solution()
    sel = st.selected or {}
    g = st.grade or {}
    tokens = st.tokens.get("prompt", 0) + st.tokens.get("completion", 0)
    budget = st.budget_s
    pct = f"{100 * st.spent_s / budget:.0f}% of {_dur(budget)}" if budget else "no budget recorded"
    metric = esc(_metric(rep))
    cards = [
        ("status", esc(st.status), f"phase {esc(st.phase.value)}"),
        ("best validation score", fmt(best.val_score if best else None),
         f"{metric} · {esc(best.solution_id) if best else 'no accepted solution'}"),
        ("selected", fmt(sel.get("val_score")), esc(f"{sel.get('solution_id') or '—'} by {sel.get('by', '—')}")),
        ("test score (graded)", fmt(g.get("score")), f"{metric}<br>{_medal(st.grade)}"),
        ("budget spent", _dur(st.spent_s), esc(pct)),
    ]
    if st.cost_usd or tokens:  # an offline reasoner costs nothing: no tile for it
        cards.append(("LLM cost", f"${st.cost_usd:,.4f}", f"{tokens:,} tokens, {len(st.llm)} calls"))
    cards.append(("experiments", str(len(st.executions)), f"{sum(1 for p in rep.points if p.accepted)} accepted"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div><div class="d">{d}</div></div>'
        for k, v, d in cards) + "</div>"


def _header(rep: RunReport, prefix: str = "") -> str:
    st = rep.state
    model = st.reasoner.get("model", "?")
    sub = (f"task {st.task_id} · {st.config.strategy} strategy · {len(st.traces)} traces · "
           f"reasoner {st.reasoner.get('kind', '?')}/{model} · origin {st.origin} · code {st.code_version} · "
           f"{st.event_count} events")
    return (f'<header class="top"><h1>{prefix}gome report · run {esc(rep.run_id)}</h1>'
            f'<div class="sub">{esc(sub)}</div></header>')


def _it_label(value: object) -> str:
    """A recorded iteration number (from a payload: any type) as the solution ids name it."""
    return iteration_label(value) if isinstance(value, int) and not isinstance(value, bool) else "-"


def _legend_traces(rep: RunReport, tag: str = "", dashed: bool = False) -> str:
    colors = _trace_colors(rep)
    style = "border-top:3px dashed {c};background:none;height:0" if dashed else "background:{c}"
    out = []
    for tr in rep.state.traces_in_order():
        c = colors[tr.trace_id]
        out.append(f'<span><span class="sw" style="{style.format(c=c)}"></span>{esc(tag)}{esc(tr.trace_id)}: '
                   f'{esc(_short(tr.direction, 60))}</span>')
    return "".join(out)


def _legend_marks(points: Iterable[ScorePoint]) -> str:
    pts = list(points)
    classes = sorted({p.failure if p.failure != FailureClass.ok else (p.first_failure or "failed")
                      for p in pts if p.outcome == "failed"})
    out = ['<span><span class="dot" style="background:#334155"></span>accepted (new best)</span>',
           '<span><span class="dot" style="border:2px solid #334155;background:#fff"></span>ran, rejected</span>']
    for c in classes:
        n = sum(1 for p in pts if p.outcome == "failed" and c in (p.failure, p.first_failure))
        out.append(f'<span><b style="color:{failure_color(c)}">&#10005;</b> failed: {esc(c)} ({n})</span>')
    return "".join(out)


def _series(rep: RunReport, tag: str = "", dashed: bool = False) -> list[Series]:
    colors = _trace_colors(rep)
    by_trace: dict[str, list[ScorePoint]] = defaultdict(list)
    for p in rep.points:
        by_trace[p.trace_id].append(p)
    end = rep.state.spent_s
    return [Series(label=f"{tag}{tid}", color=colors.get(tid, "#334155"), points=by_trace.get(tid, []),
                   dashed=dashed, end_x=end) for tid in rep.trace_ids()]


def _plots(series: list[Series], lower: bool, time_markers: Sequence[Marker] = (), iter_markers: Sequence[Marker] = (),
           metric: str | None = None) -> str:
    title = f"validation {metric}" if metric else "validation score"
    a = score_plot(series, x="time", lower_is_better=lower, markers=time_markers, title=title)
    it_series = [Series(s.label, s.color, s.points, s.dashed, None) for s in series]
    b = score_plot(it_series, x="iteration", lower_is_better=lower, markers=iter_markers, title=title)
    return f'<div class="plots">{a}{b}</div>'


def _short(text: object, n: int) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _status(rep: RunReport, sid: str) -> tuple[str, str]:
    sol = rep.state.solutions[sid]
    if not sol.judged:
        return "running", "running" if sol.failure is None else f"ran: {sol.failure}"
    if sol.accepted:
        return "accepted", "accepted"
    if sol.failure not in (None, FailureClass.ok) or sol.val_score is None:
        return "failed", f"failed: {sol.failure if sol.failure not in (None, FailureClass.ok) else sol.first_failure}"
    return "rejected", short_verdict(False, sol.first_failure or "beats_sota")


def _glossary() -> str:
    """What every code on the page means, from the one table the CLI reads too (analysis/plain_words)."""
    rows = "".join(f"<tr><th scope=\"row\">{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in glossary())
    return (f'<section id="glossary"><h2>Glossary</h2><p class="muted">The codes this report and the '
            f"CLI show, in plain words.</p><table class=\"glossary\">{rows}</table></section>")


def _trees(rep: RunReport, div: DivergencePoint | None = None) -> str:
    st = rep.state
    children: dict[str, list[str]] = defaultdict(list)
    roots: dict[str, list[str]] = defaultdict(list)
    for sid, sol in st.solutions.items():
        parent = sol.parent_solution_id
        if parent and parent in st.solutions:
            children[parent].append(sid)
        else:
            roots[sol.trace_id or "?"].append(sid)
    order = {sid: (s.iteration, s.attempt, i) for i, (sid, s) in enumerate(st.solutions.items())}
    sotas = {t.sota_id for t in st.traces.values()}

    def full(sid: str) -> bool:
        return bool(children.get(sid)) or st.solutions[sid].accepted

    def node(sid: str) -> str:
        sol = st.solutions[sid]
        cls, label = _status(rep, sid)
        mark = ""
        if div and div.trace_id == sol.trace_id and div.iteration == sol.iteration:
            mark = ' <span class="badge b-div">diverged here</span>'
        star = " sota" if sid in sotas else ""
        return (f'<span class="node {cls}{star}"><span class="sid">{esc(sid)}</span> '
                f'<span class="muted">{iteration_label(sol.iteration)}{f" a{sol.attempt}" if sol.attempt else ""}</span> '
                f'<b>{fmt(sol.val_score)}</b> <span class="badge b-{cls}">{esc(label)}</span>'
                f'{" ★ trace best" if sid in sotas else ""}{mark}'
                f'<span class="hyp">{esc(_short(hypothesis_text(sol.hypothesis) if sol.hypothesis else sol.recipe or "", 180))}</span></span>')

    def chip(sid: str) -> str:
        # a step that went nowhere, shown whole: why it stopped (level or failure class) and what it tried
        sol = st.solutions[sid]
        cls, label = _status(rep, sid)
        hyp = hypothesis_text(sol.hypothesis) if sol.hypothesis else ""
        return (f'<span class="chip {cls}" data-solution="{esc(sid)}"><span class="sid">{esc(sid)}</span> '
                f'{fmt(sol.val_score, 5)} · <span class="why">{esc(label)}</span>'
                f'{" · " + esc(_short(hyp, 160)) if hyp else ""}</span>')

    def chain(start: str) -> str:
        items: list[str] = []
        cur: str | None = start
        while cur is not None:
            kids = sorted(children.get(cur, []), key=order.__getitem__)
            leaves = [k for k in kids if not full(k)]
            cont = [k for k in kids if full(k)]
            li = node(cur)
            if leaves:
                li += '<span class="chips">' + "".join(chip(k) for k in leaves) + "</span>"
            if len(cont) == 1:  # a chain of improvements stays at one indentation level
                items.append(f"<li>{li}</li>")
                cur = cont[0]
                continue
            if cont:
                li += '<ul class="branches">' + "".join(f"<li>{chain(k)}</li>" for k in cont) + "</ul>"
            items.append(f"<li>{li}</li>")
            cur = None
        return '<ul class="chain">' + "".join(items) + "</ul>"

    out = []
    traces = st.traces_in_order()
    for tr in traces:
        rs = sorted(roots.get(tr.trace_id, []), key=order.__getitem__)
        body = "".join(chain(r) for r in rs) or '<span class="muted">no solution yet</span>'
        # long traces start folded so the page stays navigable; short ones open
        fold = "" if len(tr.solutions) > TREE_OPEN_MAX else " open"
        out.append(f'<details class="trace-tree" data-trace="{esc(tr.trace_id)}"{fold}><summary class="th">trace '
                   f'{esc(tr.trace_id)} <span class="muted">· {esc(_short(tr.direction, 90))} · '
                   f'{esc(trace_progress(tr, st.config.max_iterations))} · '
                   f'{len(tr.solutions)} solutions, {tr.accepted} accepted · {esc(tr.phase.value)}'
                   f'{" (" + esc(tr.finished_reason) + ")" if tr.finished_reason else ""}</span></summary>'
                   f"{body}</details>")
    stray = [r for t, rs in roots.items() if t not in st.traces for r in rs]
    if stray:
        out.append('<details class="trace-tree" open><summary class="th">solutions outside any trace</summary>'
                   + "".join(chain(r) for r in stray) + "</details>")
    return "".join(out) or '<p class="muted">no solutions recorded</p>'


def _hypotheses(rep: RunReport, div: DivergencePoint | None = None) -> str:
    dims = rep.dimensions
    weights = rep.state.config.weights or {}
    by_trace: dict[str, list[HypothesisPool]] = defaultdict(list)
    for h in rep.hypotheses:
        by_trace[h.trace_id].append(h)
    if not by_trace:
        return '<p class="muted">no hypotheses recorded</p>'
    head = ("<tr><th class=\"it\">it</th><th class=\"cand\">cand</th><th class=\"text\">hypothesis</th>"
            "<th class=\"comp\">component</th>"
            + "".join(f'<th class="num" title="{esc(d)}, weight {fmt(weights.get(d))}"><span class="long">'
                      f'{esc(d)}</span><span class="short">{esc(d[:3])}</span>'
                      f'{"<br><span class=muted>×" + fmt(weights.get(d), 2) + "</span>" if d in weights else ""}'
                      "</th>" for d in dims)
            + '<th class="num tot">total</th><th class="draw">draw</th></tr>')
    out = []
    for tid in [t for t in rep.trace_ids() if t in by_trace] + [t for t in by_trace if t not in rep.state.traces]:
        rows = []
        for h in by_trace[tid]:
            diverged = div is not None and div.trace_id == tid and div.iteration == h.iteration
            probs = "; ".join(_short(p.get("name", ""), 60) for p in h.problems
                              if str(p.get("name", "")).strip() not in ("", "no problem visible"))
            n = max(1, len(h.candidates))
            div_badge = '<br><span class="badge b-div">diverged</span>' if diverged else ""
            first_cells = (f'<td rowspan="{n}" class="num"><b>{iteration_label(h.iteration)}</b>{div_badge}'
                           f'<br><span class="muted" title="memory version">m{h.memory_version}</span></td>')
            for i, c in enumerate(h.candidates or [{}]):
                cid = str(c.get("id", ""))
                cls = ["iter-start"] if i == 0 else []
                if cid == h.chosen_id:
                    cls.append("drawn")
                    badge = (f'<span class="badge b-drawn">drawn ★</span> '
                             f'<span class="muted seed">seed {esc(h.seed)}</span>')
                    if c.get("rejected"):  # every candidate was too similar: the least similar was drawn
                        cls.append("sim-drawn")
                        badge += (f' <span class="badge b-sim" title="{esc(c["rejected"])}">least similar '
                                  f'({fmt(_num(c.get("similarity")), 3)})</span>')
                elif c.get("rejected"):
                    cls.append("rejected-sim")
                    sim = f" (similarity {fmt(c.get('similarity'), 3)})" if c.get("similarity") is not None else ""
                    badge = (f'<span class="badge b-sim" title="{esc(c["rejected"])}">rejected'
                             f'<span class="long">{esc(sim)}</span></span>')
                elif cid in h.pool:
                    badge = ('<span class="badge b-pool"><span class="long">in top-k pool</span>'
                             '<span class="short">pool</span></span>')
                else:
                    badge = ""
                if diverged:
                    cls.append("diverged")
                scores = c.get("scores") or {}
                text = esc(_short(hypothesis_text(c.get("text", "")), 400))
                if i == 0 and probs:
                    text += f'<br><span class="muted">problems: {esc(probs)}</span>'
                rows.append(
                    f'<tr class="{" ".join(cls)}" data-trace="{esc(tid)}" data-iteration="{h.iteration}">'
                    + (first_cells if i == 0 else "")
                    + f'<td class="mono">{esc(cid)}</td><td class="text">{text}</td>'
                    f'<td class="comp">{esc(c.get("component", ""))}</td>'
                    + "".join(f'<td class="num">{fmt(_num(scores.get(d)), 3)}</td>' for d in dims)
                    + f'<td class="num"><b>{fmt(_num(c.get("total")), 3)}</b></td><td>{badge}</td></tr>')
        out.append(f'<details open><summary>trace {esc(tid)} · {len(by_trace[tid])} iterations</summary>'
                   f'<table class="hypotheses">{head}{"".join(rows)}</table></details>')
    return "".join(out)


def _num(x: object) -> float | None:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _memory(rep: RunReport) -> str:
    mem = rep.state.memory
    if not mem:
        return '<p class="muted">the success memory stayed empty (no accepted improvement over a parent)</p>'
    deltas = [float(m.get("delta", 0.0)) for m in mem]
    bars = spark_bars(deltas).split("</svg>")
    rows, total = [], 0.0
    for m, d, bar in zip(mem, deltas, bars):
        total += d
        rows.append(
            f'<tr><td class="num">v{esc(m.get("version"))}</td><td>{esc(m.get("trace_id"))}</td>'
            f'<td class="num">{esc(_it_label(m.get("iteration")))}</td><td class="mono">{esc(m.get("solution_id"))}</td>'
            f'<td>{esc(m.get("component"))}</td><td class="num">{fmt(d, 4)}</td><td>{bar}</svg></td>'
            f'<td class="num">{fmt(total, 4)}</td><td class="num">{fmt(_num(m.get("val_score")))}</td>'
            f'<td class="text"><div class="memo">{esc(_short(hypothesis_text(m.get("hypothesis", "")), 300))}'
            "</div></td></tr>")
    return ('<table class="memory"><tr><th class="num">version</th><th>trace</th><th class="num">it</th>'
            '<th>solution</th><th>component</th><th class="num">delta</th><th></th><th class="num">cumulative</th>'
            '<th class="num">val score</th><th>hypothesis</th></tr>' + "".join(rows) + "</table>")


def _cost(rep: RunReport) -> str:
    st = rep.state

    def table(title: str, uses: dict[str, LlmUse]) -> str:
        rows = "".join(
            f'<tr><td>{esc(k)}</td><td class="num">{u.calls}</td><td class="num">{u.errors}</td>'
            f'<td class="num">{u.prompt_tokens:,}</td><td class="num">{u.completion_tokens:,}</td>'
            f'<td class="num">${u.cost_usd:,.4f}</td>'
            f'<td class="num">{(u.latency_s / u.answered if u.answered else 0):.2f} s</td></tr>'
            for k, u in sorted(uses.items()))
        return (f'<h3>by {title}</h3><table class="cost"><tr><th>{title}</th><th class="num">calls</th>'
                '<th class="num">errors</th><th class="num">prompt tokens</th><th class="num">completion tokens</th>'
                f'<th class="num">cost</th><th class="num">mean latency</th></tr>{rows}</table>')

    ex = [c.result for c in st.executions.values() if c.result]
    exec_s = sum(float(r.get("duration_s") or 0) for r in ex)
    uses = list(rep.llm_by_purpose.values()) + list(rep.llm_by_model.values())
    if not st.cost_usd and not any(u.cost_usd or u.prompt_tokens or u.completion_tokens for u in uses):
        # an offline reasoner: no money, no tokens, nothing a table of zeros would tell
        return (f'<p class="no-cost">No LLM cost: the reasoner is {esc(st.reasoner.get("kind", "?"))}, '
                f"{len(st.llm)} calls answered without tokens or money; {len(ex)} experiments ran for "
                f"{_dur(exec_s)} in total.</p>")
    return (f'<p><b>${st.cost_usd:,.4f}</b> for <b>{st.tokens.get("prompt", 0):,}</b> prompt and '
            f'<b>{st.tokens.get("completion", 0):,}</b> completion tokens in {len(st.llm)} LLM calls; '
            f'{len(ex)} experiments ran for {_dur(exec_s)} in total.</p>'
            + table("purpose", rep.llm_by_purpose) + table("model", rep.llm_by_model))


def _budget(rep: RunReport) -> str:
    st = rep.state
    budget = st.budget_s
    whole = max(budget, st.spent_s + st.downtime_s, 1e-9)
    spent_w = 100 * st.spent_s / whole
    down_w = 100 * st.downtime_s / whole
    bar = (f'<div class="barwrap" title="spent {_dur(st.spent_s)} of {_dur(budget)}">'
           f'<div class="spent" style="width:{spent_w:.2f}%"></div>'
           f'<div class="down" style="left:{spent_w:.2f}%;width:{down_w:.2f}%"></div></div>')
    resumes = "".join(
        f'<tr><td class="num">{esc(r.get("seq"))}</td><td>{esc(r.get("cause"))}</td>'
        f'<td class="num">{_dur(float(r.get("gap_s") or 0))}</td><td>{"yes" if r.get("count_downtime") else "no"}</td>'
        f'<td class="num">{len(r.get("redo_keys") or [])}</td></tr>' for r in st.resumes)
    rtable = ('<h3>resumes</h3><table><tr><th class="num">seq</th><th>cause</th><th class="num">gap</th>'
              f'<th>gap counted</th><th class="num">redone effects</th></tr>{resumes}</table>') if resumes else ""
    wall = (st.last_ts or 0) - (st.first_ts or 0)
    return (f"<p>spent <b>{_dur(st.spent_s)}</b> of a <b>{_dur(budget)}</b> budget "
            f"({_dur(max(0.0, st.budget_left_s))} left); downtime not counted: <b>{_dur(st.downtime_s)}</b>; "
            f"wall clock from first to last event: {_dur(wall)}; {len(st.resumes)} resumes, "
            f"{len(st.stops)} graceful stops.</p>{bar}"
            '<div class="legend"><span><span class="sw" style="background:#2563eb"></span>spent</span>'
            '<span><span class="sw" style="background:#94a3b8"></span>downtime (crash gaps)</span></div>' + rtable)


def _grade(rep: RunReport) -> str:
    st = rep.state
    sel = st.selected
    parts = []
    if sel:
        parts.append(f'<p>selected <span class="mono">{esc(sel.get("solution_id"))}</span> from trace '
                     f'{esc(sel.get("selected_trace"))} by {esc(sel.get("by"))} (validation score '
                     f'{fmt(_num(sel.get("val_score")))}): {esc(_short(sel.get("reason", ""), 300))}</p>')
    else:
        parts.append('<p class="muted">no submission selected yet</p>')
    g = st.grade
    if not g:
        parts.append('<p class="muted">the selected submission has not been graded (no SubmissionGraded event)</p>')
        return "".join(parts)
    lines = {k: _num(g.get(f"{k}_threshold")) for k in ("median", "bronze", "silver", "gold")}
    th = {k: v for k, v in lines.items() if v is not None}
    lower = bool(g.get("is_lower_better", st.lower_is_better))
    metric = st.task.get("metric") or "score"
    valid = "valid submission" if g.get("valid_submission", True) else "invalid submission"
    parts.append(f"<p>test {esc(metric)} <b>{fmt(_num(g.get('score')))}</b> {_medal(g)} "
                 f"<span class=\"muted\">({'lower' if lower else 'higher'} is better; {valid})</span></p>")
    parts.append(grade_scale(_num(g.get("score")), th, lower))
    score = _num(g.get("score"))

    def passed(k: str, line: float) -> str:
        if k == "median":  # MLE-bench: strictly above the median
            ok = bool(g.get("above_median"))
        else:
            ok = score is not None and (score <= line if lower else score >= line)
        medal = " (the medal)" if g.get(f"{k}_medal") else ""
        return ("passed" + medal) if ok else "not passed"

    rows = "".join(f'<tr><td>{esc(k)}</td><td class="num">{fmt(v)}</td><td>{passed(k, v)}</td></tr>'
                   for k, v in th.items())
    parts.append('<table class="grade" style="max-width:460px"><tr><th>line</th><th class="num">'
                 f'{esc(metric)}</th><th>this submission</th></tr>{rows}</table>'
                 '<p class="muted">MLE-bench awards one medal, the highest line passed; its medal flags are '
                 "exclusive, so a silver submission has passed the bronze line too.</p>")
    return "".join(parts)


def _sources(rep: RunReport) -> str:
    """Imported runs: each step with the foreign files it came from (its declared provenance)."""
    if not rep.sources:
        return ""
    rows = []
    for r in rep.sources:
        where = f"loop {r['loop']} {r.get('step') or ''}" if r.get("loop") is not None else "run"
        files = "<br>".join(f'<span class="mono">{esc(f.get("path"))}</span> '
                            f'<span class="muted">{esc(f.get("dialect"))}, {esc(f.get("signature"))}</span>'
                            for f in r["files"])
        rows.append(f'<tr><td class="num">{r["seq"]}</td><td>{esc(r["type"])}'
                    f'{" (inferred)" if r.get("inferred") else ""}</td><td>{esc(r.get("trace") or "-")}</td>'
                    f"<td>{esc(where)}</td><td>{files}</td></tr>")
    return (f'<section id="sources"><h2>Where every step came from ({esc(rep.state.origin)} log folder)</h2>'
            f"<details><summary>{len(rep.sources)} steps and records, with their source files</summary>"
            '<table><tr><th class="num">seq</th><th>event</th><th>trace</th><th>foreign step</th>'
            f'<th>files (dialect, signature)</th></tr>{"".join(rows)}</table></details></section>')


def _sections(rep: RunReport, div: DivergencePoint | None = None) -> str:
    return (f'<section id="trees"><h2>Trace trees</h2>{_trees(rep, div)}</section>'
            f'<section id="hypotheses"><h2>Hypotheses: dimension scores, totals and the draw</h2>'
            f"{_hypotheses(rep, div)}</section>"
            f'<section id="memory"><h2>Success memory as it grew</h2>{_memory(rep)}</section>'
            f'<section id="cost"><h2>Cost and tokens</h2>{_cost(rep)}</section>'
            f'<section id="budget"><h2>Budget</h2>{_budget(rep)}</section>'
            f'<section id="grade"><h2>Final grade</h2>{_grade(rep)}</section>' + _sources(rep))


# ------------------------------------------------------------------ pages


def render_report(rep: RunReport) -> str:
    """One run's report as a complete HTML document."""
    plots = _plots(_series(rep), rep.state.lower_is_better, metric=rep.state.task.get("metric"))
    body = (_header(rep) + "<main>" + f"<section id=\"summary\">{_cards(rep)}</section>"
            f'<section id="scores"><h2>Validation {esc(_metric_title(rep))} over time</h2>'
            f'<div class="legend">{_legend_traces(rep)}</div><div class="legend">{_legend_marks(rep.points)}</div>'
            f"{plots}</section>" + _timelines(rep) + _sections(rep) + _glossary() + "</main>")
    return _page(f"gome report {rep.run_id}", body)


def _timelines(rep: RunReport) -> str:
    """Each trace's experiments on the budget clock (traces side by side: the asynchronous schedule)."""
    # lazy: keeps gome <cmd> --help light
    from .timeline import svg_lanes

    if not rep.state.executions:
        return ""
    return (f'<section id="timelines"><h2>Trace timelines ({esc(rep.state.config.schedule)} '
            f"schedule)</h2>{svg_lanes(rep.state, rep.elapsed_at, _trace_colors(rep))}</section>")


def render_comparison(a: RunReport, b: RunReport, div: DivergencePoint | None, pairing: str = "",
                      renamed: dict[str, str] | None = None) -> str:
    """Two runs side by side, with their first divergence marked in every view.

    ``pairing`` says which trace of B was compared with which of A when the ids
    disagree (``gome diff`` pairs traces by starting direction); ``renamed`` is that
    pairing (B's own trace id -> the A trace it is compared with), which the steps table follows."""
    lower = a.state.lower_is_better
    share_direction_colors(a, b)
    tmarks, imarks = [], []
    if div is not None:
        seq = div.seq_a if div.seq_a is not None else div.seq_b
        src = a if div.seq_a is not None else b
        if seq is not None and seq in src.elapsed_at:
            tmarks.append(Marker(src.elapsed_at[seq], "first divergence"))
        if div.iteration is not None:
            imarks.append(Marker(div.iteration, "first divergence"))
    series = _series(a, "A ") + _series(b, "B ", dashed=True)
    if div is None:
        banner = ('<section class="divergence" style="border-color:#16a34a;background:#f0fdf4">'
                  "<h2>The runs took the same path</h2><p>no decision or outcome differs (volatile fields "
                  "such as durations and hosts excluded).</p></section>")
    else:
        banner = (f'<section class="divergence" id="divergence"><h2>First divergence: {esc(div.label())}</h2>'
                  f"<p>{esc(div.why)}</p><p class=\"muted\">A seq {esc(div.seq_a)} ({esc(div.type_a)}) · "
                  f"B seq {esc(div.seq_b)} ({esc(div.type_b)}) · found by "
                  f"{'gome diff' if div.source == 'diff' else 'the report (stream by stream)'}</p></section>")
    if pairing:
        banner += (f'<p class="pairing" id="pairing">Traces compared by starting direction: {esc(pairing)}. '
                   "The steps table pairs them so (B's own trace id beside each step); "
                   "further below, trace ids are each run's own.</p>")
    head = (f'<header class="top"><h1>gome report · <span class="run-tag" style="background:#2563eb">A</span>'
            f'{esc(a.run_id)} vs <span class="run-tag" style="background:#d97706">B</span>{esc(b.run_id)}</h1>'
            f'<div class="sub">{esc(f"task {a.state.task_id} vs {b.state.task_id}")}</div></header>')
    legend = (f'<div class="legend">{_legend_traces(a, "A ")}</div>'
              f'<div class="legend">{_legend_traces(b, "B ", dashed=True)}</div>'
              f'<div class="legend">{_legend_marks(a.points + b.points)}</div>')
    cols = "".join(
        f'<div class="run-col" data-run="{esc(r.run_id)}"><section><h2><span class="run-tag" '
        f'style="background:{c}">{t}</span>{esc(r.run_id)}</h2>{_cards(r)}</section>{_sections(r, div)}</div>'
        for r, t, c in ((a, "A", "#2563eb"), (b, "B", "#d97706")))
    body = (head + "<main>" + banner
            + f'<section id="scores"><h2>Validation {esc(_metric_title(a))} over time (A solid, B dashed)</h2>{legend}'
            f"{_plots(series, lower, tmarks, imarks, a.state.task.get('metric'))}</section>"
            + _steps_side_by_side(a, b, div, renamed or {})
            + f'<div class="pair">{cols}</div>' + _glossary() + "</main>")
    return _page(f"gome report {a.run_id} vs {b.run_id}", body)


def _steps_side_by_side(a: RunReport, b: RunReport, div: DivergencePoint | None, renamed: dict[str, str]) -> str:
    """One row per step (trace, iteration, attempt) of either run, A and B in one row.

    A step of B sits beside the step of A's trace it is paired with (``renamed``: B's own trace id
    -> A's, as `gome diff` pairs traces by starting direction when seeds swap them); without a
    renaming, traces meet by id.  Rows are keyed by A's trace ids; B's own id is shown where it differs."""
    def steps(rep: RunReport, rename: dict[str, str]) -> dict[tuple[str, int, int], str]:
        return {(rename.get(sol.trace_id or "?", sol.trace_id or "?"), sol.iteration, sol.attempt): sid
                for sid, sol in rep.state.solutions.items()}

    sa, sb = steps(a, {}), steps(b, renamed)
    own_b = {under: own for own, under in renamed.items()}  # the id a row's trace has in B
    keys = sorted(set(sa) | set(sb), key=lambda k: (k[0], k[1], k[2]))
    if not keys:
        return ""

    def cells(rep: RunReport, sid: str | None, other: tuple[str, str, str] | None) -> tuple[str, tuple[str, str, str]]:
        if sid is None:
            return ('<td class="side muted" colspan="3">step not taken</td>', ("", "", ""))
        sol = rep.state.solutions[sid]
        _, label = _status(rep, sid)
        mine = (fmt(sol.val_score, 5), label, hypothesis_text(sol.hypothesis))

        def td(i: int, body: str, cls: str) -> str:
            differs = other is not None and other[i] != mine[i]
            mark = '<span class="mark">* </span>' if differs else ""
            return f'<td class="{cls}{" differs" if differs else ""}">{mark}{body}</td>'

        return (td(0, mine[0], "side num") + td(1, esc(label), "") + td(2, esc(_short(mine[2], 220)), "text"),
                mine)

    rows = []
    for k in keys:
        ca, va = cells(a, sa.get(k), None)
        cb, _ = cells(b, sb.get(k), va if k in sa else None)
        diverged = div is not None and div.trace_id == k[0] and div.iteration == k[1]
        badge = ' <span class="badge b-div">first divergence</span>' if diverged else ""
        tb = own_b.get(k[0], k[0])  # the trace's id in B
        name = k[0] if k[0] in a.state.traces else tb  # A's id; B's for a trace A has no partner for
        other = f' <span class="muted b-own">B: {esc(tb)}</span>' if name != tb and k in sb else ""
        rows.append(f'<tr data-trace="{esc(name)}" data-trace-b="{esc(tb)}" data-iteration="{k[1]}"'
                    f'{" class=diverged-step" if diverged else ""}><td class="mono">{esc(name)} {iteration_label(k[1])}'
                    f'{" a" + str(k[2]) if k[2] else ""}{other}{badge}</td>{ca}{cb}</tr>')
    metric = esc(a.state.task.get("metric") or "score")
    head = ('<tr><th style="width:9%">step</th><th class="num" style="width:7%">A ' + metric + '</th>'
            '<th style="width:12%">A verdict</th><th>A hypothesis</th><th class="num" style="width:7%">B '
            + metric + '</th><th style="width:12%">B verdict</th><th>B hypothesis</th></tr>')
    paired = (" B's traces sit beside A's trace of the same starting direction, as <code>gome diff</code> "
              "pairs them; “B: …” gives the trace's own id in B.") if renamed else ""
    return ('<section id="steps"><h2>Steps side by side</h2><p class="muted">one row per (trace, iteration, '
            f'attempt); <span class="mark">*</span> marks where B differs from A.{paired}</p>'
            f'<table class="steps" style="table-layout:fixed">{head}{"".join(rows)}</table></section>')
