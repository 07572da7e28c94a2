"""`gome run`, `resume`, `show`, `status`, `replay`, `fork`: the agent's commands.

Each parses its options, makes one library call and prints; library errors
become click errors only here.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..analysis.views import iteration_label, run_summary
from ..api.run import ready_to_grade
from ..core.events import ReasonerConfig, RunConfig, estimated_experiment_s
from ..core.vocabulary import ReasonerKind
from ..trust.text import clean
from .common import db_option, foldable, open_store, run_id_argument, run_id_in
from .origins import TRUST_CONFIG_HELP, check_endpoint, endpoint_of, start_lines
from .params import (
    AT_LEAST_ONE,
    DURATION,
    MAX_TRACES,
    MEMORY_MB,
    PRICE,
    REASONER_KINDS,
    RUN_ID,
    SEED,
    SLOTS,
    TOLERANCE,
    TRACES,
    WORK_DIR,
    parse_duration,  # noqa: F401  (benchmarks/agent_compare.py imports it from here)
)

if TYPE_CHECKING:
    from ..core.state import RunState
    from ..store import EventStore


def _load_task(task_id: str, mlebench_data: Path | None, overrides: dict[str, Any] | None = None) -> Any:
    # lazy: keeps gome <cmd> --help light
    from ..tasks import load_task

    return load_task(task_id, mlebench_data=mlebench_data, overrides=overrides or None)


def _options(workspace: Path | None, slots: int, quiet: bool, count_downtime: bool = False,
             force: bool = False, memory_mb: int | None = None, db: Path | None = None,
             llm_concurrency: int = 4) -> Any:
    # lazy: keeps gome <cmd> --help light
    from ..driver.options import DriveOptions
    from .progress import Progress

    opts = DriveOptions(slots=slots, progress=Progress(quiet), count_downtime=count_downtime, force=force,
                        memory_limit_mb=memory_mb, llm_concurrency=llm_concurrency)
    if workspace is not None:
        opts.workspace_root = workspace
    elif db is not None:  # keyed by database and run: <db dir>/.gome/work/<run-id>
        # lazy: keeps gome <cmd> --help light
        from ..driver.workspaces import workspace_root

        opts.workspace_root = workspace_root(db)
    return opts


def _bound_by_budget(reasoner: Any, budget_left_s: float) -> None:
    """An LLM reasoner's retries (waits, attempts, timeouts) never run past the run's budget: a call
    during an outage gives up at the deadline, recorded as a failed call that says so."""
    if hasattr(reasoner, "deadline"):
        reasoner.deadline = time.time() + max(0.0, budget_left_s)


def _model_named(kind: Any, model: Any, replay_from: Any) -> str:
    """The model a reasoner will use, as the start of a run names it."""
    if kind == ReasonerKind.openai:
        # lazy: keeps gome <cmd> --help light
        from ..llm.factory import DEFAULT_MODELS

        return str(model or DEFAULT_MODELS[ReasonerKind.openai])
    if kind == ReasonerKind.replay:
        return f"the recorded answers of run {replay_from}"
    return "offline rules"


def _finish_message(state: RunState) -> None:
    # lazy: keeps gome <cmd> --help light
    from .progress import finish_lines

    for line in finish_lines(state):
        click.echo(clean(line), err=True)


# The budget slice one experiment is planned in: the library's rule (RunConfig records it).
experiment_estimate_s = estimated_experiment_s


def check_budget(budget_s: float, text: str) -> None:
    """Refuse, before anything is recorded, a budget in which not one experiment fits."""
    need = experiment_estimate_s(budget_s)
    if budget_s < need:
        raise click.BadParameter(
            f"a budget of {budget_s:g}s cannot fit one experiment (planned at {need:g}s each); "
            f"give at least --budget {need:g}s, e.g. --budget 5m", param_hint="--budget")


_common_run = [
    click.option("--workspace", type=WORK_DIR,
                 help="Where experiment workspaces go (default .gome/work beside the database, or "
                      "$GOME_WORKSPACE); each run gets <root>/<run-id>."),
    click.option("--slots", "--jobs", "slots", type=SLOTS, default=2, show_default=True,
                 help="Concurrent executions, 1 or more (under --schedule lockstep: concurrent side effects "
                      "of any kind); --jobs is the same option."),
    click.option("--llm-concurrency", default=4, show_default=True, type=click.IntRange(min=1),
                 help="Concurrent LLM calls under the async schedule, 1 or more (separate from --slots)."),
    click.option("--memory-mb", type=MEMORY_MB, default=None, help="Memory limit per execution (MB, 1 or more)."),
    click.option("--quiet", is_flag=True, help="No live progress on stderr."),
    click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path), envvar="GOME_MLEBENCH_DATA",
                 help="Directory `mlebench prepare` filled (for --task mlebench:<id>; env GOME_MLEBENCH_DATA). "
                 "Recorded when a run starts; resume, replay --reexecute and report reuse it."),
    click.option("--trust-config", is_flag=True, help=TRUST_CONFIG_HELP),
]


_F = TypeVar("_F", bound=Callable[..., Any])


def _apply(options: list[Callable[[Any], Any]]) -> Callable[[_F], _F]:
    def deco(f: _F) -> _F:
        for o in reversed(options):
            f = o(f)
        return f

    return deco


@click.command("run")
@click.option("--task", "task_id", required=True, help="Task id (`gome tasks list`) or mlebench:<competition-id>.")
@click.option("--traces", type=TRACES, default=2, show_default=True,
              help=f"Parallel traces, 1..{MAX_TRACES} (1 = the no-parallelism ablation).")
@click.option("--budget", type=DURATION, default="10m", show_default=True,
              help="Wall-clock budget, e.g. 12h, 90m, 600 (seconds); more than 0, at most a year.")
@click.option("--max-iterations", type=AT_LEAST_ONE, default=4, show_default=True, help="Iterations per trace (1 or more).")
@click.option("--strategy", type=click.Choice(["gome", "tree"]), default="gome", show_default=True,
              help="Search policy: gome (parallel traces) or tree (the AIDE-like tree-search baseline).")
@click.option("--reasoner", type=click.Choice(REASONER_KINDS), default=ReasonerKind.offline.value, show_default=True,
              help="Who writes hypotheses and code: offline rules, an OpenAI-compatible model, or a recorded run.")
@click.option("--model", default=None, help="Model name for --reasoner openai.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure...).")
@click.option("--replay-from", default=None, help="For --reasoner replay: the run whose answers to serve.")
@click.option("--price-in", type=PRICE, default=None,
              help="Dollars per million prompt tokens (with --price-out); without them only OpenAI's own "
              "endpoint and listed models are priced, and other calls record cost null.")
@click.option("--price-out", type=PRICE, default=None, help="Dollars per million completion tokens.")
@click.option("--max-llm-failures", type=click.IntRange(0), default=3, show_default=True,
              help="Stop the run (exit 4, RunStopped cause llm_unavailable) after this many LLM calls in a "
              "row fail after their retries; 0 never stops. `gome resume` continues later.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the run's random choices (0 or more).")
@click.option("--run-id", type=RUN_ID, default=None,
              help="Id for the new run (default: generated): up to 100 of A-Z a-z 0-9 . _ -, starting "
                   "with a letter or digit.")
@click.option("--candidates", type=AT_LEAST_ONE, default=5, show_default=True,
              help="Hypotheses proposed per iteration (K, 1 or more).")
@click.option("--top-k", type=AT_LEAST_ONE, default=2, show_default=True,
              help="Draw among the top k by weighted score (1 or more, at most --candidates).")
@click.option("--exec-timeout", type=DURATION, default="5m", show_default=True,
              help="Timeout of one experiment, e.g. 5m or 300 (seconds); more than 0.")
@click.option("--no-structured-reasoning", is_flag=True, help="Ablation: draw a candidate without diagnosis or scoring.")
@click.option("--no-memory", is_flag=True, help="Ablation: no shared success memory.")
@click.option("--task-type", type=click.Choice(["binary", "multiclass", "regression", "text"]), default=None,
              help="mlebench: tasks: override the inferred task type (recorded in RunStarted).")
@click.option("--target", "targets", multiple=True,
              help="mlebench: tasks: the target column(s) in the training data, if inference got them wrong "
              "(repeat for several; recorded).")
@click.option("--id-column", default=None,
              help="mlebench: tasks: override the inferred id column: any column of the sample submission, "
                   "wherever it is (the submission keeps the sample's column order; recorded).")
@click.option("--weights-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A local folder of pretrained model weights (a torch hub cache, state_dict files) mounted "
                   "read-only into every solution's sandbox as $GOME_WEIGHTS_DIR; its listing and digest are "
                   "recorded in the run (config key: weights-dir).")
@click.option("--schedule", type=click.Choice(["async", "lockstep"]), default="async", show_default=True,
              help="async: each outcome is followed at once by the decisions it unlocks, traces never wait for "
                   "each other; lockstep: decide only when every effect of a round is in (recorded in the run).")
@_apply(_common_run)
@db_option
def run_cmd(task_id: str, traces: int, budget: float, max_iterations: int, strategy: str, reasoner: str,
            model: str | None, base_url: str | None, replay_from: str | None, price_in: float | None,
            price_out: float | None, max_llm_failures: int, seed: int, run_id: str | None,
            candidates: int, top_k: int, exec_timeout: float, no_structured_reasoning: bool, no_memory: bool,
            task_type: str | None, targets: tuple[str, ...], id_column: str | None, weights_dir: Path | None,
            schedule: str,
            workspace: Path | None, slots: int, llm_concurrency: int, memory_mb: int | None, quiet: bool,
            mlebench_data: Path | None, trust_config: bool, db: Path) -> None:
    """Solve a task: run the agent and print the run id as the last line.

    The first lines on stderr name the endpoint, the model, the workspace and every option that came
    from a config file or the environment. A config file's base-url for a host other than OpenAI's is
    refused while an API key would be sent to it, unless --base-url repeats it or --trust-config is given.
    """
    # lazy: keeps gome <cmd> --help light
    from ..driver.driver import drive, start_run

    if top_k > candidates:
        raise click.BadParameter(f"--top-k {top_k} is more than --candidates {candidates}; the draw is "
                                 "among the top k of the candidates", param_hint="'--top-k'")
    store = None
    try:
        overrides = {k: v for k, v in (("task_type", task_type), ("target", list(targets)),
                                       ("id_column", id_column)) if v}
        task = _load_task(task_id, mlebench_data, overrides)
        # what the final grade needs, never the understanding: an unsure one still starts (the
        # offline reasoner says in the run which modality its rules do not cover)
        ready_to_grade(task)
        budget_s = budget
        check_budget(budget_s, f"{budget_s:g}s")
        cfg = RunConfig(traces=traces, max_iterations=max_iterations, budget_s=budget_s, seed=seed,
                        strategy=strategy, n_candidates=candidates, top_k=top_k,
                        structured_reasoning=not no_structured_reasoning, memory=not no_memory,
                        exec_timeout_s=exec_timeout, schedule=schedule)  # est_exec_s: derived from the budget
        if replay_from and Path(db).exists():  # recorded whole, whatever prefix or @last named it
            replay_from = run_id_in(db, replay_from)
        rcfg = ReasonerConfig(kind=reasoner, model=model or None, base_url=base_url, replay_from=replay_from,
                              price_in=price_in, price_out=price_out)
        if (price_in is None) != (price_out is None):
            raise click.UsageError("give both --price-in and --price-out, or neither")
        ctx = click.get_current_context()
        check_endpoint(ctx, reasoner, base_url, trust_config)
        # before anything is opened or recorded: where the run goes and what set it up
        root = _options(workspace, slots, True, db=db).workspace_root
        for line in start_lines(ctx, endpoint=endpoint_of(reasoner, base_url), model=_model_named(reasoner, model, replay_from),
                                workspace=f"{root}/<run id>"):
            click.echo(f"gome: {line}", err=True)
        store = open_store(db, create=True)
        # lazy: keeps gome <cmd> --help light
        from ..llm.factory import make_reasoner

        # build the reasoner first: a missing API key must not leave a started run behind
        live_reasoner = make_reasoner(rcfg.model_dump(), store)
        weights = None
        if weights_dir is not None:
            # lazy: keeps gome <cmd> --help light
            from ..executor.weights import describe

            weights = describe(weights_dir)
        rid = start_run(store, task, cfg, rcfg, run_id=run_id, weights=weights)
        _bound_by_budget(live_reasoner, budget_s)
        # lazy: keeps gome <cmd> --help light
        from ..report.textfmt import duration

        opts = _options(workspace, slots, quiet, memory_mb=memory_mb, db=db, llm_concurrency=llm_concurrency)
        click.echo(clean(f"gome: run {rid} on {task.id} ({strategy}, {traces} traces x {max_iterations} iterations, "
                         f"budget {duration(budget_s)}, seed {seed}, reasoner {reasoner}, {schedule} schedule) "
                         f"-> {db}"), err=True)

        opts.max_llm_failures = max_llm_failures
        state = drive(store, rid, task=task, reasoner=live_reasoner, options=opts)
        _finish_message(state)
    finally:
        if store is not None:
            store.close()
    click.echo(rid)
    _exit_if_stopped(state)


@click.command("resume")
@run_id_argument()
@click.option("--count-downtime", is_flag=True, help="Let the time the run was down count against its budget.")
@click.option("--force", is_flag=True, help="Continue under changed code even where it decides the past differently.")
@click.option("--reasoner", type=click.Choice(REASONER_KINDS), default=None,
              help="Continue with another reasoner (recorded in RunResumed).")
@click.option("--model", default=None, help="Model name for the new reasoner (recorded).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint for the new reasoner (recorded).")
@click.option("--replay-from", default=None, help="For --reasoner replay: the run whose answers to serve.")
@click.option("--budget", type=DURATION, default=None, help="Change the run's budget, e.g. 12h (recorded).")
@click.option("--max-iterations", default=None, type=AT_LEAST_ONE,
              help="Change iterations per trace, 1 or more (recorded).")
@_apply(_common_run)
@db_option
def resume_cmd(run_id: str, count_downtime: bool, force: bool, reasoner: str | None, model: str | None,
               base_url: str | None, replay_from: str | None, budget: float | None, max_iterations: int | None,
               workspace: Path | None, slots: int, llm_concurrency: int, memory_mb: int | None, quiet: bool,
               mlebench_data: Path | None, trust_config: bool, db: Path) -> None:
    """Continue an interrupted (crashed, stopped or forked) run from its log.

    Like `gome run`, it first names the endpoint, the model, the workspace and every option that came
    from a config file or the environment, and refuses a config file's remote base-url (see `gome run`).
    """
    # lazy: keeps gome <cmd> --help light
    from ..driver.driver import drive

    overrides: dict[str, Any] = {}
    if replay_from:
        replay_from = run_id_in(db, replay_from)
    if reasoner or model or base_url or replay_from:
        overrides["reasoner"] = {k: v for k, v in {"kind": reasoner, "model": model, "base_url": base_url,
                                                   "replay_from": replay_from}.items() if v}
    cfg_over: dict[str, Any] = {}
    if budget is not None:
        cfg_over["budget_s"] = budget
        check_budget(budget, f"{budget:g}s")
    if max_iterations is not None:
        cfg_over["max_iterations"] = max_iterations
    if cfg_over:
        overrides["config"] = cfg_over
    store = None
    try:
        ctx = click.get_current_context()
        store = open_store(db)
        state = _fold(store, run_id)
        # lazy: keeps gome <cmd> --help light
        from ..tasks import task_for_run

        task = task_for_run(state.task_id or "", state.task, mlebench_data)
        if not quiet and not state.is_finished:
            # lazy: keeps gome <cmd> --help light
            from ..driver.lease import live_status
            from .progress import resume_notice

            found = "forked and never resumed" if state.forked_from and not state.resumes else \
                {"stopped": "stopped gracefully", "interrupted": "interrupted (crashed or killed)",
                 "running": "still held by a live process"}.get(live_status(store, run_id), "interrupted")
            click.echo(resume_notice(state, found, time.time()), err=True)
        opts = _options(workspace, slots, quiet, count_downtime, force, memory_mb, db=db,
                        llm_concurrency=llm_concurrency)
        rz = {**(state.reasoner or {}), **overrides.get("reasoner", {})}
        check_endpoint(ctx, rz.get("kind"), base_url, trust_config)
        live_reasoner = None
        if rz.get("kind") == ReasonerKind.openai:  # built here, so its retries stop at the budget left
            # lazy: keeps gome <cmd> --help light
            from ..llm.factory import make_reasoner

            live_reasoner = make_reasoner(rz, store)
            spent = float(state.budget_s) - float(state.budget_left_s)
            _bound_by_budget(live_reasoner, (budget - spent) if budget is not None else float(state.budget_left_s))
        for line in start_lines(ctx, endpoint=endpoint_of(rz.get("kind"), rz.get("base_url")),
                                model=_model_named(rz.get("kind"), rz.get("model"), rz.get("replay_from")),
                                workspace=Path(opts.workspace_root) / run_id):
            click.echo(f"gome: {line}", err=True)
        state = drive(store, run_id, task=task, resuming=True, overrides=overrides, options=opts,
                      reasoner=live_reasoner)
        _finish_message(state)
    finally:
        if store is not None:
            store.close()
    click.echo(run_id)
    _exit_if_stopped(state)


def _status(store: EventStore, state: RunState) -> str:
    """The folded status, with an unfinished run told apart by its lease: running, stopped or interrupted."""
    if state.status not in ("running", "stopped"):
        return state.status
    # lazy: keeps gome <cmd> --help light
    from ..driver.lease import live_status

    status = live_status(store, state.run_id)
    if status == "interrupted" and state.forked_from and not state.resumes:
        return "forked"  # a fork nobody resumed yet: nothing was interrupted
    return status


def _exit_if_stopped(state: RunState) -> None:
    """A run stopped by Ctrl-C/SIGTERM exits 130, so scripts can tell it from a finished one (a
    reasoner that kept failing, 4);
    a finished run whose grading failed exits 3 (`gome resume` grades it again); a run that
    finished without any valid solution (RunFinished status failed) exits 1."""
    if state.is_finished and state.status == "failed":
        click.echo(f"gome: no valid solution (exit 1); `gome steps {state.run_id}` shows why each "
                   "experiment was rejected", err=True)
        sys.exit(1)
    grade = state.grade or {}
    if state.is_finished and grade.get("grading_failed"):
        click.echo(f"gome: run {state.run_id} finished but grading failed: {grade.get('error')}; "
                   f"fix that and run `gome resume {state.run_id}` to grade it", err=True)
        sys.exit(3)
    if not state.is_finished:  # the finish lines said why it stopped and how to go on: said once
        last = state.stops[-1] if state.stops else {}
        stopped_by = last.get("cause") if last.get("seq") == state.last_seq else None
        sys.exit(4 if stopped_by in ("llm_unavailable", "offline_rules") else 130)


def _fold(store: EventStore, run_id: str) -> RunState:
    # lazy: keeps gome <cmd> --help light
    from ..driver.snapshots import load_state

    store.require_run(run_id)
    with foldable(run_id, store.path):
        return load_state(store, run_id)


@click.command("show")
@run_id_argument()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.option("--provenance", "with_provenance", is_flag=True,
              help="For imported runs: where every step came from (source files in the foreign log folder, "
                   "their dialect and signature status, the foreign loop and step).")
@db_option
def show_cmd(run_id: str, as_json: bool, with_provenance: bool, db: Path) -> None:
    """A run's status, traces, best scores, selected submission and grade."""
    store = open_store(db, readonly=True)
    state = _fold(store, run_id)
    summary = run_summary(state)
    summary["status"] = _status(store, state)
    summary["tags"], summary["note"] = _labels(store, str(summary["run_id"]))
    if (state.task_id or "").startswith("mlebench:"):
        # one line of MLE-bench's submissions.jsonl, for `mlebench grade --submission`
        summary["mlebench_submission"] = {
            "competition_id": (state.task_id or "").split(":", 1)[1],
            "submission_path": submission_file(summary),
        }
    sources = None
    if state.origin != "gome" or with_provenance:
        # lazy: keeps gome <cmd> --help light
        from ..rdagent.provenance import step_sources, summarise_sources

        rows = step_sources(store.read(run_id))
        summary["provenance"] = summarise_sources(rows)
        if with_provenance:
            sources = summary["provenance"]["steps_detail"] = rows
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return

    if sources is not None:
        if not sources:
            click.echo(f"run {run_id} ({state.origin}) has no imported steps: every event was recorded by gome itself")
        for r in sources:
            where = f"loop {r['loop']} {r['step'] or ''}".strip() if r.get("loop") is not None else "run"
            files = ", ".join(f"{f.get('path')} ({f.get('dialect')}, {f.get('signature')})" for f in r["files"])
            click.echo(clean(f"seq {r['seq']:>5} {r['type']:<20} {r['trace'] or '-':<4} {where:<24} "
                             f"{'(inferred) ' if r.get('inferred') else ''}{files}"))
        return
    for line in show_lines(summary, state):
        click.echo(clean(line))
    if summary["tags"] or summary["note"]:  # `gome runs tag/note`: labels, not events
        click.echo(clean(f"tags {', '.join(summary['tags']) or '—'}", "line"))
        for i, line in enumerate((summary["note"] or "").splitlines()):
            click.echo(("note " if i == 0 else "     ") + clean(line, "line"))


