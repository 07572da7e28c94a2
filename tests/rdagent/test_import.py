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

from gome_es.cli.main import cli
from gome_es.cli.rdagent_cmd import import_rdagent_cmd
from gome_es.core.state import fold
from gome_es.errors import RunExists
from gome_es.rdagent.importer import import_rdagent
from gome_es.rdagent.logdir import scan
from gome_es.rdagent.signed import MAGIC, PickleSignatureInvalid
from gome_es.rdagent.unpickle import UnsafePickle
from gome_es.store import EventStore

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"
KEY = "gome-fixture-signing-key-0123456789abcdef"  # the ARTIFACT_SIGNING_KEY make_fixtures.py used


@pytest.fixture
def store(tmp_path):
    with EventStore.open(tmp_path / "gome.db") as st:
        yield st


def _named_files(events) -> set[str]:
    return {f["path"] for e in events for f in (e.payload.get("provenance") or {}).get("files", [])}


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
    # RD-Agent checkpoints the whole loop after every step, in loop then step order
    steps = ["0_direct_exp_gen", "1_coding", "2_running", "3_feedback", "4_record"]
    assert [f.rel for f in files if f.kind == "session"] == [f"__session__/{i}/{s}" for i in range(4) for s in steps]


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
    # every file is named, by its path in the folder, in the provenance of some event
    assert _named_files(events) == {f.rel for f in scan(FIX / f"run_a-{dialect}")}
    # ...and only checkpoints, unknown or undecodable files stand alone as ImportedRecords
    alone = [e for e in events if e.type == "ImportedRecord"]
    assert {e.payload["provenance"]["files"][0]["path"].split("/")[0] for e in alone} == {"__session__"}
    # each step names its files, with dialect and signature status, and its loop and step
    hyp = next(e for e in events if e.type == "HypothesisProposed" and e.payload["iteration"] == 0
               and e.trace_id == "t0")
    prov = hyp.payload["provenance"]
    assert (prov["source"], prov["loop"], prov["step"]) == ("rdagent", 0, "direct_exp_gen")
    main = prov["files"][0]
    assert main["path"].startswith("Loop_0/direct_exp_gen/") and main["dialect"] == dialect
    assert main["signature"] == ("not_checked" if dialect == "signed" else "unsigned")
    assert any(f["path"].startswith("Loop_0/direct_exp_gen/time_info/") for f in prov["files"])
    code = next(e for e in events if e.type == "CodeGenerated" and e.payload["solution_id"] == "rd-loop1")
    assert store.get_blob(code.payload["code_sha"]) == b"import lightgbm\nprint('target enc')\n"
    finished = next(e for e in events if e.type == "ExecutionFinished" and e.payload["solution_id"] == "rd-loop1")
    assert finished.payload["metrics"]["scores"] == {"columns": ["accuracy"], "index": ["lgbm", "ensemble"],
                                                     "data": [[0.822], [0.828]]}
    expected = "100 not checked" if dialect == "signed" else "100 unsigned"
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
    assert s.signatures == "67 verified"
    bad = tmp_path / "tampered"
    shutil.copytree(FIX / "run_b-signed", bad)
    victim = next(f for f in scan(bad) if f.tag == "Loop_0.feedback")
    data = victim.path.read_bytes()
    victim.path.write_bytes(data.replace(b"Works; first SOTA.", b"Works; first SOTA!"))
    with pytest.raises(PickleSignatureInvalid, match=victim.rel):
        import_rdagent(store, bad, run_id="bad", hmac_key=KEY)
    assert not store.run_exists("bad")
    with pytest.raises(PickleSignatureInvalid):
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
    rec = next(e for e in events if e.type == "ImportedRecord"
               and e.payload["provenance"]["files"][0]["path"].endswith("2099-01-01_00-00-00-000000.pkl"))
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
    assert json.loads(res.output)["signatures"] == "100 verified"
    with EventStore.open(db) as st:
        assert st.verify("x").ok
    res = CliRunner().invoke(cli, ["import-rdagent", str(FIX / "run_a-signed"), "--db", str(db), "--run-id", "y",
                                   "--hmac-key", "wrong-key-wrong-key-wrong-key-wrong"])
    assert res.exit_code == 2 and "signature does not match" in res.output


