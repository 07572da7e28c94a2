"""Offline solutions of every modality, end to end: the reasoner writes the code, a real
subprocess runs it on a tiny competition in MLE-bench's layout, and the submission is
checked against the sample submission and graded against the hidden answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, log_loss, roc_auc_score

from gome_es.core.reasoner import LlmRequest
from gome_es.llm.offline import OfflineReasoner
from gome_es.solutions.media import space_of
from gome_es.solutions.recipes import default_recipe

from . import media_fixtures as mf

ROOT = Path(__file__).resolve().parents[2]


def code_for(task: dict, family: str, params: dict | None = None, features: dict | None = None) -> str:
    """The offline reasoner's answer to a code request starting from ``family``."""
    recipe = default_recipe(space_of(task), family)
    recipe["params"].update(params or {})
    recipe["features"].update(features or {})
    request = LlmRequest(key="k", purpose="code", schema_name="CodeOut", messages=[], context={"task": task, "direction": {"change": recipe}})
    return json.loads(OfflineReasoner().complete(request).content)["code"]


def run(code: str, public: Path, work: Path, env: dict | None = None, timeout: float = 240) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    (work / "solution.py").write_text(code)
    proc = subprocess.run([sys.executable, "solution.py"], cwd=work, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "GOME_DATA_DIR": str(public), "OMP_NUM_THREADS": "1",
                               "PYTHONPATH": str(ROOT), **(env or {})})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    metrics = json.loads((work / "metrics.json").read_text())
    assert np.isfinite(metrics["val_score"]), metrics
    return {"metrics": metrics, "stdout": proc.stdout}


def valid_against(public: Path, sample_name: str, work: Path, id_col: str | None) -> pd.DataFrame:
    """The submission has the sample submission's columns, rows and ids, and no missing value."""
    sample = pd.read_csv(public / sample_name, keep_default_na=False)
    sub = pd.read_csv(work / "submission.csv", keep_default_na=False)
    assert list(sub.columns) == list(sample.columns)
    assert len(sub) == len(sample)
    if id_col:
        assert sub[id_col].astype(str).tolist() == sample[id_col].astype(str).tolist()
    assert not sub.isna().any().any()
    return sub


def built(tmp_path: Path, name: str) -> tuple[dict, pd.DataFrame, Path]:
    task, answers = mf.BUILDERS[name](tmp_path / name)
    return task, answers, tmp_path / name / "public"


