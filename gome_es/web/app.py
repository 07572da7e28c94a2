"""The web view as a Starlette application: :func:`create_app` (what `gome serve` runs and tests drive).

Every route is a GET over the library (:class:`gome_es.api.Database`, opened read-only for
each request, so a page always shows what the log holds now and nothing here can write):

=================================  ==========================================================
``/``                              the run list, filtered by ``task``, ``status``, ``sweep``,
                                   ``variant`` (query parameters)
``/runs/<id>``                     the run's report (`gome report RUN`'s page), live while
                                   the run writes; ``<id>`` may be a prefix or ``@last``
``/runs/<id>/stream``              server-sent events: ``head`` when the last seq moves on,
                                   ``finished`` once the run has finished
``/runs/<id>/head``                the same as one JSON answer (for scripts and old browsers)
``/runs/<id>/report.html``         the report exactly as `gome report RUN` writes it
``/compare?run=A&run=B``           two runs side by side (`gome report A B`); with more runs,
                                   sweeps, or ``view=table``: `gome compare`'s page
``/sweeps``, ``/sweeps/<id>``      the sweeps, and one sweep's cells linked to their runs
``/sweeps/<id>/report``            `gome sweep report`'s page
=================================  ==========================================================

An unknown id answers 404 with the nearest ids.  A guard checks the ``Host`` header (a page
bound to the loopback answers only to loopback names, so another site cannot reach it
through DNS rebinding) and sets the Content-Security-Policy on every answer.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api.database import Database
from ..driver.lease import live_status
from ..errors import GomeError, RunNotFound
from ..report.build import build_report
from ..report.compare import collect, render_html, summarize
from ..report.tables import sweep_ids
from ..sweep import report as sweep_report_page
from . import live, pages

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

# What folding an event this code does not understand raises (as the CLI's `foldable` lists them)
UNFOLDABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


class WebError(GomeError):
    """The web view cannot start or answer as asked."""


# ------------------------------------------------------------------ the guard


def host_allowed(host_header: str, allowed: Sequence[str] | None) -> bool:
    """Whether a request's ``Host`` header names one of ``allowed`` (any port); None allows all."""
    if allowed is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in allowed


