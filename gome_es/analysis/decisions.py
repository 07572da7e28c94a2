"""What a researcher reads first in a diff: which inputs differ, then which decisions.

:mod:`gome_es.analysis.diff` finds every field that differs between two aligned runs.
Most of those are consequences, not news: two seeds give different seeds in
every recipe, different hashes of texts that differ, different measured
timings.  This module sorts each field difference into one *class* and builds
the decision view the terminal and the two-run report lead with:

* ``inputs``: what the user chose differently (config, seed, reasoner, task,
  code version), from the two ``RunStarted`` events;
* ``steps``: one row per aligned step (trace, iteration, attempt) with the
  hypothesis, validation score and verdict of each run;
* ``first_decision``: the earliest step (in A's order) where a *decision*
  differs -- the draw, the hypothesis, the code, the verdict -- or where only
  one run took the step.

Classes of a field difference, decided by an ordered list of classifiers
(:data:`CLASSIFIERS`; the first that answers wins, so a declared-field filter,
such as provenance, is one more entry in that list):

``measured``  a duration or size measured by the machine (``fit_seconds``, ...);
``derived``   a hash of texts compared elsewhere, a value copied from an input
              that already differs (the seed in recipes), or a text equal once
              those copies are mapped back;
``input``     a field of ``RunStarted`` (config, reasoner, task);
``decision``  draw, hypothesis, code, verdict, selection;
``outcome``   what an execution measured that is not a duration (scores, metrics);
``exchange``  an LLM request or answer (its decision appears at the step it fed);
``provenance`` how and where a step was recorded (declared in ``events.PROVENANCE``; the
              diff leaves these out unless ``include_provenance``).

Pure: events and blob texts in, plain data out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.events import PROVENANCE_TYPES, provenance_fields
from ..core.vocabulary import EventType, FailureClass
from ..errors import GomeError
from .plain_words import short_verdict

# Leaf names that carry a measurement of the machine, never a decision.
MEASURED = re.compile(r"(^|_)(seconds|secs|duration|durations|latency|elapsed|time|times|ms|s|mb|rss)$"
                      r"|^(duration|latency|elapsed|peak_).*")
SEED_NAME = re.compile(r"(^|_)seed$")
INPUT_TYPES = frozenset({EventType.RunStarted})
DECISION_TYPES = {EventType.HypothesisProposed: "hypothesis", EventType.CodeGenerated: "code",
                  EventType.ValidationJudged: "verdict", EventType.SubmissionSelected: "selection",
                  EventType.TraceStarted: "direction", EventType.SotaChanged: "verdict",
                  EventType.MemoryUpdated: "verdict", EventType.TraceFinished: "verdict"}
OUTCOME_TYPES = frozenset({EventType.ExecutionFinished, EventType.SubmissionGraded, EventType.RunFinished})
EXCHANGE_TYPES = frozenset({EventType.LLMRequested, EventType.LLMResponded})
MIN_SEED_DIGITS = 4  # derived seeds are hashes; a short number in code is a parameter
# Field differences of these classes repeat payloads other steps hold (a prompt quotes earlier
# steps; an answer is the hypothesis or code its step records): DiffReport.to_json keeps their
# paths but not their values unless asked for everything.
REPEATING_CLASSES = frozenset({"exchange"})
LONG_TEXT = 160  # characters: a longer (or multi-line) value is shown as a text diff in --json
TEXT_DIFF_LINES = 60


def leaf_name(path: str) -> str:
    """``content_sha:directions[0].change.seed`` -> ``seed``."""
    tail = re.split(r"[.:]", path)[-1]
    return re.sub(r"\[\d+\]$", "", tail)


# ------------------------------------------------------------------ inputs


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def run_inputs(events: Sequence[Any]) -> dict[str, Any]:
    """The choices a run was started and resumed with, flat: ``seed``, ``reasoner.model``, ...

    Besides ``RunStarted``'s config, reasoner, task and code version: the fork
    point (``forked from``: "RUN up to seq N") and what each ``RunResumed``
    changed (``resume 1: config.max_iterations``, ``resume 2: reasoner.kind``,
    ``resume 1: count_downtime``).
    """
    start = next((e for e in events if e.type == EventType.RunStarted), None)
    if start is None:
        return {}
    p = start.payload
    out = _flatten(p.get("config") or {}, "")
    out.update(_flatten(p.get("reasoner") or {}, "reasoner"))
    out["task"] = p.get("task_id")
    out["code_version"] = p.get("code_version")
    out["origin"] = p.get("origin", "gome")
    fork = p.get("forked_from")
    if isinstance(fork, dict):
        out[FORK_POINT] = f"{fork.get('run_id')} up to seq {fork.get('seq')}"
    resumes = [e.payload for e in events if e.type == EventType.RunResumed]
    for n, r in enumerate(resumes, start=1):
        changed = _flatten(r.get("overrides") or {}, "")
        if r.get("count_downtime"):
            changed["count_downtime"] = True
        for name, value in changed.items():
            out[f"resume {n}: {name}"] = value
    return out


FORK_POINT = "forked from"  # an input shown, but a run and its fork still take the same path
# Inputs that say how a run was made rather than what it was asked to do (declared provenance):
# shown among the inputs, never a reason to call two runs different.
PROVENANCE_INPUTS = frozenset({FORK_POINT, "code_version"})


def input_differences(a: Sequence[Any], b: Sequence[Any]) -> list[dict[str, Any]]:
    ia, ib = run_inputs(a), run_inputs(b)
    return [{"name": k, "a": ia.get(k), "b": ib.get(k)}
            for k in sorted(set(ia) | set(ib)) if ia.get(k) != ib.get(k)]


# ------------------------------------------------------------------ steps


@dataclass
class StepRow:
    """One (trace, iteration, attempt) of one run, as a researcher reads it."""

    trace: str
    iteration: int
    attempt: int
    seq: int  # the first event of this step
    hypothesis: str | None = None
    component: str | None = None
    drawn: str | None = None  # chosen candidate id
    solution_id: str | None = None
    code_sha: str | None = None
    failure: str | None = None
    val_score: float | None = None
    accepted: bool | None = None
    first_failure: str | None = None
    seqs: dict[str, int] = field(default_factory=dict)  # event type -> seq, within this step

    @property
    def verdict(self) -> str:
        if self.accepted is None and self.failure in (None, FailureClass.ok):
            return "—"
        return short_verdict(self.accepted, self.first_failure, self.failure)

    def to_json(self) -> dict[str, Any]:
        return {"trace": self.trace, "iteration": self.iteration, "attempt": self.attempt,
                "seq": self.seq, "hypothesis": self.hypothesis, "component": self.component,
                "drawn": self.drawn, "solution_id": self.solution_id, "failure": self.failure,
                "val_score": self.val_score, "accepted": self.accepted,
                "first_failure": self.first_failure, "verdict": self.verdict}


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def step_rows(events: Iterable[Any]) -> dict[tuple[str, int, int], StepRow]:
    """Every step of a run keyed by (trace, iteration, attempt), in seq order."""
    rows: dict[tuple[str, int, int], StepRow] = {}
    hyp: dict[tuple[str, int], dict[str, Any]] = {}
    by_solution: dict[str, tuple[str, int, int]] = {}

    def row(trace: str, it: int, att: int, seq: int) -> StepRow:
        key = (trace, it, att)
        if key not in rows:
            r = StepRow(trace, it, att, seq)
            h = hyp.get((trace, it))
            if h is not None:
                r.hypothesis, r.component = h.get("hypothesis"), h.get("component")
                r.drawn = (h.get("draw") or {}).get("chosen_id")
            rows[key] = r
        return rows[key]

    wanted = (EventType.HypothesisProposed, EventType.CodeGenerated, EventType.ExecutionFinished,
              EventType.ValidationJudged)
    for ev in events:
        t, tid = ev.type, ev.trace_id
        if not tid or t not in wanted:
            continue
        p = ev.payload
        it = _int(p.get("iteration"))
        if t == EventType.HypothesisProposed and it is not None:
            hyp[(tid, it)] = p
            row(tid, it, 0, ev.seq).seqs.setdefault(t, ev.seq)
        elif t == EventType.CodeGenerated and it is not None:
            r = row(tid, it, _int(p.get("attempt")) or 0, ev.seq)
            r.solution_id, r.code_sha = p.get("solution_id"), p.get("code_sha")
            r.seqs.setdefault(t, ev.seq)
            by_solution[str(p.get("solution_id"))] = (tid, it, r.attempt)
        elif t == EventType.ExecutionFinished:
            key = by_solution.get(str(p.get("solution_id")))
            if key in rows:
                rows[key].failure = p.get("failure", p.get("status"))
                if rows[key].val_score is None:
                    rows[key].val_score = p.get("val_score")
        elif t == EventType.ValidationJudged and it is not None:
            r = row(tid, it, _int(p.get("attempt")) or 0, ev.seq)
            r.accepted, r.first_failure = p.get("accepted"), p.get("first_failure")
            r.seqs.setdefault(t, ev.seq)
            if p.get("val_score") is not None:
                r.val_score = p.get("val_score")
    return rows


# ------------------------------------------------------------------ classifying fields


@dataclass
class Context:
    """What the classifiers know about the two runs."""

    inputs: list[dict[str, Any]]
    seed_pairs: dict[str, str] = field(default_factory=dict)  # B's seed text -> A's

    @property
    def input_names(self) -> set[str]:
        return {d["name"] for d in self.inputs}

    def unseed(self, text: str) -> str:
        """B's text with every seed copied from B's inputs replaced by A's."""
        if not self.seed_pairs:
            return text
        pattern = re.compile(r"(?<!\d)(" + "|".join(map(re.escape, self.seed_pairs)) + r")(?!\d)")
        return pattern.sub(lambda m: self.seed_pairs[m.group(1)], text)


