"""Fault injection for crash and disk-failure campaigns.

Two environment variables, read on every append so a test can set and clear
them in-process:

``GOME_CRASH_AFTER_SEQ=k``
    right after the commit that makes seq ``k`` durable (in any run), the
    process sends itself SIGKILL: the harshest crash, no cleanup, no flush.
``GOME_FAULT_DISK=full|ioerror``
    every append fails inside its transaction, after its rows were written,
    with the error SQLite raises for a full disk ("database or disk is full")
    or an I/O error ("disk I/O error").  The store rolls back and raises
    :class:`~gome_es.errors.DiskTrouble`.  Unset it and appends work again.

Tests can instead arm :attr:`EventStore.faults` (a :class:`FaultPlan`) for a
set number of appends.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from dataclasses import dataclass

DISK_MESSAGES = {"full": "database or disk is full", "ioerror": "disk I/O error"}


@dataclass
class FaultPlan:
    disk: str | None = None  # "full" | "ioerror"
    disk_times: int = 0  # appends left to fail; the env variable needs none

    def arm_disk(self, kind: str, times: int = 1) -> None:
        if kind not in DISK_MESSAGES:
            raise ValueError(f"unknown disk fault {kind!r}; use one of {sorted(DISK_MESSAGES)}")
        self.disk, self.disk_times = kind, times

    def disk_fault_now(self) -> None:
        """Raise SQLite's own error if a disk fault is armed (call inside the transaction)."""
        kind = os.environ.get("GOME_FAULT_DISK") or None
        if kind is None and self.disk and self.disk_times > 0:
            self.disk_times -= 1
            kind = self.disk
        if kind is None:
            return
        if kind not in DISK_MESSAGES:
            raise ValueError(f"GOME_FAULT_DISK={kind!r} is not one of {sorted(DISK_MESSAGES)}")
        raise sqlite3.OperationalError(DISK_MESSAGES[kind])


def crash_if_due(first_seq: int, last_seq: int) -> None:
    """SIGKILL this process if GOME_CRASH_AFTER_SEQ falls in the batch just committed."""
    value = os.environ.get("GOME_CRASH_AFTER_SEQ")
    if not value:
        return
    k = int(value)
    if first_seq <= k <= last_seq:
        os.kill(os.getpid(), signal.SIGKILL)