@pytest.mark.integration
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


# ------------------------------------------------------ session checkpoints


def test_genuine_checkpoints_decode_and_give_the_timer_and_direction(store):
    import_rdagent(store, FIX / "run_e-plain", run_id="e")
    events, state = _imported(store, "e")
    started = events[0].payload
    assert started["config"]["budget_s"] == 12 * 3600  # RD-Agent's timer: `--timeout 12h`
    assert started["task"]["lower_is_better"] is True  # rmse: trace.scen.metric_direction is False
    timer = events[-1].payload["provenance"]["rdagent_timer"]
    assert timer["all_duration_s"] == 43200.0 and 0 < timer["spent_s"] < 3600
    checkpoints = [e for e in events if e.type == "ImportedRecord"]
    assert len(checkpoints) == len([f for f in scan(FIX / "run_e-plain") if f.kind == "session"])
    last = checkpoints[-1].payload
    assert last["decoded"] and last["summary"]["class"] == "rdagent.scenarios.data_science.loop.DataScienceRDLoop"
    assert last["summary"]["step_idx"] == {"0": 5, "1": 5, "2": 5}
    # settings that only name machine paths are provenance, the rest shapes decisions
    assert "local_data_path" in started["provenance"]["settings_paths"]
    assert "local_data_path" not in started["task"]["rdloop_settings"]
    assert started["task"]["rdloop_settings"]["competition"] == "penguin-body-mass"


def test_an_undecodable_checkpoint_is_kept_opaque_with_a_warning(store, tmp_path):
    folder = tmp_path / "log"
    shutil.copytree(FIX / "run_e-plain", folder)
    last = folder / "__session__" / "2" / "4_record"
    last.write_bytes(last.read_bytes()[:-40])  # cut off mid-pickle, as a killed dump leaves it
    s = import_rdagent(store, folder, run_id="cut")
    assert any("__session__/2/4_record could not be decoded" in n and "opaque" in n for n in s.notes)
    events, state = _imported(store, "cut")
    rec = next(e for e in events if e.type == "ImportedRecord"
               and e.payload["provenance"]["files"][0]["path"] == "__session__/2/4_record")
    assert rec.payload["decoded"] is False and store.get_blob(rec.payload["data_sha"]) == last.read_bytes()
    # the timer comes from the newest checkpoint that decodes; the steps do not need checkpoints
    assert events[-1].payload["provenance"]["rdagent_timer"]["all_duration_s"] == 43200.0
    assert state.phase.value == "finished" and len(state.solutions) == 3


def test_a_checkpoint_reaching_for_a_gadget_refuses_the_import(store, tmp_path):
    folder = tmp_path / "log"
    shutil.copytree(FIX / "run_e-plain", folder)
    marker = tmp_path / "pwned"
    (folder / "__session__" / "1" / "1_coding").write_bytes(
        b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c" + bytes([len(f"touch {marker}")])
        + f"touch {marker}".encode() + b"\x85R.")
    with pytest.raises(UnsafePickle, match=r"__session__/1/1_coding: refused to unpickle, it asks for posix.system"):
        import_rdagent(store, folder, run_id="evil-ckpt")
    assert not marker.exists() and not store.run_exists("evil-ckpt")


def test_inert_forms_render_as_stable_json():
    import collections
    import functools

    from gome_es.rdagent.importer import plain
    from gome_es.rdagent.unpickle import safe_loads

    value = [functools.partial(sorted, key=len), {"b", "a", 3}, collections.deque([1]), list[int],
             collections.defaultdict(list, {"k": [1]})]
    out = plain(safe_loads(pickle.dumps(value, protocol=5)))
    assert json.loads(json.dumps(out)) == out  # JSON-safe
    assert out[0] == {"class": "functools.partial", "args": [{"class_ref": "builtins.sorted"}],
                      "state": [{"class_ref": "builtins.sorted"}, [], {"key": {"class_ref": "builtins.len"}}, None]}
    assert out[1] == ["a", "b", 3]  # sets in one order (by their JSON text) whatever the hash seed
    assert out[2:] == [[1], {"class": "typing.GenericAlias", "args": ["list", ["int"]]}, {"k": [1]}]
