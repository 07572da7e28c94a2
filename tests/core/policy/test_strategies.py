"""The two strategies behind one protocol, and the policy package's shape (no private imports, no cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

from gome_es.core.policy import Strategy, strategy_for
from gome_es.core.policy.gome import GomeStrategy
from gome_es.core.policy.tree import TreeStrategy
from tests.core.test_import_graph import cycles, import_graph, module_graph

from .helpers import state

CORE = Path(__file__).resolve().parents[3] / "gome_es" / "core"


def test_the_config_picks_and_configures_the_strategy() -> None:
    gome = strategy_for(state(traces=3, memory=False).config)
    assert isinstance(gome, GomeStrategy) and gome.n_traces() == 3 and gome.n_directions() == 3
    assert not gome.remembers() and gome.debugs_after_judging()
    tree = strategy_for(state(strategy="tree", traces=3, tree_drafts=5).config)
    assert isinstance(tree, TreeStrategy) and tree.n_traces() == 1 and tree.n_directions() == 5
    assert not tree.remembers() and not tree.debugs_after_judging()
    for s in (gome, tree):
        assert isinstance(s.name, str) and callable(s.begin_iteration)
    _: Strategy = gome  # both satisfy the protocol (checked by mypy)
    _ = tree


def _core_imports() -> dict[str, list[tuple[str, list[str]]]]:
    """module -> [(imported module, names)] for every import between core modules."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE.parent.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        mod = ".".join(parts[:-1] if is_pkg else parts)
        pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
        edges = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
                names = [a.name for a in node.names]
                if node.module:
                    edges.append((name, names))
                else:
                    edges.extend((f"{name}.{n}", []) for n in names)
        out[mod] = [(n, names) for n, names in edges if n.startswith("gome_es.core")]
    return out


def test_no_core_module_imports_another_modules_private_names() -> None:
    for mod, edges in _core_imports().items():
        for target, names in edges:
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{mod} imports private {private} from {target}"


def test_the_core_has_no_import_cycles() -> None:
    core = {m: {t for t in ts if t.startswith("gome_es.core")}
            for m, ts in module_graph(import_graph()).items() if m.startswith("gome_es.core")}
    assert "gome_es.core.policy.gome" in core  # the graph did read the core
    assert not cycles(core), f"import cycles in the core: {cycles(core)}"
