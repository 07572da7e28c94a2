"""Deterministic replay: re-derive every recorded decision with today's policy.

Replay folds the recorded log event by event.  At each *decision* event it
asks :func:`policy.decide_one` what it would decide from the state folded so
far (with recorded LLM answers, execution results and clock as its only
inputs) and compares type, trace and canonical payload, minus the fields the
event type declares volatile.  Observations are applied as recorded.  The
first mismatch stops replay with both sides and a field-level diff.  No
network, no GPU, no API key: blobs are read from the store.

Imported runs (``origin`` other than gome) have no gome policy to re-run:
replay folds them through the state machine and checks consistency only.

Replaying a run from a store (serially or on several processes) is the edge
module :mod:`gome_es.driver.replay_jobs`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .canonical import canonical_json, leaf_diff
from .events import EVENT_TYPES, strip_volatile, upcast
from .policy import decide_one
from .state import RunState, apply
from .vocabulary import EventType


@dataclass
class Divergent:
    seq: int
    recorded: dict[str, Any]
    derived: dict[str, Any] | None
    fields: list[dict[str, Any]]
    likely_cause: str


@dataclass
class ReplayReport:
    run_id: str
    events: int = 0
    decisions: int = 0
    seconds: float = 0.0
    divergence: Divergent | None = None
    mode: str = "policy"  # "policy" or "fold-only" (imported runs)
    last_agreeing_seq: int = 0
    notes: list[str] = field(default_factory=list)
    upcast_seen: bool = False  # a decision was read from an older schema (for the likely cause)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id, "ok": self.ok, "mode": self.mode, "events_checked": self.events,
            "decisions_rederived": self.decisions, "seconds": round(self.seconds, 4),
            "last_agreeing_seq": self.last_agreeing_seq, "notes": self.notes,
        }
        if self.divergence:
            d = self.divergence
            out["divergence"] = {"seq": d.seq, "recorded": d.recorded, "derived": d.derived,
                                 "fields": d.fields, "likely_cause": d.likely_cause}
        return out


# decision type -> its current schema version
_DECISION_SCHEMA = {name: cls.schema_version for name, cls in EVENT_TYPES.items() if cls.kind == "decision"}


def replay_events(run_id: str, events: Iterable[Any], read_blob: Callable[[str], bytes],
                  current_code_version: str | None = None, *, state: RunState | None = None,
                  prior_versions: Iterable[str] = ()) -> ReplayReport:
    """Replay ``events`` in seq order, re-deriving each decision.

    ``state`` is the fold of the events before the first one given, to replay
    a slice of a run (a parallel replay hands each worker one); it is moved in
    place.  ``prior_versions`` are the code versions recorded before the slice.
    """
    report = ReplayReport(run_id=run_id)
    state = state if state is not None else RunState(run_id=run_id)
    policy_mode = state.origin == "gome"
    t0 = time.perf_counter()
    recorded_versions: set[str] = set(prior_versions)
    upcast_seen = False
    n_events = n_decisions = last_seq = 0
    decision_schema = _DECISION_SCHEMA
    for ev in events:
        n_events += 1
        etype = ev.type
        if etype == EventType.RunStarted:
            recorded_versions.add(ev.payload.get("code_version", ""))
            if ev.payload.get("origin", "gome") != "gome":
                policy_mode = False
        elif etype == EventType.RunResumed and ev.payload.get("code_version"):
            recorded_versions.add(ev.payload["code_version"])
        current_schema = decision_schema.get(etype)
        if current_schema is not None and policy_mode:
            payload = ev.payload
            if ev.schema_version != current_schema:
                payload = upcast(etype, ev.schema_version, payload)
                upcast_seen = True
            d = decide_one(state, read_blob)
            n_decisions += 1
            recorded_cmp = strip_volatile(etype, payload)
            derived_cmp = strip_volatile(etype, d.event.payload()) if d is not None else None
            # plain equality first (cheap); the canonical form only decides a mismatch
            if d is None or d.event.type != etype or d.trace_id != ev.trace_id or (
                    derived_cmp != recorded_cmp and canonical_json(derived_cmp) != canonical_json(recorded_cmp)):
                recorded = {"type": etype, "trace_id": ev.trace_id, "payload": recorded_cmp}
                derived = None if d is None else {"type": d.event.type, "trace_id": d.trace_id,
                                                  "payload": derived_cmp}
                fields = leaf_diff(recorded, derived, names=("recorded", "derived")) if derived else []
                cause = likely_cause(recorded_versions, current_code_version, upcast_seen, fields, derived)
                report.divergence = Divergent(ev.seq, {"type": etype, "trace_id": ev.trace_id, "payload": payload},
                                              None if d is None else {"type": d.event.type, "trace_id": d.trace_id,
                                                                      "payload": d.event.payload()},
                                              fields, cause)
                break
        apply(state, ev)
        last_seq = ev.seq
    report.mode = "policy" if policy_mode else "fold-only"
    report.events, report.decisions = n_events, n_decisions
    report.last_agreeing_seq = last_seq
    report.seconds = time.perf_counter() - t0
    report.upcast_seen = upcast_seen
    return report


def likely_cause(recorded_versions: set[str], current: str | None, upcast_seen: bool,
                  fields: list[dict[str, Any]], derived: Any) -> str:
    causes = []
    if current and recorded_versions and current not in recorded_versions:
        causes.append(f"code version changed (recorded {', '.join(sorted(v for v in recorded_versions if v))}, "
                      f"now {current}): the policy now decides differently")
    if upcast_seen:
        causes.append("an event was upcast from an older schema version")
    if derived is None:
        causes.append("the policy would wait here (no decision) but the log records one")
    if any(("seed" in f["path"] or "draw" in f["path"]) for f in fields):
        causes.append("a random draw differs: a nondeterministic input reached the policy")
    if not causes:
        causes.append("a nondeterministic input (clock, environment, unrecorded state) or a policy bug")
    return "; ".join(causes)
