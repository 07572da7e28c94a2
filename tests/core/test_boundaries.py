"""The pure core imports no I/O: no database, network, subprocess, clock or global random stream.

Read from the source (AST), so a stray import or a call to the wall clock in a
pure module fails here before it can make replay approximate.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["events", "state", "policy", "tree_policy", "prompts", "replay", "synthetic", "views", "canonical",
        "snapshots", "llm/schemas", "llm/base"]
FORBIDDEN_MODULES = {"sqlite3", "sqlite_utils", "openai", "httpx", "requests", "subprocess", "socket", "os",
                     "uuid", "datetime", "threading", "multiprocessing", "torch", "signal", "secrets", "tempfile"}
CLOCK_CALLS = {("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "sleep")}
ROOT = Path(__file__).resolve().parents[2] / "gome_es"


# gome's own I/O edges: a pure module importing one of them imports I/O through it
EDGE_MODULES = {"gome_es.store", "gome_es.executor", "gome_es.agent", "gome_es.lease", "gome_es.resume",
                "gome_es.reexecute", "gome_es.replay_jobs", "gome_es.version", "gome_es.cli", "gome_es.report",
                "gome_es.tasks", "gome_es.rdagent", "gome_es.llm.openai_reasoner", "gome_es.llm.offline"}


def _imports(module: str, source: str) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import in a gome_es module, relative ones resolved."""
    package = ["gome_es", *module.split("/")[:-1]]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            names = [a.name for a in node.names]
            out.append((node.lineno, name, names))
            if not node.module:  # "from . import x": x is a module
                out.extend((node.lineno, f"{name}.{n}", []) for n in names)
    return out


def _check_imports(module: str, source: str) -> None:
    for line, name, names in _imports(module, source):
        root = name.split(".")[0]
        assert root not in FORBIDDEN_MODULES, f"gome_es/{module}.py imports {name} at line {line}: keep I/O at the edges"
        edge = next((e for e in EDGE_MODULES if name == e or name.startswith(e + ".")), None)
        assert edge is None, f"gome_es/{module}.py imports the I/O edge {edge} at line {line}"
        if root == "time":
            assert not set(names) & {n for _, n in CLOCK_CALLS}, f"gome_es/{module}.py line {line} reads the clock"
        if root == "random":
            assert set(names) <= {"Random"}, f"gome_es/{module}.py line {line} uses the global random stream"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module: str) -> None:
    _check_imports(module, (ROOT / f"{module}.py").read_text())


@pytest.mark.parametrize("module,source,complaint", [
    ("probe", "from .store import EventStore\n", "I/O edge gome_es.store"),
    ("probe", "from . import executor\n", "I/O edge gome_es.executor"),
    ("llm/probe", "from ..version import code_version\n", "I/O edge gome_es.version"),
    ("probe", "import gome_es.agent\n", "I/O edge gome_es.agent"),
    ("probe", "from time import monotonic\n", "reads the clock"),
    ("probe", "from random import random\n", "global random stream"),
    ("probe", "from os import path\n", "keep I/O at the edges"),
])
def test_the_import_check_sees_relative_and_from_imports(module: str, source: str, complaint: str) -> None:
    """The check must not be blind to the forms the pure modules actually use (it was to relative ones)."""
    with pytest.raises(AssertionError, match=complaint):
        _check_imports(module, source)


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_read_no_clock_and_no_global_random(module: str) -> None:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            assert pair not in CLOCK_CALLS, f"gome_es/{module}.py line {node.lineno} reads the clock: {pair}"
            if node.value.id == "random":
                assert node.attr == "Random", (
                    f"gome_es/{module}.py line {node.lineno} uses the global random stream (random.{node.attr}); "
                    "derive a seeded random.Random instead")
