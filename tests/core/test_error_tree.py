"""One exception tree rooted at GomeError, and no two error classes (or roles) that share a name."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

from gome_es.errors import ChainBroken, GomeError

PACKAGE = Path(__file__).resolve().parents[2] / "gome_es"


def _classes() -> dict[str, list[tuple[str, str]]]:
    """class name -> [(module, qualified name)] for every class statement in gome_es (nested ones too)."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

        def walk(node: ast.AST, prefix: str, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    qual = f"{prefix}{child.name}"
                    out[child.name].append((module, qual))
                    walk(child, qual + ".")
                elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    walk(child, prefix)

        walk(ast.parse(path.read_text()), "")
    return out


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for entries in _classes().values():
        for module, qual in entries:
            obj: object = importlib.import_module(module)
            for part in qual.split("."):
                obj = getattr(obj, part)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                found.append(obj)
    return found


def test_the_walk_finds_the_exceptions_it_should() -> None:
    names = {c.__name__ for c in _exception_classes()}
    # guards against a walk that finds nothing: the ones that were outside the tree are found
    assert {"GomeError", "ConfigError", "SweepLogError", "NumpyUndecodable", "ChainBroken"} <= names
    assert len(names) > 40


def test_every_exception_defined_in_gome_es_derives_from_gome_error() -> None:
    import click

    # a click.ClickException is what a GomeError becomes at the terminal (cli/main.py's fail), not an error
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in _exception_classes()
                     if not issubclass(c, GomeError) and not issubclass(c, click.ClickException))
    assert not outside, f"derive these from gome_es.errors.GomeError (or a subclass): {outside}"


def test_errors_that_were_value_errors_still_are() -> None:
    """`except ValueError` written before they joined the tree keeps catching them."""
    from gome_es.sweep.state import SweepLogError

    assert issubclass(SweepLogError, ValueError) and issubclass(SweepLogError, GomeError)


@pytest.mark.parametrize("name", ["Divergence", "Executor", "ChainBroken", "ChainBreak", "SignatureInvalid"])
def test_a_name_that_collided_names_one_class(name: str) -> None:
    assert len(_classes().get(name, [])) <= 1, _classes()[name]


def test_no_two_exception_classes_share_a_name() -> None:
    by_name: dict[str, set[str]] = defaultdict(set)
    for c in _exception_classes():
        by_name[c.__name__].add(f"{c.__module__}.{c.__qualname__}")
    assert not {n: sorted(m) for n, m in by_name.items() if len(m) > 1}


def test_the_chain_checker_raises_the_one_chain_error_naming_the_seq() -> None:
    from gome_es.store.chain import ChainChecker

    checker = ChainChecker("r1")
    with pytest.raises(ChainBroken) as err:
        checker.feed(2, None, "RunStarted", 1, 0.0, "{}", "0" * 64, "0" * 64)  # seq 1 is missing
    assert err.value.seq == 1 and "missing" in (err.value.reason or "") and err.value.exit_code == 1