def _labels(store: EventStore, run_id: str) -> tuple[list[str], str | None]:
    """The run's tags and note (`gome runs tag/note`)."""
    # lazy: keeps gome <cmd> --help light
    from ..store.runadmin import Labels, read_labels

    lab = read_labels(store).get(run_id, Labels())
    return list(lab.tags), lab.note


def submission_file(s: dict[str, Any]) -> str | None:
    """The submitted file, or None when the run has none (no valid solution, nothing selected):
    the grade's path is where a submission would have been, not a file to point anyone at."""
    if s.get("submission_path"):
        return str(s["submission_path"])
    grade = s.get("grade") or {}
    if grade.get("submission_path") and grade.get("submission_exists") \
            and (s.get("selected") or {}).get("submission_sha"):
        return str(grade["submission_path"])
    return None


def show_lines(s: dict[str, Any], state: RunState) -> list[str]:
    """`gome show` for people: rounded numbers, "—" for nothing, the grade in words."""
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import NOTHING, counts, duration, metric_decimals, money, score, text
    from ..report.watch import medal_words

    metric = str(state.task.get("metric") or "score")
    dec = metric_decimals(metric)
    direction = "lower is better" if state.lower_is_better else "higher is better"
    rz = s.get("reasoner") or {}
    out = [f"run {text(s['run_id'])}  task {text(s['task_id'])}  status {s['status']}  ({text(s['strategy'])}, "
           f"reasoner {text(rz.get('kind'))}:{text(rz.get('model'))})  metric {text(metric)} ({direction})",
           f"events {s['event_count']}  budget {duration(s['spent_s'])} of {duration(s['budget_s'])} spent "
           f"(downtime {duration(s['downtime_s'])})  llm calls {s['llm_calls']['total']}  executions "
           f"{s['executions']['total']} ({counts(s['executions']['by_outcome'])})"
           + (f"  cost {money(s['cost_usd'])}" if s.get("cost_usd") else "")]
    for tid, t in s["traces"].items():
        it = f"{iteration_label(t['iteration'])} {t['iterations_done']}/{state.config.max_iterations} done"
        out.append(f"  {tid}: {text(t['direction'], 40):<40} {it:<13} {t['phase']:<12} "
                   f"best {score(t['best_val_score'], dec):>9}  accepted {t['accepted']}")
    if s["resumes"]:
        out.append("resumes: " + ", ".join(f"seq {r['seq']} ({r['cause']})" for r in s["resumes"]))
    if s.get("provenance"):
        p = s["provenance"]
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(p["files_by_dialect_signature"].items()))
        out.append(f"imported from {s['origin']}: {p['steps']} steps name their {p['files']} source files "
                   f"({kinds}); {p['standalone_records']} files stand alone; `gome show {s['run_id']} "
                   "--provenance` lists them")
    sel = s.get("selected")
    if sel:
        out.append(f"selected: {sel.get('solution_id') or NOTHING} from {sel.get('selected_trace') or NOTHING} "
                   f"(validation {metric} {score(sel.get('val_score'), dec)}; by {sel.get('by')}: "
                   f"{text(sel.get('reason'))})")
    sub = submission_file(s)
    if sub:
        out.append(f"submission: {sub}")
    g = s.get("grade")
    if g:
        lines = ", ".join(f"{m} {score(g.get(f'{m}_threshold'), dec)}" for m in ("gold", "silver", "bronze", "median")
                          if g.get(f"{m}_threshold") is not None)
        valid = "" if g.get("valid_submission", True) else " · INVALID submission"
        out.append(f"grade: test {metric} {score(g.get('score'), dec)} · {medal_words(g)}{valid}")
        if lines:
            out.append(f"  lines: {lines} ({direction})")
    return out


