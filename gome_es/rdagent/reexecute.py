"""Re-running the experiments of an imported RD-Agent trace in gome's sandbox.

RD-Agent's data-science scenario runs a loop's ``main.py`` in its workspace,
with the competition's data mounted at ``./workspace_input/`` (older
templates read ``/kaggle/input``), and reads back ``submission.csv`` and
``scores.csv`` (models as rows, the ``ensemble`` row is the validation score,
first column the metric).  gome's solution contract is the task's public data
in ``GOME_DATA_DIR`` and ``submission.csv`` plus ``metrics.json``
(``{"val_score": ...}``) written to the working directory.

:func:`solution_for` (pure) wraps a loop's recorded workspace files into one
gome solution that lays the files out, links ``workspace_input`` to the data,
rewrites ``/kaggle/input`` to the data folder, runs ``main.py`` and turns
``scores.csv`` into ``metrics.json`` by the rule the importer used for the
recorded score.  :func:`reexecute_imported` runs each experiment through the
executor (the same sandbox and ``task_spec`` as the agent) and says per
experiment: ``reproduced`` (within tolerance), ``differs`` (recorded vs now)
or ``cannot_run`` (and why).  Nothing is written to the store.  I/O edge.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ..core.vocabulary import EventType, FailureClass
from ..errors import GomeError
from ..executor import Executor, task_spec
from ..tasks import load_task
from ..tasks.grader import score_of

DATA_MOUNT = "workspace_input"  # RD-Agent's scen.input_path, relative to the workspace
OLD_DATA_MOUNT = "/kaggle/input"
DEFAULT_TIMEOUT_S = 3600.0
_MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '?([\w.]+)")

_WRAPPER = '''\
# gome re-execution of RD-Agent loop {loop}: RD-Agent ran main.py in its workspace with the
# data at ./{mount}/ and read submission.csv and scores.csv; gome gives the data in
# GOME_DATA_DIR and reads submission.csv and metrics.json.  See gome_es/rdagent/reexecute.py.
import csv, json, math, os, runpy, sys

FILES = json.loads({files!r})
data = os.environ["GOME_DATA_DIR"]
for name, text in FILES.items():
    folder = os.path.dirname(name)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(name, "w", encoding="utf-8") as fh:
        fh.write(text.replace({old_mount!r}, data))
if not os.path.lexists({mount!r}):
    os.symlink(data, {mount!r})


def _metrics():
    if not os.path.isfile("scores.csv"):
        return
    with open("scores.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r]
    if len(rows) < 2:
        return
    header, body = rows[0], rows[1:]
    pick = next((r for r in body if r[0] == "ensemble"), body[-1])
    try:
        val = float(pick[1])
    except (IndexError, ValueError):
        val = None
    with open("metrics.json", "w", encoding="utf-8") as fh:
        json.dump({{"val_score": val if val is not None and math.isfinite(val) else None,
                   "metric": header[1] if len(header) > 1 else None,
                   "rdagent_scores": {{r[0]: r[1:] for r in body}}}}, fh)


sys.argv = ["main.py"]
sys.path.insert(0, os.getcwd())
try:
    runpy.run_path("main.py", run_name="__main__")
finally:
    _metrics()
'''


def safe_files(files: dict[str, str]) -> dict[str, str]:
    """The recorded workspace files whose names stay inside the workspace (relative, no '..')."""
    out = {}
    for name, text in files.items():
        p = PurePosixPath(name)
        if name and not p.is_absolute() and ".." not in p.parts and "\\" not in name:
            out[p.as_posix()] = text
    return out


def solution_for(loop: int | None, files: dict[str, str]) -> str:
    """One gome solution that runs an RD-Agent loop's ``main.py`` under gome's contract."""
    return _WRAPPER.format(loop=loop, mount=DATA_MOUNT, old_mount=OLD_DATA_MOUNT,
                           files=json.dumps(safe_files(files), sort_keys=True))


def _close(a: float | None, b: float | None, tol: float) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _load(task_id: str, mlebench_data: Path | None) -> Any:
    if mlebench_data is not None:
        return load_task(task_id if task_id.startswith("mlebench:") else f"mlebench:{task_id}",
                         mlebench_data=mlebench_data)
    try:
        return load_task(task_id)
    except GomeError as exc:
        raise GomeError(
            f"the imported RD-Agent run is on competition {task_id!r}, which is not a bundled task "
            f"({exc}); pass --mlebench-data DIR, the folder `mlebench prepare` filled "
            f"(DIR/{task_id}/prepared/public is what RD-Agent mounted at ./{DATA_MOUNT}/)"
        ) from None


def _why_not_ok(res: Any) -> tuple[str, str]:
    """(status, why) for an execution that did not end ok."""
    text = f"{res.stderr_tail}\n{res.detail}"
    missing = _MISSING_MODULE.search(text)
    if missing:
        return "cannot_run", f"the code needs the package {missing.group(1)!r}, which this environment lacks"
    if res.failure == FailureClass.sandbox_error:
        return "cannot_run", f"the sandbox could not start it: {res.detail}"
    return "differs", f"recorded ok, now {res.failure.value}: {res.detail}"


def reexecute_imported(store: Any, run_id: str, state: Any, *, tolerance: float = 1e-6,
                       mlebench_data: Path | None = None, timeout_s: float | None = None,
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Re-run every experiment of an imported RD-Agent run; see the module docstring."""
    task = _load(state.task_id, mlebench_data)
    events = list(store.read(run_id))
    code_of = {e.payload["solution_id"]: e.payload for e in events if e.type == EventType.CodeGenerated}
    loop_of = {e.payload["key"]: (e.payload.get("provenance") or {}).get("loop")
               for e in events if e.type == EventType.ExecutionRequested}
    settings: dict[str, Any] = next((e.payload.get("task", {}).get("rdloop_settings", {}) for e in events
                     if e.type == EventType.RunStarted), {})
    limit = timeout_s or next((float(v) for k, v in settings.items() if k == "full_timeout"
                               and isinstance(v, (int, float)) and v > 0), DEFAULT_TIMEOUT_S)
    calls = [c for c in sorted(state.executions.values(), key=lambda c: c.request_seq) if c.result is not None]
    executor = Executor()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gome-reexec-rdagent-") as tmp:
        root = Path(tmp)
        for i, call in enumerate(calls, 1):
            rec = call.result or {}
            loop = loop_of.get(call.key)
            row: dict[str, Any] = {
                "key": call.key, "solution_id": call.solution_id, "loop": loop,
                "recorded_failure": rec.get("failure"), "failure": None,
                "recorded_val_score": rec.get("val_score"), "val_score": None,
                "recorded_grade": None, "grade": None, "reproduced": False,
            }
            recipe = (code_of.get(call.solution_id) or {}).get("recipe") or {}
            files = {name: store.get_blob(sha).decode("utf-8", errors="replace")
                     for name, sha in (recipe.get("files") or {}).items()}
            if rec.get("failure") != FailureClass.ok:
                row.update(status="cannot_run", why=f"RD-Agent never ran it ({rec.get('failure')}: "
                                                    f"{str(rec.get('failure_detail') or '')[:300]})")
            elif "main.py" not in safe_files(files):
                row.update(status="cannot_run", why="no main.py was recorded for this experiment")
            else:
                spec = task_spec(task, key=f"rdagent-reexec-{i}", code=solution_for(loop, files),
                                 workspace_root=root / "work", timeout_s=limit,
                                 db=getattr(store, "path", None))
                res = executor.run(spec)
                row["failure"] = res.failure.value
                row["val_score"] = res.val_score
                sub = Path(res.submission_path) if res.submission_path else None
                row["grade"] = score_of(task, sub.read_bytes() if sub and sub.is_file() else None,
                                      root / f"sub-{i}.csv")
                if res.failure == FailureClass.ok:
                    same = _close(rec.get("val_score"), res.val_score, tolerance)
                    row.update(status="reproduced" if same else "differs", reproduced=same,
                               why="" if same else f"validation score recorded {rec.get('val_score')}, "
                                                   f"now {res.val_score}")
                else:
                    status, why = _why_not_ok(res)
                    row.update(status=status, why=why)
            rows.append(row)
            if progress:
                progress(f"[{i}/{len(calls)}] loop {loop} ({call.key}): {row['status']}"
                         + (f" - {row['why']}" if row.get("why") else ""))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("reproduced", "differs", "cannot_run")}
    return {"total": len(rows), "reproduced": counts["reproduced"], "differs": counts["differs"],
            "cannot_run": counts["cannot_run"], "tolerance": tolerance, "origin": "rdagent",
            "task": getattr(task, "id", state.task_id), "experiments": rows}
