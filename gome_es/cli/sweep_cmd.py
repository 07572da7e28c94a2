"""`gome sweep`: benchmark sweeps (tasks x variants x seeds), resumable, locally or on Ray.

Each command parses its options, makes one library call (gome_es.sweep) and
prints; library errors become click errors only here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..core.vocabulary import ReasonerKind
from ..trust.text import clean
from .common import db_option, open_store, sweep_id_argument
from .main import GomeGroup
from .origins import check_endpoint, endpoint_of, start_lines
from .params import AT_LEAST_ONE, DURATION, LIVE_REASONER_KINDS, OUTPUT_FILE, SLOTS, TRACES, WORK_DIR, FiniteFloat

if TYPE_CHECKING:
    from ..sweep.state import CellState, SweepState

NON_NEGATIVE = FiniteFloat(min=0.0)


def _progress(quiet: bool) -> Callable[[str], None] | None:
    if quiet:
        return None
    return lambda line: click.echo(clean(line), err=True)  # failure reasons quote the runs' output


def _where(ray_address: str | None) -> str:
    """Where the cells run, as the sweep's first line says it: the cluster they join, by its address."""
    if not ray_address or ray_address == "off":
        return "on this machine"
    if ray_address == "local":
        return "on a Ray instance of its own, started here (--ray local never joins a running cluster)"
    return (f"on the Ray cluster at {ray_address} (joined: its workers get every cell and its environment, "
            "API key included)")


def _finish(state: SweepState, stopped: bool) -> None:
    n = state.counts()
    failed = [c for c in state.cells.values() if c.status == "failed"]

    for c in failed:
        click.echo(clean(f"failed: {c.cell.label} (run {c.cell.run_id}): {c.reasons[-1] if c.reasons else '?'}"),
                   err=True)
    if stopped:
        click.echo(f"gome: sweep {state.sweep_id} stopped ({n['done']} done); continue it with "
                   f"`gome sweep resume {state.sweep_id}`", err=True)
    click.echo(state.sweep_id)
    if stopped:
        sys.exit(130)
    if failed:
        sys.exit(1)


@click.group("sweep", cls=GomeGroup, invoke_without_command=True)
@click.option("--tasks", default=None, metavar="ID,ID,...|local|FILE",
              help="Tasks: comma-separated ids, `local` (every bundled task) or a file with one id a line "
                   "(MLE-bench split files work; bare ids become mlebench:<id> with --mlebench-data).")
@click.option("--variants", default="gome,tree,no-structured-reasoning,no-memory,one-trace", show_default=True,
              help="Comma-separated: gome, tree (the tree-search baseline), no-structured-reasoning, no-memory, "
                   "one-trace.")
@click.option("--seeds", default="3", show_default=True, help="A count (3 = seeds 0,1,2) or a list (0,1,2).")
@click.option("--budget", type=DURATION, default="10m", show_default=True, help="Wall-clock budget of each run (12h, 90m, 600).")
@click.option("--traces", type=TRACES, default=2, show_default=True,
              help="Traces per run (the one-trace variant uses 1).")
@click.option("--max-iterations", type=AT_LEAST_ONE, default=50, show_default=True,
              help="Iterations per trace; the budget usually binds first.")
@click.option("--reasoner", type=click.Choice(LIVE_REASONER_KINDS), default=ReasonerKind.offline.value, show_default=True,
              help="Who writes hypotheses and code in every run.")
@click.option("--model", default=None, help="Model name for --reasoner openai.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint for --reasoner openai.")
@click.option("--mlebench-data", type=click.Path(exists=True, file_okay=False), default=None,
              help="Directory `mlebench prepare` filled (for mlebench:<id> tasks).")
@click.option("--exec-timeout", type=DURATION, default=None, help="Timeout of one experiment (default: gome run's).")
@click.option("--slots", type=SLOTS, default=2, show_default=True,
              help="Concurrent side effects inside each run.")
@click.option("--concurrency", type=AT_LEAST_ONE, default=2, show_default=True, help="Runs at a time.")
@click.option("--gpus-per-run", default=0.0, show_default=True, type=NON_NEGATIVE,
              help="GPUs each run asks Ray for. Locally the runs share this machine's GPU slots as the "
                   "executor does.")
@click.option("--cpus-per-run", default=1.0, show_default=True, type=NON_NEGATIVE,
              help="CPUs each run asks Ray for.")
@click.option("--max-tries", type=AT_LEAST_ONE, default=3, show_default=True,
              help="Failed tries of one cell before it is marked failed and the sweep goes on.")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|local",
              help="Run the cells as Ray tasks on this cluster (`local`: start one here); needs gome-es[ray].")
@click.option("--checkpoint", type=DURATION, default="10s", show_default=True,
              help="With --ray: how often a worker ships its run's new events back.")
@click.option("--workspace", type=WORK_DIR, default=None,
              help="Where the runs' experiment workspaces go (default $GOME_HOME/work).")
