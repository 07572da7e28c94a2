"""MLE-bench competitions without the mlebench package: understanding, validation, grading.

The competitions come from tests/fixtures/mlebench/make_competitions.py (MLE-bench's
layout, each real competition's columns and split rules, synthetic rows).  Validation
is checked against hand-built submissions of every malformed kind the issue names;
grading is checked against scikit-learn computing the competition's metric itself.
"""

from __future__ import annotations

import builtins
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score

from gome_es.cli.main import cli
from gome_es.tasks import (
    TaskDataMissing,
    grade_submission_with_reasons,
    list_mlebench,
    load_task,
    validate_submission,
)
from gome_es.tasks.registry import mlebench_importable

from . import mlebench_data

pytestmark = pytest.mark.skipif(mlebench_importable(), reason="these check gome's own grader (mlebench absent)")

ALL = list(mlebench_data.generator().COMPETITIONS)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return mlebench_data.make(tmp_path_factory.mktemp("mle"))


def task(data_dir: Path, cid: str):
    return load_task(f"mlebench:{cid}", mlebench_data=data_dir)


EXPECTED = {
    # id: (task type, gome metric, lower is better, submission kind, train file, test file, id, targets)
    "spaceship-titanic": ("binary", "accuracy", False, "labels", "train.csv", "test.csv",
                          "PassengerId", ["Transported"]),
    "tabular-playground-series-may-2022": ("binary", "auc_roc", False, "probability", "train.csv",
                                           "test.csv", "id", ["target"]),
    "nomad2018-predict-transparent-conductors": (
        "regression", "mean_columnwise_rmsle", True, "values", "train.csv", "test.csv", "id",
        ["formation_energy_ev_natom", "bandgap_energy_ev"]),
    "random-acts-of-pizza": ("binary", "auc_roc", False, "probability", "train.json", "test.json",
                             "request_id", ["requester_received_pizza"]),
    "new-york-city-taxi-fare-prediction": ("regression", "rmse", True, "values", "labels.csv",
                                           "test.csv", "key", ["fare_amount"]),
    "spooky-author-identification": ("text", "multiclass_log_loss", True, "class_probabilities",
                                     "train.csv", "test.csv", "id", ["author"]),
}


@pytest.mark.parametrize("cid", ALL)
def test_understanding_from_public_files(data_dir, cid):
    t = task(data_dir, cid)
    ttype, metric, lower, kind, train, test, idc, targets = EXPECTED[cid]
    u = t.understanding
    assert (t.task_type, t.metric, t.lower_is_better, t.submission_kind) == (ttype, metric, lower, kind)
    assert (u["train_files"], u["test_files"], t.id_column, t.target_columns) == ([train], [test], idc, targets)
    assert t.direction_source.startswith("leaderboard") and t.grading_problems == []
    assert validate_submission(t, t.sample_submission_path).valid


def test_column_roles_of_each_shape(data_dir):
    roles = {cid: task(data_dir, cid).understanding["roles"] for cid in ALL}
    assert roles["spaceship-titanic"]["split"] == ["Cabin"]  # deck/num/side
    assert roles["spaceship-titanic"]["id_split"] == ["PassengerId"]  # gggg_pp
    assert set(roles["spaceship-titanic"]["boolean"]) == {"CryoSleep", "VIP"}
    assert roles["tabular-playground-series-may-2022"]["chars"] == ["f_27"]
    assert roles["new-york-city-taxi-fare-prediction"]["datetime"] == ["pickup_datetime"]
    assert roles["new-york-city-taxi-fare-prediction"]["geo_pairs"]
    assert "key" not in sum(roles["new-york-city-taxi-fare-prediction"].values(), [])  # the id
    pizza = roles["random-acts-of-pizza"]
    assert {"request_text_edit_aware", "request_title"} <= set(pizza["text"])
    assert pizza["list"] == ["requester_subreddits_at_request"]
    assert "requester_username" in pizza["id_like"]
    # columns only train.json has (known after the request: leakage) are never features
    assert "requester_user_flair" in task(data_dir, "random-acts-of-pizza").understanding["ignored_train_only_columns"]
    assert roles["spooky-author-identification"]["text"] == ["text"]


