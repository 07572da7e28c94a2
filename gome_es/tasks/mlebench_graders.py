"""MLE-bench's per-competition grading rules, so gome grades exactly as ``mlebench grade`` does.

Every competition of MLE-bench grades with its own ``grade.py``: which columns it reads,
whether it sorts by the id and checks that the ids match, what it calls an invalid
submission (``InvalidSubmissionError``: score None) and which scikit-learn metric it calls.
``SPECS`` holds those facts for the 22 competitions of the lite split and for the other
competitions whose ``grade.py`` is one of MLE-bench's two shared recipes (one
``prepare_for_accuracy_metric`` or ``prepare_for_auroc_metric`` call); ``grade`` applies
them to the submission and answers read as MLE-bench reads them (``read_like_mlebench``),
with gome's numpy metrics (``gome_es.tasks.metrics``) in place of scikit-learn.  Any other
error while grading is, as in MLE-bench, a None score; the reason says what failed.

``RECIPES`` says what each recipe checks and what its prediction columns hold; the
submission checks (``submission.check_frame``) derive an agent's format rules from the
spec and the sample submission's columns, and ``QUIRKS`` names, per recipe, what MLE-bench
accepts that gome's validation refuses (the grade report carries them as notes).

Pure apart from ``read_like_mlebench``: no clock, no randomness.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gome_es.errors import TaskError
from gome_es.tasks import metrics as m

# dog-breed, leaf and spooky: a row's probabilities sum to 1 as np.isclose(s, 1, atol=1e-6)
# decides (its default rtol of 1e-5 included).
ROW_SUM_ATOL = 1e-6
ROW_SUM_RTOL = 1e-5


class InvalidSubmission(TaskError):
    """What MLE-bench's grader raises as InvalidSubmissionError: the score is None."""


class AnswersProblem(TaskError):
    """The answers file lacks what the grader asserts (a broken preparation, not the agent's fault)."""


@dataclass(frozen=True)
class GraderSpec:
    """One competition's grade.py, as facts.

    recipe: which of ``RECIPES`` it follows; id_column: the column rows are matched on;
    targets: the prediction columns it reads (for the one-hot log losses, empty: the answers'
    columns other than the id); lower_is_better: the metric's direction.
    """

    competition: str
    grader: str
    recipe: str
    id_column: str
    targets: tuple[str, ...] = ()
    lower_is_better: bool = False
    # spooky: the probabilities are the columns after the first (positional).
    id_first: bool = False
    # leaf and plant-pathology: exactly the id and the classes, no other column.
    exact_columns: bool = False


@dataclass(frozen=True)
class Recipe:
    metric: str  # gome's name for the metric (docs, `tasks show`)
    kind: str  # what a prediction column holds: probability | class_probabilities | labels | text | values
    rows: str  # how rows are paired: "id" (sorted, ids must match) | "sorted, unchecked" | "position"
    notes: tuple[str, ...] = field(default_factory=tuple)


RECIPES: dict[str, Recipe] = {
    "auroc": Recipe("auc_roc", "probability", "id"),
    "auroc_per_class": Recipe("mean_columnwise_auc", "probability", "id"),
    "auroc_matrix": Recipe("mean_columnwise_auc", "probability", "id, unchecked"),
    "auroc_exact_columns": Recipe("mean_columnwise_auc", "probability", "id"),
    "accuracy": Recipe("accuracy", "labels", "id"),
    "accuracy_text": Recipe("accuracy", "text", "id"),
    "kappa": Recipe("quadratic_weighted_kappa", "labels", "id set"),
    "binary_log_loss": Recipe("log_loss", "probability", "id set"),
    "onehot_log_loss": Recipe("multiclass_log_loss", "class_probabilities", "id"),
    "rmse_ids": Recipe("rmse", "values", "id"),
    "rmse_sorted": Recipe("rmse", "values", "sorted, unchecked"),
    "rmsle_position": Recipe("mean_columnwise_rmsle", "values", "position"),
}

