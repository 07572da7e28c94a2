"""Event-by-event diff of two runs: where did they first take different paths, and why.

Owns :func:`diff_runs` and its report.  Two runs are never compared seq by
seq: concurrent traces interleave differently in two honest recordings, and
one debug attempt more shifts every later seq.  Each event is instead given
an *alignment key* -- (trace, iteration, attempt, stage, occurrence) -- from
its payload and the requests it answers (an ``LLMResponded`` inherits trace,
iteration and purpose from its ``LLMRequested`` through the idempotency key;
an ``ExecutionFinished`` from its ``ExecutionRequested``; a ``SotaChanged``
from the ``CodeGenerated`` of its solution).  Keys and solution ids are made
of trace, iteration and attempt, never of the run id, so they align as they are --
once B's traces are *paired* with A's by direction (:func:`pair_traces`): two seeds
may start A's t1 on hgb and B's t1 on logreg, and the step that matters is
B's hgb trace against A's.  B's trace ids, and the solution ids and keys in
its payloads that are made of them, are renamed to A's before aligning; the
pairing is part of the report.

What is ignored, each by declaration rather than case by case:

* the envelope: run id, seq, ts, hashes;
* every field an event type declares ``volatile`` (durations, hosts, pids,
  workspaces), and the same field names inside JSON blobs that quote an
  execution's feedback (a prompt context embeds ``duration_s``);
* provenance, declared in :data:`gome_es.core.events.PROVENANCE`: how and where a
  run was recorded, not which path it took (code version, fork origin, an
  execution redone after a crash, and every imported step's ``provenance``
  field: source file names with their pids and timestamps, file hashes,
  settings that only name machine paths); events of ``PROVENANCE_TYPES``
  (``ImportedRecord``) are provenance as a whole.  Shown in the summary, not
  counted as a difference, unless ``include_provenance`` asks for them;
* :data:`OPERATIONAL_TYPES`: resumes, stops, lease takeovers, device health
  and execution starts; counted per run, never aligned.

Blob references (``*_sha``) that differ are resolved: code becomes a unified
diff, JSON blobs a field diff, prompts (``messages_sha``) are treated as a
rendering of their context and differ only when the context does.

Pure module: it reads events and blobs through a :class:`RunSource`; the
edge :mod:`gome_es.api.sources` builds one from a store or an export file.
"""

from __future__ import annotations

import difflib
import json
import re
import time  # measuring the diff itself; nothing decides on it
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from ..core.canonical import leaf_diff
from ..core.events import (
    EVENT_TYPES,
    PROVENANCE,
    PROVENANCE_TYPES,
    ExecutionFinished,
    strip_provenance,
    strip_volatile,
    upcast,
)
from ..core.vocabulary import EventType, FailureClass
from ..errors import EventError, GomeError

OPERATIONAL_TYPES = frozenset(
    {EventType.RunResumed, EventType.RunStopped, EventType.LeaseTakenOver, EventType.DeviceHealthChanged,
     EventType.ExecutionStarted}
)
# Listed field by field in the summary (the per-event "provenance" of imported steps is not).
PROVENANCE_FIELDS: dict[str, frozenset[str]] = {t: f for t, f in PROVENANCE.items() if t != "*"}
# Prompt contexts quote execution feedback; its volatile fields are volatile there too.
BLOB_VOLATILE = ExecutionFinished.volatile
# A rendered prompt is a function of its context (and the code version, shown in the summary).
RENDERED_FROM: dict[tuple[str, str], str] = {(EventType.LLMRequested, "messages_sha"): "context_sha"}
SCORE_FIELDS = ("val_score", "best_score")
CODE_DIFF_MAX_LINES = 400  # per step, in the report; the terminal shows fewer
TEXT_BLOB_MAX_BYTES = 256 * 1024


class DiffError(GomeError):
    """A run cannot be read for a diff (missing, unreadable or damaged)."""


# ------------------------------------------------------------------ sources


