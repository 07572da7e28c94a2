"""`gome watch`: a live terminal view of a run, read from the event log alone.

:class:`RunWatcher` keeps a folded state and reads only the events appended
since the last poll (``from_seq = last + 1``), so a frame costs the new events,
not the whole run, and works from any terminal while another process drives
the run.  :func:`render_frame` is pure: state plus recent events in, text out.
Log text (directions, hypotheses, failure details) goes through the one
sanitizer (:mod:`gome_es.trust.text`) before it reaches the terminal: an LLM answer must not be able to
move the cursor or retitle the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from ..analysis.plain_words import short_verdict
from ..analysis.views import current_iteration, iteration_label, iterations_done
from ..core.state import RunState, apply
from ..core.vocabulary import EventType
from ..store import EventStore
from ..trust.text import clean as sanitize
from .textfmt import counts, duration, hypothesis_text, money, score, text

CLEAR = "\x1b[H\x1b[2J"


def clean(text: object, width: int | None = None) -> str:
    """One line of untrusted text for the terminal, through the one sanitizer."""
    return sanitize(text, "line", width)


@dataclass(frozen=True)
class Recent:
    seq: int
    ts: float
    trace_id: str | None
    type: str
    what: str


def describe(ev: Any) -> str:
    """One short line about an event: the recent-events pane and `gome events`."""
    p = ev.payload
    t = ev.type
    if t == EventType.RunStarted:
        cfg, rz = p.get("config") or {}, p.get("reasoner") or {}
        return (f"task {p.get('task_id')} · seed {cfg.get('seed')} · {cfg.get('strategy', 'gome')}, "
                f"{cfg.get('traces')} traces, max {cfg.get('max_iterations')} iterations, budget "
                f"{duration(cfg.get('budget_s'))} · reasoner {rz.get('kind')} ({rz.get('model')})")
    if t == EventType.TraceStarted:
        return f"direction {p.get('direction')}"
    if t == EventType.HypothesisProposed:
        draw = p.get("draw") or {}
        it = p.get("iteration")
        return (f"{iteration_label(it if isinstance(it, int) else None)} drew {draw.get('chosen_id')} of {len(p.get('candidates') or [])}: "
                f"{hypothesis_text(p.get('hypothesis'))}")
    if t == EventType.CodeGenerated:
        return f"{p.get('solution_id')} (attempt {p.get('attempt')}): {text(p.get('summary'))}"
    if t == EventType.ExecutionRequested:
        return f"{p.get('solution_id')} timeout {duration(p.get('timeout_s'))}"
    if t == EventType.ExecutionStarted:
        return f"{p.get('key')} pid {p.get('pid')} on {p.get('device') or 'cpu'}"
    if t == EventType.ExecutionFinished:
        val = p.get("val_score")
        return (f"{p.get('solution_id')} {p.get('failure')} in {duration(p.get('duration_s'))}"
                + (f" val={score(val)}" if isinstance(val, (int, float)) else ""))
    if t == EventType.ValidationJudged:
        return f"{p.get('solution_id')} " + short_verdict(bool(p.get("accepted")), p.get("first_failure"))
    if t == EventType.SotaChanged:
        return f"new best {p.get('solution_id')} {score(p.get('val_score'))} (was {score(p.get('previous_score'))})"
    if t == EventType.MemoryUpdated:
        e = p.get("entry", {})
        return (f"v{p.get('version')} {e.get('delta', 0):+.3g} {e.get('component')}: "
                f"{hypothesis_text(e.get('hypothesis', ''))}")
    if t == EventType.LLMRequested:
        return f"{p.get('purpose')} ({p.get('model')})"
    if t == EventType.LLMResponded:
        if p.get("error"):
            return f"{p.get('key')} error: {p['error']}"
        cost = f", {money(p.get('cost_usd'))}" if p.get("cost_usd") else ""
        return f"{p.get('key')} {p.get('prompt_tokens', 0)}+{p.get('completion_tokens', 0)} tokens{cost}"
    if t == EventType.TraceFinished:
        return f"{p.get('reason')} after {p.get('iterations')} iterations, best {score(p.get('best_score'))}"
    if t == EventType.SubmissionSelected:
        return f"{p.get('solution_id') or 'nothing'} by {p.get('by')}: {text(p.get('reason'))}"
    if t == EventType.RunFinished:
        return str(p.get("status"))
    if t == EventType.RunResumed:
        redo = len(p.get("redo_keys") or [])
        return f"{p.get('cause')} after {duration(p.get('gap_s', 0))}; {redo} effect(s) to redo"
    if t == EventType.RunStopped:
        return f"{text(p.get('reason'))}; {len(p.get('cancelled_keys') or [])} effect(s) cancelled"
    if t == EventType.LeaseTakenOver:
        return text(p.get("why"))
    if t == EventType.DeviceHealthChanged:
        return f"{p.get('device')} {'healthy' if p.get('healthy') else 'unhealthy'}: {text(p.get('reason'))}"
    if t == EventType.SubmissionGraded:
        r = p.get("report", {})
        return f"test score {score(r.get('score'))} · {medal_words(r)}"
    if t == EventType.ImportedRecord:
        return text(p.get("tag"))
    keys = {k: v for k, v in p.items() if isinstance(v, (str, int, float)) and not k.endswith("_sha")}
    return text(dict(list(keys.items())[:4])) if keys else counts({})


MEDALS = ("gold", "silver", "bronze")


def medal_words(report: dict[str, Any]) -> str:
    """A grade's medal as MLE-bench means it: one exclusive medal, plus the lower lines it passed.

    MLE-bench's ``bronze_medal`` is false for a silver score (the flags are exclusive),
    so "silver; bronze line passed too" says what a reader means by "reached".
    """
    if not report:
        return "not graded"
    if report.get("valid_submission") is False:
        return "invalid submission"
    medal = next((m for m in MEDALS if report.get(f"{m}_medal")), None)
    score_, lower = report.get("score"), report.get("is_lower_better")
    passed = []
    for m in MEDALS:
        line = report.get(f"{m}_threshold")
        if isinstance(score_, (int, float)) and isinstance(line, (int, float)) and m != medal:
            if (score_ <= line) if lower else (score_ >= line):
                passed.append(m)
    if medal is None:
        return "no medal" + (" (above median)" if report.get("above_median") else " (below median)"
                             if report.get("above_median") is False else "")
    below = [m for m in passed if MEDALS.index(m) > MEDALS.index(medal)]
    return f"{medal}" + (f"; {' and '.join(below)} line{'s' if len(below) > 1 else ''} passed too" if below else "")


def _g(x: object) -> str:
    return f"{x:.5g}" if isinstance(x, (int, float)) else str(x)


def _bar(frac: float, width: int) -> str:
    frac = min(1.0, max(0.0, frac))
    full = int(round(frac * width))
    return "█" * full + "░" * (width - full)


def _dur(s: float) -> str:
    s = max(0.0, s)
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.1f}m"
    return f"{s / 3600:.2f}h"


def _pack(parts: list[str], width: int) -> list[str]:
    """Facts joined by `` · `` into lines of at most ``width`` characters: a fact that does not fit
    starts the next line (never cut; one longer than the width, a long run id, stands alone)."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