@pytest.mark.integration
def test_image_classification_from_zips_features_gbm(tmp_path):
    task, answers, public = built(tmp_path, "cactus")
    out = run(code_for(task, "feat_hgb", {"max_iter": 60}), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    assert roc_auc_score(answers["has_cactus"], sub["has_cactus"]) > 0.85
    assert sub["has_cactus"].between(0, 1).all()
    assert out["metrics"]["n_train"] + out["metrics"]["n_val"] == 160


@pytest.mark.integration
def test_boosting_stops_adding_trees_inside_the_time_limit(tmp_path):
    """A GBM asked for 100,000 iterations under a 20 s limit stops growing at its share of it and
    still writes a valid submission (dog-breed's 120 classes once ran past a 3-minute budget)."""
    task, answers, public = built(tmp_path, "cactus")
    started = time.monotonic()
    out = run(code_for(task, "feat_hgb", {"max_iter": 100_000, "learning_rate": 0.01}), public, tmp_path / "w",
              env={"GOME_TIME_LIMIT_S": "20"})
    assert time.monotonic() - started < 60  # not 100,000 iterations' worth (a loaded machine is slower)
    assert "stopped boosting at" in out["stdout"]
    valid_against(public, "sample_submission.csv", tmp_path / "w", "id")


@pytest.mark.integration
def test_a_cnn_stops_training_inside_the_time_limit(tmp_path):
    task, answers, public = built(tmp_path, "cactus")
    out = run(code_for(task, "cnn", {"epochs": 10_000, "image_size": 32, "channels": 8, "train_seconds": 10_000}),
              public, tmp_path / "w", env={"GOME_TIME_LIMIT_S": "15"})
    # train_seconds alone would allow 10,000 s: only the time limit's share can have stopped it
    assert "stopping" in out["stdout"] and "training spent" in out["stdout"]
    assert "epoch 10000/10000" not in out["stdout"]
    valid_against(public, "sample_submission.csv", tmp_path / "w", "id")


@pytest.mark.integration
def test_image_small_cnn_from_scratch_is_the_validated_model(tmp_path):
    task, answers, public = built(tmp_path, "cactus")
    out = run(code_for(task, "cnn", {"epochs": 2, "image_size": 32, "channels": 8}), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    assert "hold-out" in out["metrics"]["submitted_model"]
    assert roc_auc_score(answers["has_cactus"], sub["has_cactus"]) > 0.8


@pytest.mark.slow
def test_multi_label_images_column_wise_auc(tmp_path):
    task, answers, public = built(tmp_path, "plants")
    run(code_for(task, "feat_logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "image_id")
    cols = ["healthy", "multiple_diseases", "rust", "scab"]
    assert np.mean([roc_auc_score(answers[c], sub[c]) for c in cols]) > 0.85


@pytest.mark.slow
def test_class_probabilities_from_a_label_column(tmp_path):
    task, answers, public = built(tmp_path, "breeds")
    run(code_for(task, "feat_logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    cols = ["beagle", "collie", "pug"]
    assert np.allclose(sub[cols].sum(axis=1), 1.0, atol=1e-6)
    assert log_loss(answers[cols].to_numpy().argmax(axis=1), sub[cols].to_numpy()) < 0.5


@pytest.mark.slow
def test_labels_read_from_training_file_names(tmp_path):
    task, answers, public = built(tmp_path, "cats_dogs")
    run(code_for(task, "feat_logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    assert sub["label"].between(0.005, 0.995).all()  # log loss: never a sure miss
    assert roc_auc_score(answers["label"], sub["label"]) > 0.85  # P(dog), not P(cat)


@pytest.mark.slow
def test_ordinal_labels_scored_by_qwk(tmp_path):
    task, answers, public = built(tmp_path, "retina")
    run(code_for(task, "feat_logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id_code")
    assert set(sub["diagnosis"]) <= {0, 1, 2}
    assert cohen_kappa_score(answers["diagnosis"], sub["diagnosis"], weights="quadratic") > 0.8


@pytest.mark.integration
def test_images_joined_with_the_metadata_table(tmp_path):
    task, answers, public = built(tmp_path, "melanoma")
    out = run(code_for(task, "feat_hgb", {"max_iter": 60}), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "image_name")
    # the images carry no signal here: only the table's age does, so the join is what scores
    assert "age_approx" in out["metrics"]["metadata_columns"]
    assert roc_auc_score(answers["target"], sub["target"]) > 0.75


@pytest.mark.integration
def test_image_to_image_writes_every_pixel_id(tmp_path):
    task, answers, public = built(tmp_path, "documents")
    run(code_for(task, "pixel_hgb", {"max_iter": 40, "pixels_per_image": 400}), public, tmp_path / "w")
    sub = valid_against(public, "sampleSubmission.csv", tmp_path / "w", "id")
    merged = sub.merge(answers, on="id", suffixes=("", "_true"))
    assert len(merged) == len(answers)
    rmse = float(np.sqrt(np.mean((merged["value"] - merged["value_true"]) ** 2)))
    assert rmse < 0.15  # the dirty input itself is about 0.25 away


@pytest.mark.slow
def test_image_to_image_convolutional_denoiser(tmp_path):
    task, answers, public = built(tmp_path, "documents")
    run(code_for(task, "conv", {"steps": 80, "channels": 8}), public, tmp_path / "w")
    sub = valid_against(public, "sampleSubmission.csv", tmp_path / "w", "id")
    merged = sub.merge(answers, on="id", suffixes=("", "_true"))
    assert float(np.sqrt(np.mean((merged["value"] - merged["value_true"]) ** 2))) < 0.2


@pytest.mark.integration
def test_audio_aiff_clips_in_zips_labels_in_names(tmp_path):
    task, answers, public = built(tmp_path, "whales")
    run(code_for(task, "spec_hgb", {"max_iter": 60}), public, tmp_path / "w")
    sub = valid_against(public, "sampleSubmission.csv", tmp_path / "w", "clip")
    assert roc_auc_score(answers["probability"], sub["probability"]) > 0.85


@pytest.mark.integration
def test_audio_one_row_per_recording_and_class(tmp_path):
    task, answers, public = built(tmp_path, "birds")
    out = run(code_for(task, "spec_logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "Id")
    assert out["metrics"]["label_file"] == "essential_data/rec_labels_test_hidden.txt"
    assert roc_auc_score(answers["Probability"], sub["Probability"]) > 0.85


@pytest.mark.integration
def test_text_with_the_target_first_and_no_id(tmp_path):
    task, answers, public = built(tmp_path, "insults")
    run(code_for(task, "logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission_null.csv", tmp_path / "w", None)
    sample = pd.read_csv(public / "sample_submission_null.csv", keep_default_na=False)
    assert sub["Comment"].tolist() == sample["Comment"].tolist()  # the rows kept their order
    assert roc_auc_score(answers["Insult"], sub["Insult"]) > 0.9


@pytest.mark.integration
def test_text_column_wise_targets(tmp_path):
    task, answers, public = built(tmp_path, "toxic")
    run(code_for(task, "logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    assert np.mean([roc_auc_score(answers[c], sub[c]) for c in ("toxic", "insult", "threat")]) > 0.9


@pytest.mark.integration
def test_text_class_probabilities_from_a_label_column(tmp_path):
    task, answers, public = built(tmp_path, "authors")
    run(code_for(task, "logreg"), public, tmp_path / "w")
    sub = valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    names = ["EAP", "HPL", "MWS"]
    assert np.allclose(sub[names].sum(axis=1), 1.0, atol=1e-6)
    assert log_loss(answers["author"].map(names.index), sub[names].to_numpy()) < 0.5


@pytest.mark.integration
def test_seq2seq_memorised_map_with_number_rules(tmp_path):
    task, answers, public = built(tmp_path, "normalization")
    out = run(code_for(task, "memo"), public, tmp_path / "w")
    sub = valid_against(public, "en_sample_submission_2.csv", tmp_path / "w", "id")
    accuracy = float((sub["after"].to_numpy() == answers["after"].to_numpy()).mean())
    assert accuracy > 0.97  # unseen numbers (about 8% of tokens) are spelled out by the rules
    assert out["metrics"]["refit_train_score"] >= out["metrics"]["train_score"] - 0.01


@pytest.mark.parametrize("raw", ["nan", "-5", "0", "10m", " ", "-inf"])
def test_a_time_limit_that_is_not_a_positive_number_sets_none(raw, monkeypatch, capsys):
    """GOME_TIME_LIMIT_S is read by every generated solution: a value gome never writes (a shell's
    export, a typo) once crashed it at import ("10m") or cut training to 1 s ("-5")."""
    from gome_es.solutions import media

    monkeypatch.setenv("GOME_TIME_LIMIT_S", raw)
    namespace: dict = {"__name__": "runtime", "RECIPE": {"params": {"train_seconds": 7}}}
    exec(compile(media.RUNTIME, "media_runtime.py", "exec"), namespace)
    assert namespace["TIME_LIMIT_S"] == float("inf")
    assert namespace["training_seconds"]() == 7
    assert f"ignoring GOME_TIME_LIMIT_S={raw!r}" in capsys.readouterr().out


@pytest.mark.parametrize(("raw", "limit"), [("", float("inf")), ("inf", float("inf")), ("1e308", 1e308), ("20", 20.0)])
def test_a_positive_time_limit_is_kept(raw, limit, monkeypatch):
    from gome_es.solutions import media

    monkeypatch.setenv("GOME_TIME_LIMIT_S", raw)
    namespace: dict = {"__name__": "runtime"}
    exec(compile(media.RUNTIME, "media_runtime.py", "exec"), namespace)
    assert namespace["TIME_LIMIT_S"] == limit