@click.command("status")
@run_id_argument()
@db_option
def status_cmd(run_id: str, db: Path) -> None:
    """One line: where the run is now."""
    store = open_store(db, readonly=True)
    state = _fold(store, run_id)
    status = _status(store, state)
    # lazy: keeps gome <cmd> --help light
    from .progress import progress_line

    click.echo(clean(f"{status}: {progress_line(state)}", "line"))


def _check_jobs(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"{value} is not a number of processes; use 1 or more (1 = serial), "
                                 "or leave it out for one per core")
    return value


@click.command("replay")
@run_id_argument()
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (notes included).")
@click.option("--reexecute", is_flag=True, help="Also re-run every recorded experiment and compare scores.")
@click.option("--tolerance", type=TOLERANCE, default=1e-6, show_default=True,
              help="Score tolerance for --reexecute (a finite number, 0 or more).")
@click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path), envvar="GOME_MLEBENCH_DATA",
              help="MLE-bench data folder for --reexecute of a run on an mlebench:<id> task (default: the one "
                   "the run recorded; env GOME_MLEBENCH_DATA) or of an imported RD-Agent run (its "
                   "competition is DIR/<competition>/prepared).")
@click.option("--jobs", type=int, default=None, metavar="N", callback=_check_jobs,
              help="Processes to replay on; default one per core for runs over 10,000 events per process; "
                   "1 = serial.")
