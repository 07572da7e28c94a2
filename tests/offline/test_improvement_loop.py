"""A short simulated hill-climb: the offline reasoner must genuinely improve val_score.

Each step asks for K candidates, takes the best-scored one, generates its code, runs it
for real and accepts it only if its hold-out score beats the parent, as the agent does.
"""

from __future__ import annotations

import json

import pytest

from gome_es.core.reasoner import LlmRequest
from gome_es.llm.offline import OfflineReasoner

from .conftest import run_solution

REASONER = OfflineReasoner()


def ask(purpose, schema, ctx):
    resp = REASONER.complete(LlmRequest(key="k", purpose=purpose, schema_name=schema,
                                        messages=[], context=ctx))
    return json.loads(resp.content)


def climb(task, data_dir, tmp_path, start: int, iterations: int):
    directions = ask("directions", "DirectionsOut", {"task": task, "n": 4, "seed": 0})
    direction = directions["directions"][start]
    code = ask("code", "CodeOut", {"task": task, "direction": direction, "parent": None,
                                   "hypothesis": {"text": direction["text"], "component": "model",
                                                  "change": direction["change"]}})
    proc, metrics = run_solution(code["code"], data_dir, tmp_path / "w0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    best_recipe, best = code["recipe"], metrics
    first = metrics["val_score"]
    history, feedback = [], {"failure": "ok", "val_score": first, "metrics": metrics}
    sign = -1 if task["lower_is_better"] else 1
    for it in range(1, iterations + 1):
        proposal = ask("propose", "ProposalOut", {
            "task": task, "trace_id": "t0", "iteration": it, "seed": 0, "n_candidates": 4,
            "parent": {"solution_id": f"s{it}", "recipe": best_recipe,
                       "val_score": best["val_score"], "metrics": best},
            "feedback": feedback, "history": history, "memory": [], "in_flight": []})
        cand = proposal["candidates"][0]
        code = ask("code", "CodeOut", {"task": task, "hypothesis": cand,
                                       "parent": {"recipe": best_recipe, "solution_id": "s"}})
        proc, metrics = run_solution(code["code"], data_dir, tmp_path / f"w{it}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        accepted = sign * (metrics["val_score"] - best["val_score"]) > 0
        history.append({"iteration": it, "hypothesis": cand["text"], "change": cand["change"],
                        "accepted": accepted, "val_score": metrics["val_score"], "failure": "ok"})
        if accepted:
            best_recipe, best = code["recipe"], metrics
        feedback = {"failure": "ok", "val_score": metrics["val_score"], "metrics": metrics}
    return first, best["val_score"], sign


@pytest.mark.integration
@pytest.mark.parametrize("task_type,start", [("multiclass", 2), ("image", 2)])  # from rf: room to climb
def test_three_iterations_improve_validation_score(tasks, tmp_path, task_type, start):
    task, data_dir, _ = tasks(task_type)
    first, final, sign = climb(task, data_dir, tmp_path, start, iterations=3)
    assert sign * (final - first) > 0, (first, final)


@pytest.mark.slow
@pytest.mark.parametrize("task_type,start", [("binary", 2), ("regression", 0), ("text", 2)])
def test_longer_climbs_improve_other_task_types(tasks, tmp_path, task_type, start):
    task, data_dir, _ = tasks(task_type)
    first, final, sign = climb(task, data_dir, tmp_path, start, iterations=3)
    assert sign * (final - first) > 0, (first, final)
