"""The store's schema: numbered SQL migrations, found, checked and applied.

Migrations are ``NNNN_name.sql`` files.  In a source checkout they live in the
repository's top-level ``migrations/``; an installed wheel carries the same
files as ``gome_es/_migrations`` (see pyproject's force-include).  Each one is
applied inside its own ``BEGIN IMMEDIATE`` transaction and recorded in
``schema_migrations``, so applying twice is a no-op and two processes opening
a fresh file at once do not both apply it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from ..errors import NotAGomeDatabase, SchemaTooNew

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

log = structlog.get_logger("gome.store")

NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
REPO_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _candidate_dirs() -> Iterator[Traversable]:
    try:
        packaged = resources.files("gome_es") / "_migrations"
        if packaged.is_dir():
            yield packaged
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    if REPO_MIGRATIONS.is_dir():
        yield REPO_MIGRATIONS


def load_migrations() -> list[Migration]:
    """Every migration, in version order, from the first folder that has any."""
    for folder in _candidate_dirs():
        found = []
        for entry in folder.iterdir():
            match = NAME.match(entry.name)
            if match:
                found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
        if found:
            found.sort(key=lambda m: m.version)
            versions = [m.version for m in found]
            if versions != list(range(1, len(found) + 1)):
                raise RuntimeError(f"migrations in {folder} are not numbered 1..n: {versions}")
            return found
    raise RuntimeError(
        "gome_es cannot find its schema migrations (neither gome_es/_migrations in the "
        f"installed package nor {REPO_MIGRATIONS}); reinstall gome-es"
    )


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole.

    ``executescript`` would commit any open transaction first, so statements
    are run one by one inside ours instead.
    """
    statements, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            text = buffer.strip()
            if _has_code(text):
                statements.append(text)
            buffer = ""
    if _has_code(buffer.rstrip(";")):
        raise ValueError(f"migration ends with an incomplete statement: {buffer.strip()[:80]!r}")
    return statements


def _has_code(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return bool("".join(lines).strip(" \t\n;"))


def code_version() -> int:
    return load_migrations()[-1].version


def applied_version(conn: sqlite3.Connection, path: str) -> int | None:
    """The schema version recorded in the file; None for an empty SQLite file.

    Raises NotAGomeDatabase for a SQLite file with other tables and no record
    of gome migrations.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_migrations" not in tables:
        if tables:
            raise NotAGomeDatabase(
                f"{path} is a SQLite database but not a gome event store (it has tables "
                f"{', '.join(sorted(tables)[:5])} and no schema_migrations); "
                "pass --db with the path of a gome database, or a new file name to start one"
            )
        return None
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return row[0] or 0


def check_not_too_new(version: int | None, path: str) -> None:
    newest = code_version()
    if version is not None and version > newest:
        raise SchemaTooNew(
            f"{path} has store schema version {version}, but this gome knows only up to "
            f"version {newest}; upgrade gome-es to open it (nothing was changed)"
        )


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Apply every missing migration, each in its own transaction; returns the version."""
    for migration in load_migrations():
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read the version before creating schema_migrations, so a foreign
            # SQLite file is refused instead of being "migrated".
            current = applied_version(conn, path) or 0
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ts REAL NOT NULL)"
            )
            check_not_too_new(current, path)
            if migration.version > current:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_ts) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return code_version()


# ---------------------------------------------------------------- the append-only guards

TRIGGER = re.compile(r"^\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)


def guard_triggers() -> dict[str, str]:
    """name -> CREATE TRIGGER statement, for every trigger the migrations define."""
    out: dict[str, str] = {}
    for migration in load_migrations():
        for statement in split_statements(migration.sql):
            body = "\n".join(ln for ln in statement.splitlines() if not ln.strip().startswith("--"))
            match = TRIGGER.match(body)
            if match:
                out[match[1]] = body.strip().rstrip(";")
    return out


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split()).rstrip(";").lower()


def missing_guards(conn: sqlite3.Connection) -> list[str]:
    """The append-only triggers that are absent, or present with another body."""
    have = {name: sql for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")}
    return [name for name, sql in guard_triggers().items() if _normal(have.get(name)) != _normal(sql)]


def restore_guards(conn: sqlite3.Connection, path: str) -> list[str]:
    """Recreate append-only triggers that were dropped or altered (warns naming them); returns their names.

    Someone with the sqlite3 shell dropped them (to edit or delete events); the
    hash chain still names any edited seq (`gome verify`), and from here on
    the log is append-only again.
    """
    missing = missing_guards(conn)
    if not missing:
        return []
    wanted = guard_triggers()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in missing:
            conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            conn.execute(wanted[name])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.warning(f"{path}: the append-only triggers {', '.join(missing)} had been dropped or changed "
                "outside gome; restored them. Run `gome verify RUN` on its runs to find any edited event",
                db=path, triggers=missing)
    return missing


TRIGGERS_SQL = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"


def foreign_triggers(rows: Any) -> list[tuple[str, str]]:
    """(name, table) of every trigger in ``rows`` (of :data:`TRIGGERS_SQL`, or a connection to read
    them from) that gome's migrations do not define: someone else added it (one copying each payload
    into another table, one rewriting rows as they arrive)."""
    if isinstance(rows, sqlite3.Connection):
        rows = rows.execute(TRIGGERS_SQL).fetchall()
    ours = set(guard_triggers())
    return sorted((str(name), str(table)) for name, table in rows if name not in ours)


def describe_foreign(triggers: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name!r} on {table}" for name, table in triggers[:10]) + (
        f" and {len(triggers) - 10} more" if len(triggers) > 10 else "")


def warn_foreign_triggers(conn: sqlite3.Connection, path: str) -> list[tuple[str, str]]:
    """Warn, naming them, when triggers gome did not make are in the database (on every writing open);
    gome leaves them (they may be someone's audit), but `gome verify` fails while they are there."""
    found = foreign_triggers(conn)
    if found:
        log.warning(f"{path}: triggers gome did not make are in the database: {describe_foreign(found)}; they "
                    "run on every write gome makes (and can copy or change what it writes). Drop them with "
                    "`sqlite3 DB 'DROP TRIGGER name'` unless you put them there; `gome verify` fails while "
                    "they exist", db=path, triggers=[n for n, _ in found])
    return found


def warn_if_unguarded(conn: sqlite3.Connection, path: str) -> list[str]:
    """For a read-only open: warn (cannot restore) when the append-only triggers are gone."""
    missing = missing_guards(conn)
    if missing:
        log.warning(f"{path}: the append-only triggers {', '.join(missing)} have been dropped or changed "
                    "outside gome; opening it for writing restores them. `gome verify RUN` finds any "
                    "edited event", db=path, triggers=missing)
    return missing
