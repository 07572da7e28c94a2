"""`gome run`, `resume`, `show`, `status`, `replay`, `fork`: the agent's commands.

Each parses its options, makes one library call and prints; library errors
become click errors only here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from ..core.events import ReasonerConfig, RunConfig
from ..core.views import progress_line, run_summary
from ..errors import GomeError
from .common import db_option, fail, open_store


def parse_duration(text: str) -> float:
    """'12h', '90m', '45s', '1h30m' or plain seconds -> seconds."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)([hms])", text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise click.BadParameter(f"{text!r} is not a duration; use e.g. 12h, 90m, 1h30m or 600")
    return total


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet, self.last = quiet, ""

    def __call__(self, state: Any) -> None:
        if self.quiet:
            return
        line = progress_line(state)
        if line != self.last:
            click.echo(line, err=True)
            self.last = line


def _load_task(task_id: str, mlebench_data: Path | None) -> Any:
    from ..tasks import load_task

    return load_task(task_id, mlebench_data=mlebench_data)


def _options(workspace: Path | None, slots: int, quiet: bool, count_downtime: bool = False,
             force: bool = False, memory_mb: int | None = None) -> Any:
    from ..agent import DriveOptions

    opts = DriveOptions(slots=slots, progress=_Progress(quiet), count_downtime=count_downtime, force=force,
                        memory_limit_mb=memory_mb)
    if workspace is not None:
        opts.workspace_root = workspace
    return opts


def _finish_message(state: Any) -> None:
    g = state.grade or {}
    sel = state.selected or {}
    click.echo(f"status: {state.status}; selected {sel.get('solution_id')} (val {sel.get('val_score')})", err=True)
    if g:
        medal = next((m for m in ("gold", "silver", "bronze") if g.get(f"{m}_medal")), None)
        click.echo(f"grade: score {g.get('score')} | medal {medal or 'none'} | above median "
                   f"{g.get('above_median')}", err=True)


_common_run = [
    click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
                 help="Where experiment workspaces go (default $GOME_HOME/work)."),
    click.option("--slots", default=2, show_default=True, help="Concurrent side effects (executions, LLM calls)."),
    click.option("--memory-mb", type=int, default=None, help="Memory limit per execution (MB)."),
    click.option("--quiet", is_flag=True, help="No live progress on stderr."),
    click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path),
                 help="Directory `mlebench prepare` filled (for --task mlebench:<id>)."),
]


def _apply(options: list) -> Any:
    def deco(f: Any) -> Any:
        for o in reversed(options):
            f = o(f)
        return f

    return deco


@click.command("run")
@click.option("--task", "task_id", required=True, help="Task id (`gome tasks list`) or mlebench:<competition-id>.")
@click.option("--traces", default=2, show_default=True, help="Parallel traces (1 = the no-parallelism ablation).")
@click.option("--budget", default="10m", show_default=True, help="Wall-clock budget, e.g. 12h, 90m, 600.")
@click.option("--max-iterations", default=4, show_default=True, help="Iterations per trace.")
@click.option("--strategy", type=click.Choice(["gome", "tree"]), default="gome", show_default=True,
              help="Search policy: gome (parallel traces) or tree (the AIDE-like tree-search baseline).")
@click.option("--reasoner", type=click.Choice(["offline", "openai", "replay"]), default="offline", show_default=True,
              help="Who writes hypotheses and code: offline rules, an OpenAI-compatible model, or a recorded run.")
