"""`gome tasks`: list, show, validate and grade tasks from the command line.

Each command parses its arguments, makes one call into ``gome_es.tasks`` and
prints; library errors become exit codes in the command group (``GomeGroup``),
except a task that is not found and a grading error, which exit 1 as documented.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gome_es import tasks as lib
from gome_es.cli.main import GomeGroup
from gome_es.errors import GomeError
from gome_es.trust.text import clean

mlebench_option = click.option(
    "--mlebench-data", type=click.Path(file_okay=False, path_type=Path), default=None,
    envvar="GOME_MLEBENCH_DATA",
    help="Directory `mlebench prepare` filled (DIR/<id>/prepared/{public,private}); "
    "needed for mlebench:<competition-id> tasks.",
)


def _load(task_id: str, mlebench_data: Path | None, overrides: dict[str, Any] | None = None) -> lib.Task:
    try:
        return lib.load_task(task_id, mlebench_data=mlebench_data, overrides=overrides or None)
    except lib.TaskNotFound as exc:
        raise click.ClickException(str(exc)) from exc  # exit 1, as documented


def _load_for_grading(task_id: str, mlebench_data: Path | None) -> lib.Task:
    """The task, or for an MLE-bench competition whose public files gome does not understand, a
    task built from the grader's facts alone: grading never needs the public files understood."""
    try:
        return lib.load_task(task_id, mlebench_data=mlebench_data)
    except lib.TaskNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    except lib.TaskDataMissing as exc:
        if not task_id.startswith("mlebench:") or mlebench_data is None:
            raise
        # lazy: keeps gome <cmd> --help light
        from gome_es.tasks.mlebench_grade import grading_task

        return grading_task(task_id.split(":", 1)[1], mlebench_data, why=str(exc))


def _json(value: object) -> str:
    """Strict JSON: a NaN or infinity is an error here, never `Infinity` in the output."""
    return json.dumps(value, indent=2, allow_nan=False)


@click.group("tasks", cls=GomeGroup)
def tasks_group() -> None:
    """Bundled and MLE-bench competitions: list, inspect, validate and grade submissions."""


@tasks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="GOME_MLEBENCH_DATA",
              help="Also list the prepared MLE-bench competitions in this data dir (env GOME_MLEBENCH_DATA).")
def list_cmd(as_json: bool, mlebench_data: Path | None) -> None:
    """List the bundled tasks, and the prepared MLE-bench competitions of --mlebench-data DIR."""
    infos = lib.list_tasks()
    if mlebench_data is not None:
        infos += lib.list_mlebench(mlebench_data)
    if as_json:
        click.echo(_json([i.model_dump(mode="json") for i in infos]))
        return
    width = max([26] + [len(i.id) + 1 for i in infos])
    click.echo(f"{'id':<{width}} {'type':<11} {'metric':<22} better")
    for i in infos:
        if i.title.startswith("unusable: "):
            click.echo(f"{i.id:<{width}} {i.title}")
            continue
        click.echo(f"{i.id:<{width}} {i.task_type:<11} {i.metric:<22} {'lower' if i.lower_is_better else 'higher'}")
    if mlebench_data is None:
        click.echo("Also: mlebench:<competition-id> with --mlebench-data DIR.")


@tasks_group.command("show")
@click.argument("task_id")
@mlebench_option
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
@click.option("--id-column", default=None,
              help="mlebench: tasks: show the reading with this id column (any column of the sample submission, "
                   "wherever it is), as `gome run --id-column` would record it.")
@click.option("--target", "targets", multiple=True,
              help="mlebench: tasks: show the reading with these target column(s) of the training data "
                   "(repeat for several), as `gome run --target` would record them.")
def show_cmd(task_id: str, mlebench_data: Path | None, as_json: bool, id_column: str | None,
             targets: tuple[str, ...]) -> None:
    """Show one task's config, paths (task directory included), data fingerprint and, for an MLE-bench
    competition, what was inferred from its public files (modality, ids, media, columns, confidence)."""
    overrides = {k: v for k, v in (("id_column", id_column), ("target", list(targets))) if v}
    task = _load(task_id, mlebench_data, overrides)
    data = task.model_dump(mode="json")
    data["ready_to_grade"] = not task.grading_problems
    if as_json:
        click.echo(_json(data))
        return
    understanding = data.pop("understanding", None)
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import text

    for key, value in data.items():
        click.echo(f"{key:<24} {text(value)}")
    if understanding:
        for line in understanding_lines(understanding):
            click.echo(line)


UNDERSTANDING_HEADLINE = ("modality", "modalities", "target_kind", "submission_kind", "confidence", "unsure",
                          "media")


