"""Folders gome may use only after it checked that nobody else could have made or can change them.

On a shared machine every folder gome works in could have been made first by another user:
``$TMPDIR/gome-exec`` created by someone else (and later swapped under a root driver), a ``.gome``
left world-writable in a shared project, a link planted where a workspace goes.  The rules here:

- a folder gome uses is a real directory (never a link), owned by the user gome runs as, and
  writable by nobody else (private scratch space: ``0700`` exactly);
- every folder above it is one that nobody else can rename it out of: owned by root or by us, and
  if others may write to it, it has the sticky bit (``/tmp``) or the group is our own;
- checks are made on a descriptor opened with ``O_NOFOLLOW | O_DIRECTORY``, so what was checked is
  what is used, and gome creates its folders ``0700`` relative to such a descriptor;
- a folder that fails is refused with :class:`UntrustedFolder`, naming it and what to do.

Workspaces gome makes for a run carry a marker file (:data:`MARKER`) naming the database and run
they belong to; `gome gc` removes nothing without it.
"""

from __future__ import annotations

import errno
import grp
import json
import os
import pwd
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import GomeError

MARKER = ".gome-workspace.json"


def gome_home() -> Path:
    """gome's own folder: ``$GOME_HOME`` when set and not empty, else ``~/.cache/gome-es``.

    The one place this rule is written: bundled tasks and their answers, the fingerprint cache,
    sweep logs and default workspaces live under it, and the sandbox hides it from solutions.
    """
    home = os.environ.get("GOME_HOME")
    return Path(home) if home else Path.home() / ".cache" / "gome-es"
_MARKER_MAX = 64 * 1024
_MARKER_TMP = f".{MARKER}."
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UntrustedFolder(GomeError):
    """A folder gome would use could have been made, or can be changed, by another user."""


def _whose(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _refuse(path: Path | str, problem: str, fix: str | None = None) -> UntrustedFolder:
    return UntrustedFolder(f"folder {path} {problem}; gome does not use a folder another user could have made "
                           f"or can change. {fix or f'Remove it (or fix its owner and mode: chmod 700 {path}), or choose another folder'}")


def check_stat(path: Path | str, st: os.stat_result, *, private: bool = False) -> None:
    """Refuse ``st`` (the folder at ``path``) unless it is a directory that is ours and that others cannot write.

    ``private``: others may not even read or enter it (mode 0700)."""
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "is a symbolic link", "Remove the link, or choose another folder")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "is not a directory", "Remove it, or choose another folder")
    me = os.geteuid()
    if st.st_uid != me:
        raise _refuse(path, f"belongs to {_whose(st.st_uid)}, not to {_whose(me)} who runs gome")
    mode = stat.S_IMODE(st.st_mode)
    if private and mode & 0o077:
        raise _refuse(path, f"has mode {mode:04o}; private scratch space must be 0700")
    if mode & 0o022:
        raise _refuse(path, f"has mode {mode:04o}: others may write to it")


def _group_is_ours(gid: int) -> bool:
    """True for a user-private group: our primary group, with no other member."""
    try:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return gid == me.pw_gid and group.gr_name == me.pw_name and set(group.gr_mem) <= {me.pw_name}


def check_ancestors(path: Path | str) -> None:
    """Refuse ``path`` if a folder above it lets another user rename it away and put another in its place."""
    real = Path(os.path.realpath(path))
    me = os.geteuid()
    for anc in [*reversed(real.parents)]:
        try:
            st = os.lstat(anc)
        except OSError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        sticky = bool(mode & stat.S_ISVTX)
        if st.st_uid not in (0, me):
            raise _refuse(anc, f"(above {path}) belongs to {_whose(st.st_uid)}, who could swap what gome puts there",
                          "Put gome's folders (--workspace, --db, $TMPDIR) under a folder you or root own")
        if mode & 0o002 and not sticky:
            raise _refuse(anc, f"(above {path}) has mode {mode:04o}: anyone may rename what gome puts there",
                          f"Add the sticky bit (chmod +t {anc}) or put gome's folders elsewhere")
        if mode & 0o020 and not sticky and not _group_is_ours(st.st_gid):
            raise _refuse(anc, f"(above {path}) has mode {mode:04o}: group {st.st_gid} may rename what gome puts "
                          "there", f"chmod g-w {anc}, or put gome's folders elsewhere")


def open_folder(path: Path | str, *, private: bool = False) -> int:
    """A descriptor of the folder ``path`` (``O_NOFOLLOW | O_DIRECTORY``), checked through that descriptor."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            kind = "is a symbolic link" if os.path.islink(path) else "is not a directory"
            raise _refuse(path, kind, "Remove it, or choose another folder") from None
        raise UntrustedFolder(f"folder {path} cannot be opened ({exc.strerror}); check that it exists and is "
                              "yours") from None
    try:
        check_stat(path, os.fstat(fd), private=private)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def opened(path: Path | str, *, private: bool = False) -> Iterator[int]:
    fd = open_folder(path, private=private)
    try:
        yield fd
    finally:
        os.close(fd)


def _mkdir_0700(path: Path) -> None:
    """Create ``path`` 0700 unless something is already there (checked by the caller)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UntrustedFolder(f"cannot create folder {path} ({exc.strerror}); create it yourself or choose "
                              "another folder") from None


