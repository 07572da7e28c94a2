"""What every part of the policy builds with: the :class:`Decision`, seeds, LLM requests and answers.

A decision is one event plus the new blobs it references.  Seeds are derived
from (run seed, trace, iteration, ...) through the canonical encoder, so every
random choice has its own stream and replays exactly.  Pure module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from .. import prompts
from ..canonical import fast_canonical_json, loads, sha256_hex
from ..events import Candidate, Draw, Event, HypothesisProposed, LLMRequested
from ..schemas import PURPOSE_SCHEMA, SCHEMAS
from ..state import RunState, TraceState

BlobReader = Callable[[str], bytes]

LLM_RETRIES = 2  # extra requests after a reasoner error before giving up on that step


@dataclass
class Decision:
    """One event the policy decided, plus the new blobs it references."""

    event: Event
    trace_id: str | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)


def derive_seed(*parts: Any) -> int:
    """A seed from (run seed, trace, iteration, ...): independent streams, no shared RNG."""
    return int(sha256_hex(fast_canonical_json(list(parts)))[:8], 16)  # < 2**32: fits any library seed


def text_blob(data: str) -> tuple[str, bytes]:
    """(sha256, bytes) of a text, as the blob store keys it."""
    raw = data.encode("utf-8")
    return sha256_hex(raw), raw


def request(
    state: RunState,
    tr: TraceState | None,
    purpose: str,
    key: str,
    iteration: int | None,
    attempt: int,
    context: dict[str, Any],
) -> Decision:
    """An ``LLMRequested`` for ``purpose`` with its context and rendered prompt as blobs."""
    model = str(state.reasoner.get("model", ""))
    ctx_text = fast_canonical_json(context)  # encoded once: the blob and the prompt share it
    csha, craw = text_blob(ctx_text)
    msha, mraw = text_blob(prompts.messages_json(prompts.messages_for(purpose, context, ctx_text)))
    ev = LLMRequested(
        key=key,
        purpose=purpose,
        iteration=iteration,
        attempt=attempt,
        model=model,
        messages_sha=msha,
        context_sha=csha,
        schema_name=PURPOSE_SCHEMA[purpose],
    )
    return Decision(ev, tr.trace_id if tr else None, {msha: mraw, csha: craw})


def parse_answer(call_response: dict[str, Any] | None, schema: str, read_blob: BlobReader) -> Any | None:
    """The validated answer of a response, or None when it errored or does not validate."""
    if not call_response or call_response.get("error") or not call_response.get("content_sha"):
        return None
    try:
        raw = read_blob(call_response["content_sha"]).decode("utf-8")
        return SCHEMAS[schema].model_validate(loads(raw))
    except (ValueError, ValidationError, KeyError):
        return None


def single_hypothesis(state: RunState, tr: TraceState, iteration: int, seed: int, parent: str | None, text: str,
                      component: str, change: dict[str, Any]) -> Decision:
    """A hypothesis with one candidate and nothing to draw (a starting direction, a draft, a debug step)."""
    cand = Candidate(id="c0", text=text, component=component, change=change)
    return Decision(
        HypothesisProposed(
            iteration=iteration,
            parent_solution_id=parent,
            structured=False,
            candidates=[cand],
            top_k=1,
            draw=Draw(seed=seed, pool=["c0"], index=0, chosen_id="c0"),
            memory_version=state.memory_version,
            hypothesis=text,
            component=component,
            change=change,
        ),
        tr.trace_id,
    )