@dataclass
class RunSource:
    """One side of a diff: a run's events (seq order) and a reader for its blobs."""

    run_id: str
    where: str  # the database or export file it came from
    events: Sequence[Any]  # StoredLike: seq, type, trace_id, ts, schema_version, payload
    read_blob: Callable[[str], bytes]
    label: str = ""  # what the user typed; defaults to the run id

    def __post_init__(self) -> None:
        self.label = self.label or self.run_id


# ------------------------------------------------------------------ pairing traces


def trace_directions(events: Iterable[Any]) -> dict[str, str | None]:
    """Each trace's starting direction (``TraceStarted.direction``), in the order traces started."""
    out: dict[str, str | None] = {}
    for ev in events:
        if ev.type == EventType.TraceStarted and ev.trace_id and ev.trace_id not in out:
            d = ev.payload.get("direction")
            out[ev.trace_id] = d if isinstance(d, str) else None
    return out


def pair_traces(events_a: Iterable[Any], events_b: Iterable[Any]) -> list[dict[str, Any]]:
    """Which trace of B is compared with which trace of A.

    A trace of A is paired with a trace of B that started in the same direction,
    preferring the same id; traces whose direction has no partner are paired by
    id when that id is still free.  One row per pair (``a``, ``b``, the
    ``direction`` of each), A's order; ``how`` says "direction" or "id".
    """
    da, db = trace_directions(events_a), trace_directions(events_b)
    free = dict(db)
    pairs: list[dict[str, Any]] = []
    unpaired: list[str] = []
    for ta, dir_a in da.items():
        match = None
        if dir_a is not None:
            same = [tb for tb, dir_b in free.items() if dir_b == dir_a]
            match = ta if ta in same else (same[0] if same else None)
        if match is None:
            unpaired.append(ta)
            continue
        del free[match]
        pairs.append({"a": ta, "b": match, "direction_a": dir_a, "direction_b": db[match], "how": "direction"})
    for ta in unpaired:
        if ta in free:
            pairs.append({"a": ta, "b": ta, "direction_a": da[ta], "direction_b": free.pop(ta), "how": "id"})
    order = list(da)
    pairs.sort(key=lambda p: order.index(p["a"]))
    return pairs


def trace_renaming(pairs: Sequence[dict[str, Any]], b_traces: Iterable[str]) -> dict[str, str]:
    """B's trace id -> the id it is compared under; empty when every pair has one id.

    A trace of B left without a partner keeps its id unless a paired trace took
    it; then it is shown as ``<id>@B`` so that it cannot meet A's trace of that id.
    """
    rename = {p["b"]: p["a"] for p in pairs if p["b"] != p["a"]}
    if not rename:
        return {}
    taken = set(rename.values())
    for tb in b_traces:
        if tb not in rename and tb in taken:
            rename[tb] = f"{tb}@B"
    return rename


class _Renamed(NamedTuple):
    seq: int
    type: str
    trace_id: str | None
    ts: Any
    schema_version: int
    payload: dict[str, Any]


def rename_traces(events: Iterable[Any], rename: dict[str, str]) -> list[Any]:
    """B's events with trace ids renamed, also inside payload strings made of them.

    A payload string is renamed when it *is* a trace id or starts with one
    followed by ``-`` or ``/`` (solution ids ``t2-i1-a0``, keys ``t2/it1/code/0``).
    """
    if not rename:
        return list(events)
    pattern = re.compile(r"^(" + "|".join(map(re.escape, sorted(rename, key=len, reverse=True)))
                         + r")(?=$|[-/])")

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: rename[m.group(1)], value, count=1)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return [_Renamed(ev.seq, ev.type, rename.get(ev.trace_id, ev.trace_id) if ev.trace_id else ev.trace_id,
                     ev.ts, ev.schema_version, fix(ev.payload)) for ev in events]


# ------------------------------------------------------------------ alignment


class StepKey(NamedTuple):
    trace: str | None  # None: run level
    iteration: int | None
    attempt: int | None
    stage: str  # event type, LLM events qualified by purpose: "LLMResponded[code]"
    occurrence: int = 0  # the n-th event with this key (a re-run request after a resume)

    def label(self) -> str:
        parts = [self.trace or "run"]
        if self.iteration is not None:
            parts.append(f"it{self.iteration}")
        parts.append(self.stage)
        if self.attempt:
            parts.append(f"attempt {self.attempt}")
        if self.occurrence:
            parts.append(f"#{self.occurrence + 1}")
        return " ".join(parts)


