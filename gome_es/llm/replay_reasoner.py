"""The ``replay`` reasoner: serves the recorded answers of another run by idempotency key.

No network, no model: a request whose key has no recorded answer in the source
run is an error naming the key (the run cannot go on faithfully without it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.reasoner import LlmRequest, LlmResponse
from ..core.vocabulary import EventType, ReasonerKind
from ..errors import ReplayMissing

if TYPE_CHECKING:
    from ..store import EventStore


class ReplayReasoner:
    name = ReasonerKind.replay.value

    def __init__(self, store: EventStore, source_run_id: str) -> None:
        self.store = store
        self.source_run_id = source_run_id
        self.model = f"replay:{source_run_id}"
        self._answers: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            self._answers = {
                ev.payload["key"]: ev.payload
                for ev in self.store.read(self.source_run_id, types=[EventType.LLMResponded])
            }
        return self._answers

    def complete(self, request: LlmRequest) -> LlmResponse:
        rec = self._load().get(request.key)
        if rec is None:
            raise ReplayMissing(
                f"the replay reasoner has no recorded answer for key {request.key!r} in run "
                f"{self.source_run_id}; the run asked something the recording never answered "
                "(a changed policy or configuration). Use --reasoner offline/openai to go on live."
            )
        content = self.store.get_blob(rec["content_sha"]).decode("utf-8") if rec.get("content_sha") else None
        return LlmResponse(
            content=content,
            error=rec.get("error"),
            model=rec.get("model", self.model),
            prompt_tokens=rec.get("prompt_tokens", 0),
            completion_tokens=rec.get("completion_tokens", 0),
            cost_usd=rec.get("cost_usd", 0.0),
        )
