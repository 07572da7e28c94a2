"""Small answers, sample submissions and submissions (valid, invalid, edge) for every competition
of MLE-bench's lite split, in each competition's own columns and id spellings, to compare gome's
grader with MLE-bench's.  ``write_competition`` lays one out as ``mlebench prepare`` does (plus
config.yaml and leaderboard.csv beside ``prepared/``); ``cases`` gives the submissions.

The class names of dog-breed, leaf, spooky, jigsaw and ranzcr are read from an installed
mlebench when there is one (its graders check them by name), else made up.
"""

from __future__ import annotations

import importlib.util
import runpy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gome_es.tasks.mlebench_graders import JIGSAW, LITE, PLANT, RANZCR, SPECS

ROWS = 40


@dataclass
class Competition:
    cid: str
    answers: pd.DataFrame
    sample: pd.DataFrame
    answers_file: str  # as config.yaml names it, under private/
    sample_file: str  # under public/ (text normalisation: under private/, as MLE-bench's config says)


def _mlebench_list(cid: str, filename: str, name: str) -> list[str] | None:
    try:
        spec = importlib.util.find_spec("mlebench")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "competitions" / cid / filename
    if not path.is_file():
        return None
    return list(runpy.run_path(str(path))[name])  # a plain module of constants in mle-bench


def classes_of(cid: str) -> list[str]:
    known = {
        "dog-breed-identification": ("dogs.py", "DOGS_LIST", [f"breed_{i:02d}" for i in range(12)]),
        "leaf-classification": ("classes.py", "CLASSES", [f"Species_{i:02d}" for i in range(10)]),
        "spooky-author-identification": ("classes.py", "CLASSES", ["EAP", "HPL", "MWS"]),
    }
    filename, name, fallback = known[cid]
    return _mlebench_list(cid, filename, name) or fallback


def _ids(kind: str, n: int, rng: np.random.Generator) -> list:
    if kind == "int":
        return list(rng.permutation(np.arange(1, n + 1) * 7))
    if kind == "hex":
        return [f"{v:012x}" for v in rng.integers(0, 2**48, n)]
    raise ValueError(kind)


def _binary(n: int, rng: np.random.Generator) -> np.ndarray:
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    return y


def _onehot(n: int, classes: list[str], rng: np.random.Generator) -> pd.DataFrame:
    k = len(classes)
    idx = rng.integers(0, k, n)
    return pd.DataFrame(np.eye(k, dtype=int)[idx], columns=classes)


