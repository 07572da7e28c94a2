"""The run lease: at most one live process drives a run.

A row in ``run_leases`` (store migration 0002) names the holder: pid, host,
the process's start time (so a reused pid is not mistaken for the holder),
when it took the lease and its latest heartbeat.  A background thread renews
the heartbeat.  Another process asking for the run is refused with
:class:`~gome_es.errors.LeaseHeld` while the holder is alive; a dead holder
(same host and its process is gone or its pid now belongs to another process,
or its heartbeat is older than ``stale_after_s``) is taken over, and the grant
says whom it replaced so the caller can record the takeover as an event.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from ..core.vocabulary import EventType
from ..errors import GomeError, LeaseHeld

if TYPE_CHECKING:
    from ..store import EventStore

log = structlog.get_logger(__name__)

DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_STALE_AFTER_S = 30.0


@dataclass(frozen=True)
class LeaseHolder:
    pid: int
    host: str
    since: float
    heartbeat: float
    proc_start: str | None = None

    def describe(self) -> str:
        when = dt.datetime.fromtimestamp(self.since).astimezone().isoformat(timespec="seconds")
        return f"pid {self.pid} on host {self.host} since {when}"


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def why_dead(holder: LeaseHolder, *, now: float, host: str, stale_after_s: float) -> str | None:
    """The reason ``holder`` no longer drives its run, or None if it may still be alive."""
    age = now - holder.heartbeat
    if age > stale_after_s:
        return f"its heartbeat is {age:.0f}s old (limit {stale_after_s:.0f}s)"
    if holder.host == host:
        if not pid_alive(holder.pid):
            return f"process {holder.pid} no longer exists"
        start = process_start(holder.pid)
        if holder.proc_start and start and start != holder.proc_start:
            return f"pid {holder.pid} now belongs to another process"
    return None


class LeaseGrant:
    """A held lease; renews itself until :meth:`release` (or the context exits)."""

    def __init__(self, store: "EventStore", run_id: str, token: str, holder: LeaseHolder,
                 took_over: LeaseHolder | None, took_over_reason: str | None,
                 heartbeat_s: float) -> None:
        self.store, self.run_id, self.token = store, run_id, token
        self.holder = holder
        self.took_over = took_over
        self.took_over_reason = took_over_reason
        self.lost = False  # set when another process took the lease from us
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_s,),
                                        name=f"lease-heartbeat-{run_id}", daemon=True)
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                if not self.heartbeat():
                    log.warning("lease lost", run_id=self.run_id, pid=self.holder.pid)
                    return
            except GomeError as exc:  # locked or disk trouble: try again next beat
                log.warning("lease heartbeat failed", run_id=self.run_id, error=str(exc))

    def heartbeat(self) -> bool:
        """Renew now; False (and ``lost``) if the lease is no longer ours."""
        with self.store.write_transaction("renew the run lease", self.run_id) as conn:
            cur = conn.execute("UPDATE run_leases SET heartbeat = ? WHERE run_id = ? AND token = ?",
                               (time.time(), self.run_id, self.token))
            self.lost = cur.rowcount == 0
        return not self.lost

    def release(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        if self.store.closed:
            return
        with self.store.write_transaction("release the run lease", self.run_id) as conn:
            conn.execute("DELETE FROM run_leases WHERE run_id = ? AND token = ?",
                         (self.run_id, self.token))

    def __enter__(self) -> "LeaseGrant":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class RunLease:
    """Acquire and inspect run leases in an :class:`EventStore`."""

    @staticmethod
    def current(store: "EventStore", run_id: str) -> LeaseHolder | None:
        rows = store.query("SELECT pid, host, since, heartbeat, proc_start FROM run_leases "
                            "WHERE run_id = ?", (run_id,))
        return LeaseHolder(*rows[0]) if rows else None

    @classmethod
    def acquire(cls, store: "EventStore", run_id: str, *, heartbeat_s: float = DEFAULT_HEARTBEAT_S,
                stale_after_s: float = DEFAULT_STALE_AFTER_S) -> LeaseGrant:
        """Take the run's lease, or raise LeaseHeld naming the live holder."""
        now = time.time()
        pid, host = os.getpid(), socket.gethostname()
        me = LeaseHolder(pid, host, now, now, process_start(pid))
        token = uuid.uuid4().hex
        previous, reason = None, None
        with store.write_transaction("take the run lease", run_id) as conn:
            previous = cls.current(store, run_id)
            if previous is not None:
                reason = why_dead(previous, now=now, host=host, stale_after_s=stale_after_s)
                if reason is None:
                    age = now - previous.heartbeat
                    raise LeaseHeld(
                        f"run {run_id} is being driven by {previous.describe()} (last heartbeat "
                        f"{age:.0f}s ago); stop that process first, or wait: its lease is taken "
                        f"over once it is gone or silent for {stale_after_s:.0f}s")
            conn.execute(
                "INSERT OR REPLACE INTO run_leases (run_id, token, pid, host, proc_start, since, "
                "heartbeat) VALUES (?,?,?,?,?,?,?)",
                (run_id, token, pid, host, me.proc_start, now, now))
        if previous is not None:
            log.info("lease taken over", run_id=run_id, previous=previous.describe(), reason=reason)
        return LeaseGrant(store, run_id, token, me, previous, reason, heartbeat_s)


def live_status(store: "EventStore", run_id: str) -> str:
    """An unfinished run is `running` (a live lease), `stopped` (gracefully) or `interrupted` (crashed)."""
    holder = RunLease.current(store, run_id)
    if holder is not None and why_dead(holder, now=time.time(), host=socket.gethostname(),
                                       stale_after_s=DEFAULT_STALE_AFTER_S) is None:
        return "running"
    last = store.query("SELECT type FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,))
    return "stopped" if last and last[0][0] == EventType.RunStopped else "interrupted"
