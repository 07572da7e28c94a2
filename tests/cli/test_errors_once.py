"""A GomeError becomes its message and exit code in one place: the command group (cli/main.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import click
from click.testing import CliRunner

from gome_es.cli.main import GomeGroup, cli
from gome_es.errors import ChainBroken, GomeError, RunNotFound

CLI = Path(__file__).resolve().parents[2] / "gome_es" / "cli"


def _group_raising(error: Exception) -> click.Group:
    @click.group(cls=GomeGroup)
    def group() -> None:
        """A group like `gome`."""

    @group.command("boom")
    def boom() -> None:
        raise error

    return group


def test_a_gome_error_exits_with_its_code_and_its_cleaned_message() -> None:
    res = CliRunner().invoke(_group_raising(GomeError("run r1 \x1b[31mred\x1b[0m: no such thing")), ["boom"])
    assert res.exit_code == 2
    assert "Error: run r1" in res.output and "\x1b" not in res.output and "no such thing" in res.output
    res = CliRunner().invoke(_group_raising(ChainBroken("chain broken at seq 4")), ["boom"])
    assert res.exit_code == 1 and "chain broken at seq 4" in res.output
    res = CliRunner().invoke(_group_raising(RunNotFound("x" * 5000)), ["boom"])
    assert res.exit_code == 2 and "(5,000 characters)" in res.output and "x" * 300 not in res.output


def test_other_exceptions_are_not_turned_into_exit_codes() -> None:
    res = CliRunner().invoke(_group_raising(KeyError("a bug")), ["boom"])
    assert res.exit_code == 1 and isinstance(res.exception, KeyError)  # a bug stays a traceback


def test_gome_and_its_subgroups_are_gome_groups() -> None:
    assert isinstance(cli, GomeGroup)
    for name in ("tasks", "sweep", "runs"):
        assert isinstance(cli.commands[name], GomeGroup), name  # invoked alone, each still answers the same


def test_a_real_command_error_goes_through_the_group(tmp_path) -> None:
    db = tmp_path / "g.db"
    res = CliRunner().invoke(cli, ["show", "nope", "--db", str(db)])
    assert res.exit_code == 2 and ("no gome database" in res.output or "not found" in res.output), res.output


def test_no_command_catches_a_gome_error_to_fail_with_it() -> None:
    """The 28 copies of `except GomeError: raise fail(exc)` are gone: one handler is left, the group's."""
    translating = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and node.type.id == "GomeError":
                calls = [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
                if "fail" in calls:
                    translating.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and any(a.name == "fail" for a in node.names):
                raise AssertionError(f"{path.name}:{node.lineno} imports fail(); let the error go to the group")
    assert len(translating) == 1 and translating[0].startswith("main.py:"), translating
