"""`gome replay --reexecute`: run every recorded experiment again and compare.

Each recorded execution's code is run afresh through the executor against
the task's public data; its new validation score is compared with the
recorded one (within a tolerance), and the hidden-answer grades of the new
and the recorded submission are compared too.  Imported RD-Agent runs are
re-run through :mod:`gome_es.rdagent.reexecute`, which maps RD-Agent's data
mount and output files to gome's solution contract.  Nothing is written to the
run: this is a reproducibility check, reported per experiment.  I/O edge.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import GomeError
from ..executor import Executor, task_spec
from ..store import EventStore
from ..tasks import task_for_run
from ..tasks.grader import score_of
from .snapshots import load_state


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def reexecute_run(store: EventStore, run_id: str, *, tolerance: float = 1e-6, mlebench_data: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    state = load_state(store, run_id)
    if not state.task_id:
        raise GomeError(f"run {run_id} has no RunStarted; nothing to re-execute.")
    if state.origin == "rdagent":  # RD-Agent's workspace files and outputs, mapped to gome's contract
        from ..rdagent.reexecute import reexecute_imported  # lazy: only RD-Agent imports need it

        return reexecute_imported(store, run_id, state, tolerance=tolerance, mlebench_data=mlebench_data,
                                  progress=progress)
    if state.origin != "gome":
        raise GomeError(f"run {run_id} was imported from {state.origin}, whose experiments gome cannot "
                        "re-run; only gome's own runs and RD-Agent imports can be re-executed.")
    task = task_for_run(state.task_id, state.task, mlebench_data)
    executor = Executor()
    rows = []
    calls = [c for c in sorted(state.executions.values(), key=lambda c: c.request_seq) if c.result is not None]
    with tempfile.TemporaryDirectory(prefix="gome-reexec-") as tmp:
        root = Path(tmp)
        for i, call in enumerate(calls, 1):
            rec = call.result or {}
            code = store.get_blob(call.request["code_sha"]).decode("utf-8")
            spec = task_spec(task, key=call.key, code=code, workspace_root=root / "work",
                             timeout_s=float(call.request.get("timeout_s", 300.0)), db=getattr(store, "path", None))
            res = executor.run(spec)
            new_sub = Path(res.submission_path).read_bytes() if res.submission_path and Path(
                res.submission_path).exists() else None
            old_sub = store.get_blob(rec["submission_sha"]) if rec.get("submission_sha") else None
            g_new = score_of(task, new_sub, root / f"new-{i}.csv")
            g_old = score_of(task, old_sub, root / f"old-{i}.csv")
            failure = res.failure.value
            same_score = _close(rec.get("val_score"), res.val_score, tolerance)
            same_grade = _close(g_old, g_new, tolerance)
            row = {
                "key": call.key, "solution_id": call.solution_id, "recorded_failure": rec.get("failure"),
                "failure": failure, "recorded_val_score": rec.get("val_score"), "val_score": res.val_score,
                "recorded_grade": g_old, "grade": g_new,
                "reproduced": same_score and same_grade and failure == rec.get("failure"),
            }
            rows.append(row)
            if progress:
                progress(f"[{i}/{len(calls)}] {call.key}: val {row['recorded_val_score']} -> {row['val_score']}, "
                         f"grade {g_old} -> {g_new}")
    return {"total": len(rows), "reproduced": sum(r["reproduced"] for r in rows), "tolerance": tolerance,
            "experiments": rows}
