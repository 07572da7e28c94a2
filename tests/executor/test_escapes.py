"""The closed world under attack: every probe in tests/executor/probes/ is a real
solution that tries one way out (links as outputs, the answers by every path,
the database and its WAL, the cache, the bundled archives, /proc, cgroups,
sysctls, limits, the driver, the audit channel, bombs and floods).  Each must
be stopped (nothing leaks), classified as its header says, and leave no
process, cgroup or file behind.  The long ones run with `-m slow`;
benchmarks/escape_campaign.py runs them all and counts.
"""

from __future__ import annotations

import pytest

from gome_es.executor import isolation
from tests.executor.escape_probes import all_probes, make_world, run_probe

PROBES = all_probes()


def _param(p):
    return pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.slow else [])


@pytest.fixture(scope="module")
def sandboxed():
    caps = isolation.probe()
    missing = [n for n in ("mount", "pid", "net") if n not in caps.namespaces]
    if missing or caps.uid is None or caps.cgroups is None:
        pytest.skip(f"this host cannot give the full sandbox (namespaces missing: {missing}, uid {caps.uid}, "
                    f"cgroups {caps.cgroups}); the probes assert the full closed world")
    return caps


@pytest.mark.integration
@pytest.mark.parametrize("probe", [_param(p) for p in PROBES])
def test_probe_is_stopped_classified_and_leaves_nothing(probe, sandboxed, tmp_path):
    outcome = run_probe(probe, make_world(tmp_path))
    assert not outcome.leaks, outcome.summary()
    assert not outcome.leftovers, outcome.summary()
    assert outcome.failure == probe.expect, outcome.summary()


def test_every_attack_of_the_issue_has_a_probe():
    names = {p.name for p in PROBES}
    for needed in ("symlink_submission", "symlink_metrics", "hardlink_submission", "fifo_submission",
                   "fifo_metrics", "read_bundle", "proc_walk", "read_database", "read_cache", "cgroup_escape",
                   "raise_limits", "sysctl_write", "kill_driver", "trace_driver", "outlive_run", "forge_audit",
                   "fork_bomb", "memory_bomb", "disk_bomb", "output_flood"):
        assert needed in names
    assert all(p.doc and p.expect for p in PROBES)
