"""`gome runs | events | verify | export | import`: the store on the command line.

Each command parses its arguments, makes one library call on
:class:`~gome_es.store.EventStore` and prints.  Registered in
``gome_es.cli.main``; importable on their own for tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..core.canonical import canonical_json
from ..errors import GomeError
from .common import db_option, fail, open_store
from .params import INPUT_FILE, OUTPUT_FILE, RUN_ID


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _live_status(store, summary):
    import dataclasses

    from ..lease import live_status

    if summary.status != "unfinished":
        return summary
    return dataclasses.replace(summary, status=live_status(store, summary.run_id))


@click.command("runs")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def runs_cmd(db: Path, as_json: bool) -> None:
    """List the runs in the database: id, task, status, created, event count."""
    with open_store(db, readonly=True) as store:
        try:
            summaries = [_live_status(store, s) for s in store.runs()]
        except GomeError as exc:
            raise fail(exc) from exc
    if as_json:
        for s in summaries:
            click.echo(canonical_json({"run_id": s.run_id, "task": s.task, "status": s.status,
                                       "created": s.created, "events": s.events,
                                       "last_ts": s.last_ts}))
        return
    if not summaries:
        click.echo(f"no runs in {db}")
        return
    click.echo(f"{'RUN':<28} {'TASK':<24} {'STATUS':<12} {'CREATED':<26} EVENTS")
    for s in summaries:
        click.echo(f"{s.run_id:<28} {s.task or '-':<24} {s.status:<12} {_when(s.created):<26} "
                   f"{s.events}")


@click.command("events")
@click.argument("run_id")
@db_option
@click.option("--trace", "trace_id", help="Only events of this trace.")
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines: seq, type, trace_id, ts, schema_version, payload, hash.")
def events_cmd(run_id: str, db: Path, trace_id: str | None, types: tuple[str, ...],
               as_json: bool) -> None:
    """Print a run's events in seq order, optionally filtered."""
    with open_store(db, readonly=True) as store:
        try:
            store.require_run(run_id)
            for e in store.read(run_id, trace_id=trace_id, types=types or None):
                if as_json:
                    click.echo(canonical_json({"seq": e.seq, "type": e.type, "trace_id": e.trace_id,
                                               "ts": e.ts, "schema_version": e.schema_version,
                                               "payload": e.payload, "hash": e.hash}))
                else:
                    body = canonical_json(e.payload)
                    if len(body) > 100:
                        body = body[:97] + "..."
                    click.echo(f"{e.seq:>6} {_when(e.ts)} {e.trace_id or '-':<10} {e.type:<20} {body}")
        except GomeError as exc:
            raise fail(exc) from exc


@click.command("verify")
@click.argument("run_id")
@db_option
def verify_cmd(run_id: str, db: Path) -> None:
    """Check a run's hash chain, rows and every blob it references (present, bytes matching
    their hash); exit 0 if intact, 1 naming the first bad seq (and, for a blob, the field)."""
    with open_store(db, readonly=True) as store:
        try:
            report = store.verify(run_id)
        except GomeError as exc:
            raise fail(exc) from exc
    if not report.ok:
        click.echo(f"run {run_id}: BROKEN at seq {report.first_bad_seq}: {report.reason} "
                   f"({report.checked} events before it check out)", err=True)
        raise SystemExit(1)
    click.echo(f"run {run_id}: ok, {report.checked} events, {report.blobs} blobs, head {report.head_hash}")


@click.command("export")
@click.argument("run_id")
@db_option
@click.option("-o", "--output", "output", required=True, type=OUTPUT_FILE,
              help="Export file: FILE.jsonl, or FILE.jsonl.gz to compress. Written whole, then renamed "
                   "over FILE; a directory, device or FIFO is refused; a symlink is followed to its target.")
def export_cmd(run_id: str, db: Path, output: Path) -> None:
    """Write one run, with the blobs it references, to a self-contained file."""
    with open_store(db, readonly=True) as store:
        try:
            summary = store.export_run(run_id, output)
        except GomeError as exc:
            raise fail(exc) from exc
    click.echo(f"exported run {run_id}: {summary.events} events, {summary.blobs} blobs, "
               f"{summary.bytes} bytes -> {summary.path}")


@click.command("import")
@click.argument("file", type=INPUT_FILE)
@db_option
@click.option("--run-id", type=RUN_ID,
              help="Store the run under this id instead of the one in the file (up to 100 of "
                   "A-Z a-z 0-9 . _ -).")
@click.option("--no-event-check", is_flag=True,
              help="Skip checking event types and payloads against this gome's vocabulary.")
def import_cmd(file: Path, db: Path, run_id: str | None, no_event_check: bool) -> None:
    """Import a `gome export` file as a new run (the chain is checked first)."""
    with open_store(db, create=True) as store:
        try:
            stored_as = store.import_run(file, run_id=run_id, check_events=not no_event_check)
            count = store.last_seq(stored_as)
        except GomeError as exc:
            raise fail(exc) from exc
    click.echo(f"imported run {stored_as}: {count} events into {db}")


COMMANDS = [runs_cmd, events_cmd, verify_cmd, export_cmd, import_cmd]
