"""The offline reasoner's rules in the media recipe spaces: which space a task gets, the
starting directions (the pretrained backbone only with weights), proposals, repairs, and
what it says about a task it does not cover.  Pure: no process is run."""

from __future__ import annotations

import json

import pytest

from gome_es.core.reasoner import LlmRequest
from gome_es.core.schemas import PURPOSE_SCHEMA
from gome_es.llm.offline import OfflineReasoner, OfflineRulesUncovered, repair, uncovered
from gome_es.solutions.media import modality_of, space_of, spec_from_task
from gome_es.solutions.recipes import FAMILIES, apply_change, default_recipe
from gome_es.solutions.render import recipe_from_code


def task(modality: str, **u) -> dict:
    return {"id": "t", "task_type": u.pop("task_type", "image"), "metric": u.pop("metric", "auc_roc"),
            "understanding": {"modality": modality, "sample_submission": "sample_submission.csv", **u}}


def ask(purpose: str, context: dict) -> dict:
    req = LlmRequest(key="k", purpose=purpose, schema_name=PURPOSE_SCHEMA[purpose], messages=[], context=context)
    return json.loads(OfflineReasoner().complete(req).content)


@pytest.mark.parametrize("modality, extra, space", [
    ("image", {}, "vision"),
    ("image", {"modalities": ["image", "table"], "roles": {"numeric": ["age"]}}, "vision"),
    ("image", {"modalities": ["image", "table"], "roles": {"numeric": [f"f{i}" for i in range(64)]}}, "multiclass"),
    ("image_to_image", {}, "img2img"),
    ("audio", {}, "audio"),
    ("text", {"roles": {"text": ["comment_text"]}}, "nlp"),
    ("text", {"roles": {"text": ["request_text"], "numeric": ["a", "b", "c", "d"]}}, "multiclass"),
    ("seq2seq", {}, "seq2seq"),
    ("table", {}, "multiclass"),
])
def test_the_modality_picks_the_recipe_space(modality, extra, space):
    t = task(modality, task_type="multiclass", **extra)
    assert space_of(t) == space
    assert uncovered(t) is None


def test_images_with_a_small_table_are_a_mix_in_the_spec():
    t = task("image", modalities=["image", "table"], roles={"numeric": ["age_approx"]},
             train_files=["train.csv"], test_files=["test.csv"], prediction_columns=["target"])
    spec = spec_from_task(t, "auc")
    assert modality_of(t) == "mixed" and spec.modality == "mixed"
    assert spec.train_table == "train.csv" and spec.prediction_columns == ["target"]


def test_a_zip_of_images_is_not_taken_for_a_table():
    spec = spec_from_task(task("image", train_files=["train.zip"], test_files=["test.zip"]), "auc")
    assert spec.train_table is None and spec.test_table is None  # found at run time instead


def test_the_pretrained_direction_leads_only_when_the_run_has_weights():
    plain = ask("directions", {"task": task("image"), "n": 5, "seed": 0})
    families = [d["change"]["family"] for d in plain["directions"]]
    assert "pretrained" not in families and families[0] == "cnn"
    weights = {"dir": "/w", "files": [{"path": "resnet18.pth", "bytes": 1}], "digest": "x"}
    with_weights = ask("directions", {"task": {**task("image"), "weights": weights}, "n": 2, "seed": 0})
    assert with_weights["directions"][0]["change"]["family"] == "pretrained"


@pytest.mark.parametrize("modality", ["image", "audio", "text", "image_to_image", "seq2seq"])
def test_every_proposal_applies_and_renders(modality):
    t = task(modality)
    space = space_of(t)
    parent = default_recipe(space, FAMILIES[space][0])
    feedback = {"failure": "ok", "val_score": 0.8, "metrics": {"val_score": 0.8, "train_score": 0.99,
                                                                "fit_seconds": 5}}
    out = ask("propose", {"task": t, "parent": {"recipe": parent, "metrics": feedback["metrics"]},
                          "feedback": feedback, "n_candidates": 4, "seed": 1})
    assert out["candidates"] or space == "seq2seq"
    for cand in out["candidates"]:
        child = apply_change(space, parent, cand["change"])
        code = ask("code", {"task": t, "parent": {"recipe": parent}, "hypothesis": {"change": cand["change"]}})
        assert recipe_from_code(code["code"]) == child


def test_a_timed_out_cnn_is_repaired_lighter_then_swapped():
    recipe = default_recipe("vision", "cnn")
    lighter, why = repair("vision", recipe, {"failure": "timeout"}, 1)
    assert lighter["family"] == "cnn" and "lighter" in why
    assert lighter["params"]["epochs"] < recipe["params"]["epochs"]
    assert lighter["params"]["train_seconds"] < recipe["params"]["train_seconds"]
    safe, _ = repair("vision", recipe, {"failure": "timeout"}, 2)
    assert safe["family"] == "feat_logreg"
    other, _ = repair("vision", safe, {"failure": "python_exception"}, 2)
    assert other["family"] != "feat_logreg"  # the safe family itself failed: another one


def test_a_composite_id_audio_task_is_covered_only_as_item_times_100_plus_class():
    birds = task("audio", id_source="composite", id_pattern="{row_id}*100+{class} (19 classes)")
    assert uncovered(birds) is None and spec_from_task(birds, "auc").id_source == "composite"
    t = task("audio", id_source="composite", id_pattern="{clip}_{second}",
             media=[{"path": "wavs", "container": "folder", "count": 12, "extension": ".wav", "role": "all"}])
    why = uncovered(t)
    assert why is not None and "'audio'" in why and "composite" in why and "--reasoner openai" in why
    with pytest.raises(OfflineRulesUncovered, match="composite"):
        ask("directions", {"task": t, "n": 2, "seed": 0})
