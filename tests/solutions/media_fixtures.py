"""Tiny competitions of every media modality, in MLE-bench's prepared layouts.

Each builder writes ``public/`` (what a solution may read) and returns the task dict a
run would record plus the hidden answers (a DataFrame in the sample submission's
shape), so a test can grade what a generated solution wrote.  The signal is simple
(bright versus dark images, a tone versus noise, insult words, a token map) so that a
few seconds of training learn it, and a test can tell a solution that learned from one
that did not.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image


def _image(rng: np.random.Generator, label: int, size: int = 32, kind: str = "blob") -> Image.Image:
    base = rng.uniform(0.1, 0.4, (size, size, 3))
    if kind == "blob" and label:
        c = size // 2 + rng.integers(-3, 4)
        yy, xx = np.mgrid[:size, :size]
        base[((yy - c) ** 2 + (xx - c) ** 2) < (size // 4) ** 2] += 0.5
    elif kind == "colour":
        base[..., label % 3] += 0.45
    return Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8))


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _task(tid: str, modality: str, metric: str, sample: str, **extra: Any) -> dict[str, Any]:
    task_type = extra.pop("task_type", "binary")
    return {"id": tid, "task_type": task_type, "metric": metric, "lower_is_better": metric in (
        "log_loss", "multiclass_log_loss", "rmse"),
        "understanding": {"modality": modality, "sample_submission": sample, **extra}}


def cactus(root: Path, n: int = 160, n_test: int = 60, seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """aerial-cactus-identification: train.csv (id with .jpg, has_cactus), train.zip / test.zip."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    ids = [f"{rng.integers(1 << 60):016x}.jpg" for _ in range(n + n_test)]
    y = rng.integers(0, 2, n + n_test)
    for name, part in (("train", slice(0, n)), ("test", slice(n, n + n_test))):
        with zipfile.ZipFile(public / f"{name}.zip", "w") as zf:
            for i, lab in zip(ids[part], y[part]):
                zf.writestr(f"{name}/{i}", _jpeg(_image(rng, int(lab))))
    pd.DataFrame({"id": ids[:n], "has_cactus": y[:n]}).to_csv(public / "train.csv", index=False)
    pd.DataFrame({"id": ids[n:], "has_cactus": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": ids[n:], "has_cactus": y[n:]})
    return _task("aerial-cactus-identification", "image", "auc_roc", "sample_submission.csv",
                 id_column="id", prediction_columns=["has_cactus"], submission_kind="probability",
                 train_files=["train.csv"], test_files=[]), answers


def plants(root: Path, n: int = 150, n_test: int = 50, seed: int = 1) -> tuple[dict, pd.DataFrame]:
    """plant-pathology-2020-fgvc7: images/ folder, one-hot train.csv, column-wise AUC."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    (public / "images").mkdir(parents=True)
    cols = ["healthy", "multiple_diseases", "rust", "scab"]
    labels = rng.integers(0, 4, n + n_test)
    names = [f"Train_{i}" for i in range(n)] + [f"Test_{i}" for i in range(n_test)]
    for name, lab in zip(names, labels):
        (public / "images" / f"{name}.jpg").write_bytes(_jpeg(_image(rng, int(lab), kind="colour")))
    onehot = np.eye(4, dtype=int)[labels]
    train = pd.DataFrame(onehot[:n], columns=cols)
    train.insert(0, "image_id", names[:n])
    train.to_csv(public / "train.csv", index=False)
    pd.DataFrame({"image_id": names[n:]}).to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"image_id": names[n:], **{c: 0.25 for c in cols}})
    sample.to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame(onehot[n:], columns=cols)
    answers.insert(0, "image_id", names[n:])
    return _task("plant-pathology-2020-fgvc7", "image", "mean_columnwise_auc", "sample_submission.csv",
                 id_column="image_id", prediction_columns=cols, submission_kind="probability",
                 train_files=["train.csv"], test_files=["test.csv"]), answers


def breeds(root: Path, n: int = 150, n_test: int = 45, seed: int = 2) -> tuple[dict, pd.DataFrame]:
    """dog-breed-identification: labels.csv (id, breed), train/ and test/ folders, class probabilities."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    for d in ("train", "test"):
        (public / d).mkdir(parents=True, exist_ok=True)
    classes = ["beagle", "collie", "pug"]
    lab = rng.integers(0, 3, n + n_test)
    ids = [f"{rng.integers(1 << 60):015x}" for _ in range(n + n_test)]
    for i, (k, v) in enumerate(zip(ids, lab)):
        (public / ("train" if i < n else "test") / f"{k}.jpg").write_bytes(_jpeg(_image(rng, int(v), kind="colour")))
    pd.DataFrame({"id": ids[:n], "breed": [classes[v] for v in lab[:n]]}).to_csv(public / "labels.csv", index=False)
    pd.DataFrame({"id": ids[n:], **{c: 1 / 3 for c in classes}}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": ids[n:], **{c: (lab[n:] == j).astype(float) for j, c in enumerate(classes)}})
    return _task("dog-breed-identification", "image", "multiclass_log_loss", "sample_submission.csv",
                 task_type="multiclass", id_column="id", prediction_columns=classes,
                 submission_kind="class_probabilities", target_columns=["breed"], train_files=["labels.csv"],
                 test_files=[]), answers


def cats_dogs(root: Path, n: int = 140, n_test: int = 40, seed: int = 3) -> tuple[dict, pd.DataFrame]:
    """dogs-vs-cats-redux: labels only in the training file names (cat.N.jpg), test.zip of N.jpg."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    lab = rng.integers(0, 2, n + n_test)
    counters = {0: 0, 1: 0}
    with zipfile.ZipFile(public / "train.zip", "w") as zf:
        for v in lab[:n]:
            zf.writestr(f"{'dog' if v else 'cat'}.{counters[int(v)]}.jpg", _jpeg(_image(rng, int(v))))  # bare names
            counters[int(v)] += 1
    with zipfile.ZipFile(public / "test.zip", "w") as zf:
        for i, v in enumerate(lab[n:], start=1):
            zf.writestr(f"{i}.jpg", _jpeg(_image(rng, int(v))))
    pd.DataFrame({"id": range(1, n_test + 1), "label": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": range(1, n_test + 1), "label": lab[n:]})
    return _task("dogs-vs-cats-redux-kernels-edition", "image", "log_loss", "sample_submission.csv",
                 id_column="id", prediction_columns=["label"], submission_kind="probability"), answers


def melanoma(root: Path, n: int = 160, n_test: int = 50, seed: int = 4) -> tuple[dict, pd.DataFrame]:
    """siim-isic-melanoma: jpeg/train, jpeg/test (and unreadable .dcm twins), a metadata table; AUC."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    for d in ("jpeg/train", "jpeg/test", "train", "test"):
        (public / d).mkdir(parents=True, exist_ok=True)
    names = [f"ISIC_{i:07d}" for i in range(n + n_test)]
    age = rng.integers(20, 80, n + n_test)
    y = ((age > 60) & (rng.random(n + n_test) < 0.9)).astype(int) | (rng.random(n + n_test) < 0.05)
    sex = rng.choice(["male", "female"], n + n_test)
    for i, name in enumerate(names):
        side = "train" if i < n else "test"
        (public / "jpeg" / side / f"{name}.jpg").write_bytes(_jpeg(_image(rng, 0)))
        (public / side / f"{name}.dcm").write_bytes(b"DICM not an image")
    pd.DataFrame({"image_name": names[:n], "patient_id": [f"IP_{i % 40}" for i in range(n)], "sex": sex[:n],
                  "age_approx": age[:n], "diagnosis": "unknown", "target": y[:n]}).to_csv(
        public / "train.csv", index=False)
    pd.DataFrame({"image_name": names[n:], "patient_id": [f"IP_{i % 40}" for i in range(n_test)],
                  "sex": sex[n:], "age_approx": age[n:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"image_name": names[n:], "target": 0}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"image_name": names[n:], "target": y[n:]})
    return _task("siim-isic-melanoma-classification", "mixed", "auc_roc", "sample_submission.csv",
                 id_column="image_name", prediction_columns=["target"], submission_kind="probability",
                 train_files=["train.csv"], test_files=["test.csv"]), answers


def retina(root: Path, n: int = 150, n_test: int = 50, seed: int = 5) -> tuple[dict, pd.DataFrame]:
    """aptos2019-blindness-detection: train_images/ test_images/ PNGs, ordinal labels, QWK."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    for d in ("train_images", "test_images"):
        (public / d).mkdir(parents=True)
    ids = [f"{rng.integers(1 << 40):010x}" for _ in range(n + n_test)]
    lab = rng.integers(0, 3, n + n_test)
    for i, (k, v) in enumerate(zip(ids, lab)):
        img = Image.fromarray((np.full((32, 32, 3), 40 + 80 * int(v)) + rng.integers(0, 30, (32, 32, 3))).astype(np.uint8))
        (public / ("train_images" if i < n else "test_images") / f"{k}.png").write_bytes(_png(img))
    pd.DataFrame({"id_code": ids[:n], "diagnosis": lab[:n]}).to_csv(public / "train.csv", index=False)
    pd.DataFrame({"id_code": ids[n:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id_code": ids[n:], "diagnosis": 0}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id_code": ids[n:], "diagnosis": lab[n:]})
    return _task("aptos2019-blindness-detection", "image", "quadratic_weighted_kappa", "sample_submission.csv",
                 task_type="multiclass", id_column="id_code", prediction_columns=["diagnosis"],
                 submission_kind="labels", train_files=["train.csv"], test_files=["test.csv"]), answers


def documents(root: Path, n: int = 8, n_test: int = 3, seed: int = 6) -> tuple[dict, pd.DataFrame]:
    """denoising-dirty-documents: train/, train_cleaned/, test/ PNGs; pixel ids image_row_col."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    for d in ("train", "train_cleaned", "test"):
        (public / d).mkdir(parents=True)
    rows = []
    for i in range(n + n_test):
        clean = np.ones((24, 30))
        for _ in range(4):
            y0, x0 = rng.integers(0, 20), rng.integers(0, 26)
            clean[y0:y0 + 2, x0:x0 + 4] = 0.1
        dirty = np.clip(clean * 0.7 + 0.25 * rng.random(clean.shape), 0, 1)
        name = f"{i + 1}.png"
        side = "train" if i < n else "test"
        (public / side / name).write_bytes(_png(Image.fromarray((dirty * 255).astype(np.uint8))))
        if i < n:
            (public / "train_cleaned" / name).write_bytes(_png(Image.fromarray((clean * 255).astype(np.uint8))))
        else:
            q = (clean * 255).astype(np.uint8) / 255.0
            rows += [(f"{i + 1}_{r + 1}_{c + 1}", q[r, c]) for r in range(q.shape[0]) for c in range(q.shape[1])]
    answers = pd.DataFrame(rows, columns=["id", "value"])
    answers.assign(value=1).to_csv(public / "sampleSubmission.csv", index=False)
    return _task("denoising-dirty-documents", "image_to_image", "rmse", "sampleSubmission.csv",
                 task_type="regression", id_column="id", prediction_columns=["value"],
                 submission_kind="values"), answers


def aiff_bytes(samples: np.ndarray, rate: int = 2000) -> bytes:
    """A 16-bit mono AIFF file."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype(">i2").tobytes()
    exponent, value = 0, float(rate)
    while value >= 2:
        value /= 2
        exponent += 1
    mantissa = int(value * 2**63)
    ext = struct.pack(">HQ", 16383 + exponent, mantissa)
    comm = struct.pack(">hIh", 1, len(samples), 16) + ext
    ssnd = struct.pack(">II", 0, 0) + pcm
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm + b"SSND" + struct.pack(">I", len(ssnd)) + ssnd
    return b"FORM" + struct.pack(">I", len(body)) + body


def whales(root: Path, n: int = 120, n_test: int = 40, seed: int = 7) -> tuple[dict, pd.DataFrame]:
    """the-icml-2013-whale-challenge: train2.zip of ..._TRAINi_{0,1}.aif, test2.zip of ..._Testi.aif."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    t = np.arange(2000) / 2000.0
    lab = rng.integers(0, 2, n + n_test)

    def clip(v: int) -> bytes:
        noise = 0.3 * rng.standard_normal(len(t))
        up = 0.5 * np.sin(2 * math.pi * (150 + 100 * t) * t) if v else 0
        return aiff_bytes(noise + up)

    clips = []
    with zipfile.ZipFile(public / "train2.zip", "w") as zf:
        for i, v in enumerate(lab[:n]):
            zf.writestr(f"train2/20090328_{i:06d}_{i % 60:03d}s0ms_TRAIN{i}_{int(v)}.aif", clip(int(v)))
    with zipfile.ZipFile(public / "test2.zip", "w") as zf:
        for i, v in enumerate(lab[n:]):
            name = f"20090330_{i:06d}_{i % 60:03d}s0ms_Test{i}.aif"
            clips.append(name)
            zf.writestr(f"test2/{name}", clip(int(v)))
    pd.DataFrame({"clip": clips, "probability": 0}).to_csv(public / "sampleSubmission.csv", index=False)
    answers = pd.DataFrame({"clip": clips, "probability": lab[n:]})
    return _task("the-icml-2013-whale-challenge-right-whale-redux", "audio", "auc_roc", "sampleSubmission.csv",
                 id_column="clip", prediction_columns=["probability"], submission_kind="probability"), answers


def birds(root: Path, n: int = 60, n_classes: int = 4, seed: int = 11) -> tuple[dict, pd.DataFrame]:
    """mlsp-2013-birds: WAVs named by a rec_id file, labels as 'rec_id,k,k' lines ('?' for test),
    a sample with one row per (recording, class): Id = rec_id * 100 + class."""
    from scipy.io import wavfile

    rng = np.random.default_rng(seed)
    public = root / "public"
    wavs = public / "essential_data" / "src_wavs"
    wavs.mkdir(parents=True)
    t = np.arange(4000) / 4000.0
    test = set(rng.choice(n, n // 4, replace=False).tolist())
    names, label_lines, answers = [], [], []
    for r in range(n):
        present = [k for k in range(n_classes) if rng.random() < 0.35]
        sound = 0.2 * rng.standard_normal(len(t))
        for k in present:
            sound += 0.5 * np.sin(2 * math.pi * (300 + 400 * k) * t)
        name = f"PC{r % 7}_2009_{r:04d}"
        names.append(name)
        wavfile.write(wavs / f"{name}.wav", 4000, (np.clip(sound, -1, 1) * 32000).astype(np.int16))
        if r in test:
            label_lines.append(f"{r},?")
            answers += [(r * 100 + k, int(k in present)) for k in range(n_classes)]
        else:
            label_lines.append(",".join([str(r), *map(str, present)]))
    ess = public / "essential_data"
    (ess / "rec_labels_test_hidden.txt").write_text("rec_id,[labels]\n" + "\n".join(label_lines) + "\n")
    pd.DataFrame({"rec_id": range(n), "filename": names}).to_csv(ess / "rec_id2filename.txt", index=False)
    answers_frame = pd.DataFrame(answers, columns=["Id", "Probability"])
    answers_frame.assign(Probability=0).to_csv(public / "sample_submission.csv", index=False)
    return _task("mlsp-2013-birds", "audio", "auc_roc", "sample_submission.csv", id_column="Id",
                 prediction_columns=["Probability"], submission_kind="probability", id_source="composite",
                 id_pattern="{row_id}*100+{class} (4 classes)"), answers_frame


_GOOD = "thanks for sharing this insight great point well said agree nice".split()
_BAD = "idiot stupid moron loser dumb fool clown pathetic".split()


def _comment(rng: np.random.Generator, bad: int) -> str:
    words = list(rng.choice(_GOOD, 6)) + (list(rng.choice(_BAD, 2)) if bad else [])
    rng.shuffle(words)
    return '"' + " ".join(words) + '"'


def insults(root: Path, n: int = 300, n_test: int = 100, seed: int = 8) -> tuple[dict, pd.DataFrame]:
    """detecting-insults: no id column; the sample submission's first column is the target."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    lab = rng.integers(0, 2, n + n_test)
    dates = [f"2012{rng.integers(1, 13):02d}{rng.integers(1, 28):02d}120000Z" if rng.random() > 0.2 else None
             for _ in range(n + n_test)]
    comments = [_comment(rng, int(v)) for v in lab]
    pd.DataFrame({"Insult": lab[:n], "Date": dates[:n], "Comment": comments[:n]}).to_csv(public / "train.csv", index=False)
    pd.DataFrame({"Date": dates[n:], "Comment": comments[n:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"Insult": 0, "Date": dates[n:], "Comment": comments[n:]}).to_csv(
        public / "sample_submission_null.csv", index=False)
    answers = pd.DataFrame({"Insult": lab[n:], "Date": dates[n:], "Comment": comments[n:]})
    return _task("detecting-insults-in-social-commentary", "text", "auc_roc", "sample_submission_null.csv",
                 id_column=None, prediction_columns=["Insult"], submission_kind="probability",
                 train_files=["train.csv"], test_files=["test.csv"], roles={"text": ["Comment"]}), answers


def toxic(root: Path, n: int = 300, n_test: int = 100, seed: int = 9) -> tuple[dict, pd.DataFrame]:
    """jigsaw-toxic-comment: id, comment_text, several binary targets; column-wise ROC AUC."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    cols = ["toxic", "insult", "threat"]
    bad = rng.integers(0, 2, n + n_test)
    threat = (bad & (rng.random(n + n_test) < 0.3)).astype(int)
    text = [_comment(rng, int(v)).strip('"') + (" i will find you" if t else "") for v, t in zip(bad, threat)]
    ids = [f"{rng.integers(1 << 48):012x}" for _ in range(n + n_test)]
    y = np.stack([bad, bad, threat], axis=1)
    train = pd.DataFrame(y[:n], columns=cols)
    train.insert(0, "comment_text", text[:n])
    train.insert(0, "id", ids[:n])
    train.to_csv(public / "train.csv", index=False)
    pd.DataFrame({"id": ids[n:], "comment_text": text[n:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": ids[n:], **{c: 0.5 for c in cols}}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": ids[n:], **{c: y[n:, j] for j, c in enumerate(cols)}})
    return _task("jigsaw-toxic-comment-classification-challenge", "text", "mean_columnwise_auc",
                 "sample_submission.csv", id_column="id", prediction_columns=cols, submission_kind="probability",
                 train_files=["train.csv"], test_files=["test.csv"]), answers


def authors(root: Path, n: int = 300, n_test: int = 90, seed: int = 12) -> tuple[dict, pd.DataFrame]:
    """spooky-author-identification: id, text, author; one probability column per author."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    words = {"EAP": "raven midnight dreary bleak", "HPL": "eldritch cyclopean abyss tentacle",
             "MWS": "creature monster wretched despair"}
    names = sorted(words)
    lab = rng.integers(0, 3, n + n_test)
    text = [" ".join([*rng.choice(_GOOD, 5), *rng.choice(words[names[v]].split(), 2)]) for v in lab]
    ids = [f"id{i:05d}" for i in range(n + n_test)]
    pd.DataFrame({"id": ids[:n], "text": text[:n], "author": [names[v] for v in lab[:n]]}).to_csv(
        public / "train.csv", index=False)
    pd.DataFrame({"id": ids[n:], "text": text[n:]}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": ids[n:], **{a: 1 / 3 for a in names}}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": ids[n:], "author": [names[v] for v in lab[n:]]})
    return _task("spooky-author-identification", "text", "multiclass_log_loss", "sample_submission.csv",
                 task_type="multiclass", id_column="id", prediction_columns=names,
                 submission_kind="class_probabilities", target_columns=["author"], train_files=["train.csv"],
                 test_files=["test.csv"], roles={"text": ["text"]}), answers


def normalization(root: Path, n_sent: int = 300, n_test: int = 80, seed: int = 10) -> tuple[dict, pd.DataFrame]:
    """text-normalization-challenge-english-language: token rows, ids sentence_token."""
    rng = np.random.default_rng(seed)
    public = root / "public"
    public.mkdir(parents=True)
    vocab = {"the": "the", "Dr.": "doctor", "St.": "street", "&": "and", "km": "kilometers",
             "12": "twelve", "3": "three", "walked": "walked", ".": "."}
    rows = []
    for s in range(n_sent + n_test):
        for t in range(int(rng.integers(3, 8))):
            before = str(rng.choice(list(vocab)))
            if rng.random() < 0.08:
                before = str(int(rng.integers(20, 999)))  # numbers unseen in training: the rules
            after = vocab.get(before) or _words(int(before))
            rows.append((s, t, "PLAIN", before, after))
    frame = pd.DataFrame(rows, columns=["sentence_id", "token_id", "class", "before", "after"])
    train, test = frame[frame.sentence_id < n_sent], frame[frame.sentence_id >= n_sent]
    train.to_csv(public / "en_train.csv", index=False)
    test[["sentence_id", "token_id", "before"]].to_csv(public / "en_test_2.csv", index=False)
    ids = test.sentence_id.astype(str) + "_" + test.token_id.astype(str)
    pd.DataFrame({"id": ids, "after": test.before}).to_csv(public / "en_sample_submission_2.csv", index=False)
    answers = pd.DataFrame({"id": ids.to_numpy(), "after": test.after.to_numpy()})
    return _task("text-normalization-challenge-english-language", "seq2seq", "accuracy",
                 "en_sample_submission_2.csv", task_type="multiclass", id_column="id",
                 prediction_columns=["after"], submission_kind="labels"), answers


def _words(n: int) -> str:
    ones = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
           "sixteen seventeen eighteen nineteen".split()
    tens = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
    if n < 20:
        return ones[n]
    if n < 100:
        return tens[n // 10] + ("" if n % 10 == 0 else " " + ones[n % 10])
    return ones[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _words(n % 100))


BUILDERS = {"cactus": cactus, "plants": plants, "breeds": breeds, "cats_dogs": cats_dogs, "melanoma": melanoma,
            "retina": retina, "documents": documents, "whales": whales, "insults": insults, "toxic": toxic,
            "normalization": normalization, "birds": birds,
            "authors": authors}
