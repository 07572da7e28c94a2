"""An executor that sleeps instead of training: scheduling tests and benchmarks.

An experiment of trace ``t`` lasts ``durations[t]`` seconds (bounded by its
timeout, like a real one), writes the task's sample submission and reports a
validation score drawn from its code's hash, so the policy sees real-looking,
reproducible outcomes while the clock shows only the schedule.  It starts no
process (no ExecutionStarted is recorded), so there is nothing to orphan.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

from gome_es.executor.spec import ExecutionResult, ExecutionSpec, FailureClass


class SleepingExecutor:
    gpu_pool = None

    def __init__(self, task: Any, durations: dict[str, float], default_s: float = 1.0) -> None:
        self.task, self.durations, self.default_s = task, durations, default_s
        self.lock = threading.Lock()
        self.running = 0
        self.busy: list[tuple[str, float, float]] = []  # (key, start, end) of every experiment, for utilisation

    def run(self, spec: ExecutionSpec, on_start: Callable[[Any], None] | None = None) -> ExecutionResult:
        trace = spec.key.split("/")[0]
        want = self.durations.get(trace, self.default_s)
        work = Path(spec.workspace_root) / spec.key.replace("/", "_")
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        with self.lock:
            self.running += 1
        try:
            time.sleep(min(want, spec.timeout_s))
        finally:
            with self.lock:
                self.running -= 1
                self.busy.append((spec.key, t0, time.time()))
        took = time.time() - t0
        if want > spec.timeout_s:
            return ExecutionResult(key=spec.key, failure=FailureClass.timeout, detail="slept past its timeout",
                                   exit_code=-15, signal=15, timed_out=True, duration_s=took, workspace=work)
        sub = work / "submission.csv"
        shutil.copyfile(self.task.sample_submission_path, sub)
        h = int(hashlib.sha256(spec.code.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        score = round(0.5 + 0.4 * h, 6)
        return ExecutionResult(key=spec.key, failure=FailureClass.ok, exit_code=0, duration_s=took,
                               val_score=score, metrics={"val_score": score}, submission_path=sub,
                               workspace=work, device="cpu")
