"""Option defaults from a TOML file: ``gome.toml`` beside the database, or ``--config FILE``.

One table per command (``[run]``, ``[diff]``, ``[tasks.list]`` for a subcommand of
a group), keys named as the options are (``max-iterations`` or ``max_iterations``)::

    [run]
    traces = 3
    budget = "1h"
    max-iterations = 8

    [diff]
    fields = true

Values become click's ``default_map``, so they are converted and checked like
typed options and an explicit option on the command line still wins.  A table or
key that names no command or option is an error naming the file and the key, so
a typo does not go unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

CONFIG_NAME = "gome.toml"
DEFAULT_DB = "gome.db"


class ConfigError(Exception):
    """The config file cannot be read or names something gome does not have."""


def _db_from_args(args: list[str]) -> str:
    for i, word in enumerate(args):
        if word == "--db" and i + 1 < len(args):
            return args[i + 1]
        if word.startswith("--db="):
            return word.split("=", 1)[1]
    return os.environ.get("GOME_DB") or DEFAULT_DB


def find_config(ctx: click.Context, explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; pass --config with the path of a TOML "
                              "file, or leave it out to use gome.toml beside the database")
        return path
    db = Path(_db_from_args(list(ctx.meta.get("gome.args") or [])))
    beside = db.parent / CONFIG_NAME
    return beside if beside.is_file() else None


def load_defaults(ctx: click.Context, explicit: str | None) -> dict[str, Any]:
    """The ``default_map`` for the group ``ctx`` from the config file, checked against its commands."""
    path = find_config(ctx, explicit)
    if path is None:
        return {}
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}; fix the TOML (see README, "
                          "'Config file') or pass --config with another file") from None
    group = ctx.command
    assert isinstance(group, click.Group)
    return _check(ctx, group, data, path, prefix="")


def _check(ctx: click.Context, group: click.Group, data: dict[str, Any], path: Path, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, table in data.items():
        where = f"{prefix}{name}"
        cmd = group.get_command(ctx, name)
        if cmd is None:
            raise ConfigError(f"{path}: [{where}] names no gome command; the commands are "
                              f"{', '.join(group.list_commands(ctx))}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {where} must be a table ([{where}] with option = value lines)")
        if isinstance(cmd, click.Group):
            out[name] = _check(ctx, cmd, table, path, prefix=f"{where}.")
            continue
        params = {p.name: p for p in cmd.params if isinstance(p, click.Option)}
        opts = {o.lstrip("-").replace("-", "_"): p.name for p in cmd.params if isinstance(p, click.Option)
                for o in p.opts if o.startswith("--")}
        mapped: dict[str, Any] = {}
        for key, value in table.items():
            norm = key.replace("-", "_")
            target = params.get(norm) and norm or opts.get(norm)
            if target is None:
                known = sorted(o.lstrip("-") for p in cmd.params if isinstance(p, click.Option)
                               for o in p.opts if o.startswith("--"))
                raise ConfigError(f"{path}: [{where}] {key} is not an option of `gome {where.replace('.', ' ')}`;"
                                  f" its options are {', '.join(known)}")
            mapped[target] = value
        out[name] = mapped
    return out
