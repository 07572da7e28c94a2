"""The pure core imports no I/O: no database, network, subprocess, clock or global random stream.

Read from the source (AST), so a stray import or a call to the wall clock in a
pure module fails here before it can make replay approximate.  Every module
under ``gome_es/core/`` (what decides) and ``gome_es/analysis/`` (what reads
recorded runs: diff, views, plain words) is checked: being in one of those
folders is what makes a module pure, and no list names them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FORBIDDEN_MODULES = {"sqlite3", "sqlite_utils", "openai", "httpx", "requests", "subprocess", "socket", "os",
                     "uuid", "datetime", "threading", "multiprocessing", "torch", "signal", "secrets", "tempfile"}
CLOCK_CALLS = {("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "sleep")}
ROOT = Path(__file__).resolve().parents[2] / "gome_es"
CORE = ROOT / "core"
ANALYSIS = ROOT / "analysis"
# What of gome_es outside the core a core module may import: the exception tree and the package
# version (neither does I/O).  Everything else outside core/ is an edge, or may become one.
# ("from .. import x" is checked as the module gome_es.x.)  An analysis module may also import
# the other analysis modules; the core never imports analysis (it decides nothing).
OUTSIDE_ALLOWED = {"gome_es.errors", "gome_es", "gome_es.__version__"}
PURE = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for folder in (CORE, ANALYSIS)
              for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


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
        inside = ["gome_es.core"] + (["gome_es.analysis"] if module.startswith("analysis/") else [])
        if root == "gome_es" and not any(name == p or name.startswith(p + ".") for p in inside):
            assert name in OUTSIDE_ALLOWED, (
                f"gome_es/{module}.py imports the I/O edge {name} at line {line}: the core imports only "
                "gome_es.core, gome_es.errors and the package version (analysis may add gome_es.analysis)")
        if root == "time":
            assert not set(names) & {n for _, n in CLOCK_CALLS}, f"gome_es/{module}.py line {line} reads the clock"
        if root == "random":
            assert set(names) <= {"Random"}, f"gome_es/{module}.py line {line} uses the global random stream"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module: str) -> None:
    _check_imports(module, (ROOT / f"{module}.py").read_text())


@pytest.mark.parametrize("module,source,complaint", [
    ("core/probe", "from ..store import EventStore\n", "I/O edge gome_es.store"),
    ("core/probe", "from .. import executor\n", "I/O edge gome_es.executor"),
    ("core/sub/probe", "from ...version import code_version\n", "I/O edge gome_es.version"),
    ("core/probe", "import gome_es.driver.driver\n", "I/O edge gome_es.driver.driver"),
    ("core/probe", "from ..driver.snapshots import load_state\n", "I/O edge gome_es.driver.snapshots"),
    ("core/probe", "from ..llm.offline import OfflineReasoner\n", "I/O edge gome_es.llm.offline"),
    ("core/probe", "from ..analysis.views import run_summary\n", "I/O edge gome_es.analysis.views"),
    ("analysis/probe", "from ..store import EventStore\n", "I/O edge gome_es.store"),
    ("analysis/probe", "from ..api.sources import load_side\n", "I/O edge gome_es.api.sources"),
    ("probe", "from time import monotonic\n", "reads the clock"),
    ("probe", "from random import random\n", "global random stream"),
    ("probe", "from os import path\n", "keep I/O at the edges"),
])
def test_the_import_check_sees_relative_and_from_imports(module: str, source: str, complaint: str) -> None:
    """The check must not be blind to the forms the pure modules actually use (it was to relative ones)."""
    with pytest.raises(AssertionError, match=complaint):
        _check_imports(module, source)


@pytest.mark.parametrize("source", [
    "from ..errors import EventError\n", "from .. import __version__\n", "from .events import Event\n",
    "from . import prompts\n", "from gome_es.core.state import fold\n", "from random import Random\n",
])
def test_the_import_check_allows_the_core_errors_and_the_version(source: str) -> None:
    _check_imports("core/probe", source)


def test_the_check_sees_every_core_module() -> None:
    """The list is read from the folder: the moved modules are all there, and nothing pure lives outside it."""
    assert {"core/events", "core/state", "core/policy/dispatch", "core/policy/tree", "core/prompts", "core/replay",
            "analysis/diff", "analysis/views", "analysis/decisions", "analysis/plain_words", "core/canonical",
            "core/schemas", "core/reasoner"} <= set(PURE)
    for old in ["events", "state", "policy", "tree_policy", "core/policy", "core/tree_policy", "prompts", "replay", "diff", "views", "synthetic",
                "canonical", "llm/schemas", "llm/base", "core/diff", "core/views", "core/diff_decisions",
                "core/plain_words", "core/synthetic"]:
        assert not (ROOT / f"{old}.py").exists(), f"gome_es/{old}.py is pure: it belongs under gome_es/core/"


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


STORE = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "store").rglob("*.py")
               if "__pycache__" not in p.parts)
# The store persists bytes, hashes and blobs; it may use the core's canonical JSON and
# hashing (infrastructure shared with replay) but never the domain: event types,
# state, policy.  Whoever opens a store hands it the event check (EventStore.open's
# ``validator``), as eventsourcing hands its recorders a mapper.
STORE_MAY_IMPORT_FROM_CORE = {"gome_es.core.canonical"}


@pytest.mark.parametrize("module", STORE)
def test_the_store_never_imports_the_domain(module: str) -> None:
    source = (ROOT / f"{module}.py").read_text()
    for line, name, _ in _imports(module, source):
        if name == "gome_es.core" or name.startswith("gome_es.core."):
            assert name in STORE_MAY_IMPORT_FROM_CORE, (
                f"gome_es/{module}.py imports {name} at line {line}: the store is handed the "
                "domain (a validator) by its caller and never imports it")
