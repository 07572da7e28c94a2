"""The offline reasoner: every reasoning stage by deterministic rules, no network.

It answers the five request purposes from ``request.context`` alone (never the
clock, never global randomness; tie-breaks derive from ``context["seed"]``):

- ``directions``: distinct starting recipes (different model families);
- ``propose``: diagnose the last feedback (failure, underfitting, overfitting,
  leakage, too slow, plateau) and score K concrete recipe changes on the five
  DIMENSIONS, using success memory (changes that helped other traces) and the
  trace's history (already tried changes lose novelty);
- ``code``: apply the hypothesis to the parent recipe and generate the solution;
- ``debug``: repair a failed recipe by failure class, safer with each attempt;
- ``select``: the candidate with the best validation score.

Same context in, same bytes out.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from gome_es.core.canonical import canonical_json
from gome_es.core.events import RunConfig
from gome_es.core.reasoner import LlmRequest, LlmResponse
from gome_es.core.schemas import (
    CandidateOut,
    CodeOut,
    DirectionOut,
    DirectionsOut,
    ProblemOut,
    ProposalOut,
    SelectOut,
)
from gome_es.core.vocabulary import DEFAULT_WEIGHTS, DIMENSIONS, Dimension, FailureClass, ReasonerKind
from gome_es.errors import ReasonerError
from gome_es.solutions.media import media_uncovered, space_of
from gome_es.solutions.moves import Move, moves_for
from gome_es.solutions.recipes import (
    FAMILIES,
    MEDIA,
    apply_change,
    default_recipe,
    describe,
    normalize,
    recipe_key,
)
from gome_es.solutions.render import LOWER_IS_BETTER, canonical_metric, render

# A run slower than this (seconds of fitting) is diagnosed "too_slow" unless the
# context names its own limit (``time_limit_s``; half of it is the threshold).
SLOW_FIT_S = 60.0
# Which move tags remedy which problem.
REMEDY = {"underfitting": "capacity_up", "overfitting": "regularize", "too_slow": "speed",
          "leakage": "leak_fix", "plateau": "ensemble"}
CONTRADICTS = {"underfitting": "regularize", "overfitting": "capacity_up", "too_slow": "-"}
SAFE_FAMILY = {"binary": "logreg", "multiclass": "logreg", "regression": "ridge",
               "text": "logreg", "image": "logreg", "vision": "feat_logreg", "audio": "spec_logreg",
               "nlp": "logreg", "img2img": "pixel_hgb", "seq2seq": "memo"}


class OfflineContextError(ReasonerError):
    """The policy sent the offline reasoner a context it cannot work from."""


class OfflineRulesUncovered(ReasonerError):
    """The task's modality is one the offline rules write no solutions for."""


# The modalities (gome_es.tasks.model.Modality) these rules write solutions for: tables through
# the tabular recipes, the others through the media recipe spaces (gome_es.solutions.media).
COVERED_MODALITIES = ("table", "text", "image", "image_to_image", "audio", "seq2seq")


def uncovered(task: dict[str, Any]) -> str | None:
    """Why the offline rules cannot solve ``task`` (None: they can), naming the modality."""
    u = task.get("understanding") or {}
    modality = u.get("modality")
    task_type = task.get("task_type")
    why = media_uncovered(task)
    if why is None and space_of(task) in FAMILIES:
        return None
    media = ", ".join(f"{m.get('path')}{'/' if m.get('container') == 'folder' else ''} "
                      f"({m.get('count')} {m.get('extension')} {m.get('role')})"
                      for m in (u.get("media") or [])[:4])
    return (f"the offline rules write solutions for {', '.join(COVERED_MODALITIES)} tasks; task "
            f"{task.get('id')} is {modality or task_type!r}"
            + (f" (files: {media})" if media else "")
            + f", predicting {u.get('target_kind', '?')} targets as {u.get('submission_kind', '?')}: "
            + (why or f"the rules do not cover {modality or task_type!r}")
            + ". Run it with --reasoner openai --model MODEL")