# What MLE-bench's grader for a recipe scores although gome's validation refuses it.
QUIRKS: dict[str, str] = {
    "auroc_matrix": "mlebench's grader does not check the ids or the range of these probabilities (values "
                    "outside [0, 1] are scored) and pairs the class columns by position, not by name",
    "rmse_sorted": "mlebench's grader sorts both files by the key and pairs them row by row without checking "
                   "that the keys match",
    "rmsle_position": "mlebench's grader pairs rows by position without reading the ids (duplicate, unknown or "
                      "reordered ids are scored as they stand)",
    "kappa": "mlebench's grader scores any rating, seen in training or not",
    "accuracy": "mlebench's grader scores any label, seen in training or not",
}


def _spec(cid: str, grader: str, recipe: str, id_column: str, *targets: str, **kw: Any) -> GraderSpec:
    lower = RECIPES[recipe].metric in ("log_loss", "multiclass_log_loss", "rmse", "mean_columnwise_rmsle")
    return GraderSpec(cid, grader, recipe, id_column, tuple(targets), lower, **kw)


JIGSAW = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
RANZCR = ("ETT - Abnormal", "ETT - Borderline", "ETT - Normal", "NGT - Abnormal", "NGT - Borderline",
          "NGT - Incompletely Imaged", "NGT - Normal", "CVC - Abnormal", "CVC - Borderline")
PLANT = ("healthy", "multiple_diseases", "rust", "scab")

LITE = (
    "aerial-cactus-identification", "aptos2019-blindness-detection", "denoising-dirty-documents",
    "detecting-insults-in-social-commentary", "dog-breed-identification", "dogs-vs-cats-redux-kernels-edition",
    "histopathologic-cancer-detection", "jigsaw-toxic-comment-classification-challenge", "leaf-classification",
    "mlsp-2013-birds", "new-york-city-taxi-fare-prediction", "nomad2018-predict-transparent-conductors",
    "plant-pathology-2020-fgvc7", "random-acts-of-pizza", "ranzcr-clip-catheter-line-classification",
    "siim-isic-melanoma-classification", "spooky-author-identification", "tabular-playground-series-dec-2021",
    "tabular-playground-series-may-2022", "text-normalization-challenge-english-language",
    "text-normalization-challenge-russian-language", "the-icml-2013-whale-challenge-right-whale-redux",
)

