"""Generated solutions on MLE-bench competitions of every shape: JSON data with text and list
columns, two targets, a train file called labels.csv with datetimes, bool labels, one
probability column per class.  Each runs as the executor runs it and must write a submission
MLE-bench's rules accept, in the sample submission's shape and dtypes."""

from __future__ import annotations

import pandas as pd
import pytest

from gome_es.driver.driver import task_summary
from gome_es.solutions.recipes import default_recipe, member
from gome_es.solutions.render import render
from gome_es.tasks import grade_submission_with_reasons, load_task, validate_submission
from gome_es.tasks.registry import mlebench_importable
from tests.tasks import mlebench_data

from .conftest import run_solution

FAST = {  # competition -> a quick family for the default suite
    "random-acts-of-pizza": "logreg",
    "nomad2018-predict-transparent-conductors": "ridge",
    "spaceship-titanic": "logreg",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return mlebench_data.make(tmp_path_factory.mktemp("mle"), scale=0.2)


def _check(data_dir, tmp_path, cid, recipe):
    task = load_task(f"mlebench:{cid}", mlebench_data=data_dir)
    code = render(task_summary(task), recipe(task.task_type))
    proc, metrics = run_solution(code, task.public_dir, tmp_path / cid)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert metrics and metrics["val_score"] == metrics["val_score"]  # a number, not NaN
    sub_path = tmp_path / cid / "submission.csv"
    check = validate_submission(task, sub_path)
    assert check.valid, check.reasons
    sub, sample = pd.read_csv(sub_path), pd.read_csv(task.sample_submission_path)
    assert list(sub.columns) == list(sample.columns) and len(sub) == len(sample)
    assert sub[task.id_column].astype(str).tolist() == sample[task.id_column].astype(str).tolist()
    graded = grade_submission_with_reasons(task, sub_path)
    assert graded.report.valid_submission, graded.reasons
    return task, sub, sample, graded.report


@pytest.mark.integration
@pytest.mark.skipif(mlebench_importable(), reason="grades with gome's own grader")
@pytest.mark.parametrize("cid", sorted(FAST))
def test_solution_writes_a_gradable_submission(data_dir, tmp_path, cid):
    task, sub, sample, report = _check(data_dir, tmp_path, cid, lambda tt: default_recipe(tt, FAST[cid]))
    if cid == "spaceship-titanic":
        assert sub["Transported"].dtype == bool  # labels as the sample writes them (True/False)
    if cid == "nomad2018-predict-transparent-conductors":
        assert (sub[task.target_columns] >= 0).all().all()  # RMSLE: never negative
        assert sub[task.target_columns].nunique().min() > 1  # both targets predicted, not copied


@pytest.mark.slow
@pytest.mark.skipif(mlebench_importable(), reason="grades with gome's own grader")
@pytest.mark.parametrize("cid", list(mlebench_data.generator().COMPETITIONS))
def test_every_competition_with_boosting_and_an_ensemble(data_dir, tmp_path, cid):
    def boosted(tt):
        return default_recipe(tt, "hgb" if tt != "text" else "logreg")

    def ensemble(tt):
        first, second = ("hgb", "logreg") if tt in ("binary", "multiclass") else \
            ("hgb", "ridge") if tt == "regression" else ("logreg", "nb")
        recipe = default_recipe(tt, "ensemble")
        recipe["members"] = [member(tt, first), member(tt, second)]
        return recipe

    _check(data_dir, tmp_path / "a", cid, boosted)
    _check(data_dir, tmp_path / "b", cid, ensemble)


def _multilabel_jsonl(root):
    """A jigsaw-like competition in JSON lines: text and numbers in, two binary labels out,
    graded by mean column-wise AUC (the shape of jigsaw-toxic-comment-classification)."""
    import json

    import numpy as np

    rng = np.random.default_rng(7)
    cid = "toy-multilabel-jsonl"
    public, private = root / cid / "prepared" / "public", root / cid / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    words = "you are great awful idiot kind stupid thanks nice terrible fool lovely".split()
    rows = []
    for i in range(400):
        text = " ".join(rng.choice(words, size=int(rng.integers(6, 20))))
        rows.append({"id": f"c{i:04d}", "comment_text": text, "length": len(text),
                     "toxic": int("idiot" in text or "stupid" in text),
                     "insult": int("fool" in text or "idiot" in text)})
    train, test = rows[:320], rows[320:]
    with open(public / "train.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in train)
    with open(public / "test.jsonl", "w") as fh:
        fh.writelines(json.dumps({k: r[k] for k in ("id", "comment_text", "length")}) + "\n" for r in test)
    pd.DataFrame({"id": [r["id"] for r in test], "toxic": 0.5, "insult": 0.5}).to_csv(
        public / "sample_submission.csv", index=False)
    pd.DataFrame([{k: r[k] for k in ("id", "toxic", "insult")} for r in test]).to_csv(private / "test.csv", index=False)
    (public / "description.md").write_text("# Toy multi-label\nPredict toxic and insult.\n")
    (root / cid / "config.yaml").write_text(
        f"id: {cid}\nname: Toy\ndataset:\n  answers: {cid}/prepared/private/test.csv\n"
        f"  sample_submission: {cid}/prepared/public/sample_submission.csv\n"
        "grader:\n  name: mean-column-wise-roc-auc\n")
    pd.DataFrame({"teamId": [1, 2, 3], "score": [0.99, 0.8, 0.5]}).to_csv(root / cid / "leaderboard.csv", index=False)
    return cid


@pytest.mark.integration
@pytest.mark.skipif(mlebench_importable(), reason="grades with gome's own grader")
def test_multi_label_classification_from_json_lines(tmp_path):
    cid = _multilabel_jsonl(tmp_path / "data")
    task = load_task(f"mlebench:{cid}", mlebench_data=tmp_path / "data")
    assert (task.task_type, task.submission_kind, task.target_columns) == (
        "binary", "multilabel_probabilities", ["toxic", "insult"])
    assert task.understanding["train_files"] == ["train.jsonl"]
    assert task.understanding["roles"]["text"] == ["comment_text"]
    _, sub, _, report = _check(tmp_path / "data", tmp_path, cid, lambda tt: default_recipe(tt, "logreg"))
    assert sub["toxic"].between(0, 1).all() and not sub["toxic"].equals(sub["insult"])
    assert report.score > 0.8  # the words give the labels away: both columns are learned


def test_text_feature_moves_only_where_there_is_text():
    from gome_es.solutions.moves import moves_for
    from gome_es.solutions.recipes import apply_change

    recipe = default_recipe("binary", "hgb")
    keys = {m.key: m for m in moves_for("binary", recipe, "auc", text_columns=True)}
    assert {"feat.text_more", "feat.text_less"} <= set(keys)
    richer = apply_change("binary", recipe, keys["feat.text_more"].change)
    assert richer["features"]["text_svd"] == 96
    assert not [m for m in moves_for("binary", recipe, "auc") if m.key.startswith("feat.text")]


def test_both_kinds_of_solution_share_one_validation_block(data_dir):
    """Bundled tasks and any-shape competitions validate, predict and write metrics.json with
    the same generated code, spliced in once each, not with copies that can drift apart."""
    from gome_es.solutions import snippets

    task = load_task("mlebench:spaceship-titanic", mlebench_data=data_dir)
    anyshape = render(task_summary(task), default_recipe(task.task_type, "logreg"))
    bundled = render({"id": "toy", "task_type": "binary", "metric": "auc"}, default_recipe("binary", "logreg"))
    for block in (snippets.PREDICT, snippets.VALIDATE, snippets.WRITE_METRICS, snippets.RUN_MAIN):
        assert anyshape.count(block) == 1 and bundled.count(block) == 1
