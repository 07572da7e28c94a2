"""Task understanding never refuses a prepared competition: every modality of MLE-bench's lite
split is read from the public files (folders and zips of images or audio, listed without
extracting), the sample submission and the grader, and `gome tasks show` prints it.

The layouts come from two places: the fixture generator's 22 lite competitions
(tests/fixtures/mlebench/make_competitions.py, each written by its ``prepare.py`` rules) and
the small hand-written layouts of ``understanding_layouts`` (the same files, names and id rules
with a few files each), which pin the details.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.errors import TaskError
from gome_es.tasks import infer, load_task, public_files
from gome_es.tasks.model import Understanding
from tests.tasks import mlebench_data
from tests.tasks import understanding_layouts as layouts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lite(tmp_path_factory) -> Path:
    """The 22 competitions of the lite split, as the fixture generator prepares them (small)."""
    gen = mlebench_data.generator()
    assert sorted(gen.LITE_SPLIT) == sorted(LITE_FACTS)
    root = tmp_path_factory.mktemp("lite")
    gen.make_competitions(root, scale=0.05, only=list(gen.LITE_SPLIT))
    return root


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    return layouts.make(tmp_path_factory.mktemp("hand"))


def _u(root: Path, cid: str, **overrides) -> dict:
    return load_task(f"mlebench:{cid}", mlebench_data=root, overrides=overrides or None).understanding


# What each lite competition is, from its prepare.py and config.yaml (MLE-bench's facts): the
# modality, what is predicted and what a submission holds.  The inference knows none of these
# names; it reads the files.
LITE_FACTS = {
    "aerial-cactus-identification": ("image", "binary", "probability"),
    "aptos2019-blindness-detection": ("image", "ordinal", "labels"),
    "denoising-dirty-documents": ("image_to_image", "pixels", "pixels"),
    "detecting-insults-in-social-commentary": ("text", "binary", "probability"),
    "dog-breed-identification": ("image", "multiclass", "class_probabilities"),
    "dogs-vs-cats-redux-kernels-edition": ("image", "binary", "probability"),
    "histopathologic-cancer-detection": ("image", "binary", "probability"),
    "jigsaw-toxic-comment-classification-challenge": ("text", "multilabel", "multilabel_probabilities"),
    "leaf-classification": ("image", "multiclass", "class_probabilities"),
    "mlsp-2013-birds": ("audio", "multilabel", "probability"),
    "new-york-city-taxi-fare-prediction": ("table", "regression", "values"),
    "nomad2018-predict-transparent-conductors": ("table", "regression", "values"),
    "plant-pathology-2020-fgvc7": ("image", "multilabel", "multilabel_probabilities"),
    "random-acts-of-pizza": ("table", "binary", "probability"),
    "ranzcr-clip-catheter-line-classification": ("image", "multilabel", "multilabel_probabilities"),
    "siim-isic-melanoma-classification": ("image", "binary", "probability"),
    "spooky-author-identification": ("text", "multiclass", "class_probabilities"),
    "tabular-playground-series-dec-2021": ("table", "multiclass", "labels"),
    "tabular-playground-series-may-2022": ("table", "binary", "probability"),
    "text-normalization-challenge-english-language": ("seq2seq", "strings", "strings"),
    "text-normalization-challenge-russian-language": ("seq2seq", "strings", "strings"),
    "the-icml-2013-whale-challenge-right-whale-redux": ("audio", "binary", "probability"),
}


def test_the_facts_cover_the_whole_lite_split(lite) -> None:
    assert sorted(LITE_FACTS) == sorted(p.name for p in lite.iterdir())


@pytest.mark.parametrize("cid", sorted(LITE_FACTS))
def test_every_lite_competition_is_understood(lite, cid) -> None:
    u = _u(lite, cid)
    Understanding.model_validate(u)  # the recorded dict is the documented shape
    assert (u["modality"], u["target_kind"], u["submission_kind"]) == LITE_FACTS[cid]
    sample = pd.read_csv(lite / cid / "prepared" / "public" / u["sample_submission"], nrows=5)
    # the sample's own header, in its own order, with the id where the sample has it
    assert u["submission_columns"] == [str(c) for c in sample.columns]
    assert u["submission_columns"][u["id_position"]] == u["id_column"]
    assert set(u["prediction_columns"]) <= set(u["submission_columns"]) - {u["id_column"]}
    if u["modality"] in ("image", "audio", "image_to_image"):
        assert any(m["role"] in ("test", "shared") for m in u["media"]) or u["confidence"] == "low"
    if u["confidence"] == "low":
        assert u["unsure"], "a low confidence says why"


@pytest.mark.integration
def test_tasks_show_prints_every_lite_competition(lite) -> None:
    runner = CliRunner()
    for cid in LITE_FACTS:
        res = runner.invoke(cli, ["tasks", "show", f"mlebench:{cid}", "--mlebench-data", str(lite)])
        assert res.exit_code == 0, (cid, res.output)
        assert f"modality               {LITE_FACTS[cid][0]}" in res.output
        shown = runner.invoke(cli, ["tasks", "show", f"mlebench:{cid}", "--mlebench-data", str(lite), "--json"])
        data = json.loads(shown.output)
        assert data["modality"] == data["understanding"]["modality"] == LITE_FACTS[cid][0]
        assert data["prediction_columns"] == data["understanding"]["prediction_columns"]


@pytest.mark.integration
def test_the_refused_competitions_are_shown(hand) -> None:
    """The refusals of issue 23 as a user met them (exit 2): `gome tasks show` in a real process for
    the first, in-process for the rest."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-m", "gome_es", "tasks", "show", "mlebench:aerial-cactus-identification",
                          "--mlebench-data", str(hand)], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert "modality               image; predicting binary as probability" in res.stdout
    assert "media test         image test.zip:test/ 10 .jpg, name = id" in res.stdout
    for cid, modality in (("denoising-dirty-documents", "image_to_image"), ("mlsp-2013-birds", "audio"),
                          ("detecting-insults-in-social-commentary", "text")):
        shown = CliRunner().invoke(cli, ["tasks", "show", f"mlebench:{cid}", "--mlebench-data", str(hand)])
        assert shown.exit_code == 0, shown.output
        assert f"modality               {modality}" in shown.output
    assert "id                     Comment (column 3 of sample_submission_null.csv" in shown.output


