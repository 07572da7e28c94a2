"""The I/O edge of `gome report`: read runs from the store, pick the divergence, write the file.

:func:`build_report` returns the HTML text; :func:`write_report` writes it
atomically (temp file + rename, so a half-written report never replaces a good one).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import GomeError
from ..store import EventStore, StoredEvent
from ..trust.filemode import ordinary_file_mode
from .divergence import DivergencePoint, first_divergence, from_decisions, from_diff_json
from .html import render_comparison, render_report
from .model import RunReport, collect


class ReportError(GomeError):
    """The report could not be built or written."""


def load_run(store: EventStore, run_id: str) -> tuple[RunReport, list[Any]]:
    """Fold one run into a report model; also return its events (for the divergence)."""
    store.require_run(run_id)
    events = list(store.read(run_id))
    return collect(run_id, events), events


def find_divergence(store: EventStore, run_a: str, run_b: str, events_a: Sequence[StoredEvent],
                    events_b: Sequence[StoredEvent]) -> DivergencePoint | None:
    """`gome diff`'s first divergence when :mod:`gome_es.analysis.diff` is installed, else the report's own."""
    return compare_runs(store, run_a, run_b, events_a, events_b)[0]


def compare_runs(store: EventStore, run_a: str, run_b: str, events_a: Sequence[StoredEvent],
                 events_b: Sequence[StoredEvent]) -> tuple[DivergencePoint | None, str, dict[str, str]]:
    """The first divergence, how B's traces were paired with A's ("" when by id), and the diff's
    renaming of B's traces (B's own id -> the A trace it is compared with; empty when by id)."""
    try:
        # lazy: keeps gome <cmd> --help light (the diff loads only for a two-run report)
        from ..analysis.diff import RunSource, diff_runs
    except ImportError:  # an older tree without diff: the stream-by-stream finder answers
        return first_divergence(events_a, events_b), "", {}
    where = str(store.path)
    report = diff_runs(RunSource(run_a, where, events_a, store.get_blob, "A"),
                       RunSource(run_b, where, events_b, store.get_blob, "B"))
    pairing = "; ".join(f"A {p['a']} ({p['direction_a']}) with B {p['b']}"
                        for p in report.pairs if p["a"] != p["b"]) if report.renamed else ""
    if report.verdict != "different":
        return None, pairing, dict(report.renamed)
    # the first differing decision; a run-level input (the seed) alone is named, not marked
    div = from_decisions(report.decisions) or from_diff_json(report.to_json().get("first_divergence"))
    own = report.b_trace(div.trace_id) if div is not None else None
    if div is not None and own != div.trace_id:
        div = replace(div, why=f"{div.why}; in B this is trace {own}")
    return div, pairing, dict(report.renamed)


def build_report(store: EventStore, run_ids: Sequence[str]) -> str:
    if len(run_ids) not in (1, 2):
        raise ReportError(f"a report shows one run or two side by side, not {len(run_ids)}")
    if len(run_ids) == 1:
        return render_report(load_run(store, run_ids[0])[0])
    (ra, ea), (rb, eb) = load_run(store, run_ids[0]), load_run(store, run_ids[1])
    div, pairing, renamed = compare_runs(store, run_ids[0], run_ids[1], ea, eb)
    return render_comparison(ra, rb, div, pairing, renamed)


def write_report(store: EventStore, run_ids: Sequence[str], out: str | Path) -> Path:
    """Build the report and write it to ``out``; return the path written."""
    text = build_report(store, run_ids)
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.fchmod(fd, ordinary_file_mode())  # a report is an ordinary file to share: the umask, not 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportError(f"could not write the report for {', '.join(run_ids)} to {path}: {exc}; "
                          "choose another -o path or free disk space") from exc
    return path
