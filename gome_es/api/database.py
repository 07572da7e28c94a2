"""``Database``: a gome database read from Python, tables as pandas DataFrames.

Read-only: opening never creates, migrates or writes the file (a run writing it at the same
time is fine: SQLite's WAL lets readers in), so a notebook can watch a live run.  Each method
is the library call beneath a command:

======================  ====================================================
``db.runs()``           `gome runs` (``runs_v``, status, sweep, tags, note)
``db.steps(run)``       `gome steps RUN` (``steps_v``, dimension scores as columns)
``db.events(run)``      `gome events RUN` (payloads decoded into a ``payload`` column)
``db.code(run, sol)``   `gome code RUN SOL`
``db.log(run, sol)``    `gome logs RUN SOL`
``db.sweep(id)``        `gome sweep status ID` (one row per cell)
``db.state(run)``       the run folded from its events (``RunState``)
======================  ====================================================

Run ids may be given whole, as a unique prefix, or as ``@last`` (the newest run).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..core.events import EVENT_TYPES, validate_payload
from ..core.vocabulary import DIMENSIONS, EventType
from ..errors import GomeError, RunNotFound
from ..report.tables import run_listing, step_rows, sweep_ids
from ..store import EventStore
from ..store.runids import resolve_run_id

if TYPE_CHECKING:  # pandas stays optional for the core: imported when a table is asked for
    import pandas as pd

    from ..core.state import RunState


class SolutionNotFound(RunNotFound):
    """No event of the run names this solution id."""


def _frame(rows: list[dict[str, Any]], columns: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    try:
        # lazy: pandas is heavy; only the DataFrame results need it
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a core dependency today
        raise GomeError("gome's tables need pandas: pip install pandas") from exc
    return pd.DataFrame(rows, columns=list(columns) if columns is not None else None)


class Database:
    """A gome database opened read-only.  Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path = "gome.db") -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise GomeError(f"no gome database at {self.path}: `gome run --db {self.path} ...` creates one, "
                            "or pass the path of an existing one")
        self.store = EventStore.open(self.path, create=False, readonly=True, validator=validate_payload)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gome Database {str(self.path)!r}>"

    # ------------------------------------------------------------------ ids

    def run_ids(self) -> list[str]:
        """Every run id, oldest first (sweeps included: :meth:`sweeps` lists those)."""
        return [s.run_id for s in self.store.runs()]

    def resolve(self, run: str) -> str:
        """A whole run id, a unique prefix of one, or ``@last``, as the whole id."""
        return resolve_run_id(self.store, run)

    # ------------------------------------------------------------------ tables

    def runs(self, *, task: str | None = None, sweep: str | None = None) -> pd.DataFrame:
        """One row per run, the rows and columns `gome runs --json` prints: the columns of ``runs_v``
        plus ``status`` (running / stopped / interrupted / forked for an unfinished run), ``sweep`` and
        ``variant`` (a sweep's cells), ``tags`` (a list) and ``note`` (`gome runs tag/note`).  Sweeps
        themselves are not runs and are not listed (see :meth:`sweeps`); ``sweep`` keeps one sweep's
        cells (a whole id, a unique prefix or ``@last``)."""
        return _frame(run_listing(self.store, task=task, sweep=sweep))

    def labels(self) -> pd.DataFrame:
        """One row per run that has tags or a note: ``run_id``, ``tags`` (a list), ``note``."""
        # lazy: keeps gome <cmd> --help light (this module is on its import path)
        from ..store.runadmin import read_labels

        rows = [{"run_id": r, "tags": list(lab.tags), "note": lab.note}
                for r, lab in sorted(read_labels(self.store).items())]
        return _frame(rows, ["run_id", "tags", "note"])

    def steps(self, run: str) -> pd.DataFrame:
        """One row per step of ``run`` (the columns of ``steps_v``), with each dimension's score
        as a ``score_<dimension>`` column."""
        run_id = self.resolve(run)
        rows = step_rows(self.store, run_id)
        for r in rows:
            scores = r.pop("scores", {}) or {}
            for d in DIMENSIONS:
                r[f"score_{d}"] = scores.get(d)
        return _frame(rows)

    def events(self, run: str, *, types: list[str] | tuple[str, ...] | None = None,
               trace: str | None = None) -> pd.DataFrame:
        """The run's events in seq order: ``seq``, ``trace_id``, ``type``, ``ts`` and the decoded
        ``payload`` (a dict; large texts stay as the sha256 of their blob: :meth:`code`, :meth:`log`)."""
        run_id = self.resolve(run)
        if types:
            unknown = sorted(set(types) - set(EVENT_TYPES))
            if unknown:
                raise GomeError(f"unknown event type(s) {', '.join(unknown)}; the types are "
                                f"{', '.join(sorted(EVENT_TYPES))}")
        rows = [{"seq": e.seq, "trace_id": e.trace_id, "type": e.type, "ts": e.ts, "payload": e.payload}
                for e in self.store.read(run_id, trace_id=trace, types=list(types) if types else None)]
        return _frame(rows, ["seq", "trace_id", "type", "ts", "payload"])

    def state(self, run: str) -> RunState:
        """The run folded from its events (what `gome show` reads)."""
        # lazy: keeps gome <cmd> --help light (this module is on its import path)
        from ..driver.snapshots import load_state

        return load_state(self.store, self.resolve(run))

    # ------------------------------------------------------------------ texts

    def code(self, run: str, solution: str) -> str:
        """The code of one solution (the text its ``CodeGenerated`` event names)."""
        return solution_code(self.store, self.resolve(run), solution)

    def executions(self, run: str, solution: str) -> list[dict[str, Any]]:
        """Every execution of a solution (a redo after a crash is a second one): seq, key, failure,
        exit code, duration, stdout and stderr."""
        return list(solution_logs(self.store, self.resolve(run), solution))

    def log(self, run: str, solution: str, *, stream: str = "both") -> str:
        """What the solution printed in its last execution: ``stream`` is ``stdout``, ``stderr``
        or ``both`` (stdout, then stderr)."""
        if stream not in ("both", "stdout", "stderr"):
            raise GomeError(f"stream must be 'both', 'stdout' or 'stderr', not {stream!r}")
        last = self.executions(run, solution)[-1]
        if stream == "both":
            return str(last["stdout"] + last["stderr"])
        return str(last[stream])

    # ------------------------------------------------------------------ sweeps

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep: id, cells, done, running, failed, left, finished."""
        # lazy: keeps gome <cmd> --help light (this module is on its import path)
        from ..sweep.driver import load_sweep

        rows = []

        for sweep_id in sweep_ids(self.store):
            st = load_sweep(self.store, sweep_id)
            rows.append({"sweep_id": sweep_id, "cells": len(st.cells), **st.counts(), "finished": st.finished})
        return _frame(rows, ["sweep_id", "cells", "done", "running", "failed", "left", "finished"])

    def sweep(self, sweep: str) -> pd.DataFrame:
        """One row per cell of a sweep: task, variant, seed, run id, status, tries, duration and the
        grade's headline figures (valid, score, medal)."""
        # lazy: keeps gome <cmd> --help light (this module is on its import path)
        from ..sweep.driver import load_sweep

        sweep_id = self.resolve(sweep)
        st = load_sweep(self.store, sweep_id)
        rows = []
        for c in st.cells.values():
            grade = c.grade or {}
            rows.append({"task": c.cell.task, "variant": c.cell.variant, "seed": c.cell.seed,
                         "run_id": c.cell.run_id, "status": c.status, "tries_failed": c.tries_failed,
                         "duration_s": c.duration_s, "valid": grade.get("valid_submission"),
                         "score": grade.get("score"), "medal": grade.get("medal"),
                         "val_score": grade.get("val_score")})
        return _frame(rows, ["task", "variant", "seed", "run_id", "status", "tries_failed", "duration_s",
                             "valid", "score", "medal", "val_score"])


