"""`gome sweep` at the command line: bad input is exit 2 with a message, a cell that keeps failing is
given up after --max-tries and the sweep goes on, one driver per sweep."""

from __future__ import annotations

import json

import pytest

from gome_es.driver.lease import RunLease
from gome_es.store import EventStore
from gome_es.sweep import plan_sweep
from tests.sweep.conftest import events, gome


def _invoke(*args: str):
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("args,message", [
    (["--tasks", "no-such-task"], "unknown task 'no-such-task'"),
    (["--tasks", "wine-cultivar", "--variants", "gome,greedy"], "unknown variant 'greedy'"),
    (["--tasks", "wine-cultivar", "--seeds", "0"], "--seeds 0"),
    (["--tasks", "wine-cultivar", "--budget", "soon"], "is not a duration"),
    (["--tasks", "wine-cultivar", "--concurrency", "0"], "0 is not in the range x>=1"),
    # the options share gome run's types (gome_es/cli/params.py): same bounds, same messages
    (["--tasks", "wine-cultivar", "--traces", "65"], "65 is not in the range 1<=x<=64"),
    (["--tasks", "wine-cultivar", "--budget", "-5"], "is not a duration"),
    (["--tasks", "wine-cultivar", "--budget", "2000d"], "is not a duration"),
    (["--tasks", "wine-cultivar", "--exec-timeout", "0"], "is not a positive duration"),
    (["--tasks", "wine-cultivar", "--gpus-per-run", "nan"], "is not a finite number"),
    (["--tasks", "wine-cultivar", "--cpus-per-run", "-1"], "out of range"),
    (["--tasks", "wine-cultivar", "--slots", "100000"], "is not in the range"),
    (["--tasks", "wine-cultivar", "--checkpoint", "inf"], "duration"),
    (["--tasks", "wine-cultivar", "--mlebench-data", "/no/such/dir"], "does not exist"),
    (["--tasks", "wine-cultivar", "--workspace", "/dev/null/x"], "is not a directory"),
    (["--tasks", "mlebench:spaceship-titanic"], "--mlebench-data"),
    (["--tasks", "wine-cultivar", "--sweep-id", "mine"], "starts with 'sweep-'"),
    ([], "pass --tasks"),
])
def test_bad_input_is_exit_2_with_a_message(tmp_path, args, message):
    res = _invoke("sweep", *args, "--db", str(tmp_path / "g.db"))
    assert res.exit_code == 2, res.output
    assert message in res.output, res.output
    assert isinstance(res.exception, SystemExit)  # a clean exit, never a raw traceback


def test_task_file_and_unknown_sweeps(tmp_path):
    empty = tmp_path / "tasks.txt"
    empty.write_text("# nothing\n\n")
    res = _invoke("sweep", "--tasks", str(empty), "--db", str(tmp_path / "g.db"))
    assert res.exit_code == 2 and "names no task" in res.output
    with EventStore.open(tmp_path / "g.db") as store:
        from gome_es.store import NewEvent

        store.append("run-1", [NewEvent("RunStarted", {"task_id": "x"})], 0)
    for sub in (["resume", "sweep-nope"], ["report", "sweep-nope"], ["status", "sweep-nope"]):
        res = _invoke("sweep", *sub, "--db", str(tmp_path / "g.db"))
        assert res.exit_code == 2 and "sweep sweep-nope not found" in res.output, res.output
    res = _invoke("sweep", "report", "run-1", "--db", str(tmp_path / "g.db"))
    assert res.exit_code == 2 and "not a sweep" in res.output and isinstance(res.exception, SystemExit)


@pytest.mark.integration
def test_a_second_driver_is_refused_while_the_first_lives(tmp_path):
    db = tmp_path / "g.db"
    with EventStore.open(db) as store:
        sid = plan_sweep(store, tasks=["wine-cultivar"], variants=["gome"], seeds=[0], budget_s=60,
                         sweep_id="sweep-held")
        with RunLease.acquire(store, sid):  # this live process drives it
            res = gome(tmp_path, "sweep", "resume", sid, "--db", str(db))
    assert res.returncode == 2 and "is being driven by pid" in res.stderr
    assert [e.type for e in events(db, sid)] == ["SweepPlanned"]


