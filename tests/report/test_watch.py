"""`gome watch` against a run another process is driving, and the pure frame renderer."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome_es.analysis.views import run_summary
from gome_es.core.state import RunState, apply, fold
from gome_es.report.watch import RunWatcher, render_frame, watch
from gome_es.store import EventStore

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}


def _gome(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gome_es", *args], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_traces(db: Path, run_id: str, driver: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, driver.communicate()
        if db.exists():
            try:
                with EventStore.open(db, readonly=True) as store:
                    if any(True for _ in store.read(run_id, types=["TraceStarted"])):
                        return
            except Exception:  # the writer may still be creating the schema
                pass
        time.sleep(0.1)
    raise AssertionError(f"the driver wrote no TraceStarted for {run_id} in {timeout}s")


@pytest.mark.integration
def test_watch_follows_a_run_driven_by_another_process(tmp_path):
    db, rid = tmp_path / "gome.db", "live"
    driver = subprocess.Popen([sys.executable, "-m", "tests.report.driver", str(db), rid, "1.0", "2"],
                              cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_traces(db, rid, driver)
        follower = _gome("watch", rid, "--db", str(db), "--interval", "0.2")
        once = _gome("watch", rid, "--db", str(db), "--once")
        out, err = once.communicate(timeout=60)
        assert once.returncode == 0, err
        assert "gome watch · run live" in out and "budget" in out and "recent events" in out
        rows = [line for line in out.splitlines() if line.startswith(("t1 ", "t2 "))]
        assert len(rows) == 2, out
        assert driver.wait(timeout=120) == 0, driver.stderr.read()
        fout, ferr = follower.communicate(timeout=30)  # exits by itself once the run finished
    finally:
        for p in (driver,):
            if p.poll() is None:
                p.kill()
    assert follower.returncode == 0, ferr
    frames = fout.count("gome watch · run live")
    assert frames > 1, fout  # redrawn as the other process appended events
    last = fout.split("gome watch · run live")[-1]
    assert "run finished: completed" in last and "done:max_iterations" in last


@pytest.mark.integration
def test_poll_reads_only_new_events_and_matches_a_full_fold(runs):
    with EventStore.open(runs["db"], readonly=True) as store:
        full = fold(store.read(runs["a"]), runs["a"])
        w = RunWatcher(store, runs["a"], keep=5)
        first = w.poll()
        assert first == full.last_seq and w.poll() == 0 and w.events_read == full.last_seq
        assert run_summary(w.state) == run_summary(full)
        assert [r.seq for r in w.recent] == list(range(full.last_seq - 4, full.last_seq + 1))
        buf = io.StringIO()
        watch(w, buf, interval=0.01)  # finished run: one frame and return
        assert buf.getvalue().count("gome watch") == 1 and "run finished: completed" in buf.getvalue()


@pytest.mark.integration
def test_frame_strips_terminal_escapes_from_log_text(runs):
    # run-a's directions and hypotheses carry ESC[2J and markup
    with EventStore.open(runs["db"], readonly=True) as store:
        w = RunWatcher(store, runs["a"], keep=50)
        w.poll()
    text = w.frame(width=160)
    # the whole sequence is removed (one sanitizer, gome_es.trust.text); the text around it stays
    assert "\x1b" not in text and "[2J" not in text and "&amp;" not in text and "& \"quoted\"" in text
    colored = w.frame(width=160, color=True)
    assert colored.count("\x1b[0m") > 0  # colour is on: the pair check below is not 0 == 0
    assert colored.count("\x1b[") == 2 * colored.count("\x1b[0m")  # only our own SGR pairs


def test_empty_run_renders():
    text = render_frame(RunState(run_id="r"), [], width=80)
    assert "run r" in text and "no trace started yet" in text


@pytest.mark.integration
def test_watch_refuses_an_unknown_run(runs):
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    res = CliRunner().invoke(cli, ["watch", "nope", "--once", "--db", str(runs["db"])])
    assert res.exit_code == 2 and "nope" in res.output and "gome runs" in res.output
    res = CliRunner().invoke(cli, ["watch", runs["b"], "--once", "--db", str(runs["db"])])
    assert res.exit_code == 0 and res.output.count("gome watch · run run-b") == 1


def test_every_frame_fits_its_width_and_names_the_metric_and_its_direction():
    """The recorded breast-cancer run watched near its start, in its middle and at its end, at 60, 80 and 100 columns: no line
    is longer than the width, no number is cut, and the metric and its direction are shown."""
    from gome_es.api.sources import source_from_export
    from gome_es.report.watch import Recent, describe

    fix = ROOT / "tests" / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
    events = list(source_from_export(fix).events)
    long_id = "cell-" + "x" * 90
    for upto in (12, len(events) // 2, len(events)):
        state = RunState(run_id=long_id)
        w = RunWatcher(None, long_id)
        for ev in events[:upto]:
            apply(state, ev)
            w.elapsed_at[ev.seq] = state.spent_s
        recent = [Recent(e.seq, e.ts, e.trace_id, e.type, describe(e)) for e in events[max(0, upto - 12):upto]]
        for width in (60, 80, 100):
            text = render_frame(state, recent, width=width, now=events[upto - 1].ts + 5, elapsed_at=w.elapsed_at)
            lines = text.splitlines()
            too_long = [x for x in lines if len(x) > width and long_id not in x]
            assert not too_long, (width, too_long)
            assert any(x == f"gome watch · run {long_id}" for x in lines)  # the id whole, on its own line
            assert "auc_roc (higher is better)" in text
            whats = {str(r.seq): r.what for r in recent}
            for line in lines:  # an event cut to the width never cuts a number in two
                parts = line.split(None, 4)
                if line.endswith("…") and len(parts) == 5 and parts[1] in whats:
                    shown, full = parts[4][:-1], whats[parts[1]]
                    assert full.startswith(shown), (line, full)
                    assert not (shown[-1:] in "0123456789." and full[len(shown)].isdigit()), (line, full)
