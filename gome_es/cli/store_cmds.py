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
from ..store import EventStore
from .common import check_filter, db_option, fail, open_store, run_id_argument
from .params import INPUT_FILE, OUTPUT_FILE, RUN_ID


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _live_status(store, summary):
    import dataclasses

    from ..lease import live_status

    if summary.status != "unfinished":
        return summary
    return dataclasses.replace(summary, status=live_status(store, summary.run_id))


RUN_COLUMNS = ("run_id", "task", "strategy", "reasoner", "model", "seed", "status", "duration_s",
               "iterations", "max_iterations", "traces", "best_val_score", "selected", "test_score", "medal",
               "metric", "lower_is_better", "cost_usd", "events", "started", "last_ts", "forked_from",
               "code_version")


def _run_status(store, row) -> str:
    from ..lease import live_status

    if row["status"] != "unfinished":
        return row["status"]
    status = live_status(store, row["run_id"])
    if status == "interrupted" and row.get("forked_from") and not row.get("resumes"):
        return "forked"  # a fork nobody resumed yet: nothing was interrupted
    return status


@click.command("runs")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run per line (every column).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row (every column), for pandas.")
@click.option("--task", "task", help="Only runs of this task.")
def runs_cmd(db: Path, as_json: bool, as_csv: bool, task: str | None) -> None:
    """List the runs in the database, one row each.

    Columns: run, task, strategy, reasoner, seed, status, duration, iterations
    done (of the maximum per trace x traces), best validation score, test score
    and medal.  --json/--csv add model, metric, direction, cost, events, start
    and end times, fork origin and code version.  The same rows are the SQL
    view runs_v.
    """
    from ..tables import run_rows
    from ..textfmt import NOTHING, duration, score, text
    from ..trust.text import clean

    with open_store(db, readonly=True) as store:
        try:
            rows = run_rows(store)
            for r in rows:
                r["status"] = _run_status(store, r)
        except GomeError as exc:
            raise fail(exc) from exc
    if task:
        rows = [r for r in rows if r["task"] == task]
    if as_json:
        for r in rows:
            click.echo(clean(canonical_json({**{k: r.get(k) for k in RUN_COLUMNS}, "created": r.get("started")}),
                             "json"))
        return
    if as_csv:
        _write_csv(rows, RUN_COLUMNS)
        return
    if not rows:
        click.echo(clean(f"no runs in {db}" + (f" for task {task}" if task else "")))
        return
    table = [("RUN", "TASK", "STRATEGY", "REASONER", "SEED", "STATUS", "DURATION", "ITERS", "BEST VAL",
              "TEST", "MEDAL")]
    for r in rows:
        cap = (r["max_iterations"] or 0) * (r["traces"] or 0)
        table.append((text(r["run_id"], 28), text(r["task"], 26), text(r["strategy"]), text(r["reasoner"]),
                      text(r["seed"]), r["status"], duration(r["duration_s"]),
                      f"{r['iterations'] or 0}/{cap}" if cap else text(r["iterations"]),
                      score(r["best_val_score"]), score(r["test_score"]), text(r["medal"] or NOTHING)))
    _print_table(table, right={"SEED", "DURATION", "ITERS", "BEST VAL", "TEST"})