@click.option("--model", default=None, help="Model name for --reasoner openai.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure...).")
@click.option("--replay-from", default=None, help="For --reasoner replay: the run whose answers to serve.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the run's random choices.")
@click.option("--run-id", default=None, help="Id for the new run (default: generated).")
@click.option("--candidates", default=5, show_default=True, help="Hypotheses proposed per iteration (K).")
@click.option("--top-k", default=2, show_default=True, help="Draw among the top k by weighted score.")
@click.option("--exec-timeout", default="5m", show_default=True, help="Timeout of one experiment.")
@click.option("--no-structured-reasoning", is_flag=True, help="Ablation: draw a candidate without diagnosis or scoring.")
@click.option("--no-memory", is_flag=True, help="Ablation: no shared success memory.")
@_apply(_common_run)
@db_option
def run_cmd(task_id: str, traces: int, budget: str, max_iterations: int, strategy: str, reasoner: str,
            model: str | None, base_url: str | None, replay_from: str | None, seed: int, run_id: str | None,
            candidates: int, top_k: int, exec_timeout: str, no_structured_reasoning: bool, no_memory: bool,
            workspace: Path | None, slots: int, memory_mb: int | None, quiet: bool, mlebench_data: Path | None,
            db: Path) -> None:
    """Solve a task: run the agent and print the run id as the last line."""
    from ..agent import drive, start_run

    try:
        task = _load_task(task_id, mlebench_data)
        if reasoner == "offline":
            from ..solutions.recipes import FAMILIES

            if task.task_type not in FAMILIES:
                raise click.UsageError(
                    f"the offline reasoner writes solutions for {', '.join(sorted(FAMILIES))} tasks; "
                    f"{task.id} is of type {task.task_type!r}. Use --reasoner openai (with --model/--base-url).")
        budget_s = parse_duration(budget)
        cfg = RunConfig(traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=seed,
                        strategy=strategy, n_candidates=candidates, top_k=top_k,
                        structured_reasoning=not no_structured_reasoning, memory=not no_memory,
                        exec_timeout_s=parse_duration(exec_timeout))
        rcfg = ReasonerConfig(kind=reasoner, model=model or None, base_url=base_url, replay_from=replay_from)
        store = open_store(db, create=True)
        from ..agent import make_reasoner

        # build the reasoner first: a missing API key must not leave a started run behind
        live_reasoner = make_reasoner(rcfg.model_dump(), store)
        rid = start_run(store, task, cfg, rcfg, run_id=run_id)
        click.echo(f"gome: run {rid} on {task.id} ({strategy}, {traces} traces, budget {budget_s:.0f}s, "
                   f"reasoner {reasoner}) -> {db}", err=True)
        state = drive(store, rid, task=task, reasoner=live_reasoner,
                      options=_options(workspace, slots, quiet, memory_mb=memory_mb))
        _finish_message(state)
    except GomeError as exc:
        raise fail(exc) from exc
    click.echo(rid)
    _exit_if_stopped(state)


@click.command("resume")
@click.argument("run_id")
@click.option("--count-downtime", is_flag=True, help="Let the time the run was down count against its budget.")
@click.option("--force", is_flag=True, help="Continue under changed code even where it decides the past differently.")
@click.option("--reasoner", type=click.Choice(["offline", "openai", "replay"]), default=None,
              help="Continue with another reasoner (recorded in RunResumed).")
@click.option("--model", default=None, help="Model name for the new reasoner (recorded).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint for the new reasoner (recorded).")
@click.option("--replay-from", default=None, help="For --reasoner replay: the run whose answers to serve.")
@click.option("--budget", default=None, help="Change the run's budget (recorded).")
@click.option("--max-iterations", default=None, type=int, help="Change iterations per trace (recorded).")
@_apply(_common_run)
@db_option
def resume_cmd(run_id: str, count_downtime: bool, force: bool, reasoner: str | None, model: str | None,
               base_url: str | None, replay_from: str | None, budget: str | None, max_iterations: int | None,
               workspace: Path | None, slots: int, memory_mb: int | None, quiet: bool,
               mlebench_data: Path | None, db: Path) -> None:
    """Continue an interrupted (crashed, stopped or forked) run from its log."""
    from ..agent import drive

    overrides: dict[str, Any] = {}
    if reasoner or model or base_url or replay_from:
        overrides["reasoner"] = {k: v for k, v in {"kind": reasoner, "model": model, "base_url": base_url,
                                                   "replay_from": replay_from}.items() if v}
    cfg_over: dict[str, Any] = {}
    if budget:
        cfg_over["budget_s"] = parse_duration(budget)
    if max_iterations:
        cfg_over["max_iterations"] = max_iterations
    if cfg_over:
        overrides["config"] = cfg_over
    try:
        store = open_store(db)
        state = _fold(store, run_id)
        task = _load_task(state.task_id or "", mlebench_data)
        state = drive(store, run_id, task=task, resuming=True, overrides=overrides,
                      options=_options(workspace, slots, quiet, count_downtime, force, memory_mb))
        _finish_message(state)
    except GomeError as exc:
        raise fail(exc) from exc
    click.echo(run_id)
    _exit_if_stopped(state)


def _status(store: Any, state: Any) -> str:
    """The folded status, with an unfinished run told apart by its lease: running, stopped or interrupted."""
    if state.status not in ("running", "stopped"):
        return state.status
    from ..lease import live_status

    return live_status(store, state.run_id)