def ensure_folder(path: Path | str, *, private: bool = False, parents: bool = True) -> Path:
    """Create ``path`` (mode 0700) unless it exists, then check it and the folders above it.

    Missing folders above it are created 0700 too; the folder itself must pass :func:`check_stat`
    and the folders above it :func:`check_ancestors`."""
    p = Path(os.path.abspath(path))
    if parents:
        for a in [a for a in reversed(p.parents) if not os.path.lexists(a)]:
            _mkdir_0700(a)
    check_ancestors(p)
    _mkdir_0700(p)
    os.close(open_folder(p, private=private))
    return p


def make_child(dir_fd: int, name: str, *, where: Path | str) -> int:
    """Create the folder ``name`` (0700) inside the checked folder ``dir_fd``, or open it if it is there
    already; returns its descriptor, checked (ours, no link, no write for others)."""
    if "/" in name or name in ("", ".", ".."):
        raise UntrustedFolder(f"{name!r} cannot be a folder name inside {where}")
    try:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UntrustedFolder(f"cannot create folder {Path(where) / name} ({exc.strerror})") from None
    return _open_child(dir_fd, name, Path(where) / name)


def _open_child(dir_fd: int, name: str, shown: Path) -> int:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(shown, "is a symbolic link or not a directory", "Remove it") from None
        raise UntrustedFolder(f"folder {shown} cannot be opened ({exc.strerror})") from None
    try:
        check_stat(shown, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def scratch_dir(name: str = "gome-exec") -> Path:
    """This user's private scratch folder ``$TMPDIR/<name>-<uid>`` (0700), created or checked on every use."""
    path = Path(tempfile.gettempdir()) / f"{name}-{os.geteuid()}"
    try:
        ensure_folder(path, private=True, parents=False)
    except UntrustedFolder as exc:
        raise UntrustedFolder(f"{exc} (this is the private scratch folder of {_whose(os.geteuid())}: remove it, "
                              "or set TMPDIR to a folder of your own)") from None
    return path


# ------------------------------------------------------------------ the workspace marker

def database_born(db: Path | str) -> float | None:
    """When the gome database ``db`` was made (the time its first migration was recorded), None if it
    cannot be read: with its path, what tells this database from another made later at the same path."""
    try:
        conn = sqlite3.connect(f"file:{quote(os.path.realpath(db))}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT applied_ts FROM schema_migrations WHERE version = 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return float(row[0]) if row and isinstance(row[0], (int, float)) else None


def db_identity(db: Path | str) -> dict[str, Any]:
    """What names a database in a marker: its resolved path and when it was made."""
    return {"db": os.path.realpath(db), "db_born": database_born(db)}


def write_marker(dir_fd: int, *, db: Path | str | None, run_id: str) -> None:
    """Write the marker into the checked folder ``dir_fd`` whole or not at all (written aside, then linked
    into place); an existing marker is kept."""
    body = json.dumps({"gome": "workspace", "version": 1, "run_id": run_id,
                       **(db_identity(db) if db is not None else {"db": None, "db_born": None})})
    tmp = f"{_MARKER_TMP}{os.getpid()}.{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        try:
            os.link(tmp, MARKER, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp, dir_fd=dir_fd)


def read_marker(dir_fd: int) -> dict[str, Any] | None:
    """The marker of the folder ``dir_fd``, or None (absent, a link, not a file of ours, not a marker)."""
    try:
        fd = os.open(MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > _MARKER_MAX:
            return None
        data = os.read(fd, _MARKER_MAX)
    finally:
        os.close(fd)
    try:
        marker = json.loads(data)
    except ValueError:
        return None
    if not isinstance(marker, dict) or marker.get("gome") != "workspace" or not isinstance(marker.get("run_id"), str):
        return None
    return marker


def marker_names(marker: dict[str, Any], db: Path | str, identity: dict[str, Any] | None = None) -> bool:
    """Whether ``marker`` names the database ``db`` (same resolved path, made at the same time);
    ``identity``: :func:`db_identity` of ``db`` if the caller has it already."""
    here = identity or db_identity(db)
    return marker.get("db") == here["db"] and here["db_born"] is not None and marker.get("db_born") == here["db_born"]


def run_folder(workspace_root: Path | str, run_id: str, *, db: Path | str | None) -> Path:
    """``<workspace_root>/<run_id>``: the checked workspace root, and in it the run's folder, made 0700 and
    marked as this database's run (a folder there without our marker, or another user's, is refused)."""
    root = ensure_folder(workspace_root)
    with opened(root) as rfd:
        fd = make_child(rfd, run_id, where=root)
        try:
            # Entries first, then the marker: gome puts anything into a run folder only after its marker,
            # so a concurrent trace of the same run never sees the one without the other.
            others = _has_entries(fd)
            marker = read_marker(fd)
            if marker is None:
                if others:
                    raise UntrustedFolder(f"folder {root / run_id} exists but holds no {MARKER}: someone else "
                                          "made it, or a gome older than the marker did; gome writes nothing into "
                                          "a folder it cannot tell is its own. Move it away, or pass --workspace "
                                          "with another folder")
                write_marker(fd, db=db, run_id=run_id)
                marker = read_marker(fd)
            if marker is None or marker.get("run_id") != run_id:
                raise UntrustedFolder(f"folder {root / run_id} is marked for run "
                                      f"{(marker or {}).get('run_id')!r}; move it away, or pass --workspace with "
                                      "another folder")
        finally:
            os.close(fd)
    return root / run_id


def _has_entries(dir_fd: int) -> bool:
    """Whether the folder holds anything besides gome's marker (and markers being written)."""
    with os.scandir(dir_fd) as it:
        return any(e.name != MARKER and not e.name.startswith(_MARKER_TMP) for e in it)
