"""The project's one exception tree.

Every error raised on purpose by gome-es derives from :class:`GomeError`.  Its
message says what happened, names the identifiers involved (run, seq, trace,
file) and what the user can do next.  The CLI turns these into clean messages
and exit codes; nothing else catches them silently.
"""

from __future__ import annotations


class GomeError(Exception):
    """Root of all errors gome-es raises deliberately."""

    exit_code = 2


class StoreError(GomeError):
    """The event store cannot be opened, read or written."""


class NotAGomeDatabase(StoreError):
    pass


class SchemaTooNew(StoreError):
    pass


class ConcurrencyConflict(StoreError):
    """Another writer appended to the run first (the expected seq is stale)."""


class RunNotFound(StoreError):
    pass


class SweepIsNotARun(RunNotFound):
    """An id names a sweep where a run was expected: a sweep's stream holds its plan, not a run."""


class RunExists(StoreError):
    pass


class ChainBroken(StoreError):
    """The hash chain or a row check failed; names the first bad seq.

    Raised by the chain checker (``store/chain.py``) with ``seq`` and ``reason`` set: the bad row
    and what is wrong with it, which the store's callers put into their own message.
    """

    exit_code = 1

    def __init__(self, message: str, *, seq: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.seq = seq
        self.reason = reason


class DiskTrouble(StoreError):
    """A write failed because of the disk (full, I/O error); nothing partial was kept."""


class LeaseHeld(GomeError):
    """A live process already drives this run."""


class EventError(GomeError):
    """An event cannot be decoded, upcast or validated."""


class UnknownEventType(EventError):
    pass


class IllegalTransition(GomeError):
    """An event is not allowed in the trace's current phase."""


class TaskError(GomeError):
    pass


class ExecutorError(GomeError):
    pass


class ReasonerError(GomeError):
    pass


class ReplayMissing(ReasonerError):
    """The replay reasoner has no recorded answer for an idempotency key."""


class Divergence(GomeError):
    """Replayed policy derived a different decision than the one recorded."""

    exit_code = 1


class ImportTraceError(GomeError):
    pass
