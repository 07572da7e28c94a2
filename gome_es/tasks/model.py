"""The shapes of the tasks module: task config, Task, checks, grade reports, errors.

``TaskConfig`` is what a task directory's ``task.json`` holds; ``Task`` is a
config resolved to concrete paths plus a fingerprint of the public files.
``GradeReport`` has exactly MLE-bench's report fields.  Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gome_es.errors import TaskError

TaskType = Literal["binary", "multiclass", "regression", "text", "image", "other"]

# ---------------------------------------------------------------- task understanding
#
# What gome inferred about an MLE-bench competition from its public files, the sample
# submission, the description and the grader name (gome_es.tasks.infer).  Recorded as a
# plain dict in RunStarted.task["understanding"]; ``UNDERSTANDING_SCHEMA`` says which
# shape a recorded one has (absent = 1, before modalities: tables only).

UNDERSTANDING_SCHEMA = 2

# The main input of a task.  "table": rows of features in CSV/JSON/parquet; "text": a table
# whose input is free text; "image" / "audio": one media file per row (classification,
# regression, multi-label or ordinal targets); "image_to_image": an image in, an image out
# (the submission holds one row per pixel); "seq2seq": a sequence of tokens in, a string
# per token out (text normalisation).
Modality = Literal["table", "text", "image", "image_to_image", "audio", "seq2seq"]

# What one submission column holds.
#   labels: one label per row, spelled as in the training data
#   probability: one probability in [0, 1] per row (of the positive class)
#   class_probabilities: one column per class, each row sums to 1
#   multilabel_probabilities: one probability per column, each column its own binary target
#     (the columns need not sum to 1; graded column by column, e.g. mean column-wise AUC)
#   values: one number per row and target column
#   pixels: one grey level in [0, 1] per pixel id (image-to-image)
#   strings: one free string per row (sequence-to-sequence)
SubmissionKind = Literal["labels", "probability", "class_probabilities", "multilabel_probabilities",
                         "values", "pixels", "strings"]

# What is predicted, whatever the input: "ordinal" = integer grades scored by quadratic
# weighted kappa; "multilabel" = several independent yes/no targets per row.
TargetKind = Literal["binary", "multiclass", "multilabel", "ordinal", "regression", "pixels",
                     "strings", "unknown"]


class MediaSet(BaseModel):
    """One set of media files (images or audio) in the public folder, found without extracting.

    ``path`` is relative to ``public/``: a folder (``train_images``) or a zip file
    (``train.zip``, whose members sit under ``prefix``, e.g. ``train/``).  A file maps to a row
    of a table (or of the sample submission) through ``id_column`` and ``id_from``:
    ``"stem"``: the file name without its extension is the id (``train/0a1b.tif`` <- id
    ``0a1b``); ``"name"``: the id is the whole file name (aerial-cactus: id ``0a1b.jpg``);
    ``"none"``: no table names these files (the labels may then be in the names:
    ``label_from_name``, a regular expression whose first group is the label, e.g. dogs-vs-cats
    ``cat.12.jpg``, or whale clips ``..._1.aif``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["image", "audio"]
    # train: training inputs; test: the rows to predict; train_target: the target of
    # image-to-image (denoising's train_cleaned/); shared: train and test files in one
    # folder (plant-pathology's images/, told apart by the tables); other: unclear
    role: Literal["train", "test", "train_target", "shared", "other"]
    container: Literal["folder", "zip"]
    path: str
    prefix: str = ""
    extension: str  # lower case with the dot: ".jpg"
    count: int  # files with that extension (counting stops at MEDIA_COUNT_CAP; see ``count_capped``)
    count_capped: bool = False
    examples: list[str] = []  # up to three file names, relative to path (and prefix)
    id_column: str | None = None
    id_from: Literal["stem", "name", "none"] = "none"
    label_from_name: str | None = None
    # A table in a subfolder that lists these files (mlsp-2013-birds'
    # essential_data/rec_id2filename.txt): ``index_column`` names each file (by ``id_from``),
    # the table's other columns (``rec_id``) key the rows.
    index_file: str | None = None
    index_column: str | None = None
    # One subfolder per class (plant-seedlings' train/<species>/x.png, speech commands'
    # train/audio/<word>/x.wav): the label is the name of the folder holding the file, and
    # ``examples`` are given as ``<class folder>/<file>``.
    label_from_folder: bool = False


class Understanding(BaseModel):
    """What a competition asks for, inferred from what an agent may see (never ``private/``).

    Never refuses a prepared competition: where the inference is unsure, ``confidence`` is
    ``"low"`` and ``unsure`` says why, and a run still starts (the LLM gets the listing,
    the description and the sample submission).  Fields:

    - ``schema``: the shape's version (``UNDERSTANDING_SCHEMA``).
    - ``modality``: the main input (see ``Modality``); ``modalities``: every input found,
      e.g. ``["image", "table"]`` for images with a metadata table (siim-isic, leaf).
    - ``target_kind``: what is predicted (see ``TargetKind``).
    - ``confidence``: ``"high"`` or ``"low"``; ``unsure``: the reasons for ``"low"``.
    - ``media``: the image/audio sets (see ``MediaSet``), folders and zips alike.
    - ``train_files`` / ``test_files``: the tables (relative to ``public/``; a ``.csv.zip``
      holding one CSV counts) with the training rows and the test rows; either may be empty
      (aerial-cactus has no test table: its test ids are the files of ``test.zip``).
    - ``sample_submission``: the sample submission, relative to ``public/``.
    - ``submission_columns``: its header, in its own order (a submission must keep it).
    - ``id_column`` and ``id_position`` (its index in ``submission_columns``; insults'
      ``Comment`` is at 2).  ``id_source``: where the test ids come from: ``test_table``,
      ``media`` (the test files' names), ``composite`` (ids built from parts, see
      ``id_pattern``: denoising ``{image}_{row}_{col}``, birds ``{rec_id}*100+{class}``,
      text normalisation ``{sentence_id}_{token_id}``) or ``sample`` (only the sample lists them).
    - ``target_columns``: the training table's target column(s); empty when the target is in
      file names or target images.  ``prediction_columns``: the sample's columns to fill in;
      ``passthrough_columns``: sample columns copied from the test table unchanged (insults'
      ``Date``).
    - ``submission_kind`` (see ``SubmissionKind``), ``submission_dtypes`` (the sample's dtypes).
    - ``task_type``: the older, table-only classification (binary / multiclass / regression /
      text / image / other) that the offline recipes dispatch on.
    - ``classes``: the label set (labels) or the class of each probability column.
    - ``roles``: the role of each feature column of the tables (numeric, categorical, text, ...).
    - ``other_files``: small text files in subfolders (``essential_data/rec_labels_test_hidden.txt``)
      with their first lines, where the targets of a competition without a training table may be.
    - ``overrides``: what the user corrected (``--task-type``, ``--target``, ``--id-column``).
    - ``grader`` / ``facts_from``: mle-bench's grader name and the config it came from.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    schema_: int = Field(UNDERSTANDING_SCHEMA, alias="schema")
    modality: Modality
    modalities: list[str]
    target_kind: TargetKind
    confidence: Literal["high", "low"]
    unsure: list[str] = []
    media: list[MediaSet] = []
    train_files: list[str] = []
    test_files: list[str] = []
    sample_submission: str
    submission_columns: list[str]
    id_column: str | None
    id_position: int | None
    id_source: Literal["test_table", "media", "composite", "sample"]
    id_pattern: str | None = None
    target_columns: list[str] = []
    prediction_columns: list[str]
    passthrough_columns: list[str] = []
    submission_kind: SubmissionKind
    submission_dtypes: dict[str, str] = {}
    task_type: TaskType
    target_is_bool: bool = False
    classes: list[str] | None = None
    train_rows_sampled: int = 0
    roles: dict[str, Any] = {}
    ignored_train_only_columns: list[str] = []
    other_files: list[dict[str, Any]] = []
    overrides: dict[str, Any] = {}


class TaskNotFound(TaskError):
    """No bundled task or MLE-bench competition has this id."""


class TaskDataMissing(TaskError):
    """A task's files are missing or unreadable (bundled archive, mlebench data dir)."""


class MlebenchUnavailable(TaskError):
    """An ``mlebench:`` task needs the mlebench package or its prepared data."""


class TaskConfig(BaseModel):
    """The contents of ``task.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    task_type: TaskType
    metric: str
    lower_is_better: bool
    id_column: str
    # Label column(s) in train.csv.
    target_columns: list[str]
    # Columns of a submission, id column first (the sample submission's header).
    submission_columns: list[str]
    # For label metrics: the allowed labels, as strings.  For probability
    # metrics: the class each probability column stands for, in column order.
    labels: list[str] | None = None
    license: str
    provenance: str


class TaskInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    task_type: TaskType
    metric: str
    lower_is_better: bool
    source: Literal["bundled", "mlebench"]
    modality: str = "table"  # Modality (bundled tasks are tables)


class Task(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    source: Literal["bundled", "mlebench"]
    task_type: TaskType
    metric: str
    lower_is_better: bool
    id_column: str
    target_columns: list[str]
    # The sample submission's header, in its own order (for bundled tasks the id comes first).
    submission_columns: list[str]
    labels: list[str] | None = None
    root: Path
    public_dir: Path
    private_dir: Path
    description_path: Path
    sample_submission_path: Path
    leaderboard_path: Path | None
    license: str
    provenance: str
    # sha256 over the public files (relative path + content), so a run can
    # record exactly which data it saw.
    fingerprint: str
    # MLE-bench competitions: the grader's name in mle-bench's config.yaml, the answers file
    # it names, what a submission holds (labels | probability | class_probabilities | values),
    # what was inferred from the public files (gome_es.tasks.infer), where the data dir is,
    # where the metric's direction came from, and what grading would lack (empty = ready).
    grader: str | None = None
    answers_file: Path | None = None
    submission_kind: str | None = None
    understanding: dict[str, Any] = {}
    mlebench_data: Path | None = None
    direction_source: str = "task.json"
    grading_problems: list[str] = []
    # What a submission row must fill in, and where the id is, in ``submission_columns``:
    # empty = everything but the id column (bundled tasks, and any id-first sample).
    prediction_columns: list[str] = []
    modality: str = "table"

    @property
    def answers_path(self) -> Path:
        return self.answers_file or self.private_dir / "answers.csv"

    @property
    def predicted_columns(self) -> list[str]:
        """The columns a solution predicts (the sample's columns less the id and pass-through ones)."""
        return list(self.prediction_columns) or [c for c in self.submission_columns if c != self.id_column]

    def info(self) -> TaskInfo:
        return TaskInfo(
            id=self.id, title=self.title, task_type=self.task_type, metric=self.metric,
            lower_is_better=self.lower_is_better, source=self.source, modality=self.modality,
        )


class SubmissionCheck(BaseModel):
    """Whether a submission is well-formed; never carries a score."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    reasons: list[str]


class GradeReport(BaseModel):
    """MLE-bench's competition report, field for field."""

    competition_id: str
    score: float | None
    gold_threshold: float
    silver_threshold: float
    bronze_threshold: float
    median_threshold: float
    any_medal: bool
    gold_medal: bool
    silver_medal: bool
    bronze_medal: bool
    above_median: bool
    submission_exists: bool
    valid_submission: bool
    is_lower_better: bool
    created_at: datetime
    submission_path: str


class GradedSubmission(BaseModel):
    """A report plus why the submission scored None (empty when it scored)."""

    report: GradeReport
    reasons: list[str]
