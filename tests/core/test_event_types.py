"""Event types are EventType members (core/vocabulary.py), and the views of a run cover every type.

``watch.describe``, the diff and the report each either handle a type or list it here as not
shown, with the reason; a new event type fails these tests until someone decides which.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from gome_es.core.events import EVENT_TYPES
from gome_es.core.vocabulary import EventType

ROOT = Path(__file__).resolve().parents[2] / "gome_es"
ALL = {e.value for e in EventType}

# Types a view does not handle by name, and why.  A type in neither set fails the test below.
NOT_IN_DIFF = {
    # a decision like any other: compared field by field through its declared kind, with no step of its own
    EventType.TraceFinished: "compared as a decision, no special rendering",
}
NOT_IN_REPORT = {
    EventType.DeviceHealthChanged: "the watch and `gome events` show device health; the report shows outcomes",
    EventType.ImportedRecord: "an imported file's own record; the report shows the steps made from it",
}


def _members_named(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "EventType"}


def _module(rel: str) -> ast.Module:
    return ast.parse((ROOT / rel).read_text())


def test_the_enum_is_the_union_of_event_models() -> None:
    assert set(EventType) == set(EVENT_TYPES)
    for member in EventType:
        assert member.name == member.value  # so a stored string finds a member's dict entry (hash by name)
        assert EVENT_TYPES[member].model_fields["type"].default == member.value
    assert {EventType.RunStarted: 1}["RunStarted"] == 1


def test_watch_describe_names_every_type() -> None:
    describe = next(n for n in _module("report/watch.py").body
                    if isinstance(n, ast.FunctionDef) and n.name == "describe")
    assert _members_named(describe) == ALL


@pytest.mark.parametrize("member", list(EventType), ids=str)
def test_watch_describe_says_something_of_its_own_for_each_type(member: EventType) -> None:
    from gome_es.report.watch import describe

    generic = describe(SimpleNamespace(type="NoSuchType", payload={"x": "generic"}))
    line = describe(SimpleNamespace(type=member.value, payload={"x": "generic"}))
    assert isinstance(line, str) and line != generic


def test_the_diff_handles_or_lists_every_type() -> None:
    named = _members_named(_module("analysis/diff.py"))
    assert named | set(NOT_IN_DIFF) == ALL, f"unhandled in analysis/diff.py: {ALL - named - set(NOT_IN_DIFF)}"
    assert not named & set(NOT_IN_DIFF), "a type listed as not in the diff is handled there: drop it from the list"


def test_the_report_handles_or_lists_every_type() -> None:
    named: set[str] = set()
    for path in sorted((ROOT / "report").glob("*.py")):
        if path.name != "watch.py":  # the live view is checked on its own above
            named |= _members_named(ast.parse(path.read_text()))
    assert named | set(NOT_IN_REPORT) == ALL, f"unhandled in report/: {ALL - named - set(NOT_IN_REPORT)}"
    assert not named & set(NOT_IN_REPORT), "a type listed as not in the report is handled there: drop it"


def test_no_module_compares_event_types_as_strings() -> None:
    """Outside the models (core/events.py) and the store (which never imports the domain), a type
    name in a comparison, a collection or a dispatch table is an EventType member."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("core/events.py", "core/vocabulary.py") or rel.startswith("store/"):
            continue
        tree = ast.parse(path.read_text())
        for parent in ast.walk(tree):
            if isinstance(parent, (ast.Compare, ast.Tuple, ast.Set, ast.List, ast.Dict, ast.MatchValue)):
                for child in ast.iter_child_nodes(parent):
                    if isinstance(child, ast.Constant) and child.value in ALL:
                        found.append(f"{rel}:{child.lineno} {child.value!r}")
    assert not found, "use gome_es.core.vocabulary.EventType members: " + ", ".join(found)