def test_understanding_never_opens_private(data_dir, monkeypatch):
    """What the agent is told is inferred from public files only (the driver's check that the
    answers exist before a run is the one look at private/, and it is not part of this)."""
    from gome_es.tasks import infer

    loaded = [task(data_dir, cid) for cid in ALL]
    opened: list[str] = []
    real_open, real_io_open = builtins.open, io.open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    def spy_io(file, *a, **k):
        opened.append(str(file))
        return real_io_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy_io)
    from gome_es.driver.driver import task_summary

    for t in loaded:
        understood = infer.understand(t.public_dir, t.sample_submission_path, t.metric)
        assert understood["target_columns"] == t.target_columns
        task_summary(t)
    assert opened and not [p for p in opened if "/private/" in p]


def test_overrides_are_applied_and_recorded(data_dir):
    t = load_task("mlebench:spaceship-titanic", mlebench_data=data_dir,
                  overrides={"task_type": "multiclass", "target": ["Transported"]})
    assert t.task_type == "multiclass"
    assert t.understanding["overrides"] == {"task_type": "multiclass", "target": ["Transported"]}


# ------------------------------------------------------------------ validation


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "sub.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _sample(t) -> pd.DataFrame:
    return pd.read_csv(t.sample_submission_path)


def _invalid(t, path: Path, *needles: str) -> None:
    check = validate_submission(t, path)
    assert not check.valid, f"{path.name} should be invalid"
    text = " ".join(check.reasons)
    for needle in needles:
        assert needle in text, (needle, check.reasons)
    graded = grade_submission_with_reasons(t, path)
    assert graded.report.score is None and not graded.report.valid_submission


def test_probabilities_where_labels_are_expected(data_dir, tmp_path):
    t = task(data_dir, "spaceship-titanic")
    sub = _sample(t)
    sub["Transported"] = np.linspace(0.1, 0.9, len(sub))
    _invalid(t, _write(tmp_path, sub), "Transported", "look like probabilities")


def test_booleans_as_words_or_numbers_are_labels(data_dir, tmp_path):
    t = task(data_dir, "spaceship-titanic")
    sub = _sample(t)
    for spelling in (["True", "False"], ["1", "0"], [True, False]):
        sub["Transported"] = [spelling[i % 2] for i in range(len(sub))]
        assert validate_submission(t, _write(tmp_path, sub)).valid, spelling
    sub["Transported"] = ["yes" if i % 2 else "no" for i in range(len(sub))]
    _invalid(t, _write(tmp_path, sub), "outside")


@pytest.mark.parametrize("cid", ["tabular-playground-series-may-2022", "random-acts-of-pizza"])
def test_probability_above_one_or_negative(data_dir, tmp_path, cid):
    t = task(data_dir, cid)
    col = t.target_columns[0]
    for bad in (1.5, -0.1):
        sub = _sample(t).astype({col: float})
        sub.loc[sub.index[0], col] = bad
        _invalid(t, _write(tmp_path, sub), "[0, 1]")


def test_values_at_or_below_minus_one_for_rmsle(data_dir, tmp_path):
    # scikit-learn's root_mean_squared_log_error (MLE-bench's nomad grader) takes log1p: values
    # above -1 score, values at or below -1 raise, so the submission would grade None
    t = task(data_dir, "nomad2018-predict-transparent-conductors")
    sub = _sample(t)
    sub.loc[sub.index[3], "bandgap_energy_ev"] = -0.5
    assert validate_submission(t, _write(tmp_path, sub)).valid
    sub.loc[sub.index[3], "bandgap_energy_ev"] = -1.0
    _invalid(t, _write(tmp_path, sub), "<= -1", "bandgap_energy_ev")


def test_wrong_dtype(data_dir, tmp_path):
    t = task(data_dir, "new-york-city-taxi-fare-prediction")
    sub = _sample(t).astype({"fare_amount": object})
    sub.loc[sub.index[0], "fare_amount"] = "eleven dollars"
    _invalid(t, _write(tmp_path, sub), "numeric")


