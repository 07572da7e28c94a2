"""`gome diff RUN_A RUN_B`: where two runs first took different paths, and how they differ.

Parses the arguments, opens each side (a run id in a database, or an export
file), makes one call to :func:`gome_es.core.diff.diff_runs` and prints.  Exit 0
when the runs are the same, 1 when they differ, 2 when a side cannot be read.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from ..core.diff import DiffReport, RunSource, StepDiff, diff_runs
from ..diff_sources import source_from_export, source_from_store
from ..errors import GomeError
from ..store.errors import ExportInvalid
from .common import db_option, fail, open_store

FIELDS_SHOWN = 8  # per step in the terminal; --json has them all
CODE_LINES_SHOWN = 40
VALUE_CHARS = 120
EXPORT_SUFFIXES = (".jsonl", ".jsonl.gz", ".gz", ".json")


def _open_side(arg: str, db: Path, stack: ExitStack) -> RunSource:
    """An existing file is an export; anything else is a run id in ``db``."""
    p = Path(arg)
    try:
        is_file = p.is_file()
    except OSError:  # a name too long to be a path (ENAMETOOLONG) is a run id, or nothing
        is_file = False
    if is_file:
        return source_from_export(p, label=arg)
    if arg.endswith(EXPORT_SUFFIXES) or "/" in arg:
        raise ExportInvalid(f"{arg} is not a file (a run id has no '/' or export suffix); "
                            "check the path of the export, or pass a run id with --db")
    store = stack.enter_context(open_store(db, readonly=True))
    return source_from_store(store, arg, label=arg)


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@db_option
@click.option("--db-b", "db_b", type=click.Path(dir_okay=False, path_type=Path),
              help="The database of RUN_B, when it is not in --db.")
@click.option("--json", "as_json", is_flag=True, help="The whole report as one JSON object.")
@click.option("--context", "context", type=click.IntRange(0, 50), default=3, show_default=True,
              help="Unchanged lines shown around each change in code diffs.")
@click.option("--include-provenance", is_flag=True,
              help="Also compare provenance: where and how steps were recorded (source files of imported "
                   "steps with their pids, timestamps and hashes, machine paths in settings, ImportedRecord "
                   "events, code version). Ignored by default.")
def diff_cmd(run_a: str, run_b: str, db: Path, db_b: Path | None, as_json: bool, context: int,
             include_provenance: bool) -> None:
    """Diff two runs event by event, aligned by trace, iteration and stage.

    RUN_A and RUN_B are run ids (in --db, RUN_B in --db-b if given) or paths to
    `gome export` files.  Ids, timestamps, durations, declared volatile
    fields and provenance (source files, pids, hashes, machine paths of
    imported runs) are ignored; --include-provenance compares provenance too.  Prints a summary per run and trace, the first
    divergence with both sides, then every differing step (hypothesis text,
    code as a unified diff, score deltas, verdicts, steps only one run took).
    Exit 0 when the runs are the same, 1 when they differ, 2 on error.
    """
    try:
        with ExitStack() as stack:
            a = _open_side(run_a, db, stack)
            b = _open_side(run_b, db_b or db, stack)
            report = diff_runs(a, b, context=context, include_provenance=include_provenance)
    except GomeError as exc:
        raise fail(exc) from exc
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True, default=str))
    else:
        for line in render(report):
            click.echo(line)
    click.get_current_context().exit(0 if report.same else 1)


# ------------------------------------------------------------------ rendering


def _v(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    # a multi-line text (code inside an answer) stays on one line, escaped
    text = value if isinstance(value, str) and "\n" not in value else json.dumps(
        value, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def _score(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}"


def _summary_rows(sa: dict[str, Any], sb: dict[str, Any]) -> list[tuple[str, str, str]]:
    def cost(s: dict[str, Any]) -> str:
        return f"${s.get('cost_usd', 0):.4f} / {s.get('prompt_tokens', 0) + s.get('completion_tokens', 0)} tok"

    rows = [("status", "status", str), ("events", "events", str), ("iterations", "iterations", str),
            ("accepted steps", "accepted", str), ("best val score", "best_val_score", _score),
            ("selected", "selected", str), ("grade", "grade_score", _score),
            ("executions", "executions", str), ("failed executions", "failures", str),
            ("llm calls", "llm_calls", str)]
    out = [(name, fmt(sa.get(k)) if k in sa else "-", fmt(sb.get(k)) if k in sb else "-")
           for name, k, fmt in rows]
    out.append(("llm cost", cost(sa), cost(sb)))
    return out


def render(report: DiffReport) -> list[str]:
    """The report as terminal lines."""
    j = report.to_json()
    a, b = j["a"], j["b"]
    c = j["counts"]
    verdict = "SAME" if report.same else (
        f"DIFFERENT: {len(report.differences)} steps differ ({c['changed']} changed, "
        f"{c['only_a']} only in A, {c['only_b']} only in B)")
    lines = [f"A = {a['label']} (run {a['run_id']}, {a['where']})",
             f"B = {b['label']} (run {b['run_id']}, {b['where']})",
             f"{verdict}; {report.steps_compared} aligned steps compared in {report.seconds:.3f}s", ""]
    sa, sb = a["summary"], b["summary"]
    for side, s in (("A", sa), ("B", sb)):
        if "error" in s:
            lines.append(f"summary of {side} unavailable: {s['error']}")
    width = max(len(str(x)) for _, x, _ in _summary_rows(sa, sb)) + 2
    lines.append(f"{'':<20}{'A':<{width}}B")
    for name, va, vb in _summary_rows(sa, sb):
        mark = "" if va == vb else "  *"
        lines.append(f"{name:<20}{va:<{width}}{vb}{mark}")
    traces = sorted(set(sa.get("traces", {})) | set(sb.get("traces", {})))
    if traces:
        lines += ["", f"{'trace':<8}{'run':<5}{'iters':>6}{'accepted':>10}{'best':>12}{'llm $':>10}"
                      f"{'execs':>7}{'failed':>8}"]
        for t in traces:
            for side, s in (("A", sa), ("B", sb)):
                row = s.get("traces", {}).get(t)
                if row is None:
                    lines.append(f"{t:<8}{side:<5}{'(no such trace)':>20}")
                    continue
                lines.append(f"{t:<8}{side:<5}{row['iterations']:>6}{row['accepted']:>10}"
                             f"{_score(row['best_val_score']):>12}{row['cost_usd']:>10.4f}"
                             f"{row['executions']:>7}{row['failures']:>8}")
    for p in j["provenance"]:
        lines.append(f"note: {p['type']}.{p['field']} differs ({_v(p['a'])} vs {_v(p['b'])}); "
                     "not counted as a difference")
    if a["operational"] != b["operational"]:
        for side in ("a", "b"):
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(j[side]["operational"].items())) or "none"
            lines.append(f"note: operational events of {side.upper()} (not compared): {ops}")
    if report.same:
        return lines
    first = report.first_divergence
    assert first is not None
    if report.loops:
        lines.append(f"imported loops that differ: {', '.join(map(str, report.loops))}")
    lines += ["", f"FIRST DIVERGENCE: {_where(first)}" + (f" [loop {first.loop}]" if first.loop is not None else "")]
    lines += _step_body(first)
    lines += ["", f"ALL DIFFERENCES ({len(report.differences)})"]
    for d in report.differences:
        lines.append(f"- {_where(d)}")
        lines += _step_body(d)
    return lines


def _where(d: StepDiff) -> str:
    sides = []
    for name, side in (("A", d.a), ("B", d.b)):
        sides.append(f"{name} seq {side['seq']} {side['type']}" if side else f"{name}: absent")
    status = {"changed": "", "only_a": " [only in A]", "only_b": " [only in B]"}[d.status]
    return f"{d.key.label()}{status} ({'; '.join(sides)})"


def _step_body(d: StepDiff) -> list[str]:
    out: list[str] = []
    pad = "    "
    if d.hypothesis:
        if "a" in d.hypothesis:
            out.append(f"{pad}hypothesis A: {_v(d.hypothesis['a'])}")
        if "b" in d.hypothesis:
            out.append(f"{pad}hypothesis B: {_v(d.hypothesis['b'])}")
    if d.score:
        s = d.score
        delta = f" (delta {s['delta']:+.6g})" if s.get("delta") is not None else ""
        out.append(f"{pad}{s['field']}: A {_score(s.get('a'))} -> B {_score(s.get('b'))}{delta}")
    if d.verdict:
        for side in ("a", "b"):
            v = d.verdict.get(side)
            if v is not None:
                word = "accepted" if v["accepted"] else f"rejected at {v['first_failure']}"
                out.append(f"{pad}verdict {side.upper()}: {word}")
    shown = [f for f in d.fields if f["path"] not in {"hypothesis", "val_score", "best_score"}]
    for f in shown[:FIELDS_SHOWN]:
        out.append(f"{pad}{f['path']}: {_v(f['a'])} -> {_v(f['b'])}")
    if len(shown) > FIELDS_SHOWN:
        out.append(f"{pad}... {len(shown) - FIELDS_SHOWN} more fields (--json shows all)")
    if d.code:
        if "diff" in d.code:
            body = d.code["diff"]
            out += [f"{pad}{line}" for line in body[:CODE_LINES_SHOWN]]
            hidden = d.code["diff_lines"] - min(len(body), CODE_LINES_SHOWN)
            if hidden > 0:
                out.append(f"{pad}... {hidden} more diff lines (--json shows up to 400)")
        else:
            out.append(f"{pad}code differs: {d.code.get('note')}")
    return out