# ------------------------------------------------------------------ the details, per layout


def test_aerial_cactus_test_images_are_a_zip_named_by_the_id(hand) -> None:
    u = _u(hand, "aerial-cactus-identification")
    assert u["test_files"] == [] and u["id_source"] == "media"
    test = next(m for m in u["media"] if m["role"] == "test")
    assert (test["container"], test["path"], test["prefix"], test["extension"]) == ("zip", "test.zip", "test/", ".jpg")
    assert (test["id_column"], test["id_from"], test["count"]) == ("id", "name", 10)
    assert u["train_files"] == ["train.csv"] and u["target_columns"] == ["has_cactus"]


def test_insults_id_is_the_comment_and_the_target_comes_first(hand) -> None:
    u = _u(hand, "detecting-insults-in-social-commentary")
    assert u["submission_columns"] == ["Insult", "Date", "Comment"]
    assert (u["id_column"], u["id_position"]) == ("Comment", 2)
    assert u["prediction_columns"] == ["Insult"] and u["passthrough_columns"] == ["Date"]
    assert "Comment" in u["roles"]["text"]  # the id is the text itself
    t = load_task("mlebench:detecting-insults-in-social-commentary", mlebench_data=hand)
    assert t.submission_columns == ["Insult", "Date", "Comment"] and t.predicted_columns == ["Insult"]


def test_denoising_pixels_and_training_pairs(hand) -> None:
    u = _u(hand, "denoising-dirty-documents")
    assert (u["id_source"], u["id_pattern"]) == ("composite", "{image}_{row}_{col}")
    roles = {m["path"]: m["role"] for m in u["media"]}
    assert roles == {"test": "test", "train": "train", "train_cleaned": "train_target"}


def test_birds_are_audio_with_ids_per_class_and_say_what_is_unsure(hand) -> None:
    u = _u(hand, "mlsp-2013-birds")
    assert u["id_pattern"] == "{row_id}*100+{class} (19 classes)"
    assert u["confidence"] == "low" and any("no public table holds the targets" in r for r in u["unsure"])
    assert {m["kind"] for m in u["media"]} == {"audio", "image"} and u["modalities"][0] == "audio"
    assert any("perhaps essential_data/rec_labels_test_hidden.txt" in r for r in u["unsure"])
    wavs = next(m for m in u["media"] if m["kind"] == "audio")
    # the recordings are named by a table in a subfolder, which keys them by rec_id
    assert (wavs["index_file"], wavs["index_column"], wavs["id_from"], wavs["role"]) == (
        "essential_data/rec_id2filename.txt", "filename", "stem", "shared")
    heads = {f["name"]: f["head"] for f in u["other_files"]}
    assert heads["essential_data/rec_labels_test_hidden.txt"][:2] == ["rec_id,[labels]", "0,0"]