@pytest.mark.parametrize("cid", ALL)
def test_missing_and_extra_rows(data_dir, tmp_path, cid):
    t = task(data_dir, cid)
    sub = _sample(t)
    _invalid(t, _write(tmp_path, sub.iloc[1:]), "missing id")
    extra = sub.iloc[[0]].copy()
    extra[t.id_column] = "not-a-test-id"
    _invalid(t, _write(tmp_path, pd.concat([sub, extra])), "unknown id")
    _invalid(t, _write(tmp_path, pd.concat([sub, sub.iloc[[0]]])), "duplicate id")


def test_class_probabilities_must_sum_to_one(data_dir, tmp_path):
    t = task(data_dir, "spooky-author-identification")
    sub = _sample(t)
    sub["EAP"] = 0.9
    _invalid(t, _write(tmp_path, sub), "sum to 1")


def test_huge_predictions_are_invalid_and_grading_prints_json(data_dir, tmp_path):
    """1e308 squares to infinity: no `Infinity` score, an invalid submission with its reason."""
    t = task(data_dir, "new-york-city-taxi-fare-prediction")
    sub = _sample(t)
    sub["fare_amount"] = 1e308
    path = _write(tmp_path, sub)
    _invalid(t, path, "too large")
    result = CliRunner().invoke(cli, ["tasks", "grade", t.id, str(path), "--json",
                                      "--mlebench-data", str(data_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # strict JSON
    assert report["score"] is None and report["valid_submission"] is False
    assert "Infinity" not in result.stdout


# ------------------------------------------------------------------ grading


def _answers(t) -> pd.DataFrame:
    return pd.read_csv(t.answers_path)


def test_grades_agree_with_scikit_learn(data_dir, tmp_path):
    rng = np.random.default_rng(0)
    # accuracy on booleans
    t = task(data_dir, "spaceship-titanic")
    ans = _answers(t)
    sub = ans[["PassengerId"]].copy()
    sub["Transported"] = rng.random(len(sub)) < 0.5
    got = grade_submission_with_reasons(t, _write(tmp_path, sub)).report.score
    assert got == round(accuracy_score(ans["Transported"], sub["Transported"]), 5)
    # AUC on an int answer column, rows shuffled
    t = task(data_dir, "random-acts-of-pizza")
    ans = _answers(t)
    sub = ans[["request_id"]].sample(frac=1, random_state=1).copy()
    sub["requester_received_pizza"] = rng.random(len(sub))
    merged = ans.merge(sub, on="request_id", suffixes=("", "_p"))
    got = grade_submission_with_reasons(t, _write(tmp_path, sub)).report.score
    assert got == round(roc_auc_score(merged["requester_received_pizza"], merged["requester_received_pizza_p"]), 5)
    # mean column-wise RMSLE of two targets
    t = task(data_dir, "nomad2018-predict-transparent-conductors")
    ans = _answers(t)
    sub = ans[["id"]].copy()
    cols = ["formation_energy_ev_natom", "bandgap_energy_ev"]
    for c in cols:
        sub[c] = ans[c] * rng.uniform(0.8, 1.2, len(ans))
    want = np.mean([np.sqrt(mean_squared_error(np.log1p(ans[c]), np.log1p(sub[c]))) for c in cols])
    assert grade_submission_with_reasons(t, _write(tmp_path, sub)).report.score == round(want, 5)
    # multi-class log loss against one-hot answers
    t = task(data_dir, "spooky-author-identification")
    ans = _answers(t)
    probs = rng.dirichlet([1, 1, 1], size=len(ans))
    sub = pd.DataFrame({"id": ans["id"], "EAP": probs[:, 0], "HPL": probs[:, 1], "MWS": probs[:, 2]})
    want = log_loss(ans[["EAP", "HPL", "MWS"]].to_numpy().argmax(axis=1), probs, labels=[0, 1, 2])
    assert grade_submission_with_reasons(t, _write(tmp_path, sub)).report.score == pytest.approx(round(want, 5), abs=2e-5)


# ------------------------------------------------------------------ missing facts


def test_lfs_pointer_leaderboard_is_named_with_the_fix(data_dir, tmp_path):
    root = tmp_path / "lfs"
    shutil.copytree(data_dir / "nomad2018-predict-transparent-conductors", root / "nomad2018-predict-transparent-conductors")
    board = root / "nomad2018-predict-transparent-conductors" / "leaderboard.csv"
    board.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:e076\nsize 47529\n")
    t = load_task("mlebench:nomad2018-predict-transparent-conductors", mlebench_data=root)
    # the direction comes from the metric, never guessed, and grading is known not to be ready
    assert t.lower_is_better is True and t.direction_source.startswith("metric")
    assert any("Git LFS pointer" in p and "git lfs pull" in p for p in t.grading_problems)
    result = CliRunner().invoke(cli, ["run", "--task", t.id, "--mlebench-data", str(root), "--db",
                                      str(tmp_path / "g.db"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "git lfs pull" in result.output and str(board) in result.output
    assert not (tmp_path / "g.db").exists() or "RunStarted" not in (tmp_path / "g.db").read_bytes().decode("latin1")


def test_unknown_direction_is_refused(data_dir, tmp_path):
    root = tmp_path / "odd"
    shutil.copytree(data_dir / "spaceship-titanic", root / "spaceship-titanic")
    cfg = root / "spaceship-titanic" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("name: accuracy", "name: some-new-metric"))
    (root / "spaceship-titanic" / "leaderboard.csv").unlink()
    with pytest.raises(TaskDataMissing, match="does not guess"):
        load_task("mlebench:spaceship-titanic", mlebench_data=root)


def test_no_config_says_where_it_looked(tmp_path):
    comp = tmp_path / "toy" / "prepared"
    (comp / "public").mkdir(parents=True)
    (comp / "private").mkdir()
    with pytest.raises(TaskDataMissing, match="no config.yaml"):
        load_task("mlebench:toy", mlebench_data=tmp_path)
    result = CliRunner().invoke(cli, ["tasks", "show", "mlebench:toy", "--mlebench-data", str(tmp_path)])
    assert result.exit_code == 2 and "no config.yaml" in result.output and "Traceback" not in result.output


def test_tasks_list_reads_the_data_dir_from_the_environment(data_dir, monkeypatch):
    monkeypatch.setenv("GOME_MLEBENCH_DATA", str(data_dir))
    result = CliRunner().invoke(cli, ["tasks", "list", "--json"])
    assert result.exit_code == 0, result.output
    ids = {row["id"] for row in json.loads(result.stdout)}
    assert {f"mlebench:{cid}" for cid in ALL} <= ids and "breast-cancer-diagnosis" in ids
    assert [i.id for i in list_mlebench(data_dir)] == sorted(f"mlebench:{cid}" for cid in ALL)


def test_huge_predictions_on_a_bundled_task_print_strict_json(tmp_path):
    """Issue 17: `gome tasks grade` of 1e308 predictions printed `"score": Infinity`."""
    from gome_es.tasks import load_task as load

    t = load("penguin-body-mass")
    sub = pd.read_csv(t.sample_submission_path)
    sub[t.submission_columns[1]] = 1e308
    path = _write(tmp_path, sub)
    assert not validate_submission(t, path).valid
    result = CliRunner().invoke(cli, ["tasks", "grade", t.id, str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["score"] is None and report["valid_submission"] is False
    assert "too large" in result.stderr


def test_public_json_nested_too_deeply_is_a_named_data_error(tmp_path):
    """A competition's JSON file nested 200,000 deep: a TaskDataMissing naming the file (exit 2
    on the command line), not a RecursionError."""
    from gome_es.tasks.infer import read_table

    path = tmp_path / "train.json"
    path.write_text("[" * 200000)
    with pytest.raises(TaskDataMissing, match="train.json: its JSON is nested too deeply"):
        read_table(path)