def open_database(path: str | Path = "gome.db") -> Database:
    """Open a gome database read-only (``gome.open``)."""
    return Database(path)


def _solutions(store: EventStore, run_id: str) -> list[str]:
    return [str(e.payload["solution_id"]) for e in store.read(run_id, types=[EventType.CodeGenerated])
            if e.payload.get("solution_id") is not None]


def _missing(store: EventStore, run_id: str, solution_id: str, what: str) -> SolutionNotFound:
    known = _solutions(store, run_id)
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    return SolutionNotFound(f"run {run_id} has no {what} for solution {solution_id!r}; its solutions: "
                            f"{shown or 'none yet'} (`gome steps {run_id}` lists them with their scores)")


def solution_code_bytes(store: EventStore, run_id: str, solution_id: str) -> bytes:
    """The code of one solution as recorded (the bytes its ``CodeGenerated`` event names)."""
    store.require_run(run_id)
    for e in store.read(run_id, types=[EventType.CodeGenerated]):
        if e.payload.get("solution_id") == solution_id:
            return bytes(store.get_blob(e.payload["code_sha"]))
    raise _missing(store, run_id, solution_id, "code")


def solution_code(store: EventStore, run_id: str, solution_id: str) -> str:
    """The code of one solution as text (undecodable bytes replaced; not sanitized)."""
    return solution_code_bytes(store, run_id, solution_id).decode("utf-8", errors="replace")


def solution_logs(store: EventStore, run_id: str, solution_id: str, raw: bool = False) -> list[dict[str, Any]]:
    """Every execution of a solution (a redo after a crash is a second one): stdout, stderr, outcome.

    The streams are text (not sanitized), or the recorded bytes with ``raw``."""
    store.require_run(run_id)
    out = []
    for e in store.read(run_id, types=[EventType.ExecutionFinished]):
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
