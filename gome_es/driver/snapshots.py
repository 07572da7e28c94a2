"""Optional state snapshots: a folded RunState saved every N events.

A snapshot is only a cache of the fold.  It is used when its state schema
(:data:`gome_es.core.state.STATE_SCHEMA`) matches today's, and ignored otherwise;
folding the events after it must give exactly the state a full fold gives
(tests check that).  The log stays the only truth.
"""

from __future__ import annotations

from ..core.state import STATE_SCHEMA, RunState, fold, state_from_json, state_to_json
from ..store import EventStore


def load_state(store: EventStore, run_id: str, *, use_snapshot: bool = True) -> RunState:
    """Fold a run, starting from its newest usable snapshot when there is one."""
    if use_snapshot:
        snap = store.load_snapshot(run_id, state_schema=STATE_SCHEMA)
        if snap is not None:
            seq, text = snap
            try:
                state = state_from_json(text)
            except ValueError:  # pydantic's ValidationError: not a readable state; the log decides
                state = None
            if state is not None and state.last_seq == seq:
                return fold(store.read(run_id, from_seq=seq + 1), run_id, state)
    return fold(store.read(run_id), run_id)


# A state grows with its run (about 300 bytes an event), so keeping every
# snapshot would store the run many times over (1.5 GB of snapshots for a
# 100k-event run saved every 1000 events).  Kept: the newest two, and the first
# one of each band of this many events, which parallel replay starts slices from.
SNAPSHOT_BAND = 10_000
KEEP_RECENT = 2


def snapshots_to_drop(seqs: list[int], band: int = SNAPSHOT_BAND, keep_recent: int = KEEP_RECENT) -> list[int]:
    """Of a run's snapshot seqs, those to delete: all but the newest and one per band."""
    ordered = sorted(seqs)
    keep = set(ordered[-keep_recent:]) if keep_recent > 0 else set()
    bands: set[int] = set()
    for seq in ordered:
        if seq // band not in bands:
            bands.add(seq // band)
            keep.add(seq)
    return [seq for seq in ordered if seq not in keep]


def save_state(store: EventStore, state: RunState) -> None:
    """Snapshot ``state`` and drop the run's snapshots that :func:`snapshots_to_drop` names."""
    store.save_snapshot(state.run_id, state.last_seq, STATE_SCHEMA, state_to_json(state))
    drop = snapshots_to_drop(store.snapshot_seqs(state.run_id, STATE_SCHEMA))
    if drop:
        store.drop_snapshots(state.run_id, STATE_SCHEMA, drop)


def maybe_snapshot(store: EventStore, state: RunState, every: int, last_saved: int) -> int:
    """Save a snapshot when ``every`` events have passed since ``last_saved``; return the new mark."""
    if every > 0 and state.last_seq - last_saved >= every:
        save_state(store, state)
        return state.last_seq
    return last_saved
