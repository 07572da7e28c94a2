"""Plain words for every code the CLI and the report show: one table, read by both.

A verdict like ``rejected: beats_sota`` reads as its opposite (it means the step
ran cleanly but did not beat its trace's best); ``m0``, ``c1`` and ``[no problem
visible]`` are never explained where they appear.  :data:`GLOSSARY` says what
each means, :func:`verdict_words` turns a recorded verdict into a phrase, and
the report's glossary section and ``docs/report.md`` list the same entries.

Pure: strings in, strings out.
"""

from __future__ import annotations

from ..core.vocabulary import FailureClass, ValidationLevel

# Why a step was rejected: the first validation level it failed, as a phrase that completes
# "rejected: ...".
LEVEL_WORDS: dict[str, str] = {
    ValidationLevel.ran_cleanly.value: "the solution crashed or was stopped",
    ValidationLevel.submission_exists.value: "it wrote no submission file",
    ValidationLevel.format_matches.value: "its submission does not match the sample's format",
    ValidationLevel.score_valid.value: "it reported no valid validation score",
    ValidationLevel.no_hidden_access.value: "it read data it must not see (the hidden test labels)",
    ValidationLevel.beats_sota.value: "ran fine but did not beat the trace's best so far",
}

# How an execution ended (FailureClass), as a phrase.
FAILURE_WORDS: dict[str, str] = {
    FailureClass.ok.value: "ran to the end",
    FailureClass.timeout.value: "hit the time limit for one execution",
    FailureClass.host_oom.value: "ran out of host memory",
    FailureClass.cuda_oom.value: "ran out of GPU memory",
    FailureClass.cuda_fault.value: "the GPU failed",
    FailureClass.no_gpu.value: "asked for a GPU that is not there",
    FailureClass.missing_submission.value: "exited cleanly without writing a submission",
    FailureClass.invalid_submission.value: "wrote a submission in the wrong format",
    FailureClass.killed.value: "was killed by a signal nobody sent on purpose (SIGKILL, a segfault)",
    FailureClass.forbidden_access.value: "tried to read private answers or reach the network",
    FailureClass.python_exception.value: "raised an uncaught Python exception",
    FailureClass.nonzero_exit.value: "exited with an error status (no Python traceback)",
    FailureClass.disk_limit.value: "wrote more to disk than its workspace allows",
    FailureClass.nan_metric.value: "reported a validation score that is not a number",
    FailureClass.missing_metrics.value: "reported no metrics",
    FailureClass.invalid_metrics.value: "reported metrics that cannot be read",
    FailureClass.sandbox_error.value: "the executor could not start it",
    FailureClass.driver_killed.value: "the agent died during every attempt to run it",
    FailureClass.budget_cut.value: "the run's budget ran out",
}

# Short codes shown in tables and timelines.
CODE_WORDS: dict[str, str] = {
    "t1, t2, ...": "a trace: one line of search started from its own direction, improving its own best",
    "i0, i1, ...": "an iteration of a trace: one hypothesis, its code and its verdict (counted from 0, as in "
                   "the solution id t1-i2-a0); \"3/4 done\" counts the iterations finished",
    "a0, a1, ...": "an attempt within an iteration: a0 is the first code, a1 and on are debug attempts",
    "t1-i2-a0": "a solution id: trace t1, iteration 2, attempt 0",
    "c0, c1, ...": "a candidate hypothesis; \"drew c1 of 5\" means the second of five candidates was chosen",
    "m0, m1, ...": "the version of success memory a hypothesis was proposed with: m0 before any lesson "
                   "was recorded, m3 after three",
    "no problem visible": "the reviewer looked at the output and named no problem (shown as nothing)",
    "SOTA": "state of the art within a trace: its best accepted solution so far",
    "accepted": "passed every validation level: ran, wrote a valid submission, beat the trace's best",
    "first divergence": "the earliest step where two runs decided differently",
}


def short_verdict(accepted: bool | None, first_failure: str | None, failure: str | None = None) -> str:
    """A verdict for a narrow table column: ``accepted``, ``not better than best``, ``rejected: <code>``
    (the codes explained by :func:`glossary`)."""
    if accepted is None:
        return f"failed: {failure}" if failure not in (None, FailureClass.ok) else "not judged"
    if accepted:
        return "accepted"
    if first_failure == ValidationLevel.beats_sota.value:
        return "not better than best"
    return f"rejected: {first_failure}"


def level_words(level: str | None) -> str:
    """A validation level as a phrase; an unknown code as itself."""
    if level is None:
        return "no reason recorded"
    return LEVEL_WORDS.get(str(level), str(level))


def failure_words(failure: str | None) -> str:
    if failure is None:
        return "not run"
    return FAILURE_WORDS.get(str(failure), str(failure))


def verdict_words(accepted: bool | None, first_failure: str | None, failure: str | None = None) -> str:
    """``accepted``, ``rejected: <why>`` or ``failed: <why>``, in words, the code in brackets."""
    if accepted is None:
        if failure not in (None, FailureClass.ok):
            return f"failed: {failure_words(failure)} [{failure}]"
        return "not judged"
    if accepted:
        return "accepted"
    return f"rejected: {level_words(first_failure)} [{first_failure}]"


def glossary() -> list[tuple[str, str]]:
    """Every entry, in the order the report's glossary lists them: codes, verdicts, failures."""
    out = list(CODE_WORDS.items())
    out += [(f"rejected [{k}]", v) for k, v in LEVEL_WORDS.items()]
    out += [(f"failed [{k}]", v) for k, v in FAILURE_WORDS.items() if k != FailureClass.ok.value]
    return out
