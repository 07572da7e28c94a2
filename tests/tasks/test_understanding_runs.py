"""Runs on competitions the offline rules do not cover start, and every message fits what
happened: an offline-rules failure is never `llm_unavailable`, a stop names a signal only when
one came, and `gome show` names no submission file where the run has none (issue 23, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gome_es.cli.progress import end_reason, stop_words
from gome_es.core.state import RunState, apply
from gome_es.store import EventStore
from tests.tasks import understanding_layouts as layouts

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
WHALE = "the-icml-2013-whale-challenge-right-whale-redux"


def _gome(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gome_es", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def whale_run(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("runs")
    layouts.make(root / "data", only=[WHALE])
    db = root / "g.db"
    res = _gome("run", "--task", f"mlebench:{WHALE}", "--mlebench-data", str(root / "data"), "--traces", "1",
                "--max-iterations", "1", "--budget", "120", "--quiet", "--db", str(db),
                "--workspace", str(root / "w"))
    return db, res.stdout.strip().splitlines()[-1], res


@pytest.mark.integration
def test_an_audio_competition_starts_and_ends_with_a_valid_submission(whale_run) -> None:
    db, run_id, res = whale_run
    assert res.returncode == 0, res.stderr  # the offline rules cover audio since the media solutions
    store = EventStore.open(db)
    events = list(store.read(run_id))
    started = events[0].payload
    assert started["task"]["understanding"]["modality"] == "audio"
    assert started["task"]["public_files"]  # the LLM would be shown the listing
    graded = next(e.payload for e in events if e.type == "SubmissionGraded")
    assert graded["report"]["valid_submission"] is True
    for words in ("llm_unavailable", "Ctrl-C", "SIGTERM", "once the endpoint answers"):
        assert words not in res.stderr, words


def test_show_names_no_submission_of_a_run_that_has_none(tmp_path) -> None:
    from click.testing import CliRunner

    from gome_es.cli.main import cli
    from gome_es.core.events import validate_payload
    from gome_es.store import NewEvent
    from tests.support.synthetic import synthesize

    run = synthesize(2, run_id="none-valid", traces=1, max_iterations=2, fail_rate=1.0, code_size=40, log_size=10)
    assert run.state is not None and run.state.is_finished and run.state.best_solution() is None
    with EventStore.open(tmp_path / "g.db", validator=validate_payload) as store:
        store.append("none-valid", [NewEvent(e.type, e.payload, e.trace_id, e.ts, e.schema_version)
                                    for e in run.events], 0, blobs=run.blobs)
    shown = CliRunner().invoke(cli, ["show", "none-valid", "--db", str(tmp_path / "g.db")])
    assert shown.exit_code == 0 and "submission:" not in shown.output, shown.output


# ------------------------------------------------------------------ stops, in words


@pytest.fixture(scope="module")
def mid_run() -> RunState:
    """A real run's log folded to its 30th event: not finished, nothing recorded about a stop."""
    fixture = REPO / "tests" / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore.open(Path(tmp) / "g.db")
        run_id = store.import_run(fixture)
        state = RunState(run_id=run_id)
        for ev in list(store.read(run_id))[:30]:
            apply(state, ev)
    return state


def _stopped(state: RunState, **stop) -> RunState:
    import copy

    st = copy.deepcopy(state)
    st.stops.append({"seq": st.last_seq, **stop})
    return st


def test_a_stop_is_described_by_what_the_log_records(mid_run) -> None:
    killed = end_reason(mid_run)
    assert "without recording why" in killed and "Ctrl-C" not in killed and "SIGTERM" not in killed
    signal = stop_words(_stopped(mid_run, cause="signal", reason="signal SIGTERM"))
    assert "(signal SIGTERM)" in signal
    old = stop_words(_stopped(mid_run, reason="signal SIGINT"))  # logs from before `cause`: signals
    assert "(signal SIGINT)" in old
    rules = stop_words(_stopped(mid_run, cause="offline_rules", reason="offline_rules: the rules do not cover 'audio'"))
    assert "offline rules" in rules and "audio" in rules and "SIG" not in rules and "Ctrl-C" not in rules
    endpoint = stop_words(_stopped(mid_run, cause="llm_unavailable", reason="llm_unavailable: 3 calls failed"))
    assert "endpoint" in endpoint and "SIG" not in endpoint
    requested = stop_words(_stopped(mid_run, cause="stop_requested", reason="a stop was requested (no signal)"))
    assert "SIG" not in requested and "Ctrl-C" not in requested