class _Step(NamedTuple):
    key: StepKey
    seq: int
    type: str
    payload: dict[str, Any]  # upcast; volatile and (unless asked for) provenance fields removed
    loop: int | None = None  # the foreign loop an imported step came from (its provenance)


def _normalise(type_: str, version: int, payload: dict[str, Any],
               include_provenance: bool = False) -> dict[str, Any]:
    if type_ in EVENT_TYPES:
        try:
            payload = upcast(type_, version, payload)
        except EventError:
            pass  # compared as stored; the shapes will differ visibly
    out = strip_volatile(type_, payload)
    return out if include_provenance else strip_provenance(type_, out)


def _loop_of(payload: dict[str, Any]) -> int | None:
    prov = payload.get("provenance")
    return _as_int(prov.get("loop")) if isinstance(prov, dict) else None


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def align(events: Iterable[Any], include_provenance: bool = False) -> tuple[list[_Step], dict[str, int]]:
    """The run's steps in seq order, and counts of the operational (and provenance) events left out."""
    llm: dict[str, tuple[str | None, int | None, int, str]] = {}
    execs: dict[str, tuple[int | None, int | None]] = {}
    sols: dict[str, tuple[int | None, int | None]] = {}
    seen: dict[tuple[Any, ...], int] = {}
    steps: list[_Step] = []
    operational: dict[str, int] = {}
    for ev in events:
        t = ev.type
        if t in OPERATIONAL_TYPES or (t in PROVENANCE_TYPES and not include_provenance):
            operational[t] = operational.get(t, 0) + 1
            continue
        p = ev.payload
        it, att, stage = _as_int(p.get("iteration")), _as_int(p.get("attempt")), t
        if t == EventType.LLMRequested:
            stage = f"LLMRequested[{p.get('purpose')}]"
            llm[str(p.get("key"))] = (ev.trace_id, it, att or 0, str(p.get("purpose")))
        elif t == EventType.LLMResponded:
            _, it, att, purpose = llm.get(str(p.get("key")), (None, None, None, "?"))
            stage = f"LLMResponded[{purpose}]"
        elif t == EventType.CodeGenerated:
            sols[str(p.get("solution_id"))] = (it, att)
        elif t == EventType.ExecutionRequested:
            execs[str(p.get("key"))] = (it, att)
        elif t == EventType.ExecutionFinished:
            it, att = execs.get(str(p.get("key")), (None, None))
        elif t == EventType.MemoryUpdated:
            entry = p.get("entry") or {}
            it, att = _as_int(entry.get("iteration")), sols.get(str(entry.get("solution_id")), (None, None))[1]
        elif t == EventType.SotaChanged:
            it, att = sols.get(str(p.get("solution_id")), (None, None))
        elif t == EventType.ImportedRecord:
            stage = f"ImportedRecord[{p.get('tag')}]"
            it = _loop_of(p) if it is None else it
        base = (ev.trace_id, it, att, stage)
        n = seen.get(base, 0)
        seen[base] = n + 1
        steps.append(_Step(StepKey(ev.trace_id, it, att, stage, n), ev.seq, t,
                           _normalise(t, ev.schema_version, p, include_provenance), _loop_of(p)))
    return steps, operational


# ------------------------------------------------------------------ report


