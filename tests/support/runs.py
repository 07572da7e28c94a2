"""Driving real runs for tests and campaigns: the `gome` CLI in a subprocess, the log read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from gome_es.store import EventStore

TASK = "breast-cancer-diagnosis"
_COMMON = ["--task", TASK, "--traces", "2", "--max-iterations", "2", "--budget", "2h", "--seed", "3", "--quiet"]
# lock-step, one slot: a crashed and resumed run takes the very decisions of an uninterrupted one
RUN_ARGS = [*_COMMON, "--slots", "1", "--schedule", "lockstep"]
# asynchronous: a resumed run may decide differently (outcomes finish in another order); its log replays
ASYNC_RUN_ARGS = [*_COMMON, "--slots", "2", "--schedule", "async"]


def gome(args: list[str], *, db: Path, env: dict[str, str] | None = None, timeout: float = 300,
         check: bool = False) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GOME_DB": str(db), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "gome_es", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"gome {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


_DECISION_FIELDS = {
    "HypothesisProposed": ("iteration", "hypothesis", "change", "draw", "parent_solution_id"),
    "CodeGenerated": ("iteration", "attempt", "solution_id", "code_sha", "recipe"),
    "ExecutionRequested": ("key", "solution_id", "code_sha"),
    "ValidationJudged": ("solution_id", "accepted", "first_failure", "val_score"),
    "MemoryUpdated": ("version", "entry"),
    "SotaChanged": ("solution_id", "val_score", "previous_solution_id"),
    "TraceFinished": ("reason", "best_solution_id", "best_score"),
    "SubmissionSelected": ("solution_id", "submission_sha"),
    "RunFinished": ("status",),
}


def decisions(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    """What the agent decided (hypotheses, code, verdicts, accepted steps, selection), in order.

    LLM request payloads are left out on purpose: their prompts carry measured
    durations of earlier experiments, which differ between two honest runs.
    """
    store = EventStore.open(db, readonly=True)
    out = []
    for ev in store.read(run_id):
        fields = _DECISION_FIELDS.get(ev.type)
        if fields is not None:
            out.append((ev.type, ev.trace_id, json.dumps({f: ev.payload.get(f) for f in fields}, sort_keys=True)))
    store.close()
    return out


def key_outcomes(db: Path, run_id: str) -> tuple[Counter, Counter, Counter, Counter]:
    store = EventStore.open(db, readonly=True)
    lreq, lres, ereq, eres = Counter(), Counter(), Counter(), Counter()
    for ev in store.read(run_id):
        k = ev.payload.get("key")
        {"LLMRequested": lreq, "LLMResponded": lres, "ExecutionRequested": ereq,
         "ExecutionFinished": eres}.get(ev.type, Counter())[k] += 1
    store.close()
    return lreq, lres, ereq, eres


def effects(path: Path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(line.strip() for line in path.read_text().splitlines() if line.strip())




def check_crash_invariants(db: Path, run_id: str, baseline: dict, fx: Path, max_extra: int = 1) -> None:
    v = gome(["verify", run_id], db=db)
    assert v.returncode == 0, v.stdout + v.stderr
    lreq, lres, ereq, eres = key_outcomes(db, run_id)
    assert set(lreq) == set(lres) and all(n == 1 for n in lres.values()), "each LLM key has exactly one outcome"
    assert set(ereq) == set(eres) and all(n == 1 for n in eres.values()), "each execution has exactly one outcome"
    assert decisions(db, run_id) == baseline["decisions"], "decisions differ from the uninterrupted run"
    done = effects(fx)
    base = baseline["effects"]
    assert set(done) == set(base), "the same side effects were performed"
    extra = sum(done.values()) - sum(base.values())
    assert 0 <= extra <= max_extra, f"{extra} side effects were repeated: {done - base}"


def check_async_crash_invariants(db: Path, run_id: str, fx: Path) -> None:
    """What a crashed and resumed run must satisfy under any schedule (issue 13's acceptance rule).

    It verifies, ends finished and graded, has one outcome per idempotency key,
    replays with zero divergence, and performed each effect once except those
    in flight at the kill (a RunResumed's redo_keys), which it performed at
    most once more.
    """
    v = gome(["verify", run_id], db=db)
    assert v.returncode == 0, v.stdout + v.stderr
    lreq, lres, ereq, eres = key_outcomes(db, run_id)
    assert set(lreq) == set(lres) and all(n == 1 for n in lres.values()), "each LLM key has exactly one outcome"
    assert set(ereq) == set(eres) and all(n == 1 for n in eres.values()), "each execution has exactly one outcome"
    store = EventStore.open(db, readonly=True)
    evs = list(store.read(run_id))
    store.close()
    assert evs[-1].type == "SubmissionGraded", evs[-1].type
    rp = gome(["replay", run_id, "--json"], db=db)
    assert rp.returncode == 0 and json.loads(rp.stdout)["ok"], rp.stdout[-3000:] + rp.stderr[-2000:]
    redo: Counter = Counter()
    for e in evs:
        if e.type == "RunResumed":
            redo.update(e.payload["redo_keys"])
    unrun = {e.payload["key"] for e in evs if e.type == "ExecutionFinished"
             and e.payload["failure_detail"].startswith("not started")}
    done = effects(fx)
    performed = Counter()
    for line, n in done.items():
        performed[line.split(" ", 1)[1]] += n
    assert set(performed) == (set(lres) | set(eres)) - unrun, "every outcome comes from an effect performed"
    twice = {k: n for k, n in performed.items() if n > 1}
    assert all(n <= 1 + redo[k] for k, n in twice.items()), f"repeated effects not in flight at the kill: {twice}"


def crash_then_resume(tmp_path: Path, env: dict[str, str], baseline: dict | None = None,
                      args: list[str] = RUN_ARGS) -> tuple[Path, Path]:
    db, fx = tmp_path / "g.db", tmp_path / "effects.log"
    work = ["--workspace", str(tmp_path / "work")]
    first = gome(["run", *args, "--run-id", "r", *work], db=db, env={"GOME_EFFECT_LOG": str(fx), **env})
    assert first.returncode == -signal.SIGKILL, (first.returncode, first.stderr[-2000:])
    slots = args[args.index("--slots") + 1]
    res = gome(["resume", "r", "--quiet", "--slots", slots, *work], db=db, env={"GOME_EFFECT_LOG": str(fx)})
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "r"
    return db, fx
