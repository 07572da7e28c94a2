"""The ``openai`` reasoner: any OpenAI-compatible chat-completions endpoint.

It owns one HTTP conversation per :class:`LlmRequest`: asking for JSON,
retrying transient failures, repairing answers that do not validate against
the request's schema, and accounting tokens, latency, attempts and cost.
Everything it learns comes back in an :class:`LlmResponse`; an API failure it
could not overcome is ``LlmResponse.error``, never an exception, because the
policy treats a failed call as feedback (see :mod:`gome_es.core.reasoner`).

Works with OpenAI, Azure OpenAI's v1 endpoint, vLLM, Ollama and the llama.cpp
server through the official ``openai`` package.  Retries belong to tenacity,
not to the client (whose own retries are switched off), so that there is one
policy: exponential backoff with jitter on 408/409/429/5xx, timeouts and
connection errors, honouring ``Retry-After``/``retry-after-ms``, with a bounded
number of attempts.

The API key is read from the environment once, handed to the client for the
``Authorization`` header and nowhere else: every error text and log field
passes through :func:`scrub` first.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base

from gome_es.core.canonical import canonical_json
from gome_es.core.reasoner import LlmRequest, LlmResponse
from gome_es.core.schemas import SCHEMAS
from gome_es.core.vocabulary import ReasonerKind
from gome_es.errors import ReasonerError
from gome_es.llm.pricing import cost_usd

log = structlog.get_logger("gome_es.llm.openai")

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Sent to servers on loopback/private addresses when no key is set: vLLM,
# Ollama and llama.cpp accept any bearer token unless configured otherwise.
LOCAL_DUMMY_KEY = "no-key-needed"
# Statuses worth a second try: request timeout, conflict (OpenAI uses it for
# transient lock contention), rate limit, and any server-side failure.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
# Longest bad answer / error text fed back in a repair turn: a repair must not
# grow the conversation without bound.
MAX_REPAIR_ANSWER_CHARS = 16_000
MAX_REPAIR_ERROR_CHARS = 2_000
MASK = "[REDACTED]"


# --------------------------------------------------------------------------- #
# Pure pieces (tested without a server)
# --------------------------------------------------------------------------- #


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and anything that looks like an OpenAI key masked.

    Servers echo keys back in 401 messages (often partly masked, e.g.
    ``sk-abc***xyz``), so key-shaped tokens go too, not only the exact secret.
    """
    if secret:
        text = text.replace(secret, MASK)
    return re.sub(r"\bsk-[A-Za-z0-9_\-*.]{4,}", MASK, text)


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after``.

    ``retry-after`` may be a number of seconds or an HTTP date (RFC 9110);
    ``now`` is the current Unix time, for the date form.  None when absent or
    unreadable; never negative.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            continue
        if math.isfinite(value):
            return max(0.0, value)
    raw = lowered.get("retry-after")
    if raw:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if parsed is not None and parsed.tzinfo is not None:
            return max(0.0, parsed.timestamp() - now)
    return None