@dataclass
class StepDiff:
    key: StepKey
    status: str  # "changed", "only_a", "only_b"
    a: dict[str, Any] | None  # {"seq", "type"}
    b: dict[str, Any] | None
    fields: list[dict[str, Any]] = field(default_factory=list)  # {"path", "a", "b"}
    hypothesis: dict[str, Any] | None = None
    code: dict[str, Any] | None = None
    score: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    decisive: bool = True  # False: every field differs only as measured or derived (diff_decisions)
    loop: int | None = None  # imported steps: the foreign loop they came from

    def to_json(self, full: bool = True) -> dict[str, Any]:
        k = self.key
        out: dict[str, Any] = {
            "trace": k.trace, "iteration": k.iteration, "attempt": k.attempt, "stage": k.stage,
            "occurrence": k.occurrence, "where": k.label(), "status": self.status,
            "a": self.a, "b": self.b, "fields": self.fields if full else _brief(self.fields),
            "decisive": self.decisive,
        }
        if self.loop is not None:
            out["loop"] = self.loop
        for name in ("hypothesis", "code", "score", "verdict"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


REPEATED = "(repeats what the step it fed records; --json --fields shows it)"


def _brief(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A step's field differences, those whose values repeat other steps' payloads (LLM exchanges)
    folded into one entry per blob or field: ``{"path": "context_sha:*", "class", "fields": N}``."""
    # lazy: keeps gome <cmd> --help light (this module is on its import path; the decisions load only when a diff runs)
    from .decisions import REPEATING_CLASSES

    out: list[dict[str, Any]] = []
    folded: dict[tuple[str, str], dict[str, Any]] = {}
    for f in fields:
        cls = f.get("class")
        if cls not in REPEATING_CLASSES:
            out.append(f)
            continue
        head = f["path"].split(":", 1)[0] + ":*" if ":" in f["path"] else f["path"]
        entry = folded.get((head, str(cls)))
        if entry is None:
            entry = folded[(head, str(cls))] = {"path": head, "class": cls, "fields": 0, "values": REPEATED}
            out.append(entry)
        entry["fields"] += 1
    return out


@dataclass
class DiffReport:
    a: dict[str, Any]  # {"label", "run_id", "where", "events", "summary", "operational"}
    b: dict[str, Any]
    steps_compared: int
    differences: list[StepDiff]
    provenance: list[dict[str, Any]]  # ignored-but-shown differences (code version, ...)
    seconds: float = 0.0
    decisions: dict[str, Any] | None = None  # inputs, steps, first decision (diff_decisions.explain)
    include_provenance: bool = False
    pairs: list[dict[str, Any]] = field(default_factory=list)  # pair_traces: A's trace <-> B's
    renamed: dict[str, str] = field(default_factory=dict)  # B's trace id -> the id it is compared under

    def b_trace(self, trace: str | None) -> str | None:
        """B's own id of the trace compared under ``trace``."""
        back = {v: k for k, v in self.renamed.items()}
        return back.get(trace, trace) if trace else trace

    @property
    def loops(self) -> list[int]:
        """The foreign loops (imported runs) in which some step differs, in order."""
        return sorted({d.loop for d in self.differences if d.loop is not None})

    prefix_of: str | None = None  # "a" / "b": the other run is a prefix of this one (set by diff_runs)

    @property
    def identical(self) -> bool:
        """No step differs (inputs recorded outside the steps, such as resume overrides, may)."""
        return not self.differences

    @property
    def same(self) -> bool:
        return self.verdict == "same"

    @property
    def verdict(self) -> str:
        """``same``, ``bookkeeping`` or ``different``.

        ``bookkeeping``: the runs took the same path as far as both went -- every
        field that differs is measured, derived or provenance, no chosen input
        differs but the fork point or code version, and a step only one run took comes after every
        step both took (one run a prefix of the other: a fork, a stopped run).
        """
        # lazy: keeps gome <cmd> --help light (this module is on its import path; the decisions load only when a diff runs)
        from .decisions import PROVENANCE_INPUTS

        inputs = (self.decisions or {}).get("inputs") or []
        if any(d["name"] not in PROVENANCE_INPUTS for d in inputs):
            return "different"  # a chosen setting differs (a resume override), even if no step does
        if self.identical:
            return "same"
        if any(d.decisive for d in self.differences if d.status == "changed"):
            return "different"
        dec = self.decisions or {}
        for step in dec.get("steps") or []:  # a code text that differs shows only here (its sha is derived)
            if _decided_differently(step, self.prefix_of):
                return "different"
        first = dec.get("first_decision")
        if first is not None and first.get("decision") == "selection":
            return "different"
        one_sided = {d.status for d in self.differences if d.status != "changed"}
        if not one_sided or (len(one_sided) == 1 and self.prefix_of is not None):
            return "bookkeeping"
        return "different"

    @property
    def first_divergence(self) -> StepDiff | None:
        return self.differences[0] if self.differences else None

    def to_json(self, full: bool = True) -> dict[str, Any]:
        """The report as plain data; ``full=False`` leaves out the values of LLM exchange fields
        (their paths and classes stay), which repeat the hypotheses and code other steps hold."""
        counts = {s: sum(1 for d in self.differences if d.status == s)
                  for s in ("changed", "only_a", "only_b")}
        first = self.first_divergence
        return {
            "same": self.same, "verdict": self.verdict, "prefix_of": self.prefix_of, "a": self.a, "b": self.b, "steps_compared": self.steps_compared,
            "counts": counts, "provenance": self.provenance, "include_provenance": self.include_provenance,
            "loops_differing": self.loops,
            "trace_pairs": self.pairs, "traces_renamed": self.renamed,
            "first_divergence": first.to_json(full) if first else None,
            "differences": [d.to_json(full) for d in self.differences],
            "exchange_values": "all" if full else "left out",
            "decisions": self.decisions,
            "seconds": round(self.seconds, 4),
        }


# ------------------------------------------------------------------ comparing


class _Blobs:
    """Blob reads and blob comparisons, cached: many events name the same code."""

    def __init__(self, a: RunSource, b: RunSource, context: int) -> None:
        self.sources = (a, b)
        self.context = context
        self._cache: dict[tuple[int, str], bytes | None] = {}

    def get(self, side: int, sha: str) -> bytes | None:
        key = (side, sha)
        if key not in self._cache:
            try:
                self._cache[key] = self.sources[side].read_blob(sha)
            except GomeError:
                self._cache[key] = None
        return self._cache[key]

    def json_fields(self, sha_a: str, sha_b: str, path: str) -> list[dict[str, Any]] | None:
        """Field diff of two JSON blobs (blob-volatile names dropped); None if not both JSON."""
        a, b = self.get(0, sha_a), self.get(1, sha_b)
        if a is None or b is None:
            return None
        try:
            ja, jb = json.loads(a), json.loads(b)
        except ValueError:
            return None
        return leaf_diff(_drop_names(ja, BLOB_VOLATILE), _drop_names(jb, BLOB_VOLATILE), path + ":")

    def text_diff(self, sha_a: str, sha_b: str, name: str) -> dict[str, Any]:
        a, b = self.get(0, sha_a), self.get(1, sha_b)
        out: dict[str, Any] = {"a_sha": sha_a, "b_sha": sha_b,
                               "a_bytes": None if a is None else len(a),
                               "b_bytes": None if b is None else len(b)}
        if a is None or b is None:
            out["note"] = "blob unavailable on the " + ("a" if a is None else "b") + " side"
            return out
        if max(len(a), len(b)) > TEXT_BLOB_MAX_BYTES:
            out["note"] = "too large to diff"
            return out
        try:
            ta, tb = a.decode("utf-8"), b.decode("utf-8")
        except UnicodeDecodeError:
            out["note"] = "binary content differs"
            return out
        lines = list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), f"a/{name}", f"b/{name}",
                                          n=self.context, lineterm=""))
        out["diff"] = lines[:CODE_DIFF_MAX_LINES]
        out["diff_lines"] = len(lines)
        out["truncated"] = len(lines) > CODE_DIFF_MAX_LINES
        return out


