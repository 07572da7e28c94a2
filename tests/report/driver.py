"""Create and drive one real run on the bundled breast-cancer task (used by the report tests).

As a script (``python -m tests.report.driver DB RUN_ID [BIAS] [ITERATIONS]``) it drives a run in
its own process, so `gome watch` can be tested against a run another process is writing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.core.reasoner import LlmRequest, LlmResponse
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.store import EventStore
from gome_es.tasks import load_task
from tests.support.scripted import ScriptedReasoner

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)> & \"quoted\" \x1b[2J"


class HostileReasoner(ScriptedReasoner):
    """The scripted reasoner, but its hypotheses and directions carry markup and escape codes."""

    def complete(self, request: LlmRequest) -> LlmResponse:
        resp = super().complete(request)
        if request.purpose not in ("propose", "directions"):
            return resp
        out: dict[str, Any] = json.loads(resp.content)
        for item in out.get("candidates", []) + out.get("directions", []):
            item["text"] = f"{item['text']} {XSS}"
        return LlmResponse(content=json.dumps(out, sort_keys=True), model=resp.model)


def make_run(db: Path, run_id: str, work: Path, *, bias: float = 1.0, traces: int = 2, iterations: int = 3,
             hostile: bool = False, fail_code_keys: set[str] | None = None) -> str:
    store = EventStore.open(db)
    try:
        task = load_task("breast-cancer-diagnosis")
        cfg = RunConfig(traces=traces, max_iterations=iterations, budget_s=600)
        rid = start_run(store, task, cfg, ReasonerConfig(kind="offline"), run_id=run_id)
        cls = HostileReasoner if hostile else ScriptedReasoner
        drive(store, rid, task=task, reasoner=cls(bias=bias, fail_code_keys=fail_code_keys),
              options=DriveOptions(workspace_root=work), lease_heartbeat_s=1.0)
        return rid
    finally:
        store.close()


if __name__ == "__main__":
    db, rid = Path(sys.argv[1]), sys.argv[2]
    bias = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    its = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    make_run(db, rid, db.parent / "work", bias=bias, traces=2, iterations=its)
