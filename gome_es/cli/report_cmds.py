"""`gome report` (self-contained HTML) and `gome watch` (live terminal view).

Each command parses its arguments, makes one library call from
:mod:`gome_es.report` and prints.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from .common import db_option, foldable, open_store, run_id_argument
from .params import OUTPUT_FILE, FiniteFloat, output_target


@click.command("report")
@run_id_argument()
@run_id_argument("run_b", required=False)
@click.option("-o", "--output", "output", type=OUTPUT_FILE, default=None,
              help="Where to write the HTML (default: report-RUN.html, or report-RUN-vs-RUN_B.html). "
                   "A directory, device or FIFO is refused; a symlink is followed to its target.")
@db_option
def report_cmd(run_id: str, run_b: str | None, output: Path | None, db: Path) -> None:
    """Write ONE self-contained HTML report of RUN (no network needed to view it): score over
    time per trace, trace trees, hypotheses with their dimension scores and the draw, success
    memory, cost and tokens, budget, and the grade against medal thresholds.

    With RUN_B, the two runs are shown side by side and their first divergence is marked.
    """
    # lazy: keeps gome <cmd> --help light
    from ..report import write_report

    runs = [run_id] + ([run_b] if run_b else [])
    try:
        out = output or output_target(Path("report-" + "-vs-".join(runs).replace("/", "_") + ".html"))
    except click.BadParameter as exc:
        exc.param_hint = "'-o'"
        raise
    store = open_store(db, readonly=True)
    try:
        with foldable(runs, db):
            path = write_report(store, runs, out)
    finally:
        store.close()
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


@click.command("watch")
@run_id_argument()
@click.option("--interval", type=FiniteFloat(min=0.05, max=3600.0), default=1.0, show_default=True,
              help="Seconds between polls of the log (0.05 to 3600).")
@click.option("--once", is_flag=True, help="Print one frame and exit.")
@click.option("--width", type=click.IntRange(60, 10_000), default=None,
              help="Frame width (default: the terminal's).")
@db_option
def watch_cmd(run_id: str, interval: float, once: bool, width: int | None, db: Path) -> None:
    """Live view of RUN from the event log alone: traces, phases, iterations, best scores,
    budget left and recent events. Works from another terminal while another process drives
    the run; reads only new events each poll. Exits when the run finishes, or on Ctrl-C.
    """
    # lazy: keeps gome <cmd> --help light
    from ..report.watch import RunWatcher, watch

    store = open_store(db, readonly=True)
    try:
        try:
            store.require_run(run_id)
            tty = sys.stdout.isatty()
            cols = width or (shutil.get_terminal_size((100, 40)).columns if tty else 100)
            with foldable(run_id, db):
                watch(RunWatcher(store, run_id), sys.stdout, interval=interval, once=once, width=cols,
                      color=tty, clear=tty and not once)
        except KeyboardInterrupt:
            click.echo("\nstopped watching (the run itself is not affected)")
    finally:
        store.close()
