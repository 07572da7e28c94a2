"""Tables over runs and steps, for people (`gome runs`, `gome steps`) and for scripts (CSV, JSON).

The rows come from the SQL views ``runs_v`` and ``steps_v`` (``migrations/0003_views.sql``;
``runs_v`` as ``migrations/0006_run_durations.sql`` redefines it),
so what the command prints and what a plain ``SELECT`` answers are one definition.  A
database opened read-only at an older schema gets the same views as TEMP views (the
temp schema is writable on a read-only connection), from the newest migration that defines each,
so reading never migrates a file and every reader sees one definition.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..errors import RunNotFound
from ..store import EventStore
from ..store.schema import load_migrations, split_statements

VIEWS = ("runs_v", "steps_v")
CREATE_VIEW = re.compile(r"\bCREATE\s+VIEW\s+(\w+)", re.IGNORECASE)


@functools.cache
def view_definitions() -> dict[str, tuple[int, str]]:
    """Each of :data:`VIEWS` -> (the schema version of the LAST migration that creates it, its
    ``CREATE VIEW`` statement there): a later migration that redefines a view wins."""
    out: dict[str, tuple[int, str]] = {}
    for migration in load_migrations():
        for statement in split_statements(migration.sql):
            match = CREATE_VIEW.search(_code(statement))
            if match and match[1] in VIEWS:
                out[match[1]] = (migration.version, statement)
    return out


def _code(statement: str) -> str:
    return "\n".join(ln for ln in statement.splitlines() if not ln.strip().startswith("--"))


def ensure_views(store: EventStore) -> None:
    """Make ``runs_v`` and ``steps_v`` queryable on this connection, as the newest migrations define them.

    A database migrated to this code's schema has them.  One opened read-only at an older schema
    (which reading never migrates) gets each view it lacks, or holds in an older definition, as a
    TEMP view of the same name: SQLite looks names up in ``temp`` before ``main``, so the newest
    definition answers, on this connection only, and the file is not written."""
    have = store.query("SELECT name, 'main' FROM sqlite_master WHERE type = 'view' "
                       "UNION ALL SELECT name, 'temp' FROM sqlite_temp_master WHERE type = 'view'")
    main = {name for name, where in have if where == "main"}
    temp = {name for name, where in have if where == "temp"}
    wanted = view_definitions()
    if all(name in temp for name in wanted):
        return
    (applied,), = store.query("SELECT coalesce(max(version), 0) FROM schema_migrations")
    for name, (version, statement) in wanted.items():
        if name in temp or (name in main and applied >= version):
            continue
        store.query(CREATE_VIEW.sub(lambda m: f"CREATE TEMP VIEW {m[1]}", _code(statement), count=1))


# One run's (duration_s, downtime_s) as runs_v (migration 6) and the fold's spent_s/downtime_s count
# them, without computing the view for every run: the time between consecutive events, never
# negative, a RunResumed's gap counted as downtime unless that resume passed --count-downtime.
RUN_TIME_SQL = """
SELECT coalesce(sum(CASE WHEN down THEN 0.0 ELSE gap END), 0.0),
       coalesce(sum(CASE WHEN down THEN gap ELSE 0.0 END), 0.0)
FROM (SELECT max(0.0, ts - lag(ts) OVER (ORDER BY seq)) AS gap,
             type = 'RunResumed' AND NOT coalesce(json_extract(payload, '$.count_downtime'), 0) AS down
      FROM events WHERE run_id = ?)
