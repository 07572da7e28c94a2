"""gome's own grader on every competition of MLE-bench's lite split, in each one's own layout.

Without mlebench: the score of a noisy submission equals scikit-learn's metric on the rows
paired by id (computed here independently), and the invalid submissions are the ones each
competition's grade.py refuses.  With mlebench importable: every case grades exactly as
MLE-bench's own grader does (score rounded to 5 decimals, None when invalid).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm

from gome_es.cli.main import cli
from gome_es.tasks import grade_submission_with_reasons, validate_submission
from gome_es.tasks.mlebench_grade import grading_task
from gome_es.tasks.mlebench_graders import LITE, SPECS

from . import lite_cases

# What every competition refuses (each grade.py raises or fails on these).
ALWAYS_INVALID = ("missing_row", "missing_prediction_column", "id_renamed", "header_only", "empty_file",
                  "not_csv", "nan_prediction", "word_prediction")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("lite")


def _setup(root, cid):
    comp = lite_cases.build(cid)
    lite_cases.write_competition(root / "data", comp)
    task = grading_task(cid, root / "data", why="the test's public folder has no tables")
    subs = {}
    for name, text in lite_cases.cases(comp).items():
        path = root / "subs" / cid / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        subs[name] = path
    return comp, task, subs


def _aligned(comp, sub_path, cols):
    sub = pd.read_csv(sub_path)
    idc = SPECS[comp.cid].id_column
    merged = comp.answers.merge(sub, on=idc, suffixes=("_true", ""))
    truth = merged[[c + "_true" if c + "_true" in merged.columns else c for c in cols]]
    return truth.to_numpy(), merged[cols].to_numpy()


def expected_score(comp, path) -> float:
    """scikit-learn's metric on the rows paired by id, as each grader means it."""
    spec = SPECS[comp.cid]
    cols = list(spec.targets) or [c for c in comp.answers.columns if c != spec.id_column]
    if spec.recipe == "rmsle_position":  # nomad: by position
        sub = pd.read_csv(path)
        return float(np.mean([skm.root_mean_squared_log_error(comp.answers[c], sub[c]) for c in cols]))
    t, p = _aligned(comp, path, cols)
    if spec.recipe == "auroc_matrix":
        keep = t.sum(axis=1) >= 0
        return skm.roc_auc_score(t[keep], p[keep], average="macro")
    if spec.recipe in ("auroc", "auroc_per_class", "auroc_exact_columns"):
        return float(np.mean([skm.roc_auc_score(t[:, j], p[:, j]) for j in range(len(cols))]))
    if spec.recipe == "kappa":
        return skm.cohen_kappa_score(p[:, 0], t[:, 0], weights="quadratic")
    if spec.recipe in ("accuracy", "accuracy_text"):
        return skm.accuracy_score(t[:, 0].astype(str), p[:, 0].astype(str))
    if spec.recipe == "binary_log_loss":
        return skm.log_loss(t[:, 0], p[:, 0].astype(float))
    if spec.recipe == "onehot_log_loss":
        return skm.log_loss(t.astype(int), p.astype(float))
    return skm.root_mean_squared_error(t[:, 0].astype(float), p[:, 0].astype(float))


@pytest.mark.integration
@pytest.mark.parametrize("cid", LITE)
def test_lite_competition_grades_as_its_grade_py(root, cid):
    comp, task, subs = _setup(root, cid)
    spec = SPECS[cid]
    best = 0.0 if spec.lower_is_better else 1.0
    graded = {name: grade_submission_with_reasons(task, path, grader="gome") for name, path in subs.items()}
    assert graded["perfect"].report.score == pytest.approx(best, abs=1e-9), graded["perfect"].reasons
    assert graded["perfect"].report.valid_submission and validate_submission(task, subs["perfect"]).valid
    assert validate_submission(task, subs["sample"]).valid, validate_submission(task, subs["sample"]).reasons
    noisy = graded["noisy"].report.score
    assert noisy is not None and noisy == round(expected_score(comp, subs["noisy"]), 5)
    scored_by_mlebench = {  # MLE-bench's quirks: it scores these; gome's validation still refuses them
        ("accuracy_text", "word_prediction"),  # a word is text
        ("auroc_matrix", "nan_prediction"), ("auroc_matrix", "word_prediction"),  # in a row of -1 answers
        ("rmsle_position", "id_renamed"),  # nomad's grader never reads the ids
    }
    for name in ALWAYS_INVALID:
        if (spec.recipe, name) == ("accuracy_text", "word_prediction"):
            continue  # a word is a valid text prediction
        assert not validate_submission(task, subs[name]).valid, name
        if (spec.recipe, name) in scored_by_mlebench:
            assert graded[name].report.valid_submission, name
            continue
        report = graded[name].report
        assert report.score is None and not report.valid_submission, (name, report.score)
        assert graded[name].reasons, name
    # validation is never looser than the grader: what it accepts, MLE-bench's grader scores
    for name, path in subs.items():
        if validate_submission(task, path).valid:
            assert graded[name].report.valid_submission, (name, graded[name].reasons)
    # rows in another order: the same score where the grader sorts by id; nomad pairs by position
    shuffled = graded["shuffled_rows"].report.score
    if spec.recipe == "rmsle_position":
        assert shuffled != noisy
        reasons = " ".join(validate_submission(task, subs["shuffled_rows"]).reasons)
        assert "by position" in reasons
    else:
        assert shuffled == noisy
        assert validate_submission(task, subs["shuffled_rows"]).valid


