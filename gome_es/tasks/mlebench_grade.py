"""Checking and scoring submissions to MLE-bench competitions with gome's own grader.

``check_values`` says whether the prediction columns hold what the competition's
grader accepts, from public facts only (the submission kind, the label set seen in
the training data, the sample submission): the rules are those of the lite split's
``grade.py`` files (``prepare_for_accuracy_metric``, ``prepare_for_auroc_metric``,
nomad2018's RMSLE, spooky's row sums).  ``score`` computes the metric against the
private answers file the competition config names.  Where gome is stricter than
mlebench (a label never seen in training, keys that do not match) the reason says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gome_es.tasks.fingerprint import fingerprint
from gome_es.tasks.infer import METRIC_KIND
from gome_es.tasks.metrics import METRICS, integral_text
from gome_es.tasks.mlebench_facts import GRADERS, find_facts, leaderboard_scores, lower_is_better_from
from gome_es.tasks.mlebench_graders import RECIPES, ROW_SUM_ATOL, ROW_SUM_RTOL, GraderSpec, spec_for
from gome_es.tasks.model import Task, TaskDataMissing
from gome_es.tasks.registry import MLEBENCH_PREFIX

ROW_SUM_TOLERANCE = 1e-6  # spooky-author-identification's grade.py
# A prediction past this magnitude squares to infinity: the metric cannot be finite.
MAX_MAGNITUDE = 1e150
SHOWN = 5

_BOOL_WORDS = {"true": 1.0, "false": 0.0}


def _shown(values: Iterable[object]) -> str:
    values = list(values)
    head = ", ".join(repr(v) for v in values[:SHOWN])
    return head + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def canonical_label(value: object) -> str:
    """One spelling per label: booleans and integral numbers as integers, text stripped.

    Mirrors how scikit-learn's accuracy compares pandas-read columns: True == 1,
    1.0 == 1, but "1" read from a text column of words stays text.
    """
    text = str(value).strip()
    low = text.lower()
    if low in _BOOL_WORDS:
        return str(int(_BOOL_WORDS[low]))
    whole = integral_text(text)
    if whole is not None:
        return whole
    try:
        return repr(float(text))
    except ValueError:
        return text


def _finite_numbers(values: pd.Series, col: str, reasons: list[str]) -> pd.Series:
    """The column's numbers (see :func:`_numbers`) less any infinity, which is named in ``reasons``."""
    numbers = _numbers(values, col, reasons)
    finite = np.isfinite(numbers.to_numpy())
    if (~finite).any():
        reasons.append(f"column {col!r} has infinite value(s)")
        numbers = numbers[finite]
    return numbers


def _numbers(values: pd.Series, col: str, reasons: list[str]) -> pd.Series:
    as_text = values.astype(str).str.strip()
    lowered = as_text.str.lower()
    mapped = lowered.map(_BOOL_WORDS)
    numbers = pd.to_numeric(as_text.where(mapped.isna(), mapped.astype(str)), errors="coerce")
    bad = values[numbers.isna()]
    if len(bad):
        reasons.append(f"column {col!r} must be numeric; non-numeric value(s) {_shown(bad.unique())}")
    return numbers.dropna().astype(float)


