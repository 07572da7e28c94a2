"""The server's own pages: the run list, the sweep list, a sweep's cells, the error pages.

Pure: each function takes rows (plain dicts, as the library's tables give them) and returns
an HTML document.  Everything that comes from the database or the request (run ids, task
names, hypotheses, the path asked for) is hostile text and goes through
:func:`~gome_es.report.svg.esc` where it is written; links are built with :func:`href`, which
percent-encodes the id before it is escaped.  The report pages themselves are
:mod:`gome_es.report`'s, wrapped by :mod:`.live`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from .. import __version__
from ..report.html import CSS as REPORT_CSS
from ..report.svg import esc as esc  # re-exported: app.py escapes through pages.esc

NAV_CSS = """
nav.gome-nav{background:#1e293b;color:#cbd5e1;padding:7px 24px;font:13px/1.4 system-ui,sans-serif;
 display:flex;flex-wrap:wrap;gap:4px 18px;align-items:center}
nav.gome-nav a{color:#e2e8f0;text-decoration:none;font-weight:600}
nav.gome-nav a:hover{text-decoration:underline}
nav.gome-nav .live{margin-left:auto;font-variant-numeric:tabular-nums}
nav.gome-nav .live[data-state=live]:before{content:"\\25CF ";color:#22c55e}
nav.gome-nav .live[data-state=finished]:before{content:"\\25A0 ";color:#94a3b8}
nav.gome-nav .live[data-state=lost]:before{content:"\\25CF ";color:#f59e0b}
form.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:end;margin:0 0 10px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#475569}
form.filters select{font:inherit;padding:2px 4px}
.notice{border:1px solid #d97706;background:#fffbeb;border-radius:8px;padding:8px 12px;margin:10px 0}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:nowrap}
a{color:#1d4ed8}
"""

# the statuses a run can have in `gome runs` (RunFinished's, or what an unfinished run is now)
STATUSES = ("completed", "budget_exhausted", "failed", "running", "stopped", "interrupted", "forked")
FILTERS = ("task", "status", "sweep", "variant")


def href(kind: str, ident: str, tail: str = "") -> str:
    """The path of a run's or sweep's page: ``/runs/<id>`` with the id percent-encoded."""
    return f"/{kind}/{quote(str(ident), safe='')}{tail}"


def nav(extra: str = "") -> str:
    """The bar on top of every page the server sends (report pages included)."""
    return (f'<nav class="gome-nav"><a href="/">runs</a><a href="/sweeps">sweeps</a>'
            f'<span class="muted">gome serve · read-only</span>{extra}</nav>')


def page(title: str, body: str, *, status_line: str = "") -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{esc(title)}</title><style>{REPORT_CSS}{NAV_CSS}</style></head><body>"
            f"{nav(status_line)}<main>{body}</main>"
            f"<footer>gome-es {esc(__version__)} · read from the event log, never written</footer></body></html>\n")


def _num(x: Any, digits: int = 5) -> str:
    if x is None or isinstance(x, bool):
        return "-" if x is None else ("yes" if x else "no")
    try:
        f = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if not math.isfinite(f):
        return "-"
    return esc(f"{f:.{digits}g}")


def _text(x: Any) -> str:
    """A table cell's text: a missing value (None, pandas' NaN) shows as a dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return esc(x)


def _when(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts))) + " UTC"
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"


def _duration(s: Any) -> str:
    try:
        s = max(0.0, float(s))
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(s):
        return "-"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _select(name: str, current: str | None, values: Iterable[str]) -> str:
    opts = [f'<option value=""{"" if current else " selected"}>any</option>']
    for v in values:
        sel = " selected" if v == current else ""
        opts.append(f'<option value="{esc(v)}"{sel}>{esc(v)}</option>')
    return f'<label>{esc(name)}<select name="{esc(name)}">{"".join(opts)}</select></label>'


def run_list(rows: Sequence[Mapping[str, Any]], *, filters: Mapping[str, str | None],
             choices: Mapping[str, Sequence[str]], notices: Sequence[str] = (), total: int) -> str:
    """The run list: a filter form (each filter a select of the values the database holds), one
    row per run with its whole id linked to its live report, and a checkbox per run for compare."""
    form = ('<form class="filters" method="get" action="/">'
            + "".join(_select(f, filters.get(f), choices.get(f, ())) for f in FILTERS)
            + '<button type="submit">filter</button> <a href="/">clear</a></form>')
    warn = "".join(f'<div class="notice">{esc(n)}</div>' for n in notices)
    head = ("<tr><th></th><th>run</th><th>task</th><th>status</th><th>sweep</th><th>variant</th>"
            '<th>started</th><th class="num">duration</th><th class="num">iterations</th>'
            '<th class="num">events</th><th class="num">best val</th><th class="num">test</th><th>medal</th></tr>')
    body = []
    for r in rows:
        rid = str(r["run_id"])
        sweep = r.get("sweep")
        sweep_cell = (f'<a class="id" href="{esc(href("sweeps", sweep))}">{esc(sweep)}</a>'
                      if isinstance(sweep, str) and sweep else "-")
        body.append(
            f'<tr data-run="{esc(rid)}"><td><input type="checkbox" name="run" value="{esc(rid)}" '
            f'form="compare"></td><td class="id"><a href="{esc(href("runs", rid))}">{esc(rid)}</a></td>'
            f'<td>{_text(r.get("task"))}</td><td>{_text(r.get("status"))}</td><td class="id">{sweep_cell}</td>'
            f'<td>{_text(r.get("variant"))}</td><td>{_when(r.get("started"))}</td>'
            f'<td class="num">{_duration(r.get("duration_s"))}</td><td class="num">{_num(r.get("iterations"))}</td>'
            f'<td class="num">{_num(r.get("events"))}</td><td class="num">{_num(r.get("best_val_score"))}</td>'
            f'<td class="num">{_num(r.get("test_score"))}</td><td>{_text(r.get("medal"))}</td></tr>')
    shown = f"{len(rows)} of {total} runs" if len(rows) != total else f"{total} runs"
    table = (f'<table class="runs">{head}{"".join(body)}</table>' if rows
             else '<p class="muted">no run matches these filters</p>')
    compare = ('<form id="compare" method="get" action="/compare"><button type="submit">compare the ticked runs'
               '</button> <span class="muted">two runs: side by side with their first divergence; more: '
               'grouped by task and variant</span></form>')
    return page("gome runs", f'<section><h2>Runs <span class="muted">({shown})</span></h2>{form}{warn}'
                             f"{compare}{table}</section>")


def sweep_list(rows: Sequence[Mapping[str, Any]]) -> str:
    head = ('<tr><th>sweep</th><th class="num">cells</th><th class="num">done</th><th class="num">running</th>'
            '<th class="num">failed</th><th class="num">left</th><th>finished</th><th></th></tr>')
    body = []
    for r in rows:
        sid = str(r["sweep_id"])
        body.append(
            f'<tr data-sweep="{esc(sid)}"><td class="id"><a href="{esc(href("sweeps", sid))}">{esc(sid)}</a></td>'
            + "".join(f'<td class="num">{_num(r.get(k))}</td>' for k in ("cells", "done", "running", "failed", "left"))
            + f'<td>{_num(bool(r.get("finished")))}</td>'
            f'<td><a href="/compare?{esc(urlencode({"run": sid}))}">compare its runs</a></td></tr>')
    table = f"<table>{head}{''.join(body)}</table>" if rows else '<p class="muted">no sweep in this database</p>'
    return page("gome sweeps", f"<section><h2>Sweeps</h2>{table}</section>")


def sweep_cells(sweep_id: str, rows: Sequence[Mapping[str, Any]], have_run: set[str]) -> str:
    """One sweep's cells, each linked to its run's page once the run has events."""
    head = ('<tr><th>task</th><th>variant</th><th class="num">seed</th><th>run</th><th>status</th>'
            '<th class="num">tries failed</th><th class="num">duration</th><th>valid</th>'
            '<th class="num">val score</th><th class="num">test score</th><th>medal</th></tr>')
    body = []
    for r in rows:
        rid = str(r.get("run_id") or "")
        run = (f'<a href="{esc(href("runs", rid))}">{esc(rid)}</a>' if rid in have_run
               else f'{esc(rid)} <span class="muted">(no events yet)</span>')
        body.append(
            f'<tr data-run="{esc(rid)}"><td>{_text(r.get("task"))}</td><td>{_text(r.get("variant"))}</td>'
            f'<td class="num">{_num(r.get("seed"))}</td><td class="id">{run}</td><td>{_text(r.get("status"))}</td>'
            f'<td class="num">{_num(r.get("tries_failed"))}</td><td class="num">{_duration(r.get("duration_s"))}</td>'
            f'<td>{_num(r.get("valid"))}</td><td class="num">{_num(r.get("val_score"))}</td>'
            f'<td class="num">{_num(r.get("score"))}</td><td>{_text(r.get("medal"))}</td></tr>')
    links = (f'<p><a href="/compare?{esc(urlencode({"run": sweep_id}))}">compare its runs</a> (grouped by task '
             f'and variant, with plots) · <a href="{esc(href("sweeps", sweep_id, "/report"))}">the sweep report</a> '
             f"(what `gome sweep report` writes)</p>")
    table = f"<table>{head}{''.join(body)}</table>" if rows else '<p class="muted">the sweep has no cells</p>'
    return page(f"gome sweep {sweep_id}", f'<section><h2>Sweep <span class="id">{esc(sweep_id)}</span></h2>'
                                          f"{links}{table}</section>")


def not_found(message: str, near: Sequence[str] = (), kind: str = "runs") -> str:
    """The 404 page: what was not found (the library's message, naming the nearest ids) and
    links to those ids."""
    links = "".join(f'<li><a class="id" href="{esc(href(kind, n))}">{esc(n)}</a></li>' for n in near)
    more = f"<p>Perhaps:</p><ul>{links}</ul>" if links else ""
    return page("not found", f'<section><h2>Not found</h2><p>{esc(message)}</p>{more}'
                             '<p><a href="/">all runs</a> · <a href="/sweeps">all sweeps</a></p></section>')


def problem(title: str, message: str) -> str:
    """A page for a request the server cannot answer (a bad filter, a run it cannot fold)."""
    return page(title, f"<section><h2>{esc(title)}</h2><p>{esc(message)}</p>"
                       '<p><a href="/">all runs</a></p></section>')
