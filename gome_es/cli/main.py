"""The `gome` entry point: one click group whose commands are imported only when used.

`gome --help` and `gome --version` import click and nothing heavy: each command
lives in its module (:data:`COMMANDS` names it, with the one-line help shown in
the command list, which a test keeps equal to the command's own), and the
module is imported when the command runs.  A config file (``gome.toml`` beside
the database, or ``--config``) supplies defaults for any option through click's
``default_map`` (see :mod:`gome_es.cli.config`).
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any

import click

from .. import __version__
from ..errors import GomeError, StoreError

# name -> (module, attribute, the short help `gome --help` lists)
COMMANDS: dict[str, tuple[str, str, str]] = {
    'run': ('gome_es.cli.run_cmds', 'run_cmd',
        'Solve a task: run the agent and print the run id as the last line.'),
    'resume': ('gome_es.cli.run_cmds', 'resume_cmd',
        'Continue an interrupted (crashed, stopped or forked) run from its log.'),
    'show': ('gome_es.cli.run_cmds', 'show_cmd',
        "A run's status, traces, best scores, selected submission and grade."),
    'status': ('gome_es.cli.run_cmds', 'status_cmd',
        'One line: where the run is now.'),
    'replay': ('gome_es.cli.run_cmds', 'replay_cmd',
        "Re-derive every recorded decision with today's code (no LLM, no GPU); exit 1 at the first divergence."),
    'fork': ('gome_es.cli.run_cmds', 'fork_cmd',
        "Make a new run from RUN's events up to SEQ; `gome resume NEW` continues it (what-if)."),
    'runs': ('gome_es.cli.store_cmds', 'runs_cmd',
        'List the runs in the database, one row each.'),
    'steps': ('gome_es.cli.store_cmds', 'steps_cmd',
        'One row per step of a run: trace, iteration, attempt, hypothesis, verdict, score.'),
    'events': ('gome_es.cli.store_cmds', 'events_cmd',
        "Print a run's events in seq order, one readable line each, optionally filtered."),
    'verify': ('gome_es.cli.store_cmds', 'verify_cmd',
        "Check a run's hash chain, rows and every blob it references (present, bytes matching their hash); exit 0 if intact, 1 naming the first bad seq (and, for a blob, the field)."),
    'export': ('gome_es.cli.store_cmds', 'export_cmd',
        'Write one run, with the blobs it references, to a self-contained file (or log it to MLflow).'),
    'import': ('gome_es.cli.store_cmds', 'import_cmd',
        'Import a `gome export` file as a new run (the chain is checked first).'),
    'keygen': ('gome_es.cli.store_cmds', 'keygen_cmd',
        'Make an Ed25519 key pair for signing exports (`gome export --sign PATH`).'),
    'tasks': ('gome_es.cli.tasks_cmd', 'tasks_group',
        'Bundled and MLE-bench competitions: list, inspect, validate and grade submissions.'),
    'exec': ('gome_es.cli.exec_cmd', 'exec_command',
        "Run SOLUTION.py against TASK's public data in the sandbox; print the result and whether the submission is valid (never the test score)."),
    'diff': ('gome_es.cli.diff_cmd', 'diff_cmd',
        'Diff two runs: which inputs differ, then which decisions, step by step.'),
    'import-rdagent': ('gome_es.cli.rdagent_cmd', 'import_rdagent_cmd',
        'Import an RD-Agent log folder as a gome run, without running any of its pickle code.'),
    'report': ('gome_es.cli.report_cmds', 'report_cmd',
        'Write ONE self-contained HTML report of RUN (no network needed to view it): score over time per trace, trace trees, hypotheses with their dimension scores and the draw, success memory, cost and tokens, budget, and the grade against medal thresholds.'),
    'watch': ('gome_es.cli.report_cmds', 'watch_cmd',
        'Live view of RUN from the event log alone: traces, phases, iterations, best scores, budget left and recent events.'),
    'code': ('gome_es.cli.inspect_cmds', 'code_cmd',
        'Print the code of solution SOLUTION_ID (e.g. t1-i2-a0) of run RUN_ID.'),
    'logs': ('gome_es.cli.inspect_cmds', 'logs_cmd',
        "Print the stdout and stderr of solution SOLUTION_ID's execution(s) in run RUN_ID."),
    'gc': ('gome_es.cli.gc_cmd', 'gc_cmd',
        "Remove the workspaces of runs that are gone or finished (keeping each finished run's selected submission); unfinished runs keep theirs, so they can still be resumed."),
    'compare': ('gome_es.cli.compare_cmd', 'compare_cmd',
        'Compare runs, grouped by task and variant: mean ± standard error, paired differences by seed.'),
    'serve': ('gome_es.cli.serve_cmd', 'serve_cmd', 'Start a local web server on the database: the run list with filters, each run\'s report updating live while the run writes (with the per-trace timeline), two-run and many-run comparisons, and sweeps.'),
    'sweep': ('gome_es.cli.sweep_cmd', 'sweep_group',
        'Run every (task, variant, seed) as its own gome run and record the sweep as events.'),
}


def _configure_logging(json_logs: bool, verbose: int) -> None:
    # lazy: keeps gome --help light
    import logging

    # lazy: keeps gome --help light
    import structlog
    from structlog.typing import Processor

    level = logging.WARNING - 10 * verbose
    processors: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def _shorten(text: str, limit: int) -> str:
    """Cut at a word so the line fits, as click does for a command's short help."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 3)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "..."


