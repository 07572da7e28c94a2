"""The offline reasoner's rules: schemas, determinism, diagnosis, debug and select."""

from __future__ import annotations

import pytest

from gome_es.core.reasoner import LlmRequest
from gome_es.core.schemas import DIMENSIONS, PURPOSE_SCHEMA, SCHEMAS
from gome_es.llm.offline import OfflineContextError, OfflineReasoner
from gome_es.solutions import default_recipe, recipe_from_code

TASK = {"id": "t", "task_type": "binary", "metric": "auc_roc", "lower_is_better": False,
        "id_column": "id", "target_columns": ["y"], "description": ""}
REG = {**TASK, "task_type": "regression", "metric": "rmse", "lower_is_better": True}


def ask(purpose, context, key="k"):
    req = LlmRequest(key=key, purpose=purpose, schema_name=PURPOSE_SCHEMA[purpose], messages=[],
                     context=context)
    resp = OfflineReasoner().complete(req)
    assert resp.error is None and resp.prompt_tokens == 0 and resp.cost_usd == 0
    return resp, SCHEMAS[PURPOSE_SCHEMA[purpose]].model_validate_json(resp.content)


def fb(val, train, **kw):
    return {"failure": "ok", "val_score": val, "duration_s": 3.0,
            "metrics": {"val_score": val, "train_score": train, "fit_seconds": 1.0}, **kw}


def propose_ctx(task=TASK, feedback=None, history=(), memory=(), recipe=None, k=4, seed=0):
    return {"task": task, "trace_id": "t0", "iteration": 1, "seed": seed, "n_candidates": k,
            "parent": {"solution_id": "s1",
                       "recipe": recipe or default_recipe(task["task_type"], "hgb"),
                       "val_score": 0.9},
            "feedback": feedback, "history": list(history), "memory": list(memory),
            "in_flight": []}


def test_directions_are_distinct_full_recipes():
    _, out = ask("directions", {"task": TASK, "n": 5, "seed": 3})
    names = [d.name for d in out.directions]
    assert len(out.directions) == 5 and len(set(names)) == 5
    assert len({d.change["family"] for d in out.directions}) == 5
    assert all("params" in d.change and "features" in d.change for d in out.directions)


@pytest.mark.parametrize("purpose,context", [
    ("directions", {"task": TASK, "n": 3, "seed": 1}),
    ("propose", propose_ctx(feedback=fb(0.9, 1.0))),
    ("code", {"task": TASK, "hypothesis": {"text": "x", "component": "model",
                                            "change": {"family": "rf"}},
              "parent": {"recipe": default_recipe("binary", "hgb"), "solution_id": "s"}}),
    ("debug", {"task": TASK, "recipe": default_recipe("binary", "rf"),
               "feedback": {"failure": "timeout"}, "attempt": 1}),
    ("select", {"task": TASK, "candidates": [{"solution_id": "a", "val_score": 0.8}]}),
])
def test_same_context_gives_same_bytes(purpose, context):
    first, _ = ask(purpose, context)
    second, _ = ask(purpose, context, key="another-key")
    assert first.content == second.content


def test_candidates_are_scored_on_every_dimension_and_count_k():
    _, out = ask("propose", propose_ctx(feedback=fb(0.9, 1.0), k=6))
    assert len(out.candidates) == 6
    for c in out.candidates:
        assert set(c.scores) == set(DIMENSIONS)
        assert all(1 <= v <= 10 for v in c.scores.values())
        assert c.change


@pytest.mark.parametrize("task,feedback,expected", [
    (TASK, fb(0.80, 1.00), "overfitting"),
    (TASK, fb(0.80, 0.805), "underfitting"),
    (REG, fb(30.0, 10.0), "overfitting"),
    (REG, fb(30.0, 29.0), "underfitting"),
    (TASK, fb(1.0, 1.0), "leakage"),
    (TASK, {**fb(0.9, 0.92), "audit": {"reads_private_answers": True}}, "leakage"),
    (TASK, {**fb(0.9, 0.92), "metrics": {"train_score": 0.92, "fit_seconds": 400.0}}, "too_slow"),
    (TASK, {"failure": "timeout", "failure_detail": "killed after 600 s"}, "failure:timeout"),
    (TASK, {"failure": "python_exception",
            "exception": {"type": "ValueError", "message": "Input contains NaN", "frames": []}},
     "failure:python_exception"),
    (TASK, {"failure": "invalid_submission",
            "submission_check": {"valid": False, "reasons": ["missing ids"]}},
     "failure:invalid_submission"),
])
def test_diagnosis_fires_on_crafted_feedback(task, feedback, expected):
    _, out = ask("propose", propose_ctx(task=task, feedback=feedback))
    problems = {p.name: p.evidence for p in out.problems}
    assert expected in problems and problems[expected]


