"""`gome import-rdagent`: parse the arguments, call :func:`import_rdagent`, print the summary."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..rdagent.importer import import_rdagent
from .common import db_option, open_store


@click.command("import-rdagent")
@click.argument("logdir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@db_option
@click.option("--run-id", help="Store the run under this id (default: rdagent-<hash of the files>).")
@click.option("--hmac-key", envvar="RDAGENT_HMAC_KEY", show_envvar=True,
              help="Verify every signed file: RD-Agent's ARTIFACT_SIGNING_KEY string, file:PATH for its raw "
                   "key file, or hex:HEX. Without it signatures are recorded as not checked.")
@click.option("--json", "as_json", is_flag=True, help="Print the import summary as JSON.")
def import_rdagent_cmd(logdir: Path, db: Path, run_id: str | None, hmac_key: str | None, as_json: bool) -> None:
    """Import an RD-Agent log folder as a gome run, without running any of its pickle code."""
    with open_store(db, create=True) as store:
        summary = import_rdagent(store, logdir, run_id=run_id, hmac_key=hmac_key)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2, default=str))
        return
    click.echo(f"imported run {summary.run_id}: {summary.events} events from {summary.files} files "
               f"({summary.loops} loops, {summary.traces} traces, {summary.llm_calls} LLM calls) into {db}")
    click.echo(f"signatures: {summary.signatures}")
    for what, why in summary.undecodable:
        click.echo(f"kept opaque: {what}: {why}")
    for what, why in summary.skipped:
        click.echo(f"skipped: {what}: {why}")
    for note in summary.notes:
        click.echo(f"note: {note}")