def is_local_url(url: str) -> bool:
    """True for loopback, private-network and ``localhost`` hosts (self-hosted servers)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_candidates(text: str) -> list[Any]:
    """Every JSON value we can find in ``text``: whole, fenced, or embedded in prose."""
    found: list[Any] = []
    pieces = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    for piece in pieces:
        try:
            found.append(decoder.decode(piece))
            continue
        except ValueError:
            pass
        start = piece.find("{")
        if start >= 0:
            try:
                found.append(decoder.raw_decode(piece, start)[0])
            except ValueError:
                pass
    return found


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_structured(text: str | None, schema: type[BaseModel]) -> tuple[str | None, str | None]:
    """Validate an answer against ``schema``: ``(canonical JSON, None)`` or ``(None, problem)``.

    Tolerates code fences and prose around the object; the returned JSON is
    the validated model re-serialised canonically, so equal answers hash equal.
    """
    if text is None or not text.strip():
        return None, "the answer was empty"
    candidates = _json_candidates(text)
    if not candidates:
        return None, "the answer contained no parseable JSON object"
    problem = ""
    for value in candidates:
        if not isinstance(value, dict):
            problem = f"expected a JSON object, got {type(value).__name__}"
            continue
        try:
            model = schema.model_validate(value)
            return canonical_json(model.model_dump(mode="json")), None
        except ValidationError as exc:
            problem = f"it does not match the {schema.__name__} schema: {_describe(exc)}"
        except ValueError as exc:  # e.g. a non-finite float that has no canonical JSON form
            problem = f"it cannot be serialised: {exc}"
    return None, problem


def json_instruction(schema_name: str, schema: type[BaseModel]) -> str:
    return (
        "Answer with exactly one JSON object and nothing else: no prose, no code fences. "
        f"It must validate against this JSON schema (name: {schema_name}):\n"
        + json.dumps(schema.model_json_schema(), sort_keys=True)
    )


def with_instruction(messages: list[dict[str, str]], instruction: str) -> list[dict[str, str]]:
    """``messages`` with the JSON instruction appended to the (single, first) system message.

    One leading system message, because several chat templates (llama.cpp,
    some vLLM models) refuse a second one or one that is not first.
    """
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        out[0]["content"] = out[0].get("content", "") + "\n\n" + instruction
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def repair_turn(bad_answer: str | None, problem: str, schema_name: str) -> list[dict[str, str]]:
    """The two messages that ask the model to fix its previous answer."""
    answer = (bad_answer or "")[:MAX_REPAIR_ANSWER_CHARS]
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": (
                f"Your previous answer could not be used: {problem[:MAX_REPAIR_ERROR_CHARS]}. "
                f"Reply again with only one JSON object that validates against the "
                f"{schema_name} schema given above."
            ),
        },
    ]


# --------------------------------------------------------------------------- #
# The reasoner (I/O edge)
# --------------------------------------------------------------------------- #


@dataclass
class _Tally:
    """Per-request counters; one per complete() call, so threads never share one."""

    attempts: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    budget_cut: bool = False  # retries stopped at the run's budget deadline


class _BudgetSpent(ReasonerError):
    """The run's budget deadline has passed: no (further) attempt is made."""


class _Unsupported(ReasonerError):
    """The server refused an optional parameter; drop it and ask again."""

    def __init__(self, param: str) -> None:
        super().__init__(param)
        self.param = param