SPECS: dict[str, GraderSpec] = {s.competition: s for s in [
    # the lite split
    _spec("aerial-cactus-identification", "auc-roc", "auroc", "id", "has_cactus"),
    _spec("aptos2019-blindness-detection", "quadratic-weighted-kappa", "kappa", "id_code", "diagnosis"),
    _spec("denoising-dirty-documents", "root_mean_squared_error", "rmse_ids", "id", "value"),
    _spec("detecting-insults-in-social-commentary", "auc-roc", "auroc", "Comment", "Insult"),
    _spec("dog-breed-identification", "multi-class-log-loss", "onehot_log_loss", "id"),
    _spec("dogs-vs-cats-redux-kernels-edition", "log-loss", "binary_log_loss", "id", "label"),
    _spec("histopathologic-cancer-detection", "auc-roc", "auroc", "id", "label"),
    _spec("jigsaw-toxic-comment-classification-challenge", "column-wise ROC AUC", "auroc_matrix", "id", *JIGSAW),
    _spec("leaf-classification", "multi-class-log-loss", "onehot_log_loss", "id", exact_columns=True),
    _spec("mlsp-2013-birds", "auc-roc", "auroc", "Id", "Probability"),
    _spec("new-york-city-taxi-fare-prediction", "root-mean-squared-error", "rmse_sorted", "key", "fare_amount"),
    _spec("nomad2018-predict-transparent-conductors", "mean-column-wise-rmsle", "rmsle_position", "id",
          "formation_energy_ev_natom", "bandgap_energy_ev"),
    _spec("plant-pathology-2020-fgvc7", "mean-column-wise-roc-auc", "auroc_exact_columns", "image_id", *PLANT,
          exact_columns=True),
    _spec("random-acts-of-pizza", "auc-roc", "auroc", "request_id", "requester_received_pizza"),
    _spec("ranzcr-clip-catheter-line-classification", "auc-roc", "auroc_per_class", "StudyInstanceUID", *RANZCR),
    _spec("siim-isic-melanoma-classification", "auc-roc", "auroc", "image_name", "target"),
    _spec("spooky-author-identification", "multi-class-log-loss", "onehot_log_loss", "id", id_first=True),
    _spec("tabular-playground-series-dec-2021", "multi-class-classification-accuracy", "accuracy", "Id", "Cover_Type"),
    _spec("tabular-playground-series-may-2022", "auc-roc", "auroc", "id", "target"),
    _spec("text-normalization-challenge-english-language", "accuracy", "accuracy_text", "id", "after"),
    _spec("text-normalization-challenge-russian-language", "accuracy", "accuracy_text", "id", "after"),
    _spec("the-icml-2013-whale-challenge-right-whale-redux", "auc-roc", "auroc", "clip", "probability"),
    # the rest of MLE-bench whose grade.py is one shared recipe
    _spec("cassava-leaf-disease-classification", "accuracy", "accuracy", "image_id", "label"),
    _spec("cdiscount-image-classification-challenge", "accuracy", "accuracy", "_id", "category_id"),
    _spec("invasive-species-monitoring", "auc-roc", "auroc", "name", "invasive"),
    _spec("iwildcam-2020-fgvc7", "accuracy", "accuracy", "Id", "Category"),
    _spec("ml2021spring-hw2", "accuracy", "accuracy", "Id", "ClassId"),
    _spec("movie-review-sentiment-analysis-kernels-only", "accuracy", "accuracy", "PhraseId", "Sentiment"),
    _spec("rsna-miccai-brain-tumor-radiogenomic-classification", "auc-roc", "auroc", "BraTS21ID", "MGMT_value"),
    _spec("seti-breakthrough-listen", "auc-roc", "auroc", "id", "target"),
    _spec("spaceship-titanic", "accuracy", "accuracy", "PassengerId", "Transported"),
    _spec("tensorflow-speech-recognition-challenge", "accuracy", "accuracy", "fname", "label"),
]}


def spec_for(competition_id: str, grader: str | None = None) -> GraderSpec | None:
    """The competition's rules; None when unknown or when its config names another grader
    (another mle-bench version or a custom config: then gome does not claim to know it)."""
    spec = SPECS.get(competition_id)
    if spec is None or (grader is not None and grader != spec.grader):
        return None
    return spec


def read_like_mlebench(path: Path) -> pd.DataFrame:
    """A CSV as MLE-bench's ``read_csv`` reads it: pandas' type inference, round-trip floats,
    an empty file as an empty frame."""
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates the argument MLE-bench passes
            warnings.simplefilter("ignore")
            return pd.read_csv(path, float_precision="round_trip")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


# --- the recipes ---------------------------------------------------------------------------


def _need_answers(answers: pd.DataFrame, *cols: str) -> None:
    missing = [c for c in cols if c not in answers.columns]
    if missing:
        raise AnswersProblem(f"the answers lack column(s) {missing}; prepare the competition again")


def _need_columns(sub: pd.DataFrame, *cols: str) -> None:
    for col in cols:
        if col not in sub.columns:
            raise InvalidSubmission(f"the submission has no {col!r} column")


def _same_length(sub: pd.DataFrame, answers: pd.DataFrame) -> None:
    if len(sub) != len(answers):
        raise InvalidSubmission(f"the submission has {len(sub)} rows; the answers have {len(answers)}")


