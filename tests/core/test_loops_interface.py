"""The loops see the driver only through its public interface (``Drivable`` in driver/loops.py).

Read from the source (AST): loops.py touches no ``_private`` attribute of any object but the
loop's own ``self`` (``getattr`` with a private name counts too), and imports nothing of
driver.py, not even under ``TYPE_CHECKING``.  The driver's public methods are checked to be
what the interface names, so the two cannot drift apart.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from gome_es.driver import loops
from gome_es.driver.driver import Driver

LOOPS = Path(loops.__file__)


def private_accesses(source: str) -> list[str]:
    """``line: expr`` for every ``x._name`` (x not ``self``) and ``getattr(x, "_name")`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Attribute):
            owner_is_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            if not owner_is_self:
                name = node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            name = node.args[1].value
        if name and name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def imported_modules(source: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
            out.update("." * node.level + (node.module + "." if node.module else "") + a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_loops_touch_no_private_attribute_of_the_driver() -> None:
    found = private_accesses(LOOPS.read_text())
    assert not found, f"{LOOPS.name} reaches into private attributes (use the Drivable interface): {found}"


def test_the_loops_import_nothing_of_the_driver_module() -> None:
    names = imported_modules(LOOPS.read_text())
    bad = sorted(n for n in names if n in (".driver", "gome_es.driver.driver") or n.startswith(".driver.")
                 or n.startswith("gome_es.driver.driver."))
    assert not bad, f"{LOOPS.name} imports the driver module: {bad}"


@pytest.mark.parametrize("planted", [
    "def f(d):\n    with d._lock:\n        pass\n",
    "class L:\n    def __init__(self, d):\n        self.d = d\n    def f(self):\n        return self.d._stop.is_set()\n",
    "def f(d):\n    return getattr(d, '_llm_failures', 0)\n",
])
def test_the_check_sees_a_private_access(planted: str) -> None:
    assert private_accesses(planted)


def test_the_loop_may_use_its_own_private_helpers() -> None:
    assert not private_accesses("class L:\n    def f(self):\n        return self._count('x') + len(self.d.state.llm)\n")


def test_the_driver_has_every_member_the_interface_names() -> None:
    wanted = {n for n, _ in inspect.getmembers(loops.Drivable) if not n.startswith("_")}
    assert wanted, "Drivable names no member"
    missing = sorted(n for n in wanted if not hasattr(Driver, n) and n not in ("state", "opts"))
    assert not missing, f"Driver lacks {missing}, which driver/loops.py's Drivable names"
    for name in sorted(wanted - {"state", "opts"}):
        ours = getattr(Driver, name)
        theirs = getattr(loops.Drivable, name)
        if callable(theirs):
            want = list(inspect.signature(theirs).parameters)
            got = list(inspect.signature(ours).parameters)
            assert got == want, f"Driver.{name}{inspect.signature(ours)} differs from Drivable.{name}"