Classifier = Callable[[Context, str, dict[str, Any]], "str | None"]


def _provenance(ctx: Context, type_: str, f: dict[str, Any]) -> str | None:
    """Declared provenance (gome_es.core.events.PROVENANCE); present only with include_provenance."""
    if type_ in PROVENANCE_TYPES:
        return "provenance"
    path = f["path"]
    names = provenance_fields(type_)
    return "provenance" if any(path == n or path.startswith((n + ".", n + "[")) for n in names) else None


def _measured(ctx: Context, type_: str, f: dict[str, Any]) -> str | None:
    if type_ in INPUT_TYPES:  # budget_s, exec_timeout_s: chosen, not measured
        return None
    return "measured" if MEASURED.search(leaf_name(f["path"])) else None


def _hash(ctx: Context, type_: str, f: dict[str, Any]) -> str | None:
    path = f["path"]
    return "derived" if path.endswith("_sha") and ":" not in path else None


def _seed_copy(ctx: Context, type_: str, f: dict[str, Any]) -> str | None:
    if "seed" not in ctx.input_names or type_ in INPUT_TYPES:
        return None
    if SEED_NAME.search(leaf_name(f["path"])):
        return "derived"
    a, b = f.get("a"), f.get("b")
    if isinstance(a, str) and isinstance(b, str) and a == ctx.unseed(b):
        return "derived"
    return None


