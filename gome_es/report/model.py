"""What a report shows, derived from a run's events: the pure half of `gome report`.

:func:`collect` folds a run's stored events once and, on the way, keeps the
facts the folded :class:`~gome_es.core.state.RunState` does not (every judged
candidate with the time it was judged, every hypothesis pool, LLM use per
purpose).  Nothing here formats text or touches the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.state import RunState, StoredLike, apply
from ..core.vocabulary import DIMENSIONS, EventType, FailureClass


@dataclass(frozen=True)
class ScorePoint:
    """One judged solution: where it lands on the score plot."""

    trace_id: str
    seq: int
    elapsed_s: float  # budget time spent when it was judged (downtime excluded)
    iteration: int
    attempt: int
    solution_id: str
    val_score: float | None
    accepted: bool
    failure: str  # the executor's class ("ok", "timeout", ...)
    first_failure: str | None  # the validation level that rejected it
    sota_after: float | None  # the trace's best score once this step was applied

    @property
    def outcome(self) -> str:
        """accepted | rejected (ran, not better or invalid) | failed (did not run cleanly)."""
        if self.accepted:
            return "accepted"
        if self.failure != FailureClass.ok or self.val_score is None:
            return "failed"
        return "rejected"


@dataclass(frozen=True)
class HypothesisPool:
    """One HypothesisProposed: the scored candidates and the draw."""

    trace_id: str
    seq: int
    iteration: int
    structured: bool
    problems: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    pool: list[str]
    chosen_id: str
    seed: int | None
    memory_version: int


@dataclass
class LlmUse:
    calls: int = 0
    answered: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


@dataclass
class RunReport:
    run_id: str
    state: RunState
    points: list[ScorePoint] = field(default_factory=list)
    hypotheses: list[HypothesisPool] = field(default_factory=list)
    llm_by_purpose: dict[str, LlmUse] = field(default_factory=dict)
    llm_by_model: dict[str, LlmUse] = field(default_factory=dict)
    event_types: dict[str, int] = field(default_factory=dict)
    elapsed_at: dict[int, float] = field(default_factory=dict)  # seq -> budget time spent by then
    sources: list[dict[str, Any]] = field(default_factory=list)  # imported runs: where each step came from
    # Colour of each starting direction, shared by the two runs of a comparison so that the same
    # direction has the same colour in A and B (empty: colours by trace order).
    direction_colors: dict[str, str] = field(default_factory=dict)

    def directions(self) -> dict[str, str]:
        """trace id -> starting direction."""
        return {t.trace_id: t.direction for t in self.state.traces_in_order()}

    @property
    def dimensions(self) -> list[str]:
        """Score dimensions in the run's configured order, then any others the log holds."""
        dims = list(self.state.config.weights or DIMENSIONS)
        for pool in self.hypotheses:
            for cand in pool.candidates:
                for name in cand.get("scores") or {}:
                    if name not in dims:
                        dims.append(name)
        return dims

    def trace_ids(self) -> list[str]:
        return [t.trace_id for t in self.state.traces_in_order()]


def collect(run_id: str, events: Iterable[StoredLike]) -> RunReport:
    """Fold ``events`` (seq order) into a :class:`RunReport`."""
    state = RunState(run_id=run_id)
    rep = RunReport(run_id=run_id, state=state)
    events = list(events)
    for ev in events:
        apply(state, ev)
        p = ev.payload
        rep.event_types[ev.type] = rep.event_types.get(ev.type, 0) + 1
        rep.elapsed_at[ev.seq] = state.spent_s
        if ev.type == EventType.ValidationJudged:
            sol = state.solutions.get(p["solution_id"])
            tr = state.traces.get(ev.trace_id or "")
            rep.points.append(ScorePoint(
                trace_id=ev.trace_id or "?", seq=ev.seq, elapsed_s=state.spent_s,
                iteration=int(p.get("iteration", 0)), attempt=int(p.get("attempt", 0)),
                solution_id=p["solution_id"], val_score=_finite(p.get("val_score")),
                accepted=bool(p.get("accepted")),
                failure=(sol.failure if sol and sol.failure else FailureClass.ok.value),
                first_failure=p.get("first_failure"),
                sota_after=_finite(p.get("val_score")) if p.get("accepted") else (tr.sota_score if tr else None),
            ))
        elif ev.type == EventType.HypothesisProposed:
            draw = p.get("draw") or {}
            rep.hypotheses.append(HypothesisPool(
                trace_id=ev.trace_id or "?", seq=ev.seq, iteration=int(p.get("iteration", 0)),
                structured=bool(p.get("structured", True)), problems=list(p.get("problems") or []),
                candidates=[dict(c) for c in p.get("candidates") or []], pool=list(draw.get("pool") or []),
                chosen_id=str(draw.get("chosen_id", "")), seed=draw.get("seed"),
                memory_version=int(p.get("memory_version", 0)),
            ))
        elif ev.type == EventType.LLMRequested:
            rep.llm_by_purpose.setdefault(p.get("purpose", "?"), LlmUse()).calls += 1
        elif ev.type == EventType.LLMResponded:
            call = state.llm.get(p["key"])
            purpose = call.purpose if call else "?"
            # by model: the model that answered, which may differ from the one asked for
            rep.llm_by_model.setdefault(p.get("model", "?"), LlmUse()).calls += 1
            for use in _uses(rep, purpose, p.get("model", "?")):
                use.answered += 1
                use.errors += 1 if p.get("error") else 0
                use.prompt_tokens += int(p.get("prompt_tokens", 0))
                use.completion_tokens += int(p.get("completion_tokens", 0))
                use.cost_usd += float(p.get("cost_usd") or 0.0)
                use.latency_s += float(p.get("latency_s", 0.0))
    if state.origin != "gome":
        # lazy: keeps gome <cmd> --help light (provenance loads only for an imported RD-Agent run)
        from ..rdagent.provenance import step_sources

        rep.sources = step_sources(events)
    return rep


def _uses(rep: RunReport, purpose: str, model: str) -> tuple[LlmUse, LlmUse]:
    return (rep.llm_by_purpose.setdefault(purpose, LlmUse()), rep.llm_by_model.setdefault(model, LlmUse()))


def _finite(x: Any) -> float | None:
    # NaN and inf can come from generated code; they must not reach the plot's scale.
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None
