"""GPU check for crash-proof resume (issue 6): a real run on a CUDA device, killed and resumed.

    python benchmarks/gpu_check_resume.py [--keep DIR]

A two-trace run whose solutions train a small torch MLP on the GPU (on the
bundled breast-cancer task).  One experiment (trace t2's first improvement)
hits a device-side assert.  The driver is SIGKILLed in the middle of an
execution, then `resume` takes the run to the end.  Prints what it saw and
the invariants: the chain verifies, every idempotency key has exactly one
outcome, side effects repeated at most once, the solution died with its
driver (within 2 s of the kill, so its GPU memory was freed then), the
CUDA fault was classified and fed back to its trace, the run finished.
Exits 0 with a skip message where no CUDA device is visible; 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN = '''\
import json, os, time
import pandas as pd, torch
d = os.environ["GOME_DATA_DIR"]
dev = os.environ.get("GOME_DEVICE", "cpu")
tr = pd.read_csv(os.path.join(d, "train.csv")); te = pd.read_csv(os.path.join(d, "test.csv"))
X = torch.tensor(tr.drop(columns=["id", "malignant"]).values, dtype=torch.float32)
y = torch.tensor(tr["malignant"].values, dtype=torch.float32)
Xt = torch.tensor(te.drop(columns=["id"]).values, dtype=torch.float32)
mu, sd = X.mean(0), X.std(0) + 1e-6
X, Xt = ((X - mu) / sd).to(dev), ((Xt - mu) / sd).to(dev)
y = y.to(dev)
n = int(0.75 * len(X)); torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1)).to(dev)
opt = torch.optim.Adam(m.parameters(), 1e-3)
BUG
for _ in range(STEPS):
    opt.zero_grad(); loss = torch.nn.functional.binary_cross_entropy_with_logits(m(X[:n]).squeeze(1), y[:n])
    loss.backward(); opt.step()
with torch.no_grad():
    p = torch.sigmoid(m(X[n:]).squeeze(1)); yv = y[n:]
    pos, neg = p[yv == 1], p[yv == 0]
    auc = (pos[:, None] > neg[None, :]).float().mean().item()
    json.dump({"val_score": auc, "device": dev}, open("metrics.json", "w"))
    pd.DataFrame({"id": te["id"], "malignant": torch.sigmoid(m(Xt).squeeze(1)).cpu().numpy()}).to_csv(
        "submission.csv", index=False)
time.sleep(SLEEP)
'''
ASSERT = "idx = torch.tensor([0, 10**6], device=dev); _ = X[idx]; torch.cuda.synchronize()"


class GpuScripted:
    """A stand-in LLM: torch solutions, one of which trips a device-side assert."""

    name, model = "gpu-scripted", "gpu-scripted"

    def complete(self, request):
        from gome_es.core.reasoner import LlmResponse

        c = request.context
        if request.purpose == "directions":
            out = {"directions": [{"name": f"mlp{h}", "text": f"torch MLP hidden={h}", "change": {"hidden": h}}
                                  for h in (16, 64)][: c["n"]]}
        elif request.purpose == "propose":
            h = int(((c.get("parent") or {}).get("recipe") or {}).get("hidden", 32))
            out = {"problems": [{"name": "underfitting"}], "candidates": [
                {"text": f"hidden {h * f}", "change": {"hidden": h * f}, "scores": {"impact": 9 - i}}
                for i, f in enumerate((2, 4))]}
        elif request.purpose in ("code", "debug"):
            ch = (c.get("hypothesis") or {}).get("change") or c.get("recipe") or {}
            h = int(ch.get("hidden", 32))
            bug = ASSERT if request.key == "t2/it1/code/0" else ""
            code = (TRAIN.replace("HIDDEN", str(h)).replace("STEPS", "300").replace("BUG", bug)
                    .replace("SLEEP", "4" if request.key == "t1/it1/code/0" else "0"))
            out = {"code": code, "recipe": {"hidden": h}}
        else:
            best = max(c["candidates"], key=lambda x: x["val_score"])
            out = {"solution_id": best["solution_id"], "reason": "best"}
        return LlmResponse(content=json.dumps(out), model=self.model)


def drive_child(db: str, run_id: str, resume: bool, work: str) -> None:
    from gome_es.core.events import ReasonerConfig, RunConfig
    from gome_es.driver.driver import DriveOptions, drive, start_run
    from gome_es.store import EventStore
    from gome_es.tasks import load_task

    store = EventStore.open(db)
    task = load_task("breast-cancer-diagnosis")
    if not resume:
        start_run(store, task, RunConfig(traces=2, max_iterations=3, budget_s=3600, exec_timeout_s=240),
                  ReasonerConfig(kind="offline", model="gpu-scripted"), run_id=run_id)
    state = drive(store, run_id, task=task, reasoner=GpuScripted(), resuming=resume,
                  options=DriveOptions(workspace_root=Path(work), slots=2))
    print(f"child: run {run_id} {state.status}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--allow-cpu", action="store_true", help="rehearse on a machine without CUDA (CUDA checks fail)")
    ap.add_argument("--child", nargs=4, metavar=("DB", "RUN", "RESUME", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        drive_child(args.child[0], args.child[1], args.child[2] == "1", args.child[3])
        return 0

    from gome_es.executor import GpuPool
    from gome_es.store import EventStore

    pool = GpuPool()
    if not pool.has_devices and not args.allow_cpu:
        print("SKIP: no CUDA device visible")
        return 0
    print("devices:", [d.model_dump() for d in pool.devices])
    root = args.keep or Path(tempfile.mkdtemp(prefix="gome-gpu-resume-"))
    root.mkdir(parents=True, exist_ok=True)
    db, fx, work = root / "g.db", root / "effects.log", root / "work"
    env = {**os.environ, "GOME_EFFECT_LOG": str(fx), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, __file__, "--child", str(db), "gpu", "0", str(work)]
    t0 = time.time()
    child = subprocess.Popen(cmd, env=env)
    victim = None
    while child.poll() is None and time.time() - t0 < 300:  # kill mid-execution of t1's slow improvement
        if db.exists():
            store = EventStore.open(db, readonly=True)
            if store.run_exists("gpu"):
                started = {e.payload["key"]: e.payload for e in store.read("gpu", types=["ExecutionStarted"])}
                done = {e.payload["key"] for e in store.read("gpu", types=["ExecutionFinished"])}
                if "t1/it1/exec/0" in started and "t1/it1/exec/0" not in done:
                    victim = started["t1/it1/exec/0"]
            store.close()
            if victim:
                break
        time.sleep(0.2)
    checks: list[tuple[str, bool, str]] = []
    if victim is None:
        print("could not catch an execution in flight; child exit", child.poll())
        return 1
    child.send_signal(signal.SIGKILL)
    child.wait()
    store = EventStore.open(db, readonly=True)
    started = {e.payload["key"] for e in store.read("gpu", types=["ExecutionStarted"])}
    finished = {e.payload["key"] for e in store.read("gpu", types=["ExecutionFinished"])}
    asked = {e.payload["key"] for e in store.read("gpu", types=["LLMRequested"])}
    answered = {e.payload["key"] for e in store.read("gpu", types=["LLMResponded"])}
    in_flight = {f"exec {k}" for k in started - finished} | {f"llm {k}" for k in asked - answered}
    store.close()
    print(f"killed the driver (pid {child.pid}) while {victim['key']} ran as pid {victim['pid']} "
          f"on {victim.get('device')} after {time.time() - t0:.1f}s")
    # The sandbox ties every solution to its driver (PR_SET_PDEATHSIG down to the namespace's init).
    t_kill = time.time()
    while _same_process_alive(victim) and time.time() - t_kill < 2:
        time.sleep(0.05)
    orphan_alive = _same_process_alive(victim)
    died_in = time.time() - t_kill
    t1 = time.time()
    res = subprocess.run([sys.executable, __file__, "--child", str(db), "gpu", "1", str(work)], env=env)
    print(f"resume exit {res.returncode} after {time.time() - t1:.1f}s")
    checks.append(("resume exited 0", res.returncode == 0, str(res.returncode)))
    checks.append(("the solution died with its driver, not at the resume",
                   not orphan_alive, f"alive 2 s after the kill={orphan_alive}, gone after {died_in:.2f}s"))

    store = EventStore.open(db, readonly=True)
    events = list(store.read("gpu"))
    rep = store.verify("gpu")
    checks.append(("chain verifies", rep.ok, f"{rep.checked} events"))
    c = {t: Counter() for t in ("LLMRequested", "LLMResponded", "ExecutionRequested", "ExecutionFinished")}
    for e in events:
        if e.type in c:
            c[e.type][e.payload["key"]] += 1
    one_llm = c["LLMRequested"] == c["LLMResponded"] and set(c["LLMResponded"].values()) == {1}
    one_exec = c["ExecutionRequested"] == c["ExecutionFinished"] and set(c["ExecutionFinished"].values()) == {1}
    checks.append(("each LLM key has exactly one outcome", one_llm, f"{len(c['LLMResponded'])} keys"))
    checks.append(("each execution has exactly one outcome", one_exec, f"{len(c['ExecutionFinished'])} keys"))
    performed = Counter(fx.read_text().split("\n")[:-1])
    repeated = {k: n for k, n in performed.items() if n > 1}
    checks.append(("only effects in flight at the kill were repeated, once each",
                   set(repeated) <= in_flight and all(n == 2 for n in repeated.values()),
                   f"repeated: {repeated}; in flight: {sorted(in_flight)}"))
    fin = {e.payload["key"]: e.payload for e in events if e.type == "ExecutionFinished"}
    bug = fin.get("t2/it1/exec/0", {})
    checks.append(("device-side assert classified as a CUDA fault", bug.get("failure") == "cuda_fault",
                   f"{bug.get('failure')}: {bug.get('failure_detail', '')[:120]}"))
    judged = [e.payload for e in events if e.type == "ValidationJudged" and e.payload["key"] == "t2/it1/exec/0"]
    checks.append(("the trace received the fault as feedback and went on",
                   bool(judged) and judged[0]["first_failure"] == "ran_cleanly"
                   and any(e.trace_id == "t2" and e.seq > 0 and e.type in ("LLMRequested", "HypothesisProposed")
                           and e.payload.get("iteration", 0) >= 1 and e.seq > _seq_of(events, "t2/it1/exec/0")
                           for e in events), json.dumps(judged[:1])[:200]))
    redone = fin.get(victim["key"], {})
    checks.append(("the killed execution was redone in a fresh workspace",
                   redone.get("redone") is True and redone.get("workspace") != victim["workspace"],
                   f"{redone.get('failure')} val={redone.get('val_score')}"))
    devs = [e.payload for e in events if e.type == "DeviceHealthChanged"]
    print("device health events:", devs)
    gpu_used = [p.get("device") for p in fin.values()]
    checks.append(("experiments ran on the GPU", any(d and d.startswith("cuda") for d in gpu_used), str(gpu_used)))
    last = events[-1]
    checks.append(("run finished and was graded", last.type == "SubmissionGraded", last.type))
    resumed = [e.payload for e in events if e.type == "RunResumed"]
    print("resumed:", [{k: r.get(k) for k in ("cause", "gap_s", "redo_keys")} for r in resumed])
    for key, p in sorted(fin.items()):
        print(f"  {key:>18}: {p['failure']:<14} val={p.get('val_score')} device={p.get('device')} "
              f"peak_gpu_mb={p.get('peak_gpu_mb')} dur={p.get('duration_s', 0):.1f}s redone={p.get('redone')}")
    bad = 0
    for name, ok, detail in checks:
        print(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}")
        bad += not ok
    print(f"{len(checks) - bad} passed, {bad} failed")
    return 1 if bad else 0


def _seq_of(events, key: str) -> int:
    return next((e.seq for e in events if e.type == "ExecutionFinished" and e.payload["key"] == key), 10**9)


def _same_process_alive(info: dict) -> bool:
    stat = Path(f"/proc/{info['pid']}/stat")
    if not stat.exists():
        return False
    try:
        start = stat.read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return False
    return str(start) == str(info.get("start_time"))


if __name__ == "__main__":
    raise SystemExit(main())
