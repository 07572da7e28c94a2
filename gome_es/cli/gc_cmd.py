"""`gome gc`: remove the workspaces of runs that are gone or finished, and nothing gome did not make.

Workspaces live under ``<database dir>/.gome/work/<run-id>/`` (one attempt folder
per resume, ``r0``, ``r1``, ... and ``selected/`` with the chosen submission); gome
writes its marker (:data:`gome_es.trust.folders.MARKER`, naming the database and the
run) into each run folder when it makes it.  Only a folder that is ours, is no link
and holds a marker naming *this* database is touched: if its run is gone from the
database it is removed whole; if the run finished it keeps ``selected/`` and loses its
attempt folders; an unfinished run (it may be resumed) is left alone.  Everything
else is listed as "not gome's, left alone".

gc refuses a root that is ``/``, a home folder, a folder that holds the database (or
one above it), or a link, and says where the root came from (``--workspace``, a
config file, ``$GOME_WORKSPACE``) before it removes anything.  :func:`plan` decides,
:func:`collect` removes, working relative to descriptors opened without following
links and checking that each folder is still the one planned; with ``--dry-run``
only the plan is printed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..driver.workspaces import workspace_root_source
from ..errors import GomeError
from ..trust import folders
from .common import db_option, open_store

if TYPE_CHECKING:
    from ..store import EventStore

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeWorkspace(GomeError):
    """gc was pointed at a folder it must never clean."""


@dataclass(frozen=True)
class Removal:
    path: Path
    run_id: str
    why: str  # "run gone", "run finished"
    bytes: int
    ident: tuple[int, int]  # (device, inode) when planned: collect removes nothing else


@dataclass(frozen=True)
class LeftAlone:
    path: Path
    why: str


def _size(dir_fd: int, name: str) -> int:
    total = 0
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        try:
            return os.lstat(name, dir_fd=dir_fd).st_size
        except OSError:
            return 0
    for _root, _dirs, files, rfd in os.fwalk(dir_fd=fd, follow_symlinks=False):
        for f in files:
            try:
                total += os.lstat(f, dir_fd=rfd).st_size
            except OSError:
                pass
    os.close(fd)
    return total


def home_folders() -> set[str]:
    """Every user's home folder (and ours from $HOME)."""
    homes = {os.path.realpath(os.path.expanduser("~"))}
    try:
        homes |= {os.path.realpath(p.pw_dir) for p in pwd.getpwall() if p.pw_dir}
    except OSError:
        pass
    return homes


def check_root(root: Path, db: Path, source: str) -> None:
    """Refuse a workspace root gc must never clean."""
    shown = f"{root} (from {source})"
    if os.path.islink(root):
        raise UnsafeWorkspace(f"gc: the workspace {shown} is a symbolic link; gc never follows one. Pass "
                              "--workspace with the real folder")
    real = Path(os.path.realpath(root))
    db_real = Path(os.path.realpath(db))
    why = None
    if real == Path("/"):
        why = "is the root of the file system"
    elif str(real) in home_folders() - {"/"}:
        why = "is a home folder"
    elif real in db_real.parents:
        why = f"holds the database {db_real}"
    if why:
        raise UnsafeWorkspace(f"gc: the workspace {shown} {why}; gc cleans only a folder of workspaces such as "
                              f"{db_real.parent / '.gome' / 'work'}. Pass --workspace with that folder, or fix "
                              "the setting it came from")


def _known_runs(store: EventStore) -> dict[str, Any]:
    return {run_id: status for run_id, status in store.query(
        "SELECT e.run_id, (SELECT json_extract(f.payload, '$.status') FROM events f WHERE f.run_id = e.run_id "
        "AND f.type = 'RunFinished' ORDER BY f.seq DESC LIMIT 1) FROM events e WHERE e.seq = 1")}


def plan(store: EventStore, root: Path, db: Path, source: str = "--workspace") -> tuple[list[Removal], list[LeftAlone]]:
    """What `gome gc` would remove under ``root``, and what it leaves alone because gome did not make it."""
    check_root(root, db, source)
    try:
        rfd = os.open(root, _DIR_FLAGS)
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise UnsafeWorkspace(f"gc: the workspace {root} (from {source}) cannot be opened as a folder without "
                              f"following links ({exc.strerror})") from None
    try:
        return _plan(store, root, db, rfd)
    finally:
        os.close(rfd)


