"""What `gome run` and `gome resume` say while they work, and how a run's end is worded.

On a terminal :class:`Progress` redraws one status block in place: per trace the
iteration out of the maximum, the phase and the best score; then the run's best
score with the metric's name and direction, the budget used and an ETA.  In a
pipe it writes one line per change (the old line log), every score with the
same precision.  :func:`end_reason` and :func:`resume_notice` turn a folded state
into the sentences printed when a run ends or is resumed.  The state is only
read, never changed.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ..analysis.views import iterations_done, trace_progress
from ..core.vocabulary import FailureClass
from ..report.textfmt import NOTHING, duration, hypothesis_text, metric_decimals, score, text
from ..report.watch import medal_words
from ..trust.text import clean

if TYPE_CHECKING:
    from ..core.state import RunState

UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # cursor to the start of n lines up, clear to the end of the screen


def _metric(state: RunState) -> tuple[str, str, int]:
    metric = str(state.task.get("metric") or "score")
    return metric, "lower is better" if state.lower_is_better else "higher is better", metric_decimals(metric)


def eta_s(state: RunState) -> tuple[float | None, str]:
    """Seconds to the end, and what bounds it ("iterations" or "budget"); None before any progress."""
    max_it = int(state.config.max_iterations or 0)
    traces = state.traces_in_order()
    left = max(0.0, state.budget_left_s)
    if not traces or not max_it:
        return None, ""
    total = max_it * len(traces)
    done = sum(min(max_it, iterations_done(t)) for t in traces)
    if done <= 0 or state.spent_s <= 0:
        return None, ""
    by_iterations = state.spent_s * (total - done) / done
    return (by_iterations, "iterations") if by_iterations <= left else (left, "budget")


def status_block(state: RunState, width: int = 100) -> list[str]:
    """The lines a terminal shows while a run works."""
    metric, direction, dec = _metric(state)
    max_it = state.config.max_iterations
    lines = [f"gome · run {text(state.run_id, 40)} · {text(state.task_id, 30)} · {metric} ({direction}) "
             f"· seq {state.last_seq}"]
    for tr in state.traces_in_order():
        phase = tr.phase.value if tr.finished_reason is None else f"done: {tr.finished_reason}"
        it = trace_progress(tr, max_it)
        hyp = hypothesis_text((tr.hypothesis or {}).get("text") or tr.direction or "")
        row = f"  {text(tr.trace_id, 6):<6} {it:<13} {phase:<22} best {score(tr.sota_score, dec):>10}  "
        lines.append(row + text(hyp, max(10, width - len(row))))
    best = state.best_solution()
    budget = state.budget_s
    used = f"{duration(state.spent_s)} of {duration(budget)}" + (
        f" ({100 * state.spent_s / budget:.0f}%)" if budget else "")
    eta, bound = eta_s(state)
    eta_text = NOTHING if eta is None else f"~{duration(eta)}" + (" (budget)" if bound == "budget" else "")
    best_text = f"{score(best.val_score, dec)} ({best.solution_id})" if best and best.val_score is not None else NOTHING
    lines.append(f"best {metric} {best_text} · budget {used} · ETA {eta_text}")
    return lines


def progress_line(state: RunState) -> str:
    """One line per change, for a pipe: every score with the metric's precision."""
    _, _, dec = _metric(state)
    max_it = state.config.max_iterations
    parts = []
    for tr in state.traces_in_order():
        it = trace_progress(tr, max_it)
        parts.append(f"{tr.trace_id} {it} {tr.phase.value:<10} best={score(tr.sota_score, dec)}")
    head = f"[{state.run_id} seq {state.last_seq}] "
    if not parts:
        return head + state.phase.value
    return head + " | ".join(parts) + f" | budget left {duration(max(0.0, state.budget_left_s))}"