def _sorted_pair(sub: pd.DataFrame, answers: pd.DataFrame, id_col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sorted by the id (pandas' default sort, as MLE-bench calls it); the ids must agree row by row."""
    s, a = sub.sort_values(id_col), answers.sort_values(id_col)
    if (s[id_col].values != a[id_col].values).any():
        raise InvalidSubmission(f"the submission's {id_col!r} values are not the answers' ids "
                                "(unknown, missing or repeated ids)")
    return s, a


def _probability_column(sub: pd.DataFrame, col: str) -> None:
    try:
        pd.to_numeric(sub[col])
    except (ValueError, TypeError):
        raise InvalidSubmission(f"column {col!r} must be numeric (got {sub[col].dtype})") from None
    if sub[col].min() < 0 or sub[col].max() > 1:
        raise InvalidSubmission(f"column {col!r} must hold probabilities between 0 and 1 inclusive")


def _auroc_inputs(sub: pd.DataFrame, answers: pd.DataFrame, id_col: str, target: str) -> tuple[Any, ...]:
    _need_answers(answers, id_col, target)
    _need_columns(sub, id_col, target)
    _same_length(sub, answers)
    _probability_column(sub, target)
    s, a = _sorted_pair(sub, answers, id_col)
    return a[target].to_numpy(), s[target].to_numpy()


def _auroc(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    return m.binary_auc(*_auroc_inputs(sub, answers, spec.id_column, spec.targets[0]))


def _auroc_per_class(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    for col in spec.targets:
        _need_answers(answers, col)
        _need_columns(sub, col)
    if len(sub) != len(answers):  # an assertion in grade.py: an error, not an InvalidSubmissionError
        raise ValueError(f"the submission has {len(sub)} rows; the answers have {len(answers)}")
    return float(np.mean([m.binary_auc(*_auroc_inputs(sub, answers, spec.id_column, col))
                          for col in spec.targets]))


def _auroc_matrix(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, classes = spec.id_column, list(spec.targets)
    _need_columns(sub, idc)
    missing = [c for c in classes if c not in sub.columns]
    if missing:
        raise InvalidSubmission(f"the submission lacks the column(s) {missing}")
    _need_answers(answers, idc, *classes)
    if len(sub) != len(answers):
        raise ValueError(f"the submission has {len(sub)} rows; the answers have {len(answers)}")
    s, a = sub.set_index(idc).sort_index(), answers.set_index(idc).sort_index()
    keep = a[classes].sum(axis=1) >= 0  # rows of -1 are not scored
    a, s = a[keep], s[keep]  # pandas aligns the mask on the ids: other ids raise
    # every non-id column of each file, paired by position
    return m.macro_auc(a.to_numpy(), s.to_numpy())


def _auroc_exact_columns(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, classes = spec.id_column, list(spec.targets)
    if set(answers.columns) != {idc, *classes}:
        raise AnswersProblem(f"the answers' columns are {list(answers.columns)}, not {[idc, *classes]}")
    _same_length(sub, answers)
    if set(sub.columns) != {idc, *classes}:
        raise InvalidSubmission(f"the submission's columns must be exactly {[idc, *classes]}; "
                                f"got {list(sub.columns)}")
    s = sub.sort_values(by=idc).reset_index(drop=True)
    a = answers.sort_values(by=idc).reset_index(drop=True)
    if not (s[idc] == a[idc]).all():
        raise InvalidSubmission(f"the submission's {idc!r} values are not the answers' ids")
    return float(np.mean([m.binary_auc(a[c].to_numpy(), s[c].to_numpy()) for c in classes]))


def _label_type(values: np.ndarray) -> str:
    """scikit-learn's type_of_target for one label column: binary | multiclass (else ValueError)."""
    if values.dtype == object and len(values) and not isinstance(values.flat[0], str):
        raise ValueError("labels of unknown type (an empty first value?)")
    if values.dtype.kind == "f":
        m._finite_floats(values, "labels")
        if (values != np.round(values)).any():
            raise ValueError("labels are continuous numbers, not classes")
    try:
        n = len(np.unique(values))
    except TypeError as exc:
        raise ValueError(f"labels mix types ({exc})") from None
    return "multiclass" if n > 2 else "binary"


def accuracy_like_sklearn(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """accuracy_score: both columns must be class labels of one kind; equal means ``==``."""
    _label_type(y_true), _label_type(y_pred)
    try:
        np.union1d(y_true, y_pred)
    except TypeError as exc:
        raise ValueError(f"the labels and predictions are of different types ({exc})") from None
    return float(np.mean(y_true == y_pred))


def _accuracy_inputs(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> tuple[Any, ...]:
    idc, target = spec.id_column, spec.targets[0]
    _need_answers(answers, target, idc)
    _same_length(sub, answers)
    _need_columns(sub, target, idc)
    return _sorted_pair(sub, answers, idc)


def _accuracy(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    s, a = _accuracy_inputs(spec, sub, answers)
    target = spec.targets[0]
    return accuracy_like_sklearn(a[target].to_numpy(), s[target].to_numpy())


def _accuracy_text(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    s, a = _accuracy_inputs(spec, sub, answers)
    target = spec.targets[0]
    truth = a[target].astype(str).to_numpy()
    pred = s[target].astype(str).to_numpy()
    return accuracy_like_sklearn(truth, pred)


def _kappa(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, target = spec.id_column, spec.targets[0]
    _need_columns(sub, target)
    _need_answers(answers, target)
    if sub.empty:
        raise InvalidSubmission("the submission has no rows")
    if answers.empty:
        raise AnswersProblem("the answers have no rows")
    if set(sub[idc]) != set(answers[idc]):
        raise InvalidSubmission(f"the submission's {idc!r} values are not the answers' ids")
    s, a = sub.sort_values(by=idc), answers.sort_values(by=idc)
    return m.kappa_quadratic(s[target].to_numpy(), a[target].to_numpy())


def _binary_log_loss(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, target = spec.id_column, spec.targets[0]
    _need_answers(answers, idc, target)
    _need_columns(sub, idc, target)
    if set(sub[idc]) != set(answers[idc]):
        raise InvalidSubmission(f"the submission's {idc!r} values are not the answers' ids")
    _same_length(sub, answers)
    if not ((sub[target] >= 0) & (sub[target] <= 1)).all():
        raise InvalidSubmission(f"every value of column {target!r} must lie between 0 and 1")
    s, a = sub.sort_values(idc), answers.sort_values(idc)
    return m.sklearn_log_loss(m.binary_labels_onehot(a[target].to_numpy()), s[target].to_numpy())


def _row_sums_ok(block: pd.DataFrame) -> bool:
    sums = block.sum(axis=1).to_numpy(dtype=float)
    return bool(np.all(np.abs(sums - 1) <= ROW_SUM_ATOL + ROW_SUM_RTOL)) and not np.isnan(sums).any()


def _onehot_log_loss(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc = spec.id_column
    _need_answers(answers, idc)
    classes = [c for c in answers.columns if c != idc]
    if spec.id_first:  # spooky: shape and positional columns
        if sub.shape != (len(answers), len(classes) + 1):
            raise InvalidSubmission(f"the submission's shape is {sub.shape}; expected "
                                    f"{(len(answers), len(classes) + 1)} (the id, then one column per class)")
        block = sub.iloc[:, 1:]
    else:
        if spec.exact_columns:
            if set(sub.columns) != {idc, *classes}:
                raise InvalidSubmission(f"the submission's columns must be exactly {idc!r} and one per class")
        else:
            missing = [c for c in classes if c not in sub.columns]
            if missing:
                raise InvalidSubmission(f"the submission lacks class column(s) {missing[:5]}"
                                        + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
            _need_columns(sub, idc)
        _same_length(sub, answers)
        block = sub[classes]
    if not _row_sums_ok(block):
        raise InvalidSubmission("each row's probabilities must sum to one (within 1e-6 + 1e-5)")
    if not ((block >= 0) & (block <= 1)).all().all():
        raise InvalidSubmission("every probability must lie between 0 and 1")
    if not set(sub.columns) >= set(answers.columns):
        raise InvalidSubmission(f"the submission lacks column(s) {sorted(set(answers.columns) - set(sub.columns))}")
    _need_columns(sub, idc)
    s = sub[list(answers.columns)].sort_values(by=idc).reset_index(drop=True)
    a = answers.sort_values(by=idc).reset_index(drop=True)
    if s[idc].tolist() != a[idc].tolist():  # an assertion in MLE-bench: an error, not InvalidSubmissionError
        raise ValueError(f"the submission's {idc!r} values are not the answers' ids")
    return m.sklearn_log_loss(a[classes].to_numpy(), s[classes].to_numpy())


def _rmse_ids(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, target = spec.id_column, spec.targets[0]
    _need_answers(answers, idc, target)
    _need_columns(sub, idc, target)
    try:
        sub[target].astype(float)
    except (ValueError, TypeError):
        raise InvalidSubmission(f"column {target!r} must hold numbers") from None
    _same_length(sub, answers)
    s, a = _sorted_pair(sub, answers, idc)
    return m.rmse_finite(a[target].to_numpy(), s[target].to_numpy())


def _rmse_sorted(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    idc, target = spec.id_column, spec.targets[0]
    _need_answers(answers, target, idc)
    _need_columns(sub, target, idc)
    s, a = sub.sort_values(idc), answers.sort_values(idc)
    return m.rmse_finite(a[target].to_numpy(), s[target].to_numpy())


def _rmsle_position(spec: GraderSpec, sub: pd.DataFrame, answers: pd.DataFrame) -> float:
    _need_answers(answers, *spec.targets)
    _need_columns(sub, *spec.targets)
    _same_length(sub, answers)
    return float(np.mean([m.rmsle_sklearn(answers[c].to_numpy(), sub[c].to_numpy()) for c in spec.targets]))


_GRADE = {
    "auroc": _auroc, "auroc_per_class": _auroc_per_class, "auroc_matrix": _auroc_matrix,
    "auroc_exact_columns": _auroc_exact_columns, "accuracy": _accuracy, "accuracy_text": _accuracy_text,
    "kappa": _kappa, "binary_log_loss": _binary_log_loss, "onehot_log_loss": _onehot_log_loss,
    "rmse_ids": _rmse_ids, "rmse_sorted": _rmse_sorted, "rmsle_position": _rmsle_position,
}


def grade(spec: GraderSpec, submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The unrounded score; InvalidSubmission, AnswersProblem or another exception when none."""
    with warnings.catch_warnings():  # pandas' reindexing notes (jigsaw's id-aligned mask)
        warnings.simplefilter("ignore")
        return _GRADE[spec.recipe](spec, submission.copy(), answers.copy())


def grade_files(spec: GraderSpec, submission: Path, answers: Path) -> tuple[float | None, list[str]]:
    """(score, []) or (None, why), with MLE-bench's rule that any error is a None score."""
    if submission.stat().st_size == 0:
        frame = pd.DataFrame()
    else:
        try:
            frame = read_like_mlebench(submission)
        except Exception as exc:  # MLE-bench: an unreadable CSV is an error while grading
            return None, [f"the submission is not a readable CSV: {type(exc).__name__}: {exc}"]
    answer_frame = read_like_mlebench(answers)
    try:
        return grade(spec, frame, answer_frame), []
    except InvalidSubmission as exc:
        return None, [str(exc)]
    except AnswersProblem as exc:
        return None, [f"grading failed: {exc}"]
    except Exception as exc:  # noqa: BLE001 - MLE-bench turns every grading error into a None score
        return None, [f"grading failed ({spec.competition}'s grader raised {type(exc).__name__}: {exc})"]
