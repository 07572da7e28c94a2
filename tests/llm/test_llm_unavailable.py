"""An endpoint that keeps failing stops the run (RunStopped, cause llm_unavailable, exit 4)
instead of spending the budget on retries; `gome resume` continues once it answers.

Real processes against a real HTTP server on 127.0.0.1 speaking the OpenAI protocol.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gome_es.core.state import fold
from gome_es.llm.offline import OfflineReasoner
from gome_es.store import EventStore
from tests.core.test_agent import _offline_behind_http

from .openai_server import FakeOpenAIServer, Reply

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _gome(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(PYTHONPATH=str(ROOT), GOME_HOME=str(tmp / "home"))
    return subprocess.run([sys.executable, "-m", "gome_es", *args], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=500)


def test_failing_endpoint_stops_the_run_and_resume_continues(tmp_path):
    db = tmp_path / "g.db"
    common = ["--db", str(db), "--workspace", str(tmp_path / "w"), "--quiet"]
    with FakeOpenAIServer(default=lambda body: Reply.server_error(400, error_message="model is loading")) as down:
        run = _gome("run", "--task", "breast-cancer-diagnosis", "--reasoner", "openai", "--model", "m",
                    "--base-url", down.base_url, "--max-llm-failures", "2", "--traces", "1",
                    "--max-iterations", "1", "--budget", "20m", "--run-id", "r", *common, tmp=tmp_path)
        asked = len(down.chat_requests())
    assert run.returncode == 4, run.stderr[-2000:]
    assert "llm_unavailable" in run.stderr and down.base_url in run.stderr and "model is loading" in run.stderr
    assert "gome resume r" in run.stderr
    store = EventStore.open(db, readonly=True)
    events = list(store.read("r"))
    last = events[-1]
    assert last.type == "RunStopped" and last.payload["cause"] == "llm_unavailable"
    assert down.base_url in last.payload["reason"]
    failed = [e for e in events if e.type == "LLMResponded"]
    assert len(failed) == 2 and all(e.payload["error"] for e in failed) and asked >= 2
    # cost of a call to a local server is unknown, so null, never a list price
    assert all(e.payload["cost_usd"] is None for e in failed)
    store.close()

    with FakeOpenAIServer(default=_offline_behind_http(OfflineReasoner())) as up:
        resumed = _gome("resume", "r", "--reasoner", "openai", "--model", "m", "--base-url", up.base_url,
                        *common, tmp=tmp_path)
        assert up.chat_requests()
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    store = EventStore.open(db, readonly=True)
    state = fold(store.read("r"), "r")
    assert state.is_finished and state.grade and state.grade["valid_submission"]
    assert [r["cause"] for r in state.resumes] == ["graceful_stop"]
