"""Importing RD-Agent log folders written by RD-Agent 1.0.0's own logger (tests/fixtures/rdagent)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.errors import RunExists
from gome_es.rdagent.cli import import_rdagent_cmd
from gome_es.rdagent.importer import import_rdagent
from gome_es.rdagent.logdir import scan
from gome_es.rdagent.signed import MAGIC, SignatureInvalid
from gome_es.rdagent.unpickle import UnsafePickle
from gome_es.core.state import fold
from gome_es.store import EventStore

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"
KEY = "gome-fixture-signing-key-0123456789abcdef"  # the ARTIFACT_SIGNING_KEY make_fixtures.py used


@pytest.fixture
def store(tmp_path):
    with EventStore.open(tmp_path / "gome.db") as st:
        yield st


def _imported(store, run_id):
    events = list(store.read(run_id))
    return events, fold(events, run_id)


def test_scan_orders_pickles_by_time_and_reads_tags_and_pids():
    files = scan(FIX / "run_a-plain")
    pkls = [f for f in files if f.kind == "pkl"]
    assert [f.timestamp for f in pkls] == sorted(f.timestamp for f in pkls)
    tags = {f.tag for f in pkls}
    assert {"competition", "Loop_0.direct_exp_gen", "Loop_0.coding", "Loop_0.running", "Loop_0.feedback",
            "Loop_0.record.trace", "Loop_0.direct_exp_gen.session_0.debug_llm",
            "Loop_0.direct_exp_gen.token_cost", "Loop_0.running.time_info"} <= tags
    assert all(f.pid and f.pid.isdigit() for f in pkls)
    assert [f.rel for f in files if f.kind == "session"] == [f"__session__/{i}/4_record" for i in range(4)]


@pytest.mark.parametrize("dialect", ["plain", "signed"])
def test_run_a_imports_as_a_run_that_verifies_and_folds(store, dialect):
    s = import_rdagent(store, FIX / f"run_a-{dialect}", run_id="a")
    assert store.verify("a").ok
    events, state = _imported(store, "a")
    assert state.phase == "finished" and state.task_id == "spaceship-titanic"
    assert state.reasoner["kind"] == "replay" and state.reasoner["model"] == "gpt-5"
    assert (s.loops, s.traces, s.llm_calls) == (4, 2, 12)
    # the DAG: loops 0 -> 1 -> 3 form one trace, loop 2 is a second root
    assert [(t.trace_id, t.sota_id, t.sota_score) for t in state.traces.values()] == [
        ("t0", "rd-loop1", 0.828), ("t1", "rd-loop2", 0.771)]
    assert state.solutions["rd-loop3"].parent_solution_id == "rd-loop1"
    assert state.solutions["rd-loop3"].accepted is False
    assert state.selected["solution_id"] == "rd-loop1" and state.selected["val_score"] == 0.828
    assert state.tokens == {"prompt": 14000, "completion": 3680}
    # every file is provenance, named by its path in the folder
    sources = {e.payload["source"] for e in events if e.type == "ImportedRecord"}
    assert sources == {f.rel for f in scan(FIX / f"run_a-{dialect}")}
    code = next(e for e in events if e.type == "CodeGenerated" and e.payload["solution_id"] == "rd-loop1")
    assert store.get_blob(code.payload["code_sha"]) == b"import lightgbm\nprint('target enc')\n"
    finished = next(e for e in events if e.type == "ExecutionFinished" and e.payload["solution_id"] == "rd-loop1")
    assert finished.payload["metrics"]["scores"] == {"columns": ["accuracy"], "index": ["lgbm", "ensemble"],
                                                     "data": [[0.822], [0.828]]}
    expected = "75 not checked" if dialect == "signed" else "75 unsigned"
    assert s.signatures == expected
    assert any("signatures not checked" in n for n in s.notes) == (dialect == "signed")


def test_run_b_failed_coding_is_a_coder_error_and_branch_is_a_new_trace(store):
    import_rdagent(store, FIX / "run_b-signed", run_id="b", hmac_key=KEY)
    events, state = _imported(store, "b")
    sol = state.solutions["rd-loop1"]
    assert sol.failure == "coder_error" and sol.accepted is False
    assert state.traces["t1"].direction_detail["parent_loop"] == 0
    assert state.solutions["rd-loop2"].parent_solution_id == "rd-loop0"
    assert state.reasoner["model"] == "gpt-5-mini"


def test_signed_files_verify_with_the_key_and_tampering_is_refused(store, tmp_path):
    s = import_rdagent(store, FIX / "run_b-signed", run_id="ok", hmac_key=KEY)
    assert s.signatures == "50 verified"
    bad = tmp_path / "tampered"
    shutil.copytree(FIX / "run_b-signed", bad)
    victim = next(f for f in scan(bad) if f.tag == "Loop_0.feedback")
    data = victim.path.read_bytes()
    victim.path.write_bytes(data.replace(b"Works; first SOTA.", b"Works; first SOTA!"))
    with pytest.raises(SignatureInvalid, match=victim.rel):
        import_rdagent(store, bad, run_id="bad", hmac_key=KEY)
    assert not store.run_exists("bad")
    with pytest.raises(SignatureInvalid):
        import_rdagent(store, FIX / "run_b-signed", run_id="wrong", hmac_key="another-key-that-is-long-enough-000")
    # without a key the tampered folder imports, recorded as unchecked
    s = import_rdagent(store, bad, run_id="unchecked")
    assert "not checked" in s.signatures


def test_malicious_file_in_a_log_folder_refuses_the_import_and_runs_nothing(store, tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(FIX / "run_a-plain", folder)
    marker = tmp_path / "pwned"
    target = folder / "Loop_0" / "running" / "1" / "2099-01-01_00-00-00-000000.pkl"
    target.parent.mkdir(parents=True)
    target.write_bytes(f"cos\nsystem\n(Vtouch {marker}\ntR.".encode())
    with pytest.raises(UnsafePickle, match="Loop_0/running/1/2099"):
        import_rdagent(store, folder, run_id="evil")
    assert not marker.exists() and not store.run_exists("evil")


def test_undecodable_file_is_kept_as_opaque_provenance(store, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(FIX / "run_a-plain", folder)
    target = folder / "Loop_0" / "record" / "trace" / "7" / "2099-01-01_00-00-00-000000.pkl"
    target.parent.mkdir(parents=True)
    target.write_bytes(pickle.dumps({"x": 1})[:-2])
    s = import_rdagent(store, folder, run_id="broken")
    assert [f for f, _ in s.undecodable] == ["Loop_0/record/trace/7/2099-01-01_00-00-00-000000.pkl"]
    events, state = _imported(store, "broken")
    rec = next(e for e in events if e.type == "ImportedRecord" and e.payload["source"].endswith("2099-01-01_00-00-00-000000.pkl"))
    assert rec.payload["decoded"] is False
    assert store.get_blob(rec.payload["data_sha"]) == target.read_bytes()
    assert state.phase == "finished"


def test_same_folder_twice_needs_another_run_id(store):
    s = import_rdagent(store, FIX / "run_b-plain")
    assert s.run_id.startswith("rdagent-")
    with pytest.raises(RunExists, match="--run-id"):
        import_rdagent(store, FIX / "run_b-plain")


def test_signed_and_plain_fixtures_hold_the_same_pickles():
    for run in ("run_a", "run_b"):
        for f in scan(FIX / f"{run}-signed"):
            signed = f.path.read_bytes()
            plain = (FIX / f"{run}-plain" / f.rel).read_bytes()
            assert signed.startswith(MAGIC) and signed[len(MAGIC) + 32:] == plain


def test_cli_imports_and_reports(tmp_path):
    db = tmp_path / "cli.db"
    res = CliRunner().invoke(import_rdagent_cmd, [str(FIX / "run_a-signed"), "--db", str(db), "--run-id", "x",
                                                  "--json"], env={"RDAGENT_HMAC_KEY": KEY})
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["signatures"] == "75 verified"
    with EventStore.open(db) as st:
        assert st.verify("x").ok
    res = CliRunner().invoke(import_rdagent_cmd, [str(FIX / "run_a-signed"), "--db", str(db), "--run-id", "y",
                                                  "--hmac-key", "wrong-key-wrong-key-wrong-key-wrong"])
    assert res.exit_code == 2 and "signature does not match" in res.output


def test_import_needs_neither_numpy_nor_pandas(tmp_path):
    script = (
        "import sys\n"
        "from gome_es.rdagent.logdir import iter_records\n"
        f"recs = list(iter_records({str(FIX / 'run_a-plain')!r}))\n"
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules\n"
        "run = [r for r in recs if r.file.tag == 'Loop_1.running'][0]\n"
        "print(run.obj.get('running_info').get('result')['data'])\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[[0.822], [0.828]]"