@pytest.mark.integration
def test_a_cell_that_keeps_failing_is_given_up_and_the_sweep_goes_on(tmp_path):
    """Both cells' runs fail at once (no MLE-bench data there): two tries each, then failed with the reason."""
    data = tmp_path / "mlebench"
    data.mkdir()
    db = tmp_path / "g.db"
    res = gome(tmp_path, "sweep", "--tasks", "mlebench:aaa,mlebench:bbb", "--mlebench-data", str(data),
               "--variants", "gome", "--seeds", "1", "--max-tries", "2", "--concurrency", "1", "--db", str(db))
    assert res.returncode == 1, res.stderr[-2000:]
    sid = res.stdout.strip().splitlines()[-1]
    evs = events(db, sid)
    fails = [e.payload for e in evs if e.type == "CellFailed"]
    assert [(f["run_id"].split("--")[1], f["tries"], f["final"]) for f in fails] == [
        ("mlebench_aaa", 1, False), ("mlebench_aaa", 2, True), ("mlebench_bbb", 1, False), ("mlebench_bbb", 2, True)]
    assert all(f["reason"].startswith("exit 2: ") for f in fails), fails
    assert evs[-1].type == "SweepFinished"
    assert "failed: mlebench:aaa / gome / seed 0" in res.stderr
    status = json.loads(_invoke("sweep", "status", sid, "--json", "--db", str(db)).output)
    assert [c["status"] for c in status["cells"]] == ["failed", "failed"]
    rep = json.loads(_invoke("sweep", "report", sid, "--json", "--db", str(db)).output)
    assert rep["per_variant"]["gome"]["valid_submission"]["mean"] == 0.0 and rep["complete"]
    # a finished sweep resumes to nothing
    again = _invoke("sweep", "resume", sid, "--db", str(db))
    assert again.exit_code == 1 and len(events(db, sid)) == len(evs)


def test_ray_missing_is_a_clear_error_and_plans_nothing(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does where Ray is not installed
    db = tmp_path / "g.db"
    res = _invoke("sweep", "--tasks", "wine-cultivar", "--ray", "local", "--db", str(db))
    assert res.exit_code == 2 and "pip install 'gome-es[ray]'" in res.output
    assert not db.exists() or not EventStore.open(db, readonly=True).runs()


def test_dry_run_prints_the_commands_and_records_nothing(tmp_path):
    db = tmp_path / "g.db"
    res = _invoke("sweep", "--tasks", "wine-cultivar,digits-8x8", "--variants", "gome,one-trace", "--seeds", "2",
                  "--budget", "3m", "--dry-run", "--sweep-id", "sweep-dry", "--db", str(db))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("sweep-dry--")]
    assert len(lines) == 8
    assert lines[1].startswith("sweep-dry--wine-cultivar--one-trace--s0\tgome run --task wine-cultivar --seed 0 "
                               "--budget 180.0")
    assert lines[1].endswith(f"--traces 1 --run-id sweep-dry--wine-cultivar--one-trace--s0 --db {db}")
    assert not db.exists()


def test_a_ray_sweep_can_go_on_on_this_machine(tmp_path):
    from gome_es.sweep import load_sweep
    from gome_es.sweep.driver import make_backend
    from gome_es.sweep.local import LocalBackend

    with EventStore.open(tmp_path / "g.db") as store:
        sid = plan_sweep(store, tasks=["wine-cultivar"], variants=["gome"], seeds=[0], budget_s=60, ray="local",
                         sweep_id="sweep-ray-off")
        state = load_sweep(store, sid)
        assert state.spec["ray"] == "local"
        backend = make_backend(store, state, ray="off", log_dir=tmp_path / "logs")
        assert isinstance(backend, LocalBackend) and backend.db == store.path


@pytest.mark.parametrize("given, passed", [("2000000", "2000000"), ("90m", "5400"), ("0.25", "0.25"),
                                           ("1h30m", "5400")])
def test_exec_timeout_reaches_each_run_in_a_form_gome_run_accepts(tmp_path, given, passed):
    """The sweep parses --exec-timeout and hands each `gome run` seconds; "%g" used to write
    2000000 as "2e+06", which gome run refuses, so every cell would have failed."""
    res = _invoke("sweep", "--tasks", "wine-cultivar", "--variants", "gome", "--seeds", "1",
                  "--exec-timeout", given, "--dry-run", "--db", str(tmp_path / "g.db"))
    assert res.exit_code == 0, res.output
    assert f"--exec-timeout {passed} " in res.output
    from gome_es.cli.params import DURATION

    assert DURATION.convert(passed, None, None) > 0  # what gome run's option makes of it