def build(cid: str, seed: int = 0, n: int = ROWS) -> Competition:  # noqa: C901 - one branch per competition
    rng = np.random.default_rng(seed)
    spec = SPECS[cid]
    idc = spec.id_column
    if cid in ("aerial-cactus-identification", "histopathologic-cancer-detection", "siim-isic-melanoma-classification",
               "tabular-playground-series-may-2022", "random-acts-of-pizza",
               "the-icml-2013-whale-challenge-right-whale-redux", "mlsp-2013-birds"):
        target = spec.targets[0]
        ids = {
            "aerial-cactus-identification": [f"{h}.jpg" for h in _ids("hex", n, rng)],
            "histopathologic-cancer-detection": _ids("hex", n, rng),
            "siim-isic-melanoma-classification": [f"ISIC_{v:07d}" for v in rng.permutation(n) * 13],
            "tabular-playground-series-may-2022": list(np.arange(900000, 900000 + n)),
            "random-acts-of-pizza": [f"t3_{h[:5]}" for h in _ids("hex", n, rng)],
            "the-icml-2013-whale-challenge-right-whale-redux":
                [f"20090404_{i:06d}_012s0ms_Test{i}.aif" for i in rng.permutation(n)],
            "mlsp-2013-birds": [rec * 100 + sp for rec in (3, 8, 11) for sp in range(19)][:n],
        }[cid]
        answers = pd.DataFrame({idc: ids, target: _binary(len(ids), rng)})
        sample = answers.assign(**{target: 0.5 if cid != "random-acts-of-pizza" else 0})
        return Competition(cid, answers, sample, "test.csv" if cid not in (
            "histopathologic-cancer-detection", "mlsp-2013-birds") else "answers.csv",
            "sampleSubmission.csv" if cid in ("random-acts-of-pizza",
                                              "the-icml-2013-whale-challenge-right-whale-redux")
            else "sample_submission.csv")
    if cid == "detecting-insults-in-social-commentary":
        comments = [f'"you are number {i} \\xc2\\xa0 {w}"' for i, w in
                    zip(range(n), rng.choice(["fine", "dumb", "nice", "idiot"], n))]
        dates = [f"2012061{i % 10}19215{i % 10}Z" if i % 5 else np.nan for i in range(n)]
        answers = pd.DataFrame({"Insult": _binary(n, rng), "Date": dates, "Comment": comments,
                                "Usage": "PrivateTest"})
        sample = answers.drop(columns=["Usage"]).assign(Insult=0)
        return Competition(cid, answers, sample, "test.csv", "sample_submission_null.csv")
    if cid == "aptos2019-blindness-detection":
        answers = pd.DataFrame({idc: _ids("hex", n, rng), "diagnosis": rng.integers(0, 5, n)})
        return Competition(cid, answers, answers.assign(diagnosis=0), "test.csv", "sample_submission.csv")
    if cid == "denoising-dirty-documents":
        ids = [f"{img}_{r}_{c}" for img in (1, 10, 2) for r in range(1, 4) for c in range(1, 6)][:n]
        answers = pd.DataFrame({"id": ids, "value": rng.random(len(ids)).round(6)})
        return Competition(cid, answers, answers.assign(value=1), "answers.csv", "sampleSubmission.csv")
    if cid in ("dog-breed-identification", "leaf-classification", "spooky-author-identification"):
        classes = classes_of(cid)
        ids = {"dog-breed-identification": _ids("hex", n, rng), "leaf-classification": _ids("int", n, rng),
               "spooky-author-identification": [f"id{v:05d}" for v in rng.permutation(n) * 3]}[cid]
        answers = pd.concat([pd.DataFrame({"id": ids}), _onehot(n, classes, rng)], axis=1)
        sample = answers.copy()
        sample[classes] = 1.0 / len(classes)
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "dogs-vs-cats-redux-kernels-edition":
        answers = pd.DataFrame({"id": np.arange(1, n + 1), "label": _binary(n, rng)})
        return Competition(cid, answers, answers.assign(label=0.5), "answers.csv", "sample_submission.csv")
    if cid == "jigsaw-toxic-comment-classification-challenge":
        labels = pd.DataFrame({c: _binary(n, rng) for c in JIGSAW})
        labels.iloc[2:2 + n // 5] = -1  # rows not scored
        labels.iloc[0] = 0
        labels.iloc[1] = 1
        answers = pd.concat([pd.DataFrame({"id": _ids("hex", n, rng)}), labels], axis=1)
        sample = answers.copy()
        sample[list(JIGSAW)] = 0.5
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "ranzcr-clip-catheter-line-classification":
        classes = _mlebench_list(cid, "classes.py", "CLASSES") or list(RANZCR)
        labels = pd.DataFrame({c: _binary(n, rng) for c in classes})
        uids = [f"1.2.826.0.1.3680043.8.498.{v}" for v in rng.integers(10**10, 10**11, n)]
        answers = pd.concat([pd.DataFrame({idc: uids}), labels], axis=1)
        answers["PatientID"] = [f"ec{v:07x}" for v in rng.integers(0, 2**24, n)]
        sample = answers[[idc, *classes]].copy()
        sample[classes] = 0
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "plant-pathology-2020-fgvc7":
        answers = pd.concat([pd.DataFrame({idc: [f"Test_{i}" for i in rng.permutation(n)]}),
                             _onehot(n, list(PLANT), rng)], axis=1)
        for j, c in enumerate(PLANT):  # every class both present and absent
            answers.loc[j, list(PLANT)] = 0
            answers.loc[j, c] = 1
        sample = answers.copy()
        sample[list(PLANT)] = 0.25
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "new-york-city-taxi-fare-prediction":
        keys = [f"2015-01-{1 + i % 28:02d} 13:08:{i % 60:02d}.000000{i}" for i in rng.permutation(n)]
        answers = pd.DataFrame({"key": keys, "fare_amount": (rng.random(n) * 40 + 2.5).round(2),
                                "pickup_datetime": "2015-01-27 13:08:24 UTC", "passenger_count": 1})
        sample = pd.DataFrame({"key": keys, "fare_amount": 11.35})
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "nomad2018-predict-transparent-conductors":
        answers = pd.DataFrame({"id": np.arange(1, n + 1), "spacegroup": 206,
                                "formation_energy_ev_natom": (rng.random(n) * 0.4).round(4),
                                "bandgap_energy_ev": (rng.random(n) * 5).round(4)})
        sample = answers[["id"]].assign(formation_energy_ev_natom=0.1779, bandgap_energy_ev=1.8892)
        return Competition(cid, answers, sample, "test.csv", "sample_submission.csv")
    if cid == "tabular-playground-series-dec-2021":
        answers = pd.DataFrame({"Id": np.arange(4000000, 4000000 + n), "Elevation": rng.integers(2000, 3500, n),
                                "Cover_Type": rng.choice([1, 2, 3, 7], n)})
        return Competition(cid, answers, answers[["Id"]].assign(Cover_Type=2), "test.csv", "sample_submission.csv")
    if cid.startswith("text-normalization-challenge"):
        words = (["the", "12", "Dr.", "1990", "и", "км", "2,5", "B.C."] if "russian" in cid
                 else ["the", "12", "Dr.", "1990", "a", "St.", "$5", "e.g."])
        spoken = {"12": "twelve", "Dr.": "doctor", "1990": "nineteen ninety", "км": "километров",
                  "2,5": "два целых и пять десятых", "B.C.": "до нашей эры", "St.": "street", "$5": "five dollars",
                  "e.g.": "for example"}
        before = list(rng.choice(words, n))
        ids = [f"{s}_{t}" for s in range(n // 4 + 1) for t in range(4)][:n]
        answers = pd.DataFrame({"id": ids, "after": [spoken.get(w, w) for w in before]})
        sample = answers.assign(after=before)
        return Competition(cid, answers, sample, "answers.csv", "sample_submission.csv")
    raise KeyError(cid)


def truth(comp: Competition) -> pd.DataFrame:
    """The perfect submission: the sample's columns and rows with the answers' values."""
    spec = SPECS[comp.cid]
    sub = comp.sample.copy()
    cols = [c for c in sub.columns if c != spec.id_column and c in comp.answers.columns]
    merged = sub[[spec.id_column]].merge(comp.answers[[spec.id_column, *cols]], on=spec.id_column, how="left")
    for c in cols:
        sub[c] = merged[c].to_numpy()
    if comp.cid == "jigsaw-toxic-comment-classification-challenge":
        sub[list(JIGSAW)] = sub[list(JIGSAW)].clip(lower=0)
    return sub


def cases(comp: Competition, seed: int = 1) -> dict[str, str]:  # noqa: C901 - the cases are a list
    """Named submissions as CSV text: valid ones, invalid ones and edge cases."""
    rng = np.random.default_rng(seed)
    spec = SPECS[comp.cid]
    idc = spec.id_column
    perfect = truth(comp)
    preds = [c for c in perfect.columns if c in (spec.targets or perfect.columns) and c != idc]
    kind = {"auroc": "prob", "auroc_per_class": "prob", "auroc_matrix": "prob", "auroc_exact_columns": "prob",
            "binary_log_loss": "prob", "onehot_log_loss": "rows", "accuracy": "label", "kappa": "label",
            "accuracy_text": "text", "rmse_ids": "value", "rmse_sorted": "value",
            "rmsle_position": "value"}[spec.recipe]
    out: dict[str, pd.DataFrame | str] = {"perfect": perfect, "sample": comp.sample.copy()}
    noisy = perfect.copy()
    n = len(noisy)
    if kind == "prob":
        for c in preds:
            noisy[c] = (0.3 * perfect[c].astype(float) + 0.7 * rng.random(n)).round(4)
    elif kind == "rows":
        block = rng.random((n, len(preds))) + perfect[preds].to_numpy() * 2
        noisy[preds] = block / block.sum(axis=1, keepdims=True)
    elif kind == "label":
        flip = rng.random(n) < 0.3
        noisy[preds[0]] = np.where(flip, rng.choice(comp.answers[preds[0]].unique(), n), perfect[preds[0]])
    elif kind == "text":
        noisy[preds[0]] = np.where(rng.random(n) < 0.3, comp.sample[preds[0]], perfect[preds[0]])
    else:
        noisy[preds] = (perfect[preds].astype(float) * (1 + 0.2 * rng.standard_normal((n, len(preds))))).abs().round(5)
    out["noisy"] = noisy
    out["shuffled_rows"] = noisy.sample(frac=1.0, random_state=seed)
    out["reversed_columns"] = noisy[list(reversed(noisy.columns))]
    out["missing_row"] = noisy.iloc[:-1]
    out["extra_row"] = pd.concat([noisy, noisy.iloc[[0]]])
    dup = noisy.copy()
    dup.iloc[1, dup.columns.get_loc(idc)] = dup.iloc[0][idc]
    out["duplicate_id"] = dup
    unk = noisy.copy()
    unk[idc] = unk[idc].astype(object)
    unk.iloc[0, unk.columns.get_loc(idc)] = "not-an-id"
    out["unknown_id"] = unk
    out["missing_prediction_column"] = noisy.drop(columns=[preds[0]])
    out["extra_column"] = noisy.assign(extra=1)
    out["id_renamed"] = noisy.rename(columns={idc: "ID_"})
    nan = noisy.copy()
    nan[preds[0]] = nan[preds[0]].astype(object)
    nan.iloc[3, nan.columns.get_loc(preds[0])] = np.nan
    out["nan_prediction"] = nan
    word = noisy.copy()
    word[preds[0]] = word[preds[0]].astype(object)
    word.iloc[2, word.columns.get_loc(preds[0])] = "abc"
    out["word_prediction"] = word
    const = noisy.copy()
    if kind in ("prob", "value"):
        const[preds] = 0.5
        out["constant"] = const
        big = noisy.copy()
        big[preds[0]] = big[preds[0]].astype(float)
        big.iloc[0, big.columns.get_loc(preds[0])] = 1.5
        out["value_1_5"] = big
        neg = noisy.copy()
        neg[preds[0]] = neg[preds[0]].astype(float)
        neg.iloc[0, neg.columns.get_loc(preds[0])] = -0.5
        out["negative_value"] = neg
        out["infinite_value"] = noisy.assign(**{preds[0]: np.r_[np.inf, noisy[preds[0]].to_numpy()[1:]]})
        out["all_zero_or_one"] = noisy.assign(**{c: (noisy[c] > 0.5).astype(int) for c in preds})
    if kind == "rows":
        off = noisy.copy()
        off[preds[0]] = off[preds[0]] + 0.01
        out["rows_do_not_sum_to_1"] = off
        tiny = noisy.copy()
        tiny[preds[0]] = tiny[preds[0]] + 5e-6
        out["rows_sum_within_1e-5"] = tiny
        hard = perfect.copy().astype({c: float for c in preds})
        out["hard_zero_one"] = hard.assign(**{preds[0]: 1.0 - hard[preds[0]]}) if len(preds) == 2 else hard
    if kind == "label":
        out["labels_as_floats"] = noisy.assign(**{preds[0]: noisy[preds[0]].astype(float)})
        out["unseen_label"] = noisy.assign(**{preds[0]: np.r_[9, noisy[preds[0]].to_numpy()[1:]]})
        out["fractional_label"] = noisy.assign(**{preds[0]: np.r_[2.5, noisy[preds[0]].to_numpy()[1:]].astype(float)})
        out["labels_as_words"] = noisy.assign(**{preds[0]: ["class" + str(v) for v in noisy[preds[0]]]})
    if kind == "text":
        out["text_NA"] = noisy.assign(**{preds[0]: np.r_[["NA"], noisy[preds[0]].to_numpy()[1:]]})
        out["text_numbers_only"] = noisy.assign(**{preds[0]: np.arange(n)})
    out["id_not_first"] = noisy[[c for c in noisy.columns if c != idc] + [idc]]
    texts = {name: frame if isinstance(frame, str) else frame.to_csv(index=False) for name, frame in out.items()}
    texts["header_only"] = ",".join(perfect.columns) + "\n"
    texts["empty_file"] = ""
    texts["not_csv"] = "\x00\x01binary junk\n\"unclosed,quote\n"
    return texts


def leaderboard(cid: str) -> pd.DataFrame:
    spec = SPECS[cid]
    scores = np.linspace(0.05, 0.95, 30)
    scores = scores if spec.lower_is_better else scores[::-1]
    return pd.DataFrame({"teamId": range(30), "teamName": [f"t{i}" for i in range(30)],
                         "submissionDate": "2020-01-01", "score": scores})


def write_competition(root: Path, comp: Competition) -> Path:
    """DIR/<id>/prepared/{public,private}, config.yaml and leaderboard.csv; returns DIR."""
    spec = SPECS[comp.cid]
    base = root / comp.cid
    public, private = base / "prepared" / "public", base / "prepared" / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    comp.answers.to_csv(private / comp.answers_file, index=False)
    sample_dir = private if comp.cid.startswith("text-normalization") else public
    comp.sample.to_csv(sample_dir / comp.sample_file, index=False)
    if sample_dir is private:  # the public copy is zipped, as MLE-bench's prepare writes it
        comp.sample.to_csv(public / "en_sample_submission_2.csv.zip", index=False)
    (public / "description.md").write_text(f"# {comp.cid}\n\nA small stand-in for the competition.\n")
    sample_rel = f"{comp.cid}/prepared/{'private' if sample_dir is private else 'public'}/{comp.sample_file}"
    (base / "config.yaml").write_text(
        f"id: {comp.cid}\nname: {comp.cid}\ncompetition_type: simple\nawards_medals: false\nprizes: null\n"
        f"description: mlebench/competitions/{comp.cid}/description.md\n\ndataset:\n"
        f"  answers: {comp.cid}/prepared/private/{comp.answers_file}\n"
        f"  sample_submission: {sample_rel}\n\ngrader:\n  name: {spec.grader}\n"
        f"  grade_fn: mlebench.competitions.{comp.cid}.grade:grade\n\n"
        f"preparer: mlebench.competitions.{comp.cid}.prepare:prepare\n")
    leaderboard(comp.cid).to_csv(base / "leaderboard.csv", index=False)
    return root


def all_lite() -> tuple[str, ...]:
    return LITE
