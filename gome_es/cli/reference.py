"""The command reference, generated from the commands' own ``--help``: ``docs/cli.md``.

``python -m gome_es.cli.reference > docs/cli.md`` writes it; a test (and so CI) fails when the
file differs from what the commands say, so the reference cannot drift from the code.
"""

from __future__ import annotations

import click

from .main import cli

HEADER = """# Command reference

Generated from each command's own `--help` by `python -m gome_es.cli.reference > docs/cli.md`;
a test keeps it equal to what the commands say. The README shows a short session; the pages in
`docs/` explain each part.
"""


def _walk(cmd: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    out = [(path, cmd)]
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd, info_name=" ".join(path))
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                out += _walk(sub, path + [name])
    return out


HELP_NAMES = ["-h", "--help"]  # the group's context_settings, which every command inherits


def _help(cmd: click.Command, path: list[str]) -> str:
    parent: click.Context | None = None
    for name in path[:-1]:  # a context chain, so usage lines read `gome sweep report`
        parent = click.Context(click.Command(name), info_name=name, parent=parent, help_option_names=HELP_NAMES)
    ctx = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100,
                        help_option_names=HELP_NAMES)
    return cmd.get_help(ctx).rstrip()


def reference() -> str:
    parts = [HEADER]
    for path, cmd in _walk(cli, ["gome"]):
        title = " ".join(path)
        parts.append(f"## `{title}`\n\n```text\n{_help(cmd, path)}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