"""


def run_time(store: EventStore, run_id: str) -> tuple[float, float]:
    """``(duration_s, downtime_s)`` of one run, as ``runs_v`` has them (0.0, 0.0 for no events)."""
    ((spent, down),) = store.query(RUN_TIME_SQL, (run_id,))
    return float(spent), float(down)


def _rows(store: EventStore, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = store.db.execute(sql, params)  # column names need the cursor
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def run_rows(store: EventStore) -> list[dict[str, Any]]:
    """One row per run (the columns of ``runs_v``), oldest first."""
    ensure_views(store)
    return _rows(store, "SELECT * FROM runs_v ORDER BY started, run_id")


def step_rows(store: EventStore, run_id: str) -> list[dict[str, Any]]:
    """One row per step of ``run_id`` (the columns of ``steps_v``; ``scores`` decoded), in seq order."""
    ensure_views(store)
    rows = _rows(store, "SELECT * FROM steps_v WHERE run_id = ? ORDER BY seq", (run_id,))
    for r in rows:
        try:
            scores = json.loads(r.get("scores") or "{}")
        except ValueError:
            scores = {}
        r["scores"] = scores if isinstance(scores, dict) else {}
        r["accepted"] = None if r.get("accepted") is None else bool(r["accepted"])
    return rows


def run_status(store: EventStore, row: dict[str, Any]) -> str:
    """A run row's status: its RunFinished status, or for an unfinished run ``running`` (a live
    lease), ``stopped`` (gracefully), ``forked`` (a fork nobody resumed yet) or ``interrupted``."""
    # lazy: keeps gome <cmd> --help light
    from ..driver.lease import live_status

    if row["status"] != "unfinished":
        return str(row["status"])
    status = live_status(store, row["run_id"])
    if status == "interrupted" and row.get("forked_from") and not row.get("resumes"):
        return "forked"  # a fork nobody resumed yet: nothing was interrupted
    return status


def sweep_cells(store: EventStore) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every sweep cell's run id -> (its sweep id, the cell as planned: task, variant, seed, run_id)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for sweep_id, payload in store.query(
            "SELECT run_id, payload FROM events WHERE type = 'SweepPlanned' AND run_id LIKE 'sweep-%'"):
        try:
            plan = json.loads(payload)
        except ValueError:
            continue
        cells = plan.get("cells") if isinstance(plan, dict) else None
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict) and cell.get("run_id"):
                out[str(cell["run_id"])] = (str(sweep_id), cell)
    return out


def sweep_ids(store: EventStore) -> list[str]:
    """The ids of the sweeps in the store (their stream starts with ``SweepPlanned``), oldest first.
    A sweep's cells are runs whose ids start with the sweep's id: only this tells them apart."""
    return [str(r[0]) for r in store.query(
        "SELECT run_id FROM events WHERE seq = 1 AND type = 'SweepPlanned' ORDER BY ts, run_id")]


def resolve_sweep_id(store: EventStore, given: str) -> str:
    """The sweep ``given`` names: a whole sweep id, a unique prefix of one, or ``@last`` (the newest
    sweep).  Anything else raises :class:`RunNotFound` listing the sweeps there are."""
    ids = sweep_ids(store)
    listed = ", ".join(ids[-5:]) + (f" (and {len(ids) - 5} older)" if len(ids) > 5 else "")
    where = f"in {getattr(store, 'path', 'the database')}"
    if not ids:
        raise RunNotFound(f"--sweep {given}: there are no sweeps {where}; `gome sweep run` starts one")
    if given == "@last":
        return ids[-1]
    if given in ids:
        return given
    matches = [i for i in ids if given and i.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    shown = given if len(given) <= 60 else given[:57] + "..."
    if matches:
        raise RunNotFound(f"--sweep {shown} matches {len(matches)} sweeps ({', '.join(matches[:5])}); "
                          "give more of the id")
    raise RunNotFound(f"--sweep {shown}: no sweep {where} has that id or prefix; the sweeps: {listed} "
                      "(`@last` is the newest)")


LISTING_COLUMNS = ("sweep", "variant", "tags", "note")


def run_listing(store: EventStore, *, task: str | None = None, sweep: str | None = None) -> list[dict[str, Any]]:
    """What `gome runs` and ``gome.open(db).runs()`` list: one row per run (sweeps are not runs and are
    left out: `gome sweep status` shows those), with the columns of ``runs_v``, the live ``status``, and
    ``sweep``, ``variant`` (for a sweep's cells), ``tags`` (a list) and ``note``.  ``sweep`` keeps only
    that sweep's cells (a whole id, a unique prefix or ``@last``)."""
    # lazy: keeps gome <cmd> --help light
    from ..store.runadmin import Labels, read_labels

    sweeps = set(sweep_ids(store))
    rows = [r for r in run_rows(store) if r["run_id"] not in sweeps]
    cells = sweep_cells(store)
    labels = read_labels(store)
    wanted = resolve_sweep_id(store, sweep) if sweep is not None else None
    out = []
    for r in rows:
        sweep_id, cell = cells.get(r["run_id"], (None, {}))
        if wanted is not None and sweep_id != wanted:
            continue
        if task is not None and r["task"] != task:
            continue
        r["status"] = run_status(store, r)
        lab = labels.get(r["run_id"], Labels())
        r.update(sweep=sweep_id, variant=cell.get("variant"), tags=list(lab.tags), note=lab.note)
        out.append(r)
    return out