def check_values(task: Task, frame: pd.DataFrame) -> list[str]:
    """Reasons the prediction columns would not grade (empty = they would)."""
    reasons: list[str] = []
    kind = task.submission_kind
    pred_cols = [c for c in task.submission_columns[1:] if c in frame.columns]
    metric = task.metric
    for col in pred_cols:
        values = frame[col]
        if values.isna().any():
            reasons.append(f"column {col!r} has {int(values.isna().sum())} empty/NaN value(s)")
            values = values.dropna()
        if kind == "labels":
            allowed = {canonical_label(v) for v in (task.labels or [])}
            got = values.map(canonical_label)
            if allowed:
                bad = values[~got.isin(allowed)].unique()
                if len(bad):
                    looks_like_probability = pd.to_numeric(pd.Series(bad), errors="coerce").between(0, 1).all()
                    hint = (" (these look like probabilities; this competition is graded on labels)"
                            if looks_like_probability else "")
                    reasons.append(f"column {col!r} has label(s) outside {sorted(task.labels or [])}: "
                                   f"{_shown(bad)}{hint}")
            continue
        numbers = _finite_numbers(values, col, reasons)
        if kind in ("probability", "class_probabilities"):
            out = numbers[(numbers < 0) | (numbers > 1)]
            if len(out):
                reasons.append(f"column {col!r} must hold probabilities in [0, 1]; "
                               f"got {len(out)} value(s) outside, e.g. {_shown(out.unique())}")
        elif kind == "values":
            if metric in ("rmsle", "mean_columnwise_rmsle") and (numbers < 0).any():
                reasons.append(f"column {col!r} has {int((numbers < 0).sum())} negative value(s); "
                               "RMSLE is undefined for them")
            huge = numbers[numbers.abs() > MAX_MAGNITUDE]
            if len(huge):
                reasons.append(f"column {col!r} has value(s) too large to score (|v| > {MAX_MAGNITUDE:g}): "
                               f"{_shown(huge.unique())}")
    if kind == "class_probabilities" and not reasons and pred_cols:
        probs = frame[pred_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        off = np.abs(probs.sum(axis=1) - 1.0) > ROW_SUM_TOLERANCE
        if off.any():
            reasons.append(f"{int(off.sum())} row(s) have probabilities that do not sum to 1 "
                           f"(tolerance {ROW_SUM_TOLERANCE:g})")
    return reasons


def _truth_matrix(task: Task, answers: pd.DataFrame, order: pd.Series) -> np.ndarray:
    idc = task.id_column
    ans = answers.copy()
    ans[idc] = ans[idc].astype(str).str.strip()
    ans = ans.set_index(idc).loc[order.to_numpy()]
    pred_cols = task.submission_columns[1:]
    if task.submission_kind == "class_probabilities":
        if all(c in ans.columns for c in pred_cols):  # one-hot answers (spooky)
            onehot: np.ndarray = ans[pred_cols].apply(pd.to_numeric).to_numpy(dtype=float)
            return onehot
        truth = ans[task.target_columns[0]].astype(str).str.strip()
        return np.stack([(truth == c).to_numpy(dtype=float) for c in pred_cols], axis=1)
    cols = [c for c in pred_cols if c in ans.columns] or task.target_columns
    if task.submission_kind == "labels":
        labels: np.ndarray = ans[cols[0]].map(canonical_label).to_numpy()
        return labels
    block = ans[cols].astype(str).apply(lambda s: s.str.strip().str.lower().map(
        lambda v: _BOOL_WORDS.get(v, v)))
    numbers: np.ndarray = block.apply(pd.to_numeric).to_numpy(dtype=float)
    return numbers


def score(task: Task, frame: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The metric of a checked submission against the answers (not rounded)."""
    metric = METRICS[task.metric]
    idc = task.id_column
    sub = frame.copy()
    sub[idc] = sub[idc].astype(str).str.strip()
    pred_cols = task.submission_columns[1:]
    truth = _truth_matrix(task, answers, sub[idc])
    if task.submission_kind == "labels":
        pred = sub[pred_cols[0]].map(canonical_label).to_numpy()
        return metric.fn(truth, pred)
    block = sub[pred_cols].astype(str).apply(lambda s: s.str.strip().str.lower().map(
        lambda v: _BOOL_WORDS.get(v, v)))
    pred = block.apply(pd.to_numeric).to_numpy(dtype=float)
    if pred.shape[1] == 1 and metric.name not in ("mean_columnwise_rmsle", "mean_columnwise_auc"):
        return metric.fn(truth.reshape(len(truth), -1)[:, 0], pred[:, 0])
    return metric.fn(truth, pred)


# --- competitions whose grade.py gome knows exactly (gome_es.tasks.mlebench_graders) ---------

# Cells pandas reads as missing by default: a text prediction spelled so is lost on reading.
PANDAS_MISSING = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                  "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}


def competition_id(task: Task) -> str:
    return task.id.split(":", 1)[1] if ":" in task.id else task.id


def exact_spec(task: Task) -> GraderSpec | None:
    """The competition's grading rules when gome knows its grade.py exactly, else None."""
    return spec_for(competition_id(task), task.grader) if task.source == "mlebench" else None


def sample_header(task: Task) -> list[str]:
    return [str(c) for c in pd.read_csv(task.sample_submission_path, nrows=0).columns]


def graded_columns(spec: GraderSpec, header: list[str]) -> list[str]:
    """The prediction columns the grader reads: its targets, or (one-hot log losses) every
    column of the sample submission but the id."""
    return list(spec.targets) if spec.targets else [c for c in header if c != spec.id_column]


def _counts(values: pd.Series) -> pd.Series:
    return values.value_counts(dropna=True)


def check_exact(task: Task, spec: GraderSpec, frame: pd.DataFrame, ids: list[str]) -> list[str]:
    """Reasons a submission does not fit a competition whose grade.py gome knows (empty = fits).

    The layout comes from the grader's facts (id column, graded columns, how rows are paired)
    and the sample submission's columns, not from the public tables.  Where this is stricter
    than MLE-bench's grader the reason says so.
    """
    recipe = RECIPES[spec.recipe]
    reasons: list[str] = []
    header = sample_header(task)
    graded = graded_columns(spec, header)
    cols = [str(c) for c in frame.columns]
    seen: set[str] = set()
    dupe_cols = sorted({c for c in cols if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    present = set(cols)
    missing = [c for c in [spec.id_column, *graded] if c not in present]
    extra = [c for c in cols if c not in set(header)]
    tolerant = spec.recipe not in ("auroc_matrix", "auroc_exact_columns") and not spec.exact_columns \
        and not spec.id_first
    if missing:
        reasons.append(f"missing column(s) {_shown(missing)}; {competition_id(task)}'s grader reads "
                       f"{[spec.id_column, *graded][:8]}{' ...' if len(graded) > 7 else ''}")
    if extra:
        why = " (mlebench's grader ignores them)" if tolerant else " (mlebench's grader refuses them)"
        reasons.append(f"unexpected column(s) {_shown(extra)}; the sample submission's columns are "
                       f"{header[:8]}{' ...' if len(header) > 8 else ''}{why}")
    if dupe_cols:
        reasons.append(f"duplicate column name(s) {_shown(dupe_cols)}")
    if spec.id_first and cols and cols[0] != spec.id_column:
        reasons.append(f"the first column must be {spec.id_column!r}: {competition_id(task)}'s grader reads "
                       "the probabilities as the columns after the first")
    order = [c for c in cols if c in set(graded)]
    if spec.recipe in ("auroc_matrix",) or spec.id_first:
        if not missing and order != [c for c in header if c in set(graded)]:
            reasons.append(f"the class columns must be in the sample submission's order {graded}: mlebench's "
                           "grader pairs them with the answers' columns by position, not by name")
    if len(frame) != len(ids):
        reasons.append(f"has {len(frame)} rows, expected {len(ids)} (one per test id)")
    if spec.id_column not in present or dupe_cols:
        return reasons
    id_reasons = _check_ids(spec, frame[spec.id_column], ids, recipe.rows)
    if id_reasons and recipe.rows in ("position", "sorted, unchecked", "id, unchecked"):
        id_reasons[-1] += (" (looser than gome: mlebench's grader does not match "
                           f"{competition_id(task)}'s rows by id and would score this submission)")
    reasons += id_reasons
    for col in [c for c in graded if c in present]:
        reasons += _check_column(task, spec, recipe.kind, col, frame[col])
    if recipe.kind == "class_probabilities" and not reasons:
        block = frame[graded].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)

        off = np.abs(block.sum(axis=1) - 1.0) > ROW_SUM_ATOL + ROW_SUM_RTOL
        if off.any():
            reasons.append(f"{int(off.sum())} row(s) have probabilities that do not sum to 1 "
                           f"(tolerance {ROW_SUM_ATOL:g} + {ROW_SUM_RTOL:g}, as the grader checks)")
    return reasons


def _check_ids(spec: GraderSpec, sub_ids: pd.Series, ids: list[str], rows: str) -> list[str]:
    reasons: list[str] = []
    if sub_ids.isna().any():
        reasons.append(f"{int(sub_ids.isna().sum())} row(s) have an empty {spec.id_column!r}")
    got = sub_ids.dropna().astype(str).str.strip()
    want = pd.Series(ids, dtype=object).astype(str).str.strip()
    have, need = _counts(got), _counts(want)
    unknown = [i for i in have.index if i not in need.index]
    absent = [i for i in need.index if i not in have.index]
    both = have.index.intersection(need.index)
    repeated = [i for i in both if have[i] > need[i]] + [i for i in unknown if have[i] > 1]
    if repeated:
        reasons.append(f"duplicate id(s) {_shown(repeated)}")
    if unknown:
        reasons.append(f"unknown id(s) not in the test set: {_shown(unknown)}")
    if absent:
        reasons.append(f"missing id(s) {_shown(absent)}")
    if rows == "position" and not reasons and len(got) == len(want) and (got.to_numpy() != want.to_numpy()).any():
        reasons.append(f"the rows must be in the sample submission's order of {spec.id_column!r}: "
                       "mlebench's grader pairs them with the answers by position")
    return reasons


def _sample_is_numeric(task: Task, col: str) -> bool:
    try:
        sample = pd.read_csv(task.sample_submission_path, usecols=[col], dtype=str)[col].dropna()
    except (OSError, ValueError, KeyError):
        return False
    return bool(len(sample)) and bool(pd.to_numeric(sample, errors="coerce").notna().all())


def _check_column(task: Task, spec: GraderSpec, kind: str, col: str, values: pd.Series) -> list[str]:
    reasons: list[str] = []
    if kind == "text":
        raw = values.fillna("")
        lost = raw[raw.astype(str).str.strip().isin(PANDAS_MISSING)]
        if len(lost):
            reasons.append(f"column {col!r} has {len(lost)} value(s) that pandas reads as missing "
                           f"({_shown(lost.unique())}); MLE-bench's grader fails on a missing value")
        return reasons
    if values.isna().any():
        reasons.append(f"column {col!r} has {int(values.isna().sum())} empty/NaN value(s)")
        values = values.dropna()
    if kind == "labels":
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any() and _sample_is_numeric(task, col):
            words = values[numbers.isna()].unique()
            reasons.append(f"column {col!r} must hold numeric labels like the sample submission's; got "
                           f"{_shown(words)} (mlebench's grader fails on labels of mixed types)")
            return reasons
        if spec.recipe == "kappa" or _sample_is_numeric(task, col):
            bad = values[numbers.isna() | (numbers != numbers.round())]
            if len(bad):
                what = "ratings" if spec.recipe == "kappa" else "labels"
                reasons.append(f"column {col!r} must hold whole-number {what}; got {_shown(bad.unique())} "
                               "(mlebench's grader fails on fractional ones)")
                return reasons
        allowed = {canonical_label(v) for v in (task.labels or [])}
        if allowed:
            got = values.map(canonical_label)
            bad = values[~got.isin(allowed)].unique()
            if len(bad):
                fractional = pd.to_numeric(pd.Series(bad), errors="coerce")
                fractional = fractional[fractional.notna() & (fractional != fractional.round())]
                if len(fractional):
                    hint = (" (these look like probabilities; this competition is graded on labels, and "
                            "mlebench's grader fails on fractional labels)"
                            if fractional.between(0, 1).all() else
                            " (mlebench's grader fails on fractional labels)")
                else:
                    hint = " (mlebench's grader would score them as wrong answers)"
                reasons.append(f"column {col!r} has label(s) outside those seen in training: {_shown(bad)} "
                               f"(seen: {sorted(task.labels or [])[:10]}){hint}")
        return reasons
    numbers = _finite_numbers(values, col, reasons)
    if kind in ("probability", "class_probabilities"):
        out = numbers[(numbers < 0) | (numbers > 1)]
        if len(out):
            looser = (" (mlebench's grader does not check the range here and would score them)"
                      if spec.recipe in ("auroc_matrix", "auroc_exact_columns") else "")
            reasons.append(f"column {col!r} must hold probabilities in [0, 1]; "
                           f"got {len(out)} value(s) outside, e.g. {_shown(out.unique())}{looser}")
    elif kind == "values":
        if spec.recipe == "rmsle_position" and (numbers <= -1).any():
            reasons.append(f"column {col!r} has {int((numbers <= -1).sum())} value(s) <= -1; "
                           "RMSLE (log1p) is undefined for them")
        huge = numbers[numbers.abs() > MAX_MAGNITUDE]
        if len(huge):
            reasons.append(f"column {col!r} has value(s) too large to score (|v| > {MAX_MAGNITUDE:g}): "
                           f"{_shown(huge.unique())}")
    return reasons


def grading_task(competition: str, data_dir: Path, why: str) -> Task:
    """A task that can be validated and graded though its public files were not understood.

    Grading needs the grader's facts (config.yaml, leaderboard), the sample submission and the
    answers, never an understanding of the public files; ``why`` (the understanding's refusal)
    is kept in ``understanding["not_understood"]``.  TaskDataMissing when those facts are missing.
    """
    data_dir = Path(data_dir).resolve()
    prepared = data_dir / competition / "prepared"
    public, private = prepared / "public", prepared / "private"
    facts = find_facts(competition, data_dir)
    if facts is None or not public.is_dir():
        raise TaskDataMissing(f"cannot grade mlebench:{competition} without its config.yaml and prepared "
                              f"public/ folder under {data_dir}; {why}")
    sample = facts.sample_submission
    if not sample.is_file():
        found = sorted(public.glob("*ample*ubmission*.csv*"))
        sample = found[0] if found else sample
    if not sample.is_file():
        raise TaskDataMissing(f"the sample submission {facts.sample_submission} of mlebench:{competition} "
                              "does not exist; prepare the competition again")
    header = [str(c) for c in pd.read_csv(sample, nrows=0).columns]
    spec = spec_for(competition, facts.grader)
    metric = RECIPES[spec.recipe].metric if spec else GRADERS.get(facts.grader, facts.grader)
    problems: list[str] = []
    try:
        lower = lower_is_better_from(leaderboard_scores(facts.leaderboard))
        direction = f"leaderboard {facts.leaderboard}"
    except TaskDataMissing as exc:
        problems.append(str(exc))
        lower = spec.lower_is_better if spec else bool(metric in METRICS and METRICS[metric].lower_is_better)
        direction = f"grader {facts.grader} (the leaderboard is unreadable)"
    id_column = spec.id_column if spec else header[0]
    predicted = graded_columns(spec, header) if spec else header[1:]
    if spec is not None:
        kind: str | None = RECIPES[spec.recipe].kind
    else:
        kind = METRIC_KIND.get(metric)
    understanding = {"not_understood": why, "grader": facts.grader, "id_column": id_column,
                     "prediction_columns": predicted, "submission_kind": kind,
                     "facts_from": f"{facts.source}: {facts.config_path}"}
    return Task(
        id=f"{MLEBENCH_PREFIX}{competition}", title=facts.name, source="mlebench", task_type="other",
        metric=metric, lower_is_better=lower, id_column=id_column, target_columns=predicted,
        submission_columns=[id_column, *predicted], labels=None, root=prepared, public_dir=public,
        private_dir=private, description_path=public / "description.md", sample_submission_path=sample,
        leaderboard_path=facts.leaderboard, license="see the competition's rules on Kaggle",
        provenance=f"MLE-bench competition {competition}, prepared by `mlebench prepare`",
        fingerprint=fingerprint(public), grader=facts.grader, answers_file=facts.answers,
        submission_kind=kind, understanding=understanding, mlebench_data=data_dir,
        direction_source=direction, grading_problems=problems,
    )


def submission_layout(task: Task) -> dict[str, Any] | None:
    """What a submission to a competition gome knows exactly must look like, from its grader and
    its sample submission (for solutions and prompts): None for other tasks.

    Keys: id_column (the column rows are matched on, wherever it stands), columns (the sample
    submission's header, in its order), predicted (the columns the grader reads), kind
    (probability | class_probabilities | labels | text | values), rows (how the grader pairs rows
    with the answers), in_order (the sample's column order is required), exact_columns.
    """
    spec = exact_spec(task)
    if spec is None:
        return None
    header = sample_header(task)
    recipe = RECIPES[spec.recipe]
    return {
        "id_column": spec.id_column, "columns": header, "predicted": graded_columns(spec, header),
        "kind": recipe.kind, "rows": recipe.rows, "metric": recipe.metric,
        "in_order": spec.id_first or spec.recipe == "auroc_matrix" or recipe.rows == "position",
        "exact_columns": spec.exact_columns or spec.id_first,
    }