def _fit(text: str, width: int) -> str:
    """``text`` in ``width`` characters: cut at a space where there is one (a number is never cut in
    two), the cut marked "…"."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ""
    head = text[: width - 1]
    space = head.rfind(" ")
    return (head[:space] if space > width // 3 else head).rstrip() + "…"


def render_frame(state: RunState, recent: list[Recent], *, width: int = 100, color: bool = False,
                 now: float | None = None, elapsed_at: dict[int, float] | None = None) -> str:
    """One screen of the live view."""
    def c(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    w = max(60, width)
    lines: list[str] = []
    status = state.status
    metric = clean(state.task.get("metric") or "score", 24)
    direction = "lower is better" if state.lower_is_better else "higher is better"
    # the run id whole (an id is to be told apart from its neighbours and copied); the other facts
    # go on as many lines as the width needs, never cut mid-number
    top = _pack([f"gome watch · run {clean(state.run_id)}", f"task {clean(state.task_id or '?', 30)}",
               f"{metric} ({direction})", status, f"phase {state.phase.value}", f"seq {state.last_seq}"], w)
    lines += [c("1", top[0])] + top[1:]
    budget = state.budget_s
    frac = state.spent_s / budget if budget else 0.0
    idle = [f"last event {now - state.last_ts:.0f}s ago"] if now is not None and state.last_ts else []
    lines += _pack([f"budget {_bar(frac, 20)} {_dur(state.spent_s)} of {_dur(budget)} spent",
                    f"{_dur(max(0.0, state.budget_left_s))} left", f"downtime {_dur(state.downtime_s)}", *idle], w)
    tokens = state.tokens.get("prompt", 0) + state.tokens.get("completion", 0)
    best = state.best_solution()
    best_s = f"{score(best.val_score)} ({clean(best.solution_id, 24)})" if best and best.val_score is not None else "—"
    lines += _pack([f"LLM {len(state.llm)} calls, {tokens:,} tokens"
                    + (f", ${state.cost_usd:.4f}" if state.cost_usd else ""),
                    f"experiments {len(state.executions)} ({len(state.pending_executions())} running)",
                    f"memory v{state.memory_version}", f"best {metric} {best_s}"], w)
    lines.append("")
    max_it = state.config.max_iterations
    rows = []
    for tr in state.traces_in_order():
        phase = tr.phase.value if tr.finished_reason is None else f"done:{tr.finished_reason}"[:19]
        it = f"{iteration_label(current_iteration(tr))} {iterations_done(tr)}/{max_it}"
        rows.append((clean(tr.trace_id, 6), phase, it, len(tr.solutions), tr.accepted, score(tr.sota_score),
                     (tr.hypothesis or {}).get("text") or tr.direction))
    itw = max([9] + [len(r[2]) for r in rows]) + 1
    title = f"{'trace':<7}{'phase':<20}{'iter done':<{itw}}{'sols':>5}{'acc':>4}{'best':>10}  "
    lines.append(c("1", title + _fit("direction / current hypothesis", w - len(title))))
    for tid, phase, it, sols, acc, best_t, hyp in rows:
        row = f"{tid:<7}{phase:<20}{it:<{itw}}{sols:>5}{acc:>4}{best_t:>10}  "
        lines.append((row + _fit(clean(hyp), w - len(row)) if w - len(row) >= 8 else row).rstrip())
    if not state.traces:
        lines.append(c("2", "  (no trace started yet)"))
    elif elapsed_at is not None and state.executions:
        # lazy: keeps gome <cmd> --help light
        from .timeline import text_lanes

        lines.append("")
        legend = _pack(["timelines (budget time)", "█▓ ran ▒ failed", "✂ cut by the budget ▶ running"], w)
        lines += [c("1", legend[0])] + legend[1:]
        lines.extend(text_lanes(state, elapsed_at, width=max(20, w - 20)))
    if state.selected:
        lines.append("")
        lines.append(f"selected {clean(state.selected.get('solution_id'), 30)} by {state.selected.get('by')} "
                     f"val={_g(state.selected.get('val_score'))}")
    if state.grade:
        g = state.grade
        lines.append(f"graded: test score {_g(g.get('score'))} · {medal_words(g)}")
    lines.append("")
    lines.append(c("1", "recent events"))
    for r in recent:
        stamp = time.strftime("%H:%M:%S", time.localtime(r.ts))
        head = f"{stamp} {r.seq:>6} {clean(r.trace_id or '-', 4):<4} {r.type:<19} "
        lines.append(head + _fit(clean(r.what), w - len(head)))
    if state.is_finished:
        lines.append("")
        lines.append(c("1", f"run finished: {status}"))
    return "\n".join(lines) + "\n"


class RunWatcher:
    """Follows one run in a store: each :meth:`poll` folds only the events appended since the last."""

    def __init__(self, store: EventStore, run_id: str, *, keep: int = 12) -> None:
        self.store = store
        self.run_id = run_id
        self.state = RunState(run_id=run_id)
        self.recent: deque[Recent] = deque(maxlen=keep)
        self.polls = 0
        self.events_read = 0
        self.elapsed_at: dict[int, float] = {}  # seq -> budget time, of experiment requests and outcomes

    def poll(self) -> int:
        """Read and apply new events; return how many there were."""
        n = 0
        for ev in self.store.read(self.run_id, from_seq=self.state.last_seq + 1):
            apply(self.state, ev)
            if ev.type in (EventType.ExecutionRequested, EventType.ExecutionFinished):
                self.elapsed_at[ev.seq] = self.state.spent_s
            self.recent.append(Recent(ev.seq, ev.ts, ev.trace_id, ev.type, describe(ev)))
            n += 1
        self.polls += 1
        self.events_read += n
        return n

    def frame(self, *, width: int = 100, color: bool = False, now: float | None = None) -> str:
        return render_frame(self.state, list(self.recent), width=width, color=color, now=now,
                            elapsed_at=self.elapsed_at)


def watch(watcher: RunWatcher, out: TextIO, *, interval: float = 1.0, once: bool = False,
          width: int = 100, color: bool = False, clear: bool = False,
          clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> RunState:
    """Print frames until the run finishes (or once); redraw only when new events arrived."""
    watcher.poll()
    graded_wait = True
    while True:
        if watcher.state.is_finished and watcher.state.grade is None and graded_wait and not once:
            # the grade is appended just after RunFinished: give it one interval to arrive
            graded_wait = False
            sleep(interval)
            watcher.poll()
        out.write((CLEAR if clear else "") + watcher.frame(width=width, color=color, now=clock()))
        out.flush()
        if once or watcher.state.is_finished:
            return watcher.state
        while True:
            sleep(interval)
            # a terminal redraws every tick (the idle clock moves); a pipe gets a frame per change
            if watcher.poll() or clear:
                break
