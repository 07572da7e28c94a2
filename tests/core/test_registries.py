"""One registry per vocabulary (gome_es/core/vocabulary.py), and every use kept equal to it.

The scoring dimensions and their default weights, the reasoner kinds and the failure classes are
each defined once; these tests read the modules that use them (their values, and the source for
words spelled out as strings) and fail when a copy drifts or a new one is written.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import click
import pytest

from gome_es.core import vocabulary
from gome_es.core.events import DEFAULT_MODELS, ReasonerConfig, RunConfig
from gome_es.core.vocabulary import (
    DEFAULT_WEIGHTS,
    DIMENSIONS,
    Dimension,
    FailureClass,
    ReasonerKind,
    dimensions_in_words,
)

ROOT = Path(__file__).resolve().parents[2] / "gome_es"
VOCABULARY = ROOT / "core" / "vocabulary.py"


def _string_literals(path: Path) -> list[tuple[int, str, ast.AST]]:
    """(line, value, parent) of every string constant in a module, docstrings excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out = []
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and id(child) not in docstrings:
                out.append((child.lineno, child.value, parent))
    return out


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts and p != VOCABULARY)


# ------------------------------------------------------------------ scoring dimensions and weights


def test_the_dimensions_and_their_default_weights_are_one_table() -> None:
    assert DIMENSIONS == tuple(d.value for d in Dimension)
    assert tuple(DEFAULT_WEIGHTS) == DIMENSIONS  # one weight per dimension, in the dimensions' order
    assert math.isclose(sum(DEFAULT_WEIGHTS.values()), 1.0)
    with pytest.raises(TypeError):
        DEFAULT_WEIGHTS["impact"] = 1.0  # type: ignore[index]  # read-only: a run's copy is its own


def test_a_new_run_config_carries_the_default_weights_as_its_own_copy() -> None:
    a, b = RunConfig(), RunConfig()
    assert a.weights == dict(DEFAULT_WEIGHTS)
    a.weights["impact"] = 0.0  # a frozen model, a mutable dict: a change must not leak into the next run
    assert b.weights == dict(DEFAULT_WEIGHTS) and RunConfig().weights == dict(DEFAULT_WEIGHTS)


def test_the_schemas_the_offline_reasoner_and_the_report_read_the_one_definition() -> None:
    from gome_es.core import schemas
    from gome_es.core.policy import scoring
    from gome_es.llm import offline
    from gome_es.report import model

    assert schemas.DIMENSIONS is DIMENSIONS
    assert scoring.DIMENSIONS is DIMENSIONS
    assert offline.DIMENSIONS is DIMENSIONS and offline.DEFAULT_WEIGHTS is DEFAULT_WEIGHTS
    assert model.DIMENSIONS is DIMENSIONS
    # the offline reasoner's default weighting is the config's: every dimension at its default weight
    scores = {d: float(i + 1) for i, d in enumerate(DIMENSIONS)}
    assert math.isclose(offline.weighted(scores), sum(DEFAULT_WEIGHTS[d] * scores[d] for d in DIMENSIONS))
    assert math.isclose(offline.weighted(scores), offline.weighted(scores, RunConfig().weights))


def test_the_propose_prompt_names_every_dimension_in_order_from_the_registry() -> None:
    from gome_es.core.prompts import SYSTEM

    text = SYSTEM["propose"]
    assert f"score each from 1 to 10 on {dimensions_in_words()}." in text
    assert dimensions_in_words() == "alignment, impact, novelty, feasibility and risk_reward"
    positions = [text.index(d) for d in DIMENSIONS]
    assert positions == sorted(positions)


def test_no_module_spells_a_dimension_as_a_string() -> None:
    """The five names are written once; a second spelling (a tuple, a dict key, a prompt) fails here."""
    names = set(DIMENSIONS)
    found = [f"{p.relative_to(ROOT)}:{line} {value!r}" for p in _modules()
             for line, value, _ in _string_literals(p) if value in names]
    assert not found, "spell these through gome_es.core.vocabulary.Dimension/DIMENSIONS: " + ", ".join(found)


def test_the_unused_report_tables_copy_is_gone() -> None:
    from gome_es.report import tables

    assert not hasattr(tables, "DIMENSIONS")


# ------------------------------------------------------------------ reasoner kinds


