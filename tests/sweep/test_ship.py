"""Events shipped from a worker's database into the sweep's: accepted only when they continue the chain."""

from __future__ import annotations

import json

import pytest

from gome_es.core.canonical import sha256_hex
from gome_es.errors import ChainBroken
from gome_es.store import EventStore, NewEvent
from gome_es.sweep.ship import apply_delta, make_delta, seed_export

RID = "run-1"


def _append(store, n, start=0, tag="x"):
    for i in range(start, start + n):
        code = f"print({i}) # {tag}".encode()
        sha = sha256_hex(code)
        store.append(RID, [NewEvent("CodeGenerated", {"i": i, "code_sha": sha}, trace_id="t1")], i, blobs={sha: code})


@pytest.fixture
def pair(tmp_path):
    src, dst = EventStore.open(tmp_path / "worker.db"), EventStore.open(tmp_path / "sweep.db")
    yield src, dst
    src.close()
    dst.close()


def test_deltas_continue_the_run_and_it_verifies(pair):
    src, dst = pair
    _append(src, 3)
    assert apply_delta(dst, RID, make_delta(src, RID, 0)) == 3
    _append(src, 2, start=3)
    delta = make_delta(src, RID, 3)
    assert [r[0] for r in delta["rows"]] == [4, 5] and len(delta["blobs"]) == 2
    assert apply_delta(dst, RID, delta) == 5
    assert apply_delta(dst, RID, make_delta(src, RID, 0)) == 5  # re-sent: already held, nothing added
    assert dst.verify(RID).ok and dst.head(RID) == src.head(RID)
    assert make_delta(src, RID, 5) is None
    for e in dst.read(RID):
        dst.get_blob(e.payload["code_sha"])


def test_an_edited_row_is_refused_whole(pair):
    src, dst = pair
    _append(src, 3)
    delta = make_delta(src, RID, 0)
    row = delta["rows"][1]
    row[5] = row[5].replace('"i":1', '"i":7')
    with pytest.raises(ChainBroken, match="seq 2"):
        apply_delta(dst, RID, delta)
    assert not dst.run_exists(RID)  # nothing of it was stored


def test_another_history_is_refused(pair, tmp_path):
    src, dst = pair
    _append(src, 2)
    _append(dst, 2, tag="other")  # the sweep holds a different seq 1..2
    with pytest.raises(ChainBroken, match="another history|prev_hash"):
        apply_delta(dst, RID, make_delta(src, RID, 0))
    _append(src, 1, start=2)
    with pytest.raises(ChainBroken, match="prev_hash"):
        apply_delta(dst, RID, make_delta(src, RID, 2))
    assert dst.last_seq(RID) == 2


def test_a_missing_or_false_blob_is_refused(pair):
    src, dst = pair
    _append(src, 2)
    delta = make_delta(src, RID, 0)
    sha = next(iter(delta["blobs"]))
    forged = dict(delta, blobs={**delta["blobs"], sha: b"not the code"})
    with pytest.raises(ChainBroken, match="does not match its content"):
        apply_delta(dst, RID, forged)
    with pytest.raises(ChainBroken, match="was not shipped"):
        apply_delta(dst, RID, dict(delta, blobs={}))
    with pytest.raises(ChainBroken, match="for run"):
        apply_delta(dst, "run-2", delta)
    assert not dst.run_exists(RID)


def test_seed_export_is_an_ordinary_export(pair, tmp_path):
    src, dst = pair
    _append(src, 3)
    data = seed_export(src, RID)
    path = tmp_path / "seed.jsonl.gz"
    path.write_bytes(data)
    assert dst.import_run(path, check_events=False) == RID and dst.head(RID) == src.head(RID)
    assert seed_export(src, "run-none") is None
    json.dumps(make_delta(src, RID, 0)["rows"])
