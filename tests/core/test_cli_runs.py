"""The run commands as a user meets them: show --json, resume refusals, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from gome_es.store import EventStore
from gome_es.store.errors import StoreMissing
from tests.support.runs import RUN_ARGS, gome

pytestmark = pytest.mark.integration


def test_show_json_has_what_scripts_need(baseline) -> None:
    out = gome(["show", baseline["run_id"], "--json"], db=baseline["db"], check=True)
    s = json.loads(out.stdout)
    assert s["status"] == "completed" and s["event_count"] > 20
    assert set(s["traces"]) == {"t1", "t2"}
    assert all(t["best_val_score"] is not None for t in s["traces"].values())
    assert s["selected"]["solution_id"] and s["selected"]["submission_sha"]
    for k in ("score", "gold_threshold", "silver_threshold", "bronze_threshold", "median_threshold", "any_medal",
              "above_median", "valid_submission"):
        assert k in s["grade"]
    text = gome(["show", baseline["run_id"]], db=baseline["db"], check=True).stdout
    assert "grade: test auc_roc" in text and "lines: gold" in text  # the grade in words, not a key dump


def test_resume_of_a_finished_run_says_what_to_do_instead(baseline) -> None:
    res = gome(["resume", baseline["run_id"]], db=baseline["db"])
    assert res.returncode == 2 and "already finished" in res.stderr and "gome fork" in res.stderr


def test_second_driver_of_a_live_run_is_refused_naming_the_holder(tmp_path) -> None:
    db = tmp_path / "g.db"
    env = {**os.environ, "GOME_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "run", *RUN_ARGS, "--run-id", "live",
                             "--workspace", str(tmp_path / "w")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if db.exists():
                try:
                    store = EventStore.open(db, readonly=True)
                except StoreMissing:  # the file exists but the run has not written its schema yet
                    time.sleep(0.2)
                    continue
                ok = store.run_exists("live") and store.last_seq("live") > 3
                store.close()
                if ok:
                    break
            time.sleep(0.2)
        res = gome(["resume", "live", "--workspace", str(tmp_path / "w")], db=db)
        assert res.returncode == 2
        assert f"pid {proc.pid}" in res.stderr and "being driven by" in res.stderr
        status = gome(["status", "live"], db=db).stdout
        assert status.startswith("running")
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def test_bad_input_gets_clear_messages(tmp_path, baseline) -> None:
    junk = tmp_path / "not-a-db.txt"
    junk.write_text("hello, I am not a database\n" * 100)
    res = gome(["show", "x"], db=junk)
    assert res.returncode == 2 and str(junk) in res.stderr
    res = gome(["run", "--task", "no-such-task"], db=tmp_path / "g.db")
    assert res.returncode == 2 and "no-such-task" in res.stderr and "breast-cancer-diagnosis" in res.stderr
    res = gome(["run", "--task", "wine-cultivar", "--budget", "ten minutes"], db=tmp_path / "g.db")
    assert res.returncode == 2 and "is not a duration" in res.stderr
    res = gome(["show", "nope"], db=tmp_path / "g.db")
    assert res.returncode == 2 and "no gome database at" in res.stderr
    res = gome(["show", "nope"], db=baseline["db"])
    assert res.returncode == 2 and "run nope not found" in res.stderr and "gome runs" in res.stderr