def _by_type(ctx: Context, type_: str, f: dict[str, Any]) -> str:
    if type_ in INPUT_TYPES:
        return "input"
    if type_ in EXCHANGE_TYPES:
        return "exchange"
    if type_ == EventType.ValidationJudged and f["path"].split(".")[0] not in ("accepted", "first_failure"):
        return "outcome"
    if type_ in DECISION_TYPES:
        return "decision"
    if type_ in OUTCOME_TYPES:
        return "outcome"
    return "other"


# Ordered; the first classifier with an answer wins. Add declared-field filters here.
CLASSIFIERS: list[Classifier] = [_provenance, _measured, _hash, _seed_copy]
QUIET_CLASSES = frozenset({"measured", "derived"})  # not differences, by default


def classify(ctx: Context, type_: str, f: dict[str, Any]) -> str:
    for rule in CLASSIFIERS:
        answer = rule(ctx, type_, f)
        if answer is not None:
            return answer
    return _by_type(ctx, type_, f)


def seed_pairs(differences: Iterable[Any]) -> dict[str, str]:
    """Seeds that differ at aligned places (B's value -> A's), found by field name."""
    pairs: dict[str, str] = {}
    for d in differences:
        if (d.a or d.b or {}).get("type") in INPUT_TYPES:
            continue  # the run seed itself (0 vs 1) is too short to map back safely
        for f in d.fields:
            a, b = f.get("a"), f.get("b")
            if (SEED_NAME.search(leaf_name(f["path"])) and _int(a) is not None and _int(b) is not None
                    and min(len(str(a)), len(str(b))) >= MIN_SEED_DIGITS):
                pairs[str(b)] = str(a)
    return pairs