def _mlebench_score(cid, data_dir, path):
    from mlebench.registry import registry  # type: ignore[import-not-found]
    from mlebench.utils import load_answers, read_csv  # type: ignore[import-not-found]

    competition = registry.set_data_dir(data_dir).get_competition(cid)
    try:
        frame = read_csv(path)
    except Exception:  # grade_csv raises on an unreadable CSV; gome reports it invalid
        return None
    score = competition.grader(frame, load_answers(competition.answers))
    return None if score is None or not math.isfinite(score) else float(score)


REPORT_KEYS = ("competition_id", "score", "gold_threshold", "silver_threshold", "bronze_threshold",
               "median_threshold", "any_medal", "gold_medal", "silver_medal", "bronze_medal", "above_median",
               "submission_exists", "valid_submission", "is_lower_better", "submission_path")


@pytest.mark.parametrize("cid", LITE)
def test_lite_competition_matches_mlebench(root, cid, monkeypatch):
    monkeypatch.chdir(root)  # importing mlebench opens a disk cache in the working directory
    pytest.importorskip("mlebench.grade")
    from mlebench.grade import grade_csv  # type: ignore[import-not-found]
    from mlebench.registry import registry  # type: ignore[import-not-found]

    from gome_es.tasks.mlebench_facts import is_lfs_pointer

    _, task, subs = _setup(root, cid)
    competition = registry.set_data_dir(root / "data").get_competition(cid)
    # mle-bench's own leaderboard where the checkout has it (not a Git LFS pointer): then gome ranks
    # on the same one and the whole report must match grade_csv's; else the scores must match
    whole_report = competition.leaderboard.is_file() and not is_lfs_pointer(competition.leaderboard)
    if whole_report:
        (root / "data" / cid / "leaderboard.csv").write_bytes(competition.leaderboard.read_bytes())
    for name, path in subs.items():
        ours = grade_submission_with_reasons(task, path, grader="gome").report.model_dump(mode="json")
        assert ours["score"] == _mlebench_score(cid, root / "data", path), name
        if whole_report and name != "not_csv":  # grade_csv raises on an unreadable CSV
            theirs = grade_csv(path, competition).to_dict()
            if theirs["score"] is not None and not math.isfinite(theirs["score"]):
                continue  # gome reports a NaN score as an invalid submission (docs/tasks.md)
            assert {k: ours[k] for k in REPORT_KEYS} == {k: theirs[k] for k in REPORT_KEYS}, name


def test_quirks_of_mlebench_are_named(root):
    # jigsaw: mlebench scores probabilities of 1.5; gome grades the same and says validation refuses it
    _, task, subs = _setup(root, "jigsaw-toxic-comment-classification-challenge")
    graded = grade_submission_with_reasons(task, subs["value_1_5"], grader="gome")
    assert graded.report.valid_submission and graded.report.score is not None
    assert any("stricter" in n and "[0, 1]" in n for n in graded.notes), graded.notes
    reasons = validate_submission(task, subs["value_1_5"]).reasons
    assert any("does not check the range" in r for r in reasons), reasons
    # jigsaw's columns are paired by position: another order scores other classes
    reasons = " ".join(validate_submission(task, subs["reversed_columns"]).reasons)
    assert "by position" in reasons
    # nomad: a repeated id scores in mlebench; gome's validation refuses it and says mlebench would not
    _, task, subs = _setup(root, "nomad2018-predict-transparent-conductors")
    graded = grade_submission_with_reasons(task, subs["duplicate_id"], grader="gome")
    assert graded.report.valid_submission
    reasons = " ".join(validate_submission(task, subs["duplicate_id"]).reasons)
    assert "duplicate id" in reasons and "would score this submission" in reasons