def _option(command: click.Command, name: str) -> click.Option:
    return next(p for p in command.params if isinstance(p, click.Option) and p.name == name)


def test_the_cli_choices_the_config_type_and_the_default_models_read_the_kinds() -> None:
    from gome_es.cli.run_cmds import resume_cmd, run_cmd
    from gome_es.cli.sweep_cmd import sweep_group

    kinds = [k.value for k in ReasonerKind]
    assert list(_option(run_cmd, "reasoner").type.choices) == kinds  # type: ignore[attr-defined]
    assert list(_option(resume_cmd, "reasoner").type.choices) == kinds  # type: ignore[attr-defined]
    # a sweep starts fresh runs: every kind that answers live, never a replay of one recorded run
    assert list(_option(sweep_group, "reasoner").type.choices) == [k for k in kinds if k != "replay"]  # type: ignore[attr-defined]
    assert ReasonerConfig.model_fields["kind"].annotation is ReasonerKind
    assert set(DEFAULT_MODELS) == set(kinds)


def test_the_config_refuses_a_kind_outside_the_table_and_stores_the_plain_word() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ReasonerConfig(kind="gpt")  # type: ignore[arg-type]
    cfg = ReasonerConfig(kind="openai", model=None)  # type: ignore[arg-type]
    assert cfg.model == DEFAULT_MODELS["openai"]
    assert cfg.model_dump(mode="json")["kind"] == "openai"  # the stored word is the enum's value


def _make_reasoner():  # noqa: ANN202 - the factory, wherever the driver package keeps it
    try:
        from gome_es.llm import make_reasoner  # type: ignore[attr-defined]
    except ImportError:
        from gome_es.driver.driver import make_reasoner
    return make_reasoner


def test_the_factory_makes_every_kind_and_names_the_kinds_when_given_another(tmp_path) -> None:
    from gome_es.errors import ReasonerError
    from gome_es.store import EventStore

    make_reasoner = _make_reasoner()
    store = EventStore.open(tmp_path / "g.db")
    for kind in ReasonerKind:
        # a local endpoint needs no API key; nothing is sent while the reasoner is only made
        cfg = {"kind": kind.value, "model": DEFAULT_MODELS[kind], "replay_from": "r-recorded",
               "base_url": "http://127.0.0.1:9/v1"}
        assert make_reasoner(cfg, store).name == kind.value
    with pytest.raises(ReasonerError) as err:
        make_reasoner({"kind": "gpt"}, store)
    assert all(k.value in str(err.value) for k in ReasonerKind)


# ------------------------------------------------------------------ failure classes


def test_failure_class_is_a_str_enum_whose_values_are_the_stored_words() -> None:
    from enum import StrEnum

    assert issubclass(FailureClass, StrEnum)
    for f in FailureClass:
        assert f == f.value and str(f) == f.value and f"{f}" == f.value
    assert FailureClass("cuda_oom") is FailureClass.cuda_oom


def test_no_module_spells_a_failure_class_as_a_string() -> None:
    """A failure class is compared and assigned as a member; only a dict key or a subscript of the
    same spelling (``{"ok": ...}``, ``found["ok"]``: a field named ok, not a failure) may be a string."""
    values = {f.value for f in FailureClass}
    found = []
    for path in _modules():
        for line, value, parent in _string_literals(path):
            if value not in values:
                continue
            if isinstance(parent, ast.Subscript) or (isinstance(parent, ast.Dict) and any(
                    k is not None and isinstance(k, ast.Constant) and k.value == value and k.lineno == line
                    for k in parent.keys)):
                continue
            found.append(f"{path.relative_to(ROOT)}:{line} {value!r}")
    assert not found, "spell these as gome_es.core.vocabulary.FailureClass members: " + ", ".join(found)


def test_the_report_colours_failure_classes_by_member() -> None:
    from gome_es.report.svg import FAILURE_COLORS

    assert set(FAILURE_COLORS) <= set(FailureClass) and FailureClass.ok not in FAILURE_COLORS
    for f in FAILURE_COLORS:
        assert FAILURE_COLORS[FailureClass(f).value] == FAILURE_COLORS[f]  # a plain stored word finds its colour


def test_the_vocabulary_module_is_where_the_registries_live() -> None:
    for name in ("Dimension", "DIMENSIONS", "DEFAULT_WEIGHTS", "ReasonerKind", "FailureClass"):
        assert hasattr(vocabulary, name)