def _need(ctx: dict[str, Any], key: str, request: LlmRequest) -> Any:
    if key not in ctx:
        raise OfflineContextError(
            f"offline reasoner: request {request.key!r} (purpose {request.purpose!r}) has no "
            f"context[{key!r}]; the policy must put it there (see docs/offline.md)."
        )
    return ctx[key]


def _jitter(seed: Any, *parts: str) -> float:
    """A deterministic number in [0, 1) from the seed and a name (for tie-breaks)."""
    digest = hashlib.sha256(canonical_json([seed, *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _lower_is_better(task: dict[str, Any]) -> bool:
    if "lower_is_better" in task and task["lower_is_better"] is not None:
        return bool(task["lower_is_better"])
    return canonical_metric(task["metric"]) in LOWER_IS_BETTER


# --------------------------------------------------------------------------- diagnosis

def diagnose(task: dict[str, Any], feedback: dict[str, Any] | None,
             history: list[dict[str, Any]] | None = None,
             time_limit_s: float | None = None) -> list[ProblemOut]:
    """Problems visible in one execution's feedback (and the trace's recent history)."""
    problems: list[ProblemOut] = []
    history = history or []
    if feedback:
        failure = feedback.get("failure") or FailureClass.ok.value
        if failure != FailureClass.ok:
            exc = feedback.get("exception") or {}
            detail = feedback.get("failure_detail") or ""
            if exc:
                detail = f"{exc.get('type', '')}: {exc.get('message', '')} {detail}".strip()
            if not detail:
                detail = (feedback.get("stderr_tail") or "")[-300:]
            check = feedback.get("submission_check") or {}
            if check.get("reasons"):
                detail += " submission: " + "; ".join(map(str, check["reasons"]))[:300]
            problems.append(ProblemOut(name=f"failure:{failure}", evidence=detail[:500]))
        metrics = feedback.get("metrics") or {}
        val = _finite(feedback.get("val_score"))
        if val is None:
            val = _finite(metrics.get("val_score"))
        train = _finite(metrics.get("train_score"))
        lower = _lower_is_better(task)
        if val is not None and train is not None:
            if lower:
                ratio = val / train if train > 1e-12 else math.inf
                if ratio > 1.5 and val - train > 1e-9:
                    problems.append(ProblemOut(
                        name="overfitting",
                        evidence=f"validation {val:.5g} vs training {train:.5g} "
                                 f"(val/train {ratio:.3g} > 1.5)"))
                elif ratio <= 1.1:
                    problems.append(ProblemOut(
                        name="underfitting",
                        evidence=f"validation {val:.5g} ~ training {train:.5g} "
                                 f"(val/train {ratio:.3g} <= 1.1): the model cannot fit more"))
            else:
                gap = train - val
                if gap > 0.04:
                    problems.append(ProblemOut(
                        name="overfitting",
                        evidence=f"training {train:.5g} exceeds validation {val:.5g} by "
                                 f"{gap:.3g} > 0.04"))
                elif gap < 0.015 and train < 0.995:
                    problems.append(ProblemOut(
                        name="underfitting",
                        evidence=f"training {train:.5g} ~ validation {val:.5g} (gap {gap:.3g}) "
                                 "and training is far from perfect"))
        metric = canonical_metric(task["metric"])
        if val is not None and ((not lower and val >= 0.99999 and metric in ("auc", "accuracy"))
                                or (lower and val <= 1e-9)):
            problems.append(ProblemOut(
                name="leakage",
                evidence=f"validation {metric} {val:.6g} is perfect: a feature may encode the "
                         "label or the split leaks rows"))
        audit = feedback.get("audit") or {}
        flagged = sorted(k for k, v in audit.items()
                         if v and any(w in k.lower() for w in ("leak", "private", "answer")))
        if flagged:
            problems.append(ProblemOut(name="leakage",
                                       evidence="audit flagged " + ", ".join(flagged)))
        fit_s = _finite(metrics.get("fit_seconds"))
        duration = _finite(feedback.get("duration_s"))
        limit = (time_limit_s / 2) if time_limit_s else SLOW_FIT_S
        slow = max(fit_s or 0.0, (duration or 0.0) / 3)
        if failure == FailureClass.timeout or slow > limit:
            problems.append(ProblemOut(
                name="too_slow",
                evidence=f"fit {fit_s if fit_s is not None else '?'} s, run "
                         f"{duration if duration is not None else '?'} s (limit {limit:g} s)"))
    recent = history[-3:]
    if len(recent) == 3 and not any(h.get("accepted") for h in recent):
        problems.append(ProblemOut(name="plateau",
                                   evidence="the last 3 hypotheses of this trace were rejected"))
    # One entry per problem name, in a fixed order.
    unique: dict[str, ProblemOut] = {}
    for p in problems:
        unique.setdefault(p.name, p)
    return list(unique.values())


# --------------------------------------------------------------------------- scoring

def _signature(change: dict[str, Any]) -> set[str]:
    """Coarse identity of a change: which family / params / features it touches."""
    sig: set[str] = set()
    if change.get("family"):
        sig.add(f"family={change['family']}")
    for section in ("params", "features"):
        for k, v in (change.get(section) or {}).items():
            sig.add(f"{section}.{k}")
            if section == "features":
                sig.add(f"{section}.{k}={v}")
    if "members" in change:
        sig.add("members")
    return sig


def _score_move(move: Move, problems: list[ProblemOut], ctx: dict[str, Any],
                tried: dict[str, dict[str, Any]], seed: Any) -> dict[str, float]:
    names = [p.name.split(":")[0] for p in problems]
    failure_class = next((p.name.split(":", 1)[1] for p in problems
                          if p.name.startswith("failure:")), None)
    # alignment: does the move address what the feedback shows?
    alignment = 5.0
    for name in names:
        remedy = REMEDY.get(name)
        if remedy and remedy in move.tags:
            alignment = max(alignment, 9.0)
        elif CONTRADICTS.get(name) in move.tags:
            alignment = min(alignment, 2.0)
    if "plateau" in names and "switch" in move.tags:
        alignment = max(alignment, 7.0)
    if failure_class in (FailureClass.timeout, FailureClass.host_oom) and move.cost > 1.0:
        alignment = min(alignment, 2.0)

    # impact: prior, plus what the shared success memory says about similar changes.
    impact = move.impact
    sig = _signature(move.change)
    boost = 0.0
    for entry in ctx.get("memory") or []:
        other = _signature(entry.get("change") or {})
        delta = _finite(entry.get("delta")) or 0.0
        if delta > 0 and sig & other and ("family=" not in " ".join(other) or
                                          sig & {s for s in other if s.startswith("family=")}):
            boost += float(entry.get("weight") or 1.0)
    impact = min(10.0, impact + min(3.0, 1.5 * boost))

    # novelty: what this trace already tried (exactly, or the same knob) scores low.
    key = recipe_key(move.change)
    novelty = 8.0
    if key in tried:
        novelty = 1.0
    else:
        touched = [h for h in ctx.get("history") or [] if sig & _signature(h.get("change") or {})]
        if any(not h.get("accepted") for h in touched):
            novelty = 4.0
        elif touched:
            novelty = 6.0
    for other in ctx.get("in_flight") or []:
        if recipe_key(other.get("change") or {}) == key:
            novelty = min(novelty, 2.0)

    # feasibility: cheaper runs are likelier to fit the budget.
    feasibility = 9.0 - 2.0 * math.log2(max(move.cost, 0.25))
    if "too_slow" in names and move.cost > 1.0:
        feasibility -= 4.0
    risk_reward = move.safety + (1.0 if alignment >= 9 else 0.0)

    # Deterministic, seed-derived: near-equal moves change places from seed to seed, so
    # the candidates a run draws from depend on its seed (as a sampled LLM's would).
    tie = _jitter(seed, move.key) * 1.0
    scores = {Dimension.alignment.value: alignment, Dimension.impact.value: impact + tie,
              Dimension.novelty.value: novelty, Dimension.feasibility.value: feasibility,
              Dimension.risk_reward.value: risk_reward}
    return {k: round(min(10.0, max(1.0, v)), 3) for k, v in scores.items()}


def weighted(scores: dict[str, float], weights: dict[str, float] | None = None) -> float:
    w = weights or DEFAULT_WEIGHTS
    return sum(w.get(d, 0.0) * scores.get(d, 0.0) for d in DIMENSIONS)


# --------------------------------------------------------------------------- purposes

def _directions(ctx: dict[str, Any], request: LlmRequest) -> DirectionsOut:
    task = _need(ctx, "task", request)
    n = int(_need(ctx, "n", request))
    seed = int(ctx.get("seed", 0) or 0)
    space = space_of(task)
    families = _seeded_order(_start_families(task, space), seed)
    out = []
    for i in range(max(0, n)):
        family = families[i % len(families)]
        recipe = seeded_start(space, family, seed)
        round_ = i // len(families)
        name = family if round_ == 0 else f"{family}-v{round_ + 1}"
        text = f"start from a {describe(recipe)} baseline"
        if round_:
            # Beyond one trace per family: the same family on a different model seed.
            recipe["seed"] = seed + round_
            text += f" (model seed {recipe['seed']})"
        out.append(DirectionOut(name=name, text=text, component="model", change=recipe))
    return DirectionsOut(directions=out)


# Starting hyperparameters a run seed varies, as sampling varies a real agent's first
# proposals: each is scaled by a factor drawn from this grid (integers rounded, >= 1).
# Cost-bearing knobs (n_estimators, max_iter, epochs) are left alone so that a seed
# never makes a start slower.
SEEDED_PARAMS = ("C", "alpha", "learning_rate", "lr", "weight_decay", "min_samples_leaf",
                 "max_leaf_nodes", "n_neighbors")
SEED_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)


def seeded_start(task_type: str, family: str, seed: int) -> dict[str, Any]:
    """A starting recipe for ``family`` that the run seed varies (seed 0: the defaults).

    A seed varies what it varies in a real agent: the hold-out split every trace of the
    run is validated on (one split per run, so traces stay comparable), the model's own
    randomness (``recipe["seed"]``), and the starting values of the tunable
    hyperparameters in ``SEEDED_PARAMS``.
    """
    recipe = default_recipe(task_type, family, seed=seed)
    if not seed:
        return recipe
    recipe["validation"]["seed"] = int(_jitter(seed, "validation") * 2**31)
    for name, value in sorted(recipe["params"].items()):
        if name not in SEEDED_PARAMS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not value:
            continue
        factor = SEED_FACTORS[int(_jitter(seed, "param", family, name) * len(SEED_FACTORS))]
        scaled = value * factor
        recipe["params"][name] = max(1, round(scaled)) if isinstance(value, int) else round(scaled, 6)
    return recipe


def _seeded_order(families: tuple[str, ...], seed: int, spread: float = 4.0) -> tuple[str, ...]:
    """The families traces start from, in an order the run's seed varies, as a seed does for a real agent.

    Strongest-first stays likely (a family moves up at most ``spread`` places), but
    different run seeds start their traces from different directions.  Context seed 0
    (hand-written contexts, tests) keeps the canonical order.
    """
    if not seed:
        return tuple(families)
    return tuple(sorted(families, key=lambda f: families.index(f) + spread * _jitter(seed, "direction", f)))


def _start_families(task: dict[str, Any], space: str) -> tuple[str, ...]:
    """The families traces start from: the pretrained backbone leads when the run has weights, and
    is left out when it has none (it would only train the small CNN again)."""
    families = FAMILIES[space]
    if "pretrained" not in families:
        return families
    rest = tuple(f for f in families if f != "pretrained")
    return ("pretrained", *rest) if (task.get("weights") or {}).get("files") else rest


def _partners(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Strong recipes seen elsewhere: other traces' SOTAs first, then memory's families."""
    found: list[dict[str, Any]] = []
    for sota in ctx.get("sotas") or []:
        recipe = sota.get("recipe") or {}
        if recipe.get("family"):
            found.append({"family": recipe["family"], "params": recipe.get("params")})
    memory = sorted(ctx.get("memory") or [],
                    key=lambda e: (-(_finite(e.get("weight")) or 0.0), canonical_json(e)))
    for entry in memory:
        change = entry.get("change") or {}
        if change.get("family") and (_finite(entry.get("delta")) or 0) > 0:
            found.append({"family": change["family"], "params": change.get("params")})
    return found


def _propose(ctx: dict[str, Any], request: LlmRequest) -> ProposalOut:
    task = _need(ctx, "task", request)
    k = max(1, int(ctx.get("n_candidates", 3) or 3))
    seed = ctx.get("seed", 0)
    parent = ctx.get("parent") or {}
    task_type = space_of(task)
    recipe = normalize(task_type, parent.get("recipe") or default_recipe(task_type,
                                                                          FAMILIES[task_type][0]))
    feedback = ctx.get("feedback")
    problems = diagnose(task, feedback, ctx.get("history"), ctx.get("time_limit_s"))
    if parent.get("metrics") and feedback and (feedback.get("metrics") or {}) != parent["metrics"]:
        # The last run was not the parent (a rejected candidate): judge fit on the parent,
        # which is what the next change is applied to; keep the last run's failure signs.
        fit = diagnose(task, {"failure": FailureClass.ok.value, "val_score": parent.get("val_score"),
                              "metrics": parent["metrics"]}, None, ctx.get("time_limit_s"))
        keep = [p for p in problems if p.name not in ("underfitting", "overfitting")]
        names = {p.name for p in keep}
        problems = keep + [p for p in fit if p.name in ("underfitting", "overfitting")
                           and p.name not in names]
    tried = {recipe_key(h.get("change") or {}): h for h in ctx.get("history") or []}
    metric = canonical_metric(task["metric"])
    scored = []
    seen_results: set[str] = {recipe_key(recipe)}
    roles = (task.get("understanding") or {}).get("roles") or {}
    has_text = bool(roles.get("text") or roles.get("list"))
    for move in moves_for(task_type, recipe, metric, _partners(ctx), text_columns=has_text):
        result = apply_change(task_type, recipe, move.change)
        rkey = recipe_key(result)
        if rkey in seen_results:  # a no-op, or the same recipe as a better-placed move
            continue
        seen_results.add(rkey)
        scores = _score_move(move, problems, ctx, tried, seed)
        scored.append((-weighted(scores), move.key, move, scores))
    scored.sort(key=lambda item: (item[0], item[1]))
    diagnosis = ", ".join(p.name for p in problems) or "no problem visible"
    candidates = [
        CandidateOut(text=f"{move.text} [{diagnosis}]", component=move.component,
                     change=move.change, scores=scores)
        for _, _, move, scores in scored[:k]
    ]
    return ProposalOut(problems=problems, candidates=candidates)


def _code(ctx: dict[str, Any], request: LlmRequest) -> CodeOut:
    task = _need(ctx, "task", request)
    task_type = space_of(task)
    parent = ctx.get("parent")
    hypothesis = ctx.get("hypothesis") or {}
    if parent and parent.get("recipe"):
        recipe = apply_change(task_type, parent["recipe"], hypothesis.get("change") or {})
        summary = f"{hypothesis.get('text', 'change')} -> {describe(recipe)}"
    else:
        direction = ctx.get("direction") or {}
        start = direction.get("change") or hypothesis.get("change")
        if not start:
            raise OfflineContextError(
                f"offline reasoner: code request {request.key!r} has neither a parent recipe "
                "nor a direction/hypothesis change to start from; pass context['parent'] or "
                "context['direction']."
            )
        recipe = normalize(task_type, start)
        summary = f"initial {describe(recipe)}"
    if "n_jobs" in ctx:
        recipe["n_jobs"] = max(1, int(ctx["n_jobs"]))
    return CodeOut(code=render(task, recipe), summary=summary, recipe=recipe)


def repair(task_type: str, recipe: dict[str, Any], feedback: dict[str, Any],
           attempt: int) -> tuple[dict[str, Any], str]:
    """A recipe that should not fail the way ``feedback`` says, and why."""
    recipe = normalize(task_type, recipe)
    failure = (feedback or {}).get("failure") or FailureClass.python_exception.value
    exc = (feedback or {}).get("exception") or {}
    message = f"{exc.get('type', '')} {exc.get('message', '')} " + (
        (feedback or {}).get("stderr_tail") or "")[-2000:]
    safe = default_recipe(task_type, SAFE_FAMILY[task_type], seed=recipe["seed"])
    safe["n_jobs"] = recipe["n_jobs"]
    safe["validation"] = dict(recipe["validation"])  # the run's split, so scores stay comparable
    if attempt >= 3:
        return safe, f"attempt {attempt}: fall back to the safest baseline {describe(safe)}"
    family, p = recipe["family"], dict(recipe["params"])
    if task_type in MEDIA:
        return _repair_media(task_type, recipe, failure, attempt, safe)
    if failure == FailureClass.timeout or "oom" in failure or "memory" in failure:
        if family == "ensemble":
            first = recipe["members"][0]
            fixed = apply_change(task_type, recipe, {"family": first["family"]})
            fixed["params"] = dict(first["params"])
            return normalize(task_type, fixed), f"{failure}: keep only the first ensemble member"
        if attempt >= 2 or family in ("svm", "knn") and task_type != "text":
            return safe, f"{failure}: switch to the light {describe(safe)}"
        change: dict[str, Any] = {"n_jobs": 1} if "oom" in failure else {}
        if family in ("rf", "et"):
            change["params"] = {"n_estimators": max(50, p["n_estimators"] // 3),
                                "max_depth": 16 if "oom" in failure else p["max_depth"]}
        elif family == "hgb":
            change["params"] = {"max_iter": max(50, p["max_iter"] // 3)}
        elif family in ("torch_mlp", "torch_cnn"):
            change["params"] = {"epochs": max(2, p["epochs"] // 3),
                                "batch_size": max(16, p["batch_size"] // 2)}
        elif family == "mlp":
            change["params"] = {"max_iter": max(50, p["max_iter"] // 3)}
        if task_type == "text":
            change["features"] = {"max_features": 20000, "analyzer": "word", "ngram_max": 1}
        elif task_type == "image" and family != "torch_cnn":
            change["features"] = {"pca": 40}
        elif task_type in ("binary", "multiclass", "regression"):
            change["features"] = {"poly": 0}
        return apply_change(task_type, recipe, change), f"{failure}: a lighter {family}"
    lowered = message.lower()
    if attempt == 1:
        if "nan" in lowered or "infinity" in lowered or failure == FailureClass.nan_metric:
            fixed = apply_change(task_type, recipe, {"features": {
                k: v for k, v in {"log_skewed": False, "poly": 0, "log_target": False,
                                  "impute": "median"}.items() if k in recipe["features"]}})
            return fixed, f"{failure}: remove transforms that can produce NaN/inf"
        if "n_components" in lowered and "pca" in recipe["features"]:
            return (apply_change(task_type, recipe, {"features": {"pca": 0}}),
                    f"{failure}: drop PCA (too many components)")
        if family == "ensemble":
            first = recipe["members"][0]
            fixed = apply_change(task_type, recipe, {"family": first["family"]})
            return fixed, f"{failure}: drop the ensemble, keep {first['family']}"
        fresh = default_recipe(task_type, family, seed=recipe["seed"])
        fresh["n_jobs"] = recipe["n_jobs"]
        fresh["validation"] = dict(recipe["validation"])
        if recipe_key(fresh) != recipe_key(recipe):
            return fresh, f"{failure}: back to the default {family} (params and features)"
    return safe, f"{failure}: fall back to the safe baseline {describe(safe)}"


def _repair_media(space: str, recipe: dict[str, Any], failure: str, attempt: int,
                  safe: dict[str, Any]) -> tuple[dict[str, Any], str]:
    family, p = recipe["family"], recipe["params"]
    if failure == FailureClass.timeout or "oom" in failure or "memory" in failure:
        lighter: dict[str, Any] = {}
        for key, floor in (("epochs", 2), ("train_seconds", 10), ("image_size", 32), ("max_iter", 50),
                           ("n_estimators", 50), ("steps", 50), ("pixels_per_image", 2000),
                           ("batch_size", 8)):
            if key in p:
                lighter[key] = max(floor, int(p[key]) // 2)
        lighter["max_items"] = max(500, int(p.get("max_items", 20000)) // 2)
        fixed = apply_change(space, recipe, {"params": lighter})
        if attempt >= 2 or recipe_key(fixed) == recipe_key(recipe):
            return safe, f"{failure}: switch to the light {describe(safe)}"
        return fixed, f"{failure}: a lighter {family} (half the epochs, seconds, inputs)"
    if attempt == 1:
        fresh = default_recipe(space, family, seed=recipe["seed"])
        fresh["n_jobs"] = recipe["n_jobs"]
        fresh["validation"] = dict(recipe["validation"])
        if recipe_key(fresh) != recipe_key(recipe):
            return fresh, f"{failure}: back to the default {family}"
    if recipe_key(safe) == recipe_key(recipe) or family == safe["family"]:
        other = next((f for f in FAMILIES[space] if f != family and f != "pretrained"), family)
        alt = default_recipe(space, other, seed=recipe["seed"])
        alt["n_jobs"], alt["validation"] = recipe["n_jobs"], dict(recipe["validation"])
        return alt, f"{failure}: try another family, {describe(alt)}"
    return safe, f"{failure}: fall back to the safe baseline {describe(safe)}"


def _debug(ctx: dict[str, Any], request: LlmRequest) -> CodeOut:
    task = _need(ctx, "task", request)
    recipe = _need(ctx, "recipe", request)
    fixed, why = repair(space_of(task), recipe, ctx.get("feedback") or {},
                        int(ctx.get("attempt", 1) or 1))
    return CodeOut(code=render(task, fixed), summary=why, recipe=fixed)


_REL_TOL = float(RunConfig.model_fields["improve_rel_tol"].default)
_ABS_TOL = float(RunConfig.model_fields["improve_abs_tol"].default)


def _select(ctx: dict[str, Any], request: LlmRequest) -> SelectOut:
    task = _need(ctx, "task", request)
    candidates = _need(ctx, "candidates", request)
    if not candidates:
        raise OfflineContextError(
            f"offline reasoner: select request {request.key!r} has no candidates; select only "
            "once at least one solution exists.")
    lower = _lower_is_better(task)
    scored = [c for c in candidates if _finite(c.get("val_score")) is not None]
    if not scored:
        first = sorted(candidates, key=lambda c: str(c.get("solution_id")))[0]
        return SelectOut(solution_id=str(first["solution_id"]),
                         reason="no candidate has a finite validation score; first by id")
    sign = 1.0 if lower else -1.0
    top = min(sign * float(c["val_score"]) for c in scored)
    # scores within the default improvement tolerance tie (floating-point noise is no reason to
    # prefer one): the tie goes to the first by id, as an exact tie always did
    tied = [c for c in scored if math.isclose(sign * float(c["val_score"]), top, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)]
    best = min(tied, key=lambda c: str(c.get("solution_id")))
    return SelectOut(
        solution_id=str(best["solution_id"]),
        reason=f"best validation score {float(best['val_score']):.6g} "
               f"({'lowest' if lower else 'highest'} wins) of {len(scored)} scored candidates",
    )


_HANDLERS = {"directions": _directions, "propose": _propose, "code": _code, "debug": _debug,
             "select": _select}


class OfflineReasoner:
    """Deterministic rule-based reasoner; thread-safe (it holds no state)."""

    name = ReasonerKind.offline.value
    model = "offline-rules-v1"

    def complete(self, request: LlmRequest) -> LlmResponse:
        handler = _HANDLERS.get(request.purpose)
        task = request.context.get("task")
        if handler is not None and request.purpose != "select" and isinstance(task, dict):
            why = uncovered(task)
            if why is not None:
                raise OfflineRulesUncovered(f"offline reasoner, request {request.key!r}: {why}")
        if handler is None:
            raise OfflineContextError(
                f"offline reasoner: unknown purpose {request.purpose!r} in request "
                f"{request.key!r}; expected one of {', '.join(_HANDLERS)}.")
        out = handler(dict(request.context), request)
        content = json.dumps(out.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return LlmResponse(content=content, model=self.model)
