"""A sweep's events and the fold that turns them into where the sweep stands.

Pure.  A sweep is one stream in the ordinary ``events`` table, under the sweep's
own id (``sweep-...``), hash-chained and append-only like every run, so
``gome verify``/``export`` work on it unchanged.  Its vocabulary:

- ``SweepPlanned`` (seq 1): the spec and every cell with its run id;
- ``SweepDriverStarted``: a driver (first or resuming) took over, with pid and host;
- ``CellAssigned``: intent, appended *before* a run is launched (``mode`` run or resume);
- ``CellStarted``: the run's process is up (pid, node);
- ``CellShipped``: (Ray) events of the run up to ``head_seq`` reached the sweep's database;
- ``CellFinished``: the run finished and was graded (the grade's headline figures);
- ``CellFailed``: one try failed with its reason; ``final`` when the tries are used up;
- ``SweepStopped`` / ``SweepFinished``.

A cell's tries count only its own failures (``CellFailed``), never a killed
driver: a cell that was assigned or started when the driver died is simply
launched again, as ``gome resume`` when its run exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import EventError
from .plan import Cell

SWEEP_PREFIX = "sweep-"
TYPES = ("SweepPlanned", "SweepDriverStarted", "CellAssigned", "CellStarted", "CellShipped",
         "CellFinished", "CellFailed", "SweepStopped", "SweepFinished")


@dataclass
class CellState:
    cell: Cell
    status: str = "planned"  # planned | assigned | started | finished | failed
    assignments: int = 0
    tries_failed: int = 0
    reasons: list[str] = field(default_factory=list)
    grade: dict[str, Any] | None = None
    started_ts: float | None = None
    ended_ts: float | None = None
    duration_s: float | None = None
    where: str | None = None
    shipped_seq: int = 0

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed")


@dataclass
class SweepState:
    sweep_id: str
    spec: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, CellState] = field(default_factory=dict)  # by run id, in plan order
    last_seq: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    drivers: int = 0
    finished: bool = False

    def counts(self) -> dict[str, int]:
        out = {"done": 0, "running": 0, "failed": 0, "left": 0}
        for c in self.cells.values():
            if c.status == "finished":
                out["done"] += 1
            elif c.status == "failed":
                out["failed"] += 1
            elif c.status in ("assigned", "started"):
                out["running"] += 1
            else:
                out["left"] += 1
        return out

    def pending(self) -> list[CellState]:
        return [c for c in self.cells.values() if not c.done]


class SweepLogError(EventError, ValueError):
    """The stream is not a sweep, or an event does not fit it (names seq and type); a ValueError too,
    as it was before it joined the one error tree."""


def apply(state: SweepState, seq: int, type_: str, ts: float, p: dict[str, Any]) -> None:
    if seq == 1 and type_ != "SweepPlanned":
        raise SweepLogError(f"{state.sweep_id} is not a sweep: its first event is {type_}, not SweepPlanned")
    state.last_seq, state.last_ts = seq, ts
    if state.first_ts is None:
        state.first_ts = ts
    if type_ == "SweepPlanned":
        state.spec = dict(p["spec"])
        for d in p["cells"]:
            cell = Cell.from_json(d)
            state.cells[cell.run_id] = CellState(cell)
        return
    if type_ == "SweepDriverStarted":
        state.drivers += 1
        return
    if type_ in ("SweepStopped",):
        return
    if type_ == "SweepFinished":
        state.finished = True
        return
    if type_ not in TYPES:
        raise SweepLogError(f"sweep {state.sweep_id} seq {seq}: unknown event type {type_}")
    c = state.cells.get(p.get("run_id", ""))
    if c is None:
        raise SweepLogError(f"sweep {state.sweep_id} seq {seq}: {type_} names run {p.get('run_id')!r}, "
                            "which is no cell of this sweep")
    if type_ == "CellAssigned":
        c.status, c.assignments, c.where = "assigned", c.assignments + 1, p.get("backend")
    elif type_ == "CellStarted":
        c.status, c.started_ts = "started", ts
        c.where = p.get("node") or c.where
    elif type_ == "CellShipped":
        c.shipped_seq = int(p.get("head_seq", 0))
    elif type_ == "CellFinished":
        c.status, c.grade, c.ended_ts = "finished", dict(p.get("grade") or {}), ts
        c.duration_s = p.get("duration_s")
    elif type_ == "CellFailed":
        c.tries_failed += 1
        c.reasons.append(str(p.get("reason", "")))
        c.status = "failed" if p.get("final") else "planned"
        c.ended_ts = ts


def fold(sweep_id: str, events: Iterable[Any]) -> SweepState:
    """Fold stored events (objects with seq, type, ts, payload) into a :class:`SweepState`."""
    state = SweepState(sweep_id)
    for e in events:
        apply(state, e.seq, e.type, e.ts, e.payload)
    return state


def eta_s(state: SweepState, concurrency: int, now: float) -> float | None:
    """Seconds until the sweep is done, from the cells finished so far (None before any)."""
    durations = [c.duration_s for c in state.cells.values() if c.status == "finished" and c.duration_s]
    counts = state.counts()
    todo = counts["left"] + counts["running"]
    if todo == 0:
        return 0.0
    if not durations:
        budget = float(state.spec.get("budget_s") or 0)
        per = budget * 1.2 + 20 if budget else None
    else:
        per = sum(durations) / len(durations)
    if per is None:
        return None
    running = [c for c in state.cells.values() if c.status == "started" and c.started_ts]
    left_in_running = sum(max(0.0, per - (now - (c.started_ts or now))) for c in running)
    waves = counts["left"] * per
    return (waves + left_in_running) / max(1, concurrency)


def progress_text(state: SweepState, concurrency: int, now: float, *, driver_live: bool = True,
                  dead: frozenset[str] | set[str] = frozenset()) -> str:
    """One line: cells done / running / failed / left and the ETA. ``driver_live`` False (no live lease
    on the sweep) shows no ETA and says how to continue; ``dead`` are the run ids of cells the log
    shows started whose run no live process holds: counted as interrupted, not running."""
    n = state.counts()
    stuck = sum(1 for c in state.cells.values() if c.status in ("assigned", "started") and c.cell.run_id in dead)
    running = n["running"] - stuck
    head = (f"sweep {state.sweep_id}: {n['done']} done, {running} running, "
            + (f"{stuck} interrupted, " if stuck else "")
            + f"{n['failed']} failed, {n['left']} left (of {len(state.cells)})")
    if not driver_live and not state.finished:
        return (f"{head} | no driver running (its lease is gone): `gome sweep resume {state.sweep_id}` "
                "continues it")
    eta = eta_s(state, concurrency, now)
    eta_txt = "?" if eta is None else _dur(eta)
    return f"{head} | ETA {eta_txt}"


def _dur(s: float) -> str:
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{sec:02d}s"
