"""Tables over runs and steps, for people (`gome runs`, `gome steps`) and for scripts (CSV, JSON).

The rows come from the SQL views ``runs_v`` and ``steps_v`` (``migrations/0003_views.sql``),
so what the command prints and what a plain ``SELECT`` answers are one definition.  A
database opened read-only at an older schema gets the same views as TEMP views (the
temp schema is writable on a read-only connection), so reading never migrates a file.
"""

from __future__ import annotations

import json
from typing import Any

from .store.schema import load_migrations, split_statements

VIEWS = ("runs_v", "steps_v")
DIMENSIONS = ("alignment", "impact", "novelty", "feasibility", "risk_reward")


def ensure_views(store: Any) -> None:
    """Make ``runs_v`` and ``steps_v`` queryable on this connection."""
    have = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'view' "
                                      "UNION SELECT name FROM sqlite_temp_master WHERE type = 'view'")}
    if all(v in have for v in VIEWS):
        return
    sql = next(m.sql for m in load_migrations() if "CREATE VIEW runs_v" in m.sql)
    for statement in split_statements(sql):
        name = statement.split("CREATE VIEW", 1)[1].split()[0]
        if name not in have:
            store.query(statement.replace("CREATE VIEW", "CREATE TEMP VIEW", 1))


def _rows(store: Any, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    cur = store.db.execute(sql, params)  # column names need the cursor
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def run_rows(store: Any) -> list[dict[str, Any]]:
    """One row per run (the columns of ``runs_v``), oldest first."""
    ensure_views(store)
    return _rows(store, "SELECT * FROM runs_v ORDER BY started, run_id")


def step_rows(store: Any, run_id: str) -> list[dict[str, Any]]:
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


def run_status(store: Any, row: dict[str, Any]) -> str:
    """A run row's status: its RunFinished status, or for an unfinished run ``running`` (a live
    lease), ``stopped`` (gracefully), ``forked`` (a fork nobody resumed yet) or ``interrupted``."""
    from .lease import live_status

    if row["status"] != "unfinished":
        return str(row["status"])
    status = live_status(store, row["run_id"])
    if status == "interrupted" and row.get("forked_from") and not row.get("resumes"):
        return "forked"  # a fork nobody resumed yet: nothing was interrupted
    return status


def sweep_cells(store: Any) -> dict[str, tuple[str, dict[str, Any]]]:
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


def sweep_ids(store: Any) -> list[str]:
    """The ids of the sweeps in the store (their stream starts with ``SweepPlanned``), oldest first.
    A sweep's cells are runs whose ids start with the sweep's id: only this tells them apart."""
    return [str(r[0]) for r in store.query(
        "SELECT run_id FROM events WHERE seq = 1 AND type = 'SweepPlanned' ORDER BY ts, run_id")]
