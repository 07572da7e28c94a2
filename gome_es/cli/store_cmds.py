"""`gome runs | events | verify | export | import | keygen`: the store on the command line.

Each command parses its arguments, makes one library call on
:class:`~gome_es.store.EventStore` and prints.  Registered in
``gome_es.cli.main``; importable on their own for tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from ..analysis.plain_words import short_verdict
from ..core.canonical import canonical_json
from ..core.vocabulary import DIMENSIONS
from ..errors import GomeError
from ..store import EventStore
from ..store.exchange import check_stored_signature, stored_signature
from ..store.runids import resolve_run_id
from ..trust.text import clean
from .common import check_filter, db_option, open_store, run_id_argument
from .main import GomeGroup
from .params import INPUT_FILE, OUTPUT_FILE, RUN_ID

if TYPE_CHECKING:
    from ..driver.lease import LeaseGrant

_F = TypeVar("_F", bound=Callable[..., Any])


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


RUN_COLUMNS = ("run_id", "task", "strategy", "reasoner", "model", "seed", "status", "duration_s", "downtime_s",
               "iterations", "max_iterations", "traces", "best_val_score", "selected", "test_score", "medal",
               "metric", "lower_is_better", "cost_usd", "events", "started", "last_ts", "forked_from",
               "code_version", "sweep", "variant", "tags", "note")

# the columns shortened when the table is wider than the terminal (run and sweep ids never are)
SHRINKABLE = ("NOTE", "TAGS", "TASK", "STRATEGY", "REASONER", "VARIANT", "MEDAL")


@click.group("runs", cls=GomeGroup, invoke_without_command=True)
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run per line (every column).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row (every column), for pandas.")
@click.option("--task", "task", help="Only runs of this task.")
@click.option("--sweep", "sweep", metavar="SWEEP_ID",
              help="Only the cells of this sweep: its whole id, a unique prefix of it, or @last (the newest).")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only runs tagged TAG (`gome runs tag`); repeat to require several tags.")
@click.pass_context
def runs_cmd(ctx: click.Context, db: Path, as_json: bool, as_csv: bool, task: str | None, sweep: str | None,
             tags: tuple[str, ...]) -> None:
    """List the runs in the database, one row each.

    Columns: run, task, strategy, reasoner, seed, status, duration, iterations
    done (of the maximum per trace x traces), best validation score, test score
    and medal; for a sweep's cells their sweep and variant, and tags and notes
    when runs have any.  Run ids are printed whole: other columns are shortened
    to fit the terminal.  Sweeps themselves are listed by `gome sweep status`.
    --json/--csv add model, metric, direction, cost, events, start and end
    times, fork origin and code version.  The rows are the SQL view runs_v
    plus status, sweep, variant, tags and note, as gome.open(DB).runs() gives.

    The subcommands delete, rename, tag, untag and note change runs.
    """
    ctx.ensure_object(dict)["runs_db"] = db
    if ctx.invoked_subcommand is not None:
        return
    # lazy: keeps gome <cmd> --help light
    from ..report.tables import run_listing

    with open_store(db, readonly=True) as store:
        rows = run_listing(store, task=task, sweep=sweep)
    if tags:
        rows = [r for r in rows if set(tags) <= set(r["tags"])]
    if as_json:
        for r in rows:
            click.echo(clean(canonical_json({**{k: r.get(k) for k in RUN_COLUMNS}, "created": r.get("started")}),
                             "json"))
        return
    if as_csv:
        _write_csv([{**r, "tags": ",".join(r["tags"])} for r in rows], RUN_COLUMNS)
        return
    if not rows:
        what = [f"task {task}"] * bool(task) + [f"sweep {sweep}"] * bool(sweep) + [f"tag {t}" for t in tags]
        click.echo(clean(f"no runs in {db}" + (f" for {', '.join(what)}" if what else "")))
        return
    _print_table(_runs_table(rows), right={"SEED", "DURATION", "ITERS", "BEST VAL", "TEST"},
                 fit=SHRINKABLE)


def _sub_db(func: _F) -> _F:
    """``--db`` on a `gome runs` subcommand; when left out, the one given to `gome runs` (or ./gome.db)."""
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="The gome event database (default: the --db given to `gome runs`, $GOME_DB, "
                             "or ./gome.db).")(func)


def _db_of(ctx: click.Context, db: Path | None) -> Path:
    return db if db is not None else Path((ctx.obj or {}).get("runs_db") or "gome.db")


def _existing_store(db: Path) -> EventStore:
    if not Path(db).exists():
        raise GomeError(f"no gome database at {db}: pass --db PATH of an existing one")
    return open_store(db)


def _leased(store: EventStore, run_ids: list[str]) -> tuple[ExitStack, dict[str, LeaseGrant]]:
    """Take the lease of every run (refusing, before anything changes, any run a live process drives)."""
    # lazy: keeps gome <cmd> --help light
    from ..driver.lease import RunLease

    stack = ExitStack()
    grants: dict[str, LeaseGrant] = {}
    try:
        for run_id in run_ids:
            grants[run_id] = stack.enter_context(RunLease.acquire(store, run_id))
    except BaseException:
        stack.close()
        raise
    return stack, grants


def _describe(store: EventStore, run_id: str, row: dict[str, Any] | None) -> str:
    if row is None:
        return f"{run_id} ({store.last_seq(run_id)} events)"
    return f"{run_id} ({row.get('task') or '-'}, {row.get('status')}, {row.get('events')} events)"


@runs_cmd.command("delete")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@_sub_db
@click.option("--yes", "-y", "yes", is_flag=True,
              help="Delete without asking first (on the command line only: a config file cannot set it).")
@click.pass_context
def runs_delete_cmd(ctx: click.Context, runs: tuple[str, ...], db: Path | None, yes: bool) -> None:
    """Delete runs: their events, snapshots, labels and the blobs no other run uses.

    Each RUN is a whole id, a unique prefix or @last; a sweep's id deletes the
    sweep and all its cells.  Asks first (--yes skips).  A run that a live
    process drives (`gome run`/`resume` holding its lease) is refused, and
    nothing is deleted.  Other runs are untouched: each keeps its own hash
    chain, so `gome verify` of every other run still passes; a fork made from
    a deleted run keeps its own copy of the events.  The run's workspace
    folder is left for `gome gc`.  This cannot be undone: `gome export` a run
    first to keep a copy.
    """
    # lazy: keeps gome <cmd> --help light
    from ..report.tables import run_listing, sweep_cells, sweep_ids
    from ..store.runadmin import delete_run

    if yes and ctx.get_parameter_source("yes") is ParameterSource.DEFAULT_MAP:
        yes = False  # a config file cannot turn the question off: only the person typing the command
        click.echo("`yes` in the config file is ignored: give --yes on the command line to skip the question",
                   err=True)
    db = _db_of(ctx, db)
    with _existing_store(db) as store:
        chosen: list[str] = []
        sweeps = set(sweep_ids(store))
        cells = sweep_cells(store)
        for given in runs:
            run_id = resolve_run_id(store, given)
            group = [run_id]
            if run_id in sweeps:
                group += [c for c, (sw, _) in cells.items() if sw == run_id and store.run_exists(c)]
            chosen += [r for r in group if r not in chosen]
        listed = {r["run_id"]: r for r in run_listing(store)}
        stack, grants = _leased(store, chosen)
        with stack:
            lines = [_describe(store, r, listed.get(r)) + (" [sweep]" if r in sweeps else "") for r in chosen]
            click.echo(clean(f"about to delete {len(chosen)} run(s) from {db}:\n  " + "\n  ".join(lines)))
            if not yes and not click.confirm("delete them for good?", default=False):
                click.echo("nothing deleted")
                raise SystemExit(1)
            done = [delete_run(store, r, lease_token=grants[r].token) for r in chosen]
    for d in done:
        click.echo(clean(f"deleted run {d.run_id}: {d.events} events, {d.snapshots} snapshots, "
                         f"{d.blobs} blobs no other run used"))


@runs_cmd.command("rename")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW", type=RUN_ID)
@_sub_db
@click.pass_context
def runs_rename_cmd(ctx: click.Context, old: str, new: str, db: Path | None) -> None:
    """Give run OLD (whole id, unique prefix or @last) the id NEW.

    The hash chain covers the run id, so the run is copied under NEW with
    every event re-chained (the old chain is checked row by row on the way:
    a damaged run is refused), then OLD is deleted, in one transaction; `gome
    verify NEW` passes.  Tags and the note move along; a signature from a
    signed import covered the old chain and is dropped (re-export and sign
    again).  Events that name the run (RunStarted, forks made from it) keep
    the old id, as they recorded it.  Refused for a run a live process
    drives, and for a sweep or a sweep's cell (the sweep's plan names it).
    """
    # lazy: keeps gome <cmd> --help light
    from ..report.tables import sweep_cells, sweep_ids
    from ..store.runadmin import rename_run

    db = _db_of(ctx, db)
    with _existing_store(db) as store:
        run_id = resolve_run_id(store, old)
        kind = "a sweep" if run_id in sweep_ids(store) else "a cell of a sweep" if run_id in sweep_cells(store) else None
        if kind is not None:
            raise GomeError(f"{run_id} is {kind}; the sweep's recorded plan names it by this id, so it "
                            "cannot be renamed (tag it instead: `gome runs tag RUN TAG`)")
        stack, grants = _leased(store, [run_id])
        with stack:
            count = rename_run(store, run_id, new, lease_token=grants[run_id].token)
        report = store.verify(new)
    state = "chain verified" if report.ok else f"VERIFY FAILED at seq {report.first_bad_seq}"
    click.echo(clean(f"renamed run {run_id} -> {new}: {count} events re-chained, {state}"))


@runs_cmd.command("tag")
@click.argument("run", metavar="RUN")
@click.argument("tags", nargs=-1, required=True, metavar="TAG...")
@_sub_db
@click.pass_context
def runs_tag_cmd(ctx: click.Context, run: str, tags: tuple[str, ...], db: Path | None) -> None:
    """Add tags to RUN (a word each, no spaces or commas).

    Tags are shown by `gome runs` (filter with --tag), `gome show` and
    gome.open(DB).runs().  They are labels, not events: the run's hash chain
    does not cover them and does not change.
    """
    _label(ctx, db, run, "tag", tags)


@runs_cmd.command("untag")
@click.argument("run", metavar="RUN")
@click.argument("tags", nargs=-1, required=True, metavar="TAG...")
@_sub_db
@click.pass_context
def runs_untag_cmd(ctx: click.Context, run: str, tags: tuple[str, ...], db: Path | None) -> None:
    """Remove tags from RUN."""
    _label(ctx, db, run, "untag", tags)


@runs_cmd.command("note")
@click.argument("run", metavar="RUN")
@click.argument("text", metavar="TEXT")
@_sub_db
@click.pass_context
def runs_note_cmd(ctx: click.Context, run: str, text: str, db: Path | None) -> None:
    """Set RUN's note to TEXT (replacing the one before; "" removes it).

    Shown by `gome runs`, `gome show` and gome.open(DB).runs(); a label, not
    an event: the run's hash chain does not change.
    """
    _label(ctx, db, run, "note", (text,))


def _label(ctx: click.Context, db: Path | None, run: str, what: str, values: tuple[str, ...]) -> None:
    # lazy: keeps gome <cmd> --help light
    from ..store.runadmin import note_run, tag_run, untag_run

    db = _db_of(ctx, db)
    absent: list[str] = []
    with _existing_store(db) as store:
        run_id = resolve_run_id(store, run)
        if what == "tag":
            labels = tag_run(store, run_id, values)
        elif what == "untag":
            labels, absent = untag_run(store, run_id, values)
        else:
            labels = note_run(store, run_id, values[0])
    if absent:
        click.echo(clean(f"run {run_id} had no tag {', '.join(absent)}"), err=True)
    note = " ".join((labels.note or "").split())
    click.echo(clean(f"run {run_id}: tags {', '.join(labels.tags) or 'none'}; note {note or 'none'}"))


def _runs_table(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import NOTHING, duration, score, text

    extra = [name for name, key in (("SWEEP", "sweep"), ("VARIANT", "variant"), ("TAGS", "tags"), ("NOTE", "note"))
             if any(r.get(key) for r in rows)]
    table = [("RUN", "TASK", "STRATEGY", "REASONER", "SEED", "STATUS", "DURATION", "ITERS", "BEST VAL",
              "TEST", "MEDAL", *extra)]
    for r in rows:
        cap = (r["max_iterations"] or 0) * (r["traces"] or 0)
        more = {"SWEEP": text(r.get("sweep") or NOTHING), "VARIANT": text(r.get("variant") or NOTHING),
                "TAGS": ",".join(r.get("tags") or ()) or NOTHING,
                "NOTE": " ".join(str(r.get("note") or NOTHING).split())}
        table.append((r["run_id"], text(r["task"]), text(r["strategy"]), text(r["reasoner"]),
                      text(r["seed"]), r["status"], duration(r["duration_s"]),
                      f"{r['iterations'] or 0}/{cap}" if cap else text(r["iterations"]),
                      score(r["best_val_score"]), score(r["test_score"]), text(r["medal"] or NOTHING),
                      *(more[name] for name in extra)))
    return table


def _fit_widths(table: list[tuple[str, ...]], fit: tuple[str, ...], width: int) -> list[int]:
    """Column widths for ``table`` within ``width`` characters: the columns named in ``fit`` are
    narrowed, widest first, down to 8 characters (or their header); every other column keeps its
    width, so a table of long run ids may still be wider than the terminal (an id is never cut)."""
    head = table[0]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    floor = {i: max(8, len(head[i])) for i, name in enumerate(head) if name in fit}
    over = sum(widths) + 2 * (len(widths) - 1) - width
    while over > 0:
        shrinkable = [i for i in floor if widths[i] > floor[i]]
        if not shrinkable:
            break
        i = max(shrinkable, key=lambda j: (widths[j], -fit.index(head[j])))
        widths[i] -= 1
        over -= 1
    return widths


def _print_table(table: Sequence[tuple[Any, ...]], right: Collection[str] = frozenset(),
                 fit: tuple[str, ...] = ()) -> None:
    """Print aligned columns; with ``fit``, those columns are shortened (ending in "…") so the
    table fits the terminal ($COLUMNS, else the terminal's width, else 140)."""
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import text as one_line

    table = [tuple(clean(c, "line") for c in row) for row in table]
    if fit:
        widths = _fit_widths(table, fit, shutil.get_terminal_size((140, 24)).columns)
        table = [tuple(one_line(c, widths[i]) if table[0][i] in fit and len(c) > widths[i] else c
                       for i, c in enumerate(row)) for row in table]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [str(c).rjust(w) if table[0][i] in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        click.echo("  ".join(cells).rstrip())


def _write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """CSV on stdout; every text cell through the one sanitizer (a model name can come from an import)."""

    out = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    out.writeheader()
    for r in rows:
        out.writerow({k: "" if r.get(k) is None else clean(r[k]) if isinstance(r.get(k), str) else r.get(k)
                      for k in columns})


STEP_COLUMNS = ("trace", "iteration", "attempt", "solution_id", "hypothesis", "component", "drawn", "candidates",
                *(f"score_{d}" for d in DIMENSIONS),
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
    # lazy: keeps gome <cmd> --help light
    from ..analysis.views import iteration_label
    from ..report.tables import step_rows
    from ..report.textfmt import NOTHING, duration, hypothesis_text, money, score, text

    with open_store(db, readonly=True) as store:
        store.require_run(run_id)
        rows = step_rows(store, run_id)
    if trace_id is not None:
        check_filter("--trace", trace_id, sorted({str(r["trace"]) for r in rows}), what="trace",
                     where=f"run {run_id}" + ("" if rows else " (no steps yet)"))
        rows = [r for r in rows if r["trace"] == trace_id]
    for r in rows:
        for d in DIMENSIONS:
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

    width = max(100, shutil.get_terminal_size((140, 24)).columns)
    any_cost = any(r.get("cost_usd") for r in rows)
    head = ["TRACE", "IT", "ATT", "VAL", "VERDICT", "FAILURE", "TIME"] + (["COST"] if any_cost else [])
    table = [tuple(head + ["HYPOTHESIS"])]
    for r in rows:
        verdict = short_verdict(r["accepted"], r["rejected_at"]) if r["verdict"] else NOTHING
        it = r["iteration"]
        cells = [r["trace"], iteration_label(it) if isinstance(it, int) else text(it), str(r["attempt"]), score(r["val_score"]), verdict,
                 text(r["failure"]), duration(r["duration_s"])] + ([money(r["cost_usd"])] if any_cost else [])
        table.append(tuple(cells + [hypothesis_text(r["hypothesis"])]))
    used = sum(max(len(str(row[i])) for row in table) + 2 for i in range(len(head)))
    table = [row[:-1] + (text(row[-1], max(20, width - used)),) for row in table]
    _print_table(table, right={"IT", "ATT", "VAL", "TIME", "COST"})


def _values(store: EventStore, run_id: str, column: str, trace_id: str | None = None) -> list[str]:
    """The distinct values of one events column in a run (its traces, its event types), sorted;
    with ``trace_id``, in that trace's events only."""
    assert column in ("trace_id", "type")
    where, params = ("", (run_id,)) if trace_id is None else (" AND trace_id = ?", (run_id, trace_id))
    return sorted(str(r[0]) for r in store.query(
        f"SELECT DISTINCT {column} FROM events WHERE run_id = ? AND {column} IS NOT NULL{where}", params))


def _check_types_recorded(store: EventStore, run_id: str, trace_id: str | None, types: tuple[str, ...]) -> None:
    """``--type`` names only types gome knows (checked before); when the run (or ``--trace``'s trace)
    recorded none of them, say so and exit 2 as any filter that matches nothing does (`steps
    --trace`), listing the types it did record; one missing among others found is a note on stderr."""
    recorded = _values(store, run_id, "type", trace_id)
    where = f"run {run_id}" + (f" trace {trace_id}" if trace_id is not None else "")
    missing = [t for t in dict.fromkeys(types) if t not in recorded]
    if not missing:
        return
    if len(missing) == len(set(types)):
        raise click.BadParameter(clean(f"{where} has no {' or '.join(missing)} events (it has: "
                                       f"{', '.join(recorded) or 'none'})", "line"), param_hint="'--type'")
    click.echo(clean(f"note: {where} has no {' or '.join(missing)} events; showing the others", "line"), err=True)


@click.command("events")
@run_id_argument(sweeps=True)
@db_option
@click.option("--trace", "trace_id", help="Only events of this trace.")
@click.option("--type", "types", multiple=True,
              help="Only events of this type (repeatable); a type the run never recorded is an error (exit 2) "
                   "naming the types it has.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines: seq, type, trace_id, ts, schema_version, payload, hash.")
def events_cmd(run_id: str, db: Path, trace_id: str | None, types: tuple[str, ...],
               as_json: bool) -> None:
    """Print a run's events in seq order, one readable line each, optionally filtered.

    Each line: seq, local time, trace, type and what happened (the summaries of
    `gome watch`).  --json prints every event whole, for scripts.
    """
    # lazy: keeps gome <cmd> --help light
    from ..report.watch import clean as terminal_line
    from ..report.watch import describe

    width = max(80, shutil.get_terminal_size((120, 24)).columns)
    with open_store(db, readonly=True) as store:
        store.require_run(run_id)
        if trace_id is not None:
            check_filter("--trace", trace_id, _values(store, run_id, "trace_id"), what="trace",
                         where=f"run {run_id}")
        if types:
            # lazy: keeps gome <cmd> --help light
            from ..core.events import EVENT_TYPES

            known = sorted(set(EVENT_TYPES) | set(_values(store, run_id, "type")))
            check_filter("--type", types, known, what="event type", where="gome's log")
            _check_types_recorded(store, run_id, trace_id, types)
        for e in store.read(run_id, trace_id=trace_id, types=types or None):
            if as_json:
                click.echo(clean(canonical_json({"seq": e.seq, "type": e.type, "trace_id": e.trace_id,
                                                    "ts": e.ts, "schema_version": e.schema_version,
                                                    "payload": e.payload, "hash": e.hash}), "json"))
            else:
                stamp = dt.datetime.fromtimestamp(e.ts).strftime("%H:%M:%S")
                head = f"{e.seq:>6} {stamp} {terminal_line(e.trace_id or '-', 6):<6} {terminal_line(e.type, 20):<20} "
                click.echo(head + terminal_line(describe(e), max(20, width - len(head))))


@click.command("verify")
@run_id_argument(sweeps=True)
@db_option
@click.option("--key", "key", type=INPUT_FILE, metavar="PUBKEY",
              help="A public key (the .pub `gome keygen` wrote): the run must also carry a signature by "
                   "it over its whole chain (kept from a signed import), or exit 1.")
def verify_cmd(run_id: str, db: Path, key: Path | None) -> None:
    """Check a run's hash chain, rows and every blob it references (present, bytes matching
    their hash); exit 0 if intact, 1 naming the first bad seq (and, for a blob, the field)."""
    # lazy: keeps gome <cmd> --help light
    from ..trust.signing import SignatureInvalid, load_public_key

    with open_store(db, readonly=True) as store:
        public = load_public_key(key) if key is not None else None
        report = store.verify(run_id)
        signed = None
        if report.ok and public is not None:
            try:
                signed = check_stored_signature(store, run_id, public, report.head_seq)
            except SignatureInvalid as exc:
                click.echo(f"run {run_id}: chain ok, SIGNATURE REFUSED: {exc}", err=True)
                raise SystemExit(1) from None
        elif report.ok:
            signed = stored_signature(store, run_id)
    if not report.ok and report.first_bad_seq is None:  # the chain holds; the database does not
        click.echo(clean(f"run {run_id}: NOT OK: {report.reason} ({report.checked} events check out)"), err=True)
        raise SystemExit(1)
    if not report.ok:
        click.echo(clean(f"run {run_id}: BROKEN at seq {report.first_bad_seq}: {report.reason} "
                         f"({report.checked} events before it check out)"), err=True)
        raise SystemExit(1)
    line = f"run {run_id}: ok, {report.checked} events, {report.blobs} blobs, head {report.head_hash}"
    if signed is not None and public is not None:
        line += f", signed by key {signed['key_id']} (checked)"
    elif signed is not None:
        line += f", signed by key {signed['key_id']} (not checked: pass --key PUBKEY)"
    click.echo(clean(line))


@click.command("export")
@run_id_argument(sweeps=True)
@db_option
@click.option("-o", "--output", "output", type=OUTPUT_FILE,
              help="Export file: FILE.jsonl, or FILE.jsonl.gz to compress. Written whole, then renamed "
                   "over FILE; a directory, device or FIFO is refused; a symlink is followed to its target.")
@click.option("--sign", "sign", type=INPUT_FILE, metavar="KEYFILE",
              help="Sign the export's chain head with this private key (from `gome keygen`; mode 0600), "
                   "so `gome import --require-signature KEYFILE.pub` can tell it from a forgery.")
@click.option("--mlflow", "mlflow_uri", is_flag=False, flag_value="", default=None, metavar="[TRACKING_URI]",
              help="Log the run (a sweep id: every cell's run) to MLflow instead of a file: to TRACKING_URI, or "
                   "MLflow's default ($MLFLOW_TRACKING_URI, else ./mlruns). Needs the mlflow extra.")
@click.option("--experiment", default=None,
              help="With --mlflow: the MLflow experiment (default gome/<task id>).")
def export_cmd(run_id: str, db: Path, output: Path | None, sign: Path | None, mlflow_uri: str | None,
               experiment: str | None) -> None:
    """Write one run, with the blobs it references, to a self-contained file (or log it to MLflow).

    RUN_ID may be a unique prefix or @last; with --mlflow, also a sweep id.
    """
    # lazy: keeps gome <cmd> --help light
    from ..trust.signing import key_id, load_private_key

    if mlflow_uri is not None:
        if output is not None or sign is not None:
            raise click.UsageError("--mlflow logs to MLflow; it takes neither -o nor --sign")
        # lazy: keeps gome <cmd> --help light
        from ..trackers.mlflow import export_runs

        with open_store(db, readonly=True) as store:
            done = export_runs(store, [run_id], tracking_uri=mlflow_uri or None, experiment=experiment,
                               progress=lambda line: click.echo(clean(line), err=True))
        skipped = [e.run_id for e in done if e.mlflow_run_id is None]
        if skipped:
            click.echo(clean(f"already in MLflow at the same chain head, skipped: {', '.join(skipped)}"), err=True)
        click.echo(f"logged {len(done) - len(skipped)} run(s) to MLflow")
        return
    if output is None:
        raise click.UsageError("give -o FILE (or --mlflow [URI] to log the run to MLflow)")
    if experiment is not None:
        raise click.UsageError("--experiment goes with --mlflow")
    with open_store(db, readonly=True) as store:
        private = load_private_key(sign) if sign is not None else None
        summary = store.export_run(resolve_run_id(store, run_id), output, sign_key=private)
    signed = f", signed by key {key_id(private.public_key())}" if private is not None else ""
    click.echo(clean(f"exported run {summary.run_id}: {summary.events} "
                     f"events, {summary.blobs} blobs, {summary.bytes} bytes{signed} -> {summary.path}"))


@click.command("import")
@click.argument("file", type=INPUT_FILE)
@db_option
@click.option("--run-id", type=RUN_ID,
              help="Store the run under this id instead of the one in the file (up to 100 of "
                   "A-Z a-z 0-9 . _ -).")
@click.option("--no-event-check", is_flag=True,
              help="Skip checking event types and payloads against this gome's vocabulary.")
@click.option("--require-signature", "require_signature", type=INPUT_FILE, metavar="PUBKEY",
              help="Import only a file signed (`gome export --sign`) by the private half of this public key, "
                   "over the very chain it holds; anything else is refused (exit 1), nothing imported.")
def import_cmd(file: Path, db: Path, run_id: str | None, no_event_check: bool,
               require_signature: Path | None) -> None:
    """Import a `gome export` file as a new run (the chain is checked first)."""
    # lazy: keeps gome <cmd> --help light
    from ..trust.signing import load_public_key

    public = load_public_key(require_signature) if require_signature is not None else None
    with open_store(db, create=True) as store:
        stored_as = store.import_run(file, run_id=run_id, check_events=not no_event_check,
                                     require_key=public)
        count = store.last_seq(stored_as)

    signed = ", signature checked" if public is not None else ""
    click.echo(clean(f"imported run {stored_as}: {count} events into {db}{signed}"))


@click.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Where the private key goes (created 0600); the public key goes to PATH.pub. Neither "
                   "may exist yet: an existing key is never overwritten.")
def keygen_cmd(out: Path) -> None:
    """Make an Ed25519 key pair for signing exports (`gome export --sign PATH`)."""
    # lazy: keeps gome <cmd> --help light
    from ..trust.signing import generate_keypair

    pub, kid = generate_keypair(out)
    click.echo(f"key {kid}: private key {out} (keep it to yourself), public key {pub} (give it to whoever "
               "checks your runs: gome import --require-signature / gome verify --key)")


# the commands that read or write a database (keygen touches none)
COMMANDS = [runs_cmd, steps_cmd, events_cmd, verify_cmd, export_cmd, import_cmd]
