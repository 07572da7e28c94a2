"""`gome code RUN SOLUTION_ID` and `gome logs RUN SOLUTION_ID`: what a solution was and what it said.

The code and the logs live in the content-addressed ``blobs`` table (zlib, so the
`sqlite3` shell cannot read them); these commands find the events that name them
and print the text.  Library: :func:`solution_code`, :func:`solution_logs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import GomeError, RunNotFound
from .common import db_option, fail, open_store


class SolutionNotFound(RunNotFound):
    """No event of the run names this solution id."""


def _solutions(store: Any, run_id: str) -> list[str]:
    return [e.payload.get("solution_id") for e in store.read(run_id, types=["CodeGenerated"])]


def _missing(store: Any, run_id: str, solution_id: str, what: str) -> SolutionNotFound:
    known = _solutions(store, run_id)
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    return SolutionNotFound(f"run {run_id} has no {what} for solution {solution_id!r}; its solutions: "
                            f"{shown or 'none yet'} (`gome steps {run_id}` lists them with their scores)")


def solution_code(store: Any, run_id: str, solution_id: str) -> str:
    """The code of one solution (the text its ``CodeGenerated`` event names)."""
    store.require_run(run_id)
    for e in store.read(run_id, types=["CodeGenerated"]):
        if e.payload.get("solution_id") == solution_id:
            return store.get_blob(e.payload["code_sha"]).decode("utf-8", errors="replace")
    raise _missing(store, run_id, solution_id, "code")


def solution_logs(store: Any, run_id: str, solution_id: str) -> list[dict[str, Any]]:
    """Every execution of a solution (a redo after a crash is a second one): stdout, stderr, outcome."""
    store.require_run(run_id)
    out = []
    for e in store.read(run_id, types=["ExecutionFinished"]):
        p = e.payload
        if p.get("solution_id") != solution_id:
            continue

        def blob(name: str, p: dict[str, Any] = p) -> str:
            sha = p.get(f"{name}_sha")
            if sha:
                return store.get_blob(sha).decode("utf-8", errors="replace")
            return p.get(f"{name}_tail") or ""

        out.append({"seq": e.seq, "key": p.get("key"), "failure": p.get("failure"),
                    "exit_code": p.get("exit_code"), "duration_s": p.get("duration_s"),
                    "stdout": blob("stdout"), "stderr": blob("stderr")})
    if not out:
        raise _missing(store, run_id, solution_id, "execution")
    return out


@click.command("code")
@click.argument("run_id")
@click.argument("solution_id")
@db_option
def code_cmd(run_id: str, solution_id: str, db: Path) -> None:
    """Print the code of solution SOLUTION_ID (e.g. t1-i2-a0) of run RUN_ID."""
    with open_store(db, readonly=True) as store:
        try:
            text = solution_code(store, run_id, solution_id)
        except GomeError as exc:
            raise fail(exc) from exc
    click.echo(text, nl=not text.endswith("\n"))


@click.command("logs")
@click.argument("run_id")
@click.argument("solution_id")
@db_option
@click.option("--stream", type=click.Choice(["both", "stdout", "stderr"]), default="both", show_default=True,
              help="Which output to print.")
def logs_cmd(run_id: str, solution_id: str, db: Path, stream: str) -> None:
    """Print the stdout and stderr of solution SOLUTION_ID's execution(s) in run RUN_ID.

    Output is captured head + tail (the executor's limit), as the agent saw it.
    """
    from ..textfmt import duration

    with open_store(db, readonly=True) as store:
        try:
            runs = solution_logs(store, run_id, solution_id)
        except GomeError as exc:
            raise fail(exc) from exc
    for i, r in enumerate(runs):
        if len(runs) > 1 or stream == "both":
            click.echo(f"== {solution_id} execution {r['key']} (seq {r['seq']}): {r['failure']}, exit "
                       f"{r['exit_code']}, {duration(r['duration_s'])}")
        for name in (("stdout", "stderr") if stream == "both" else (stream,)):
            if stream == "both":
                click.echo(f"-- {name} " + ("(empty)" if not r[name] else ""))
            if r[name]:
                click.echo(r[name], nl=not r[name].endswith("\n"))