def _exit_if_stopped(state: Any) -> None:
    """A run stopped by Ctrl-C/SIGTERM exits 130, so scripts can tell it from a finished one."""
    if not state.is_finished:
        click.echo(f"gome: run {state.run_id} stopped; continue it with `gome resume {state.run_id}`", err=True)
        sys.exit(130)


def _fold(store: Any, run_id: str) -> Any:
    from ..snapshots import load_state

    store.require_run(run_id)
    return load_state(store, run_id)


@click.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.option("--provenance", "with_provenance", is_flag=True,
              help="For imported runs: where every step came from (source files in the foreign log folder, "
                   "their dialect and signature status, the foreign loop and step).")
@db_option
def show_cmd(run_id: str, as_json: bool, with_provenance: bool, db: Path) -> None:
    """A run's status, traces, best scores, selected submission and grade."""
    try:
        store = open_store(db, readonly=True)
        state = _fold(store, run_id)
        summary = run_summary(state)
        summary["status"] = _status(store, state)
        sources = None
        if state.origin != "gome" or with_provenance:
            from ..rdagent.provenance import step_sources, summarise_sources

            rows = step_sources(store.read(run_id))
            summary["provenance"] = summarise_sources(rows)
            if with_provenance:
                sources = summary["provenance"]["steps_detail"] = rows
    except GomeError as exc:
        raise fail(exc) from exc
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    if sources is not None:
        if not sources:
            click.echo(f"run {run_id} ({state.origin}) has no imported steps: every event was recorded by gome itself")
        for r in sources:
            where = f"loop {r['loop']} {r['step'] or ''}".strip() if r.get("loop") is not None else "run"
            files = ", ".join(f"{f.get('path')} ({f.get('dialect')}, {f.get('signature')})" for f in r["files"])
            click.echo(f"seq {r['seq']:>5} {r['type']:<20} {r['trace'] or '-':<4} {where:<24} "
                       f"{'(inferred) ' if r.get('inferred') else ''}{files}")
        return
    s = summary
    click.echo(f"run {s['run_id']}  task {s['task_id']}  status {s['status']}  ({s['strategy']}, "
               f"reasoner {s['reasoner'].get('kind')}:{s['reasoner'].get('model')})")
    click.echo(f"events {s['event_count']}  budget {s['spent_s']:.0f}/{s['budget_s']:.0f}s spent "
               f"(downtime {s['downtime_s']:.0f}s)  llm calls {s['llm_calls']['total']}  "
               f"executions {s['executions']['total']} {s['executions']['by_outcome']}  cost ${s['cost_usd']:.4f}")
    for tid, t in s["traces"].items():
        click.echo(f"  {tid}: {t['direction'][:40]:<40} it {t['iteration']:>2}  {t['phase']:<12} "
                   f"best {t['best_val_score']}  accepted {t['accepted']}")
    if s["resumes"]:
        click.echo("resumes: " + ", ".join(f"seq {r['seq']} ({r['cause']})" for r in s["resumes"]))
    if s.get("provenance"):
        p = s["provenance"]
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(p["files_by_dialect_signature"].items()))
        click.echo(f"imported from {s['origin']}: {p['steps']} steps name their {p['files']} source files ({kinds}); "
                   f"{p['standalone_records']} files stand alone; `gome show {s['run_id']} --provenance` lists them")
    if s["selected"]:
        sel = s["selected"]
        click.echo(f"selected: {sel.get('solution_id')} from {sel.get('selected_trace')} val {sel.get('val_score')} "
                   f"(by {sel.get('by')}: {sel.get('reason')})")
    g = s["grade"]
    if g:
        click.echo("grade report:")
        for k in ("competition_id", "score", "gold_threshold", "silver_threshold", "bronze_threshold",
                  "median_threshold", "any_medal", "gold_medal", "silver_medal", "bronze_medal",
                  "above_median", "valid_submission", "is_lower_better"):
            if k in g:
                click.echo(f"  {k}: {g[k]}")


@click.command("status")
@click.argument("run_id")
@db_option
def status_cmd(run_id: str, db: Path) -> None:
    """One line: where the run is now."""
    try:
        store = open_store(db, readonly=True)
        state = _fold(store, run_id)
        status = _status(store, state)
    except GomeError as exc:
        raise fail(exc) from exc
    click.echo(f"{status}: {progress_line(state)}")


