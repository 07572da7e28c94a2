"""A report page made live: the HTML `gome report RUN` writes, with the server's bar and one script.

The report itself stays :mod:`gome_es.report`'s (one report, two ways to see it).  Its own
Content-Security-Policy forbids every script, so :func:`serve_report` swaps that meta tag
for the server's policy (sent as a header too), which allows one script from the server
itself (:data:`LIVE_JS`) and connections back to it, nothing else.

The script listens to the run's server-sent events (``/runs/<id>/stream``, one ``head``
message each time the run's last seq moves on, ``finished`` once it has a ``RunFinished``);
on a new seq it fetches the page again and swaps the header and the main part in place,
keeping open sections open.  Pure: strings in, strings out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..report.svg import esc
from .pages import NAV_CSS, href, nav

# what every page the server sends may do: its own inline styles, data: images, one script
# and connections back to the server; no other origin, no frame, no plugin
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>', re.IGNORECASE)


def live_badge(run_id: str, seq: int, finished: bool, status: str) -> str:
    """The element the script keeps current; ``data-seq`` is the run's last seq in this page."""
    state = "finished" if finished else "live"
    words = (f"finished · {seq} events" if finished else f"following the log · seq {seq} · {status}")
    return (f'<span id="gome-live" class="live" data-state="{state}" data-seq="{int(seq)}" '
            f'data-run="{esc(run_id)}" data-page="{esc(href("runs", run_id))}" '
            f'data-stream="{esc(href("runs", run_id, "/stream"))}">{esc(words)}</span>')


def wrap(report_html: str, extra_nav: str = "", *, script: bool = False) -> str:
    """``report_html`` (a whole document from :mod:`gome_es.report`) with the server's bar on top,
    its CSP meta tag removed (the server's header applies), and the live script when ``script``."""
    text = _META_CSP.sub("", report_html, count=1)
    text = text.replace("</head>", f"<style>{NAV_CSS}</style></head>", 1)
    head, sep, rest = text.partition("<body>")
    if not sep:  # not a document of ours: show it under the bar all the same
        head, rest = "", text
    text = f"{head}<body>{nav(extra_nav)}{rest}"
    if script:
        before, sep, after = text.rpartition("</body>")
        tag = '<script src="/static/live.js" defer></script>'
        text = f"{before}{tag}</body>{after}" if sep else text + tag
    return text


def serve_report(report_html: str, run_id: str, seq: int, finished: bool, status: str) -> str:
    """One run's report as the server sends it: live while the run is unfinished."""
    return wrap(report_html, live_badge(run_id, seq, finished, status), script=True)


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (``event:`` and one ``data:`` line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, sort_keys=True)}\n\n".encode()


# The browser side: no framework, no other origin.  On a new seq it refetches the page and swaps
# header.top, main and the badge; a refetch that fails leaves the page as it was, marked "lost".
LIVE_JS = r"""'use strict';
(function () {
  var badge = document.getElementById('gome-live');
  if (!badge) { return; }
  var seq = Number(badge.getAttribute('data-seq')) || 0;
  var page = badge.getAttribute('data-page');
  var busy = false, again = false;

  // a <details> is known by its section and its place there (summaries hold counts that change)
  function keyed(root, each) {
    var seen = {};
    root.querySelectorAll('main details').forEach(function (d) {
      var section = d.closest('section');
      var where = section && section.id ? section.id : '';
      seen[where] = (seen[where] || 0) + 1;
      each(where + '/' + seen[where], d);
    });
  }

  function openSections() {
    var open = {};
    keyed(document, function (key, d) { open[key] = d.open; });
    return open;
  }

  function swap(doc) {
    var fresh = doc.getElementById('gome-live');
    var n = fresh ? Number(fresh.getAttribute('data-seq')) : 0;
    if (!fresh || n <= seq) { return; }
    var open = openSections();
    ['header.top', 'main'].forEach(function (sel) {
      var now = document.querySelector(sel), next = doc.querySelector(sel);
      if (now && next) { now.replaceWith(document.adoptNode(next)); }
    });
    keyed(document, function (key, d) {
      if (Object.prototype.hasOwnProperty.call(open, key)) { d.open = open[key]; }
    });
    fresh = document.adoptNode(fresh);
    badge.replaceWith(fresh);
    badge = fresh;
    seq = n;
    document.title = doc.title;
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(page, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (html) { swap(new DOMParser().parseFromString(html, 'text/html')); })
      .catch(function (e) { badge.setAttribute('data-state', 'lost'); badge.title = String(e); })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  function onHead(ev) {
    var d = JSON.parse(ev.data);
    if (d.seq > seq) { refresh(); }
  }

  if (!window.EventSource) {  // an old browser: poll the head instead
    setInterval(function () {
      fetch(badge.getAttribute('data-stream').replace(/\/stream$/, '/head'), {cache: 'no-store'})
        .then(function (r) { return r.json(); })
        .then(function (d) { if (d.seq > seq) { refresh(); } });
    }, 2000);
    return;
  }
  var source = new EventSource(badge.getAttribute('data-stream'));
  source.addEventListener('head', onHead);
  source.addEventListener('finished', function (ev) { onHead(ev); source.close(); });
  source.onerror = function () { badge.setAttribute('data-state', 'lost'); };
  source.onopen = function () {
    if (badge.getAttribute('data-state') === 'lost') { badge.setAttribute('data-state', 'live'); }
  };
})();
"""
