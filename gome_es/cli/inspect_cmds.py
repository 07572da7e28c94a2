"""`gome code RUN SOLUTION_ID` and `gome logs RUN SOLUTION_ID`: what a solution was and what it said.

The code and the logs live in the content-addressed ``blobs`` table (zlib, so the
`sqlite3` shell cannot read them); these commands find the events that name them
and print the text.  An LLM wrote the code and a solution wrote the logs, so both
go through the one sanitizer (:mod:`gome_es.trust.text`: escape sequences removed,
other non-printing characters shown escaped); ``--raw`` writes the recorded bytes
unchanged, for redirection into a file.  Library: :func:`solution_code`,
:func:`solution_logs`, :func:`solution_code_bytes`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import GomeError, RunNotFound
from .common import db_option, fail, open_store, run_id_argument


class SolutionNotFound(RunNotFound):
    """No event of the run names this solution id."""


def _solutions(store: Any, run_id: str) -> list[str]:
    return [e.payload.get("solution_id") for e in store.read(run_id, types=["CodeGenerated"])]


def _missing(store: Any, run_id: str, solution_id: str, what: str) -> SolutionNotFound:
    known = _solutions(store, run_id)
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    return SolutionNotFound(f"run {run_id} has no {what} for solution {solution_id!r}; its solutions: "
                            f"{shown or 'none yet'} (`gome steps {run_id}` lists them with their scores)")


def solution_code_bytes(store: Any, run_id: str, solution_id: str) -> bytes:
    """The code of one solution as recorded (the bytes its ``CodeGenerated`` event names)."""
    store.require_run(run_id)
    for e in store.read(run_id, types=["CodeGenerated"]):
        if e.payload.get("solution_id") == solution_id:
            return bytes(store.get_blob(e.payload["code_sha"]))
    raise _missing(store, run_id, solution_id, "code")


def solution_code(store: Any, run_id: str, solution_id: str) -> str:
    """The code of one solution as text (undecodable bytes replaced; not sanitized)."""
    return solution_code_bytes(store, run_id, solution_id).decode("utf-8", errors="replace")


def solution_logs(store: Any, run_id: str, solution_id: str, raw: bool = False) -> list[dict[str, Any]]:
    """Every execution of a solution (a redo after a crash is a second one): stdout, stderr, outcome.

    The streams are text (not sanitized), or the recorded bytes with ``raw``."""
    store.require_run(run_id)
    out = []
    for e in store.read(run_id, types=["ExecutionFinished"]):
        p = e.payload
        if p.get("solution_id") != solution_id:
            continue

        def blob(name: str, p: dict[str, Any] = p) -> str | bytes:
            sha = p.get(f"{name}_sha")
            data = bytes(store.get_blob(sha)) if sha else str(p.get(f"{name}_tail") or "").encode("utf-8")
            return data if raw else data.decode("utf-8", errors="replace")

        out.append({"seq": e.seq, "key": p.get("key"), "failure": p.get("failure"),
                    "exit_code": p.get("exit_code"), "duration_s": p.get("duration_s"),
                    "stdout": blob("stdout"), "stderr": blob("stderr")})
    if not out:
        raise _missing(store, run_id, solution_id, "execution")
    return out


RAW_HELP = ("Write the recorded bytes unchanged, escape sequences included, for redirection into a file "
            "(without it, escape sequences are removed and other non-printing characters shown escaped).")


def _write_raw(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@click.command("code")
@run_id_argument()
@click.argument("solution_id")
@db_option
@click.option("--raw", is_flag=True, help=RAW_HELP)
def code_cmd(run_id: str, solution_id: str, db: Path, raw: bool) -> None:
    """Print the code of solution SOLUTION_ID (e.g. t1-i2-a0) of run RUN_ID."""
    from ..trust.text import clean

    with open_store(db, readonly=True) as store:
        try:
            data = solution_code_bytes(store, run_id, solution_id)
        except GomeError as exc:
            raise fail(exc) from exc
    if raw:
        _write_raw(data)
        return
    text = clean(data)
    click.echo(text, nl=not text.endswith("\n"))


@click.command("logs")
@run_id_argument()
@click.argument("solution_id")
@db_option
@click.option("--stream", type=click.Choice(["both", "stdout", "stderr"]), default="both", show_default=True,
              help="Which output to print.")
@click.option("--raw", is_flag=True,
              help=RAW_HELP + " Needs --stream stdout or --stream stderr; with several executions, the bytes "
                   "of each follow one another, in seq order.")
def logs_cmd(run_id: str, solution_id: str, db: Path, stream: str, raw: bool) -> None:
    """Print the stdout and stderr of solution SOLUTION_ID's execution(s) in run RUN_ID.

    Output is captured head + tail (the executor's limit), as the agent saw it.
    """
    from ..textfmt import duration
    from ..trust.text import clean

    if raw and stream == "both":
        raise click.UsageError("--raw writes the bytes of one stream: add --stream stdout or --stream stderr")
    with open_store(db, readonly=True) as store:
        try:
            runs = solution_logs(store, run_id, solution_id, raw=raw)
        except GomeError as exc:
            raise fail(exc) from exc
    if raw:
        for r in runs:
            _write_raw(r[stream])
        return
    for r in runs:
        for name in ("stdout", "stderr"):
            r[name] = clean(r[name])
    for i, r in enumerate(runs):
        if len(runs) > 1 or stream == "both":
            click.echo(f"== {clean(solution_id, 'line', 80)} execution {clean(r['key'], 'line')} (seq {r['seq']}): "
                       f"{clean(r['failure'], 'line')}, exit "
                       f"{r['exit_code']}, {duration(r['duration_s'])}")
        for name in (("stdout", "stderr") if stream == "both" else (stream,)):
            if stream == "both":
                click.echo(f"-- {name} " + ("(empty)" if not r[name] else ""))
            if r[name]:
                click.echo(r[name], nl=not r[name].endswith("\n"))