def _print_table(table, right=frozenset()) -> None:
    from ..trust.text import clean

    table = [tuple(clean(c, "line") for c in row) for row in table]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [str(c).rjust(w) if table[0][i] in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        click.echo("  ".join(cells).rstrip())


def _write_csv(rows, columns) -> None:
    """CSV on stdout; every text cell through the one sanitizer (a model name can come from an import)."""
    import csv
    import sys

    from ..trust.text import clean

    out = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    out.writeheader()
    for r in rows:
        out.writerow({k: "" if r.get(k) is None else clean(r[k]) if isinstance(r.get(k), str) else r.get(k)
                      for k in columns})


STEP_COLUMNS = ("trace", "iteration", "attempt", "solution_id", "hypothesis", "component", "drawn", "candidates",
                *(f"score_{d}" for d in ("alignment", "impact", "novelty", "feasibility", "risk_reward")),
                "score_total", "val_score", "verdict", "rejected_at", "failure", "exit_code", "duration_s",
                "cost_usd", "tokens", "executions", "summary", "seq")


@click.command("steps")
@run_id_argument()
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per step per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, for pandas.")
@click.option("--trace", "trace_id", help="Only steps of this trace.")
def steps_cmd(run_id: str, db: Path, as_json: bool, as_csv: bool, trace_id: str | None) -> None:
    """One row per step of a run: trace, iteration, attempt, hypothesis, verdict, score.

    --csv/--json add the component, the drawn candidate and its dimension
    scores, the rejection level, failure class, duration, LLM cost and tokens.
    The same rows are the SQL view steps_v.
    """
    from ..core.views import iteration_label
    from ..tables import step_rows
    from ..textfmt import NOTHING, duration, hypothesis_text, money, score, text
    from ..trust.text import clean

    with open_store(db, readonly=True) as store:
        try:
            store.require_run(run_id)
            rows = step_rows(store, run_id)
        except GomeError as exc:
            raise fail(exc) from exc
    if trace_id is not None:
        check_filter("--trace", trace_id, sorted({str(r["trace"]) for r in rows}), what="trace",
                     where=f"run {run_id}" + ("" if rows else " (no steps yet)"))
        rows = [r for r in rows if r["trace"] == trace_id]
    for r in rows:
        for d in ("alignment", "impact", "novelty", "feasibility", "risk_reward"):
            r[f"score_{d}"] = r["scores"].get(d)
    if as_json:
        for r in rows:
            click.echo(clean(canonical_json({k: r.get(k) for k in STEP_COLUMNS}), "json"))
        return
    if as_csv:
        _write_csv(rows, STEP_COLUMNS)
        return
    if not rows:
        click.echo(clean(f"run {run_id} has no steps yet"))
        return
    import shutil

    width = max(100, shutil.get_terminal_size((140, 24)).columns)
    any_cost = any(r.get("cost_usd") for r in rows)
    head = ["TRACE", "IT", "ATT", "VAL", "VERDICT", "FAILURE", "TIME"] + (["COST"] if any_cost else [])
    table = [tuple(head + ["HYPOTHESIS"])]
    for r in rows:
        verdict = ("accepted" if r["accepted"] else f"rejected: {r['rejected_at']}") if r["verdict"] else NOTHING
        it = r["iteration"]
        cells = [r["trace"], iteration_label(it) if isinstance(it, int) else text(it), str(r["attempt"]), score(r["val_score"]), verdict,
                 text(r["failure"]), duration(r["duration_s"])] + ([money(r["cost_usd"])] if any_cost else [])
        table.append(tuple(cells + [hypothesis_text(r["hypothesis"])]))
    used = sum(max(len(str(row[i])) for row in table) + 2 for i in range(len(head)))
    table = [row[:-1] + (text(row[-1], max(20, width - used)),) for row in table]
    _print_table(table, right={"IT", "ATT", "VAL", "TIME", "COST"})


def _values(store: EventStore, run_id: str, column: str) -> list[str]:
    """The distinct values of one events column in a run (its traces, its event types), sorted."""
    assert column in ("trace_id", "type")
    return sorted(str(r[0]) for r in store.query(
        f"SELECT DISTINCT {column} FROM events WHERE run_id = ? AND {column} IS NOT NULL", (run_id,)))


@click.command("events")
@run_id_argument(sweeps=True)
@db_option
@click.option("--trace", "trace_id", help="Only events of this trace.")
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines: seq, type, trace_id, ts, schema_version, payload, hash.")
def events_cmd(run_id: str, db: Path, trace_id: str | None, types: tuple[str, ...],
               as_json: bool) -> None:
    """Print a run's events in seq order, one readable line each, optionally filtered.

    Each line: seq, local time, trace, type and what happened (the summaries of
    `gome watch`).  --json prints every event whole, for scripts.
    """
    import shutil

    from ..report.watch import clean, describe
    from ..trust.text import clean as sanitize

    width = max(80, shutil.get_terminal_size((120, 24)).columns)
    with open_store(db, readonly=True) as store:
        try:
            store.require_run(run_id)
            if trace_id is not None:
                check_filter("--trace", trace_id, _values(store, run_id, "trace_id"), what="trace",
                             where=f"run {run_id}")
            if types:
                from ..core.events import EVENT_TYPES

                known = sorted(set(EVENT_TYPES) | set(_values(store, run_id, "type")))
                check_filter("--type", types, known, what="event type", where="gome's log")
            for e in store.read(run_id, trace_id=trace_id, types=types or None):
                if as_json:
                    click.echo(sanitize(canonical_json({"seq": e.seq, "type": e.type, "trace_id": e.trace_id,
                                                        "ts": e.ts, "schema_version": e.schema_version,
                                                        "payload": e.payload, "hash": e.hash}), "json"))
                else:
                    stamp = dt.datetime.fromtimestamp(e.ts).strftime("%H:%M:%S")
                    head = f"{e.seq:>6} {stamp} {clean(e.trace_id or '-', 6):<6} {clean(e.type, 20):<20} "
                    click.echo(head + clean(describe(e), max(20, width - len(head))))
        except GomeError as exc:
            raise fail(exc) from exc


@click.command("verify")
@run_id_argument(sweeps=True)
@db_option
def verify_cmd(run_id: str, db: Path) -> None:
    """Check a run's hash chain, rows and every blob it references (present, bytes matching
    their hash); exit 0 if intact, 1 naming the first bad seq (and, for a blob, the field)."""
    from ..trust.text import clean

    with open_store(db, readonly=True) as store:
        try:
            report = store.verify(run_id)
        except GomeError as exc:
            raise fail(exc) from exc
    if not report.ok and report.first_bad_seq is None:  # the chain holds; the database does not
        click.echo(clean(f"run {run_id}: NOT OK: {report.reason} ({report.checked} events check out)"), err=True)
        raise SystemExit(1)
    if not report.ok:
        click.echo(clean(f"run {run_id}: BROKEN at seq {report.first_bad_seq}: {report.reason} "
                         f"({report.checked} events before it check out)"), err=True)
        raise SystemExit(1)
    click.echo(clean(f"run {run_id}: ok, {report.checked} events, {report.blobs} blobs, head {report.head_hash}"))


@click.command("export")
@run_id_argument(sweeps=True)
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
    from ..trust.text import clean

    click.echo(clean(f"imported run {stored_as}: {count} events into {db}"))


COMMANDS = [runs_cmd, steps_cmd, events_cmd, verify_cmd, export_cmd, import_cmd]
