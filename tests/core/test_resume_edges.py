"""Resume edge cases in-process: disk trouble mid-run, code changed between crash and resume, forks."""

from __future__ import annotations

from pathlib import Path

import pytest

import gome_es.core.policy.contexts as policy_contexts
import gome_es.driver.resume as resume_mod
from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.core.state import fold
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.driver.resume import fork_run
from gome_es.errors import DiskTrouble, Divergence, ReasonerError
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.support.scripted import ScriptedReasoner

TASK = "breast-cancer-diagnosis"


class ArmsDiskFault(ScriptedReasoner):
    """Answers like ScriptedReasoner, but fills the disk right before its n-th answer is stored."""

    def __init__(self, store: EventStore, at_call: int) -> None:
        super().__init__()
        self.store, self.at_call = store, at_call

    def complete(self, request):
        out = super().complete(request)
        if len(self.calls) == self.at_call:
            self.store.faults.arm_disk("full", times=1)
        return out


def _start(tmp_path: Path, **cfg) -> tuple[EventStore, str, object]:
    store = EventStore.open(tmp_path / "g.db")
    task = load_task(TASK)
    rid = start_run(store, task, RunConfig(**{"traces": 2, "max_iterations": 2, "budget_s": 1800, **cfg}),
                    ReasonerConfig(kind="offline", model="scripted"), run_id="r")
    return store, rid, task


def _opts(tmp_path: Path, **kw) -> DriveOptions:
    return DriveOptions(workspace_root=tmp_path / "work", slots=2, **kw)


@pytest.mark.integration
def test_disk_full_during_an_append_keeps_no_partial_event_and_resume_finishes(tmp_path) -> None:
    store, rid, task = _start(tmp_path)
    reasoner = ArmsDiskFault(store, at_call=3)
    with pytest.raises(DiskTrouble, match="disk is full"):
        drive(store, rid, task=task, reasoner=reasoner, options=_opts(tmp_path))
    assert store.verify(rid).ok
    state = fold(store.read(rid), rid)
    assert len(state.pending_llm()) >= 1, "the answers whose append failed were not kept"
    before = state.last_seq
    final = drive(store, rid, task=task, reasoner=ScriptedReasoner(), options=_opts(tmp_path), resuming=True)
    assert final.is_finished and final.grade is not None and store.verify(rid).ok
    assert final == fold(store.read(rid), rid), "the state kept current while driving is the log's fold"
    resumed = list(store.read(rid, types=["RunResumed"]))
    assert resumed[0].seq == before + 1, "resume starts right after the last event that made it to disk"


@pytest.mark.parametrize("override", [
    {"kind": "openai", "model": "gpt-4o-mini"},  # no API key in the environment
    {"kind": "replay"},  # no --replay-from
])
def test_resume_with_a_reasoner_that_cannot_be_built_appends_nothing(tmp_path, monkeypatch, override) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    store, rid, task = _start(tmp_path)
    before = store.head(rid)
    for _ in range(2):  # each try fails the same way, and none leaves an event behind
        with pytest.raises(ReasonerError):
            drive(store, rid, task=task, options=_opts(tmp_path), resuming=True,
                  overrides={"reasoner": override})
        assert store.head(rid) == before
    assert not list(store.read(rid, types=["RunResumed"]))


@pytest.mark.integration
def test_changed_code_that_decides_differently_is_refused_then_forked_or_forced(tmp_path, monkeypatch) -> None:
    store, rid, task = _start(tmp_path, max_iterations=3)
    reasoner = ScriptedReasoner()
    # run part of the way: the driver dies when iteration 1 asks for code
    drive_opts = _opts(tmp_path)

    class StopAfterPropose(ScriptedReasoner):
        def complete(self, request):
            if request.purpose == "code" and "/it1/" in request.key:
                raise KeyboardInterrupt  # simulate the driver dying mid-run
            return super().complete(request)

    with pytest.raises(KeyboardInterrupt):
        drive(store, rid, task=task, reasoner=StopAfterPropose(), options=drive_opts)
    state = fold(store.read(rid), rid)
    first_structured = next(e for e in store.read(rid, types=["HypothesisProposed"]) if e.payload["structured"])

    # "new code": another version string, and a policy that draws differently
    monkeypatch.setattr(resume_mod, "code_version", lambda: "9.9.9+changed")
    monkeypatch.setattr(policy_contexts, "derive_seed", lambda *parts: 12345)
    with pytest.raises(Divergence) as exc:
        drive(store, rid, task=task, reasoner=reasoner, options=drive_opts, resuming=True)
    msg = str(exc.value)
    assert "gome fork r --at" in msg and "--force" in msg and "9.9.9+changed" in msg
    assert fold(store.read(rid), rid).last_seq == state.last_seq, "a refused resume writes nothing"

    # fork from before the divergence and continue under the new code: allowed
    at = int(msg.split("--at ")[1].split("`")[0])
    # every seeded decision changes; the first is the directions request at seq 2 (its context holds a seed)
    assert at == 1 and first_structured.seq > at
    fork = fork_run(store, rid, at, "r-fork")
    forked = fold(store.read(fork), fork)
    assert forked.forked_from == {"run_id": rid, "seq": at}

    # or force it
    final = drive(store, rid, task=task, reasoner=reasoner, options=_opts(tmp_path, force=True), resuming=True)
    assert final.is_finished
    resumed = list(store.read(rid, types=["RunResumed"]))
    assert resumed[-1].payload["forced"] is True and resumed[-1].payload["previous_code_version"] != "9.9.9+changed"


@pytest.mark.integration
def test_fork_continues_live_with_another_configuration(tmp_path) -> None:
    store, rid, task = _start(tmp_path)
    drive(store, rid, task=task, reasoner=ScriptedReasoner(), options=_opts(tmp_path))
    first_hyp = next(store.read(rid, types=["HypothesisProposed"]))
    fork = fork_run(store, rid, first_hyp.seq, "what-if")
    final = drive(store, fork, task=task, reasoner=ScriptedReasoner(bias=1.5), options=_opts(tmp_path),
                  resuming=True, overrides={"config": {"max_iterations": 3}})
    assert final.is_finished and final.config.max_iterations == 3
    resumed = list(store.read(fork, types=["RunResumed"]))
    assert resumed[0].payload["cause"] == "fork" and resumed[0].payload["overrides"]["config"]["max_iterations"] == 3
    assert store.verify(fork).ok
    assert [e.payload for e in store.read(fork, to_seq=first_hyp.seq)][1:] == \
           [e.payload for e in store.read(rid, to_seq=first_hyp.seq)][1:]