def understanding_lines(u: dict[str, Any]) -> list[str]:
    """`gome tasks show`'s account of what was inferred: the reading first, then every field."""
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import text

    out = ["inferred from the public files (override with gome run --task-type/--target/--id-column):"]
    if u.get("modality"):
        mods = [m for m in u.get("modalities") or [] if m != u["modality"]]
        out.append(f"  {'modality':<22} {text(u['modality'])}" + (f" (with {text(', '.join(mods))})" if mods else "")
                   + f"; predicting {text(u.get('target_kind'))} as {text(u.get('submission_kind'))}")
        out.append(f"  {'id':<22} {text(u.get('id_column'))} (column {int(u.get('id_position') or 0) + 1} of "
                   f"{text(u.get('sample_submission'))}; test ids from {text(u.get('id_source'))}"
                   + (f", built as {text(u['id_pattern'])}" if u.get("id_pattern") else "") + ")")
        out.append(f"  {'confidence':<22} {text(u.get('confidence'))}")
        for reason in u.get("unsure") or []:
            out.append(f"    unsure: {text(reason)}")
        for m in u.get("media") or []:
            where = f"{m.get('path')}/" if m.get("container") == "folder" else f"{m.get('path')}:{m.get('prefix')}"
            maps = (f", {m.get('id_from')} = {m.get('id_column')}" if m.get("id_from") != "none" else "")
            if m.get("index_file"):
                maps = f", {m.get('id_from')} listed in {m['index_file']}:{m.get('index_column')}"
            label = f", label in name {m.get('label_from_name')}" if m.get("label_from_name") else ""
            out.append(f"    media {text(m.get('role')):<12} {text(m.get('kind'))} {text(where)} "
                       f"{m.get('count')}{'+' if m.get('count_capped') else ''} {text(m.get('extension'))}"
                       f"{text(maps)}{text(label)}")
    for key, value in u.items():
        if key not in UNDERSTANDING_HEADLINE:
            out.append(f"  {key:<22} {text(value)}")
    return out


@tasks_group.command("validate")
@click.argument("task_id")
@click.argument("submission", type=click.Path(path_type=Path))
@mlebench_option
def validate_cmd(task_id: str, submission: Path, mlebench_data: Path | None) -> None:
    """Say whether SUBMISSION is well-formed for TASK_ID, and why not; never scores it.

    Exit status 0 when valid, 1 when invalid.
    """
    task = _load_for_grading(task_id, mlebench_data)
    check = lib.validate_submission(task, submission)
    if check.valid:
        click.echo(f"valid: {submission} matches the format of task {task.id}")
        return
    click.echo(f"invalid: {submission} for task {task.id}")
    for reason in check.reasons:
        click.echo(clean(f"  - {reason}"))  # reasons quote the submission's cells
    raise SystemExit(1)


@tasks_group.command("grade")
@click.argument("task_id")
@click.argument("submission", type=click.Path(path_type=Path))
@mlebench_option
@click.option("--json", "as_json", is_flag=True, help="Print MLE-bench's report as JSON.")
@click.option("--grader", type=click.Choice(["auto", "gome", "mlebench"]), default="auto", show_default=True,
              help="Who grades an mlebench: task: the installed mlebench package, gome's own grader (exact "
              "for the competitions `docs/tasks.md` lists), or auto (mlebench where importable, else gome).")
def grade_cmd(task_id: str, submission: Path, mlebench_data: Path | None, as_json: bool, grader: str) -> None:
    """Grade SUBMISSION on TASK_ID's private answers and place it on the leaderboard.

    An invalid submission scores null (the reasons go to stderr); the exit status is 0
    either way, as the report itself says whether it was valid.  Where gome's validation
    and MLE-bench's grader disagree about the submission, a note on stderr says how.
    """
    task = _load_for_grading(task_id, mlebench_data)
    try:
        graded = lib.grade_submission_with_reasons(task, submission, grader=grader)
    except GomeError as exc:
        raise click.ClickException(str(exc)) from exc
    report = graded.report.model_dump(mode="json")
    for reason in graded.reasons:
        click.echo(clean(f"invalid submission: {reason}"), err=True)
    for note in graded.notes:
        click.echo(clean(f"note: {note}"), err=True)
    if as_json:
        click.echo(_json(report))
        return
    for line in grade_lines(report, task.metric):
        click.echo(line)


def grade_lines(report: dict[str, Any], metric: str | None) -> list[str]:
    """MLE-bench's grade report in words: score, medal as MLE-bench means it, the lines passed."""
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import NOTHING, metric_decimals, score
    from ..report.watch import medal_words

    dec = metric_decimals(metric)
    lower = bool(report.get("is_lower_better"))
    direction = "lower is better" if lower else "higher is better"
    valid = "valid submission" if report.get("valid_submission") else "INVALID submission (score null)"
    out = [f"competition  {report.get('competition_id')}",
           f"test score   {score(report.get('score'), dec)} ({metric or 'score'}, {direction}) · {valid}",
           f"medal        {medal_words(report)}"]
    lines = []
    for m in ("gold", "silver", "bronze", "median"):
        line = report.get(f"{m}_threshold")
        if line is not None:
            lines.append(f"{m} {score(line, dec)}")
    median = "above median" if report.get("above_median") else "not above median"
    out.append(f"lines        {' · '.join(lines) or NOTHING} ({median})")
    if report.get("submission_path"):
        out.append(f"submission   {report['submission_path']}")
    return out
