"""The `gome` entry point: one click group, each command registered from its module."""

from __future__ import annotations

import logging
import sys

import click
import structlog

from .. import __version__


def _configure_logging(json_logs: bool, verbose: int) -> None:
    level = logging.WARNING - 10 * verbose
    processors = [
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gome")
@click.option("--log-json", is_flag=True, help="Diagnostics as JSON lines on stderr.")
@click.option("-v", "--verbose", count=True, help="More diagnostics (-v info, -vv debug).")
def cli(log_json: bool, verbose: int) -> None:
    """gome: an event-sourced MLE agent. Every step is an event in one SQLite log,
    so runs resume after a crash, replay without an LLM, and diff event by event."""
    _configure_logging(log_json, verbose)


def _register() -> None:
    from .run_cmds import fork_cmd, replay_cmd, resume_cmd, run_cmd, show_cmd, status_cmd
    from .store_cmds import events_cmd, export_cmd, import_cmd, runs_cmd, steps_cmd, verify_cmd

    for cmd in (run_cmd, resume_cmd, show_cmd, status_cmd, replay_cmd, fork_cmd,
                runs_cmd, steps_cmd, events_cmd, verify_cmd, export_cmd, import_cmd):
        cli.add_command(cmd)
    optional = [
        ("gome_es.cli.tasks_cmd", "tasks_group"),
        ("gome_es.cli.exec_cmd", "exec_command"),
        ("gome_es.cli.diff_cmd", "diff_cmd"),
        ("gome_es.rdagent.cli", "import_rdagent_cmd"),
        ("gome_es.cli.report_cmds", "report_cmd"),
        ("gome_es.cli.report_cmds", "watch_cmd"),
        ("gome_es.cli.inspect_cmds", "code_cmd"),
        ("gome_es.cli.inspect_cmds", "logs_cmd"),
    ]
    import importlib

    for module, name in optional:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        cli.add_command(getattr(mod, name))


_register()


if __name__ == "__main__":
    cli()
