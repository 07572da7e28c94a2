"""Invalid submissions score None with a reason and never crash; validation never scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome_es.tasks import grade_submission_with_reasons, load_task, validate_submission
from gome_es.tasks.submission import size_limit


@pytest.fixture(scope="module")
def penguins():
    return load_task("penguin-body-mass")


@pytest.fixture(scope="module")
def wine():
    return load_task("wine-cultivar")


def sample(task) -> pd.DataFrame:
    return pd.read_csv(task.sample_submission_path)


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "sub.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def assert_invalid(task, path: Path, needle: str) -> None:
    check = validate_submission(task, path)
    assert not check.valid
    assert any(needle in r for r in check.reasons), check.reasons
    graded = grade_submission_with_reasons(task, path)
    assert graded.report.score is None
    assert not graded.report.valid_submission
    assert not graded.report.any_medal and not graded.report.above_median
    assert any(needle in r for r in graded.reasons), graded.reasons
    graded.report.model_dump(mode="json")


def test_missing_rows(penguins, tmp_path):
    assert_invalid(penguins, write(tmp_path, sample(penguins).iloc[:-3]), "missing id")


def test_duplicate_ids(penguins, tmp_path):
    s = sample(penguins)
    s.loc[1, "id"] = s.loc[0, "id"]
    assert_invalid(penguins, write(tmp_path, s), "duplicate id")


def test_unknown_ids(penguins, tmp_path):
    s = sample(penguins)
    s.loc[0, "id"] = 999999
    assert_invalid(penguins, write(tmp_path, s), "unknown id")


def test_wrong_columns(penguins, tmp_path):
    s = sample(penguins).rename(columns={"body_mass_g": "mass"})
    assert_invalid(penguins, write(tmp_path, s), "missing column")


def test_extra_column(penguins, tmp_path):
    s = sample(penguins).assign(extra=1)
    assert_invalid(penguins, write(tmp_path, s), "unexpected column")


def test_nan(penguins, tmp_path):
    s = sample(penguins)
    s["body_mass_g"] = s["body_mass_g"].astype(float)
    s.loc[2, "body_mass_g"] = np.nan
    assert_invalid(penguins, write(tmp_path, s), "NaN")


def test_wrong_type(penguins, tmp_path):
    s = sample(penguins).astype({"body_mass_g": object})
    s.loc[0, "body_mass_g"] = "heavy"
    assert_invalid(penguins, write(tmp_path, s), "numeric")


def test_not_a_csv_suffix(penguins, tmp_path):
    path = write(tmp_path, sample(penguins), "sub.txt")
    assert_invalid(penguins, path, ".csv")
    assert not grade_submission_with_reasons(penguins, path).report.submission_exists


def test_binary_garbage_with_csv_suffix(penguins, tmp_path):
    path = tmp_path / "sub.csv"
    path.write_bytes(b"\x00\xff\xfe" * 1000)
    check = validate_submission(penguins, path)
    assert not check.valid and check.reasons
    assert grade_submission_with_reasons(penguins, path).report.score is None


def test_empty_file(penguins, tmp_path):
    path = tmp_path / "sub.csv"
    path.write_text("")
    assert_invalid(penguins, path, "empty")


def test_header_only(penguins, tmp_path):
    path = tmp_path / "sub.csv"
    path.write_text("id,body_mass_g\n")
    assert_invalid(penguins, path, "rows")


def test_missing_file(penguins, tmp_path):
    assert_invalid(penguins, tmp_path / "nope.csv", "does not exist")


def test_very_large(penguins, tmp_path):
    path = tmp_path / "sub.csv"
    limit = size_limit(penguins)
    with path.open("w") as f:
        f.write("id,body_mass_g\n")
        line = "1,4000.0\n" * 100_000
        while f.tell() <= limit:
            f.write(line)
    assert_invalid(penguins, path, "limit")


def test_unknown_label(tmp_path):
    task = load_task("digits-8x8")
    s = sample(task).astype({"label": object})
    s.loc[0, "label"] = "eleven"
    assert_invalid(task, write(tmp_path, s), "label")


def test_integral_floats_count_as_labels(tmp_path):
    task = load_task("digits-8x8")
    s = sample(task)
    s["label"] = s["label"].astype(float)
    assert validate_submission(task, write(tmp_path, s)).valid


def test_negative_probability(wine, tmp_path):
    s = sample(wine)
    s.loc[0, "class_0"] = -0.5
    assert_invalid(wine, write(tmp_path, s), "negative")


def test_valid_submission_has_no_score_in_check(penguins, tmp_path):
    check = validate_submission(penguins, write(tmp_path, sample(penguins)))
    assert check.valid and check.reasons == []
    assert set(check.model_dump()) == {"valid", "reasons"}


def test_row_order_and_column_order_do_not_matter(penguins, tmp_path):
    s = sample(penguins)
    s["body_mass_g"] = 4200.0
    straight = grade_submission_with_reasons(penguins, write(tmp_path, s, "a.csv")).report.score
    shuffled = s.sample(frac=1, random_state=1)[["body_mass_g", "id"]]
    assert grade_submission_with_reasons(penguins, write(tmp_path, shuffled, "b.csv")).report.score == straight