def _check_jobs(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"{value} is not a number of processes; use 1 or more (1 = serial), "
                                 "or leave it out for one per core")
    return value


@click.command("replay")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (notes included).")
@click.option("--reexecute", is_flag=True, help="Also re-run every recorded experiment and compare scores.")
@click.option("--tolerance", default=1e-6, show_default=True, help="Score tolerance for --reexecute.")
@click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path),
              help="MLE-bench data folder, for --reexecute of a run on an mlebench:<id> task or of an "
                   "imported RD-Agent run (its competition is DIR/<competition>/prepared).")
@click.option("--jobs", type=int, default=None, metavar="N", callback=_check_jobs,
              help="Processes to replay on; default one per core for runs over 10,000 events per process; "
                   "1 = serial.")
@db_option
def replay_cmd(run_id: str, as_json: bool, reexecute: bool, tolerance: float, mlebench_data: Path | None,
               jobs: int | None, db: Path) -> None:
    """Re-derive every recorded decision with today's code (no LLM, no GPU); exit 1 at the first divergence."""
    from ..replay_jobs import replay_store

    try:
        store = open_store(db, readonly=True)  # --reexecute writes nothing either: it runs in a temp dir
        store.require_run(run_id)  # replay folds the log itself: no fold before it
        report = replay_store(store, run_id, jobs=jobs, progress=lambda m: click.echo(m, err=True))
        rex = None
        if reexecute:
            from ..reexecute import reexecute_run

            rex = reexecute_run(store, run_id, tolerance=tolerance, mlebench_data=mlebench_data,
                                progress=lambda m: click.echo(m, err=True))
    except GomeError as exc:
        raise fail(exc) from exc
    out = report.to_json()
    if rex is not None:
        out["reexecute"] = rex
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True, default=str))
    else:
        click.echo(f"replay {run_id} ({report.mode}): {report.events} events checked, {report.decisions} decisions "
                   f"re-derived in {report.seconds:.3f}s ({report.events / max(report.seconds, 1e-9):,.0f} events/s)")
        if report.divergence:
            d = report.divergence
            click.echo(f"DIVERGED at seq {d.seq} ({d.recorded['type']} on {d.recorded['trace_id']})")
            click.echo(f"  recorded: {json.dumps(d.recorded, sort_keys=True)[:1500]}")
            click.echo(f"  derived:  {json.dumps(d.derived, sort_keys=True)[:1500]}")
            for f in d.fields[:20]:
                click.echo(f"  field {f['path']}: recorded {json.dumps(f['recorded'])[:200]} != derived "
                           f"{json.dumps(f['derived'])[:200]}")
            click.echo(f"  likely cause: {d.likely_cause}")
        else:
            click.echo("all decisions agree")
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        if rex is not None:
            for row in rex["experiments"]:
                if "status" in row:  # imported runs: reproduced / differs / cannot_run, with why
                    click.echo(f"  loop {row['loop']} ({row['key']}): {row['status']}; recorded "
                               f"{row['recorded_val_score']} now {row['val_score']}"
                               + (f" - {row['why']}" if row.get("why") else ""))
                    continue
                click.echo(f"  {row['key']}: recorded {row['recorded_val_score']} now {row['val_score']} "
                           f"-> {'reproduced' if row['reproduced'] else 'DIFFERENT'}")
            click.echo(f"reexecute: {rex['reproduced']}/{rex['total']} experiments reproduced")
    bad = report.divergence is not None or (rex is not None and rex["reproduced"] != rex["total"])
    sys.exit(1 if bad else 0)


@click.command("fork")
@click.argument("run_id")
@click.option("--at", "at_seq", type=int, required=True, help="Keep events 1..SEQ.")
@click.option("--run-id", "new_run_id", default=None, help="Id of the new run (default RUN-forkSEQ).")
@db_option
def fork_cmd(run_id: str, at_seq: int, new_run_id: str | None, db: Path) -> None:
    """Make a new run from RUN's events up to SEQ; `gome resume NEW` continues it (what-if)."""
    from ..resume import fork_run

    try:
        store = open_store(db)
        new_id = fork_run(store, run_id, at_seq, new_run_id)
    except GomeError as exc:
        raise fail(exc) from exc
    click.echo(f"forked {run_id} at seq {at_seq}; continue with `gome resume {new_id}` "
               "(optionally --reasoner/--model/--budget)", err=True)
    click.echo(new_id)
