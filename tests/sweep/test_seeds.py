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


def test_run_seeds_vary_the_split_and_the_starting_hyperparameters():
    """A deterministic model (logistic regression) on a fixed split ends on the same test score
    whatever the seed; a seed must therefore also move the hold-out split and the starting values,
    as sampling moves a real agent's first proposals."""
    runs = {s: directions(s, n=7) for s in range(1, 5)}
    for ds in runs.values():  # one split per run, shared by every trace so their scores compare
        assert len({d["change"]["validation"]["seed"] for d in ds}) == 1
    assert len({ds[0]["change"]["validation"]["seed"] for ds in runs.values()}) == 4
    logreg_c = {next(d for d in ds if d["change"]["family"] == "logreg")["change"]["params"]["C"]
                for ds in runs.values()}
    assert len(logreg_c) >= 2, logreg_c
    for ds in runs.values():  # cost-bearing knobs never move with the seed
        for d in ds:
            params = d["change"]["params"]
            assert params.get("n_estimators", 300) == 300 and params.get("max_iter") in (None, 200, 400, 2000)
    # hand-written contexts (seed 0) keep the defaults and the fixed split
    canonical = directions(None, n=1)[0]["change"]
    assert canonical["validation"]["seed"] == 42 and canonical["params"]["learning_rate"] == 0.1


def test_a_repaired_recipe_keeps_the_runs_split():
    from gome_es.llm.offline import repair, seeded_start

    start = seeded_start("binary", "hgb", derive_seed(3, "directions"))
    for attempt in (1, 2, 3):
        fixed, _ = repair("binary", start, {"failure": "timeout"}, attempt)
        assert fixed["validation"] == start["validation"], attempt
    fixed, _ = repair("binary", start, {"failure": "python_exception"}, 1)
    assert fixed["validation"] == start["validation"]
