"""docs/cli.md is what the commands' own --help says (regenerate: python -m gome_es.cli.reference > docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

from gome_es.cli.reference import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_command_reference_is_current() -> None:
    import difflib

    have, want = DOC.read_text(encoding="utf-8"), reference()
    stale = "".join(list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), "docs/cli.md",
                                              "the commands' --help"))[:60])
    assert not stale, f"docs/cli.md is stale: run `python -m gome_es.cli.reference > docs/cli.md`\n{stale}"


def test_every_command_has_a_section() -> None:
    from gome_es.cli.main import COMMANDS

    text = reference()
    for name in COMMANDS:
        assert f"## `gome {name}`" in text