def _plan(store: EventStore, root: Path, db: Path, rfd: int) -> tuple[list[Removal], list[LeftAlone]]:
    known = _known_runs(store)
    identity = folders.db_identity(db)
    removals: list[Removal] = []
    alone: list[LeftAlone] = []
    me = os.geteuid()
    for name in sorted(os.listdir(rfd)):
        path = root / name
        st = os.lstat(name, dir_fd=rfd)
        if stat.S_ISLNK(st.st_mode):
            alone.append(LeftAlone(path, "a link, not followed"))
            continue
        if not stat.S_ISDIR(st.st_mode):
            alone.append(LeftAlone(path, "not a folder"))
            continue
        if st.st_uid != me:
            alone.append(LeftAlone(path, f"belongs to uid {st.st_uid}"))
            continue
        try:
            efd = os.open(name, _DIR_FLAGS, dir_fd=rfd)
        except OSError as exc:
            alone.append(LeftAlone(path, f"cannot be opened ({exc.strerror})"))
            continue
        try:
            marker = folders.read_marker(efd)
            if marker is None:
                alone.append(LeftAlone(path, f"no {folders.MARKER}"))
                continue
            if marker.get("run_id") != name:
                alone.append(LeftAlone(path, f"its marker names run {str(marker.get('run_id'))[:80]!r}"))
                continue
            if not folders.marker_names(marker, db, identity):
                alone.append(LeftAlone(path, f"made for the database {str(marker.get('db'))[:200]}"
                                       + (" (since replaced)" if marker.get("db") == os.path.realpath(db) else "")))
                continue
            if name not in known:
                removals.append(Removal(path, name, "run gone", _size(rfd, name), (st.st_dev, st.st_ino)))
            elif known[name] is not None:
                for sub in sorted(os.listdir(efd)):
                    if sub in ("selected", folders.MARKER):
                        continue
                    sst = os.lstat(sub, dir_fd=efd)
                    if stat.S_ISLNK(sst.st_mode):
                        continue
                    removals.append(Removal(path / sub, name, "run finished", _size(efd, sub),
                                            (sst.st_dev, sst.st_ino)))
        finally:
            os.close(efd)
    return removals, alone


def collect(root: Path, removals: list[Removal]) -> int:
    """Remove what :func:`plan` found, each only if its name still holds the same folder or file."""
    freed = 0
    rfd = os.open(root, _DIR_FLAGS)
    try:
        for r in removals:
            rel = r.path.relative_to(root).parts
            pfd = rfd if len(rel) == 1 else _open_below(rfd, rel[:-1])
            if pfd is None:
                continue
            try:
                try:
                    st = os.lstat(rel[-1], dir_fd=pfd)
                except FileNotFoundError:
                    continue
                if (st.st_dev, st.st_ino) != r.ident:
                    continue  # replaced since it was planned: not what we decided to remove
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(rel[-1], dir_fd=pfd, ignore_errors=True)
                else:
                    os.unlink(rel[-1], dir_fd=pfd)
                freed += r.bytes
            finally:
                if pfd != rfd:
                    os.close(pfd)
    finally:
        os.close(rfd)
    return freed


def _open_below(rfd: int, parts: tuple[str, ...]) -> int | None:
    fd = rfd
    try:
        for part in parts:
            nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            if fd != rfd:
                os.close(fd)
            fd = nfd
    except OSError:
        if fd != rfd:
            os.close(fd)
        return None
    return fd


def _source(ctx: click.Context, db: Path, env_source: str) -> str:
    src = ctx.get_parameter_source("workspace")
    if src is click.core.ParameterSource.COMMANDLINE:
        return "--workspace"
    if src is click.core.ParameterSource.DEFAULT_MAP:
        config = ctx.find_root().params.get("config") or os.environ.get("GOME_CONFIG") or db.parent / "gome.toml"
        return f"[gc] workspace in the config file {os.path.abspath(config)}"
    return env_source


@click.command("gc")
@db_option
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The workspace root to clean (default: .gome/work beside the database, or $GOME_WORKSPACE). "
                   "Only folders holding gome's marker for this database are removed.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed, remove nothing.")
@click.pass_context
def gc_cmd(ctx: click.Context, db: Path, workspace: Path | None, dry_run: bool) -> None:
    """Remove the workspaces of runs that are gone or finished (keeping each finished run's selected
    submission); unfinished runs keep theirs, so they can still be resumed. Only folders gome made
    for this database (they hold its marker) are touched; anything else is listed and left alone."""
    # lazy: keeps gome <cmd> --help light
    from ..report.textfmt import number

    default_root, env_source = workspace_root_source(db)
    root = workspace or default_root
    source = _source(ctx, db, env_source) if workspace is not None else env_source
    click.echo(f"workspace {root} (from {source})")
    with open_store(db, readonly=True) as store:
        removals, alone = plan(store, root, db, source)
    total = sum(r.bytes for r in removals)
    for r in removals:
        click.echo(f"{'would remove' if dry_run else 'remove'} {r.path} ({r.why}, {number(r.bytes / 1e6)} MB)")
    for a in alone:
        click.echo(f"not gome's, left alone: {a.path} ({a.why})")
    if not dry_run:
        collect(root, removals)
    verb = "would free" if dry_run else "freed"
    click.echo(f"{len(removals)} workspace folder(s) under {root}; {verb} {number(total / 1e6)} MB"
               + (f"; {len(alone)} left alone (not gome's)" if alone else ""))
