"""The driver's effect adapters, called directly with real executor results and a real task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gome_es.core.reasoner import LlmRequest, LlmResponse
from gome_es.core.state import ExecCall, LlmCall
from gome_es.driver import effects
from gome_es.errors import ReasonerError, ReplayMissing
from gome_es.executor.spec import ExecutionResult
from gome_es.tasks import load_task

TASK = "breast-cancer-diagnosis"
CALL = ExecCall(key="t1/it0/exec/0", trace_id="t1", solution_id="t1-i0-a0", request_seq=5, request={})


def result(tmp_path: Path, submission: pd.DataFrame | None, failure: str = "ok") -> ExecutionResult:
    sub = None
    if submission is not None:
        sub = tmp_path / "submission.csv"
        submission.to_csv(sub, index=False)
    return ExecutionResult(key=CALL.key, failure=failure, exit_code=0, workspace=tmp_path, val_score=0.9,
                           submission_path=sub)


def test_an_ok_run_with_a_submission_that_matches_stays_ok(tmp_path) -> None:
    task = load_task(TASK)
    sample = pd.read_csv(task.sample_submission_path)
    ev, trace_id, blobs = effects.finished_outcome(task, CALL, result(tmp_path, sample), redo=False)
    assert ev.failure == "ok" and ev.submission_check["valid"] and trace_id == "t1"
    assert ev.submission_sha in blobs


def test_an_ok_run_whose_submission_does_not_match_is_an_invalid_submission(tmp_path) -> None:
    task = load_task(TASK)
    bad = pd.read_csv(task.sample_submission_path).iloc[:3]
    ev, _, _ = effects.finished_outcome(task, CALL, result(tmp_path, bad), redo=True)
    assert ev.failure == "invalid_submission" and not ev.submission_check["valid"] and ev.redone
    # a run that already failed keeps its own class, whatever its submission
    ev, _, _ = effects.finished_outcome(task, CALL, result(tmp_path, bad, "nan_metric"), redo=False)
    assert ev.failure == "nan_metric"


def test_no_submission_is_recorded_as_such(tmp_path) -> None:
    ev, _, _ = effects.finished_outcome(load_task(TASK), CALL, result(tmp_path, None, "missing_submission"), False)
    assert ev.submission_sha is None and ev.submission_check == {"valid": False, "reasons": ["no submission.csv"]}


class Failing:
    name, model = "failing", "m"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def complete(self, request: LlmRequest) -> LlmResponse:
        raise self.exc


def test_a_reasoner_error_is_feedback_but_a_missing_replay_answer_is_not() -> None:
    req = LlmRequest(key="k", purpose="propose", schema_name="ProposalOut", messages=[], model="m")
    resp = effects.ask(Failing(ReasonerError("rate limited")), req)
    assert resp.content is None and resp.error == "rate limited" and resp.model == "m"
    with pytest.raises(ReplayMissing):
        effects.ask(Failing(ReplayMissing("no answer recorded")), req)
    call = LlmCall(key="k", trace_id="t1", purpose="propose", request_seq=3, request={"model": "m"})
    ev, trace_id, blobs = effects.llm_outcome(call, resp, 0.25)
    assert ev.content_sha is None and ev.error == "rate limited" and ev.latency_s == 0.25 and blobs == {}
