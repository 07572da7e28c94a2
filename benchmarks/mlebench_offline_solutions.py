"""One offline solution per generated MLE-bench competition, without the agent loop.

    python benchmarks/mlebench_offline_solutions.py DATA_DIR [ID ...] [--directions 1]

For each competition prepared under DATA_DIR (tests/fixtures/mlebench/make_competitions.py
writes them): the task understanding, the offline reasoner's first start direction(s), the
code it writes for them (short-training settings: 3 CNN epochs at 32 px, 100 boosting
rounds), one run of that code in a subprocess, and gome's grade of its submission.  Prints
per competition: recipe space, family, hold-out score, valid, graded score, seconds; or why
the offline rules do not cover it.  A quick check of the solutions; benchmarks/mlebench_offline.py
runs the whole agent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gome_es.core.reasoner import LlmRequest  # noqa: E402
from gome_es.driver.driver import task_summary  # noqa: E402
from gome_es.llm.offline import OfflineReasoner, uncovered  # noqa: E402
from gome_es.solutions.media import space_of  # noqa: E402
from gome_es.tasks import load_task  # noqa: E402
from gome_es.tasks.grader import grade_submission  # noqa: E402

FAST = {"cnn": {"epochs": 3, "image_size": 32}, "spec_cnn": {"epochs": 3}, "conv": {"steps": 100},
        "feat_hgb": {"max_iter": 100}, "spec_hgb": {"max_iter": 100},
        "pixel_hgb": {"max_iter": 60, "pixels_per_image": 3000}}


def ask(purpose: str, schema: str, context: dict) -> dict:
    req = LlmRequest(key=purpose, purpose=purpose, schema_name=schema, messages=[], context=context)
    return json.loads(OfflineReasoner().complete(req).content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--directions", type=int, default=1, help="start directions to run per competition")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gome-solutions-"))
    ids = args.ids or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    for cid in ids:
        task = load_task(f"mlebench:{cid}", mlebench_data=args.data)
        summary = task_summary(task)
        why = uncovered(summary)
        if why:
            print(f"{cid:48} uncovered: {why}", flush=True)
            continue
        directions = ask("directions", "DirectionsOut", {"task": summary, "n": args.directions, "seed": 0})
        for direction in directions["directions"][: args.directions]:
            recipe = direction["change"]
            recipe["params"].update(FAST.get(recipe["family"], {}))
            code = ask("code", "CodeOut", {"task": summary, "direction": {"change": recipe}})["code"]
            ws = work / f"{cid}-{recipe['family']}"
            shutil.rmtree(ws, ignore_errors=True)
            ws.mkdir(parents=True)
            (ws / "solution.py").write_text(code)
            started = time.monotonic()
            proc = subprocess.run([sys.executable, "solution.py"], cwd=ws, capture_output=True, text=True,
                                  env={**os.environ, "GOME_DATA_DIR": str(task.public_dir), "OMP_NUM_THREADS": "1"})
            seconds = time.monotonic() - started
            if proc.returncode:
                last = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
                print(f"{cid:48} {space_of(summary):9} {recipe['family']:11} failed {seconds:5.0f}s {last}", flush=True)
                continue
            val = json.loads((ws / "metrics.json").read_text())["val_score"]
            grade = grade_submission(task, ws / "submission.csv")
            print(f"{cid:48} {space_of(summary):9} {recipe['family']:11} val={val:.4f} valid={grade.valid_submission} "
                  f"score={grade.score} {seconds:5.0f}s", flush=True)
    print(f"work dir {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
