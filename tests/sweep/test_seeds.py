"""Seeds mean something: the run seed varies the directions traces start from and the models' randomness."""

from __future__ import annotations

import json

from gome_es.core.policy import derive_seed
from gome_es.core.reasoner import LlmRequest
from gome_es.llm.offline import OfflineReasoner
from gome_es.solutions.recipes import FAMILIES

TASK = {"id": "t", "task_type": "binary", "metric": "auc_roc", "lower_is_better": False,
        "id_column": "id", "target_columns": ["y"], "description": ""}


def directions(run_seed: int | None, n: int = 2) -> list[dict]:
    seed = 0 if run_seed is None else derive_seed(run_seed, "directions")  # what the policy sends
    req = LlmRequest(key="k", purpose="directions", schema_name="DirectionsOut", messages=[],
                     context={"task": TASK, "n": n, "seed": seed})
    return json.loads(OfflineReasoner().complete(req).content)["directions"]


def test_run_seeds_start_traces_from_different_directions():
    starts = {s: tuple(d["change"]["family"] for d in directions(s)) for s in range(6)}
    assert len(set(starts.values())) >= 3, starts  # not one start for every seed
    assert len({frozenset(v) for v in starts.values()}) >= 2, starts  # nor the same pair in another order
    for s, fams in starts.items():
        assert len(set(fams)) == 2 and set(fams) <= set(FAMILIES["binary"][:6]), (s, fams)  # still sensible ones


def test_models_randomness_follows_the_run_seed_and_seed_zero_contexts_keep_the_canonical_order():
    model_seeds = {directions(s)[0]["change"]["seed"] for s in range(4)}
    assert len(model_seeds) == 4  # random_state in the generated code differs per run seed
    assert [d["change"]["family"] for d in directions(None, 3)] == list(FAMILIES["binary"][:3])
    assert directions(1) == directions(1)  # and stays a pure function of the seed