def _drop_names(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop_names(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_drop_names(v, names) for v in value]
    return value


def _is_sha_path(path: str) -> bool:
    return path.endswith("_sha") and ":" not in path


def _compare(sa: _Step, sb: _Step, blobs: _Blobs) -> StepDiff | None:
    if sa.type == sb.type and sa.payload == sb.payload:
        return None
    fields = leaf_diff(sa.payload, sb.payload) if sa.type == sb.type else [
        {"path": "type", "a": sa.type, "b": sb.type}]
    resolved: list[dict[str, Any]] = []
    code = None
    for f in fields:
        path = f["path"]
        if not (_is_sha_path(path) and isinstance(f["a"], str) and isinstance(f["b"], str)):
            resolved.append(f)
            continue
        source = RENDERED_FROM.get((sa.type, path))
        if source is not None:
            if sa.payload.get(source) == sb.payload.get(source) or not blobs.json_fields(
                    sa.payload[source], sb.payload[source], source):
                continue  # the rendering differs only where its context is volatile
            resolved.append({**f, "note": f"rendered from {source}, which differs"})
            continue
        if path == "code_sha":
            if sa.type == EventType.CodeGenerated:
                code = blobs.text_diff(f["a"], f["b"], "solution.py")
            resolved.append(f)
            continue
        inner = blobs.json_fields(f["a"], f["b"], path)
        if inner is None:
            resolved.append({**f, "note": "blob content differs"})
        else:
            resolved.extend(inner)  # empty: equal once volatile feedback is ignored
    if not resolved:
        return None
    d = StepDiff(sa.key, "changed", {"seq": sa.seq, "type": sa.type}, {"seq": sb.seq, "type": sb.type},
                 resolved, code=code)
    pa, pb = sa.payload, sb.payload
    if sa.type == EventType.HypothesisProposed and pa.get("hypothesis") != pb.get("hypothesis"):
        d.hypothesis = {"a": pa.get("hypothesis"), "b": pb.get("hypothesis"),
                        "diff": list(difflib.ndiff([str(pa.get("hypothesis"))], [str(pb.get("hypothesis"))]))}
    for name in SCORE_FIELDS:
        va, vb = pa.get(name), pb.get(name)
        if va != vb and (name in pa or name in pb):
            delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
            d.score = {"field": name, "a": va, "b": vb, "delta": delta}
            break
    if sa.type == EventType.ValidationJudged and (
            pa.get("accepted") != pb.get("accepted") or pa.get("first_failure") != pb.get("first_failure")):
        d.verdict = {"a": {"accepted": pa.get("accepted"), "first_failure": pa.get("first_failure")},
                     "b": {"accepted": pb.get("accepted"), "first_failure": pb.get("first_failure")}}
    return d


def _one_sided(step: _Step, status: str, blobs: _Blobs) -> StepDiff:
    side = {"seq": step.seq, "type": step.type}
    d = StepDiff(step.key, status, side if status == "only_a" else None, side if status == "only_b" else None)
    p = step.payload
    if step.type == EventType.HypothesisProposed:
        d.hypothesis = {"a" if status == "only_a" else "b": p.get("hypothesis")}
    for name in SCORE_FIELDS:
        if name in p:
            d.score = {"field": name, "a" if status == "only_a" else "b": p.get(name)}
            break
    if step.type == EventType.ValidationJudged:
        d.verdict = {"a" if status == "only_a" else "b": {"accepted": p.get("accepted"),
                                                          "first_failure": p.get("first_failure")}}
    return d


# ------------------------------------------------------------------ summary


def _trace_row(direction: str | None = None) -> dict[str, Any]:
    return {"direction": direction, "iterations": 0, "accepted": 0, "best_val_score": None,
            "llm_calls": 0, "cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0,
            "executions": 0, "failures": 0}


def summarise(events: Iterable[Any]) -> dict[str, Any]:
    """Per run and per trace: iterations, accepted steps, best score, LLM cost, executions.

    One pass over plain payloads rather than the full fold: the diff must stay
    fast on 10k-event runs and must summarise logs the state machine refuses.
    The figures are the ones the fold derives (a trace's best is its SOTA).
    """
    run: dict[str, Any] = {"task_id": None, "origin": None, "status": "unfinished", "code_version": None,
                           "events": 0, "selected": None, "grade_score": None}
    traces: dict[str, dict[str, Any]] = {}
    run_level = _trace_row()
    lower_is_better = False
    for ev in events:
        run["events"] += 1
        t, p = ev.type, ev.payload
        row = traces.setdefault(ev.trace_id, _trace_row()) if ev.trace_id else run_level
        if t == EventType.RunStarted:
            run.update(task_id=p.get("task_id"), origin=p.get("origin", "gome"),
                       code_version=p.get("code_version"))
            lower_is_better = bool((p.get("task") or {}).get("lower_is_better", False))
        elif t == EventType.TraceStarted:
            row["direction"] = p.get("direction")
        elif t == EventType.HypothesisProposed:
            row["iterations"] = max(row["iterations"], int(p.get("iteration", 0)) + 1)
        elif t == EventType.SotaChanged:
            row["accepted"] += 1
            row["best_val_score"] = p.get("val_score")
        elif t == EventType.LLMRequested:
            row["llm_calls"] += 1
        elif t == EventType.LLMResponded:
            row["cost_usd"] += float(p.get("cost_usd") or 0.0)
            row["prompt_tokens"] += int(p.get("prompt_tokens") or 0)
            row["completion_tokens"] += int(p.get("completion_tokens") or 0)
        elif t == EventType.ExecutionFinished:
            row["executions"] += 1
            row["failures"] += (p.get("failure", p.get("status", FailureClass.ok.value)) != FailureClass.ok)
        elif t == EventType.SubmissionSelected:
            run["selected"] = p.get("solution_id")
        elif t == EventType.RunFinished:
            run["status"] = p.get("status", "finished")
        elif t == EventType.SubmissionGraded:
            run["grade_score"] = (p.get("report") or {}).get("score")
    bests = [r["best_val_score"] for r in traces.values() if r["best_val_score"] is not None]
    rows = list(traces.values()) + [run_level]
    run.update(
        traces=traces,
        iterations=sum(r["iterations"] for r in traces.values()),
        accepted=sum(r["accepted"] for r in traces.values()),
        best_val_score=(min(bests) if lower_is_better else max(bests)) if bests else None,
        llm_calls=sum(r["llm_calls"] for r in rows),
        cost_usd=round(sum(r["cost_usd"] for r in rows), 6),
        prompt_tokens=sum(r["prompt_tokens"] for r in rows),
        completion_tokens=sum(r["completion_tokens"] for r in rows),
        executions=sum(r["executions"] for r in traces.values()),
        failures=sum(r["failures"] for r in traces.values()),
    )
    for r in traces.values():
        r["cost_usd"] = round(r["cost_usd"], 6)
    return run


# What each decision of a step row is made of (diff_decisions.StepRow fields).
DECISION_FIELDS = {"draw": ("drawn",), "hypothesis": ("hypothesis",),
                   "verdict": ("accepted", "first_failure", "failure")}


def _decided_differently(step: dict[str, Any], longer: str | None) -> bool:
    """A step of the decision view where the runs decided differently.

    When one run is a prefix of the other, its last steps may stop half way (a
    hypothesis without a verdict yet): what it had not decided yet is no difference.
    """
    names = set(step["decisions"]) - {"step"}
    shorter = None if longer is None else step.get("b" if longer == "a" else "a")
    other = None if longer is None else step.get(longer)
    if shorter is None or other is None:
        return bool(names) or bool(step["score_differs"])
    if step["score_differs"] and shorter.get("val_score") is not None:
        return True
    if "code" in names and shorter.get("solution_id") is not None:
        return True  # both wrote the code, and it differs
    return any(shorter.get(f) is not None and shorter.get(f) != other.get(f)
               for n in names - {"code"} for f in DECISION_FIELDS.get(n, ()))


def _tail_only(steps: Sequence[_Step], other: set[StepKey]) -> bool:
    """Every step of ``steps`` the other run lacks comes after every step both took."""
    shared = [s.seq for s in steps if s.key in other]
    own = [s.seq for s in steps if s.key not in other]
    return bool(own) and (not shared or min(own) > max(shared))


def _longer(steps_a: Sequence[_Step], steps_b: Sequence[_Step]) -> str | None:
    """"a" when B's steps are all A's and A's extra steps all come after them ("b" the other way)."""
    ka, kb = {s.key for s in steps_a}, {s.key for s in steps_b}
    if kb <= ka and _tail_only(steps_a, kb):
        return "a"
    if ka <= kb and _tail_only(steps_b, ka):
        return "b"
    return None


def _summary_under(summary: dict[str, Any], rename: dict[str, str]) -> dict[str, Any]:
    """B's summary with its per-trace rows keyed by the A trace each is compared with (``own_id``: B's)."""
    if rename:
        summary["traces"] = {rename.get(t, t): {**row, "own_id": t} for t, row in summary["traces"].items()}
    return summary


def _provenance(a: RunSource, b: RunSource) -> list[dict[str, Any]]:
    out = []
    for type_, names in PROVENANCE_FIELDS.items():
        pa = [e.payload for e in a.events if e.type == type_]
        pb = [e.payload for e in b.events if e.type == type_]
        for name in sorted(names):
            va = [p.get(name) for p in pa if name in p]
            vb = [p.get(name) for p in pb if name in p]
            if va != vb:
                out.append({"type": type_, "field": name,
                            "a": va[0] if len(va) == 1 else va, "b": vb[0] if len(vb) == 1 else vb})
    return out


# ------------------------------------------------------------------ entry point


def diff_runs(a: RunSource, b: RunSource, *, context: int = 3, include_provenance: bool = False) -> DiffReport:
    """Align two runs by (trace, iteration, attempt, stage) and report how they differ.

    ``context`` is the number of unchanged lines around each change in code diffs.
    ``include_provenance`` compares the declared provenance too (source files,
    pids, hashes, machine paths; ``ImportedRecord`` events), which is noise
    between two honest recordings on different machines.
    """
    t0 = time.perf_counter()
    pairs = pair_traces(a.events, b.events)
    rename = trace_renaming(pairs, trace_directions(b.events))
    summary_b = _summary_under(summarise(b.events), rename)  # B's own solution ids, A's trace keys
    if rename:  # B seen under A's trace ids; its own ids stay in the pairing
        b = RunSource(b.run_id, b.where, rename_traces(b.events, rename), b.read_blob, b.label)
    steps_a, op_a = align(a.events, include_provenance)
    steps_b, op_b = align(b.events, include_provenance)
    by_b = {s.key: s for s in steps_b}
    keys_a = {s.key for s in steps_a}
    blobs = _Blobs(a, b, context)
    # One merged order: a's steps by a's seq; a step only b has goes right after the
    # step b took before it, so "first" means first on the path both runs walked.
    order: dict[StepKey, tuple[int, int, int]] = {s.key: (s.seq, 0, 0) for s in steps_a}
    anchor = 0
    for s in steps_b:
        if s.key in keys_a:
            anchor = order[s.key][0]
        else:
            order[s.key] = (anchor, 1, s.seq)
    diffs: list[StepDiff] = []
    compared = 0
    for s in steps_a:
        other = by_b.get(s.key)
        if other is None:
            diffs.append(_one_sided(s, "only_a", blobs))
            continue
        compared += 1
        d = _compare(s, other, blobs)
        if d is not None:
            diffs.append(d)
    diffs.extend(_one_sided(s, "only_b", blobs) for s in steps_b if s.key not in keys_a)
    diffs.sort(key=lambda d: order[d.key])
    loop_of = {s.key: s.loop for s in steps_b if s.loop is not None}
    loop_of.update({s.key: s.loop for s in steps_a if s.loop is not None})
    for d in diffs:
        d.loop = loop_of.get(d.key)

    def side(src: RunSource, op: dict[str, int], summary: dict[str, Any]) -> dict[str, Any]:
        return {"label": src.label, "run_id": src.run_id, "where": src.where, "events": len(src.events),
                "summary": summary, "operational": op}

    report = DiffReport(side(a, op_a, summarise(a.events)), side(b, op_b, summary_b), compared, diffs, _provenance(a, b),
                        include_provenance=include_provenance, pairs=pairs, renamed=rename)
    # lazy: keeps gome <cmd> --help light (this module is on its import path; the decisions load only when a diff runs)
    from .decisions import explain

    report.prefix_of = _longer(steps_a, steps_b)
    report.decisions = explain(report, a.events, b.events, a.read_blob, b.read_blob)
    report.seconds = time.perf_counter() - t0
    return report