def test_labels_spelled_in_file_names(hand) -> None:
    cats = _u(hand, "dogs-vs-cats-redux-kernels-edition")
    train = next(m for m in cats["media"] if m["role"] == "train")
    assert train["label_from_name"] == r"^([^._-]+)[._-]" and train["id_from"] == "none"
    whale = _u(hand, "the-icml-2013-whale-challenge-right-whale-redux")
    clips = {m["role"]: m for m in whale["media"]}
    assert clips["train"]["label_from_name"] == r"[._-]([^._-]+)$"
    assert (clips["test"]["id_column"], clips["test"]["id_from"]) == ("clip", "name")
    assert whale["confidence"] == "high"


def test_jigsaw_grader_is_probability_per_column(hand) -> None:
    t = load_task("mlebench:jigsaw-toxic-comment-classification-challenge", mlebench_data=hand)
    assert t.grader == "column-wise ROC AUC" and t.metric == "mean_columnwise_auc"
    assert t.submission_kind == "multilabel_probabilities" and len(t.predicted_columns) == 6


def test_text_normalization_reads_zipped_public_files_never_private(hand, monkeypatch) -> None:
    """The config names private/sample_submission.csv; understanding reads the public zip."""
    cid = "text-normalization-challenge-english-language"
    opened: list[str] = []
    real_open, real_io_open = builtins.open, io.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (opened.append(str(f)), real_open(f, *a, **k))[1])
    monkeypatch.setattr(io, "open", lambda f, *a, **k: (opened.append(str(f)), real_io_open(f, *a, **k))[1])
    public = hand / cid / "prepared" / "public"
    u = infer.understand(public, hand / cid / "prepared" / "private" / "sample_submission.csv", "accuracy")
    assert opened and not [p for p in opened if "/private/" in p]
    assert u["sample_submission"] == "en_sample_submission_2.csv.zip"
    assert (u["train_files"], u["test_files"]) == (["en_train.csv.zip"], ["en_test_2.csv.zip"])
    assert (u["id_pattern"], u["modality"], u["submission_kind"]) == ("{sentence_id}_{token_id}", "seq2seq", "strings")


def test_images_with_a_metadata_table(hand) -> None:
    u = _u(hand, "siim-isic-melanoma-classification")
    assert u["modalities"] == ["image", "table"] and u["task_type"] == "binary"
    assert {"sex", "age_approx"} <= set(u["roles"]["categorical"] + u["roles"]["numeric"])
    # decoded JPEGs before the DICOMs of the same rows
    assert [m["extension"] for m in u["media"]][:2] == [".jpg", ".jpg"]


def test_a_table_that_merely_has_the_id_column_is_not_the_test_table(hand) -> None:
    u = _u(hand, "ranzcr-clip-catheter-line-classification")  # train_annotations.csv has StudyInstanceUID
    assert u["test_files"] == [] and u["id_source"] == "media"
    assert u["ignored_train_only_columns"] == ["PatientID"]


# ------------------------------------------------------------------ overrides


def test_id_column_by_name_anywhere_in_the_sample(hand) -> None:
    u = _u(hand, "detecting-insults-in-social-commentary", id_column="Comment")
    assert u["id_position"] == 2 and u["overrides"] == {"id_column": "Comment"}
    u = _u(hand, "aptos2019-blindness-detection", id_column="id_code", target="diagnosis")
    assert u["target_columns"] == ["diagnosis"] and u["confidence"] == "high"
    with pytest.raises(TaskError, match=r"--id-column 'Nope' is not a column of the sample submission "
                                        r"sample_submission_null.csv; its columns are \['Insult', 'Date', 'Comment'\]"):
        _u(hand, "detecting-insults-in-social-commentary", id_column="Nope")


def test_a_target_no_table_has_is_unsure_not_refused(hand) -> None:
    u = _u(hand, "dogs-vs-cats-redux-kernels-edition", target="label")
    assert u["confidence"] == "low" and any("--target" in r for r in u["unsure"])


# ------------------------------------------------------------------ hostile public folders


def _copy(hand: Path, cid: str, dest: Path) -> Path:
    import shutil

    shutil.copytree(hand / cid, dest / cid, symlinks=True)
    return dest / cid / "prepared" / "public"


