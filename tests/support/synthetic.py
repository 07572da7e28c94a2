"""Synthetic runs: the real policy driven by random (seeded) outcomes, no LLM, no executor.

Used by property tests (random *legal* logs) and by benchmarks (12-hour-scale
logs with realistic blob sizes).  Every decision comes from
:func:`policy.decide_one`, so the logs replay with zero divergence; only the
outcomes (LLM answers, execution results, clock) are invented.  Pure apart
from the seeded ``random.Random`` it owns.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from gome_es.core.canonical import sha256_hex
from gome_es.core.events import (
    Event,
    ExecutionFinished,
    ExecutionStarted,
    LLMResponded,
    ReasonerConfig,
    RunConfig,
    RunResumed,
    RunStarted,
    RunStopped,
)
from gome_es.core.policy import decide_one
from gome_es.core.state import PendingEvent, RunState, apply
from gome_es.core.vocabulary import ResumeCause


@dataclass
class SyntheticRun:
    run_id: str
    events: list[PendingEvent] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    state: RunState | None = None


def _code(rng: random.Random, size: int) -> str:
    lines = ["import numpy as np", "import pandas as pd", f"SEED = {rng.randrange(10**6)}"]
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(f"x_{len(lines)} = np.arange({rng.randrange(1000)}).sum()  # step")
    return "\n".join(lines)


def _answer(rng: random.Random, purpose: str, context: dict[str, Any], code_size: int) -> dict[str, Any]:
    if purpose == "directions":
        return {"directions": [{"name": f"dir{i}", "text": f"direction {i} family {rng.randrange(99)}",
                                "change": {"family": i}} for i in range(context["n"])]}
    if purpose == "propose":
        k = int(context.get("n_candidates", 5))
        return {
            "problems": [{"name": rng.choice(["underfitting", "overfitting", "failure"]), "evidence": "synthetic"}],
            "candidates": [
                {"text": f"change {rng.randrange(10**6)} of {rng.choice(['model', 'features', 'tuning'])}",
                 "component": rng.choice(["model", "features", "hyperparameters"]),
                 "change": {"p": rng.randrange(10**6)},
                 "scores": {d: rng.randint(1, 10) for d in ("alignment", "impact", "novelty", "feasibility",
                                                            "risk_reward")}}
                for _ in range(k)
            ],
        }
    if purpose in ("code", "debug"):
        return {"code": _code(rng, code_size), "recipe": {"r": rng.randrange(10**6)}, "summary": "synthetic"}
    cands = context["candidates"]
    return {"solution_id": rng.choice(cands)["solution_id"], "reason": "synthetic choice"}


def synthesize(
    seed: int = 0,
    *,
    run_id: str = "synthetic",
    traces: int = 2,
    max_iterations: int = 4,
    budget_s: float = 12 * 3600.0,
    step_s: float = 5.0,
    fail_rate: float = 0.25,
    llm_error_rate: float = 0.05,
    stop_rate: float = 0.0,
    code_size: int = 4000,
    log_size: int = 2000,
    max_events: int | None = None,
    lower_is_better: bool = False,
    strategy: str = "gome",
) -> SyntheticRun:
    rng = random.Random(seed)
    run = SyntheticRun(run_id=run_id)
    state = RunState(run_id=run_id)
    ts = 1_700_000_000.0

    def add(ev: Event, trace_id: str | None, blobs: dict[str, bytes] | None = None) -> None:
        nonlocal ts
        ts += rng.uniform(0.0, step_s)
        if blobs:
            run.blobs.update(blobs)
        se = PendingEvent.of(state.last_seq + 1, ev, trace_id, round(ts, 6))
        apply(state, se)
        run.events.append(se)

    cfg = RunConfig(traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=seed,
                    strategy=strategy, est_exec_s=step_s)
    add(RunStarted(task_id="synthetic-task", task={"id": "synthetic-task", "task_type": "binary", "metric": "auc",
                                                   "lower_is_better": lower_is_better},
                   config=cfg, reasoner=ReasonerConfig(kind="replay", model="synthetic"),
                   code_version="synthetic", gome_version="synthetic"), None)
    read = run.blobs.__getitem__
    while not state.is_finished:
        if max_events is not None and len(run.events) >= max_events:
            break
        d = decide_one(state, read)
        if d is not None:
            add(d.event, d.trace_id, d.blobs)
            continue
        if state.is_stopped:
            add(RunResumed(cause=ResumeCause.graceful_stop, gap_s=1.0, code_version="synthetic"), None)
            continue
        pend: list[tuple[int, str, Any]] = sorted([(c.request_seq, "llm", c) for c in state.pending_llm()]
                      + [(c.request_seq, "exec", c) for c in state.pending_executions()], key=lambda x: x[0])
        if not pend:
            raise RuntimeError(f"synthetic run stuck at seq {state.last_seq}")
        if stop_rate and rng.random() < stop_rate:
            add(RunStopped(reason="synthetic stop", cancelled_keys=[c.key for _, _, c in pend]), None)
            continue
        for _, kind, call in pend:
            if kind == "llm":
                ctx = json.loads(read(call.request["context_sha"]))
                if rng.random() < llm_error_rate:
                    add(LLMResponded(key=call.key, model="synthetic", content_sha=None, error="synthetic error"),
                        call.trace_id)
                    continue
                raw = json.dumps(_answer(rng, call.purpose, ctx, code_size), sort_keys=True).encode()
                sha = sha256_hex(raw)
                add(LLMResponded(key=call.key, model="synthetic", content_sha=sha, prompt_tokens=rng.randrange(4000),
                                 completion_tokens=rng.randrange(2000), cost_usd=round(rng.random() / 100, 6)),
                    call.trace_id, {sha: raw})
            else:
                add(ExecutionStarted(key=call.key, pid=rng.randrange(2, 10**5), pgid=rng.randrange(2, 10**5),
                                     host="synthetic", workspace=f"/tmp/{call.key}"), call.trace_id)
                failed = rng.random() < fail_rate
                out = ("x" * log_size).encode()
                osha = sha256_hex(out + call.key.encode())
                score = None if failed else round(rng.uniform(0.5, 1.0), 5)
                sub = f"id,target\n{rng.randrange(10**6)},1\n".encode()
                ssha = sha256_hex(sub) if not failed else None
                blobs = {osha: out + call.key.encode()}
                if ssha:
                    blobs[ssha] = sub
                add(ExecutionFinished(
                    key=call.key, solution_id=call.solution_id,
                    failure="python_exception" if failed else "ok", exit_code=1 if failed else 0,
                    duration_s=rng.uniform(1, 600), val_score=score, metrics={"val_score": score} if score else {},
                    submission_sha=ssha, submission_check={"valid": not failed, "reasons": []},
                    stdout_sha=osha, stderr_tail="Traceback..." if failed else "",
                ), call.trace_id, blobs)
    run.state = state
    return run
