"""Turning an RD-Agent log folder into a gome run.

:func:`import_rdagent` reads every file of the folder (through the restricted
unpickler; nothing of RD-Agent is imported or executed), maps what has a gome
meaning to gome events, keeps every file as provenance, and appends the whole
run in one transaction: a refused file (unsafe pickle, bad signature) leaves
the store untouched.

Mapping (one RD-Agent loop = one gome iteration of a trace):

* ``competition`` / ``RDLOOP_SETTINGS`` / ``RD_AGENT_SETTINGS`` / ``scenario``
  -> ``RunStarted`` (task, model; reasoner ``replay``; strategy
  ``imported:rdagent`` recorded in ``task``);
* the final ``Loop_*/record/trace`` (``hist``, ``dag_parent``, ``idx2loop_id``)
  -> the trace DAG: a loop continues its parent's gome trace when it is the
  parent's first child, otherwise it starts a new trace (``TraceStarted`` with
  the parent in ``direction_detail``);
* ``Loop_i/direct_exp_gen`` -> ``HypothesisProposed``; ``Loop_i/coding`` (or
  ``running``) workspace files -> ``CodeGenerated`` (files as blobs);
  ``Loop_i/running`` score table -> ``ExecutionRequested`` + ``ExecutionFinished``;
  ``Loop_i/feedback`` decision -> ``ValidationJudged`` and, when accepted with a
  score, ``SotaChanged``; a loop that failed in coding becomes an execution
  with ``failure="coder_error"`` that never ran;
* ``debug_llm`` + the ``token_cost`` logged just before it -> ``LLMRequested`` +
  ``LLMResponded`` (purpose ``propose`` for exp_gen/feedback/record steps,
  ``code`` for coding, ``debug`` for running, ``directions`` before any loop);
* provenance: every event derived from files names them in its
  ``provenance`` field (path in the folder, dialect, signature status, sha256,
  size, pid, the logger's timestamp) with the loop and step; the step's own
  bookkeeping files (``time_info``, the record step's ``trace``...) are named
  there too.  Idempotency keys and blobs are made of (trace, loop, step, n),
  never of file names, so two recordings of the same decisions compare equal.
  Files no step comes from (session checkpoints, undecodable or unknown
  files) become one ``ImportedRecord`` each; undecodable ones keep their bytes
  as an opaque blob;
* session checkpoints (``__session__/<loop>/<step>``, the whole pickled loop
  object) are decoded inertly; from the newest one that decodes the importer
  takes RD-Agent's timer (``all_duration`` -> ``RunConfig.budget_s``; the
  time spent and left -> ``RunFinished.provenance["rdagent_timer"]``) and,
  when no ``scenario`` was logged, the metric's direction
  (``trace.scen.metric_direction`` -> ``task.lower_is_better``).  A
  checkpoint that cannot be decoded is kept opaque with a note.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from .. import __version__
from ..core.events import (
    VALIDATION_LEVELS,
    Candidate,
    CodeGenerated,
    Draw,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    HypothesisProposed,
    ImportedRecord,
    LevelVerdict,
    LLMRequested,
    LLMResponded,
    Problem,
    ReasonerConfig,
    RunConfig,
    RunFinished,
    RunStarted,
    SotaChanged,
    SubmissionSelected,
    TraceFinished,
    TraceStarted,
    ValidationJudged,
)
from ..core.vocabulary import EventType, FailureClass, ReasonerKind
from ..errors import ImportTraceError, RunExists
from ..store import NewEvent
from .logdir import LogRecord, read_record, scan
from .signed import signing_key
from .unpickle import Inert, class_ref

STRATEGY = "imported:rdagent"
_ABS_PATH = re.compile(r"^(/|~/|[A-Za-z]:[\\/])")
_MAIN_STEPS = ("direct_exp_gen", "coding", "running", "feedback")
_LLM_PURPOSE = {"direct_exp_gen": "propose", "coding": "code", "running": "debug", "feedback": "propose",
                "record": "propose"}


@dataclass
class ImportSummary:
    run_id: str
    logdir: str
    files: int = 0
    events: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    loops: int = 0
    traces: int = 0
    llm_calls: int = 0
    signatures: str = "none"  # "verified", "not checked", "unsigned", or a mix
    undecodable: list[tuple[str, str]] = field(default_factory=list)  # (file, why): kept opaque
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why): no gome event
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# ----------------------------------------------------------- plain values


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe rendering of a decoded value (records shown by class and attributes)."""
    if depth > 12:
        return "…"
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):  # in a stable order: set order depends on hashing
        return sorted((plain(v, depth + 1) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple, deque)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, type):  # a class named by the pickle (a stand-in, never imported)
        return {"class_ref": class_ref(value)}
    if isinstance(value, Inert):
        out: dict[str, Any] = {"class": value.qualname}
        if value.args:
            out["args"] = plain(list(value.args), depth + 1)
        attrs = value.attrs()
        if attrs:
            out["attrs"] = plain(attrs, depth + 1)
        elif value.state is not None:  # a state that is not attributes (functools.partial's tuple)
            out["state"] = plain(value.state, depth + 1)
        if value.items:
            out["items"] = plain(value.items, depth + 1)
        return out
    return repr(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _attr(obj: Any, *path: str) -> Any:
    for name in path:
        if isinstance(obj, Inert):
            obj = obj.get(name)
        elif isinstance(obj, dict):
            obj = obj.get(name)
        else:
            return None
    return obj


def _summary(obj: Any) -> dict[str, Any]:
    """A short description of a decoded object for an ImportedRecord."""
    if isinstance(obj, Inert):
        return {"class": obj.qualname, "attrs": sorted(obj.attrs())[:40]}
    if isinstance(obj, dict):
        return {"type": "dict", "keys": sorted(map(str, obj))[:40]}
    if isinstance(obj, (list, tuple)):
        return {"type": type(obj).__name__, "len": len(obj)}
    return {"type": type(obj).__name__, "value": plain(obj) if not isinstance(obj, str) else obj[:200]}


def _score(result: Any) -> tuple[float | None, str | None, dict[str, Any] | None]:
    """(val_score, metric name, table) from a lowered score DataFrame (``ensemble`` row first)."""
    if not (isinstance(result, dict) and result.get("kind") == "DataFrame"):
        return None, None, None
    cols, index, data = result["columns"], result["index"], result["data"]
    table = {"columns": plain(cols), "index": plain(index), "data": plain(data)}
    if not cols or not data:
        return None, None, table
    row = index.index("ensemble") if "ensemble" in index else len(index) - 1
    return _num(data[row][0]), str(cols[0]), table


# --------------------------------------------------------------- builder


class _Builder:
    """Collects events, blobs and the summary; keeps timestamps non-decreasing."""

    def __init__(self, summary: ImportSummary) -> None:
        self.events: list[tuple[str | None, Event, float]] = []
        self.blobs: dict[str, bytes] = {}
        self.summary = summary
        self.last_ts = 0.0
        self.used: set[str] = set()  # files named in some event's provenance
        self.last_of_step: dict[tuple[int | None, str | None], int] = {}  # (loop, step) -> events index
        self.last_of_loop: dict[int | None, int] = {}

    def blob(self, data: bytes | str) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        sha = hashlib.sha256(raw).hexdigest()
        self.blobs[sha] = raw
        return sha

    def json_blob(self, value: Any) -> str:
        return self.blob(json.dumps(value, sort_keys=True, ensure_ascii=False))

    def emit(self, trace_id: str | None, event: Event, ts: float | None) -> None:
        # RD-Agent steps overlap slightly with the order we emit in (feedback's LLM
        # calls come after its verdict); clamping keeps the fold's clock monotone.
        ts = self.last_ts if ts is None else max(ts, self.last_ts)
        self.last_ts = ts
        self.events.append((trace_id, event, ts))

    def emit_from(self, trace_id: str | None, event: Event, ts: float | None, recs: list[LogRecord | None],
                  loop: int | None = None, step: str | None = None) -> None:
        """Emit ``event`` naming the files it was derived from in its provenance."""
        files = [r for r in recs if r is not None]
        for r in files:
            self.used.add(r.file.rel)
        prov: dict[str, Any] = {"source": "rdagent", "files": [file_provenance(r) for r in files]}
        if loop is not None:
            prov["loop"] = loop
        if step is not None:
            prov["step"] = step
        self.emit(trace_id, event.model_copy(update={"provenance": prov}), ts)
        if event.type not in (EventType.LLMRequested, EventType.LLMResponded):
            self.last_of_step[(loop, step)] = len(self.events) - 1
            self.last_of_loop[loop] = len(self.events) - 1

    def attach(self, loop: int | None, step: str | None, rec: LogRecord) -> bool:
        """Name ``rec`` in the provenance of the last event of its step; False if the step has none."""
        at = self.last_of_step.get((loop, step))
        if at is None and step == "record":
            at = self.last_of_step.get((loop, "feedback"))
        if at is None:
            at = self.last_of_loop.get(loop)
        if at is None:
            return False
        tid, ev, ts = self.events[at]
        prov = dict(ev.provenance or {})
        prov["files"] = list(prov.get("files", [])) + [file_provenance(rec)]
        self.events[at] = (tid, ev.model_copy(update={"provenance": prov}), ts)
        self.used.add(rec.file.rel)
        return True

    def record(self, trace_id: str | None, rec: LogRecord, summary: dict[str, Any], why: str = "") -> None:
        """An ImportedRecord for a file no step was derived from."""
        f = rec.file
        data_sha = self.blob(rec.raw) if rec.error is not None and rec.raw else None
        prov: dict[str, Any] = {"source": "rdagent", "files": [file_provenance(rec)]}
        if f.loop is not None:
            prov["loop"] = f.loop
        if f.step is not None:
            prov["step"] = f.step
        self.emit(trace_id, ImportedRecord(tag=f.tag, summary=summary, data_sha=data_sha,
                                           decoded=rec.error is None, why=why or (rec.error or ""),
                                           provenance=prov), _ts(rec))
        self.used.add(f.rel)


def file_provenance(rec: LogRecord) -> dict[str, Any]:
    """How one source file is named in an event's provenance."""
    f = rec.file
    return {"path": f.rel, "dialect": rec.dialect, "signature": rec.signature, "sha256": rec.sha,
            "bytes": rec.size, "pid": f.pid, "logged_at": f.timestamp.isoformat() if f.timestamp else None}


def _ts(rec: LogRecord) -> float | None:
    return rec.file.timestamp.timestamp() if rec.file.timestamp else None


# ---------------------------------------------------------------- import


def _default_run_id(records: list[LogRecord]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r.file.rel}\0{r.sha}\n".encode())
    return f"rdagent-{h.hexdigest()[:12]}"


def _read_all(logdir: Path, key: bytes | None, left_out: list[tuple[str, str]]) -> list[LogRecord]:
    # Every file is decoded before anything is written, so a refused file
    # (UnsafePickle, PickleSignatureInvalid) aborts the import with the store untouched.
    # Links, FIFOs and devices are never followed or read (left_out says which).
    # A session checkpoint holds the whole loop object (large in long runs): each is
    # decoded (a gadget in any of them refuses the import), summarised, and let go of,
    # except the newest one that decoded, which the timer and direction come from.
    out: list[LogRecord] = []
    newest: LogRecord | None = None
    for f in scan(logdir, left_out):
        rec = read_record(f, key=key)
        if f.kind == "session" and rec.error is None:
            rec.facts = _checkpoint_summary(rec.obj)
            if newest is not None:
                newest.obj = None
            newest = rec
        out.append(rec)
    return out


def _dag(records: list[LogRecord]) -> dict[int, int | None] | None:
    """loop -> parent loop, from the last trace object RD-Agent logged."""
    traces = [r for r in records if r.error is None and r.file.leaf == "trace" and r.file.loop is not None
              and isinstance(r.obj, Inert) and r.obj.get("dag_parent") is not None]
    if not traces:
        sessions = [r for r in records if r.file.kind == "session" and r.error is None
                    and isinstance(_attr(r.obj, "trace"), Inert)]
        if not sessions:
            return None
        trace = _attr(sessions[-1].obj, "trace")
    else:
        trace = traces[-1].obj
    dag_parent = trace.get("dag_parent") or []
    idx2loop = trace.get("idx2loop_id") or {}
    parents: dict[int, int | None] = {}
    for idx, par in enumerate(dag_parent):
        loop = idx2loop.get(idx, idx)
        par = list(par) if isinstance(par, (list, tuple)) else []
        parents[loop] = idx2loop.get(par[0], par[0]) if par else None
    return parents


def _trace_feedback(records: list[LogRecord]) -> dict[int, Any]:
    """loop -> the feedback RD-Agent stored in its trace (covers loops that failed early)."""
    out: dict[int, Any] = {}
    for r in records:
        if r.error is None and r.file.leaf == "trace" and isinstance(r.obj, Inert):
            hist = r.obj.get("hist") or []
            idx2loop = r.obj.get("idx2loop_id") or {}
            for idx, node in enumerate(hist):
                if isinstance(node, (list, tuple)) and len(node) == 2:
                    out[idx2loop.get(idx, idx)] = node[1]
    return out


def _is_machine_path(value: Any) -> bool:
    if isinstance(value, PurePath):
        return True
    if isinstance(value, str):
        return bool(_ABS_PATH.match(value))
    if isinstance(value, (list, tuple)) and value:
        return all(_is_machine_path(v) for v in value)
    return False


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings that shape decisions, settings that only name paths on the recording machine)."""
    kept: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for k, v in settings.items():
        (paths if _is_machine_path(v) else kept)[str(k)] = v
    return plain(kept), plain(paths)


def _timer(obj: Any) -> dict[str, Any] | None:
    """RD-Agent's loop timer from a session checkpoint: duration, time left, time spent (seconds)."""
    timer = _attr(obj, "timer")
    if not isinstance(timer, Inert) or not timer.get("started"):
        return None
    total, left = timer.get("all_duration"), timer.get("_remain_time_duration")
    out: dict[str, Any] = {"all_duration_s": total.total_seconds() if isinstance(total, timedelta) else None,
                           "remain_s": left.total_seconds() if isinstance(left, timedelta) else None}
    if out["all_duration_s"] is not None and out["remain_s"] is not None:
        out["spent_s"] = round(out["all_duration_s"] - out["remain_s"], 6)
    return out


