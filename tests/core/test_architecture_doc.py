"""docs/architecture.md tells the truth about the layers: every import between two packages of
gome_es is one its table allows, every package has a row and a line in the layout, and every
path the page names exists.

The imports are read as ``tests/core/test_import_graph.py`` reads them (every ``import`` in the
source, inside functions and under ``TYPE_CHECKING`` too), so the table cannot hide an edge.
"""

from __future__ import annotations

import re

import pytest

from tests.core.test_import_graph import ROOT, import_graph, package_graph

DOC = ROOT.parent / "docs" / "architecture.md"
TOP_LEVEL = {"errors", "version"}  # modules at gome_es/ that packages import; `errors` is open to all


def packages() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}


def allowed(text: str) -> dict[str, set[str]]:
    """package -> what its row of the table says it may import (words in parentheses are notes)."""
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"^\| `(\w+)` \| (.+?) \|$", text, re.M):
        words = re.sub(r"\([^)]*\)", "", m.group(2))
        out[m.group(1)] = {w for w in re.findall(r"[a-z_]+", words) if w in packages() | TOP_LEVEL}
    return out


def undocumented(graph: dict[str, set[str]], table: dict[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(graph.items()):
        a = source.removeprefix("gome_es.")
        if a in TOP_LEVEL or a == "__main__":
            continue
        for target in sorted(targets):
            b = target.removeprefix("gome_es.")
            if b != "errors" and b not in table.get(a, set()):
                problems.append(f"{a} imports {b}")
    return problems


def test_every_import_between_packages_is_one_the_table_allows() -> None:
    problems = undocumented(package_graph(import_graph()), allowed(DOC.read_text()))
    assert not problems, (
        "imports between packages that docs/architecture.md's table does not allow: " + "; ".join(problems)
        + ". Add the edge to the table if it is meant (test_import_graph refuses it if it closes a cycle), "
        "or import from a lower layer.")


def test_every_package_has_a_row_and_a_line_in_the_layout() -> None:
    text = DOC.read_text()
    rows = set(allowed(text))
    layout = set(re.findall(r"^ {6}(\w+)/", text, re.M))
    assert packages() - rows == set(), f"packages without a row in the table: {sorted(packages() - rows)}"
    assert packages() - layout == set(), f"packages missing from the layout: {sorted(packages() - layout)}"
    assert rows - packages() == set(), f"rows for packages that do not exist: {sorted(rows - packages())}"


def test_the_check_sees_an_edge_the_table_leaves_out() -> None:
    table = allowed("| `core` | nothing else (`errors`, the package version) |\n| `store` | core (`canonical` only), trust |\n")
    assert table == {"core": set(), "store": {"core", "trust"}}
    graph = {"gome_es.core": {"gome_es.errors", "gome_es.store"}, "gome_es.store": {"gome_es.core", "gome_es.trust"}}
    assert undocumented(graph, table) == ["core imports store"]


REPO = ROOT.parent
IN_THE_WHEEL_ONLY = {"gome_es/_migrations"}  # where the wheel carries migrations/


@pytest.mark.parametrize("doc", ["docs/architecture.md", "README.md", "docs/guide.md"])
def test_every_source_path_a_page_names_exists(doc: str) -> None:
    """`gome_es/...`, `tests/...`, `benchmarks/...`, `replays/...` and `docs/...` paths, and paths
    relative to gome_es/ (`core/events.py`, `driver/loops.py`) in the architecture page."""
    text = (REPO / doc).read_text()
    named = set(re.findall(r"`((?:gome_es|tests|benchmarks|replays|docs)/[\w./-]+?)`", text))
    if doc == "docs/architecture.md":
        named |= {f"gome_es/{p}" for p in re.findall(r"`((?:%s)/[\w./-]+\.py)`" % "|".join(packages()), text)}
    missing = sorted(p for p in named - IN_THE_WHEEL_ONLY if not (REPO / p.rstrip("/")).exists())
    assert not missing, f"{doc} names paths that do not exist: {missing}"
