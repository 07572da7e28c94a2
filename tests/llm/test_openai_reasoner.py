"""The openai reasoner through the real ``openai`` client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
from structlog.testing import capture_logs

from gome_es.core.reasoner import LlmRequest
from gome_es.errors import ReasonerError
from gome_es.llm.openai_reasoner import LOCAL_DUMMY_KEY, OpenAIReasoner

from .openai_server import FakeOpenAIServer, Reply, schema_name_of

KEY = "sk-test-GOMEES-9f3c1a7e5b2d4c6e8a0b"
GOOD = {"solution_id": "trace-2", "reason": "best validation score"}
CANONICAL = '{"reason":"best validation score","solution_id":"trace-2"}'


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return KEY


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def make(server, **kw) -> OpenAIReasoner:
    model = kw.pop("model", "gpt-4o")
    options = dict(timeout_s=5.0, max_retries=3, backoff_initial_s=0.01, backoff_max_s=0.05)
    options.update(kw)
    return OpenAIReasoner(model, base_url=server.base_url, **options)


def select_request(key: str = "t1/it0/select/0") -> LlmRequest:
    return LlmRequest(
        key=key, purpose="select", schema_name="SelectOut",
        messages=[{"role": "system", "content": "You pick submissions."},
                  {"role": "user", "content": "Traces: trace-1 0.81, trace-2 0.84. Pick one."}],
    )


def gaps(server) -> list[float]:
    times = [r.at for r in server.chat_requests()]
    return [b - a for a, b in zip(times, times[1:])]


def test_success_reports_validated_json_tokens_and_cost(server):
    server.enqueue(Reply.json(GOOD, prompt_tokens=1200, completion_tokens=300))
    resp = make(server).complete(select_request())
    assert resp.error is None
    assert resp.content == CANONICAL
    assert (resp.prompt_tokens, resp.completion_tokens) == (1200, 300)
    # a local server is not OpenAI: gpt-4o's list price does not apply there
    assert resp.cost_usd is None
    assert (resp.attempts, resp.retries, resp.repairs) == (1, 0, 0)
    assert resp.model == "gpt-4o" and resp.latency_s > 0
    [seen] = server.chat_requests()
    assert seen.body["response_format"] == {"type": "json_object"}
    assert seen.body["model"] == "gpt-4o"
    system = seen.messages[0]
    assert system["role"] == "system" and "You pick submissions." in system["content"]
    assert schema_name_of(seen.body) == "SelectOut"
    assert seen.headers["x-stainless-retry-count"] == "0"  # the client's own retries stay off


@pytest.mark.integration
def test_429_waits_as_long_as_retry_after_says(server):
    server.enqueue(Reply.rate_limited(retry_after="1"), Reply.json(GOOD))
    # Backoff alone would wait >= 3 s: finishing near 1 s proves Retry-After set the pace.
    reasoner = make(server, backoff_initial_s=3.0, backoff_max_s=3.0)
    with capture_logs() as logs:
        resp = reasoner.complete(select_request())
    assert resp.content == CANONICAL
    assert (resp.attempts, resp.retries) == (2, 1)
    [gap] = gaps(server)
    assert 0.95 <= gap < 2.0
    [retry] = [e for e in logs if e["event"] == "llm.retry"]
    assert retry["status"] == 429 and retry["wait_s"] == pytest.approx(1.0)


@pytest.mark.integration
def test_retry_after_ms_is_honoured(server):
    server.enqueue(Reply.rate_limited(retry_after_ms="300"), Reply.json(GOOD))
    resp = make(server, backoff_initial_s=3.0, backoff_max_s=3.0).complete(select_request())
    assert resp.content == CANONICAL
    [gap] = gaps(server)
    assert 0.28 <= gap < 1.5


@pytest.mark.integration
def test_server_errors_are_retried_with_growing_backoff(server):
    server.enqueue(Reply.server_error(500), Reply.server_error(502), Reply.server_error(503),
                   Reply.json(GOOD, prompt_tokens=10, completion_tokens=5))
    resp = make(server, backoff_initial_s=0.05, backoff_max_s=1.0).complete(select_request())
    assert resp.content == CANONICAL
    assert (resp.attempts, resp.retries) == (4, 3)
    # tokens come only from the answer that arrived
    assert (resp.prompt_tokens, resp.completion_tokens) == (10, 5)
    g = gaps(server)
    assert len(g) == 3 and g[0] >= 0.05 and g[2] >= 0.2  # 0.05*2**(n-1) + jitter


def test_a_timeout_is_retried(server):
    server.enqueue(Reply.hang(3.0, then=json.dumps({"solution_id": "late"})), Reply.json(GOOD))
    started = time.monotonic()
    resp = make(server, timeout_s=0.5).complete(select_request())
    assert resp.content == CANONICAL
    assert (resp.attempts, resp.retries) == (2, 1)
    assert time.monotonic() - started < 2.5


def test_retries_are_bounded_and_end_in_an_error_not_an_exception(server):
    server.enqueue(*[Reply.server_error(500) for _ in range(10)])
    resp = make(server, max_retries=2).complete(select_request())
    assert resp.content is None
    assert "HTTP 500" in resp.error and "gave up after 3 attempt(s)" in resp.error
    assert "t1/it0/select/0" in resp.error
    assert (resp.attempts, resp.retries) == (3, 2)
    assert len(server.chat_requests()) == 3


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reasoner = OpenAIReasoner("gpt-4o", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2,
                              backoff_initial_s=0.01, backoff_max_s=0.02, timeout_s=2)
    resp = reasoner.complete(select_request())
    assert resp.content is None and "APIConnectionError" in resp.error
    assert (resp.attempts, resp.retries) == (3, 2)


@pytest.mark.parametrize(
    "reply, hint",
    [
        (Reply(status=400, error_message="messages too long"), "check the endpoint"),
        (Reply(status=401, error_message="bad key"), "OPENAI_API_KEY"),
        (Reply(status=404, error_message="model not found"), "--model"),
        (Reply(status=429, error_message="You exceeded your quota", error_code="insufficient_quota"),
         "check the endpoint"),
        (Reply.rate_limited(retry_after="3600"), "check the endpoint"),  # longer than we may wait
        (Reply(status=503, headers={"x-should-retry": "false"}), "check the endpoint"),
    ],
)
def test_permanent_failures_are_not_retried(server, reply, hint):
    server.enqueue(reply, Reply.json(GOOD))
    resp = make(server).complete(select_request())
    assert resp.content is None
    assert f"HTTP {reply.status}" in resp.error and hint in resp.error
    assert (resp.attempts, resp.retries) == (1, 0)
    assert server.pending == 1


def test_malformed_json_is_repaired(server):
    bad = '{"solution_id": "trace-2", "reason": '  # cut off mid-object
    server.enqueue(Reply.ok(bad, prompt_tokens=100, completion_tokens=20),
                   Reply.ok("```json\n" + json.dumps(GOOD) + "\n```", prompt_tokens=130, completion_tokens=25))
    with capture_logs() as logs:
        resp = make(server).complete(select_request())
    assert resp.error is None and resp.content == CANONICAL
    assert resp.repairs == 1 and resp.attempts == 2 and resp.retries == 0
    assert (resp.prompt_tokens, resp.completion_tokens) == (230, 45)
    first, second = server.chat_requests()
    assert second.messages[: len(first.messages)] == first.messages
    assistant, user = second.messages[len(first.messages):]
    assert assistant == {"role": "assistant", "content": bad}
    assert "no parseable JSON" in user["content"] and "SelectOut" in user["content"]
    assert [e["repair"] for e in logs if e["event"] == "llm.repair"] == [1]


def test_schema_violation_is_repaired_with_the_validation_error(server):
    server.enqueue(Reply.json({"reason": "forgot the id"}), Reply.json(GOOD))
    resp = make(server).complete(select_request())
    assert resp.content == CANONICAL and resp.repairs == 1
    repair_msg = server.chat_requests()[1].messages[-1]["content"]
    assert "solution_id" in repair_msg and "Field required" in repair_msg


def test_permanently_malformed_answers_end_in_an_error_after_bounded_repairs(server):
    server.enqueue(*["I think trace-2 is best." for _ in range(10)])
    resp = make(server, max_repairs=2).complete(select_request())
    assert resp.content is None
    assert "after 2 repair turn(s)" in resp.error and "SelectOut" in resp.error
    assert resp.repairs == 2 and resp.attempts == 3
    assert len(server.chat_requests()) == 3
    # each repair carries only the latest bad answer: the conversation does not grow
    sizes = [len(r.messages) for r in server.chat_requests()]
    assert sizes == [2, 4, 4]


def test_server_without_json_mode_is_asked_again_without_it(server):
    server.enqueue(
        Reply(status=400, error_message="'response_format' of type 'json_object' is not supported"),
        Reply.json(GOOD), Reply.json(GOOD),
    )
    reasoner = make(server)
    assert reasoner.complete(select_request()).content == CANONICAL
    assert reasoner.complete(select_request("k2")).content == CANONICAL
    first, second, third = server.chat_requests()
    assert "response_format" in first.body
    assert "response_format" not in second.body and "response_format" not in third.body


def test_the_api_key_goes_only_into_the_authorization_header(server, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpx2", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    server.enqueue(
        Reply.rate_limited(retry_after_ms="10"),
        Reply.server_error(500, error_message=f"upstream saw {KEY}"),
        Reply.ok("not json"),
        Reply.json(GOOD),
        # a 401 that echoes the key, as real servers do
        Reply(status=401, error_message=f"Incorrect API key provided: {KEY}."),
    )
    reasoner = make(server)
    with capture_logs() as logs:
        ok = reasoner.complete(select_request("ok"))
        failed = reasoner.complete(select_request("denied"))
    assert ok.content == CANONICAL and failed.error
    assert "Incorrect API key provided" in failed.error
    for resp in (ok, failed):
        assert KEY not in resp.model_dump_json()
    assert logs and KEY not in json.dumps(logs, default=str)
    assert KEY not in caplog.text
    assert KEY not in repr(reasoner)
    seen = server.chat_requests()
    assert len(seen) == 5
    for req in seen:
        assert req.headers["authorization"] == f"Bearer {KEY}"
        others = {k: v for k, v in req.headers.items() if k != "authorization"}
        assert KEY not in json.dumps(others) and KEY not in req.path
        assert KEY.encode() not in req.raw_body


def test_missing_key_for_a_remote_endpoint_names_the_variable(monkeypatch):
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    with pytest.raises(ReasonerError, match="MY_LLM_KEY"):
        OpenAIReasoner("gpt-4o", base_url="https://api.openai.com/v1", api_key_env="MY_LLM_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ReasonerError, match="OPENAI_API_KEY"):
        OpenAIReasoner("gpt-4o")


def test_missing_key_for_a_local_server_sends_a_dummy(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    server.enqueue(Reply.json(GOOD))
    resp = make(server, model="qwen2.5-coder:7b", temperature=None).complete(select_request())
    assert resp.content == CANONICAL and resp.cost_usd is None
    [seen] = server.chat_requests()
    assert seen.headers["authorization"] == f"Bearer {LOCAL_DUMMY_KEY}"
    assert "temperature" not in seen.body


def test_unknown_schema_is_a_programming_error(server):
    request = select_request().model_copy(update={"schema_name": "NoSuchOut"})
    with pytest.raises(ReasonerError, match="NoSuchOut"):
        make(server).complete(request)


def test_concurrent_calls_keep_their_own_accounting():
    def answer(body):
        user = body["messages"][-1]["content"]
        return Reply.json({"solution_id": user}, prompt_tokens=7, completion_tokens=3)

    with FakeOpenAIServer(default=answer) as server:
        server.enqueue(*[Reply.server_error(500) for _ in range(4)])
        reasoner = make(server)
        results: dict[str, object] = {}

        def run(i: int) -> None:
            req = LlmRequest(key=f"k{i}", purpose="select", schema_name="SelectOut",
                             messages=[{"role": "user", "content": f"trace-{i}"}])
            results[f"trace-{i}"] = reasoner.complete(req)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert len(results) == 8
    for want, resp in results.items():
        assert json.loads(resp.content)["solution_id"] == want
        assert (resp.prompt_tokens, resp.completion_tokens) == (7, 3)
        assert resp.attempts == resp.retries + 1
    assert sum(r.retries for r in results.values()) == 4
    assert sum(r.attempts for r in results.values()) == 12 == len(server.chat_requests())


def test_a_cut_off_answer_is_repaired_with_a_hint_to_be_concise(server):
    server.enqueue(Reply.ok('{"solution_id": "tra', finish_reason="length"), Reply.json(GOOD))
    resp = make(server).complete(select_request())
    assert resp.content == CANONICAL and resp.repairs == 1
    assert "cut off at the length limit" in server.chat_requests()[1].messages[-1]["content"]
