"""GPU check for the executor: real CUDA faults through the sandbox.

Triggers a CUDA OOM and a device-side assert in fresh sandboxed processes,
checks their classification, checks that the faulted device is probed before
reuse, runs two executions sharing one GPU concurrently, checks that CUDA works
under the sandbox's unprivileged uid and PID namespace (device nodes visible
and openable, peak GPU memory sampled from outside), and that a killed driver
takes its solution's GPU memory with it at once.  Prints what it saw.  Exits 0
with a skip message on a machine without CUDA; 1 if a check fails.

    .venv/bin/python benchmarks/gpu_check_executor.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gome_es.executor import ExecutionSpec, Executor, FailureClass, GpuPool  # noqa: E402

OOM = "import torch\nx = torch.empty(int(4e13), dtype=torch.uint8, device='cuda')\n"
ASSERT = ("import torch\nemb = torch.zeros(4, 8, device='cuda')\nidx = torch.tensor([0, 99], device='cuda')\n"
          "y = emb[idx]\ntorch.cuda.synchronize()\n")
TRAIN = """
import json, os, time, torch
t = time.time()
torch.manual_seed(0)
x = torch.randn(20000, 64, device="cuda"); w = torch.randn(64, 1, device="cuda"); y = x @ w
m = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1)).cuda()
opt = torch.optim.Adam(m.parameters(), 1e-3)
for _ in range(300):
    opt.zero_grad(); loss = ((m(x) - y) ** 2).mean(); loss.backward(); opt.step()
print(f"device={os.environ['CUDA_VISIBLE_DEVICES']} train_s={time.time() - t:.2f} loss={loss.item():.4f}")
open("submission.csv", "w").write("id,y\\n1,0\\n")
json.dump({"val_score": -float(loss.item())}, open("metrics.json", "w"))
"""


IDENTITY = """
import glob, json, os, torch
nodes = {}
for node in sorted(glob.glob("/dev/nvidia*")):
    try:
        os.close(os.open(node, os.O_RDWR)); nodes[node] = "rw"
    except OSError as exc:
        nodes[node] = exc.strerror
x = torch.ones(1024, 1024, 64, device="cuda")  # 256 MiB, held while the driver samples
import time; time.sleep(3)
print(json.dumps({"uid": os.getuid(), "pid": os.getpid(), "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                  "nodes": nodes, "sum": float(x.sum())}))
open("submission.csv", "w").write("id,y\\n1,0\\n")
json.dump({"val_score": 1.0}, open("metrics.json", "w"))
"""
HOLD = "import torch, time\nx = torch.ones(1024, 1024, 256, device='cuda')\nopen('holding', 'w').close()\ntime.sleep(600)\n"
DRIVER = """
import sys
from pathlib import Path
from gome_es.executor import ExecutionSpec, Executor, GpuPool
Executor(gpu_pool=GpuPool(slots_per_gpu=1)).run(ExecutionSpec(key="hold", code=sys.argv[1], data_dir=Path(sys.argv[2]),
    workspace_root=Path(sys.argv[3]), timeout_s=600, use_gpu=True))
"""


def _gpu_used_mb() -> float:
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30)
    return sum(float(x) for x in out.stdout.split())


def main() -> int:
    pool = GpuPool(slots_per_gpu=2)
    if not pool.has_devices:
        print("SKIP: no CUDA device visible (nvidia-smi / torch found none)")
        return 0
    print("devices:", [d.model_dump() for d in pool.devices])
    root = Path(tempfile.mkdtemp(prefix="gome-gpu-check-"))
    data = root / "data"
    data.mkdir()
    ex = Executor(gpu_pool=pool)
    failures = []

    def run(key, code, timeout=240):
        spec = ExecutionSpec(key=key, code=code, data_dir=data, workspace_root=root / "ws", timeout_s=timeout,
                             use_gpu=True, threads=2)
        t = time.monotonic()
        r = ex.run(spec)
        print(f"[{key}] failure={r.failure.value} detail={r.detail!r} exit={r.exit_code} device={r.device} "
              f"peak_gpu_mb={r.peak_gpu_mb} peak_rss_mb={r.peak_rss_mb} wall={time.monotonic() - t:.2f}s "
              f"isolation={r.isolation} warnings={r.warnings}")
        return r

    def check(cond, what):
        print(("PASS " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    r = run("cuda-oom", OOM)
    check(r.failure is FailureClass.cuda_oom, "a huge allocation is classified cuda_oom")
    r = run("device-assert", ASSERT)
    check(r.failure is FailureClass.cuda_fault, "an out-of-range index is classified cuda_fault")
    check(bool(pool.unhealthy), f"the faulted device is marked unhealthy: {pool.unhealthy}")
    t = time.monotonic()
    slot = pool.acquire(timeout=120)
    check(slot is not None and not pool.unhealthy,
          f"a probe subprocess clears the device before reuse ({time.monotonic() - t:.1f}s)")
    if slot is not None:
        pool.release(slot)

    results = {}
    t = time.monotonic()
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, run(f"share-{i}", TRAIN))) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t
    check(all(r.failure is FailureClass.ok for r in results.values()), "two trainings sharing one GPU both succeed")
    check(len({r.device for r in results.values()}) >= 1, f"devices used: {[r.device for r in results.values()]}")
    for r in results.values():
        print("   ", r.stdout_tail.strip())
    print(f"two concurrent executions: wall {wall:.2f}s, each {[r.duration_s for r in results.values()]}")
    r = run("identity", IDENTITY)
    seen = json.loads(r.stdout_tail.strip().splitlines()[-1]) if r.failure is FailureClass.ok else {}
    check(r.failure is FailureClass.ok, f"CUDA works in the sandbox: {r.detail}")
    check(seen.get("uid") == 65534 and "uid:65534" in r.isolation, f"runs as uid 65534: {seen.get('uid')}")
    check(seen.get("pid") == 2 and seen.get("procs") == [1, 2] and "pidns" in r.isolation,
          f"own PID namespace, the solution is PID 2: pid={seen.get('pid')} procs={seen.get('procs')}")
    check(bool(seen.get("nodes")) and all(v == "rw" for v in seen.get("nodes", {}).values()),
          f"device nodes visible and openable: {seen.get('nodes')}")
    check(r.peak_gpu_mb is not None and r.peak_gpu_mb >= 256, f"peak GPU memory sampled from outside: {r.peak_gpu_mb}")

    if shutil.which("nvidia-smi"):
        base = _gpu_used_mb()
        ws = root / "hold-ws"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        drv = subprocess.Popen([sys.executable, "-c", DRIVER, HOLD, str(data), str(ws)], env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(ws.glob("*/work/holding")):
            time.sleep(0.2)
        held = _gpu_used_mb()
        drv.send_signal(signal.SIGKILL)
        drv.wait()
        t = time.monotonic()
        while time.monotonic() - t < 10 and _gpu_used_mb() > base + 512:
            time.sleep(0.1)
        freed = time.monotonic() - t
        check(held - base >= 900 and _gpu_used_mb() <= base + 512,
              f"a killed driver frees its solution's GPU memory at once: held {held - base:.0f} MiB, "
              f"freed in {freed:.2f}s")

    print("RESULT:", "all checks passed" if not failures else f"{len(failures)} failed: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