def compact(value: Any) -> bool:
    return isinstance(value, str) and (len(value) > LONG_TEXT or "\n" in value)


def text_diff(a: str, b: str, context: int = 2) -> list[str]:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "a", "b", n=context, lineterm=""))
    return lines[2:2 + TEXT_DIFF_LINES] + ([f"... {len(lines) - 2 - TEXT_DIFF_LINES} more lines"]
                                          if len(lines) - 2 > TEXT_DIFF_LINES else [])


# ------------------------------------------------------------------ the view


DECISION_ORDER = ("draw", "hypothesis", "code", "verdict")
EVENT_OF_DECISION = {"draw": EventType.HypothesisProposed, "hypothesis": EventType.HypothesisProposed,
                     "code": EventType.CodeGenerated, "verdict": EventType.ValidationJudged}


def _type_at(row: StepRow | None, etype: str) -> str | None:
    if row is None:
        return None
    if etype in row.seqs:
        return etype
    return min(row.seqs, key=row.seqs.__getitem__) if row.seqs else None


def _step_decisions(ra: StepRow, rb: StepRow, code_same: Callable[[str | None, str | None], bool]) -> list[str]:
    out = []
    if ra.drawn != rb.drawn:
        out.append("draw")
    if ra.hypothesis != rb.hypothesis:
        out.append("hypothesis")
    if not code_same(ra.code_sha, rb.code_sha):
        out.append("code")
    if (ra.accepted, ra.first_failure, ra.failure) != (rb.accepted, rb.first_failure, rb.failure):
        out.append("verdict")
    return out


