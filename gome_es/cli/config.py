"""Option defaults from a TOML file: ``gome.toml`` beside the database, or ``--config FILE``.

One table per command (``[run]``, ``[diff]``, ``[tasks.list]`` for a subcommand of
a group), keys named as the options are (``max-iterations`` or ``max_iterations``)::

    [run]
    traces = 3
    budget = "1h"
    max-iterations = 8

    [diff]
    fields = true

Values become click's ``default_map``, checked here by their option's type, so a bad
value is reported as the file, table and key the user wrote; an explicit option on the
command line still wins.  A group that runs itself (``gome sweep``) takes its own options
in its table beside its subcommands' tables (``[sweep] budget = "30s"``, ``[sweep.status]``).
A key that names no option, or a bad value, stops only the command whose table it is in
(:func:`problem_for`); a table that names no command is a warning, so a typo does not go
unnoticed and does not stop unrelated commands.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import click

from ..errors import GomeError

CONFIG_NAME = "gome.toml"
DEFAULT_DB = "gome.db"
MAX_CONFIG_BYTES = 1 << 20  # a config file of option defaults is a few hundred bytes
# options a config file may not set: they are the user's answer to what the file itself asks for
COMMAND_LINE_ONLY = {"trust_config"}


class ConfigError(GomeError):
    """The config file cannot be read or names something gome does not have."""


def _db_from_args(args: list[str]) -> str:
    for i, word in enumerate(args):
        if word == "--db" and i + 1 < len(args):
            return args[i + 1]
        if word.startswith("--db="):
            return word.split("=", 1)[1]
    return os.environ.get("GOME_DB") or DEFAULT_DB


def _what_it_is(path: Path) -> str | None:
    """Why ``path`` cannot be read as a config file (what it is instead), or None for a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        return "missing: it does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops (it leads back to itself)"
        if exc.errno == errno.ENAMETOOLONG:
            return "a name too long for the file system"
        return f"not readable ({exc.strerror})"
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(st.st_mode):
            return name
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size > MAX_CONFIG_BYTES:
        return f"a file of {st.st_size:,} bytes, more than a config file of option defaults ever needs " \
               f"({MAX_CONFIG_BYTES:,})"
    return None


