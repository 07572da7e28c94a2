"""The web view through Starlette's TestClient, on a real SQLite file: every page, the filters,
the 404s with the nearest ids, hostile texts escaped, the live stream, and the database never
written."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import gome_es as gome
from gome_es.cli.main import cli
from gome_es.core.events import validate_payload
from gome_es.errors import GomeError
from gome_es.report.svg import esc
from gome_es.store import EventStore
from gome_es.web import WebError, check_host, create_app
from gome_es.web.app import host_allowed
from tests.web.conftest import HOSTILE, HOSTILE_ID, make_db, synthetic_events

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def client(study: dict[str, Any]) -> TestClient:
    return TestClient(create_app(study["db"]), base_url=BASE)


def _runs_listed(html: str) -> list[str]:
    import html as h

    return [h.unescape(x) for x in re.findall(r'<tr data-run="([^"]*)"', html)]


def _no_markup_from(html: str) -> None:
    """The hostile texts appear in ``html`` only escaped: no tag they hold made it through."""
    assert "<script>alert" not in html and "<img src=x" not in html


# ------------------------------------------------------------------ the run list and its filters


def test_the_run_list_shows_every_run_by_its_whole_id(client: TestClient, study: dict[str, Any]) -> None:
    r = client.get("/")
    assert r.status_code == 200
    with gome.open(study["db"]) as db:
        expected = list(db.runs()["run_id"])
    assert _runs_listed(r.text) == expected and study["sweep"] not in expected  # a sweep is no run
    for rid in expected:  # each run links to its page, id percent-encoded then escaped
        assert f'href="{esc("/runs/" + quote(rid, safe=""))}"' in r.text
    assert f">{esc(study['cells'][0])}</a>" in r.text  # never cut short


@pytest.mark.parametrize("query, column", [("task=breast-cancer-diagnosis", "task"), ("status=completed", "status"),
                                           ("sweep=sweep-web-1", "sweep"), ("variant=gome", "variant")])
def test_each_filter_keeps_the_runs_the_library_says(client: TestClient, study: dict[str, Any], query: str,
                                                     column: str) -> None:
    value = query.split("=", 1)[1]
    with gome.open(study["db"]) as db:
        runs = db.runs()
    expected = list(runs[runs[column] == value]["run_id"])
    assert expected and len(expected) < len(runs)  # the filter keeps some runs and drops others
    r = client.get("/?" + query)
    assert r.status_code == 200 and _runs_listed(r.text) == expected
    assert f'<option value="{esc(value)}" selected>' in r.text


def test_a_sweep_filter_takes_a_prefix(client: TestClient, study: dict[str, Any]) -> None:
    assert _runs_listed(client.get("/?sweep=sweep-web").text) == [study["cells"][0]]


def test_a_filter_that_matches_nothing_says_so_and_lists_the_valid_values(client: TestClient) -> None:
    r = client.get("/?status=Bogus")
    assert r.status_code == 400
    assert "status &#x27;Bogus&#x27; is not a run status; the statuses are completed, budget_exhausted" in r.text
    r = client.get("/?task=nope")
    assert r.status_code == 200 and _runs_listed(r.text) == []
    assert "no run has task &#x27;nope&#x27;; the tasks in this database: " in r.text
    assert "no run matches these filters" in r.text


# ------------------------------------------------------------------ a run's page


def test_a_runs_page_is_its_report_made_live(client: TestClient, study: dict[str, Any]) -> None:
    r = client.get("/runs/run-alpha-1")
    assert r.status_code == 200
    from gome_es.report.build import build_report

    with EventStore.open(study["db"], readonly=True) as store:
        report = build_report(store, ["run-alpha-1"])
        last = store.last_seq("run-alpha-1")
    main = re.search(r"<main>.*</main>", report, re.S)
    assert main and main.group(0) in r.text  # the report itself, not a second one
    assert 'id="timelines"' in r.text and 'id="trees"' in r.text
    assert f'id="gome-live" class="live" data-state="finished" data-seq="{last}"' in r.text
    assert '<script src="/static/live.js" defer></script></body>' in r.text
    assert "Content-Security-Policy\" content" not in r.text  # the report's no-script meta is replaced...
    assert "script-src 'self'" in r.headers["content-security-policy"]  # ...by the server's header
    assert "default-src 'none'" in r.headers["content-security-policy"]
    # nothing from another origin: every src and href is a path on this server or a fragment
    for attr in re.findall(r'(?:src|href|action)="([^"]*)"', r.text):
        assert attr.startswith(("/", "#")) and not attr.startswith("//"), attr
    js = client.get("/static/live.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in js.text and "http" not in js.text.replace("HTTP ", "")


def test_the_raw_report_is_what_gome_report_writes(client: TestClient, study: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", "run-alpha-2", "--db", str(study["db"]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert client.get("/runs/run-alpha-2/report.html").text == out.read_text()


def test_prefixes_and_last_redirect_to_the_whole_id(client: TestClient, study: dict[str, Any]) -> None:
    r = client.get("/runs/run-ev", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/runs/run-evil"
    r = client.get("/runs/@last", follow_redirects=False)  # the newest stream is the sweep (planned now)
    assert r.status_code == 303 and r.headers["location"] == "/sweeps/sweep-web-1"
    r = client.get("/runs/" + quote(HOSTILE_ID[:12], safe=""), follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/runs/" + quote(HOSTILE_ID, safe="")
    r = client.get("/runs/sweep-web-1", follow_redirects=False)  # a sweep's page is the sweep's
    assert r.status_code == 303 and r.headers["location"] == "/sweeps/sweep-web-1"
    r = client.get("/sweeps/run-alpha-1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs/run-alpha-1"


@pytest.mark.parametrize("path, near", [("/runs/run-alpah-1", ["run-alpha-1", "run-alpha-2"]),
                                        ("/runs/run-alpha", ["run-alpha-1", "run-alpha-2"]),
                                        ("/runs/run-alpah-1/head", None), ("/sweeps/sweep-wbe-1", ["sweep-web-1"]),
                                        ("/compare?run=run-alpha-1&run=zzz-nothing", []),
                                        ("/runs/run-alpah-1/stream", None)])
def test_unknown_ids_answer_404_naming_the_nearest(client: TestClient, path: str, near: list[str] | None) -> None:
    r = client.get(path)
    assert r.status_code == 404
    if near is None:  # the JSON answers
        assert r.json()["near"] == ["run-alpha-1", "run-alpha-2"] and "did you mean" in r.json()["error"]
        return
    kind = "sweeps" if "sweeps" in path else "runs"
    assert re.findall(rf'href="/{kind}/([^"]*)"', r.text.split("<main>", 1)[1]) == near
    assert "not found" in r.text or "is the start of" in r.text
    assert client.get("/no/such/page").status_code == 404


# ------------------------------------------------------------------ hostile texts


def test_hostile_hypotheses_and_model_names_are_escaped(client: TestClient) -> None:
    r = client.get("/runs/run-evil")
    assert r.status_code == 200
    assert esc(HOSTILE) in r.text or esc(HOSTILE[:50]) in r.text  # shown, as text
    _no_markup_from(r.text)
    pair = client.get("/compare?run=run-evil&run=run-alpha-1")
    assert pair.status_code == 200 and "run-evil" in pair.text
    _no_markup_from(pair.text)


def test_a_hostile_run_id_is_escaped_everywhere_it_is_shown(client: TestClient) -> None:
    listed = client.get("/")
    assert HOSTILE_ID in _runs_listed(listed.text)
    _no_markup_from(listed.text)
    page = client.get("/runs/" + quote(HOSTILE_ID, safe=""))
    assert page.status_code == 200 and esc(HOSTILE_ID) in page.text
    _no_markup_from(page.text)
    many = client.get("/compare", params=[("run", HOSTILE_ID), ("run", "run-alpha-1"), ("run", "run-evil")])
    assert many.status_code == 200 and f'href="/runs/{quote(HOSTILE_ID, safe="")}"' in many.text
    _no_markup_from(many.text)
    missing = client.get("/runs/" + quote("<script>alert(9)</script>", safe=""))
    assert missing.status_code == 404 and "&lt;script&gt;alert(9)&lt;/script&gt;" in missing.text
    assert "<script>alert(9)" not in missing.text


# ------------------------------------------------------------------ compare and sweeps


def test_two_runs_side_by_side_and_many_grouped(client: TestClient, study: dict[str, Any]) -> None:
    pair = client.get("/compare?run=run-alpha-1&run=run-alpha-2")
    assert pair.status_code == 200
    assert 'id="steps"' in pair.text and "First divergence" in pair.text  # `gome report A B`'s page
    assert "/compare?run=run-alpha-1&amp;run=run-alpha-2&amp;view=table" in pair.text
    table = client.get("/compare?run=run-alpha-1&run=run-alpha-2&view=table")
    assert table.status_code == 200 and "gome compare: 2 runs" in table.text  # `gome compare`'s page
    many = client.get("/compare?run=run-alpha-1&run=run-alpha-2&run=" + quote(study["sweep"]))
    assert "gome compare: 3 runs" in many.text  # a sweep stands for its cells that ran
    for rid in ("run-alpha-1", "run-alpha-2", study["cells"][0]):
        assert f'href="/runs/{rid}"' in many.text
    assert client.get("/compare").status_code == 400


def test_sweeps_list_their_cells_linked_to_their_runs(client: TestClient, study: dict[str, Any]) -> None:
    listed = client.get("/sweeps")
    assert listed.status_code == 200 and 'href="/sweeps/sweep-web-1"' in listed.text
    cells = client.get("/sweeps/sweep-web-1")
    assert cells.status_code == 200
    ran, planned = study["cells"]
    assert f'<a href="/runs/{ran}">{ran}</a>' in cells.text  # the cell that ran links to its run
    assert f"{planned} <span class=\"muted\">(no events yet)</span>" in cells.text
    assert client.get(f"/runs/{ran}").status_code == 200
    report = client.get("/sweeps/sweep-web-1/report")
    assert report.status_code == 200 and "Sweep sweep-web-1" in report.text
    assert 'class="curve-plot"' in report.text  # gome compare's plots over the cell that ran (not graded: no dot)


# ------------------------------------------------------------------ live, read-only, guarded


def test_the_stream_sends_each_new_seq_while_the_run_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    events, blobs = synthetic_events("run-live", 5)
    cut = len(events) // 2
    with EventStore.open(db, validator=validate_payload) as store:
        store.append("run-live", events[:cut], 0, blobs=blobs)
    client = TestClient(create_app(db, poll_s=0.05, stream_max_s=20), base_url=BASE)
    assert client.get("/runs/run-live/head").json()["seq"] == cut
    page = client.get("/runs/run-live")
    assert f'data-state="live" data-seq="{cut}"' in page.text

    appended = threading.Event()
    messages: list[str] = []
    with client.stream("GET", "/runs/run-live/stream") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                messages.append(line)
                if not appended.is_set():  # the first head is what the log held; now the run writes on
                    with EventStore.open(db, validator=validate_payload) as store:
                        store.append("run-live", events[cut:], cut, blobs=blobs)
                    appended.set()
    assert f'"seq": {cut}' in messages[0] and '"finished": false' in messages[0]
    assert f'"seq": {len(events)}' in messages[-1] and '"finished": true' in messages[-1]
    page = client.get("/runs/run-live")
    assert f'data-state="finished" data-seq="{len(events)}"' in page.text


def test_a_stream_ends_after_its_time_and_the_browser_reconnects(tmp_path: Path) -> None:
    db = tmp_path / "slow.db"
    events, blobs = synthetic_events("run-slow", 6)
    with EventStore.open(db, validator=validate_payload) as store:
        store.append("run-slow", events[:10], 0, blobs=blobs)
    client = TestClient(create_app(db, poll_s=0.05, stream_max_s=0.3), base_url=BASE)
    text = client.get("/runs/run-slow/stream").text  # ends by itself: the run is unfinished
    assert text.startswith("retry: 1000") and text.count("event: head") == 1 and "finished\n" not in text


def test_the_database_is_never_written(tmp_path: Path) -> None:
    info = make_db(tmp_path / "ro.db")
    db = info["db"]
    wal = db.with_name(db.name + "-wal")
    before, wal_before = db.read_bytes(), wal.read_bytes() if wal.exists() else b""
    files = sorted(p.name for p in tmp_path.iterdir())
    client = TestClient(create_app(db), base_url=BASE)
    for path in ("/", "/?status=completed", "/runs/run-alpha-1", "/runs/run-evil/report.html", "/sweeps",
                 "/sweeps/sweep-web-1", "/sweeps/sweep-web-1/report", "/compare?run=run-alpha-1&run=run-alpha-2",
                 "/compare?run=sweep-web-1", "/runs/run-alpha-1/stream", "/runs/nothing"):
        client.get(path)
    for method in ("post", "put", "delete", "patch"):  # nothing but GET (and HEAD) is answered
        assert getattr(client, method)("/runs/run-alpha-1").status_code == 405
    assert db.read_bytes() == before and (wal.read_bytes() if wal.exists() else b"") == wal_before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == \
        [f for f in files if not f.endswith(("-wal", "-shm"))]


def test_a_missing_database_is_an_error_before_serving(tmp_path: Path) -> None:
    with pytest.raises(GomeError, match="no gome database"):
        create_app(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_requests_for_another_host_name_are_refused(study: dict[str, Any]) -> None:
    app = create_app(study["db"])
    assert TestClient(app, base_url="http://evil.example").get("/").status_code == 421  # DNS rebinding
    assert TestClient(app, base_url="http://localhost:9").get("/").status_code == 200
    assert TestClient(app, base_url="http://[::1]:9").get("/").status_code == 200
    anyone = create_app(study["db"], allowed_hosts=None)  # --allow-remote
    assert TestClient(anyone, base_url="http://evil.example").get("/").status_code == 200
    assert host_allowed("127.0.0.1:8765", ["127.0.0.1"]) and not host_allowed("127.0.0.1.evil:80", ["127.0.0.1"])


def test_only_loopback_unless_allowed() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2", "[::1]"):
        assert check_host(host, False) is None
    for host in ("0.0.0.0", "192.168.1.5", "example.org", "::"):
        with pytest.raises(WebError, match="not a loopback address.*--allow-remote"):
            check_host(host, False)
        warning = check_host(host, True)
        assert warning and warning.startswith("warning: serving on") and "anyone" in warning


def test_the_command_refuses_a_remote_host_and_a_missing_database(study: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--db", str(study["db"]), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "not a loopback address" in r.output and "--allow-remote" in r.output
    r = runner.invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and "no gome database" in r.output
    r = runner.invoke(cli, ["serve", "--help"])
    assert r.exit_code == 0 and "--allow-remote" in r.output and "read-only" in r.output.lower()


@pytest.mark.integration
def test_without_the_web_extra_the_command_says_what_to_install(study: dict[str, Any]) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = ("import sys\nsys.modules['starlette'] = None  # as if `gome-es[web]` were not installed\n"
            "from gome_es.cli.main import cli\ncli(['serve', '--db', sys.argv[1]])")
    r = subprocess.run([sys.executable, "-c", code, str(study["db"])], capture_output=True, text=True, timeout=120,
                       cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 2 and "pip install 'gome-es[web]'" in r.stderr, r.stderr


def test_a_run_that_cannot_be_folded_is_named_not_a_crash(tmp_path: Path) -> None:
    import sqlite3

    db = make_db(tmp_path / "odd.db")["db"]
    con = sqlite3.connect(db)  # another tool's run: its third event's payload is not what gome wrote
    with con:
        con.execute("INSERT INTO events SELECT 'run-odd', seq, trace_id, type, schema_version, ts, CASE WHEN seq = 3 "
                    "THEN '{\"nested\": [[[[1]]]]}' ELSE payload END, prev_hash, hash FROM events "
                    "WHERE run_id = 'run-alpha-2'")
    con.close()
    client = TestClient(create_app(db), base_url=BASE)
    r = client.get("/runs/run-odd")
    assert r.status_code == 500 and "run run-odd holds an event this gome cannot fold" in r.text
    assert "gome verify RUN" in r.text
    assert "run-odd" in _runs_listed(client.get("/").text)  # the rest of the database still shows
    assert client.get("/compare?run=run-odd&run=run-alpha-1").status_code == 500
    assert client.get("/runs/" + "x" * 5000).status_code == 404  # a huge id: the nearest ids, quickly