class Guard:
    """Refuses requests for other host names, and sets the headers every answer carries."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts] if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if not host_allowed(host, self.allowed):
            answer = Response(f"gome serve answers only to {', '.join(self.allowed or [])}, not to host "
                              f"{host[:100]!r}\n", status_code=421, media_type="text/plain")
            await answer(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = live.CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ------------------------------------------------------------------ the application


class WebView:
    """The routes' state: where the database is, and the reports already rendered."""

    def __init__(self, db_path: str | Path, *, poll_s: float = 0.5, stream_max_s: float = 300.0,
                 cache_size: int = 32) -> None:
        self.db_path = Path(db_path)
        self.poll_s = poll_s
        self.stream_max_s = stream_max_s
        self.stopping = threading.Event()  # set when the server stops: open streams end at their next look
        self._cache: OrderedDict[tuple[str, ...], str] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        with self.open():  # a missing or foreign file is an error now, not at the first request
            pass

    @contextmanager
    def open(self) -> Iterator[Database]:
        db = Database(self.db_path)
        try:
            yield db
        finally:
            db.close()

    def cached(self, key: tuple[str, ...], make: Any) -> str:
        """The text for ``key`` (a run's id and head hash: a new event makes a new key)."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        text = str(make())
        with self._lock:
            self._cache[key] = text
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return text


def _near(db: Database, given: str) -> list[str]:
    """The ids an unknown ``given`` most likely meant: those it starts, else the closest spellings."""
    ids = db.store.query("SELECT DISTINCT run_id FROM events ORDER BY run_id")
    names = [str(r[0]) for r in ids]
    starts = [n for n in names if given and n.startswith(given)]
    return starts[:8] or difflib.get_close_matches(given[:100], names, n=3, cutoff=0.6)


def _not_found(db: Database, given: str, exc: GomeError, kind: str = "runs") -> HTMLResponse:
    return HTMLResponse(pages.not_found(str(exc), _near(db, given), kind), status_code=404)


def _lookup_json(db: Database, given: str) -> str | Response:
    """The full id ``given`` names, or the JSON 404 the live endpoints answer: the error and the nearest ids."""
    try:
        return db.resolve(given)
    except RunNotFound as exc:
        return JSONResponse({"error": str(exc), "near": _near(db, given)}, status_code=404)


def _lookup(db: Database, given: str, page: str | None = None, canonical: bool = False) -> str | Response:
    """The full id ``given`` names, or the response to send instead: 404 with the nearest ids when it
    names nothing; on a ``page`` ("runs" or "sweeps"), a redirect to the other page when the id is
    of the other kind (303), and with ``canonical`` to the full id's own page for a prefix or
    ``@last`` (307)."""
    try:
        found = db.resolve(given)
    except RunNotFound as exc:
        return _not_found(db, given, exc, page or "runs")
    if page is not None:
        is_sweep = found in _sweep_ids(db)
        if is_sweep != (page == "sweeps"):
            return RedirectResponse(pages.href("sweeps" if is_sweep else "runs", found), status_code=303)
        if canonical and found != given:
            return RedirectResponse(pages.href(page, found), status_code=307)
    return found


def _sweep_ids(db: Database) -> list[str]:
    return sweep_ids(db.store)


def _run_head(db: Database, run_id: str) -> dict[str, Any]:
    """The run's last seq and hash, and whether (and how) it finished, or its live status."""
    seq, head_hash = db.store.head(run_id)
    finished = db.store.query("SELECT json_extract(payload, '$.status') FROM events "
                              "WHERE run_id = ? AND type = 'RunFinished' ORDER BY seq DESC LIMIT 1", (run_id,))
    status = str(finished[0][0] or "finished") if finished else live_status(db.store, run_id)
    return {"run_id": run_id, "seq": seq, "hash": head_hash, "finished": bool(finished), "status": status}


def _unfoldable(run_ids: str, exc: Exception) -> HTMLResponse:
    detail = str(exc).splitlines()[0][:300] if str(exc) else ""
    return HTMLResponse(pages.problem(
        "cannot show this run",
        f"run {run_ids} holds an event this gome cannot fold ({type(exc).__name__}: {detail}); it was probably "
        "imported with --no-event-check or written by another tool. `gome events RUN` shows its events and "
        "`gome verify RUN` checks their chain."), status_code=500)


