"""The live view in a real browser: `gome serve` as its own process, headless Chromium on a
run's page, and events appended to the database by the test; the page must change by itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome_es.core.events import validate_payload
from gome_es.store import EventStore
from tests.web.cdp import Browser
from tests.web.conftest import synthetic_events

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (run `bash .ci/install-browser`): "
                    "the live view's browser test needs /usr/bin/chromium")
    return CHROMIUM


def _serve(db: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "serve", "--db", str(db), "--port", "0",
                             "--poll", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "gome serve: http://127.0.0.1:PORT/ (...)"
    if not line.startswith("gome serve: http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"gome serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split()[2]


def test_a_live_runs_page_changes_as_events_arrive(chromium: str, tmp_path: Path) -> None:
    started = time.monotonic()
    db = tmp_path / "live.db"
    events, blobs = synthetic_events("run-live", 7, iterations=3)
    first, second = len(events) // 3, 2 * len(events) // 3
    with EventStore.open(db, validator=validate_payload) as store:
        store.append("run-live", events[:first], 0, blobs=blobs)
    before = db.read_bytes()  # the server reads; only this test writes, below

    proc, url = _serve(db)
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(url + "runs/run-live")
        seq = "Number(document.getElementById('gome-live') && document.getElementById('gome-live').dataset.seq)"
        assert browser.wait_for(f"{seq} === {first}") is True
        assert browser.eval("document.getElementById('gome-live').dataset.state") == "live"
        assert browser.eval("document.querySelector('header.top .sub').textContent").endswith(f"{first} events")
        solutions = "document.querySelectorAll('main .node .sid, main .chip .sid').length"
        shown_first = browser.eval(solutions)
        assert db.read_bytes() == before  # opening the page wrote nothing

        folded = "document.querySelector('#hypotheses details')"
        assert browser.eval(f"{folded}.open = false; {folded}.open") is False  # the reader folds a section

        with EventStore.open(db, validator=validate_payload) as store:
            store.append("run-live", events[first:second], first, blobs=blobs)
        assert browser.wait_for(f"{seq} === {second}") is True  # the page moved on by itself
        assert browser.eval(f"{folded}.open") is False  # and what the reader folded stays folded
        assert browser.eval("document.querySelectorAll('#hypotheses details')[1].open") is True
        assert browser.eval("document.querySelector('header.top .sub').textContent").endswith(f"{second} events")
        assert browser.eval(solutions) > shown_first  # the trace trees grew, in place

        with EventStore.open(db, validator=validate_payload) as store:
            store.append("run-live", events[second:], second, blobs=blobs)
        assert browser.wait_for(f"{seq} === {len(events)}") is True
        assert browser.wait_for("document.getElementById('gome-live').dataset.state === 'finished'") is True
        assert browser.eval("document.getElementById('timelines') !== null")  # the per-trace timeline
        assert browser.eval("location.pathname") == "/runs/run-live"  # patched in place, never reloaded away
    finally:
        browser.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, -15), proc.stderr.read() if proc.stderr else ""
    assert time.monotonic() - started < 60
