"""The classifier on real CUDA failure output (fixtures captured on an H100)
and on the metrics / traceback contracts.  Pure: no processes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gome_es.executor import FailureClass, Observation, classify, parse_exception, parse_metrics
from gome_es.executor.gpu import GpuDevice, parse_nvidia_smi_csv, slots_for

OK_METRICS = json.dumps({"val_score": 0.91})


def _obs(case: dict, **kw) -> Observation:
    return Observation(exit_code=case["rc"], stdout=case.get("stdout", ""), stderr=case.get("stderr", ""), **kw)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("oom", FailureClass.cuda_oom),
        ("device_assert", FailureClass.cuda_fault),
        # Caught in Python, exit 0, yet the context is poisoned: still a fault.
        ("after_assert_same_process", FailureClass.cuda_fault),
        ("nan_loss", FailureClass.nan_metric),
        ("no_gpu_visible", FailureClass.no_gpu),
    ],
)
def test_fixture_failures_are_classified(gpu_failures, case, expected):
    verdict = classify(_obs(gpu_failures[case], submission_present=True))
    assert verdict.failure is expected, verdict
    assert verdict.detail


def test_cuda_oom_keeps_the_exception(gpu_failures):
    verdict = classify(_obs(gpu_failures["oom"]))
    assert verdict.exception is not None
    assert verdict.exception.type == "torch.OutOfMemoryError"
    assert "Tried to allocate 9313.23 GiB" in verdict.exception.message
    assert verdict.exception.frames == ["<string>:3 in <module>"]


def test_device_assert_detail_names_the_error(gpu_failures):
    verdict = classify(_obs(gpu_failures["device_assert"]))
    assert "device-side assert" in verdict.detail or "Assertion" in verdict.detail
    assert verdict.exception.type == "torch.AcceleratorError"
    assert verdict.exception.frames[-1].endswith("in synchronize")


def test_kill9_during_allocation_is_killed(gpu_failures):
    case = gpu_failures["kill9_during_allocation"]
    verdict = classify(Observation(exit_code=case["rc"]))
    assert verdict.failure is FailureClass.killed
    assert "SIGKILL" in verdict.detail


def test_successful_fixture_runs_are_ok(gpu_failures):
    for name in ("cuda_init_cost", "train_small_mlp"):
        verdict = classify(_obs(gpu_failures[name], metrics_text=OK_METRICS, submission_present=True))
        assert verdict.failure is FailureClass.ok, name
        assert verdict.val_score == 0.91


def test_nvidia_smi_fixture_parses(gpu_failures):
    [dev] = parse_nvidia_smi_csv(gpu_failures["nvidia_smi_csv"])
    assert dev == GpuDevice(index=0, name="NVIDIA H100 80GB HBM3", memory_total_mb=81559, memory_used_mb=0)
    # gpu_share.json: eight 0.4 GB jobs share one H100 without slowing down.
    assert slots_for(dev, slots_per_gpu=8, min_slot_mb=4096) == 8
    assert slots_for(dev, slots_per_gpu=8, min_slot_mb=40000) == 2
    assert slots_for(GpuDevice(index=1, name="small", memory_total_mb=2000), 4, 8192) == 1


def test_timeout_wins_over_everything():
    v = classify(Observation(exit_code=-9, timed_out=True, stderr="CUDA out of memory", timeout_s=5))
    assert v.failure is FailureClass.timeout and "5 s" in v.detail


@pytest.mark.parametrize(
    "stderr, expected",
    [
        ("Traceback (most recent call last):\n  File \"solution.py\", line 2, in <module>\nMemoryError\n",
         FailureClass.host_oom),
        ("RuntimeError: [enforce fail at alloc_cpu.cpp:117] . DefaultCPUAllocator: can't allocate memory",
         FailureClass.host_oom),
        ("CUDA error: an illegal memory access was encountered", FailureClass.cuda_fault),
        ("Traceback (most recent call last):\n  File \"solution.py\", line 9, in fit\n    x = 1/0\n"
         "ZeroDivisionError: division by zero\n", FailureClass.python_exception),
        ("segfault somewhere", FailureClass.nonzero_exit),
    ],
)
def test_stderr_signatures(stderr, expected):
    assert classify(Observation(exit_code=1, stderr=stderr)).failure is expected


@pytest.mark.parametrize(
    "metrics, submission, expected",
    [
        (None, False, FailureClass.missing_submission),
        (None, True, FailureClass.missing_metrics),
        ("{not json", True, FailureClass.invalid_metrics),
        ('{"loss": 1}', True, FailureClass.invalid_metrics),
        ('{"val_score": "high"}', True, FailureClass.invalid_metrics),
        ('{"val_score": NaN}', True, FailureClass.nan_metric),
        ('{"val_score": "nan"}', True, FailureClass.nan_metric),
        ('{"val_score": Infinity}', True, FailureClass.nan_metric),
        ('{"val_score": 0.5}', True, FailureClass.ok),
    ],
)
def test_metrics_contract(metrics, submission, expected):
    v = classify(Observation(exit_code=0, metrics_text=metrics, submission_present=submission))
    assert v.failure is expected
    json.dumps(v.model_dump(mode="json"), allow_nan=False)  # never a NaN float in a result


def test_nan_metric_keeps_raw_value_as_string():
    m = parse_metrics('{"val_score": NaN, "folds": [0.5, Infinity]}')
    assert m.problem is FailureClass.nan_metric
    assert m.values == {"val_score": "nan", "folds": [0.5, "inf"]}


def test_forbidden_access_beats_a_clean_exit():
    v = classify(Observation(exit_code=0, private_access=["open /x/private/answers.csv"], submission_present=True,
                             metrics_text=OK_METRICS))
    assert v.failure is FailureClass.forbidden_access and v.val_score is None


@given(st.dictionaries(st.text(max_size=5), st.one_of(st.floats(), st.integers(), st.text(max_size=5)), max_size=5))
def test_metrics_values_are_always_json_safe(values):
    text = json.dumps(values)  # may contain NaN / Infinity tokens
    m = parse_metrics(text)
    json.dumps(m.values, allow_nan=False)
    if m.val_score is not None:
        assert math.isfinite(m.val_score)


def test_parse_exception_without_traceback_is_none():
    assert parse_exception("just a warning\n") is None
