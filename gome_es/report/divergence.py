"""Where two runs first took different paths, for marking a side-by-side report.

When :mod:`gome_es.analysis.diff` is present its ``diff_runs`` is the authority; until
then (and whenever it cannot answer) :func:`first_divergence` compares each
stream of the two logs (the run-level stream and one per trace, so that the
interleaving of concurrent traces does not count as a difference) event by
event, ignoring the fields each event type declares volatile.  Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.events import PROVENANCE_TYPES, strip_provenance, strip_volatile
from ..core.state import StoredLike
from ..core.vocabulary import EventType

# Which of the four stages (or run-level step) an event belongs to.
STAGE_OF = {
    EventType.HypothesisProposed: "reasoning",
    "LLMRequested[propose]": "reasoning",
    "LLMRequested[code]": "coding",
    "LLMRequested[debug]": "coding",
    EventType.CodeGenerated: "coding",
    EventType.ExecutionRequested: "execution",
    EventType.ExecutionStarted: "execution",
    EventType.ExecutionFinished: "execution",
    EventType.ValidationJudged: "validation",
    EventType.MemoryUpdated: "memory",
    EventType.SotaChanged: "memory",
    EventType.TraceFinished: "finish",
    "LLMRequested[directions]": "directions",
    EventType.TraceStarted: "directions",
    "LLMRequested[select]": "selection",
    EventType.SubmissionSelected: "selection",
    EventType.RunStarted: "configuration",
    EventType.RunFinished: "finish",
}

# Provenance of a particular process, never a decision: skipped when comparing.
_IGNORED = frozenset({EventType.ExecutionStarted, EventType.LeaseTakenOver, EventType.RunResumed,
                      EventType.RunStopped, EventType.SubmissionGraded})


@dataclass(frozen=True)
class DivergencePoint:
    """Where two runs compared in a report first part (a place to show, not an error: replay's
    divergence is :class:`gome_es.errors.Divergence`)."""

    trace_id: str | None
    iteration: int | None
    stage: str
    seq_a: int | None  # None: run A's stream ended here
    seq_b: int | None
    type_a: str | None
    type_b: str | None
    why: str
    source: str = "report"  # "diff" when gome_es.analysis.diff found it

    def label(self) -> str:
        where = f"trace {self.trace_id}" if self.trace_id else "run level"
        it = f", iteration {self.iteration}" if self.iteration is not None else ""
        return f"{where}{it}, stage {self.stage}"


def _stage(ev: StoredLike) -> str:
    key = f"LLMRequested[{ev.payload.get('purpose')}]" if ev.type == EventType.LLMRequested else ev.type
    return STAGE_OF.get(key, "llm" if ev.type == EventType.LLMResponded else "run")


def _streams(events: Iterable[StoredLike]) -> dict[str | None, list[tuple[StoredLike, int | None, str]]]:
    out: dict[str | None, list[tuple[StoredLike, int | None, str]]] = {}
    iteration: dict[str | None, int | None] = {}
    stage: dict[str | None, str] = {}
    for ev in events:
        if ev.type in _IGNORED or ev.type in PROVENANCE_TYPES:
            continue
        tid = ev.trace_id
        if "iteration" in ev.payload and ev.payload["iteration"] is not None:
            iteration[tid] = int(ev.payload["iteration"])
        # an LLM answer belongs to the stage of the request it answers
        stage[tid] = stage.get(tid, "run") if ev.type == EventType.LLMResponded else _stage(ev)
        out.setdefault(tid, []).append((ev, iteration.get(tid), stage[tid]))
    return out


def _comparable(ev: StoredLike) -> dict[str, Any]:
    return strip_provenance(ev.type, strip_volatile(ev.type, ev.payload))


def _same(a: StoredLike, b: StoredLike) -> bool:
    return a.type == b.type and _comparable(a) == _comparable(b)


def _describe(a: StoredLike | None, b: StoredLike | None) -> str:
    if a is None or b is None:
        ended = "A" if a is None else "B"
        other = b if a is None else a
        if other is None:
            raise ValueError("_describe needs an event from at least one of the runs")
        return f"run {ended} has no more events here; the other continues with {other.type} (seq {other.seq})"
    if a.type != b.type:
        return f"A has {a.type} (seq {a.seq}), B has {b.type} (seq {b.seq})"
    pa, pb = _comparable(a), _comparable(b)
    fields = sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k))
    return f"{a.type} differs in {', '.join(fields) or 'payload'} (A seq {a.seq}, B seq {b.seq})"


def first_divergence(events_a: Sequence[StoredLike], events_b: Sequence[StoredLike]) -> DivergencePoint | None:
    """The earliest point (by seq in A) where the runs' streams differ; None if they agree."""
    sa, sb = _streams(events_a), _streams(events_b)
    found: list[tuple[int, DivergencePoint]] = []
    for tid in sorted(set(sa) | set(sb), key=lambda t: (t is not None, t or "")):
        la, lb = sa.get(tid, []), sb.get(tid, [])
        for i in range(max(len(la), len(lb))):
            xa = la[i] if i < len(la) else None
            xb = lb[i] if i < len(lb) else None
            if xa is not None and xb is not None and _same(xa[0], xb[0]):
                continue
            ref = xa or xb
            assert ref is not None
            ea, eb = (xa[0] if xa else None), (xb[0] if xb else None)
            div = DivergencePoint(
                trace_id=tid, iteration=ref[1], stage=ref[2],
                seq_a=ea.seq if ea else None, seq_b=eb.seq if eb else None,
                type_a=ea.type if ea else None, type_b=eb.type if eb else None,
                why=_describe(ea, eb),
            )
            found.append((min(s for s in (div.seq_a, div.seq_b) if s is not None), div))
            break
    return min(found, key=lambda x: x[0])[1] if found else None


