"""`gome replay --reexecute` reruns every recorded experiment and reports reproducibility."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.support.scripted import ScriptedReasoner

pytestmark = pytest.mark.integration


class NoisyOnce(ScriptedReasoner):
    """Trace t2's first solution reports a validation score with unseeded noise: not reproducible."""

    def complete(self, request):
        resp = super().complete(request)
        if request.key == "t2/it0/code/0":
            out = json.loads(resp.content)
            out["code"] = out["code"].replace(
                'json.dump({"val_score": roc_auc_score(yb, model.predict_proba(Xb)[:, 1])}',
                'import random\njson.dump({"val_score": roc_auc_score(yb, model.predict_proba(Xb)[:, 1]) '
                '- random.random() / 100}')
            resp.content = json.dumps(out)
        return resp


def test_reexecute_reproduces_deterministic_experiments_and_flags_noisy_ones(tmp_path) -> None:
    db = tmp_path / "g.db"
    store = EventStore.open(db)
    task = load_task("breast-cancer-diagnosis")
    rid = start_run(store, task, RunConfig(traces=2, max_iterations=1, budget_s=600),
                    ReasonerConfig(kind="offline", model="scripted"), run_id="r")
    drive(store, rid, task=task, reasoner=NoisyOnce(), options=DriveOptions(workspace_root=tmp_path / "w"))
    store.close()
    res = CliRunner().invoke(cli, ["replay", "r", "--reexecute", "--json", "--db", str(db)])
    assert res.exit_code == 1, res.output  # one experiment is not reproducible
    out = json.loads(res.output[res.output.index("{"):])
    assert out["ok"] is True, "the decisions themselves still replay"
    rows = {r["key"]: r for r in out["reexecute"]["experiments"]}
    assert rows["t1/it0/exec/0"]["reproduced"] is True
    assert rows["t1/it0/exec/0"]["grade"] == rows["t1/it0/exec/0"]["recorded_grade"] is not None
    assert rows["t2/it0/exec/0"]["reproduced"] is False
    assert out["reexecute"]["total"] == 2 and out["reexecute"]["reproduced"] == 1


class ReadsTheDb(ScriptedReasoner):
    """Every solution first tries to read the gome database (earlier runs' graded submissions live there)."""

    def __init__(self, db) -> None:
        super().__init__()
        self.db = str(db)

    def complete(self, request):
        resp = super().complete(request)
        if request.purpose in ("code", "debug"):
            out = json.loads(resp.content)
            out["code"] = (f"try:\n    print('DB', open({self.db!r}, 'rb').read(16))\n"
                           "except OSError as exc:\n    print('refused', exc)\n") + out["code"]
            resp.content = json.dumps(out)
        return resp


def test_reexecuted_solutions_cannot_read_the_database(tmp_path) -> None:
    from gome_es.driver.reexecute import reexecute_run

    db = tmp_path / "g.db"
    store = EventStore.open(db)
    task = load_task("breast-cancer-diagnosis")
    rid = start_run(store, task, RunConfig(traces=1, max_iterations=1, budget_s=600),
                    ReasonerConfig(kind="offline", model="scripted"), run_id="r")
    drive(store, rid, task=task, reasoner=ReadsTheDb(db), options=DriveOptions(workspace_root=tmp_path / "w"))
    store.close()
    with EventStore.open(db, readonly=True) as ro:
        rex = reexecute_run(ro, "r")
    assert rex["total"] >= 1
    for row in rex["experiments"]:
        assert row["recorded_failure"] == "forbidden_access", row  # the agent forbade the db
        assert row["failure"] == "forbidden_access", row  # and so does the re-execution
        assert row["reproduced"] is True
