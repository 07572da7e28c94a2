"""docs/cli.md is what the commands' own --help says (regenerate: python -m gome_es.cli.reference > docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.mark.integration
def test_the_command_reference_is_current() -> None:
    import difflib
    import subprocess
    import sys

    # a fresh interpreter, as `python -m gome_es.cli.reference` runs: click caches each command's help
    # option on the command object, so a test that invoked a command alone would change what it prints
    want = subprocess.run([sys.executable, "-m", "gome_es.cli.reference"], capture_output=True, text=True,
                          check=True, cwd=DOC.parents[1]).stdout
    have = DOC.read_text(encoding="utf-8")
    stale = "".join(list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), "docs/cli.md",
                                              "the commands' --help"))[:60])
    assert not stale, f"docs/cli.md is stale: run `python -m gome_es.cli.reference > docs/cli.md`\n{stale}"


def test_every_command_has_a_section() -> None:
    from gome_es.cli.main import COMMANDS

    text = DOC.read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"## `gome {name}`" in text
