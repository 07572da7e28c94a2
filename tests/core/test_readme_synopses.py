"""The user guide's command synopses agree with the CLI: every command has one, and the options each
synopsis names are the options the command takes (both ways), so neither can drift from the other.
Every command also has its section in the generated reference, docs/cli.md.

The synopses live in docs/guide.md (the README is a landing page; its short session is checked by
tests/core/test_readme.py).  Read from the click objects behind ``--help`` (the same source
``--help`` prints from).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import pytest

from gome_es.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / "guide.md"
HIDDEN_OK = {"--help", "-h"}


def synopses() -> dict[str, str]:
    """command path ("run", "tasks list") -> the synopsis text (continuation lines joined)."""
    out: dict[str, str] = {}
    lines = GUIDE.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^    gome ([a-z][a-z-]*)\b(.*)$", lines[i])
        if not m:
            i += 1
            continue
        name, rest = m.group(1), m.group(2)
        text = rest.split("#", 1)[0]
        i += 1
        while i < len(lines) and re.match(r"^ {6,}[\[\-|]", lines[i]):  # continuation: deeper, starting [ - or |
            text += " " + lines[i].split("#", 1)[0].strip()
            i += 1
        cmd = cli.commands.get(name)
        if isinstance(cmd, click.Group):  # "tasks list [--json] | show ID [--json] | ..."
            for part in text.split("|"):
                words = part.split()
                if words and words[0] in cmd.commands:
                    out[f"{name} {words[0]}"] = " ".join(words[1:])
        else:
            out[name] = out.get(name, "") + " " + text
    return out


def command(path: str) -> click.Command:
    cmd: click.Command = cli
    for part in path.split():
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
    return cmd


def all_paths() -> list[str]:
    out = []
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            out.extend(f"{name} {sub}" for sub in cmd.commands)
        else:
            out.append(name)
    return sorted(out)


# Documented once for every command ("--db PATH or GOME_DB on every command", in the guide's
# "The log" section), not in each synopsis.
COMMON = {"--db"}


def options_of(cmd: click.Command) -> list[list[str]]:
    """Each visible option as all its spellings (``--output``/``-o``, ``--gpu``/``--no-gpu``)."""
    return [[*p.opts, *p.secondary_opts] for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden and "--help" not in p.opts]


def tokens(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z0-9-]*)", text))


def test_every_command_has_a_synopsis_in_the_guide() -> None:
    missing = set(all_paths()) - set(synopses())
    assert not missing, f"docs/guide.md has no synopsis for: {sorted(missing)}"


def test_every_command_has_its_section_in_the_reference() -> None:
    sections = set(re.findall(r"^## `gome ([a-z -]+)`$", (DOCS / "cli.md").read_text(), re.M))
    missing = set(all_paths()) - sections
    assert not missing, f"docs/cli.md has no section for: {sorted(missing)}; run python -m gome_es.cli.reference > docs/cli.md"


def test_every_option_in_a_synopsis_exists_and_every_option_is_in_its_synopsis() -> None:
    problems = []
    for path, text in synopses().items():
        if path.split()[0] not in cli.commands:
            problems.append(f"docs/guide.md: `gome {path}` is not a command")
            continue
        named = tokens(text)
        spellings = options_of(command(path))
        known = {o for opt in spellings for o in opt}
        if named - known:
            problems.append(f"docs/guide.md `gome {path}` names options the command lacks: {sorted(named - known)}")
        left_out = [opt[0] for opt in spellings if not set(opt) & (named | COMMON)]
        if left_out:
            problems.append(f"`gome {path}` has options its synopsis in docs/guide.md leaves out: {left_out}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_stale_option_and_a_missing_one(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "guide.md"
    fake.write_text("    gome verify RUN [--deep]\n    gome status RUN\n")
    monkeypatch.setattr(sys.modules[__name__], "GUIDE", fake)
    assert {k: v.split() for k, v in synopses().items()} == {"verify": ["RUN", "[--deep]"], "status": ["RUN"]}
    with pytest.raises(AssertionError, match=r"gome verify` names options the command lacks: \['--deep'\]"):
        test_every_option_in_a_synopsis_exists_and_every_option_is_in_its_synopsis()
    with pytest.raises(AssertionError, match="docs/guide.md has no synopsis for"):
        test_every_command_has_a_synopsis_in_the_guide()


def test_the_option_left_out_of_every_synopsis_is_documented_once_for_all() -> None:
    assert "`--db PATH` or `GOME_DB` on every command" in GUIDE.read_text()