def find_config(ctx: click.Context, explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        what = _what_it_is(path)
        if what is not None:
            said = f"{str(path)[:300]} does not exist" if what.startswith("missing") else f"{str(path)[:300]} is {what}"
            raise ConfigError(f"config file {said}; pass --config with the path of a TOML "
                              "file, or leave it out to use gome.toml beside the database")
        return path
    db = Path(_db_from_args(list(ctx.meta.get("gome.args") or [])))
    beside = db.parent / CONFIG_NAME
    if not os.path.lexists(beside):
        return None
    what = _what_it_is(beside)
    if what is not None:
        raise ConfigError(f"{beside} (the config file beside the database) is {what}; remove it, or pass "
                          "--config with the path of a TOML file")
    return beside


def _read(path: Path) -> str:
    """The file's text, read without ever blocking (a FIFO swapped in after the check opens at once and
    is refused) and never more than :data:`MAX_CONFIG_BYTES`."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise OSError(errno.EFBIG, f"more than {MAX_CONFIG_BYTES:,} bytes")
    return data.decode("utf-8")


def load_defaults(ctx: click.Context, explicit: str | None) -> dict[str, Any]:
    """The ``default_map`` for the group ``ctx`` from the config file, checked against its commands.

    A file that cannot be read fails every command.  A problem inside one table (an unknown key, a
    value its option refuses) is kept in ``ctx.meta["gome.config_problems"]`` under the command's
    name, so only that command fails (:func:`problem_for`); the table is left out of the defaults."""
    path = find_config(ctx, explicit)
    if path is None:
        return {}
    # lazy: keeps gome <cmd> --help light
    import tomllib

    try:
        data = tomllib.loads(_read(path))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}; fix the TOML (see docs/guide.md, "
                          "'Config file') or pass --config with another file") from None
    except RecursionError:
        raise ConfigError(f"config file {path} nests tables or arrays too deeply to read; a config file "
                          "holds one table per command with option = value lines (see docs/guide.md, 'Config file')"
                          ) from None
    ctx.meta["gome.config"] = os.path.abspath(path)  # named at the start of every run (see .origins)
    group = ctx.command
    assert isinstance(group, click.Group)
    problems: dict[str, tuple[bool, str]] = {}
    out = _check(ctx, group, data, path, prefix="", problems=problems)
    ctx.meta["gome.config_problems"] = problems
    return out


def problem_for(ctx: click.Context, words: list[str]) -> tuple[str | None, list[str]]:
    """The config problem that stops the command the words after the group name (``["sweep",
    "status", ...]``): one in its own table; and the tables that name no command (worth a warning,
    no reason to stop a command they are not about).  A problem in another command's table waits
    until that command runs."""
    problems: dict[str, tuple[bool, str]] = ctx.meta.get("gome.config_problems") or {}
    group: click.Command | None = ctx.command
    path: list[str] = []
    for word in words:
        sub = group.get_command(ctx, word) if isinstance(group, click.Group) else None
        if sub is None:
            break
        path.append(word)
        group = sub
    where = ".".join(path)
    mine = problems[where][1] if where in problems else None
    others = [text for name, (unknown, text) in problems.items() if unknown and name != where]
    return mine, others


def _check_value(ctx: click.Context, cmd: click.Command, param: click.Parameter, value: Any, path: Path,
                 where: str, key: str) -> None:
    """A value its option would refuse, refused here naming the file, the table and the key (not an
    option the user never typed)."""
    if isinstance(value, (dict, list)) and not (isinstance(value, list) and param.multiple):
        raise ConfigError(f"{path}: [{where}] {key} = {str(value)[:80]} is not a single value; give "
                          f"`{key} = VALUE` as on the command line")
    try:
        param.type_cast_value(click.Context(cmd, parent=ctx, info_name=where.split(".")[-1]), value)
    except click.BadParameter as exc:
        raise ConfigError(f"{path}: [{where}] {key} = {value!r}: {exc.message}") from None


def _check(ctx: click.Context, group: click.Group, data: dict[str, Any], path: Path, prefix: str,
           problems: dict[str, tuple[bool, str]]) -> dict[str, Any]:
    """The default map of the tables in ``data``; a table with a problem is left out and its problem
    recorded under its dotted name, (True, text) when the table names no command at all."""
    out: dict[str, Any] = {}
    for name, table in data.items():
        where = f"{prefix}{name}"
        cmd = group.get_command(ctx, name)
        if cmd is None:
            problems[where] = (True, f"{path}: [{where}] names no gome command; the commands are "
                                     f"{', '.join(group.list_commands(ctx))}")
            continue
        try:
            out[name] = _table(ctx, cmd, table, path, where, problems)
        except ConfigError as exc:
            problems[where] = (False, str(exc))
    return out


def _table(ctx: click.Context, cmd: click.Command, table: Any, path: Path, where: str,
           problems: dict[str, tuple[bool, str]]) -> dict[str, Any]:
    """One command's table as its default map, or :class:`ConfigError` naming the file, table and key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} must be a table ([{where}] with option = value lines)")
    sub: dict[str, Any] = {}
    if isinstance(cmd, click.Group):
        # a group's table holds its subcommands' tables ([sweep.status]) and, for a group that runs
        # itself (`gome sweep --budget 30s`), its own options ([sweep] budget = "30s")
        subtables = {k: v for k, v in table.items() if isinstance(v, dict)}
        sub = _check(ctx, cmd, subtables, path, f"{where}.", problems) if subtables else {}
        table = {k: v for k, v in table.items() if not isinstance(v, dict)}
        try:
            return {**sub, **_options(ctx, cmd, table, path, where)} if table else sub
        except ConfigError as exc:  # the group's own options are wrong: its subcommands' tables still count
            problems[where] = (False, str(exc))
            return sub
    return _options(ctx, cmd, table, path, where)


def _options(ctx: click.Context, cmd: click.Command, table: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
    """A table of option values (no subtables) as a default map, each key and value checked."""
    if isinstance(cmd, click.Group):
        if not cmd.invoke_without_command:
            key = next(iter(table))
            raise ConfigError(f"{path}: [{where}] {key} names no subcommand of `gome {where}` (a table, "
                              f"[{where}.NAME]) and `gome {where}` has no options of its own; its "
                              f"subcommands are {', '.join(cmd.list_commands(ctx))}")
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
        if target in COMMAND_LINE_ONLY:
            raise ConfigError(f"{path}: [{where}] {key} can only be given on the command line: it says "
                              "whether to trust what this file sets")
        param = next(p for p in cmd.params if p.name == target)
        _check_value(ctx, cmd, param, value, path, where, key)
        mapped[target] = value
    return mapped
