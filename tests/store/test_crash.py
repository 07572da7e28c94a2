"""SIGKILL at random moments: nothing partial, chain intact, every ack durable.

A child appends batches of 1-3 events in a loop and, after each append
returns, writes the batch's last seq to an ack file and fsyncs it.  The parent
kills it at random moments, many times, on the same database.  Afterwards
every acknowledged event exists, every batch is whole, and the chain verifies.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from gome_es.store import EventStore

from .conftest import PYTHON, child_env

APPENDER = """
import os, random, sys
from gome_es.store import EventStore, NewEvent
store = EventStore.open(sys.argv[1])
ack = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
rng = random.Random(os.getpid())
last = store.last_seq("crashy")
print("ready", flush=True)
while True:
    size = rng.randint(1, 3)
    batch = f"{os.getpid()}-{last}"
    blob = os.urandom(rng.randint(0, 3000))
    sha = EventStore.blob_hash(blob)
    events = [NewEvent("Tick", {"batch": batch, "size": size, "part": i, "out_sha": sha})
              for i in range(size)]
    last = store.append("crashy", events, last, blobs={sha: blob})[-1].seq
    os.write(ack, f"{last}\\n".encode())
    os.fsync(ack)
"""


def _check(db_path, ack_path):
    acked = [int(x) for x in ack_path.read_text().split()] if ack_path.exists() else []
    with EventStore.open(db_path) as store:
        if store.last_seq("crashy") == 0:  # killed before its first append (a loaded machine is slow to start)
            assert not acked
            return 0, 0
        report = store.verify("crashy")
        assert report.ok, report
        last = store.last_seq("crashy")
        assert not acked or max(acked) <= last
        sizes: dict[str, list[int]] = {}
        for e in store.read("crashy"):
            sizes.setdefault(e.payload["batch"], []).append(e.payload["part"])
            assert store.has_blob(e.payload["out_sha"])
        for batch, parts in sizes.items():
            assert parts == list(range(len(parts)))
        sizes_by_event = {e.payload["batch"]: e.payload["size"] for e in store.read("crashy")}
        assert all(len(sizes[b]) == n for b, n in sizes_by_event.items())
    return last, len(acked)


def _campaign(tmp_path, kills: int, seed: int) -> None:
    db_path, ack_path = tmp_path / "crash.db", tmp_path / "acks.txt"
    EventStore.open(db_path).close()
    rng = random.Random(seed)
    total_acks = 0
    for _ in range(kills):
        child = subprocess.Popen([PYTHON, "-c", APPENDER, str(db_path), str(ack_path)],
                                 stdout=subprocess.PIPE, env=child_env(), text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        child.stdout.close()
        total_acks = max(total_acks, _check(db_path, ack_path)[1])
    assert total_acks > kills  # the children really made progress between kills


@pytest.mark.integration
def test_random_sigkills_lose_no_acknowledged_event(tmp_path):
    _campaign(tmp_path, kills=12, seed=1)


@pytest.mark.slow
def test_random_sigkills_campaign(tmp_path):
    _campaign(tmp_path, kills=120, seed=int(os.environ.get("GOME_CRASH_SEED", "7")))


CRASH_AT = """
import sys
from gome_es.store import EventStore, NewEvent
store = EventStore.open(sys.argv[1])
for i in range(50):
    store.append("r", [NewEvent("Tick", {"i": i})], i)
"""


@pytest.mark.integration
def test_crash_after_seq_hook_kills_right_after_that_commit(db_path):
    result = subprocess.run([PYTHON, "-c", CRASH_AT, str(db_path)],
                            env=child_env(GOME_CRASH_AFTER_SEQ="17"), timeout=60)
    assert result.returncode == -signal.SIGKILL
    with EventStore.open(db_path) as store:
        assert store.last_seq("r") == 17 and store.verify("r").ok