def explain(report: Any, events_a: Sequence[Any], events_b: Sequence[Any],
            read_a: Callable[[str], bytes], read_b: Callable[[str], bytes]) -> dict[str, Any]:
    """Classify ``report``'s field differences in place and build the decision view."""
    ctx = Context(input_differences(events_a, events_b))
    ctx.seed_pairs = seed_pairs(report.differences) if "seed" in ctx.input_names else {}
    counts: dict[str, int] = {}
    for d in report.differences:
        for f in d.fields:
            f["class"] = classify(ctx, d.a["type"] if d.a else d.b["type"], f)
            counts[f["class"]] = counts.get(f["class"], 0) + 1
            if compact(f.get("a")) or compact(f.get("b")):
                a, b = f.get("a"), f.get("b")
                f["a_chars"] = len(a) if isinstance(a, str) else None
                f["b_chars"] = len(b) if isinstance(b, str) else None
                f["text_diff"] = text_diff(a if isinstance(a, str) else "", b if isinstance(b, str) else "")
                f["a"] = f["b"] = "(text; see text_diff)"
        if d.code is not None and "seed" in ctx.input_names:
            d.code["derived_only"] = _code_same(ctx, read_a, read_b, d.code.get("a_sha"), d.code.get("b_sha"))
        d.decisive = any(f["class"] not in QUIET_CLASSES for f in d.fields) or d.status != "changed"

    rows_a, rows_b = step_rows(events_a), step_rows(events_b)
    cache: dict[tuple[str | None, str | None], bool] = {}

    def code_same(sa: str | None, sb: str | None) -> bool:
        if sa == sb:
            return True
        if (sa, sb) not in cache:
            cache[(sa, sb)] = _code_same(ctx, read_a, read_b, sa, sb)
        return cache[(sa, sb)]

    # A's order; a step only B took goes after the step B took before it.
    order: dict[tuple[str, int, int], tuple[int, int, int]] = {k: (r.seq, 0, 0) for k, r in rows_a.items()}
    anchor = 0
    for k, r in rows_b.items():
        if k in rows_a:
            anchor = rows_a[k].seq
        else:
            order[k] = (anchor, 1, r.seq)
    steps = []
    first: dict[str, Any] | None = None
    for key in sorted(order, key=lambda k: order[k]):
        ra, rb = rows_a.get(key), rows_b.get(key)
        if ra is not None and rb is not None:
            decisions = _step_decisions(ra, rb, code_same)
        else:
            decisions = ["step"]
        outcome = ra is not None and rb is not None and ra.val_score != rb.val_score
        steps.append({"trace": key[0], "iteration": key[1], "attempt": key[2],
                      "a": ra.to_json() if ra else None, "b": rb.to_json() if rb else None,
                      "decisions": decisions, "score_differs": outcome})
        if first is None and decisions:
            etype = EVENT_OF_DECISION.get(decisions[0], EventType.HypothesisProposed)
            first = {"trace": key[0], "iteration": key[1], "attempt": key[2], "decision": decisions[0],
                     "decisions": decisions, "a": steps[-1]["a"], "b": steps[-1]["b"],
                     "seq_a": ra.seqs.get(etype, ra.seq) if ra else None,
                     "seq_b": rb.seqs.get(etype, rb.seq) if rb else None,
                     "type_a": _type_at(ra, etype), "type_b": _type_at(rb, etype)}
    if first is None:
        first = _run_level_decision(events_a, events_b)
    elif "code" in first["decisions"] and first["a"] and first["b"]:
        first["code_diff"] = _code_diff(ctx, read_a, read_b, rows_a[_key(first)].code_sha,
                                        rows_b[_key(first)].code_sha)
    return {"inputs": ctx.inputs, "first_decision": first, "steps": steps,
            "field_classes": dict(sorted(counts.items())),
            "steps_differing": sum(1 for s in steps if s["decisions"] or s["score_differs"])}


def _key(step: dict[str, Any]) -> tuple[str, int, int]:
    return step["trace"], step["iteration"], step["attempt"]


def _code_diff(ctx: Context, read_a: Callable[[str], bytes], read_b: Callable[[str], bytes],
               sa: str | None, sb: str | None) -> list[str]:
    """A unified diff of two solutions, B's copies of differing seeds mapped back to A's."""
    try:
        ta = read_a(sa).decode("utf-8") if sa else ""
        tb = ctx.unseed(read_b(sb).decode("utf-8")) if sb else ""
    except (GomeError, KeyError, UnicodeDecodeError):  # a missing blob or bytes that are not text
        return []
    return list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), "a/solution.py", "b/solution.py",
                                     n=1, lineterm=""))[2:]


def _code_same(ctx: Context, read_a: Callable[[str], bytes], read_b: Callable[[str], bytes],
               sa: str | None, sb: str | None) -> bool:
    if sa == sb:
        return True
    if sa is None or sb is None:
        return False
    try:
        ta, tb = read_a(sa).decode("utf-8"), read_b(sb).decode("utf-8")
    except (GomeError, KeyError, UnicodeDecodeError):  # a missing blob or not text: differing
        return False
    return ta == ctx.unseed(tb)


def _run_level_decision(events_a: Sequence[Any], events_b: Sequence[Any]) -> dict[str, Any] | None:
    def selected(evs: Sequence[Any]) -> tuple[Any, Any]:
        for e in evs:
            if e.type == EventType.SubmissionSelected:
                return e.payload.get("solution_id"), e.seq
        return None, None

    (sa, qa), (sb, qb) = selected(events_a), selected(events_b)
    if sa != sb:
        return {"trace": None, "iteration": None, "attempt": None, "decision": "selection",
                "decisions": ["selection"], "a": {"solution_id": sa}, "b": {"solution_id": sb},
                "seq_a": qa, "seq_b": qb}
    return None
