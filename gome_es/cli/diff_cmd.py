"""`gome diff RUN_A RUN_B`: where two runs first took different paths, and how they differ.

Parses the arguments, opens each side (a run id in a database, or an export
file), makes one call to :func:`gome_es.analysis.diff.diff_runs` and prints.  Exit 0
when the runs are the same, 1 when they differ, 2 when a side cannot be read.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import click

from ..analysis.diff import DiffReport, RunSource, StepDiff, diff_runs
from ..analysis.plain_words import LEVEL_WORDS, verdict_words
from ..analysis.views import iteration_label
from ..api.sources import source_from_export, source_from_store
from ..report.textfmt import NOTHING, hypothesis_text, money, text
from ..report.textfmt import score as fmt_score
from ..store.errors import ExportInvalid
from ..trust.text import clean
from .common import db_option, open_store, resolve_run

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
    run_id = resolve_run(store, arg)  # a unique prefix or @last as every command takes them
    return source_from_store(store, run_id, label=run_id)


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@db_option
@click.option("--db-b", "db_b", type=click.Path(dir_okay=False, path_type=Path),
              help="The database of RUN_B, when it is not in --db.")
@click.option("--json", "as_json", is_flag=True,
              help="The report as one line of JSON: decisions, steps and every field difference with "
                   "its class (long texts as diffs); the values of LLM request/answer fields, which repeat "
                   "the hypotheses and code of other steps, only with --fields.")
@click.option("--fields", "show_fields", is_flag=True,
              help="Also list every differing field of every step, with code diffs "
                   "(derived and measured ones included, marked); with --json, keep LLM texts too.")
@click.option("--context", "context", type=click.IntRange(0, 50), default=3, show_default=True,
              help="Unchanged lines shown around each change in code diffs.")
@click.option("--include-provenance", is_flag=True,
              help="Also compare provenance: where and how steps were recorded (source files of imported "
                   "steps with their pids, timestamps and hashes, machine paths in settings, ImportedRecord "
                   "events, code version). Ignored by default.")
@click.option("--strict", is_flag=True,
              help="Exit 1 also when the runs are the same apart from bookkeeping (measured, derived or "
                   "provenance fields; one run a prefix of the other).")
def diff_cmd(run_a: str, run_b: str, db: Path, db_b: Path | None, as_json: bool, show_fields: bool,
             context: int, include_provenance: bool, strict: bool) -> None:
    """Diff two runs: which inputs differ, then which decisions, step by step.

    RUN_A and RUN_B are run ids (in --db, RUN_B in --db-b if given) or paths to
    `gome export` files.  Prints a summary per run and trace, the inputs that
    differ (config, seed, reasoner, code version), the first decision that
    differs (draw, hypothesis, code, verdict) and one row per aligned step
    (trace, iteration, attempt) with each run's hypothesis, validation score
    and verdict, '*' marking what differs.  Ids, timestamps, measured
    durations, hashes, values copied from a differing input (the seed in
    every recipe) and provenance (source files, pids, hashes, machine paths of
    imported runs) are not differences; --fields lists every field anyway,
    --include-provenance compares provenance too.
    B's traces are paired with A's by starting direction when the ids disagree
    (two seeds may start t1 on different models); the pairing is shown.
    Exit 0 when the runs are the same, or the same apart from bookkeeping
    (only measured, derived or provenance fields differ, or one run stops
    where the other goes on; 1 with --strict), 1 when they differ, 2 on error.
    """
    with ExitStack() as stack:
        a = _open_side(run_a, db, stack)
        b = _open_side(run_b, db_b or db, stack)
        report = diff_runs(a, b, context=context, include_provenance=include_provenance)
    if as_json:
        # one line, no repeated payloads: `| python -m json.tool` or `| jq` to read it
        click.echo(json.dumps(report.to_json(full=show_fields), sort_keys=True, default=str,
                              separators=(",", ":")))
    else:
        for line in (render(report) if show_fields else render_decisions(report)):
            click.echo(clean(line))  # hypotheses and code diffs are an LLM's text
    code = {"same": 0, "bookkeeping": 1 if strict else 0}.get(report.verdict, 1)
    click.get_current_context().exit(code)


# ------------------------------------------------------------------ rendering


def _v(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    # a multi-line text (code inside an answer) stays on one line, escaped
    text = value if isinstance(value, str) and "\n" not in value else json.dumps(
        value, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def _score(value: Any) -> str:
    return fmt_score(value)


def _summary_rows(sa: dict[str, Any], sb: dict[str, Any]) -> list[tuple[str, str, str]]:
    def cost(s: dict[str, Any]) -> str:
        return f"${s.get('cost_usd', 0):.4f} / {s.get('prompt_tokens', 0) + s.get('completion_tokens', 0)} tok"

    rows: list[tuple[str, str, Callable[[Any], str]]] = [
        ("status", "status", str), ("events", "events", str), ("iterations", "iterations", str),
        ("accepted steps", "accepted", str), ("best val score", "best_val_score", _score),
        ("selected", "selected", str), ("grade", "grade_score", _score),
        ("executions", "executions", str), ("failed executions", "failures", str),
        ("llm calls", "llm_calls", str)]
    out = [(name, fmt(sa.get(k)) if k in sa else "-", fmt(sb.get(k)) if k in sb else "-")
           for name, k, fmt in rows]
    if sa.get("llm_calls") or sb.get("llm_calls"):
        if sa.get("cost_usd") or sb.get("cost_usd") or sa.get("prompt_tokens") or sb.get("prompt_tokens"):
            out.append(("llm cost", cost(sa), cost(sb)))
    return out


def _header(report: DiffReport, by_decision: bool = False) -> list[str]:
    """Who is A and B, the verdict line, the summary and per-trace tables, notes."""
    j = report.to_json()
    a, b = j["a"], j["b"]
    c = j["counts"]
    dec = report.decisions or {}
    if report.same:
        verdict = "SAME"
    elif report.verdict == "bookkeeping":
        verdict = "SAME APART FROM BOOKKEEPING: " + _bookkeeping_words(report)
    elif by_decision and dec:
        steps = dec.get("steps") or []
        inputs = ", ".join(d["name"] for d in dec.get("inputs") or []) or "none"
        first = dec.get("first_decision")
        verdict = (f"DIFFERENT: inputs differ: {inputs}; {dec.get('steps_differing', 0)} of {len(steps)} "
                   f"steps differ; first differing decision: "
                   f"{_step_label(first) + ' ' + first['decision'] if first else 'none'}")
    else:
        verdict = (f"DIFFERENT: {len(report.differences)} steps differ ({c['changed']} changed, "
                   f"{c['only_a']} only in A, {c['only_b']} only in B)")
    lines = [f"A = {a['label']} (run {a['run_id']}, {a['where']})",
             f"B = {b['label']} (run {b['run_id']}, {b['where']})",
             f"{verdict}; {report.steps_compared} aligned events compared in {report.seconds:.3f}s", ""]
    lines += _pairing(report)
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
                label = f"{side}:{row['own_id']}" if row.get("own_id", t) != t else side
                lines.append(f"{t:<8}{label:<5}{row['iterations']:>6}{row['accepted']:>10}"
                             f"{_score(row['best_val_score']):>12}{money(row['cost_usd']):>10}"
                             f"{row['executions']:>7}{row['failures']:>8}")
    for p in j["provenance"]:
        lines.append(f"note: {p['type']}.{p['field']} differs ({_v(p['a'])} vs {_v(p['b'])}); "
                     "not counted as a difference")
    if a["operational"] != b["operational"]:
        for side in ("a", "b"):
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(j[side]["operational"].items())) or "none"
            lines.append(f"note: operational events of {side.upper()} (not compared): {ops}")
    return lines


def _bookkeeping_words(report: DiffReport) -> str:
    """Why a report that is not SAME still took the same path."""
    if report.prefix_of is not None:
        longer, shorter = report.prefix_of.upper(), "B" if report.prefix_of == "a" else "A"
        counts = report.to_json()["counts"]
        extra = counts["only_a"] if report.prefix_of == "a" else counts["only_b"]
        return (f"{shorter} stops where {longer} goes on ({extra} more events in {longer}); "
                "every step both took is the same apart from measured, derived or provenance fields")
    return "only measured, derived or provenance fields differ"


def _pairing(report: DiffReport) -> list[str]:
    """How B's traces were paired with A's, when that is not by id."""
    if not report.renamed:
        return []
    parts = [f"A {p['a']} ({p['direction_a'] or '?'}) with B {p['b']}" for p in report.pairs if p["how"] == "direction"]
    return [f"traces paired by starting direction: {'; '.join(parts)}.",
            "B's traces, solution ids and keys are shown under A's trace ids (B:t2 = B's own t2).", ""]


def _loops(report: DiffReport) -> list[str]:
    """Imported runs: the foreign loops in which some step differs."""
    return [f"imported loops that differ: {', '.join(map(str, report.loops))}"] if report.loops else []


def _loop_of(report: DiffReport, step: dict[str, Any]) -> int | None:
    for d in report.differences:
        if d.loop is not None and (d.key.trace, d.key.iteration) == (step.get("trace"), step.get("iteration")):
            return d.loop
    return None


def render(report: DiffReport) -> list[str]:
    """The report as terminal lines, every differing field included (``--fields``)."""
    lines = _header(report)
    lines += _inputs(report)
    first = report.first_divergence
    if first is None:
        return lines
    lines += _loops(report)
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
                word = verdict_words(v["accepted"], v["first_failure"])
                out.append(f"{pad}verdict {side.upper()}: {word}")
    shown = [f for f in d.fields if f["path"] not in {"hypothesis", "val_score", "best_score"}]
    for f in shown[:FIELDS_SHOWN]:
        cls = f.get("class")
        tag = f" [{cls}]" if cls in ("derived", "measured") else ""
        if "text_diff" in f:
            out.append(f"{pad}{f['path']}: text differs ({f.get('a_chars')} -> {f.get('b_chars')} chars){tag}")
            out += [w for line in f["text_diff"][:CODE_LINES_SHOWN // 4]
                    for w in wrap_diff_line(line, _width() - 6, pad + "  ")]
        else:
            out.append(f"{pad}{f['path']}: {_v(f['a'])} -> {_v(f['b'])}{tag}")
    if len(shown) > FIELDS_SHOWN:
        out.append(f"{pad}... {len(shown) - FIELDS_SHOWN} more fields (--json shows all)")
    if d.code:
        if "diff" in d.code:
            body = d.code["diff"]
            out += [w for line in body[:CODE_LINES_SHOWN] for w in wrap_diff_line(line, _width() - 4, pad)]
            hidden = d.code["diff_lines"] - min(len(body), CODE_LINES_SHOWN)
            if hidden > 0:
                out.append(f"{pad}... {hidden} more diff lines (--json shows up to 400)")
        else:
            out.append(f"{pad}code differs: {d.code.get('note')}")
    return out


# ------------------------------------------------------------------ the decision view (default)

CLASS_WORDS = {"derived": "derived from a differing input or a hash", "measured": "measured durations",
               "exchange": "in LLM requests/answers", "outcome": "in measured outcomes",
               "decision": "in decisions", "input": "in inputs", "other": "elsewhere",
               "provenance": "in provenance (how and where steps were recorded)"}


def _width() -> int:
    return max(80, min(160, shutil.get_terminal_size((100, 24)).columns))


def _verdict(row: dict[str, Any] | None) -> str:
    return "(step not taken)" if row is None else str(row.get("verdict") or NOTHING)


def _inputs(report: DiffReport) -> list[str]:
    """The inputs that differ: config, seed, reasoner, fork point, resume overrides."""
    inputs = (report.decisions or {}).get("inputs") or []
    lines: list[str] = []
    if inputs:
        lines += ["", "INPUTS THAT DIFFER"]
        name_w = max(24, *(len(d["name"]) + 1 for d in inputs))
        for d in inputs:
            va, vb = ("-" if v is None else _v(v) for v in (d["a"], d["b"]))
            lines.append(f"  {d['name']:<{name_w}} A {va}   B {vb}")
    return lines


def render_decisions(report: DiffReport) -> list[str]:
    """Summary, inputs that differ, the first differing decision, one row per aligned step."""
    lines = _header(report, by_decision=True)
    dec = report.decisions or {}
    lines += _inputs(report)
    first = dec.get("first_decision")
    if report.verdict != "different":
        return lines
    lines.append("")
    lines += _loops(report)
    if first is None:
        lines.append("FIRST DIFFERING DECISION: none (every draw, hypothesis, code and verdict agrees)")
    else:
        loop = _loop_of(report, first)
        own = report.b_trace(first.get("trace"))
        paired = f" (B's {own})" if own != first.get("trace") else ""
        lines.append(f"FIRST DIFFERING DECISION: {_step_label(first)}{paired}: {_decision_words(first)}"
                     + (f" [loop {loop}]" if loop is not None else ""))
        lines += _first_body(first)
        if "code" in first.get("decisions", ()):
            lines += _first_code(report, first)
    steps = dec.get("steps") or []
    if steps:
        lines += _step_table(steps, report)
        lines += _legend(steps)
    classes = dec.get("field_classes") or {}
    quiet = {k: v for k, v in classes.items() if k in ("derived", "measured")}
    loud = {k: v for k, v in classes.items() if k not in quiet}
    parts = [f"{v} {CLASS_WORDS.get(k, k)}" for k, v in sorted(loud.items())]
    parts += [f"{v} {CLASS_WORDS.get(k, k)} (not counted)" for k, v in sorted(quiet.items())]
    if parts:
        lines += ["", f"field differences: {'; '.join(parts)}. `--fields` lists them, `--json` has all."]
    return lines


def _legend(steps: list[dict[str, Any]]) -> list[str]:
    """Plain words for the codes the step table showed (from gome_es.analysis.plain_words)."""
    levels = sorted({row["first_failure"] for s in steps for row in (s["a"], s["b"])
                     if row and row.get("accepted") is False and row.get("first_failure")})
    out = ["", "itN aN = iteration N (from 0), attempt N (a1 and on debug the code); * = B differs from A"]
    for level in levels:
        shown = "not better than best" if level == "beats_sota" else f"rejected: {level}"
        out.append(f"{shown} = {LEVEL_WORDS.get(level, level)}")
    return out


def _step_label(s: dict[str, Any]) -> str:
    if s.get("trace") is None:
        return "run level"
    return f"{s['trace']} {_it(s['iteration'])} a{s['attempt']}"


def _decision_words(first: dict[str, Any]) -> str:
    words = {"step": "only one run took this step", "draw": "a different candidate was drawn",
             "hypothesis": "a different hypothesis", "code": "different code",
             "verdict": "a different verdict", "selection": "a different submission was selected"}
    return "; ".join(words.get(d, d) for d in first.get("decisions") or [first.get("decision")])


def _first_body(first: dict[str, Any]) -> list[str]:
    out = []
    width = _width() - 16
    for side in ("a", "b"):
        row = first.get(side)
        name = side.upper()
        seq = first.get(f"seq_{side}")
        if row is None:
            out.append(f"    {name}: did not take this step")
            continue
        if "hypothesis" not in row:
            out.append(f"    {name}: {text(row, width)}")
            continue
        lead = f"    {name} (seq {seq}): "
        hyp = wrap_diff_line(text(hypothesis_text(row.get('hypothesis'))), width + 16 - len(lead))
        out.append(lead + hyp[0])
        out += [" " * len(lead) + h for h in hyp[1:]]
        verdict = (verdict_words(row.get("accepted"), row.get("first_failure"), row.get("failure"))
                   if row.get("accepted") is not None else _verdict(row))
        out.append(f"        drew candidate {row.get('drawn') or NOTHING}, val {fmt_score(row.get('val_score'))}, "
                   f"{verdict}")
    return out


FIRST_CODE_LINES = 24


def _first_code(report: DiffReport, first: dict[str, Any]) -> list[str]:
    """The code diff of the first differing decision (copied seeds mapped back)."""
    body = first.get("code_diff") or []
    width = _width() - 4
    out = [w for line in body[:FIRST_CODE_LINES] for w in wrap_diff_line(line, width, "    ")]
    if len(body) > FIRST_CODE_LINES:
        out.append(f"    ... {len(body) - FIRST_CODE_LINES} more lines (--fields shows every code diff)")
    return out


CONTINUED = "↪ "


def wrap_diff_line(line: str, width: int, pad: str = "") -> list[str]:
    """One diff line as terminal lines of at most ``width`` characters after ``pad``, never cut.

    A longer line goes on in continuation lines that repeat its diff marker
    (``+``, ``-`` or space) followed by ``↪``, so that a change at the end of a
    long line (a parameter at character 140 of a recipe) stays visible.
    """
    if len(line) <= width:
        return [pad + line]
    marker = line[:1] if line[:1] in "+- " else ""
    step = max(8, width - len(marker) - len(CONTINUED))
    out = [pad + line[:width]]
    rest = line[width:]
    while rest:
        out.append(f"{pad}{marker}{CONTINUED}{rest[:step]}")
        rest = rest[step:]
    return out


def _step_table(steps: list[dict[str, Any]], report: DiffReport | None = None) -> list[str]:
    width = _width()
    hyp_w = max(20, width - 52)
    out = ["", "STEPS (one row per run; * marks what differs)"]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for s in steps:
        by_trace.setdefault(s["trace"], []).append(s)
    for trace, rows in by_trace.items():
        differing = sum(1 for s in rows if s["decisions"] or s["score_differs"])
        own = report.b_trace(trace) if report is not None else trace
        paired = f" (B's {own})" if own != trace else ""
        out += ["", f"trace {trace}{paired}: {len(rows)} steps, {differing} differ",
                f"{'step':<10}{'run':<4}{'val score':>11}  {'verdict':<26}hypothesis"]
        for s in rows:
            out += _step_lines(s, hyp_w)
    return out


def _step_lines(s: dict[str, Any], hyp_w: int) -> list[str]:
    a, b = s["a"], s["b"]
    decs = set(s["decisions"])
    one_sided = "step" in decs
    marks = {"score": s["score_differs"] or one_sided, "verdict": "verdict" in decs or one_sided,
             "hyp": bool(decs & {"hypothesis", "draw"}) or one_sided}
    code_note = " (code differs)" if "code" in decs else ""
    label = f"{_it(s['iteration'])} a{s['attempt']}"
    out = []
    for side, row in (("A", a), ("B", b)):
        first_line = side == "A"

        def mark(name: str, first_line: bool = first_line) -> str:
            return "*" if marks[name] and not first_line else " "

        lead = f"{label if first_line else '':<10}{side:<4}"
        if row is None:
            out.append(f"{lead}{mark('score')}{NOTHING:>10}  {mark('verdict')}{'(step not taken)':<25}")
            continue
        hyp = hypothesis_text(row.get("hypothesis"))
        if not first_line and a is not None and row.get("hypothesis") == a.get("hypothesis"):
            htext = "= same" + code_note
        else:
            htext = text(hyp, hyp_w) + ("" if first_line else code_note)
        out.append(f"{lead}{mark('score')}{fmt_score(row.get('val_score')):>10}  "
                   f"{mark('verdict')}{text(_verdict(row), 24):<25}{mark('hyp')}{htext}")
    return out


def _it(value: object) -> str:
    """An iteration as the solution ids name it (``i3``), whatever a foreign log recorded."""
    return iteration_label(value) if isinstance(value, int) and not isinstance(value, bool) else f"it{value}"