@db_option
def replay_cmd(run_id: str, as_json: bool, reexecute: bool, tolerance: float, mlebench_data: Path | None,
               jobs: int | None, db: Path) -> None:
    """Re-derive every recorded decision with today's code (no LLM, no GPU); exit 1 at the first divergence."""
    # lazy: keeps gome <cmd> --help light
    from ..driver.replay_jobs import replay_store

    store = open_store(db, readonly=True)  # --reexecute writes nothing either: it runs in a temp dir
    store.require_run(run_id)  # replay folds the log itself: no fold before it
    with foldable(run_id, db):
        report = replay_store(store, run_id, jobs=jobs, progress=lambda m: click.echo(m, err=True))
    rex = None
    if reexecute:
        # lazy: keeps gome <cmd> --help light
        from ..driver.reexecute import reexecute_run

        rex = reexecute_run(store, run_id, tolerance=tolerance, mlebench_data=mlebench_data,
                            progress=lambda m: click.echo(m, err=True))

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
            click.echo(clean(f"  likely cause: {d.likely_cause}"))
        else:
            click.echo("all decisions agree")
        for note in report.notes:
            click.echo(clean(f"note: {note}"), err=True)
        if rex is not None:
            for row in rex["experiments"]:
                if "status" in row:  # imported runs: reproduced / differs / cannot_run, with why
                    click.echo(clean(f"  loop {row['loop']} ({row['key']}): {row['status']}; recorded "
                                     f"{row['recorded_val_score']} now {row['val_score']}"
                                     + (f" - {row['why']}" if row.get("why") else "")))
                    continue
                click.echo(f"  {row['key']}: recorded {row['recorded_val_score']} now {row['val_score']} "
                           f"-> {'reproduced' if row['reproduced'] else 'DIFFERENT'}")
            click.echo(f"reexecute: {rex['reproduced']}/{rex['total']} experiments reproduced")
    bad = report.divergence is not None or (rex is not None and rex["reproduced"] != rex["total"])
    sys.exit(1 if bad else 0)


@click.command("fork")
@run_id_argument()
@click.option("--at", "at_seq", type=AT_LEAST_ONE, required=True, help="Keep events 1..SEQ (SEQ 1 or more).")
@click.option("--run-id", "new_run_id", type=RUN_ID, default=None,
              help="Id of the new run (default RUN-forkSEQ): up to 100 of A-Z a-z 0-9 . _ -.")
@db_option
def fork_cmd(run_id: str, at_seq: int, new_run_id: str | None, db: Path) -> None:
    """Make a new run from RUN's events up to SEQ; `gome resume NEW` continues it (what-if)."""
    # lazy: keeps gome <cmd> --help light
    from ..driver.resume import fork_run

    store = open_store(db)
    with foldable(run_id, db):
        new_id = fork_run(store, run_id, at_seq, new_run_id)
    click.echo(f"forked {run_id} at seq {at_seq}; continue with `gome resume {new_id}` "
               "(optionally --reasoner/--model/--budget)", err=True)
    click.echo(new_id)