def create_app(db_path: str | Path, *, allowed_hosts: Sequence[str] | None = LOOPBACK_NAMES,
               poll_s: float = 0.5, stream_max_s: float = 300.0) -> Starlette:
    """The web view of the database at ``db_path`` (read-only).  ``allowed_hosts``: the host
    names requests may be addressed to (None: any, for a server that allows remote clients);
    ``poll_s``: how often a live page's stream looks at the log; ``stream_max_s``: how long one
    stream stays open before the browser reconnects (it does so by itself)."""
    view = WebView(db_path, poll_s=poll_s, stream_max_s=stream_max_s)

    def run_list(request: Request) -> Response:
        q = request.query_params
        filters = {f: (q.get(f) or None) for f in pages.FILTERS}
        with view.open() as db:
            frame = db.runs()
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            sweeps = _sweep_ids(db)
            given = filters["sweep"]
            if given and given not in sweeps:  # a sweep id may be given as a unique prefix of one
                starting = [s for s in sweeps if s.startswith(given)]
                filters["sweep"] = starting[0] if len(starting) == 1 else given
        choices: dict[str, list[str]] = {
            "task": sorted({str(r["task"]) for r in rows if r.get("task") is not None}),
            "status": list(pages.STATUSES),
            "sweep": sweeps,
            "variant": sorted({str(r["variant"]) for r in rows if r.get("variant") is not None}),
        }
        notices, code = [], 200
        if filters["status"] and filters["status"] not in pages.STATUSES:
            notices.append(f"status {filters['status']!r} is not a run status; the statuses are "
                           f"{', '.join(pages.STATUSES)}")
            code = 400
        for f in ("task", "sweep", "variant"):
            value = filters[f]
            if value and value not in choices[f]:
                known = ", ".join(choices[f]) or "none"
                notices.append(f"no run has {f} {value!r}; the {f}s in this database: {known}")
        shown = [r for r in rows if all(not v or str(r.get(f)) == v for f, v in filters.items())]
        html = pages.run_list(shown, filters=filters, choices=choices, notices=notices, total=len(rows))
        return HTMLResponse(html, status_code=code)

    def run_page(request: Request) -> Response:
        given = request.path_params["run_id"]
        with view.open() as db:
            run_id = _lookup(db, given, "runs", canonical=True)
            if isinstance(run_id, Response):
                return run_id
            head = _run_head(db, run_id)
            try:
                report = view.cached(("report", run_id, head["hash"]), lambda: build_report(db.store, [run_id]))
            except UNFOLDABLE as exc:
                return _unfoldable(run_id, exc)
            except GomeError as exc:
                return HTMLResponse(pages.problem("cannot show this run", str(exc)), status_code=500)
        return HTMLResponse(live.serve_report(report, run_id, head["seq"], head["finished"], head["status"]))

    def raw_report(request: Request) -> Response:
        given = request.path_params["run_id"]
        with view.open() as db:
            run_id = _lookup(db, given)
            if isinstance(run_id, Response):
                return run_id
            head = _run_head(db, run_id)
            try:
                report = view.cached(("report", run_id, head["hash"]), lambda: build_report(db.store, [run_id]))
            except UNFOLDABLE as exc:
                return _unfoldable(run_id, exc)
        name = quote(f"report-{run_id}.html", safe="")
        return HTMLResponse(report, headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"})

    def run_head(request: Request) -> Response:
        given = request.path_params["run_id"]
        with view.open() as db:
            run_id = _lookup_json(db, given)
            if isinstance(run_id, Response):
                return run_id
            return JSONResponse(_run_head(db, run_id))

    async def run_stream(request: Request) -> Response:
        # lazy: anyio comes with starlette; imported first, its absence would hide gome serve's 'pip install gome-es[web]'
        import anyio.to_thread

        given = request.path_params["run_id"]

        def first() -> str | Response:
            with view.open() as db:
                return _lookup_json(db, given)

        run_id = await anyio.to_thread.run_sync(first)
        if isinstance(run_id, Response):
            return run_id
        return StreamingResponse(_stream(view, run_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def compare(request: Request) -> Response:
        given = [g for g in request.query_params.getlist("run") if g]
        table = request.query_params.get("view") == "table"
        if not given:
            return HTMLResponse(pages.problem("nothing to compare", "tick two runs (side by side) or more "
                                              "(grouped by task and variant) in the run list, or name a sweep"),
                                status_code=400)
        with view.open() as db:
            ids = []
            for g in given:
                found = _lookup(db, g)
                if isinstance(found, Response):
                    return found
                ids.append(found)
            sweeps = set(_sweep_ids(db))
            try:
                if len(ids) == 2 and not table and not sweeps & set(ids):
                    key = ("pair", *ids, *(db.store.head(i)[1] for i in ids))
                    html = view.cached(key, lambda: build_report(db.store, ids))
                    other = "/compare?" + "&".join(f"run={quote(i, safe='')}" for i in ids) + "&view=table"
                    return HTMLResponse(live.wrap(html, f'<a href="{pages.esc(other)}">as a table</a>'))

                points = collect(db.store, ids)
                links = {p.run_id: pages.href("runs", p.run_id) for p in points}
                return HTMLResponse(live.wrap(render_html(points, summarize(points), links=links)))
            except UNFOLDABLE as exc:
                return _unfoldable(", ".join(ids), exc)
            except GomeError as exc:
                return HTMLResponse(pages.problem("cannot compare these runs", str(exc)), status_code=400)

    def sweep_list(request: Request) -> Response:
        with view.open() as db:
            frame = db.sweeps()
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return HTMLResponse(pages.sweep_list(rows))

    def sweep_page(request: Request) -> Response:
        given = request.path_params["sweep_id"]
        with view.open() as db:
            sweep_id = _lookup(db, given, "sweeps", canonical=True)
            if isinstance(sweep_id, Response):
                return sweep_id
            frame = db.sweep(sweep_id)
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            have = {str(r["run_id"]) for r in rows if r.get("run_id") and db.store.run_exists(str(r["run_id"]))}
        return HTMLResponse(pages.sweep_cells(sweep_id, rows, have))

    def sweep_report(request: Request) -> Response:
        given = request.path_params["sweep_id"]
        with view.open() as db:
            sweep_id = _lookup(db, given, "sweeps")
            if isinstance(sweep_id, Response):
                return sweep_id
            try:
                report = sweep_report_page.build_report(db.store, sweep_id)
                html = sweep_report_page.render_html(report, points=sweep_report_page.sweep_points(db.store, report))
            except GomeError as exc:
                return HTMLResponse(pages.problem("cannot report this sweep", str(exc)), status_code=500)
        back = f'<a href="{pages.esc(pages.href("sweeps", sweep_id))}">the sweep\'s cells</a>'
        return HTMLResponse(live.wrap(html, back))

    def script(request: Request) -> Response:
        return Response(live.LIVE_JS, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    async def missing(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        if code == 404:
            return HTMLResponse(pages.not_found(f"nothing at {request.url.path}"), status_code=404)
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        return HTMLResponse(pages.problem(f"{code}", str(detail)), status_code=code,
                            headers=getattr(exc, "headers", None))

    routes = [
        Route("/", run_list),
        Route("/runs", lambda request: RedirectResponse("/", status_code=308)),
        Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/stream", run_stream),
        Route("/runs/{run_id}/head", run_head),
        Route("/runs/{run_id}/report.html", raw_report),
        Route("/compare", compare),
        Route("/sweeps", sweep_list),
        Route("/sweeps/{sweep_id}", sweep_page),
        Route("/sweeps/{sweep_id}/report", sweep_report),
        Route("/static/live.js", script),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: missing})
    app.state.view = view
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    return app


async def _stream(view: WebView, run_id: str) -> AsyncIterator[bytes]:
    """The run's head as server-sent events, until it finishes or ``stream_max_s`` has passed
    (the browser then reconnects by itself)."""
    # lazy: anyio comes with starlette; imported first, its absence would hide gome serve's 'pip install gome-es[web]'
    import anyio.to_thread

    # one read-only connection for the stream's life (each query sees the commits made before it)
    db = await anyio.to_thread.run_sync(Database, view.db_path)
    try:
        yield b"retry: 1000\n\n"
        async for chunk in _heads(view, db, run_id):
            yield chunk
    finally:
        db.close()


async def _heads(view: WebView, db: Database, run_id: str) -> AsyncIterator[bytes]:
    # lazy: anyio comes with starlette; imported first, its absence would hide gome serve's 'pip install gome-es[web]'
    import anyio
    import anyio.to_thread

    start = last_sent = time.monotonic()
    last_seq = -1
    while True:
        head = await anyio.to_thread.run_sync(_run_head, db, run_id)
        data = {k: head[k] for k in ("run_id", "seq", "finished", "status")}
        if head["seq"] != last_seq:
            last_seq = head["seq"]
            last_sent = time.monotonic()
            yield live.sse("head", data)
        if head["finished"]:
            yield live.sse("finished", data)
            return
        now = time.monotonic()
        if now - start >= view.stream_max_s or view.stopping.is_set():
            return
        if now - last_sent >= 15.0:  # a comment keeps proxies and the browser from giving up
            last_sent = now
            yield b": still here\n\n"
        await anyio.sleep(view.poll_s)


__all__ = ["WebError", "create_app", "host_allowed"]
