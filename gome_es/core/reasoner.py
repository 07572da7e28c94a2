"""The one interface every reasoner implements.

A reasoner turns an :class:`LlmRequest` (built by pure policy code from the
folded state) into an :class:`LlmResponse` whose ``content`` is JSON that
validates against the request's schema (see :mod:`gome_es.core.schemas`).
Failures the reasoner could not overcome come back as ``error`` (never an
exception for an ordinary API failure): the policy treats them as feedback.
A reasoner never sees or stores the API key in anything it returns.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .events import LlmUsage


class LlmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str  # idempotency key, e.g. "t1/it3/propose/0"
    purpose: str  # directions | propose | code | debug | select
    schema_name: str  # a name in gome_es.core.schemas.SCHEMAS
    messages: list[dict[str, str]]  # chat messages: {"role", "content"}
    context: dict[str, Any] = Field(default_factory=dict)  # structured inputs (offline reasoner)
    model: str = ""


class LlmResponse(LlmUsage):
    """An answer (or ``error``) and what it took; the driver records the usage as is."""

    content: str | None  # JSON text that validates against the schema; None on error


class Reasoner(Protocol):
    """Answers one request.  Must be safe to call from several threads at once."""

    name: str
    model: str

    def complete(self, request: LlmRequest) -> LlmResponse: ...
