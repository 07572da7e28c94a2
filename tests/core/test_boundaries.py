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


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        bad = FORBIDDEN_MODULES.intersection(names)
        assert not bad, f"gome_es/{module}.py imports {bad} at line {node.lineno}: keep I/O at the edges"


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
