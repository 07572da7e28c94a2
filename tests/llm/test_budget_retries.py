"""LLM retries never run past the run's budget (issue 24): against real local HTTP servers that answer
500 or refuse connections, with the real openai client; no mocks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome_es.core.reasoner import LlmRequest
from gome_es.llm.openai_reasoner import OpenAIReasoner
from gome_es.store import EventStore

from .openai_server import FakeOpenAIServer, Reply

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _request() -> LlmRequest:
    return LlmRequest(key="k1", purpose="directions", schema_name=next(iter(_schemas())),
                      messages=[{"role": "user", "content": "hi"}], context={}, model="m")


def _schemas():
    from gome_es.core.schemas import SCHEMAS

    return SCHEMAS


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: every connection is refused
    return port


def test_retries_against_a_500_stop_at_the_deadline():
    with FakeOpenAIServer(default=lambda body: Reply(status=500, error_message="down")) as server:
        r = OpenAIReasoner("m", base_url=server.base_url, max_retries=20, backoff_initial_s=0.5,
                           deadline=time.time() + 3.0)
        t = time.monotonic()
        resp = r.complete(_request())
        took = time.monotonic() - t
    assert resp.content is None and "budget ran out" in (resp.error or ""), resp.error
    assert took < 3.5, took  # 20 retries of 0.5 s doubling would take minutes
    assert resp.attempts >= 2


def test_refused_connections_stop_at_the_deadline_and_nothing_starts_after_it():
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    r = OpenAIReasoner("m", base_url=base, max_retries=20, backoff_initial_s=0.5, deadline=time.time() + 2.0)
    t = time.monotonic()
    resp = r.complete(_request())
    assert time.monotonic() - t < 2.5 and "budget ran out" in (resp.error or ""), resp.error
    late = OpenAIReasoner("m", base_url=base, deadline=time.time() - 1)
    resp = late.complete(_request())
    assert resp.attempts == 0 and "budget was spent" in (resp.error or "")


def test_a_run_during_an_outage_ends_at_its_budget_with_the_reason(tmp_path):
    db = tmp_path / "gome.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test", "GOME_WORKSPACE": str(tmp_path / "ws")}
    with FakeOpenAIServer(default=lambda body: Reply(status=500, error_message="endpoint down")) as server:
        t = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "gome_es", "run", "--task", "breast-cancer-diagnosis",
                            "--reasoner", "openai", "--model", "m", "--base-url", server.base_url, "--budget", "20s",
                            "--max-llm-failures", "0", "--quiet", "--db", str(db)],
                           capture_output=True, text=True, env=env, timeout=240)
        took = time.monotonic() - t
    assert p.returncode == 1, p.stderr[-2000:]
    # 20 s of budget; the default 6 retries of a call alone would wait 1+2+4+8+16+32 s
    assert took < 50, took
    assert "the budget ran out meanwhile" in p.stderr and "endpoint down" in p.stderr, p.stderr[-2000:]
    run_id = p.stdout.splitlines()[-1]
    with EventStore.open(db, readonly=True) as store:
        events = list(store.read(run_id))
    first, last_llm = events[0].ts, max(e.ts for e in events if e.type == "LLMResponded")
    assert last_llm - first < 20 + 2, last_llm - first
