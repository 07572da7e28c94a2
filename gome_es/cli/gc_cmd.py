"""`gome gc`: remove the workspaces of runs that are gone or finished.

Workspaces live under ``<database dir>/.gome/work/<run-id>/`` (one attempt folder
per resume, ``r0``, ``r1``, ... and ``selected/`` with the chosen submission).  A
run that no longer exists in the database loses its whole folder; a finished
run keeps ``selected/`` and loses its attempt folders; an unfinished run (it may
be resumed) is left alone.  :func:`plan` decides, :func:`collect` removes; with
``--dry-run`` only the plan is printed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import GomeError
from .common import db_option, fail, open_store
from .workspaces import workspace_root


@dataclass(frozen=True)
class Removal:
    path: Path
    run_id: str
    why: str  # "run gone", "run finished"
    bytes: int


def _size(path: Path) -> int:
    total = 0
    for root, dirs, files in os.walk(path, followlinks=False):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def plan(store: Any, root: Path) -> list[Removal]:
    """What `gome gc` would remove under ``root`` (nothing outside it, no link followed)."""
    if not root.is_dir():
        return []
    known = {run_id: status for run_id, status in store.query(
        "SELECT e.run_id, (SELECT json_extract(f.payload, '$.status') FROM events f WHERE f.run_id = e.run_id "
        "AND f.type = 'RunFinished' ORDER BY f.seq DESC LIMIT 1) FROM events e WHERE e.seq = 1")}
    out = []
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        run_id = entry.name
        if run_id not in known:
            out.append(Removal(entry, run_id, "run gone", _size(entry)))
        elif known[run_id] is not None:
            for sub in sorted(entry.iterdir()):
                if sub.name == "selected" or sub.is_symlink():
                    continue
                out.append(Removal(sub, run_id, "run finished", _size(sub) if sub.is_dir() else sub.lstat().st_size))
    return out


def collect(removals: list[Removal]) -> int:
    freed = 0
    for r in removals:
        if r.path.is_dir() and not r.path.is_symlink():
            shutil.rmtree(r.path, ignore_errors=True)
        else:
            r.path.unlink(missing_ok=True)
        freed += r.bytes
    return freed


@click.command("gc")
@db_option
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The workspace root to clean (default: .gome/work beside the database).")
@click.option("--dry-run", is_flag=True, help="Print what would be removed, remove nothing.")
def gc_cmd(db: Path, workspace: Path | None, dry_run: bool) -> None:
    """Remove the workspaces of runs that are gone or finished (keeping each finished run's selected
    submission); unfinished runs keep theirs, so they can still be resumed."""
    from ..textfmt import number

    root = workspace or workspace_root(db)
    with open_store(db, readonly=True) as store:
        try:
            removals = plan(store, root)
        except GomeError as exc:
            raise fail(exc) from exc
    total = sum(r.bytes for r in removals)
    for r in removals:
        click.echo(f"{'would remove' if dry_run else 'remove'} {r.path} ({r.why}, {number(r.bytes / 1e6)} MB)")
    if not dry_run:
        collect(removals)
    verb = "would free" if dry_run else "freed"
    click.echo(f"{len(removals)} workspace folder(s) under {root}; {verb} {number(total / 1e6)} MB")
