"""Synthetic runs with the shapes the driver writes, for diff tests and the diff benchmark.

Every payload is built from the event models in :mod:`gome_es.core.events` (so it
validates) and the sequence follows the state machine (so it folds).  Knobs
make a second run differ in controlled ways:

``jitter``   changes only what two honest recordings may differ in: timestamps,
             durations, hosts, pids, workspaces, latencies, and the durations
             quoted inside prompt contexts (so context and message blobs get
             other shas).
``shuffle``  interleaves the traces of each round in another order.
``diverge``  (trace, iteration): from there on that trace proposes another
             hypothesis, writes other code and scores differently.
``fail``     (trace, iteration) pairs whose first attempt crashes, so a debug
             attempt follows.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from gome_es.core.events import (
    VALIDATION_LEVELS,
    Candidate,
    CodeGenerated,
    Draw,
    Event,
    ExecutionFinished,
    ExecutionRequested,
    ExecutionStarted,
    HypothesisProposed,
    LevelVerdict,
    LLMRequested,
    LLMResponded,
    MemoryEntry,
    MemoryUpdated,
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
from gome_es.store import EventStore, NewEvent

CODE_TEMPLATE = """import json, os
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

d = os.environ["GOME_DATA_DIR"]
train = pd.read_csv(os.path.join(d, "train.csv"))
test = pd.read_csv(os.path.join(d, "test.csv"))
X, y = train.drop(columns=["id", "target"]), train["target"]
"""


@dataclass
class Synth:
    events: list[NewEvent]
    blobs: dict[str, bytes] = field(default_factory=dict)

    def blob(self, data: Any) -> str:
        raw = data if isinstance(data, bytes) else (
            data.encode() if isinstance(data, str) else json.dumps(data, sort_keys=True).encode())
        sha = EventStore.blob_hash(raw)
        self.blobs[sha] = raw
        return sha

    def write(self, store: EventStore, run_id: str, batch: int = 500) -> None:
        seq = 0
        for i in range(0, len(self.events), batch):
            chunk = self.events[i:i + batch]
            needed = {}
            for ev in chunk:
                for k, v in ev.payload.items():
                    if k.endswith("_sha") and v in self.blobs:
                        needed[v] = self.blobs[v]
            store.append(run_id, chunk, seq, blobs=needed)
            seq += len(chunk)


def _ne(ev: Event, trace_id: str | None, ts: float) -> NewEvent:
    return NewEvent(type=ev.type, payload=ev.payload(), trace_id=trace_id, ts=ts,
                    schema_version=type(ev).schema_version)


def synth_run(*, traces: int = 2, iterations: int = 3, jitter: int = 0, shuffle: bool = False,
              diverge: tuple[str, int] | None = None, fail: set[tuple[str, int]] | frozenset = frozenset(),
              code_lines: int = 60, memory: bool = True) -> Synth:
    """A finished run of ``traces`` x ``iterations`` gome iterations (~11 events each)."""
    rng = random.Random(jitter)
    out = Synth([])
    host = f"host-{jitter}"
    tids = [f"t{i + 1}" for i in range(traces)]
    run_events: list[tuple[str | None, Event]] = []

    def llm(trace: str | None, key: str, purpose: str, it: int | None, attempt: int,
            context: dict[str, Any], answer: dict[str, Any]) -> list[tuple[str | None, Event]]:
        ctx = {**context, "feedback": {**context.get("feedback", {}),
                                       "duration_s": round(rng.uniform(1, 60), 3)}}
        text = (f"You improve a solution. Iteration {it}. Last run took "
                f"{ctx['feedback']['duration_s']} s.\n" + json.dumps(ctx, sort_keys=True) + "\n" + "." * 1500)
        messages = [{"role": "system", "content": "x" * 800}, {"role": "user", "content": text}]
        return [
            (trace, LLMRequested(key=key, purpose=purpose, iteration=it, attempt=attempt, model="m-1",
                                 messages_sha=out.blob(messages), context_sha=out.blob(ctx),
                                 schema_name=purpose.title() + "Out")),
            (trace, LLMResponded(key=key, model="m-1", content_sha=out.blob(answer), prompt_tokens=900,
                                 completion_tokens=350, latency_s=rng.uniform(0.5, 9), cost_usd=0.0021,
                                 attempts=1 + (rng.random() < 0.05))),
        ]

    run_events.append((None, RunStarted(task_id="synthetic", task={"metric": "auc", "lower_is_better": False},
                                        config=RunConfig(traces=traces, max_iterations=iterations),
                                        reasoner=ReasonerConfig(), code_version="synthetic",
                                        gome_version="0", host=host, pid=1000 + jitter,
                                        started_at=1.7e9 + jitter)))
    dirs = [{"name": f"dir-{t}", "text": f"direction of {t}"} for t in tids]
    run_events += llm(None, "run/directions/0", "directions", None, 0, {"n": traces}, {"directions": dirs})
    for i, t in enumerate(tids):
        run_events.append((t, TraceStarted(index=i, direction=dirs[i]["name"], direction_detail=dirs[i])))

    sota: dict[str, tuple[str | None, float | None, str | None]] = {t: (None, None, None) for t in tids}
    rounds: list[list[list[tuple[str | None, Event]]]] = []
    for it in range(iterations):
        per_trace = []
        for t in tids:
            shifted = diverge is not None and t == diverge[0] and it >= diverge[1]
            factor = 1.7 if shifted else 1.0
            evs: list[tuple[str | None, Event]] = []
            parent_id, parent_score, _ = sota[t]
            cands = [Candidate(id=f"c{k}", text=f"{t} it{it}: scale C by {(k + 2) * factor:g}",
                               component="hyperparameters", change={"C": (k + 2) * factor},
                               scores={"impact": 5 + k, "novelty": 8 - k}, total=6.0 - k / 10)
                     for k in range(3)]
            evs += llm(t, f"{t}/it{it}/propose/0", "propose", it, 0,
                       {"iteration": it, "parent": parent_id, "feedback": {"val_score": parent_score}},
                       {"candidates": [c.model_dump() for c in cands]})
            evs.append((t, HypothesisProposed(
                iteration=it, parent_solution_id=parent_id, structured=True, candidates=cands,
                weights={"impact": 0.5, "novelty": 0.5}, top_k=2,
                draw=Draw(seed=it * 7919 + len(t), pool=["c0", "c1"], index=0, chosen_id="c0"),
                hypothesis=cands[0].text, component="hyperparameters", change=cands[0].change)))
            attempts = [0, 1] if (t, it) in fail else [0]
            for attempt in attempts:
                purpose = "code" if attempt == 0 else "debug"
                crashed = attempt == 0 and len(attempts) > 1
                body = [f"model_{n} = GradientBoostingClassifier(n_estimators={100 + n}, "
                        f"learning_rate={0.05 * factor:.3f})  # step {n}" for n in range(code_lines)]
                code = CODE_TEMPLATE + "\n".join(body) + ("\nraise RuntimeError('boom')\n" if crashed else "\n")
                code_sha = out.blob(code)
                evs += llm(t, f"{t}/it{it}/{purpose}/{attempt}", purpose, it, attempt,
                           {"hypothesis": cands[0].text, "parent": parent_id}, {"code": code})
                sid = f"{t}-i{it}-a{attempt}"
                key = f"{t}/it{it}/exec/{attempt}"
                evs.append((t, CodeGenerated(iteration=it, attempt=attempt, solution_id=sid,
                                             parent_solution_id=parent_id, code_sha=code_sha,
                                             llm_key=f"{t}/it{it}/{purpose}/{attempt}", summary=f"C x{factor}")))
                evs.append((t, ExecutionRequested(key=key, solution_id=sid, code_sha=code_sha, iteration=it,
                                                  attempt=attempt, timeout_s=300.0)))
                evs.append((t, ExecutionStarted(key=key, pid=rng.randint(100, 99999), pgid=1, host=host,
                                                workspace=f"/w/{jitter}/{key}")))
                score = None if crashed else round(0.8 + 0.01 * it * factor + 0.001 * int(t[1:]), 6)
                sub = None if crashed else out.blob(f"id,target\n{sid},{score}\n")
                evs.append((t, ExecutionFinished(
                    key=key, solution_id=sid, failure="runtime_error" if crashed else "ok",
                    exit_code=1 if crashed else 0, duration_s=rng.uniform(1, 600), val_score=score,
                    metrics={} if crashed else {"val_score": score}, submission_sha=sub,
                    peak_rss_mb=rng.uniform(100, 900), stdout_tail="epoch " * rng.randint(1, 40),
                    workspace=f"/w/{jitter}/{key}")))
                beats = score is not None and (parent_score is None or score > parent_score)
                levels, first = [], None
                for lvl in VALIDATION_LEVELS:
                    ok = not crashed if lvl != "beats_sota" else beats
                    passed = None if first else ok
                    if first is None and not ok:
                        first = lvl
                    levels.append(LevelVerdict(level=lvl, passed=passed, detail=f"{lvl}: {passed}"))
                evs.append((t, ValidationJudged(key=key, solution_id=sid, iteration=it, attempt=attempt,
                                                levels=levels, first_failure=first, accepted=first is None,
                                                val_score=score, sota_score=parent_score)))
                if first is None:
                    if memory and parent_score is not None:
                        evs.append((t, MemoryUpdated(version=0, entry=MemoryEntry(
                            trace_id=t, iteration=it, solution_id=sid, hypothesis=cands[0].text,
                            component="hyperparameters", delta=score - parent_score, val_score=score))))
                    evs.append((t, SotaChanged(solution_id=sid, val_score=score, previous_solution_id=parent_id,
                                               previous_score=parent_score, code_sha=code_sha,
                                               submission_sha=sub)))
                    sota[t] = (sid, score, sub)
            per_trace.append(evs)
        rounds.append(per_trace)

    ordered = list(run_events)
    for per_trace in rounds:
        order = list(range(traces))
        if shuffle:
            rng.shuffle(order)
        for k in order:
            ordered += per_trace[k]
    for t in tids:
        sid, score, _ = sota[t]
        ordered.append((t, TraceFinished(reason="max_iterations", best_solution_id=sid, best_score=score,
                                         iterations=iterations)))
    best = max(tids, key=lambda t: (sota[t][1] or 0.0, t))
    ordered += llm(None, "run/select/0", "select", None, 0, {"candidates": tids}, {"solution_id": sota[best][0]})
    ordered.append((None, SubmissionSelected(solution_id=sota[best][0], selected_trace=best,
                                             val_score=sota[best][1], submission_sha=sota[best][2],
                                             by="reasoner", reason="highest val score", llm_key="run/select/0")))
    ordered.append((None, RunFinished(status="completed", summary={"selected": sota[best][0]})))

    version = 0
    ts = 1.7e9 + jitter * 1000.0
    for trace, ev in ordered:
        if isinstance(ev, MemoryUpdated):
            version += 1
            ev = MemoryUpdated(version=version, entry=ev.entry)
        ts += rng.uniform(0.01, 2.0)
        out.events.append(_ne(ev, trace, ts))
    return out


def event_rows(s: Synth, run_id: str = "synthetic") -> list[Any]:
    """The synthetic events as stored rows (seq 1..N), without a database."""
    from gome_es.store import StoredEvent

    return [StoredEvent(run_id, i, e.trace_id, e.type, e.schema_version, e.ts, e.payload, "", "")
            for i, e in enumerate(s.events, start=1)]
