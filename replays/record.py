"""Record the golden runs in this folder (run from the repository root):

    python replays/record.py [NAME ...]     (default: all of them)

Each is a short, real run with the offline reasoner on a bundled task, exported
with its blobs.  tests/core/test_golden_replays.py imports each and replays it
with zero divergence, so a change to the policy that alters a recorded decision
fails there; re-record (and say why in the commit) when the change is meant.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {
    # recorded in lock-step rounds, before the schedule was an option (their config has no key)
    "breast-cancer-gome": ["--task", "breast-cancer-diagnosis", "--traces", "2", "--max-iterations", "3",
                           "--schedule", "lockstep"],
    "wine-tree": ["--task", "wine-cultivar", "--strategy", "tree", "--max-iterations", "4", "--schedule", "lockstep"],
    "penguin-ablation": ["--task", "penguin-body-mass", "--traces", "2", "--max-iterations", "2", "--no-memory",
                         "--no-structured-reasoning", "--schedule", "lockstep"],
    # asynchronous: three traces on two slots, outcomes appended with the decisions they unlock
    "digits-async": ["--task", "digits-8x8", "--traces", "3", "--max-iterations", "3", "--schedule", "async"],
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "g.db"
        for name, args in RUNS.items():
            if sys.argv[1:] and name not in sys.argv[1:]:
                continue
            cmd = [sys.executable, "-m", "gome_es", "run", *args, "--run-id", name, "--seed", "7", "--budget", "1h",
                   "--slots", "2", "--quiet", "--db", str(db), "--workspace", str(Path(tmp) / "work")]
            subprocess.run(cmd, check=True)
            out = HERE / f"{name}.jsonl.gz"
            subprocess.run([sys.executable, "-m", "gome_es", "export", name, "-o", str(out), "--db", str(db)],
                           check=True)
            print(f"recorded {out.name} ({out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
