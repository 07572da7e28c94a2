"""The agent end to end: real store, real executor, real reasoners (offline; openai over HTTP)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.core.prompts import SYSTEM
from gome_es.core.reasoner import LlmRequest
from gome_es.core.state import fold
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.driver.replay_jobs import replay_run
from gome_es.llm.offline import OfflineReasoner
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.llm.openai_server import FakeOpenAIServer, Reply, schema_name_of

pytestmark = pytest.mark.integration

SECRET = "sk-test-GOME-NEVER-STORE-ME-1234567890"


def check_log_invariants(db: Path, run_id: str) -> None:
    store = EventStore.open(db, readonly=True)
    events = list(store.read(run_id))
    # phases follow the state machine's table: the fold raises on any illegal step
    state = fold(events, run_id)
    req = Counter(e.payload["key"] for e in events if e.type == "ExecutionRequested")
    fin = Counter(e.payload["key"] for e in events if e.type == "ExecutionFinished")
    assert req == fin and set(fin.values()) <= {1}, "each ExecutionRequested has exactly one ExecutionFinished"
    lreq = Counter(e.payload["key"] for e in events if e.type == "LLMRequested")
    lres = Counter(e.payload["key"] for e in events if e.type == "LLMResponded")
    assert lreq == lres and set(lres.values()) <= {1}
    best: dict[str, float] = {}
    for e in events:  # every accepted step improves its trace's SOTA
        if e.type == "SotaChanged":
            prev = best.get(e.trace_id)
            v = e.payload["val_score"]
            assert prev is None or (v < prev if state.lower_is_better else v > prev)
            best[e.trace_id] = v
    assert events[-1].type == "SubmissionGraded" and state.status in ("completed", "budget_exhausted")
    store.close()
    for f in Path(db).parent.glob(Path(db).name + "*"):  # db, -wal, -shm
        assert SECRET.encode() not in f.read_bytes(), f"API key found in {f}"


def _run(tmp_path: Path, task_id: str, reasoner=None, run_id: str = "r", **cfg) -> tuple[Path, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "g.db"
    store = EventStore.open(db)
    task = load_task(task_id)
    kind = cfg.pop("kind", "offline")
    rid = start_run(store, task, RunConfig(**{"traces": 2, "max_iterations": 2, "budget_s": 1800, **cfg}),
                    ReasonerConfig(kind=kind), run_id=run_id)
    state = drive(store, rid, task=task, reasoner=reasoner,
                  options=DriveOptions(workspace_root=tmp_path / "work", slots=2))
    assert state.is_finished
    assert replay_run(store, rid).ok
    store.close()
    return db, rid


@pytest.mark.parametrize("task_id", ["breast-cancer-diagnosis", "wine-cultivar"])
def test_offline_reasoner_runs_two_traces_end_to_end(tmp_path, task_id) -> None:
    db, rid = _run(tmp_path, task_id)
    check_log_invariants(db, rid)
    store = EventStore.open(db, readonly=True)
    state = fold(store.read(rid), rid)
    assert len(state.traces) == 2
    dirs = [t.direction for t in state.traces.values()]
    assert len(set(dirs)) == 2, "traces start from distinct directions"
    assert state.grade and state.grade["valid_submission"] is True
    hyps = [e for e in store.read(rid, types=["HypothesisProposed"]) if e.payload["structured"]]
    assert hyps and all(len(h.payload["candidates"]) >= 2 for h in hyps)
    assert all(h.payload["draw"]["chosen_id"] in h.payload["draw"]["pool"] for h in hyps)


def test_ablations_and_tree_strategy_change_what_is_logged(tmp_path) -> None:
    db, rid = _run(tmp_path / "a", "breast-cancer-diagnosis", structured_reasoning=False, memory=False,
                   traces=1, max_iterations=3)
    store = EventStore.open(db, readonly=True)
    types = [e.type for e in store.read(rid)]
    assert "MemoryUpdated" not in types
    hyps = list(store.read(rid, types=["HypothesisProposed"]))
    assert all(not h.payload["structured"] and not h.payload["problems"] for h in hyps)
    db2, rid2 = _run(tmp_path / "b", "breast-cancer-diagnosis", strategy="tree", max_iterations=4, tree_drafts=2)
    check_log_invariants(db2, rid2)
    store2 = EventStore.open(db2, readonly=True)
    st2 = fold(store2.read(rid2), rid2)
    assert list(st2.traces) == ["t1"]
    roots = [s for s in st2.solutions.values() if s.parent_solution_id is None]
    assert len(roots) >= 2, "the tree drafts several roots"


def _offline_behind_http(offline: OfflineReasoner):
    def answer(body: dict) -> str:
        msgs = body["messages"]
        purpose = next(p for p, text in SYSTEM.items() if msgs[0]["content"].startswith(text[:60]))
        first_user = next(m for m in msgs if m["role"] == "user")  # later turns may be repair requests
        context = json.loads(first_user["content"].split("\n", 1)[1])
        req = LlmRequest(key="http", purpose=purpose, schema_name=schema_name_of(body) or "", messages=msgs,
                         context=context)
        return offline.complete(req).content or ""

    return answer


def test_openai_reasoner_drives_a_run_over_real_http_through_failures(tmp_path, monkeypatch) -> None:
    from gome_es.llm.openai_reasoner import OpenAIReasoner

    monkeypatch.setenv("GOME_TEST_KEY", SECRET)
    with FakeOpenAIServer(default=_offline_behind_http(OfflineReasoner())) as server:
        server.enqueue(
            Reply.rate_limited(retry_after="1"),
            Reply.server_error(500),
            Reply.server_error(503),
            Reply.hang(3.0),
            Reply.ok("this is {not json"),
        )
        reasoner = OpenAIReasoner(model="gpt-4o-mini", base_url=server.base_url, api_key_env="GOME_TEST_KEY",
                                  timeout_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.2)
        db, rid = _run(tmp_path, "breast-cancer-diagnosis", reasoner=reasoner, kind="openai", traces=2,
                       max_iterations=2)
        assert server.pending == 0
        auth = {r.headers.get("authorization") for r in server.chat_requests()}
        assert auth == {f"Bearer {SECRET}"}
    check_log_invariants(db, rid)
    store = EventStore.open(db, readonly=True)
    first = next(store.read(rid, types=["LLMResponded"]))
    p = first.payload
    assert p["error"] is None and p["retries"] >= 4 and p["repairs"] == 1
    assert p["prompt_tokens"] > 0 and p["completion_tokens"] > 0
