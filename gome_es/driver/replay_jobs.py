"""Replay a stored run on several cores.

Each decision is a pure function of the state folded from the recorded events
before it, so a run's decisions can be checked in slices: worker k folds the
events before its slice (or starts from a snapshot and folds the rest), then
replays its slice with :func:`gome_es.core.replay.replay_events`.  The parent puts
the slices' reports back together: the first divergence is the one in the
earliest slice.

A snapshot is a cache, never trusted: when worker k starts from one, worker
k-1 hashes the state its own fold reached at the same seq, and a mismatch
throws the parallel result away and replays the whole run serially (with a
note saying which snapshot disagreed).  Without snapshots a worker folds the
prefix itself, which is the same deterministic fold worker k-1 performs, and
the slices are sized so that the extra folding is shared out evenly.

This is the edge (processes, the database); the replay itself stays pure.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..core.canonical import sha256_hex
from ..core.replay import ReplayReport, likely_cause, replay_events
from ..core.state import STATE_SCHEMA, RunState, fold, state_from_json, state_to_json
from ..core.vocabulary import EventType
from ..errors import ChainBroken, GomeError
from ..store import EventStore
from ..store.chain import blob_ref_fields
from ..version import code_version

# Below this many events a run replays serially: starting workers costs more.
MIN_EVENTS_PER_JOB = 10_000
MAX_AUTO_JOBS = 8
# Folding an event from the database costs about this fraction of replaying it
# (fold ~130k events/s, replay ~30k events/s on the 2-core machine): the slices
# of workers that must fold a long prefix are made shorter by it.
FOLD_COST = 0.25


@dataclass
class _Slice:
    index: int
    first_seq: int  # replay events first_seq..last_seq
    last_seq: int
    snapshot_seq: int | None  # start from this snapshot (then fold to first_seq - 1)
    digest_end: bool  # hash the state after last_seq (the next slice starts from a snapshot)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a replay, restoring it after.

    A replay builds a state that holds most payloads it reads; every full
    collection walks all of them again, which costs ~7% of a 100k-event replay.
    The fold makes no reference cycles worth collecting early (reference
    counting still frees everything else).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _blob_reader(store: EventStore) -> Callable[[str], bytes]:
    # blobs are content-addressed, so caching reads cannot change what replay sees
    return functools.lru_cache(maxsize=512)(store.get_blob)


def code_checked(events: Iterable[Any], read_blob: Callable[[str], bytes], run_id: str) -> Iterator[Any]:
    """``events`` as they are, after reading every code blob they name (each once).

    The policy never needs the code itself, so without this a damaged code blob would replay "ok";
    it raises :class:`ChainBroken` naming the seq, the field and the blob instead.
    """
    seen: set[str] = set()
    for ev in events:
        for field, sha in _code_fields(ev.payload):
            if sha in seen:
                continue
            try:
                read_blob(sha)
            except GomeError as exc:
                raise ChainBroken(f"replay of run {run_id} stops at seq {ev.seq} ({ev.type}): field {field} "
                                  f"names blob {sha}, which cannot be read back: {exc}") from None
            seen.add(sha)
        yield ev


def _code_fields(payload: Any) -> Iterator[tuple[str, str]]:
    for field, sha in blob_ref_fields(payload):
        if field.rsplit(".", 1)[-1] == "code_sha":
            yield field, sha


def replay_run(store: EventStore, run_id: str) -> ReplayReport:
    """Replay ``run_id`` from ``store`` on this process (reading every code blob it names)."""
    read_blob = _blob_reader(store)
    with paused_gc():
        return replay_events(run_id, code_checked(store.read(run_id), read_blob, run_id), read_blob,
                             code_version())


def auto_jobs(n_events: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_AUTO_JOBS, n_events // MIN_EVENTS_PER_JOB))


def replay_store(store: EventStore, run_id: str, *, jobs: int | None = None,
                 progress: Callable[[str], None] | None = None) -> ReplayReport:
    """Replay ``run_id`` from ``store`` on ``jobs`` processes (None: one per core, by run size)."""
    t0 = time.perf_counter()
    n = store.last_seq(run_id)
    jobs = auto_jobs(n) if jobs is None else max(1, int(jobs))
    jobs = min(jobs, max(1, n // 2))
    path = Path(store.path)
    origin_events = list(store.read(run_id, types=[EventType.RunStarted, EventType.RunResumed]))
    imported = any(e.type == EventType.RunStarted and e.payload.get("origin", "gome") != "gome" for e in origin_events)
    if jobs == 1 or imported or not path.is_file():
        return replay_run(store, run_id)

    versions = [(e.seq, e.payload.get("code_version") or "") for e in origin_events
                if e.type == EventType.RunStarted or e.payload.get("code_version")]
    slices = _plan(n, jobs, store.snapshot_seqs(run_id, STATE_SCHEMA))
    if progress:
        progress(f"replaying {n:,} events on {len(slices)} processes "
                 f"(slices {', '.join(f'{s.first_seq}-{s.last_seq}' for s in slices)})")
    current = code_version()
    # fork shares the imported code with the workers; with other threads running
    # (a lease heartbeat, a test runner's), forking is unsafe: spawn then
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1 \
        else "spawn"
    ctx = multiprocessing.get_context(method)
    args = [(str(path), run_id, s, [v for seq, v in versions if seq < s.first_seq], current) for s in slices]
    # frozen objects are left out of collections, so a collection in a forked worker
    # does not touch (and copy, page by page) the parent's whole heap (unfreeze after
    # also thaws anything the caller froze: gome itself freezes nothing else)
    gc.freeze()
    try:
        with ctx.Pool(len(slices)) as pool:
            results = pool.starmap(_replay_slice, args)
    finally:
        gc.unfreeze()

    report = _merge(run_id, slices, results, versions, current)
    if report is None:  # a snapshot disagreed with the fold: trust only the log
        bad = next(s for s, r in zip(slices, results) if s.snapshot_seq is not None
                   and r["start_digest"] != results[s.index - 1]["end_digest"])
        report = replay_run(store, run_id)
        report.notes.append(f"the snapshot at seq {bad.snapshot_seq} cannot be read or does not match the fold "
                            "of the log; replayed serially from the log instead")
    else:
        report.notes.append(f"replayed on {len(slices)} processes")
    report.seconds = time.perf_counter() - t0
    return report


def _plan(n: int, jobs: int, snapshots: list[int]) -> list[_Slice]:
    """Slice boundaries: at snapshots when the run has them, else sized for the prefix folds."""
    bounds = [0]
    # cut at snapshots only when each cut has one near its even share; else fold the prefixes
    near = [min(snapshots, key=lambda s: abs(s - n * k // jobs)) for k in range(1, jobs)] if snapshots else []
    if near and all(abs(s - n * k // jobs) <= n // (4 * jobs) for k, s in enumerate(near, 1)):
        for s in near:
            if bounds[-1] < s < n:
                bounds.append(s)
    else:
        # worker k costs FOLD_COST * b_k + (b_{k+1} - b_k): equal for all k when
        # b_{k+1} = T + (1 - FOLD_COST) * b_k, with T chosen so that b_jobs = n
        f = FOLD_COST
        t = n * f / (1 - (1 - f) ** jobs)
        b = 0.0
        for _ in range(1, jobs):
            b = t + (1 - f) * b
            if bounds[-1] < int(b) < n:
                bounds.append(int(b))
    bounds.append(n)
    snaps = set(snapshots)
    out = []
    for i in range(len(bounds) - 1):
        start = bounds[i]
        out.append(_Slice(i, start + 1, bounds[i + 1], start if start in snaps and start > 0 else None,
                          digest_end=bounds[i + 1] in snaps and i + 1 < len(bounds) - 1))
    return out


def _digest(state: RunState) -> str:
    return sha256_hex(state_to_json(state))


def _replay_slice(path: str, run_id: str, sl: _Slice, prior_versions: list[str], current: str
                  ) -> dict[str, Any]:
    store = EventStore.open(path, create=False, readonly=True)
    try:
        with paused_gc():
            return _replay_slice_in(store, run_id, sl, prior_versions, current)
    finally:
        store.close()


def _replay_slice_in(store: EventStore, run_id: str, sl: _Slice, prior_versions: list[str], current: str
                     ) -> dict[str, Any]:
    start_digest = None
    if sl.first_seq == 1:
        state = RunState(run_id=run_id)
    elif sl.snapshot_seq is not None:
        snap = store.load_snapshot(run_id, state_schema=STATE_SCHEMA, max_seq=sl.snapshot_seq)
        try:
            state = state_from_json(snap[1]) if snap else RunState(run_id=run_id)
        except ValueError:  # pydantic's ValidationError: not a state of this schema
            return {"report": None, "start_digest": "unreadable", "end_digest": None}
        if snap and snap[0] == sl.first_seq - 1 == state.last_seq:
            # a snapshot is state_to_json's text, so its hash is the state's digest
            start_digest = sha256_hex(snap[1])
        else:  # gone or moved since the plan: fold up to the slice (still checked)
            try:
                state = fold(store.read(run_id, from_seq=state.last_seq + 1, to_seq=sl.first_seq - 1), run_id,
                             state)
            except GomeError:  # a snapshot the log cannot continue: not this run's fold
                return {"report": None, "start_digest": "unreadable", "end_digest": None}
            start_digest = _digest(state)
    else:
        state = fold(store.read(run_id, to_seq=sl.first_seq - 1), run_id)
    read_blob = _blob_reader(store)
    rep = replay_events(run_id, code_checked(store.read(run_id, from_seq=sl.first_seq, to_seq=sl.last_seq),
                                             read_blob, run_id),
                        read_blob, current, state=state, prior_versions=prior_versions)
    end_digest = _digest(state) if sl.digest_end and rep.ok else None
    return {"report": rep, "start_digest": start_digest, "end_digest": end_digest}


def _merge(run_id: str, slices: list[_Slice], results: list[dict[str, Any]],
           versions: list[tuple[int, str]], current: str) -> ReplayReport | None:
    out = ReplayReport(run_id=run_id)
    upcast = False
    for sl, res in zip(slices, results):
        # reached only when the slice before agreed throughout, so it hashed its end state
        if sl.snapshot_seq is not None and res["start_digest"] != results[sl.index - 1]["end_digest"]:
            return None
        rep: ReplayReport = res["report"]
        out.events += rep.events
        out.decisions += rep.decisions
        out.mode = rep.mode
        out.last_agreeing_seq = max(out.last_agreeing_seq, rep.last_agreeing_seq)
        upcast = upcast or rep.upcast_seen
        if rep.divergence is not None:
            d = rep.divergence
            seen = {v for seq, v in versions if seq < d.seq}
            d.likely_cause = likely_cause(seen, current, upcast, d.fields, d.derived)
            out.divergence = d
            break
    out.upcast_seen = upcast
    return out
