"""No import cycles in gome_es, deferred or not, and nothing loose at the package's top level.

The graph is built from the source (AST) of every module: imports at the top, inside
functions and under ``TYPE_CHECKING`` all count, since a cycle hidden behind a
function-local import is still a cycle in the design (a change to either side can break
the other).  Cycles are checked between modules and between the packages under
``gome_es/`` (a package's ``__init__`` importing its own children is not a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "gome_es"
TOP_LEVEL_ALLOWED = {"__init__.py", "__main__.py", "errors.py", "version.py"}


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in root.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the gome_es modules it imports (anywhere in its source)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        package = module.split(".") if is_package else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (".".join(package[: len(package) - (node.level - 1)] + ([node.module] if node.module else []))
                        if node.level else str(node.module))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in modules:  # "pkg.mod.attr" -> "pkg.mod"
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def module_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # a package's face may import its own children (re-exports); a child importing its package's
    # face is still counted, so the two together are a cycle
    return {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        a = ".".join(module.split(".")[:2])
        for target in targets:
            b = ".".join(target.split(".")[:2])
            if a != b and "gome_es" not in (a, b):  # the package's face and its top-level modules
                out.setdefault(a, set()).add(b)
    return out


def test_no_module_imports_itself_back() -> None:
    found = cycles(module_graph(import_graph()))
    assert not found, f"import cycles between modules (counting imports inside functions and TYPE_CHECKING): {found}"


def test_no_package_imports_itself_back() -> None:
    found = cycles(package_graph(import_graph()))
    assert not found, f"import cycles between packages of gome_es: {found}"


def test_nothing_is_loose_at_the_top_level() -> None:
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name not in TOP_LEVEL_ALLOWED)
    assert not loose, f"modules loose at gome_es/: {loose}; each belongs in a package (driver, report, api, ...)"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "gome_es" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "gome_es"


@pytest.mark.parametrize("files", [
    {"__init__.py": "", "a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"},
    {"__init__.py": "", "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
     "b.py": "import gome_es.a\n"},
    {"__init__.py": "", "p/__init__.py": "", "p/m.py": "from ..q.n import y\n", "q/__init__.py": "",
     "q/n.py": "def g():\n    from gome_es.p import m\n"},
])
def test_a_cycle_hidden_in_a_function_or_type_check_is_seen(tmp_path: Path, files: dict[str, str]) -> None:
    graph = import_graph(_write(tmp_path, files))
    assert cycles(module_graph(graph)) or cycles(package_graph(graph))


def test_a_package_face_re_exporting_its_children_is_not_a_cycle(tmp_path: Path) -> None:
    graph = import_graph(_write(tmp_path, {"__init__.py": "", "p/__init__.py": "from .m import x\n",
                                           "p/m.py": "x = 1\n", "q.py": "from .p import x\n"}))
    assert not cycles(module_graph(graph)) and not cycles(package_graph(graph))