@click.option("--sweep-id", default=None, help="Id of the new sweep (default: generated, sweep-...).")
@click.option("--dry-run", is_flag=True,
              help="Print each cell's run id and `gome run` command, and stop: nothing is recorded or run.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@db_option
@click.pass_context
def sweep_group(ctx: click.Context, tasks: str | None, variants: str, seeds: str, budget: float, traces: int,
                max_iterations: int, reasoner: str, model: str | None, base_url: str | None,
                mlebench_data: str | None, exec_timeout: float | None, slots: int, concurrency: int,
                gpus_per_run: float, cpus_per_run: float, max_tries: int, ray_address: str | None,
                checkpoint: float, workspace: Path | None, sweep_id: str | None, dry_run: bool, quiet: bool,
                db: Path) -> None:
    """Run every (task, variant, seed) as its own gome run and record the sweep as events.

    Prints progress (done / running / failed / left, ETA) on stderr and the sweep id as the last
    line. Exit 0 when every cell finished, 1 when some failed after --max-tries, 130 when stopped;
    `gome sweep resume SWEEP` continues after a kill, `gome sweep report SWEEP` aggregates.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not tasks:
        raise click.UsageError("pass --tasks ID,ID,... (or local, or a file of ids), or a subcommand "
                               "(resume, status, report, export)")
    # lazy: keeps gome <cmd> --help light
    from ..sweep import drive_sweep, plan_sweep, resolve_tasks
    from ..sweep.plan import parse_seeds, parse_variants
    budget_s, checkpoint_s = budget, checkpoint
    # recorded in the sweep's plan and handed to each `gome run` as seconds
    # (fixed-point: "%g" wrote 2000000 as "2e+06", which gome run's duration parser refuses)
    exec_timeout_text = f"{exec_timeout:.9f}".rstrip("0").rstrip(".") if exec_timeout is not None else None
    # a config file's [sweep] base-url for another host, while the API key would go there, is refused
    # as for `gome run`: every cell's run gets it on its command line (repeat it there to confirm)
    check_endpoint(ctx, reasoner, base_url, False)
    if not quiet:
        for line in start_lines(ctx, endpoint=endpoint_of(reasoner, base_url), model=model or reasoner,
                                workspace=workspace or "$GOME_HOME/work"):
            click.echo(f"gome: {line}", err=True)
    if ray_address:
        # lazy: keeps gome <cmd> --help light
        from ..sweep.ray_backend import require_ray

        require_ray()  # before anything is planned: a sweep that cannot start leaves no log
    task_ids = resolve_tasks(tasks, mlebench_data)
    variant_names, seed_list = parse_variants(variants), parse_seeds(seeds)
    if dry_run:
        _dry_run(task_ids, variant_names, seed_list, sweep_id, {
            "budget_s": budget_s, "traces": traces, "max_iterations": max_iterations, "reasoner": reasoner,
            "model": model, "base_url": base_url, "mlebench_data": mlebench_data, "exec_timeout": exec_timeout_text,
            "slots": slots}, db)
        return
    store = open_store(db, create=True)
    sid = plan_sweep(store, tasks=task_ids, variants=variant_names, seeds=seed_list,
                     budget_s=budget_s, traces=traces, max_iterations=max_iterations, reasoner=reasoner,
                     model=model, base_url=base_url,
                     mlebench_data=str(Path(mlebench_data).resolve()) if mlebench_data else None,
                     exec_timeout=exec_timeout_text, slots=slots, concurrency=concurrency,
                     gpus_per_run=gpus_per_run, cpus_per_run=cpus_per_run, max_tries=max_tries,
                     ray=ray_address, workspace=str(Path(workspace).resolve()) if workspace else None,
                     sweep_id=sweep_id)
    n = len(seed_list) * len(task_ids) * len(variant_names)
    click.echo(f"gome: sweep {sid}: {n} runs ({len(task_ids)} tasks x {len(variant_names)} "
               f"variants x {len(seed_list)} seeds), {concurrency} at a time "
               f"{_where(ray_address)} -> {db}", err=True)
    state, stopped = drive_sweep(store, sid, progress=_progress(quiet), checkpoint_s=checkpoint_s)
    _finish(state, stopped)


def _dry_run(tasks: list[str], variants: list[str], seeds: list[int], sweep_id: str | None, spec: dict[str, Any],
             db: Path) -> None:
    """The plan, as the commands it would run, checked exactly as the sweep checks it (the same
    function: sweep id, cells' run ids, runs already in the database); each command shell-quoted."""
    # lazy: keeps gome <cmd> --help light
    import shlex

    # lazy: keeps gome <cmd> --help light
    from ..sweep.driver import check_plan
    from ..sweep.plan import run_args

    store = open_store(db, readonly=True) if os.path.exists(db) else None
    try:
        sid, cells = check_plan(store, tasks=tasks, variants=variants, seeds=seeds, sweep_id=sweep_id)
    finally:
        if store is not None:
            store.close()
    for c in cells:
        command = shlex.join(["gome", "run", *run_args(spec, c), "--run-id", c.run_id, "--db", str(db)])
        click.echo(clean(f"{c.run_id}\t{command}"))
    click.echo(f"gome: {len(cells)} runs; nothing recorded (--dry-run)", err=True)


@sweep_group.command("resume")
@sweep_id_argument()
@click.option("--concurrency", default=None, type=AT_LEAST_ONE,
              help="Runs at a time (default: the sweep's).")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|local",
              help="Go on on this Ray cluster (default: where the sweep ran; `off`: on this machine).")
@click.option("--checkpoint", type=DURATION, default="10s", show_default=True,
              help="With --ray: how often a worker ships its run's new events back.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@db_option
def resume_cmd(sweep_id: str, concurrency: int | None, ray_address: str | None, checkpoint: float, quiet: bool,
               db: Path) -> None:
    """Continue a sweep whose driver was stopped or killed: finished cells are kept, unfinished runs
    continue through `gome resume`, no cell is ever started twice."""
    # lazy: keeps gome <cmd> --help light
    from ..sweep import drive_sweep

    store = open_store(db)
    state, stopped = drive_sweep(store, sweep_id, concurrency=concurrency, ray=ray_address,
                                 progress=_progress(quiet), checkpoint_s=checkpoint)
    _finish(state, stopped)


@sweep_group.command("status")
@sweep_id_argument()
@click.option("--json", "as_json", is_flag=True, help="Every cell with its status, tries and run id.")
@db_option
def status_cmd(sweep_id: str, as_json: bool, db: Path) -> None:
    """Where a sweep stands: cells done / running / failed / left, from its log alone."""
    # lazy: keeps gome <cmd> --help light
    from ..driver.lease import live_status
    from ..sweep import load_sweep
    from ..sweep.state import progress_text

    store = open_store(db, readonly=True)
    state = load_sweep(store, sweep_id)
    # a cell the log shows running is running only while a process holds a lease: the sweep's
    # driver, or the cell's own run; otherwise the driver died and the cell is interrupted
    driver_live = live_status(store, sweep_id) == "running"
    active = [c for c in state.cells.values() if c.status in ("assigned", "started")]
    dead = {c.cell.run_id for c in active if not driver_live and not (
        store.run_exists(c.cell.run_id) and live_status(store, c.cell.run_id) == "running")}

    def shown(c: CellState) -> str:
        return "interrupted" if c.cell.run_id in dead else c.status

    if as_json:
        click.echo(json.dumps({"sweep_id": sweep_id, "counts": state.counts(), "finished": state.finished,
                               "driver_running": driver_live,
                               "cells": [{**c.cell.to_json(), "status": shown(c), "tries_failed": c.tries_failed,
                                          "reasons": c.reasons, "grade": c.grade} for c in state.cells.values()]},
                              indent=2, sort_keys=True))
        return
    click.echo(clean(progress_text(state, int(state.spec.get("concurrency") or 2), time.time(),
                                   driver_live=driver_live, dead=dead)))
    for c in state.cells.values():
        extra = f"  ({c.reasons[-1]})" if c.status == "failed" and c.reasons else ""
        extra += "  (its driver is gone)" if c.cell.run_id in dead else ""
        click.echo(clean(f"  {shown(c):<11} {c.cell.label:<50} {c.cell.run_id}{extra}"))


@sweep_group.command("report")
@sweep_id_argument()
@click.option("--json", "as_json", is_flag=True, help="The aggregates as JSON on stdout.")
@click.option("-o", "--output", type=OUTPUT_FILE, default=None,
              help="Write a self-contained HTML report here (with gome compare's plots over the cells' recorded "
                   "runs), and each recorded run's own report into FILE-NAME_runs/ beside it, linked from the "
                   "table of cells.")
@db_option
def report_cmd(sweep_id: str, as_json: bool, output: Path | None, db: Path) -> None:
    """Per variant: mean and standard error over seeds of valid, above-median, any-medal, gold, silver and
    bronze rates; a per-task table; gome minus each ablation and minus tree."""
    # lazy: keeps gome <cmd> --help light
    from ..sweep.report import build_report, render_text, write_html

    store = open_store(db, readonly=True)
    report = build_report(store, sweep_id)
    if output is not None:
        write_html(report, output, store)
        click.echo(f"wrote {output}", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    elif output is None:
        click.echo(clean(render_text(report)))


@sweep_group.command("export")
@sweep_id_argument()
@click.option("--mlebench-submissions", "out", type=OUTPUT_FILE, required=True,
              help="Write MLE-bench's submissions JSONL here (`mlebench grade --submission` reads it).")
@click.option("--submissions-dir", type=WORK_DIR, default=None,
              help="Where the runs' submission CSVs are written (default: FILE's name + '_files').")
@db_option
def export_cmd(sweep_id: str, out: Path, submissions_dir: Path | None, db: Path) -> None:
    """One line per run: competition_id and submission_path, the selected submission of each run."""
    # lazy: keeps gome <cmd> --help light
    from ..sweep.report import export_mlebench

    store = open_store(db, readonly=True)
    n, missing = export_mlebench(store, sweep_id, out, submissions_dir)
    click.echo(f"wrote {n} lines to {out} ({missing} runs without a submission: their path does not exist, "
               "which MLE-bench grades as an invalid submission)", err=True)
    click.echo(str(out))