def test_diagnosis_steers_candidates():
    _, over = ask("propose", propose_ctx(feedback=fb(0.80, 1.0), k=3))
    _, slow = ask("propose", propose_ctx(feedback={"failure": "timeout"}, k=3))
    assert all(c.scores["alignment"] >= 5 for c in over.candidates)
    over_text = " ".join(c.text for c in over.candidates)
    assert "regularis" in over_text or "ensemble" in over_text
    # After a timeout the top candidates must not be the expensive ones.
    assert all(c.scores["feasibility"] >= 7 for c in slow.candidates)


def test_history_lowers_novelty_and_memory_raises_impact():
    _, first = ask("propose", propose_ctx(feedback=fb(0.9, 0.95), k=20))
    top = first.candidates[0]
    tried = [{"iteration": 1, "hypothesis": top.text, "change": top.change, "accepted": False,
              "val_score": 0.85, "failure": "ok"}]
    _, again = ask("propose", propose_ctx(feedback=fb(0.9, 0.95), history=tried, k=20))
    same = [c for c in again.candidates if c.change == top.change]
    assert not same or same[0].scores["novelty"] <= 2
    assert again.candidates[0].change != top.change

    switch = {"family": "et"}
    base = next(c for c in first.candidates if c.change == switch)
    memory = [{"trace_id": "t1", "hypothesis": "switch to et", "component": "model",
               "change": switch, "delta": 0.02, "weight": 1.0}]
    _, boosted = ask("propose", propose_ctx(feedback=fb(0.9, 0.95), memory=memory, k=20))
    after = next(c for c in boosted.candidates if c.change == switch)
    assert after.scores["impact"] > base.scores["impact"]


def test_code_applies_the_change_to_the_parent():
    parent = default_recipe("binary", "hgb")
    _, out = ask("code", {"task": TASK, "hypothesis": {"text": "lr", "component": "hyperparameters",
                                                       "change": {"params": {"learning_rate": 0.05}}},
                          "parent": {"recipe": parent, "solution_id": "s"}})
    assert out.recipe["family"] == "hgb" and out.recipe["params"]["learning_rate"] == 0.05
    assert out.recipe["params"]["max_iter"] == parent["params"]["max_iter"]
    assert recipe_from_code(out.code) == out.recipe
    compile(out.code, "solution.py", "exec")


@pytest.mark.parametrize("failure,check", [
    ("timeout", lambda r: r["params"]["n_estimators"] < 300),
    ("host_oom", lambda r: r["n_jobs"] == 1 and r["params"]["max_depth"] == 16),
    ("python_exception", lambda r: r["params"] == default_recipe("binary", "rf")["params"]),
])
def test_debug_repairs_by_failure_class(failure, check):
    broken = default_recipe("binary", "rf")
    broken["params"]["max_features"] = "bogus"
    _, out = ask("debug", {"task": TASK, "recipe": broken, "attempt": 1,
                           "feedback": {"failure": failure,
                                        "exception": {"type": "ValueError", "message": "bad"}}})
    assert check(out.recipe), out.recipe
    assert recipe_from_code(out.code) == out.recipe


def test_debug_gets_safer_with_attempts():
    _, out = ask("debug", {"task": TASK, "recipe": default_recipe("binary", "svm"), "attempt": 3,
                           "feedback": {"failure": "python_exception"}})
    assert out.recipe["family"] == "logreg"


@pytest.mark.parametrize("task,best", [(TASK, "b"), (REG, "a")])
def test_select_honours_metric_direction(task, best):
    cands = [{"solution_id": "a", "trace_id": "t0", "val_score": 0.7, "recipe": {}},
             {"solution_id": "b", "trace_id": "t1", "val_score": 0.9, "recipe": {}},
             {"solution_id": "c", "trace_id": "t2", "val_score": None, "recipe": {}}]
    _, out = ask("select", {"task": task, "candidates": cands})
    assert out.solution_id == best


def test_missing_context_names_the_key():
    req = LlmRequest(key="t0/it1/propose/0", purpose="propose", schema_name="ProposalOut",
                     messages=[], context={})
    with pytest.raises(OfflineContextError, match="task"):
        OfflineReasoner().complete(req)