def _checkpoint_summary(obj: Any) -> dict[str, Any]:
    """What an ImportedRecord says about a decoded session checkpoint."""
    out: dict[str, Any] = {"kind": "session_checkpoint"}
    if isinstance(obj, Inert):
        out["class"] = obj.qualname
        out["loop_idx"] = plain(obj.get("loop_idx"))
        step_idx = obj.get("step_idx")
        if isinstance(step_idx, dict):
            out["step_idx"] = {str(k): plain(v) for k, v in step_idx.items()}
        timer = _timer(obj)
        if timer:
            out["timer"] = timer
        out["attrs"] = sorted(obj.attrs())[:60]
    else:
        out.update(_summary(obj))
    return out


def import_rdagent(store: Any, logdir: str | Path, *, run_id: str | None = None,
                   hmac_key: str | None = None) -> ImportSummary:
    """Import an RD-Agent log folder into ``store`` as one run; see the module docstring."""
    logdir = Path(logdir)
    key = signing_key(hmac_key) if hmac_key else None
    left_out: list[tuple[str, str]] = []
    records = _read_all(logdir, key, left_out)
    if not any(r.file.kind in ("pkl", "session") for r in records):
        raise ImportTraceError(
            f"{logdir} holds no RD-Agent pickles (<tag>/<pid>/<timestamp>.pkl); pass the folder "
            "RD-Agent's logger wrote (LOG_TRACE_PATH), not a workspace or a parent folder"
        )
    run_id = run_id or _default_run_id(records)
    if store.run_exists(run_id):
        raise RunExists(f"run {run_id} already exists in {store.path}; pass --run-id to import it "
                        "again under another id")
    summary = ImportSummary(run_id=run_id, logdir=str(logdir), files=len(records))
    summary.skipped.extend(left_out)
    b = _Builder(summary)
    sigs = Counter(r.signature for r in records if r.file.kind != "other")
    summary.signatures = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(sigs.items()))
    if sigs.get("not_checked"):
        summary.notes.append(f"signatures not checked: {sigs['not_checked']} signed files were read "
                             "without a key (--hmac-key / RDAGENT_HMAC_KEY to verify them)")

    ok = [r for r in records if r.error is None]
    by_tag = {r.file.tag: r for r in ok if r.file.kind == "pkl"}  # last one per tag wins
    competition = by_tag.get("competition")
    rdloop = by_tag["RDLOOP_SETTINGS"].obj if "RDLOOP_SETTINGS" in by_tag else {}
    rdagent_settings = by_tag["RD_AGENT_SETTINGS"].obj if "RD_AGENT_SETTINGS" in by_tag else {}
    scenario = by_tag["scenario"].obj if "scenario" in by_tag else None
    models = [r.obj.get("model") for r in ok if r.file.leaf == "token_cost" and isinstance(r.obj, dict)]
    model = next((m for m in models if isinstance(m, str)), None) or (
        rdagent_settings.get("chat_model") if isinstance(rdagent_settings, dict) else None) or "unknown"
    direction = _attr(scenario, "metric_direction")
    if direction is None and isinstance(rdloop, dict):
        direction = rdloop.get("metric_direction")
    task_id = competition.obj if competition is not None and isinstance(competition.obj, str) else (
        f"rdagent:{logdir.name}")

    # session checkpoints: not needed for the steps; the newest decodable one gives the timer
    sessions = [r for r in records if r.file.kind == "session"]
    for r in sessions:
        if r.error is not None:
            summary.notes.append(f"session checkpoint {r.file.rel} could not be decoded ({r.error}); "
                                 "kept as opaque provenance, the steps do not need it")
    last_session = next((r for r in reversed(sessions) if r.error is None), None)
    timer = _timer(last_session.obj) if last_session is not None else None
    if direction is None and last_session is not None:  # RD-Agent 1.0 logs no scenario; the loop holds it
        direction = _attr(last_session.obj, "trace", "scen", "metric_direction")

    # loops, their files, the DAG
    loops: dict[int, dict[str, list[LogRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.file.kind == "pkl" and r.file.loop is not None:
            loops[r.file.loop][r.file.step or ""].append(r)
    parents = _dag(records)
    if parents is None:
        summary.notes.append("no trace object found: loops imported as one linear trace")
    trace_fb = _trace_feedback(records)
    order = sorted(loops, key=lambda L: (min((_ts(r) or 0.0) for s in loops[L].values() for r in s), L))
    summary.loops = len(order)

    # which gome trace each loop belongs to
    trace_of: dict[int, str] = {}
    tip_taken: set[int] = set()
    trace_loops: dict[str, list[int]] = defaultdict(list)
    starts: dict[int, dict[str, Any]] = {}
    prev_loop = None
    for L in order:
        par = parents.get(L) if parents is not None else prev_loop
        if par is not None and par in trace_of and par not in tip_taken and trace_loops[trace_of[par]][-1] == par:
            trace_of[L] = trace_of[par]
            tip_taken.add(par)
        else:
            tid = f"t{len(trace_loops)}"
            trace_of[L] = tid
            starts[L] = {"parent_loop": par}
        trace_loops[trace_of[L]].append(L)
        prev_loop = L
    summary.traces = len(trace_loops)

    first_ts = min((t for t in (_ts(r) for r in records) if t is not None), default=0.0)
    max_iter = max((len(v) for v in trace_loops.values()), default=0)
    settings, machine_paths = split_settings(rdloop) if isinstance(rdloop, dict) else ({}, {})
    run_files = [by_tag.get(n) for n in ("competition", "RDLOOP_SETTINGS", "RD_AGENT_SETTINGS", "scenario")]
    budget = (timer or {}).get("all_duration_s")
    config = RunConfig(traces=max(1, len(trace_loops)), max_iterations=max(1, max_iter))
    if isinstance(budget, (int, float)) and budget > 0:
        config = config.model_copy(update={"budget_s": float(budget)})
    b.emit_from(None, RunStarted(
        task_id=task_id,
        origin="rdagent",
        task={"type": "rdagent", "strategy": STRATEGY, "source": "rdagent",
              "lower_is_better": (not direction) if isinstance(direction, bool) else None,
              "rdloop_settings": settings},
        config=config,
        reasoner=ReasonerConfig(kind=ReasonerKind.replay, model=str(model)),
        code_version=STRATEGY, gome_version=__version__, started_at=first_ts,
    ), first_ts, run_files)
    at = len(b.events) - 1
    tid0, ev0, ts0 = b.events[at]
    b.events[at] = (tid0, ev0.model_copy(update={"provenance": {
        **(ev0.provenance or {}), "logdir": logdir.name, "settings_paths": machine_paths}}), ts0)

    # LLM calls outside loops: before the first trace they are the run's directions
    top_llm = [r for r in records if r.file.kind == "pkl" and r.file.loop is None
               and r.file.leaf in ("debug_llm", "token_cost")]
    _emit_llm(b, None, top_llm, "directions", None, None, None)

    sota: dict[str, tuple[str, float] | None] = defaultdict(lambda: None)
    iteration: Counter[str] = Counter()
    solutions: dict[int, dict[str, Any]] = {}
    for L in order:
        tid = trace_of[L]
        steps = loops[L]
        if L in starts:
            par = starts[L]["parent_loop"]
            gen = _main(steps, "direct_exp_gen")
            hyp_obj = gen.obj if gen else None
            b.emit_from(tid, TraceStarted(
                index=int(tid[1:]),
                direction=str(_attr(hyp_obj, "hypothesis", "hypothesis") or f"RD-Agent loop {L}"),
                direction_detail={"source": "rdagent", "first_loop": L, "parent_loop": par,
                                  "parent_solution_id": f"rd-loop{par}" if par is not None else None,
                                  "parent_trace": trace_of.get(par) if par is not None else None},
            ), min((_ts(r) or 0.0) for s in steps.values() for r in s), [], L, None)
        _emit_loop(b, tid, L, steps, iteration, sota, solutions, parents, trace_fb)

    # files no event came from: a step's bookkeeping joins that step's provenance;
    # checkpoints, undecodable and unknown files become ImportedRecords
    for r in records:
        if r.file.rel in b.used:
            continue
        home = trace_of.get(r.file.loop) if r.file.loop is not None else None
        if r.file.kind == "other":
            summary.skipped.append((r.file.rel, "not a pickle"))
            b.record(home, r, {"kind": "other"})
            continue
        if r.error is not None:
            summary.undecodable.append((r.file.rel, r.error))
            b.record(home, r, {"kind": r.file.kind})
            continue
        if r.file.kind == "session":
            b.record(home, r, r.facts or _checkpoint_summary(r.obj))
            continue
        if r.file.loop is not None and b.attach(r.file.loop, r.file.step, r):
            continue
        if r.file.loop is None and b.attach(None, None, r):  # run-level files join RunStarted
            continue
        b.record(home, r, {"kind": "pkl", "object": _summary(r.obj)})

    for tid, ls in trace_loops.items():
        best = sota[tid]
        b.emit(tid, TraceFinished(reason="stopped", best_solution_id=best[0] if best else None,
                                  best_score=best[1] if best else None, iterations=len(ls)), None)
    best_all = _pick_best(sota, direction)
    submit = next((r for r in reversed(ok) if r.file.leaf == "sota_exp_to_submit"), None)
    b.emit_from(None, SubmissionSelected(
        solution_id=best_all[0] if best_all else None,
        selected_trace=best_all[2] if best_all else None,
        val_score=best_all[1] if best_all else None,
        submission_sha=None, by="val_score" if best_all else "none",
        reason=("best accepted validation score among the imported RD-Agent traces"
                + (f"; RD-Agent's own pick was logged in loop {submit.file.loop} (sota_exp_to_submit)"
                   if submit else "")) if best_all else
        "no RD-Agent loop was accepted with a score",
    ), None, [submit] if submit else [])
    finished = {"source": "rdagent", "loops": summary.loops, "traces": summary.traces,
                "undecodable": len(summary.undecodable)}
    b.emit_from(None, RunFinished(status="completed", summary=finished), None,
                [last_session] if last_session is not None and timer else [])
    # how the files were signed, and the timer (time spent and left differ between two
    # honest recordings of the same decisions): provenance of the run's end
    at = len(b.events) - 1
    tid1, ev1, ts1 = b.events[at]
    b.events[at] = (tid1, ev1.model_copy(update={"provenance": {
        **(ev1.provenance or {}), "signatures": summary.signatures,
        **({"rdagent_timer": timer} if timer else {})}}), ts1)


    new = [NewEvent(ev.type, ev.payload(), tid, ts, type(ev).schema_version) for tid, ev, ts in b.events]
    store.append(run_id, new, 0, blobs=b.blobs)
    summary.events = len(new)
    summary.by_type = dict(Counter(ev.type for _, ev, _ in b.events))
    summary.llm_calls = summary.by_type.get(EventType.LLMResponded, 0)
    return summary


def _pick_best(sota: dict[str, tuple[str, float] | None], direction: Any) -> tuple[str, float, str] | None:
    cands = [(v[0], v[1], tid) for tid, v in sota.items() if v is not None]
    if not cands:
        return None
    lower = direction is False
    return (min if lower else max)(cands, key=lambda c: c[1])


def _main(steps: dict[str, list[LogRecord]], step: str) -> LogRecord | None:
    """The object the workflow step itself logged (tag ``Loop_i.<step>``), last one wins."""
    hits = [r for r in steps.get(step, []) if r.file.tag.count(".") == 1 and r.error is None]
    return hits[-1] if hits else None


def _emit_llm(b: _Builder, tid: str | None, recs: list[LogRecord], purpose: Any, iteration: int | None,
              loop: int | None, step: str | None) -> None:
    """LLM request/response pairs: each debug_llm with the token_cost logged just before it.

    The idempotency key is (trace, loop, step, n-th call of the step), never a file name.
    """
    costs: list[LogRecord] = []
    n = 0
    for r in sorted(recs, key=lambda r: (_ts(r) or 0.0, r.file.rel)):
        if r.error is not None:
            continue
        if r.file.leaf == "token_cost":
            costs.append(r)
            continue
        if r.file.leaf != "debug_llm" or not isinstance(r.obj, dict):
            continue
        cost = next((c for c in costs if c.file.pid == r.file.pid), None)
        if cost is not None:
            costs.remove(cost)
        msg = r.obj
        c = cost.obj if cost is not None and isinstance(cost.obj, dict) else {}
        model = str(c.get("model") or "unknown")
        key = f"rdagent:{tid or 'run'}:" + (f"loop{loop}:{step}:" if loop is not None else "") + f"llm{n}"
        messages = [{"role": "system", "content": plain(msg.get("system"))},
                    {"role": "user", "content": plain(msg.get("user"))}]
        b.emit_from(tid, LLMRequested(key=key, purpose=purpose, iteration=iteration, model=model,
                                      messages_sha=b.json_blob(messages),
                                      context_sha=b.json_blob({"tag": r.file.tag, "loop": loop, "step": step,
                                                               "call": n}),
                                      schema_name="rdagent:text"),
                    msg["start"].timestamp() if isinstance(msg.get("start"), datetime) else _ts(r), [r], loop, step)
        resp = msg.get("resp")
        latency = (msg["end"] - msg["start"]).total_seconds() if isinstance(msg.get("end"), datetime) and \
            isinstance(msg.get("start"), datetime) else 0.0
        b.emit_from(tid, LLMResponded(key=key, model=model,
                                      content_sha=b.blob(resp if isinstance(resp, str) else json.dumps(plain(resp))),
                                      prompt_tokens=int(_num(c.get("prompt_tokens")) or 0),
                                      completion_tokens=int(_num(c.get("completion_tokens")) or 0),
                                      latency_s=max(0.0, latency), cost_usd=_num(c.get("cost")) or 0.0),
                    _ts(r), [r, cost], loop, step)
        n += 1


def _files(exp: Any) -> dict[str, str]:
    ws = _attr(exp, "experiment_workspace")
    files = _attr(ws, "file_dict")
    if not isinstance(files, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(plain(v)) for k, v in files.items()}


def _emit_loop(b: _Builder, tid: str, L: int, steps: dict[str, list[LogRecord]], iteration: Counter[str],
               sota: dict[str, Any], solutions: dict[int, dict[str, Any]], parents: dict[int, int | None] | None,
               trace_fb: dict[int, Any]) -> None:
    it = iteration[tid]
    iteration[tid] += 1
    llm = {s: [r for r in recs if r.file.leaf in ("debug_llm", "token_cost")] for s, recs in steps.items()}
    par = parents.get(L) if parents is not None else None
    parent_sid = f"rd-loop{par}" if par is not None and par in solutions else None
    sid = f"rd-loop{L}"

    # 1. hypothesis
    _emit_llm(b, tid, llm.get("direct_exp_gen", []), "propose", it, L, "direct_exp_gen")
    gen = _main(steps, "direct_exp_gen")
    coded = _main(steps, "coding")
    ran = _main(steps, "running")
    fb_rec = _main(steps, "feedback")
    first = gen or coded or ran
    exp = first.obj if first is not None else None
    hyp = _attr(exp, "hypothesis")
    text = _attr(hyp, "hypothesis") or (f"RD-Agent loop {L}: {_attr(hyp, 'component')}" if hyp else f"RD-Agent loop {L}")
    component = str(_attr(hyp, "component") or "model")
    cand = [Candidate(id="c0", text=str(text), component=component)]
    for i, other in enumerate(_attr(exp, "hypothesis_candidates") or [], start=1):
        other_text = _attr(other, "hypothesis")
        if other_text and other_text != text:
            cand.append(Candidate(id=f"c{i}", text=str(other_text), component=str(_attr(other, "component") or component),
                                  rejected="not chosen by RD-Agent"))
    problems = [Problem(name=str(_attr(hyp, "problem_name")), evidence=str(_attr(hyp, "problem_desc") or ""))] \
        if _attr(hyp, "problem_name") else []
    b.emit_from(tid, HypothesisProposed(
        iteration=it, parent_solution_id=parent_sid, structured=False, problems=problems, candidates=cand,
        top_k=1, draw=Draw(seed=0, pool=["c0"], index=0, chosen_id="c0"), hypothesis=str(text),
        component=component,
        change={"reason": plain(_attr(hyp, "reason")), "rdagent_loop": L,
                "local_selection": plain(_attr(exp, "local_selection"))},
    ), _ts(gen) if gen else None, [gen], L, "direct_exp_gen")
    if gen is None:
        b.summary.notes.append(f"loop {L}: no direct_exp_gen record; hypothesis taken from later steps")

    # 2. code (coding LLM calls, then the runner's fix-up calls)
    _emit_llm(b, tid, llm.get("coding", []), "code", it, L, "coding")
    _emit_llm(b, tid, llm.get("running", []), "debug", it, L, "running")
    code_rec = ran or coded or gen
    files = _files(code_rec.obj) if code_rec else {}
    file_shas = {name: b.blob(body) for name, body in sorted(files.items())}
    code_sha = file_shas.get("main.py") or b.json_blob(files)
    b.emit_from(tid, CodeGenerated(iteration=it, attempt=0, solution_id=sid, parent_solution_id=parent_sid,
                                   code_sha=code_sha, summary=str(_attr(_attr(code_rec.obj, "experiment_workspace"),
                                                                        "change_summary") or "") if code_rec else "",
                                   recipe={"files": file_shas}),
                _ts(coded or code_rec) if code_rec is not None else None,
                [coded] if coded is not None else [code_rec], L, "coding")
    solutions[L] = {"code_sha": code_sha, "files": file_shas}

    # 3. execution
    fb = fb_rec.obj if fb_rec else trace_fb.get(L)
    exc = _attr(fb, "exception")
    result = _attr(_attr(ran.obj, "running_info"), "result") if ran else None
    score, metric, table = _score(result)
    key = f"rdagent:{tid}:loop{L}:running"
    built = coded or ran
    b.emit_from(tid, ExecutionRequested(key=key, solution_id=sid, code_sha=code_sha, iteration=it, attempt=0,
                                        timeout_s=0.0), _ts(built) if built is not None else None, [], L, "running")
    if ran is not None:
        failure, detail = FailureClass.ok.value, ""
        if score is None:
            failure, detail = "no_score", "RD-Agent's running step logged no score table"
    else:
        failure = "coder_error" if isinstance(exc, Inert) and "Coder" in exc.name else "not_run"
        detail = (f"{exc.qualname}: {plain(list(exc.args))}" if isinstance(exc, Inert) else
                  str(_attr(fb, "reason") or "RD-Agent did not run this loop"))
    b.emit_from(tid, ExecutionFinished(
        key=key, solution_id=sid, failure=failure, failure_detail=detail,
        duration_s=_num(_attr(_attr(ran.obj, "running_info"), "running_time")) or 0.0 if ran else 0.0,
        val_score=score, metrics={"metric": metric, "scores": table} if table else {},
        exception=plain(exc) if isinstance(exc, Inert) else None,
    ), _ts(ran) if ran else None, [ran], L, "running")

    # 4. verdict
    decision = _attr(fb, "decision")
    accepted = bool(decision) and failure == FailureClass.ok
    prev = sota[tid]
    levels = [LevelVerdict(level=lvl, passed=None, detail="not checked by RD-Agent") for lvl in VALIDATION_LEVELS]
    levels[0] = LevelVerdict(level="ran_cleanly", passed=ran is not None, detail=detail)
    if ran is not None:
        levels[3] = LevelVerdict(level="score_valid", passed=score is not None, detail=metric or "")
        if score is not None:
            levels[5] = LevelVerdict(level="beats_sota", passed=bool(decision),
                                     detail=str(plain(_attr(fb, "reason")) or "")[:2000])
    first_failure = next((v.level for v in levels if v.passed is False), None)
    b.emit_from(tid, ValidationJudged(key=key, solution_id=sid, iteration=it, attempt=0, levels=levels,
                                      first_failure=first_failure, accepted=accepted, val_score=score,
                                      sota_score=prev[1] if prev else None), _ts(fb_rec) if fb_rec else None,
                [fb_rec], L, "feedback")
    if accepted and score is not None:
        b.emit_from(tid, SotaChanged(solution_id=sid, val_score=score,
                                     previous_solution_id=prev[0] if prev else None,
                                     previous_score=prev[1] if prev else None, code_sha=code_sha,
                                     submission_sha=None), _ts(fb_rec) if fb_rec else None, [], L, "record")
        sota[tid] = (sid, score)
    elif decision and score is None:
        b.summary.skipped.append((f"loop {L} SOTA", "RD-Agent accepted it but no score was logged"))

    # 5. the feedback's and record step's own LLM calls reason toward the next hypothesis
    _emit_llm(b, tid, llm.get("feedback", []), "propose", it, L, "feedback")
    _emit_llm(b, tid, llm.get("record", []), "propose", it, L, "record")
    for step, recs in steps.items():
        if step not in _MAIN_STEPS + ("record",):
            _emit_llm(b, tid, [r for r in recs if r.file.leaf in ("debug_llm", "token_cost")], "propose", it, L, step)
