"""Every command and every option of the `gome` command line explains itself in --help."""

from __future__ import annotations

import click
from click.testing import CliRunner

from gome_es.cli.main import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_option_has_help_text() -> None:
    missing = [f"gome {' '.join(path)} {'/'.join(p.opts)}"
               for path, cmd in _commands(cli) for p in cmd.params
               if isinstance(p, click.Option) and not p.hidden and not p.help]
    assert not missing, f"options without help: {missing}"


def test_every_command_has_help_and_it_runs() -> None:
    runner = CliRunner()
    commands = list(_commands(cli))
    assert len(commands) >= 15
    for path, cmd in commands:
        assert cmd.help, f"gome {' '.join(path)} has no help text"
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)
