"""`gome code RUN SOLUTION_ID` and `gome logs RUN SOLUTION_ID`: what a solution was and what it said.

The code and the logs live in the content-addressed ``blobs`` table (zlib, so the
`sqlite3` shell cannot read them); these commands find the events that name them
and print the text.  An LLM wrote the code and a solution wrote the logs, so both
go through the one sanitizer (:mod:`gome_es.trust.text`: escape sequences removed,
other non-printing characters shown escaped); ``--raw`` writes the recorded bytes
unchanged, for redirection into a file.  Library (:mod:`gome_es.api.database`): ``solution_code``,
``solution_logs``, ``solution_code_bytes``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..api.database import solution_code_bytes, solution_logs
from ..report.textfmt import duration
from ..trust.text import clean
from .common import db_option, open_store, run_id_argument

RAW_HELP = ("Write the recorded bytes unchanged, escape sequences included, for redirection into a file "
            "(without it, escape sequences are removed and other non-printing characters shown escaped).")


def _write_raw(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@click.command("code")
@run_id_argument()
@click.argument("solution_id")
@db_option
@click.option("--raw", is_flag=True, help=RAW_HELP)
def code_cmd(run_id: str, solution_id: str, db: Path, raw: bool) -> None:
    """Print the code of solution SOLUTION_ID (e.g. t1-i2-a0) of run RUN_ID."""
    with open_store(db, readonly=True) as store:
        data = solution_code_bytes(store, run_id, solution_id)
    if raw:
        _write_raw(data)
        return
    text = clean(data)
    click.echo(text, nl=not text.endswith("\n"))


@click.command("logs")
@run_id_argument()
@click.argument("solution_id")
@db_option
@click.option("--stream", type=click.Choice(["both", "stdout", "stderr"]), default="both", show_default=True,
              help="Which output to print.")
@click.option("--raw", is_flag=True,
              help=RAW_HELP + " Needs --stream stdout or --stream stderr; with several executions, the bytes "
                   "of each follow one another, in seq order.")
def logs_cmd(run_id: str, solution_id: str, db: Path, stream: str, raw: bool) -> None:
    """Print the stdout and stderr of solution SOLUTION_ID's execution(s) in run RUN_ID.

    Output is captured head + tail (the executor's limit), as the agent saw it.
    """
    if raw and stream == "both":
        raise click.UsageError("--raw writes the bytes of one stream: add --stream stdout or --stream stderr")
    with open_store(db, readonly=True) as store:
        runs = solution_logs(store, run_id, solution_id, raw=raw)
    if raw:
        for r in runs:
            _write_raw(r[stream])
        return
    for r in runs:
        for name in ("stdout", "stderr"):
            r[name] = clean(r[name])
    for i, r in enumerate(runs):
        if len(runs) > 1 or stream == "both":
            click.echo(f"== {clean(solution_id, 'line', 80)} execution {clean(r['key'], 'line')} (seq {r['seq']}): "
                       f"{clean(r['failure'], 'line')}, exit "
                       f"{r['exit_code']}, {duration(r['duration_s'])}")
        for name in (("stdout", "stderr") if stream == "both" else (stream,)):
            if stream == "both":
                click.echo(f"-- {name} " + ("(empty)" if not r[name] else ""))
            if r[name]:
                click.echo(r[name], nl=not r[name].endswith("\n"))
