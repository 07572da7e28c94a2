"""A scripted stand-in for a language model, for tests of the driver, replay and diff.

It answers each purpose with a small, real solution for the bundled
breast-cancer task (logistic regression with a C the hypotheses move), so runs
are cheap (~1 s an execution) yet every stage is real: a real store, a real
executor, real subprocesses.  ``bias`` shifts its answers so two runs differ.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from gome_es.core.reasoner import LlmRequest, LlmResponse

CODE = '''\
import json, os
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

d = os.environ["GOME_DATA_DIR"]
train = pd.read_csv(os.path.join(d, "train.csv"))
test = pd.read_csv(os.path.join(d, "test.csv"))
X, y = train.drop(columns=["id", "malignant"]), train["malignant"]
Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(C=C_VALUE, max_iter=5000).fit(Xa, ya)
json.dump({"val_score": roc_auc_score(yb, model.predict_proba(Xb)[:, 1])}, open("metrics.json", "w"))
model.fit(X, y)
proba = model.predict_proba(test.drop(columns=["id"]))[:, 1]
pd.DataFrame({"id": test["id"], "malignant": proba}).to_csv("submission.csv", index=False)
'''

BROKEN = "raise RuntimeError('scripted failure')\n"


class ScriptedReasoner:
    name = "scripted"
    model = "scripted-v1"

    def __init__(self, bias: float = 1.0, fail_code_keys: set[str] | None = None) -> None:
        self.bias = bias
        self.fail_code_keys = set(fail_code_keys or ())
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def complete(self, request: LlmRequest) -> LlmResponse:
        with self._lock:
            self.calls.append(request.key)
        c: dict[str, Any] = request.context
        if request.purpose == "directions":
            out: dict[str, Any] = {"directions": [
                {"name": f"logreg-C{10.0 ** -i:g}", "text": f"logistic regression with C={10.0 ** -i:g}",
                 "change": {"C": 10.0 ** -i}} for i in range(c["n"])]}
        elif request.purpose == "propose":
            C = float(((c.get("parent") or {}).get("recipe") or {}).get("C", 1.0))
            out = {"problems": [{"name": "underfitting", "evidence": "val below train"}], "candidates": [
                {"text": f"set C to {C * f * self.bias:g}", "component": "hyperparameters",
                 "change": {"C": C * f * self.bias}, "scores": {"impact": 5 + i, "novelty": 9 - i}}
                for i, f in enumerate((0.5, 2.0, 4.0))]}
        elif request.purpose in ("code", "debug"):
            change = (c.get("hypothesis") or {}).get("change") or c.get("recipe") or {}
            C = float(change.get("C", 1.0))
            code = BROKEN if request.key in self.fail_code_keys else CODE.replace("C_VALUE", repr(C))
            out = {"code": code, "recipe": {"C": C}, "summary": f"logistic regression C={C:g}"}
        else:
            best = max(c["candidates"], key=lambda x: x["val_score"])
            out = {"solution_id": best["solution_id"], "reason": "highest validation score"}
        return LlmResponse(content=json.dumps(out, sort_keys=True), model=self.model)
