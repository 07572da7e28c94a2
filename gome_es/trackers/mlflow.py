"""Log gome runs to MLflow, the tracker the lab already runs: `gome export RUN --mlflow [URI]`.

One gome run becomes one MLflow run in the experiment named after its task (or ``--experiment``):

- parameters: the recorded ``RunConfig`` (``weights`` flattened to ``weights.<dimension>``), the
  reasoner kind and model;
- metrics, one point per experiment (execution) in log order, ``step`` its number and the
  timestamp its recorded time: ``val_score`` (when it has one), ``best_val_score`` (the best
  accepted so far) and ``budget_spent_s``; at the end ``test_score``, ``valid_submission``,
  ``above_median`` and ``any_medal``/``gold_medal``/... as 0/1;
- tags: ``gome.run_id``, ``gome.head`` (the chain head it was exported at), task, variant, seed,
  sweep, status, code and gome versions;
- artifacts: the selected submission (``submission/submission.csv``), the HTML report
  (``report.html``) and the code of every solution (``code/<solution id>.py``).

Exporting again is idempotent: a run whose ``gome.run_id`` and ``gome.head`` are already in the
experiment is skipped; a run that moved on since (a longer head) is logged as a new MLflow run,
tagged with the same ``gome.run_id``.  mlflow is an optional extra (``pip install 'gome-es[mlflow]'``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.state import RunState, apply
from ..core.vocabulary import EventType
from ..errors import GomeError
from ..report import build_report
from ..report.compare import expand, variant_of
from ..report.tables import sweep_cells
from ..store import EventStore

GRADE_FLAGS = ("valid_submission", "above_median", "any_medal", "gold_medal", "silver_medal", "bronze_medal")


class TrackerError(GomeError):
    """The tracker is missing, unreachable or refused what was logged."""


@dataclass
class Exported:
    run_id: str
    mlflow_run_id: str | None  # None: skipped, already there at this head
    experiment: str
    metrics: int
    artifacts: int


def _mlflow() -> Any:
    try:
        # lazy: mlflow is an optional extra (gome-es[mlflow])
        import mlflow
    except ImportError as exc:
        raise TrackerError("exporting to MLflow needs the mlflow package: pip install 'gome-es[mlflow]' "
                           "(or mlflow-skinny)") from exc
    return mlflow


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in sorted(value.items()):
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value is not None:
        out[prefix] = str(value)[:500]  # MLflow caps a parameter's value


def run_record(store: EventStore, run_id: str) -> tuple[RunState, dict[str, str], list[dict[str, Any]]]:
    """The folded run, its parameters, and one metric point per experiment (pure over the log)."""
    state = RunState(run_id=run_id)
    points: list[dict[str, Any]] = []
    for ev in store.read(run_id):
        apply(state, ev)
        if ev.type == EventType.ExecutionFinished:
            score = ev.payload.get("val_score")
            points.append({"step": len(points) + 1, "ts": ev.ts, "spent_s": state.spent_s,
                           "val_score": score if isinstance(score, (int, float)) else None,
                           "solution_id": ev.payload.get("solution_id")})
        if points:  # the best so far once this experiment was judged (before the next one finished)
            sol = state.best_solution()
            points[-1]["best_val_score"] = sol.val_score if sol is not None else None
    params: dict[str, str] = {}
    _flat("", state.config.model_dump(mode="json"), params)
    _flat("reasoner", {k: state.reasoner.get(k) for k in ("kind", "model", "base_url")}, params)
    return state, params, points


def export_run(store: EventStore, run_id: str, *, tracking_uri: str | None = None, experiment: str | None = None,
               tags: dict[str, str] | None = None, progress: Callable[[str], None] | None = None) -> Exported:
    """Log one gome run to MLflow (see the module docstring); returns what was logged."""
    mlflow = _mlflow()
    # lazy: mlflow is an optional extra (gome-es[mlflow])
    from mlflow.tracking import MlflowClient

    store.require_run(run_id)
    state, params, points = run_record(store, run_id)
    head_seq, head_hash = store.head(run_id)
    task = str(state.task.get("id") or state.task_id or "task")
    exp_name = experiment or f"gome/{task}"
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        exp = client.get_experiment_by_name(exp_name)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(exp_name)
        done = client.search_runs([exp_id], filter_string=f"tags.`gome.run_id` = '{run_id}' "
                                                          f"and tags.`gome.head` = '{head_hash}'")
    except Exception as exc:  # the tracker's own errors (unreachable server, bad URI, refused store)
        raise TrackerError(f"MLflow at {tracking_uri or mlflow.get_tracking_uri()} refused experiment "
                           f"{exp_name!r}: {exc}") from exc
    if done:
        return Exported(run_id, None, exp_name, 0, 0)
    cfg = state.config.model_dump(mode="json")
    all_tags = {"gome.run_id": run_id, "gome.head": head_hash, "gome.head_seq": str(head_seq), "task": task,
                "variant": variant_of(cfg), "seed": str(cfg.get("seed")), "status": state.status,
                "gome.code_version": str(state.code_version or ""), **(tags or {})}
    # lazy: mlflow is an optional extra (gome-es[mlflow])
    from mlflow.entities import Metric, Param, RunTag

    run = client.create_run(exp_id, run_name=run_id, start_time=int((state.first_ts or 0) * 1000) or None,
                            tags=all_tags)
    mid = run.info.run_id
    metrics: list[Any] = []
    for p in points:
        ts = int(p["ts"] * 1000)
        for name in ("val_score", "best_val_score"):
            if p.get(name) is not None:
                metrics.append(Metric(name, float(p[name]), ts, p["step"]))
        metrics.append(Metric("budget_spent_s", float(p["spent_s"]), ts, p["step"]))
    grade = state.grade or {}
    end_ts = int((state.last_ts or 0) * 1000)
    if isinstance(grade.get("score"), (int, float)):
        metrics.append(Metric("test_score", float(grade["score"]), end_ts, len(points)))
    for flag in GRADE_FLAGS:
        if flag in grade:
            metrics.append(Metric(flag, float(bool(grade[flag])), end_ts, len(points)))
    try:
        for i in range(0, max(len(metrics), 1), 900):  # MLflow takes at most 1000 metrics a batch
            client.log_batch(mid, metrics=metrics[i:i + 900],
                             params=[Param(k, v) for k, v in params.items()] if i == 0 else [],
                             tags=[RunTag("mlflow.note.content", f"gome run {run_id} ({task})")] if i == 0 else [])
        artifacts = 0
        with tempfile.TemporaryDirectory(prefix="gome-mlflow-") as tmp:
            root = Path(tmp)
            sel = state.selected or {}
            if sel.get("submission_sha"):
                sub = root / "submission" / "submission.csv"
                sub.parent.mkdir()
                sub.write_bytes(store.get_blob(sel["submission_sha"]))
                client.log_artifact(mid, str(sub), "submission")
                artifacts += 1
            report = root / "report.html"
            report.write_text(build_report(store, [run_id]), encoding="utf-8")
            client.log_artifact(mid, str(report))
            artifacts += 1
            code = root / "code"
            code.mkdir()
            for sol in state.solutions.values():
                name = "".join(c if c.isalnum() or c in "._-" else "_" for c in sol.solution_id)
                (code / f"{name}.py").write_bytes(store.get_blob(sol.code_sha))
                artifacts += 1
            if any(code.iterdir()):
                client.log_artifacts(mid, str(code), "code")
        client.set_terminated(mid, status="FINISHED" if state.is_finished else "KILLED",
                              end_time=end_ts or None)
    except GomeError:
        client.set_terminated(mid, status="FAILED")
        raise
    except Exception as exc:
        client.set_terminated(mid, status="FAILED")
        raise TrackerError(f"MLflow refused run {run_id}'s data (MLflow run {mid}): {exc}") from exc
    if progress:
        progress(f"{run_id} -> MLflow run {mid} in {exp_name!r}: {len(metrics)} metric points, "
                 f"{artifacts} artifacts")
    return Exported(run_id, mid, exp_name, len(metrics), artifacts)


def export_runs(store: EventStore, ids: list[str], *, tracking_uri: str | None = None,
                experiment: str | None = None, progress: Callable[[str], None] | None = None) -> list[Exported]:
    """Log each run (ids, unique prefixes, ``@last``; a sweep id stands for its cells' runs, each
    tagged with the sweep and its variant)."""
    cells = sweep_cells(store)
    out = []
    for rid in expand(store, ids):
        sweep_id, cell = cells.get(rid, (None, {}))
        tags = {"sweep": sweep_id, "variant": str(cell.get("variant"))} if sweep_id else None
        out.append(export_run(store, rid, tracking_uri=tracking_uri, experiment=experiment, tags=tags,
                              progress=progress))
    return out
