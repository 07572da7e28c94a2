"""Small task directories in the solution contract's layout, built from scikit-learn data.

Each builder writes ``train.csv``, ``test.csv``, ``sample_submission.csv`` and
``description.md`` into a directory and returns the task dict ``T`` the policy
hands the offline reasoner.  Tabular tasks get a categorical column and missing
values on purpose, because the generated code must handle both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _write(root: Path, frame: pd.DataFrame, target: str | list[str], sample_cols: dict[str, Any],
           task: dict[str, Any]) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "id", np.arange(len(frame)))
    n_test = len(frame) // 4
    test, train = frame.iloc[:n_test], frame.iloc[n_test:]
    targets = [target] if isinstance(target, str) else target
    train.to_csv(root / "train.csv", index=False)
    test.drop(columns=targets).to_csv(root / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"].to_numpy()})
    for col, value in sample_cols.items():
        sample[col] = value
    sample.to_csv(root / "sample_submission.csv", index=False)
    (root / "description.md").write_text(f"# {task['id']}\n\nSynthetic test task.\n")
    (root / "answers.csv").write_text("")  # placeholder: tests never read answers
    (root / "answers.csv").unlink()
    return {**task, "id_column": "id", "target_columns": targets,
            "description": f"# {task['id']}", "_test_answers": test[targets].copy()}


def binary(root: Path) -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True)
    frame = d.data.iloc[:, :12].copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["size_band"] = pd.cut(frame["mean_radius"], 3, labels=["small", "mid", "large"]).astype(str)
    frame.loc[frame.index % 9 == 0, "mean_texture"] = np.nan
    frame.loc[frame.index % 13 == 0, "size_band"] = np.nan
    frame["malignant"] = (d.target == 0).astype(int)
    return _write(root, frame, "malignant", {"malignant": 0.5},
                  {"id": "t-binary", "task_type": "binary", "metric": "auc_roc",
                   "lower_is_better": False})


def multiclass(root: Path) -> dict[str, Any]:
    from sklearn.datasets import load_wine

    d = load_wine(as_frame=True)
    frame = d.data.copy()
    frame.columns = [c.replace("/", "_per_") for c in frame.columns]
    frame["cultivar"] = d.target.astype(int)
    return _write(root, frame, "cultivar", {"0": 1 / 3, "1": 1 / 3, "2": 1 / 3},
                  {"id": "t-multi", "task_type": "multiclass", "metric": "multiclass_log_loss",
                   "lower_is_better": True})


def regression(root: Path) -> dict[str, Any]:
    from sklearn.datasets import load_diabetes

    d = load_diabetes(as_frame=True, scaled=False)
    frame = d.data.copy()
    frame["sex"] = frame["sex"].map({1.0: "F", 2.0: "M"})
    frame.loc[frame.index % 11 == 0, "bmi"] = np.nan
    frame["progression"] = d.target
    return _write(root, frame, "progression", {"progression": float(d.target.mean())},
                  {"id": "t-reg", "task_type": "regression", "metric": "rmse",
                   "lower_is_better": True})


_TOPICS = {
    "sports": "match goal team coach season player score league win stadium",
    "tech": "software chip computer network code data cloud server device app",
    "food": "recipe bake flavour kitchen chef dinner spice bread sauce taste",
}
_FILLER = "the a of and to in is was it for on with as at by this that from very".split()


def text(root: Path, n: int = 600) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    names = sorted(_TOPICS)
    rows = []
    for i in range(n):
        label = names[i % 3]
        own = _TOPICS[label].split()
        other = _TOPICS[names[(i + 1) % 3]].split()
        # Noisy on purpose: most words are filler and some belong to another topic.
        words = list(rng.choice(_FILLER, 10)) + list(rng.choice(own, 2)) + list(rng.choice(other, 2))
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "topic": label})
    return _write(root, pd.DataFrame(rows), "topic", {"topic": names[0]},
                  {"id": "t-text", "task_type": "text", "metric": "macro_f1",
                   "lower_is_better": False, "text_column": "text"})


def image(root: Path, n: int = 900) -> dict[str, Any]:
    from sklearn.datasets import load_digits

    d = load_digits()
    frame = pd.DataFrame(d.data[:n].astype(int), columns=[f"p{i}" for i in range(64)])
    frame["label"] = d.target[:n].astype(int)
    return _write(root, frame, "label", {"label": 0},
                  {"id": "t-image", "task_type": "image", "metric": "accuracy",
                   "lower_is_better": False})


BUILDERS = {"binary": binary, "multiclass": multiclass, "regression": regression,
            "text": text, "image": image}