class Progress:
    """The ``progress`` callback of :class:`~gome_es.driver.driver.DriveOptions`."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, tty: bool | None = None,
                 width: int | None = None, clock: Callable[[], float] = time.monotonic,
                 min_interval_s: float = 0.2) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        if width is None:
            width = shutil.get_terminal_size((100, 24)).columns
        self.width = max(60, width)
        self.clock, self.min_interval_s = clock, min_interval_s
        self.last = ""
        self.drawn = 0  # lines of the block on screen
        self.last_draw = -1e9
        self.resumes_seen: int | None = None

    def __call__(self, state: RunState) -> None:
        if self.quiet:
            return
        if self.resumes_seen is None:
            self.resumes_seen = len(state.resumes)
        elif len(state.resumes) > self.resumes_seen:  # a RunResumed appended while we watched
            self.resumes_seen = len(state.resumes)
            self.say(resumed_line(state.resumes[-1]))
        if self.tty:
            lines = status_block(state, self.width)
            now = self.clock()
            body = "\n".join(lines)
            if body == self.last or (now - self.last_draw < self.min_interval_s and not state.is_finished):
                return
            self._draw(lines)
            self.last, self.last_draw = body, now
        else:
            line = progress_line(state)
            if line != self.last:
                self.stream.write(clean(line) + "\n")
                self.stream.flush()
                self.last = line

    def _draw(self, lines: list[str]) -> None:
        out = UP_AND_CLEAR.format(n=self.drawn) if self.drawn else ""
        self.stream.write(out + "\n".join(clean(line)[: self.width] for line in lines) + "\n")
        self.stream.flush()
        self.drawn = len(lines)

    def say(self, message: str) -> None:
        """A line above the status block (the block is drawn again below it)."""
        if self.tty and self.drawn:
            self.stream.write(UP_AND_CLEAR.format(n=self.drawn))
            self.drawn, self.last = 0, ""
        self.stream.write(clean(message) + "\n")
        self.stream.flush()


# ------------------------------------------------------------------ sentences


def resumed_line(resume: dict[str, Any]) -> str:
    redo = resume.get("redo_keys") or []
    counted = "counted against" if resume.get("count_downtime") else "not counted against"
    what = (f"redoing {len(redo)} effect(s) that had no outcome: {', '.join(redo[:4])}"
            + (" ..." if len(redo) > 4 else "")) if redo else "no effect to redo"
    return (f"gome: resumed after a {resume.get('cause')} (gap {duration(resume.get('gap_s'))}, {counted} the "
            f"budget); {what}")


def resume_notice(state: RunState, cause: str, now: float) -> str:
    """What `gome resume` found, said before it does anything."""
    execs = [c.key for c in state.pending_executions()]
    llm = [c.key for c in state.pending_llm()]
    gap = max(0.0, now - (state.last_ts or now))
    pending = execs + llm
    redo = (f"{len(pending)} effect(s) without an outcome will be redone once: {', '.join(pending[:4])}"
            + (" ..." if len(pending) > 4 else "")) if pending else "no effect in flight; nothing to redo"
    metric, _, dec = _metric(state)
    best = state.best_solution()
    max_it = state.config.max_iterations
    where = ", ".join(f"{t.trace_id} {trace_progress(t, max_it)}" for t in state.traces_in_order()) or "not started"
    return (f"gome: resuming run {state.run_id} (seq {state.last_seq}; {where}; best {metric} "
            f"{score(best.val_score, dec) if best else NOTHING}): it was {cause}, last event "
            f"{duration(gap)} ago; {redo}")


def stop_words(state: RunState) -> str:
    """Why an unfinished run is not running, from what its log records (never assumed)."""
    last = state.stops[-1] if state.stops else None
    if last is None or (state.resumes and state.resumes[-1]["seq"] > last["seq"]):
        return ("stopped before the end without recording why (the process was killed or crashed, or "
                f"it is still running); `gome resume {state.run_id}` continues it")
    cause = last.get("cause") or "signal"  # runs recorded before the field: all signals
    reason = text(last.get("reason") or "")
    if cause == "signal":
        return f"stopped before the end ({reason or 'a signal'}); `gome resume {state.run_id}` continues it"
    if cause == "llm_unavailable":
        return f"stopped: the LLM endpoint kept failing ({reason}); `gome resume {state.run_id}` continues it once it answers"
    if cause == "offline_rules":
        return (f"stopped: the offline rules cannot go on ({reason}); `gome resume {state.run_id} --reasoner "
                "openai` continues it with an LLM")
    return f"stopped ({cause}: {reason}); `gome resume {state.run_id}` continues it"


def end_reason(state: RunState) -> str:
    """Why a run ended, in words: max iterations, budget spent, stopped, or failed and why."""
    if not state.is_finished:
        return stop_words(state)
    reasons: dict[str, list[str]] = {}
    for tr in state.traces_in_order():
        reasons.setdefault(tr.finished_reason or "unknown", []).append(tr.trace_id)
    max_it = state.config.max_iterations
    words = {"max_iterations": f"reached --max-iterations ({max_it})",
             "budget": (f"stopped for the budget ({duration(state.budget_s)}; "
                        f"{duration(max(0.0, state.budget_left_s))} left, too little for another experiment "
                        f"of ~{duration(state.config.est_exec_s)})")}
    per = "; ".join(f"{'every trace' if len(ts) == len(state.traces) else ', '.join(ts)} "
                    f"{words.get(r, r.replace('_', ' '))}" for r, ts in reasons.items())
    if state.status == "failed":
        sel = state.selected or {}
        fails: dict[str, int] = {}
        for sol in state.solutions.values():
            if sol.judged and not sol.accepted:
                key = sol.failure if sol.failure not in (None, FailureClass.ok) else (sol.first_failure or "rejected")
                fails[key] = fails.get(key, 0) + 1
        why = ", ".join(f"{n} {k}" for k, n in sorted(fails.items(), key=lambda kv: -kv[1])) or "no experiment ran"
        return f"failed: {text(sel.get('reason') or 'no valid solution')} ({why}); {per}"
    if state.status == "budget_exhausted":
        return f"budget spent: {per}"
    return f"completed: {per}" if per else "completed"


def finish_lines(state: RunState) -> list[str]:
    """The lines printed when `gome run`/`resume` return."""
    metric, direction, dec = _metric(state)
    out = [f"gome: run {state.run_id} {end_reason(state)}"]
    sel = state.selected or {}
    if sel.get("solution_id"):
        out.append(f"selected {sel['solution_id']} (validation {metric} {score(sel.get('val_score'), dec)}, "
                   f"{direction}) by {sel.get('by')}")
    elif state.is_finished:
        out.append("no submission selected")
    g = state.grade or {}
    if g:
        out.append(f"test {metric} {score(g.get('score'), dec)} · {medal_words(g)}")
    failed = _failing_llm_calls(state)
    if failed:
        last = failed[-1].response or {}
        out.append(text(f"gome: the LLM endpoint failed the last {len(failed)} call(s) of the run (the budget ran "
                         f"out meanwhile, its retries included): {last.get('error')}"
                         if "budget ran out" in str(last.get("error")) else
                         f"gome: the LLM endpoint failed the last {len(failed)} call(s) of the run: "
                         f"{last.get('error')}", 600))
    return out


def _failing_llm_calls(state: RunState) -> list[Any]:
    """The answered LLM calls at the end of the run that all failed (an outage the run ended in)."""
    answered = sorted((c for c in state.llm.values() if c.response is not None), key=lambda c: c.response_seq or 0)
    tail: list[Any] = []
    for c in reversed(answered):
        if not (c.response or {}).get("error"):
            break
        tail.append(c)
    return tail[::-1]
