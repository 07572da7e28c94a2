"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

It speaks enough of ``POST /v1/chat/completions`` (JSON body in, a
``chat.completion`` object with ``usage`` out, OpenAI-shaped error bodies) for
the real ``openai`` client to talk to it.  Tests script it:

    with FakeOpenAIServer(default=answer_fn) as server:
        server.enqueue(Reply.rate_limited(retry_after="1"), Reply.ok('{"x": 1}'))
        reasoner = OpenAIReasoner("m", base_url=server.base_url)
        ...
        server.requests   # every request seen: path, headers, parsed body, arrival time

Each request takes the next scripted :class:`Reply` from the queue; when the
queue is empty it calls ``default(body)``, which returns a ``Reply`` or a plain
string (the assistant's content).  Without a default an empty queue answers
HTTP 500 "no scripted reply", which makes a test fail loudly rather than hang.
Other tests import this module to drive a whole agent run against it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gome_es.core.schemas import SCHEMAS


@dataclass
class Reply:
    """One scripted answer.  ``status`` 200 sends ``content``; others send an error body."""

    content: str | None = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (longer than the client timeout = a timeout)
    prompt_tokens: int | None = None  # None: a rough count of the request's text
    completion_tokens: int | None = None  # None: a rough count of the content
    error_message: str = "scripted error"
    error_code: str | None = None
    finish_reason: str = "stop"

    @classmethod
    def ok(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, **kw)

    @classmethod
    def json(cls, value: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(value), **kw)

    @classmethod
    def rate_limited(cls, retry_after: str | None = None, retry_after_ms: str | None = None,
                     **kw: Any) -> Reply:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        kw.setdefault("error_message", "Rate limit reached")
        kw.setdefault("error_code", "rate_limit_exceeded")
        return cls(status=429, headers=headers, **kw)

    @classmethod
    def server_error(cls, status: int = 500, **kw: Any) -> Reply:
        kw.setdefault("error_message", "The server had an error")
        return cls(status=status, **kw)

    @classmethod
    def hang(cls, seconds: float, then: str = "{}") -> Reply:
        """Answers only after ``seconds``: a client with a shorter timeout gives up first."""
        return cls(content=then, delay_s=seconds)


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    raw_body: bytes
    body: Any  # parsed JSON, or None
    at: float  # time.monotonic() on arrival

    @property
    def messages(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("messages", [])


def rough_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def schema_name_of(body: dict[str, Any]) -> str | None:
    """Which schema in :data:`gome_es.core.schemas.SCHEMAS` the request asks for.

    Reads the ``(name: X)`` the reasoner writes into its JSON instruction; useful
    in ``default`` answer functions that serve a whole agent run.
    """
    text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    for name in SCHEMAS:
        if f"(name: {name})" in text:
            return name
    return None


Answer = Callable[[dict[str, Any]], "Reply | str"]


class FakeOpenAIServer:
    def __init__(self, default: Answer | None = None, model: str = "fake-model") -> None:
        self.default = default
        self.model = model
        self.requests: list[SeenRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts scripted delays short
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- scripting

    def enqueue(self, *replies: Reply | str) -> None:
        with self._lock:
            for r in replies:
                self._queue.append(Reply.ok(r) if isinstance(r, str) else r)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def chat_requests(self) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --------------------------------------------------------------- serving

    def _next_reply(self, body: Any) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.default is None:
            return Reply(status=500, error_message="no scripted reply left in FakeOpenAIServer")
        answer = self.default(body if isinstance(body, dict) else {})
        return Reply.ok(answer) if isinstance(answer, str) else answer

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._counter += 1
            n = self._counter
        prompt_text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else rough_tokens(prompt_text)
        completion = (reply.completion_tokens if reply.completion_tokens is not None
                      else rough_tokens(reply.content or ""))
        return {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left; that was the point

            def do_GET(self) -> None:
                self._record(b"")
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [
                        {"id": server.model, "object": "model", "created": 0, "owned_by": "fake"}
                    ]}, {})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                seen = self._record(raw)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                if not isinstance(seen.body, dict):
                    self._send(400, {"error": {"message": "body is not a JSON object",
                                               "type": "invalid_request_error"}}, {})
                    return
                reply = server._next_reply(seen.body)
                if reply.delay_s:
                    server._stopping.wait(reply.delay_s)
                if reply.status == 200:
                    self._send(200, server._completion(reply, seen.body), reply.headers)
                else:
                    err = {"message": reply.error_message, "type": "scripted_error",
                           "param": None, "code": reply.error_code}
                    self._send(reply.status, {"error": err}, reply.headers)

            def _record(self, raw: bytes) -> SeenRequest:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                seen = SeenRequest(self.command, self.path,
                                   {k.lower(): v for k, v in self.headers.items()},
                                   raw, body, time.monotonic())
                with server._lock:
                    server.requests.append(seen)
                return seen

        return Handler