def stage_name(diff_stage: str) -> str:
    """The report's stage for one of :mod:`gome_es.analysis.diff`'s stages (``"LLMResponded[code]"``...)."""
    head, _, purpose = diff_stage.partition("[")
    if head in (EventType.LLMRequested, EventType.LLMResponded) and purpose:
        return STAGE_OF.get(f"LLMRequested[{purpose}", "llm")
    return STAGE_OF.get(head, head or "?")


def from_diff_json(first: dict[str, Any] | None) -> DivergencePoint | None:
    """The first divergence out of ``DiffReport.to_json()["first_divergence"]``."""
    if not first:
        return None
    a, b = first.get("a") or {}, first.get("b") or {}
    fields = ", ".join(str(f.get("path")) for f in (first.get("fields") or [])[:6])
    status = {"only_a": "only run A took this step", "only_b": "only run B took this step"}.get(
        str(first.get("status")), f"the step differs in {fields or 'its payload'}")
    it = first.get("iteration")
    return DivergencePoint(
        trace_id=first.get("trace"), iteration=int(it) if isinstance(it, int) else None,
        stage=stage_name(str(first.get("stage") or "")), seq_a=a.get("seq"), seq_b=b.get("seq"),
        type_a=a.get("type"), type_b=b.get("type"),
        why=f"{first.get('where', '')}: {status}", source="diff",
    )


_DECISION_STAGE = {"draw": "reasoning", "hypothesis": "reasoning", "code": "coding", "verdict": "validation",
                   "step": "reasoning", "selection": "selection"}


def from_decisions(decisions: dict[str, Any] | None) -> DivergencePoint | None:
    """The first differing *decision* out of ``DiffReport.decisions`` (see :mod:`gome_es.analysis.decisions`).

    The inputs that differ (seed, config, reasoner) are named in ``why`` rather than
    marked as the divergence: the user chose them, the marker shows where the paths split.
    """
    if not decisions or not decisions.get("first_decision"):
        return None
    first = decisions["first_decision"]
    inputs = ", ".join(f"{d['name']} {d['a']} vs {d['b']}" for d in decisions.get("inputs") or [])
    words = {"step": "only one run took this step", "draw": "another candidate drawn",
             "hypothesis": "another hypothesis", "code": "other code", "verdict": "another verdict",
             "selection": "another submission selected"}
    what = "; ".join(words.get(d, d) for d in first.get("decisions") or [first.get("decision")])
    why = what + (f" (inputs differ: {inputs})" if inputs else "")
    it = first.get("iteration")
    return DivergencePoint(
        trace_id=first.get("trace"), iteration=int(it) if isinstance(it, int) else None,
        stage=_DECISION_STAGE.get(str(first.get("decision")), "run"),
        seq_a=first.get("seq_a"), seq_b=first.get("seq_b"),
        type_a=first.get("type_a"), type_b=first.get("type_b"), why=why, source="diff",
    )