class OpenAIReasoner:
    """A :class:`~gome_es.core.reasoner.Reasoner` backed by an OpenAI-compatible endpoint.

    Safe to share between threads: the HTTP client is thread-safe, per-call
    state lives on the stack, and the only shared mutable state (which
    optional parameters the server refused) is guarded by a lock.
    """

    name = ReasonerKind.openai.value

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 300.0,
        max_retries: int = 6,
        max_repairs: int = 2,
        temperature: float | None = 0.2,
        pricing: Mapping[str, tuple[float, float]] | None = None,
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_retry_after_s: float = 120.0,
        json_mode: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | Callable[[], float | None] | None = None,
    ) -> None:
        if max_retries < 0 or max_repairs < 0:
            raise ReasonerError(
                f"OpenAI reasoner for model {model!r}: max_retries ({max_retries}) and "
                f"max_repairs ({max_repairs}) must be 0 or more"
            )
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_repairs = max_repairs
        self.temperature = temperature
        self.pricing = dict(pricing or {})
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        # the run's budget deadline (wall-clock seconds, or a function giving it): no attempt starts
        # after it, no retry waits past it and no attempt's timeout reaches beyond it
        self.deadline = deadline
        self._lock = threading.Lock()
        self._dropped: set[str] = set() if json_mode else {"response_format"}

        key = os.environ.get(api_key_env, "").strip()
        if not key:
            if not is_local_url(self.base_url):
                raise ReasonerError(
                    f"OpenAI reasoner: no API key for {self.base_url} (model {model!r}): "
                    f"environment variable {api_key_env} is unset or empty. Export "
                    f"{api_key_env}=<your key>, or point --base-url at a local server "
                    f"(vLLM, Ollama, llama.cpp), which needs none."
                )
            key = LOCAL_DUMMY_KEY
        self._secret = key
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout_s, max_retries=0
        )

    def __repr__(self) -> str:
        return f"OpenAIReasoner(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIReasoner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- public

    def complete(self, request: LlmRequest) -> LlmResponse:
        schema = SCHEMAS.get(request.schema_name)
        if schema is None:
            raise ReasonerError(
                f"request {request.key!r} names schema {request.schema_name!r}, which is not one "
                f"of {sorted(SCHEMAS)}; fix the policy that built it"
            )
        model = request.model or self.model
        tally = _Tally()
        started = time.monotonic()
        base = with_instruction(request.messages, json_instruction(request.schema_name, schema))
        messages = base
        repairs = 0
        content: str | None = None
        error: str | None = None
        while True:
            try:
                answer, finish = self._ask(model, messages, tally, request.key)
            except openai.OpenAIError as exc:
                error = self._failure(exc, request.key, model, tally)
                break
            except _BudgetSpent:
                error = (f"the run's budget was spent before model {model!r} at {self.base_url} answered "
                         f"request {request.key!r} ({tally.attempts} attempt(s)); not asked again")
                break
            content, problem = parse_structured(answer, schema)
            if content is not None:
                break
            assert problem is not None  # parse_structured names the problem whenever it returns no content
            if finish == "length":
                problem += " (the answer was cut off at the length limit: be more concise)"
            if repairs >= self.max_repairs:
                error = (
                    f"model {model!r} at {self.base_url} gave no valid {request.schema_name} "
                    f"for request {request.key!r} after {repairs} repair turn(s): {problem}. "
                    f"Try a stronger model or raise max_repairs."
                )
                break
            repairs += 1
            log.info(
                "llm.repair", key=request.key, model=model, repair=repairs,
                problem=self.scrub(problem)[:500],
            )
            messages = base + repair_turn(answer, problem, request.schema_name)
        response = LlmResponse(
            content=content if error is None else None,
            error=self.scrub(error) if error else None,
            model=model,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            latency_s=time.monotonic() - started,
            cost_usd=cost_usd(model, tally.prompt_tokens, tally.completion_tokens, self.pricing, self.base_url),
            attempts=tally.attempts,
            retries=tally.retries,
            repairs=repairs,
        )
        log.info(
            "llm.responded", key=request.key, model=model, ok=error is None,
            attempts=response.attempts, retries=response.retries, repairs=repairs,
            prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
            latency_s=round(response.latency_s, 3), cost_usd=response.cost_usd,
            error=response.error,
        )
        return response

    def scrub(self, text: str) -> str:
        return scrub(text, self._secret)

    # ---------------------------------------------------------------- one turn

    def _ask(
        self, model: str, messages: list[dict[str, str]], tally: _Tally, key: str
    ) -> tuple[str | None, str | None]:
        """One chat turn with retries: (content, finish_reason).

        Drops an optional parameter the server refuses and asks again.
        """
        while True:
            with self._lock:
                dropped = set(self._dropped)
            kwargs: dict[str, Any] = {"model": model, "messages": messages}
            if "response_format" not in dropped:
                kwargs["response_format"] = {"type": "json_object"}
            if self.temperature is not None and "temperature" not in dropped:
                kwargs["temperature"] = self.temperature
            try:
                completion = self._with_retries(kwargs, tally, key)
            except _Unsupported as exc:
                with self._lock:
                    self._dropped.add(exc.param)
                log.info("llm.param_dropped", key=key, model=model, param=exc.param)
                continue
            usage = getattr(completion, "usage", None)
            if usage is not None:
                tally.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
                tally.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
            choices = getattr(completion, "choices", None) or []
            if not choices or choices[0].message is None:
                return None, None
            return choices[0].message.content, getattr(choices[0], "finish_reason", None)

    def _left_s(self) -> float | None:
        """Seconds until the run's budget deadline (None: no deadline)."""
        deadline = self.deadline() if callable(self.deadline) else self.deadline
        return None if deadline is None else deadline - time.time()

    def _with_retries(self, kwargs: dict[str, Any], tally: _Tally, key: str) -> Any:
        def call() -> Any:
            left = self._left_s()
            if left is not None and left <= 0:
                tally.budget_cut = True
                raise _BudgetSpent()
            tally.attempts += 1
            try:
                if left is not None and left < self.timeout_s:  # this attempt ends at the deadline
                    return self._client.chat.completions.create(**kwargs, timeout=max(0.5, left))
                return self._client.chat.completions.create(**kwargs)
            except openai.BadRequestError as exc:
                param = self._refused_param(exc, kwargs)
                if param is not None:
                    raise _Unsupported(param) from None
                raise

        def before_sleep(state: RetryCallState) -> None:
            tally.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "llm.retry", key=key, model=kwargs["model"], attempt=state.attempt_number,
                status=getattr(exc, "status_code", None), cause=type(exc).__name__,
                wait_s=round(state.upcoming_sleep, 3),
                detail=self.scrub(str(exc))[:300],
            )

        reasoner = self

        class past_deadline(stop_base):  # noqa: N801  (tenacity's stop conditions are lower-case)
            def __call__(self, state: RetryCallState) -> bool:
                left = reasoner._left_s()
                if left is not None and (state.upcoming_sleep or 0.0) >= left:
                    tally.budget_cut = True  # the wait would end after the budget: stop retrying now
                    return True
                return False

        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.max_retries + 1), past_deadline()),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(call)

    @staticmethod
    def _refused_param(exc: openai.BadRequestError, kwargs: Mapping[str, Any]) -> str | None:
        """Which optional parameter a 400 complains about, if any we can live without."""
        text = f"{getattr(exc, 'param', '') or ''} {exc.message}".lower()
        for param in ("response_format", "temperature"):
            if param in kwargs and param in text:
                return param
        return None

    # ------------------------------------------------------------ retry policy

    def _server_wait(self, exc: BaseException | None) -> float | None:
        response = getattr(exc, "response", None)
        if response is None:
            return None
        return retry_after_seconds(response.headers, time.time())

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            return True
        if not isinstance(exc, openai.APIStatusError):
            return False
        headers = exc.response.headers
        if headers.get("x-should-retry", "").lower() == "false":
            return False
        if exc.status_code == 429 and getattr(exc, "code", None) == "insufficient_quota":
            return False  # out of credit: waiting will not help
        wait = self._server_wait(exc)
        if wait is not None and wait > self.max_retry_after_s:
            return False  # the server wants longer than we are allowed to wait
        return exc.status_code in RETRYABLE_STATUSES or exc.status_code >= 500

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = self._server_wait(exc)
        if asked is not None:
            return min(asked, self.max_retry_after_s)
        # Exponential backoff plus up to one initial step of jitter, so that
        # threads rate-limited together do not all come back together.
        step = self.backoff_initial_s * 2.0 ** (state.attempt_number - 1)
        return min(self.backoff_max_s, step + random.uniform(0, self.backoff_initial_s))

    def _failure(self, exc: openai.OpenAIError, key: str, model: str, tally: _Tally) -> str:
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status is not None else type(exc).__name__
        hint = {
            401: f"check the key in {self.api_key_env}",
            403: f"check the key in {self.api_key_env} has access to this model",
            404: "check --model and --base-url",
        }.get(status or 0, "check the endpoint, or retry the run later")
        if tally.budget_cut:
            hint = (f"gave up after {tally.attempts} attempt(s): the run's budget ran out while the endpoint "
                    f"was failing; {hint}")
        elif self._retryable(exc):
            hint = f"gave up after {tally.attempts} attempt(s); {hint}"
        message = getattr(exc, "message", None) or str(exc)
        return self.scrub(
            f"{what} from {self.base_url} for model {model!r} (request {key!r}): {message}; {hint}"
        )
