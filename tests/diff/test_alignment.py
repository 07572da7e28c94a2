"""diff_runs on synthetic runs built from the event models: alignment and what counts as a difference."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from gome_es.analysis.diff import RunSource, diff_runs
from gome_es.core.events import RunResumed
from gome_es.errors import GomeError
from gome_es.store import NewEvent

from .synth import Synth, event_rows, synth_run


def source(s: Synth, run_id: str, drop_blobs: frozenset[str] = frozenset()) -> RunSource:
    def read(sha: str) -> bytes:
        if sha in drop_blobs or sha not in s.blobs:
            raise GomeError(f"blob {sha} missing")
        return s.blobs[sha]

    return RunSource(run_id, "memory", event_rows(s, run_id), read)


def test_honest_rerecording_with_other_interleaving_is_the_same():
    a = synth_run(traces=3, iterations=3, memory=False, fail={("t2", 1)})
    b = synth_run(traces=3, iterations=3, memory=False, fail={("t2", 1)}, jitter=7, shuffle=True)
    assert [e.trace_id for e in a.events] != [e.trace_id for e in b.events]
    def ctx(s):
        return [e.payload["context_sha"] for e in s.events if e.type == "LLMRequested"]
    assert ctx(a) != ctx(b)  # prompts quote volatile durations: blobs differ by sha
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert report.same, [d.to_json() for d in report.differences[:3]]
    starts = sum(e.type == "ExecutionStarted" for e in a.events)
    assert starts == 10 and report.steps_compared == len(a.events) - starts  # operational: not aligned


def test_divergence_is_found_at_its_trace_iteration_and_stage():
    a = synth_run(traces=2, iterations=4)
    b = synth_run(traces=2, iterations=4, jitter=1, diverge=("t2", 2))
    report = diff_runs(source(a, "a"), source(b, "b"))
    first = report.first_divergence
    assert (first.key.trace, first.key.iteration, first.key.stage) == ("t2", 2, "LLMResponded[propose]")
    assert {d.key.trace for d in report.differences if d.key.iteration is not None} == {"t2"}
    assert all(d.key.iteration is None or d.key.iteration >= 2 for d in report.differences)
    hyp = next(d for d in report.differences if d.key.stage == "HypothesisProposed")
    assert hyp.hypothesis["a"] == "t2 it2: scale C by 2" and hyp.hypothesis["b"] == "t2 it2: scale C by 3.4"
    run = next(d for d in report.differences if d.key.stage == "ExecutionFinished")
    assert run.score["delta"] > 0 and run.score["a"] < run.score["b"]
    code = next(d for d in report.differences if d.key.stage == "CodeGenerated")
    assert any(line.startswith("-model_0 =") for line in code.code["diff"])
    assert code.code["diff_lines"] > 100 and len(code.code["diff"]) <= 400
    # the reverse diff is the mirror image
    back = diff_runs(source(b, "b"), source(a, "a"))
    assert [d.key for d in back.differences] == [d.key for d in report.differences]


def test_an_extra_debug_attempt_shows_as_steps_one_run_took():
    a = synth_run(traces=2, iterations=2)
    b = synth_run(traces=2, iterations=2, fail={("t1", 1)})
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert (report.first_divergence.key.trace, report.first_divergence.key.stage) == ("t1", "LLMResponded[code]")
    only_b = [d.key for d in report.differences if d.status == "only_b"]
    assert only_b and all(k.attempt == 1 and k.iteration == 1 for k in only_b)
    assert [k.stage for k in only_b][:3] == ["LLMRequested[debug]", "LLMResponded[debug]", "CodeGenerated"]
    # placed right after the step b took before them, not at the end
    stages = [d.key for d in report.differences]
    assert stages.index(only_b[0]) < stages.index(next(k for k in stages if k.stage == "TraceFinished"))


def _edit(s: Synth, type_: str, **changes) -> Synth:
    events = list(s.events)
    i = next(i for i, e in enumerate(events) if e.type == type_)
    events[i] = replace(events[i], payload={**events[i].payload, **changes})
    return Synth(events, s.blobs)


def test_only_declared_volatile_fields_are_ignored():
    a = synth_run(traces=1, iterations=2)
    assert diff_runs(source(a, "a"), source(_edit(a, "ExecutionFinished", duration_s=1e6, peak_rss_mb=1.0,
                                                  workspace="/elsewhere"), "b")).same
    assert diff_runs(source(a, "a"), source(_edit(a, "LLMResponded", latency_s=99.0), "b")).same
    changed = diff_runs(source(a, "a"), source(_edit(a, "ExecutionFinished", exit_code=3), "b"))
    assert not changed.same
    assert changed.first_divergence.fields == [{"path": "exit_code", "a": 0, "b": 3, "class": "outcome"}]
    costlier = diff_runs(source(a, "a"), source(_edit(a, "LLMResponded", cost_usd=5.0), "b"))
    assert not costlier.same and costlier.b["summary"]["cost_usd"] > costlier.a["summary"]["cost_usd"]


def test_provenance_and_operational_events_are_shown_not_counted():
    a = synth_run(traces=2, iterations=2)
    b = _edit(a, "RunStarted", code_version="other-version")
    extra = [NewEvent("RunResumed", RunResumed(cause="crash", gap_s=3.0, code_version="x").payload()),
             NewEvent("ExecutionStarted",
                      {**next(e.payload for e in a.events if e.type == "ExecutionStarted"), "pid": 4242},
                      trace_id="t1")]
    at = next(i for i, e in enumerate(b.events) if e.type == "ExecutionStarted")
    b = Synth(b.events[:at + 1] + extra + b.events[at + 1:], b.blobs)
    report = diff_runs(source(a, "a"), source(b, "b"))
    assert report.same
    assert report.provenance == [{"type": "RunStarted", "field": "code_version", "a": "synthetic",
                                  "b": "other-version"}]
    assert report.b["operational"] == {"RunResumed": 1, "ExecutionStarted": 5}
    assert report.a["operational"] == {"ExecutionStarted": 4}


def test_upcast_old_execution_finished_compares_equal_to_the_current_shape():
    a = synth_run(traces=1, iterations=1)
    events = list(a.events)
    i = next(i for i, e in enumerate(events) if e.type == "ExecutionFinished")
    old = dict(events[i].payload)
    old["status"] = old.pop("failure")
    old.pop("submission_check")
    events[i] = replace(events[i], payload=old, schema_version=1)
    assert diff_runs(source(a, "a"), source(Synth(events, a.blobs), "b")).same


def test_unreadable_blob_is_reported_not_fatal():
    a = synth_run(traces=1, iterations=2)
    b = synth_run(traces=1, iterations=2, diverge=("t1", 1))
    code_b = {e.payload["code_sha"] for e in b.events if e.type == "CodeGenerated"}
    report = diff_runs(source(a, "a"), source(b, "b", drop_blobs=frozenset(code_b)))
    code = next(d for d in report.differences if d.key.stage == "CodeGenerated")
    assert code.code["note"] == "blob unavailable on the b side"


@settings(max_examples=15, deadline=None)
@given(traces=st.integers(1, 3), iterations=st.integers(1, 3), jitter=st.integers(0, 5),
       diverge_it=st.one_of(st.none(), st.integers(0, 2)))
def test_self_diff_is_same_and_divergence_never_precedes_its_point(traces, iterations, jitter, diverge_it):
    a = synth_run(traces=traces, iterations=iterations)
    assert diff_runs(source(a, "a"), source(a, "a2")).same
    diverge = ("t1", diverge_it) if diverge_it is not None else None
    b = synth_run(traces=traces, iterations=iterations, jitter=jitter, diverge=diverge)
    report = diff_runs(source(a, "a"), source(b, "b"))
    if diverge is None or diverge_it >= iterations:
        assert report.same
    else:
        first = report.first_divergence
        assert (first.key.trace, first.key.iteration) == ("t1", diverge_it)
