"""`gome export RUN --mlflow URI`: a real MLflow client writing a real local store, read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome_es.core.events import SubmissionGraded, validate_payload
from gome_es.store import EventStore, NewEvent
from tests.support.synthetic import synthesize

pytestmark = pytest.mark.integration

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed (pip install 'gome-es[mlflow]')")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EventStore:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store behind an opt-in
    st = EventStore.open(tmp_path / "g.db", validator=validate_payload)
    run = synthesize(4, run_id="run-ml", traces=2, max_iterations=3, code_size=80, log_size=20)
    events = [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version) for e in run.events]
    grade = SubmissionGraded(report={"competition_id": "synthetic-task", "score": 0.91, "valid_submission": True,
                                     "above_median": True, "any_medal": True, "gold_medal": False,
                                     "silver_medal": True, "bronze_medal": False})
    events.append(NewEvent("SubmissionGraded", grade.payload(), None, events[-1].ts, grade.schema_version))
    st.append("run-ml", events, 0, blobs=run.blobs)
    yield st
    st.close()


def test_a_run_lands_in_mlflow_with_params_metrics_tags_and_artifacts(store: EventStore, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from gome_es.trackers.mlflow import export_run

    uri = (tmp_path / "mlruns").as_uri()
    out = export_run(store, "run-ml", tracking_uri=uri)
    client = MlflowClient(uri)
    run = client.get_run(out.mlflow_run_id)
    assert run.data.params["traces"] == "2" and run.data.params["weights.impact"] == "0.4"
    assert run.data.tags["gome.run_id"] == "run-ml" and run.data.tags["variant"] == "gome"
    assert run.data.metrics["test_score"] == 0.91 and run.data.metrics["silver_medal"] == 1.0
    executions = [e for e in store.read("run-ml", types=["ExecutionFinished"])]
    history = client.get_metric_history(out.mlflow_run_id, "budget_spent_s")
    assert [m.step for m in history] == list(range(1, len(executions) + 1))
    assert [m.timestamp for m in history] == [int(e.ts * 1000) for e in executions]
    best = [m.value for m in client.get_metric_history(out.mlflow_run_id, "best_val_score")]
    assert best == sorted(best)  # best so far never drops (higher is better here)
    names = {a.path for a in client.list_artifacts(out.mlflow_run_id)}
    assert {"report.html", "code", "submission"} <= names
    code = {a.path for a in client.list_artifacts(out.mlflow_run_id, "code")}
    assert len(code) == len({e.payload["solution_id"] for e in store.read("run-ml", types=["CodeGenerated"])})
    assert run.info.status == "FINISHED"


def test_exporting_again_is_idempotent(store: EventStore, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from gome_es.trackers.mlflow import export_run

    uri = (tmp_path / "mlruns").as_uri()
    first = export_run(store, "run-ml", tracking_uri=uri)
    again = export_run(store, "run-ml", tracking_uri=uri)
    assert first.mlflow_run_id and again.mlflow_run_id is None
    exp = MlflowClient(uri).get_experiment_by_name("gome/synthetic-task")
    assert len(MlflowClient(uri).search_runs([exp.experiment_id])) == 1


def test_a_sweep_exports_each_cell_tagged_with_its_variant(store: EventStore, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from gome_es.store import NewEvent as NE
    from gome_es.trackers.mlflow import export_runs

    plan = {"spec": {"tasks": ["synthetic-task"], "variants": ["no-memory"], "seeds": [4]},
            "cells": [{"task": "synthetic-task", "variant": "no-memory", "seed": 4, "run_id": "run-ml"}]}
    store.append("sweep-x", [NE("SweepPlanned", plan)], 0)
    uri = (tmp_path / "mlruns").as_uri()
    [out] = export_runs(store, ["sweep-x"], tracking_uri=uri)
    tags = MlflowClient(uri).get_run(out.mlflow_run_id).data.tags
    assert tags["sweep"] == "sweep-x" and tags["variant"] == "no-memory"


def test_gome_export_mlflow_from_the_command_line(store: EventStore, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from mlflow.tracking import MlflowClient

    from gome_es.cli.main import cli

    uri = (tmp_path / "mlruns").as_uri()
    res = CliRunner().invoke(cli, ["export", "run-m", "--db", str(store.path), "--mlflow", uri,
                                   "--experiment", "study"])
    assert res.exit_code == 0, res.output
    assert "logged 1 run(s) to MLflow" in res.output
    exp = MlflowClient(uri).get_experiment_by_name("study")
    [run] = MlflowClient(uri).search_runs([exp.experiment_id])
    assert run.data.tags["gome.run_id"] == "run-ml"
    res = CliRunner().invoke(cli, ["export", "run-ml", "--db", str(store.path), "--mlflow", uri, "-o", "x.jsonl"])
    assert res.exit_code == 2 and "neither -o nor --sign" in res.output
    res = CliRunner().invoke(cli, ["export", "run-ml", "--db", str(store.path)])
    assert res.exit_code == 2 and "give -o FILE" in res.output