def _damaged(ctx: click.Context, exc: Exception) -> DamagedDatabase:
    """A database error no command expected (a damaged page, a malformed row, a foreign trigger that
    aborts): exit 2 naming the database and what to do, instead of a traceback."""
    # lazy: keeps gome --help light
    from .config import _db_from_args

    db = _db_from_args(list(ctx.meta.get("gome.args") or []))
    detail = " ".join(str(exc).split())[:300]
    return DamagedDatabase(
        f"the database {db} could not be read or written ({type(exc).__name__}: {detail}); the file is damaged "
        "or was changed by another program. `gome verify RUN --db DB` names the first bad event of a run; "
        "`sqlite3 DB .recover` salvages what is left into a new file; or restore a backup")


class DamagedDatabase(StoreError):
    """SQLite could not read or write the database (a damaged page, a malformed row, a foreign trigger)."""


class GomeClickError(click.ClickException):
    """A GomeError on its way to the terminal, keeping its exit code.

    Made by :func:`fail`, called by :class:`GomeGroup` alone: click declares ``exit_code`` a class variable, so each exit
    code has its own subclass instead of setting it on the instance.
    """

    def __init__(self, error: GomeError) -> None:
        # lazy: keeps gome --help light (only an error needs it)
        from ..trust.text import clean, shorten_long_words

        # messages quote run ids, names and paths others made: cleaned, and a word longer than any
        # id or path (a 120,000-character id typed or imported) shown by its ends and its length
        super().__init__(shorten_long_words(clean(str(error))))


@functools.cache
def _click_error_class(code: int) -> type[GomeClickError]:
    class GomeClickErrorWithCode(GomeClickError):
        exit_code = code

    return GomeClickErrorWithCode


def fail(error: GomeError) -> GomeClickError:
    """The click error that prints ``error`` (cleaned, long words shortened) and exits with its exit code."""
    return _click_error_class(error.exit_code)(error)


class GomeGroup(click.Group):
    """A command group that turns a :class:`~gome_es.errors.GomeError` raised by any of its commands
    into its message and exit code (``GomeError.exit_code``: 2 for trouble, 1 for a broken chain).

    The one place this happens: commands and the helpers they share let the library's errors go.
    ``gome`` itself and its subgroups (``gome tasks``, ``gome sweep``) are GomeGroups, so a subgroup
    invoked on its own (as a test does) answers as it does under ``gome``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GomeError as exc:
            raise fail(exc) from exc


class LazyGroup(GomeGroup):
    """A group that imports a command's module only when the command is looked up."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]] | None = None, **kw: Any) -> None:
        self._lazy = dict(lazy or {})
        self._loaded: dict[str, click.Command] = {}
        super().__init__(*args, **kw)

    # `commands` (click's attribute) loads everything: for tests and tools that walk the tree
    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for name in list(self._lazy):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value or {})

    def _load(self, name: str) -> click.Command | None:
        if name in self._loaded:
            return self._loaded[name]
        spec = self._lazy.get(name)
        if spec is None:
            return None
        module, attr, _ = spec
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # an optional part not installed (or not in this tree)
            if exc.name != module:
                raise
            self._lazy.pop(name)
            return None
        cmd: click.Command = getattr(mod, attr)
        self._loaded[name] = cmd
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        # the words after the group (the config file is found beside the subcommand's --db)
        ctx.meta["gome.args"] = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            sqlite3 = sys.modules.get("sqlite3")  # never imported here: only a command that used it fails so
            if sqlite3 is None or not isinstance(exc, sqlite3.DatabaseError):
                raise
            raise fail(_damaged(ctx, exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._lazy) | set(self._loaded))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = []
        for name in names:
            if name in self._lazy:
                rows.append((name, _shorten(self._lazy[name][2], limit)))
            elif name in self._loaded:
                rows.append((name, self._loaded[name].get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _config_defaults(ctx: click.Context, config: str | None) -> None:
    # lazy: keeps gome --help light
    from ..trust.text import clean
    from .config import ConfigError, load_defaults, problem_for

    try:
        defaults = load_defaults(ctx, config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    # a problem in one table stops only the command it configures; a table naming no command is said
    mine, others = problem_for(ctx, list(ctx.meta.get("gome.args") or []))
    for problem in others:
        click.echo(clean(f"gome: warning: {problem} (the table is ignored)", "line"), err=True)
    if mine:
        raise click.UsageError(mine)
    if defaults:
        ctx.default_map = defaults


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gome")
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="GOME_CONFIG", show_envvar=True,
              help="A TOML file of option defaults ([run] budget = \"1h\" ...); default: gome.toml beside "
                   "the database (--db, $GOME_DB or ./gome.db), if there is one.")
@click.option("--log-json", is_flag=True, help="Diagnostics as JSON lines on stderr.")
@click.option("-v", "--verbose", count=True, help="More diagnostics (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_json: bool, verbose: int) -> None:
    """gome: an event-sourced MLE agent. Every step is an event in one SQLite log,
    so runs resume after a crash, replay without an LLM, and diff event by event.

    Wherever a command takes RUN_ID, a unique prefix of a run's id or @last (the newest run) will
    do; an unknown id is answered with the nearest ones.  Iterations are named as in the solution
    ids (i2 is the iteration of t1-i2-a0, counted from 0); progress counts iterations done (2/4 done)."""
    _config_defaults(ctx, config)
    _configure_logging(log_json, verbose)


if __name__ == "__main__":
    cli()