def test_layouts_from_the_grader_not_the_first_column(root):
    # detecting-insults: the target comes first (Insult,Date,Comment); rows match on Comment
    _, task, subs = _setup(root, "detecting-insults-in-social-commentary")
    assert task.id_column == "Comment" and task.submission_kind == "probability"
    assert validate_submission(task, subs["sample"]).valid
    no_date = pd.read_csv(subs["noisy"]).drop(columns=["Date"])
    path = subs["noisy"].with_name("no_date.csv")
    no_date.to_csv(path, index=False)
    assert validate_submission(task, path).valid  # the grader never reads Date
    # spooky: the probabilities are the columns after the first
    _, task, subs = _setup(root, "spooky-author-identification")
    reasons = " ".join(validate_submission(task, subs["id_not_first"]).reasons)
    assert "first column must be 'id'" in reasons
    # text normalisation: a prediction pandas reads as missing would fail MLE-bench's grader
    _, task, subs = _setup(root, "text-normalization-challenge-english-language")
    reasons = " ".join(validate_submission(task, subs["text_NA"]).reasons)
    assert "reads as missing" in reasons


def test_cli_grades_and_validates_a_competition_without_tables(root):
    _, _, subs = _setup(root, "denoising-dirty-documents")
    runner = CliRunner()
    data = str(root / "data")
    out = runner.invoke(cli, ["tasks", "validate", "mlebench:denoising-dirty-documents", str(subs["noisy"]),
                              "--mlebench-data", data])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["tasks", "grade", "mlebench:denoising-dirty-documents", str(subs["noisy"]),
                              "--mlebench-data", data, "--grader", "gome", "--json"])
    assert out.exit_code == 0, out.output
    assert '"valid_submission": true' in out.output
    out = runner.invoke(cli, ["tasks", "validate", "mlebench:denoising-dirty-documents",
                              str(subs["unknown_id"]), "--mlebench-data", data])
    assert out.exit_code == 1 and "unknown id" in out.output


def test_exec_takes_the_mlebench_data_dir(root, tmp_path):
    solution = tmp_path / "solution.py"
    solution.write_text("print('hello')\n")
    runner = CliRunner()
    out = runner.invoke(cli, ["exec", "mlebench:no-such-competition", str(solution)], env={"GOME_MLEBENCH_DATA": ""})
    assert out.exit_code == 2 and "--mlebench-data" in out.output
    for args, env in (([ "--mlebench-data", str(tmp_path)], {}), ([], {"GOME_MLEBENCH_DATA": str(tmp_path)})):
        out = runner.invoke(cli, ["exec", "mlebench:no-such-competition", str(solution), *args], env=env)
        assert out.exit_code == 2 and str(tmp_path) in out.output, out.output  # the dir given is the one looked in


def test_a_competition_without_exact_rules_is_graded_generically_and_says_so(tmp_path):
    cid = "some-other-auc-competition"
    base = tmp_path / "data" / cid
    (base / "prepared" / "public").mkdir(parents=True)
    (base / "prepared" / "private").mkdir(parents=True)
    answers = pd.DataFrame({"rid": [f"r{i}" for i in range(10)], "p": [0, 1] * 5})
    answers.to_csv(base / "prepared" / "private" / "test.csv", index=False)
    answers.assign(p=0.5).to_csv(base / "prepared" / "public" / "sample_submission.csv", index=False)
    (base / "config.yaml").write_text(
        f"id: {cid}\nname: {cid}\ndataset:\n  answers: {cid}/prepared/private/test.csv\n"
        f"  sample_submission: {cid}/prepared/public/sample_submission.csv\ngrader:\n  name: auc-roc\n")
    lite_cases.leaderboard("aerial-cactus-identification").to_csv(base / "leaderboard.csv", index=False)
    task = grading_task(cid, tmp_path / "data", why="no tables")
    sub = tmp_path / "sub.csv"
    answers.assign(p=[0.2, 0.9] * 5).to_csv(sub, index=False)
    graded = grade_submission_with_reasons(task, sub, grader="gome")
    assert graded.report.score == 1.0 and graded.report.competition_id == cid
    assert any("no exact rules" in n and "install mlebench" in n for n in graded.notes), graded.notes


def test_exact_rules_apply_only_to_the_grader_they_describe():
    from gome_es.tasks.mlebench_graders import spec_for

    assert spec_for("jigsaw-toxic-comment-classification-challenge", "column-wise ROC AUC") is not None
    assert spec_for("jigsaw-toxic-comment-classification-challenge", "some-newer-grader") is None
    assert spec_for("no-such-competition") is None
    assert set(LITE) <= set(SPECS) and len(SPECS) == 32


def test_layout_for_solutions_comes_from_the_grader_and_the_sample(root):
    from gome_es.tasks.mlebench_grade import submission_layout

    _, task, _ = _setup(root, "detecting-insults-in-social-commentary")
    layout = submission_layout(task)
    assert layout["id_column"] == "Comment" and layout["columns"] == ["Insult", "Date", "Comment"]
    assert layout["predicted"] == ["Insult"] and layout["kind"] == "probability"
    _, task, _ = _setup(root, "jigsaw-toxic-comment-classification-challenge")
    layout = submission_layout(task)
    assert len(layout["predicted"]) == 6 and layout["in_order"]
    _, task, _ = _setup(root, "mlsp-2013-birds")
    assert submission_layout(task)["columns"] == ["Id", "Probability"]
