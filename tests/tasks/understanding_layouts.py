"""Small prepared layouts of the MLE-bench competitions that are not plain tables, for the
understanding tests: the files, names, columns and id rules each competition's own
``prepare.py`` writes (media files hold a few placeholder bytes: understanding never decodes them).

Each builder writes ``ROOT/<id>/prepared/{public,private}``, ``config.yaml`` (the real grader
name) and a small ``leaderboard.csv``.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
WORDS = "you are such an idiot stupid loser nice point well said thanks agree great idea".split()


def _layout(root: Path, cid: str, grader: str, sample: str, answers: str = "answers.csv",
            sample_dir: str = "public") -> tuple[Path, Path]:
    comp = root / cid
    public, private = comp / "prepared" / "public", comp / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (comp / "config.yaml").write_text(
        f"id: {cid}\nname: {cid}\ncompetition_type: simple\nawards_medals: false\nprizes: null\n"
        f"description: mlebench/competitions/{cid}/description.md\n\ndataset:\n"
        f"  answers: {cid}/prepared/private/{answers}\n"
        f"  sample_submission: {cid}/prepared/{sample_dir}/{sample}\n\ngrader:\n  name: {grader}\n"
        f"  grade_fn: mlebench.competitions.{cid}.grade:grade\n")
    pd.DataFrame({"teamName": [f"t{i}" for i in range(12)],
                  "score": np.linspace(0.95, 0.55, 12)}).to_csv(comp / "leaderboard.csv", index=False)
    (public / "description.md").write_text(f"# {cid}\n\nA competition.\n")
    return public, private


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def aerial_cactus(root: Path) -> None:
    """train.csv (id, has_cactus); images only in train.zip / test.zip (ids are file names)."""
    public, private = _layout(root, "aerial-cactus-identification", "auc-roc", "sample_submission.csv",
                              answers="test.csv")
    ids = [f"{i:032x}.jpg" for i in range(40)]
    labels = [i % 3 != 0 for i in range(40)]
    frame = pd.DataFrame({"id": ids, "has_cactus": np.array(labels, dtype=int)})
    train, test = frame.iloc[:30], frame.iloc[30:]
    train.to_csv(public / "train.csv", index=False)
    test.to_csv(private / "test.csv", index=False)
    test.assign(has_cactus=0.5).to_csv(public / "sample_submission.csv", index=False)
    _zip(public / "train.zip", {f"train/{i}": PNG for i in train["id"]})
    _zip(public / "test.zip", {f"test/{i}": PNG for i in test["id"]})


def denoising(root: Path) -> None:
    """train/, train_cleaned/, test/ PNGs; the sample is one row per pixel, id {image}_{row}_{col}."""
    public, private = _layout(root, "denoising-dirty-documents", "root_mean_squared_error",
                              "sampleSubmission.csv")
    for folder, stems in (("train", range(1, 9)), ("train_cleaned", range(1, 9)), ("test", (20, 21))):
        (public / folder).mkdir()
        for s in stems:
            (public / folder / f"{s}.png").write_bytes(PNG)
    rows = [f"{s}_{r}_{c}" for s in (20, 21) for r in range(1, 5) for c in range(1, 4)]
    pd.DataFrame({"id": rows, "value": 1}).to_csv(public / "sampleSubmission.csv", index=False)
    pd.DataFrame({"id": rows, "value": 0.5}).to_csv(private / "answers.csv", index=False)


def mlsp_birds(root: Path) -> None:
    """essential_data/*.txt and src_wavs/*.wav, no CSV; sample ids rec_id * 100 + species."""
    public, private = _layout(root, "mlsp-2013-birds", "auc-roc", "sample_submission.csv")
    ess, sup = public / "essential_data", public / "supplemental_data"
    (ess / "src_wavs").mkdir(parents=True)
    (sup / "spectrograms").mkdir(parents=True)
    names = [f"PC1_2009_{i:04d}" for i in range(12)]
    for n in names:
        (ess / "src_wavs" / f"{n}.wav").write_bytes(b"RIFF" + bytes(40))
        (sup / "spectrograms" / f"{n}.bmp").write_bytes(b"BM" + bytes(40))
    pd.DataFrame({"rec_id": range(12), "fold": [0] * 8 + [1] * 4}).to_csv(ess / "CVfolds_2.txt", index=False)
    pd.DataFrame({"rec_id": range(12), "filename": names}).to_csv(ess / "rec_id2filename.txt", index=False)
    lines = ["rec_id,[labels]"] + [f"{i},{i % 19}" for i in range(8)] + [f"{i},?" for i in range(8, 12)]
    (ess / "rec_labels_test_hidden.txt").write_text("\n".join(lines) + "\n")
    (ess / "species_list.txt").write_text("class_id,code,species\n" + "".join(
        f"{k},C{k},bird {k}\n" for k in range(19)))
    ids = [r * 100 + k for r in range(8, 12) for k in range(19)]
    pd.DataFrame({"Id": ids, "Probability": 0}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"Id": ids, "Probability": [int(i % 7 == 0) for i in ids]}).to_csv(
        private / "answers.csv", index=False)


def insults(root: Path) -> None:
    """train.csv Insult,Date,Comment; test.csv Date,Comment; the sample's target comes first."""
    public, private = _layout(root, "detecting-insults-in-social-commentary", "auc-roc",
                              "sample_submission_null.csv", answers="test.csv")
    rng = np.random.default_rng(0)

    def comments(n: int, offset: int) -> list[str]:
        return [f'"{" ".join(rng.choice(WORDS, 9))} number {offset + i}"' for i in range(n)]

    dates = lambda n: [f"2012{m:02d}0{d}120000Z" if d % 4 else None  # noqa: E731
                       for m, d in zip(rng.integers(1, 12, n), rng.integers(1, 9, n))]
    pd.DataFrame({"Insult": rng.integers(0, 2, 60), "Date": dates(60), "Comment": comments(60, 0)}).to_csv(
        public / "train.csv", index=False)
    test = pd.DataFrame({"Insult": rng.integers(0, 2, 20), "Date": dates(20), "Comment": comments(20, 100)})
    test.assign(Usage="PrivateTest").to_csv(private / "test.csv", index=False)
    test.drop(columns=["Insult"]).to_csv(public / "test.csv", index=False)
    test.assign(Insult=0).to_csv(public / "sample_submission_null.csv", index=False)


def jigsaw(root: Path) -> None:
    """id + comment_text + six label columns; the grader is 'column-wise ROC AUC'."""
    public, private = _layout(root, "jigsaw-toxic-comment-classification-challenge", "column-wise ROC AUC",
                              "sample_submission.csv", answers="test.csv")
    rng = np.random.default_rng(1)
    labels = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    text = [" ".join(rng.choice(WORDS, 12)) for _ in range(80)]
    frame = pd.DataFrame({"id": [f"{i:016x}" for i in range(80)], "comment_text": text})
    for lab in labels:
        frame[lab] = rng.integers(0, 2, 80)
    frame.iloc[:60].to_csv(public / "train.csv", index=False)
    frame.iloc[60:][["id", "comment_text"]].to_csv(public / "test.csv", index=False)
    frame.iloc[60:][["id", *labels]].to_csv(private / "test.csv", index=False)
    frame.iloc[60:][["id"]].assign(**{lab: 0.5 for lab in labels}).to_csv(
        public / "sample_submission.csv", index=False)


def whale(root: Path) -> None:
    """train2.zip / test2.zip of .aif clips, labels in the train names; no table; id = clip name."""
    public, private = _layout(root, "the-icml-2013-whale-challenge-right-whale-redux", "auc-roc",
                              "sampleSubmission.csv", answers="test.csv")
    train = {f"train2/20090328_{i:06d}_002s3ms_TRAIN{i}_{i % 2}.aif": b"FORM" + bytes(20) for i in range(24)}
    test = [f"20090330_{i:06d}_010s0ms_Test{i}.aif" for i in range(10)]
    _zip(public / "train2.zip", train)
    _zip(public / "test2.zip", {f"test2/{n}": b"FORM" + bytes(20) for n in test})
    pd.DataFrame({"clip": test, "probability": 0}).to_csv(public / "sampleSubmission.csv", index=False)
    pd.DataFrame({"clip": test, "probability": [i % 2 for i in range(10)]}).to_csv(
        private / "test.csv", index=False)


def text_normalization(root: Path, lang: str = "en") -> None:
    """Zipped CSVs; ids {sentence_id}_{token_id}; `after` mostly copies `before`; the config's
    sample submission lives in private/ (a public zipped copy exists)."""
    cid = ("text-normalization-challenge-english-language" if lang == "en"
           else "text-normalization-challenge-russian-language")
    public, private = _layout(root, cid, "accuracy", "sample_submission.csv", sample_dir="private")
    rng = np.random.default_rng(2)
    rows = []
    for sid in range(60):
        for tid in range(6):
            word = f"w{int(rng.integers(0, 400))}"
            number = int(rng.integers(0, 30))
            if tid == 3:
                rows.append((sid, tid, "CARDINAL", str(number), f"number {number}"))
            else:
                rows.append((sid, tid, "PLAIN", word, word))
    frame = pd.DataFrame(rows, columns=["sentence_id", "token_id", "class", "before", "after"])
    train, test = frame[frame.sentence_id < 45], frame[frame.sentence_id >= 45].copy()
    test["sentence_id"] -= 45
    ids = test["sentence_id"].astype(str) + "_" + test["token_id"].astype(str)
    sample = pd.DataFrame({"id": ids, "after": test["before"]})
    quoted = {"index": False, "quoting": csv.QUOTE_NONNUMERIC}
    sample.to_csv(private / "sample_submission.csv", **quoted)
    pd.DataFrame({"id": ids, "after": test["after"]}).to_csv(private / "answers.csv", **quoted)
    for name, part in ((f"{lang}_train.csv", train), (f"{lang}_test_2.csv", test.drop(columns=["class", "after"])),
                       (f"{lang}_sample_submission_2.csv", sample)):
        _zip(public / f"{name}.zip", {name: part.to_csv(**quoted).encode()})


def dogs_vs_cats(root: Path) -> None:
    """No table: train.zip holds cat.N.jpg / dog.N.jpg, test.zip holds N.jpg; sample id,label."""
    public, private = _layout(root, "dogs-vs-cats-redux-kernels-edition", "log-loss", "sample_submission.csv")
    _zip(public / "train.zip", {f"train/{'cat' if i % 2 else 'dog'}.{i // 2}.jpg": PNG for i in range(30)})
    _zip(public / "test.zip", {f"test/{i}.jpg": PNG for i in range(1, 11)})
    pd.DataFrame({"id": range(1, 11), "label": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"id": range(1, 11), "label": [i % 2 for i in range(10)]}).to_csv(
        private / "answers.csv", index=False)


def histopathologic(root: Path) -> None:
    """train/ and test/ folders of .tif named by id; train_labels.csv; no test table."""
    public, private = _layout(root, "histopathologic-cancer-detection", "auc-roc", "sample_submission.csv")
    ids = [f"{i:040x}" for i in range(40)]
    for folder, part in (("train", ids[:30]), ("test", ids[30:])):
        (public / folder).mkdir()
        for i in part:
            (public / folder / f"{i}.tif").write_bytes(PNG)
    pd.DataFrame({"id": ids[:30], "label": [i % 2 for i in range(30)]}).to_csv(
        public / "train_labels.csv", index=False)
    pd.DataFrame({"id": ids[30:], "label": 0}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"id": ids[30:], "label": 1}).to_csv(private / "answers.csv", index=False)


def aptos(root: Path) -> None:
    """train_images/ test_images/ PNGs, train.csv id_code,diagnosis; test.csv id_code; QWK."""
    public, private = _layout(root, "aptos2019-blindness-detection", "quadratic-weighted-kappa",
                              "sample_submission.csv", answers="test.csv")
    ids = [f"{i:012x}" for i in range(40)]
    for folder, part in (("train_images", ids[:30]), ("test_images", ids[30:])):
        (public / folder).mkdir()
        for i in part:
            (public / folder / f"{i}.png").write_bytes(PNG)
    pd.DataFrame({"id_code": ids[:30], "diagnosis": [i % 5 for i in range(30)]}).to_csv(
        public / "train.csv", index=False)
    pd.DataFrame({"id_code": ids[30:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id_code": ids[30:], "diagnosis": 0}).to_csv(public / "sample_submission.csv", index=False)


def plant_pathology(root: Path) -> None:
    """images/ holds Train_N.jpg and Test_N.jpg; train.csv image_id + 4 one-hot columns."""
    public, private = _layout(root, "plant-pathology-2020-fgvc7", "mean-column-wise-roc-auc",
                              "sample_submission.csv", answers="test.csv")
    cols = ["healthy", "multiple_diseases", "rust", "scab"]
    (public / "images").mkdir()
    train_ids, test_ids = [f"Train_{i}" for i in range(30)], [f"Test_{i}" for i in range(10)]
    for i in train_ids + test_ids:
        (public / "images" / f"{i}.jpg").write_bytes(PNG)
    onehot = np.eye(4, dtype=int)[[i % 4 for i in range(30)]]
    pd.concat([pd.DataFrame({"image_id": train_ids}), pd.DataFrame(onehot, columns=cols)], axis=1).to_csv(
        public / "train.csv", index=False)
    pd.DataFrame({"image_id": test_ids}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"image_id": test_ids, **{c: 0.25 for c in cols}}).to_csv(
        public / "sample_submission.csv", index=False)


def ranzcr(root: Path) -> None:
    """train/ test/ JPEGs; train.csv StudyInstanceUID + 11 labels + PatientID; auc-roc on 11 columns."""
    public, private = _layout(root, "ranzcr-clip-catheter-line-classification", "auc-roc",
                              "sample_submission.csv", answers="test.csv")
    labels = ["ETT - Abnormal", "ETT - Borderline", "ETT - Normal", "NGT - Abnormal", "NGT - Borderline",
              "NGT - Incompletely Imaged", "NGT - Normal", "CVC - Abnormal", "CVC - Borderline",
              "CVC - Normal", "Swan Ganz Catheter Present"]
    ids = [f"1.2.826.0.1.{i}" for i in range(40)]
    for folder, part in (("train", ids[:30]), ("test", ids[30:])):
        (public / folder).mkdir()
        for i in part:
            (public / folder / f"{i}.jpg").write_bytes(PNG)
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"StudyInstanceUID": ids[:30], **{c: rng.integers(0, 2, 30) for c in labels},
                          "PatientID": [f"p{i % 7}" for i in range(30)]})
    train.to_csv(public / "train.csv", index=False)
    train[["StudyInstanceUID"]].assign(label="ETT - Normal", data="[[1, 2]]").to_csv(
        public / "train_annotations.csv", index=False)
    pd.DataFrame({"StudyInstanceUID": ids[30:], **{c: 0 for c in labels}}).to_csv(
        public / "sample_submission.csv", index=False)


def siim_isic(root: Path) -> None:
    """train/*.dcm, jpeg/train/*.jpg, jpeg/test/*.jpg and metadata tables; image_name,target."""
    public, private = _layout(root, "siim-isic-melanoma-classification", "auc-roc", "sample_submission.csv",
                              answers="test.csv")
    names = [f"ISIC_{i:07d}" for i in range(40)]
    for sub, part in (("train", names[:30]), ("test", names[30:])):
        (public / sub).mkdir()
        (public / "jpeg" / sub).mkdir(parents=True)
        for n in part:
            (public / sub / f"{n}.dcm").write_bytes(bytes(140))
            (public / "jpeg" / sub / f"{n}.jpg").write_bytes(PNG)
    rng = np.random.default_rng(4)
    meta = pd.DataFrame({"image_name": names, "patient_id": [f"IP_{i % 9}" for i in range(40)],
                         "sex": rng.choice(["male", "female"], 40), "age_approx": rng.integers(20, 80, 40),
                         "anatom_site_general_challenge": rng.choice(["torso", "head/neck"], 40)})
    train = meta.iloc[:30].assign(diagnosis="unknown", benign_malignant="benign", target=rng.integers(0, 2, 30))
    train.to_csv(public / "train.csv", index=False)
    meta.iloc[30:].to_csv(public / "test.csv", index=False)
    pd.DataFrame({"image_name": names[30:], "target": 0}).to_csv(public / "sample_submission.csv", index=False)


def dog_breed(root: Path) -> None:
    """labels.csv id,breed; train/ test/ JPEGs; sample id + one column per breed."""
    public, private = _layout(root, "dog-breed-identification", "multi-class-log-loss",
                              "sample_submission.csv", answers="test.csv")
    breeds = ["affenpinscher", "beagle", "boston_bull", "chow"]
    ids = [f"{i:032x}" for i in range(40)]
    for folder, part in (("train", ids[:30]), ("test", ids[30:])):
        (public / folder).mkdir()
        for i in part:
            (public / folder / f"{i}.jpg").write_bytes(PNG)
    pd.DataFrame({"id": ids[:30], "breed": [breeds[i % 4] for i in range(30)]}).to_csv(
        public / "labels.csv", index=False)
    pd.DataFrame({"id": ids[30:], **{b: 0.25 for b in breeds}}).to_csv(public / "sample_submission.csv",
                                                                        index=False)


BUILDERS = {
    "aerial-cactus-identification": aerial_cactus,
    "denoising-dirty-documents": denoising,
    "mlsp-2013-birds": mlsp_birds,
    "detecting-insults-in-social-commentary": insults,
    "jigsaw-toxic-comment-classification-challenge": jigsaw,
    "the-icml-2013-whale-challenge-right-whale-redux": whale,
    "text-normalization-challenge-english-language": text_normalization,
    "dogs-vs-cats-redux-kernels-edition": dogs_vs_cats,
    "histopathologic-cancer-detection": histopathologic,
    "aptos2019-blindness-detection": aptos,
    "plant-pathology-2020-fgvc7": plant_pathology,
    "ranzcr-clip-catheter-line-classification": ranzcr,
    "siim-isic-melanoma-classification": siim_isic,
    "dog-breed-identification": dog_breed,
}


def make(root: Path, only: list[str] | None = None) -> Path:
    for cid, build in BUILDERS.items():
        if only is None or cid in only:
            build(root)
    return root
