"""No import cycles in gome_es, deferred or not, and nothing loose at the package's top level.

The graph is built from the source (AST) of every module: imports at the top, inside
functions and under ``TYPE_CHECKING`` all count, since a cycle hidden behind a
function-local import is still a cycle in the design (a change to either side can break
the other).  Cycles are checked between modules and between the packages under
``gome_es/`` (a package's ``__init__`` importing its own children is not a cycle).

An import inside a function must say why it is not at the top, with a ``# lazy:`` comment (it keeps
``gome --help`` light, or waits for an optional or heavy library); and ``gome --help``'s import of the
command line loads none of the heavy libraries.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
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
    """The strongly connected components with more than one node: each is a cycle of imports."""
    g = nx.DiGraph()
    g.add_edges_from((a, b) for a, targets in graph.items() for b in targets)
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


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


# --- function-local imports: each one says why it is not at the top --------------------------------------------------

LAZY_MARK = "# lazy:"
# TODO(issue 26): driver/ and llm/ are being restructured on another branch, which comments their function-local
# imports; empty this once that branch is merged (the test then covers every folder)
LAZY_EXEMPT: tuple[str, ...] = ()


def unexplained_local_imports(root: Path = ROOT) -> list[str]:
    """``file:line`` of each import inside a function with no ``# lazy:`` comment saying why.

    The comment sits at the end of the import's line (or of one of its lines) or on the line just above it;
    a comment above a run of adjacent imports covers the whole run.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if "__pycache__" in path.parts or rel.startswith(LAZY_EXEMPT):
            continue
        lines = path.read_text().splitlines()

        def marked(node: ast.stmt) -> bool:
            return any(LAZY_MARK in line for line in lines[node.lineno - 1: node.end_lineno])

        def visit(node: ast.AST, in_function: bool) -> None:
            for _, value in ast.iter_fields(node):
                if not (isinstance(value, list) and value and isinstance(value[0], ast.stmt)):
                    continue
                previous: ast.stmt | None = None
                covered = False
                for statement in value:
                    if isinstance(statement, (ast.Import, ast.ImportFrom)) and in_function:
                        above = lines[statement.lineno - 2] if statement.lineno > 1 else ""
                        run = (previous is not None and isinstance(previous, (ast.Import, ast.ImportFrom))
                               and previous.end_lineno == statement.lineno - 1)
                        covered = marked(statement) or LAZY_MARK in above or (run and covered)
                        if not covered:
                            found.append(f"{rel}:{statement.lineno}: {lines[statement.lineno - 1].strip()}")
                    previous = statement
            for child in ast.iter_child_nodes(node):
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse("\n".join(lines), str(path)), False)
    return found


def test_every_function_local_import_says_why() -> None:
    found = unexplained_local_imports()
    assert not found, (
        f"{len(found)} import(s) inside functions without a `{LAZY_MARK} why` comment: move each to the top of its "
        "module, or say on its line (or the line above) why it must wait, e.g. `# lazy: keeps gome --help light` or "
        "`# lazy: ray is an optional extra`:\n" + "\n".join(found))


@pytest.mark.parametrize(("source", "bad"), [
    ("def f():\n    import json\n", [2]),
    ("def f():\n    import json  # lazy: measured\n", []),
    ("def f():\n    # lazy: heavy\n    import json\n    from os import path\n\n    import re\n", [6]),
    ("def f():\n    # lazy: heavy\n    x = 1\n    import json\n", [4]),
    ("import json\nif json:\n    import re\nclass C:\n    def m(self):\n        from os import (\n"
     "            path,  # lazy: on a later line of the import\n        )\n", []),
    ("async def f():\n    if True:\n        import json\n", [3]),
    ("f = lambda: __import__('json')\ndef g():\n    def h():\n        import re\n", [4]),
])
def test_an_unexplained_local_import_is_named(tmp_path: Path, source: str, bad: list[int]) -> None:
    root = _write(tmp_path, {"__init__.py": "", "m.py": source})
    assert [int(f.split(":")[1]) for f in unexplained_local_imports(root)] == bad


HEAVY = ("pandas", "numpy", "torch", "sklearn", "ray", "mlflow")


@pytest.mark.integration
def test_the_command_line_imports_nothing_heavy() -> None:
    code = ("import sys, gome_es.cli.main\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT.parent)
    assert out.stdout.strip() == "[]", f"`import gome_es.cli.main` (what `gome --help` runs) imports {out.stdout}"