def test_links_fifos_and_traversal_names_are_listed_never_followed(hand, tmp_path) -> None:
    cid = "histopathologic-cancer-detection"
    public = _copy(hand, cid, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(50):
        (outside / f"x{i}.png").write_bytes(b"x")
    (public / "more_images").symlink_to(outside)  # a folder link: not walked
    (public / "linked.zip").symlink_to(outside / "x0.png")
    os.mkfifo(public / "extra.csv")  # would block a reader forever
    with zipfile.ZipFile(public / "odd.zip", "w") as zf:
        zf.writestr("../../escape/evil.png", b"x")
        zf.writestr("../../escape/evil2.png", b"x")
    u = _u(tmp_path, cid)
    assert not [m for m in u["media"] if m["path"] in ("more_images", "linked.zip")]
    odd = next(m for m in u["media"] if m["path"] == "odd.zip")
    assert (odd["prefix"], odd["examples"]) == ("../../escape/", ["evil.png", "evil2.png"])  # names only
    assert not (tmp_path / "escape").exists() and not (public.parent / "escape").exists()
    listing = public_files.public_listing(public)
    assert {"name": "more_images", "link": True} in listing
    assert next(e for e in listing if e["name"] == "extra.csv").get("special") is True


def test_zips_too_big_or_broken_to_list_are_named(hand, tmp_path, monkeypatch) -> None:
    cid = "aerial-cactus-identification"
    public = _copy(hand, cid, tmp_path)
    (public / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setattr(public_files, "ZIP_ENTRIES", 20)  # train.zip has 30 members
    u = _u(tmp_path, cid)
    assert any("broken.zip: a zip gome could not list" in r for r in u["unsure"])
    assert any("train.zip: a zip gome could not list" in r for r in u["unsure"])
    assert u["confidence"] == "low" and u["modality"] == "image"  # test.zip (10) is still read


def test_zip_entry_count_is_read_from_the_end_record(tmp_path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(7):
            zf.writestr(f"d/{i}.wav", b"")
    assert public_files.zip_entry_count(path) == 7
    assert public_files.zip_entry_count(tmp_path / "missing.zip") is None


# ------------------------------------------------------------------ what a reasoner is told


def test_the_llm_contract_fits_the_modality(hand) -> None:
    from gome_es.core.prompts import messages_for
    from gome_es.driver.driver import task_summary

    def contract(cid: str) -> str:
        t = load_task(f"mlebench:{cid}", mlebench_data=hand)
        return messages_for("code", {"task": task_summary(t)})[0]["content"]

    cactus = contract("aerial-cactus-identification")
    assert "Modality: image; target: binary." in cactus and "read zips with the zipfile module" in cactus
    assert "- test image: test.zip (zip; members under test/), 10 .jpg files" in cactus
    assert "a file's whole file name is the value of column 'id'" in cactus
    assert "- test.zip (" in cactus and "a zip of 10 files" in cactus  # the listing shows zip members
    insults = contract("detecting-insults-in-social-commentary")
    assert "column 'Comment' (column 3 of the sample's header" in insults
    assert "Copy the column(s) ['Date'] unchanged from the test rows." in insults
    pixels = contract("denoising-dirty-documents")
    assert "{image}_{row}_{col}" in pixels and "one grey level in [0, 1] per pixel id" in pixels
    birds = contract("mlsp-2013-birds")
    assert "gome is unsure of this reading of the files (no public table holds the targets" in birds
    assert "Modality: audio (with image)" in birds


def test_runs_recorded_before_modalities_keep_their_contract_and_rules(hand) -> None:
    """A RunStarted.task from before (no `modality`, a listing without extension counts) replays
    with the text it was prompted with, and the offline rules still take it."""
    from gome_es.core.prompts import solution_contract
    from gome_es.driver.driver import task_summary
    from gome_es.llm.offline import uncovered

    t = load_task("mlebench:jigsaw-toxic-comment-classification-challenge", mlebench_data=hand)
    new = task_summary(t)
    old_keys = ("train_files", "test_files", "sample_submission", "id_column", "target_columns",
                "prediction_columns", "submission_kind", "submission_dtypes", "task_type", "target_is_bool",
                "classes", "train_rows_sampled", "roles", "ignored_train_only_columns", "overrides", "grader",
                "facts_from")
    old = {**new, "understanding": {k: new["understanding"][k] for k in old_keys},
           "public_files": [{k: v for k, v in e.items() if k not in ("extensions", "zip_members", "zip_examples")}
                            for e in new["public_files"]]}
    text = solution_contract(old)
    assert "Modality:" not in text and "Inferred from these files" in text
    assert "training rows in train.csv; test rows in test.csv; id column 'id'" in text
    assert uncovered(old) is None and uncovered(new) is None
    whale = task_summary(load_task("mlebench:the-icml-2013-whale-challenge-right-whale-redux", mlebench_data=hand))
    assert uncovered(whale) is None  # audio is covered now; a composite-id audio task is not:
    odd = {**whale, "understanding": {**whale["understanding"], "id_source": "composite", "id_pattern": "{a}-{b}"}}
    assert "composite" in (uncovered(odd) or "") and "'audio'" in (uncovered(odd) or "")


def test_tables_in_subfolders_tsv_gzip_and_a_broken_one(tmp_path) -> None:
    """No top-level table: the subfolders' are read (TSV, gzip); an unreadable one is a doubt, not a refusal."""
    import gzip

    public = tmp_path / "public"
    (public / "data").mkdir(parents=True)
    frame = pd.DataFrame({"PhraseId": range(100), "Phrase": [f"a fine phrase number {i} here ok" for i in range(100)],
                          "Sentiment": [i % 5 for i in range(100)]})
    frame.iloc[:80].to_csv(public / "data" / "train.tsv", sep="\t", index=False)
    with gzip.open(public / "data" / "test.tsv.gz", "wt") as fh:
        frame.iloc[80:, :2].to_csv(fh, sep="\t", index=False)
    frame.iloc[80:][["PhraseId"]].assign(Sentiment=2).to_csv(public / "sampleSubmission.csv", index=False)
    (public / "data" / "broken.csv").write_bytes(b"\xff\xfe\x00bad,,\n\x00")
    u = infer.understand(public, public / "sampleSubmission.csv", "accuracy")
    assert (u["train_files"], u["test_files"]) == (["data/train.tsv"], ["data/test.tsv.gz"])
    assert (u["modality"], u["target_kind"], u["classes"]) == ("text", "multiclass", ["0", "1", "2", "3", "4"])
    assert u["confidence"] == "low" and "broken.csv" in u["unsure"][0] and "left out" in u["unsure"][0]


def test_one_folder_per_class_is_one_labelled_set(tmp_path) -> None:
    """plant-seedlings' train/<species>/x.png (and speech commands' train/audio/<word>/): the label
    is the folder; sibling folders holding the same files (mlsp's spectrograms) or named like a
    split (siim's jpeg/train, jpeg/test) are not classes."""
    public = tmp_path / "public"
    for species in ("Black-grass", "Charlock", "Maize"):
        (public / "train" / species).mkdir(parents=True)
        for i in range(5):
            (public / "train" / species / f"{species[:2]}{i:03d}.png").write_bytes(b"x")
    (public / "test").mkdir()
    for i in range(6):
        (public / "test" / f"t{i:03d}.png").write_bytes(b"x")
    pd.DataFrame({"file": [f"t{i:03d}.png" for i in range(6)], "species": "Maize"}).to_csv(
        public / "sample_submission.csv", index=False)
    u = infer.understand(public, public / "sample_submission.csv", "macro_f1")
    train = next(m for m in u["media"] if m["role"] == "train")
    assert (train["path"], train["count"], train["label_from_folder"]) == ("train", 15, True)
    assert train["examples"] == ["Black-grass/Bl000.png", "Charlock/Ch000.png", "Maize/Ma000.png"]
    assert (u["classes"], u["target_kind"], u["confidence"]) == (["Black-grass", "Charlock", "Maize"], "multiclass", "high")
    test = next(m for m in u["media"] if m["role"] == "test")
    assert (test["id_column"], test["id_from"]) == ("file", "name")


def test_tasks_show_takes_the_run_corrections(hand) -> None:
    runner = CliRunner()
    base = ["tasks", "show", "mlebench:detecting-insults-in-social-commentary", "--mlebench-data", str(hand)]
    shown = runner.invoke(cli, [*base, "--id-column", "Comment", "--target", "Insult", "--json"])
    assert shown.exit_code == 0, shown.output
    u = json.loads(shown.output)["understanding"]
    assert u["overrides"] == {"id_column": "Comment", "target": ["Insult"]} and u["id_position"] == 2
    wrong = runner.invoke(cli, [*base, "--id-column", "Nope"])
    assert wrong.exit_code == 2
    assert "--id-column 'Nope' is not a column of the sample submission" in wrong.output
