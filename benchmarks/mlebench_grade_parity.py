"""gome's own grader against MLE-bench's, on every lite competition and many submissions.

Needs the ``mlebench`` package importable (a throwaway venv with ``pip install -e`` of an
mle-bench checkout, plus pandas, scikit-learn, pyyaml, appdirs, tqdm, diskcache, tenacity,
py7zr) and gome importable (PYTHONPATH=the gome checkout).  For each competition of the lite
split it writes small answers and a sample submission (tests/tasks/lite_cases.py), then ~25
submissions (valid, invalid, edge), and grades each twice: MLE-bench's ``Grader`` (the score
``grade_csv`` reports, rounded to 5 decimals, None when invalid) and gome's
``grade_submission_with_reasons(..., grader="gome")``.  A NaN or infinite MLE-bench score
counts as None (gome reports those submissions invalid, on purpose; see docs/tasks.md).

    PYTHONPATH=. python benchmarks/mlebench_grade_parity.py [--only ID ...] [--show-equal]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tasks import lite_cases  # noqa: E402


def mlebench_score(cid: str, data_dir: Path, submission: Path):
    from mlebench.registry import registry  # type: ignore[import-not-found]
    from mlebench.utils import load_answers, read_csv  # type: ignore[import-not-found]

    competition = registry.set_data_dir(data_dir).get_competition(cid)
    try:
        frame = read_csv(submission)
    except Exception as exc:  # grade_csv itself raises here
        return f"raised {type(exc).__name__}"
    score = competition.grader(frame, load_answers(competition.answers))
    if score is None or (isinstance(score, float) and not math.isfinite(score)):
        return None
    return float(score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="these competitions only")
    parser.add_argument("--show-equal", action="store_true", help="print every comparison, not only differences")
    parser.add_argument("--seeds", type=int, default=1, help="data and noise seeds per competition (default 1)")
    args = parser.parse_args(argv)
    from gome_es.tasks import grade_submission_with_reasons, load_task
    from gome_es.tasks.mlebench_grade import grading_task
    from gome_es.tasks.model import TaskDataMissing

    total = equal = 0
    invalid_both = crashed = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # importing mlebench opens a disk cache (./cache) in the working directory
        root = Path(tmp) / "data"
        for cid, seed in [(c, k) for c in args.only or lite_cases.all_lite() for k in range(args.seeds)]:
            comp = lite_cases.build(cid, seed=seed)
            lite_cases.write_competition(root, comp)
            try:
                task = load_task(f"mlebench:{cid}", mlebench_data=root)
            except TaskDataMissing as exc:
                task = grading_task(cid, root, why=str(exc))
            n_c = eq_c = 0
            for name, text in lite_cases.cases(comp, seed=seed + 1).items():
                sub = Path(tmp) / "subs" / cid / f"{seed}-{name}.csv"
                sub.parent.mkdir(parents=True, exist_ok=True)
                sub.write_text(text)
                theirs = mlebench_score(cid, root, sub)
                graded = grade_submission_with_reasons(task, sub, grader="gome")
                ours = graded.report.score
                raised = isinstance(theirs, str)
                crashed += raised
                same = (theirs is None and ours is None) or (raised and ours is None) or (
                    isinstance(theirs, float) and ours is not None and theirs == ours)
                total += 1
                n_c += 1
                equal += same
                eq_c += same
                invalid_both += theirs is None and ours is None
                if not same or args.show_equal:
                    rows.append(f"  {'==' if same else '!='} {cid} {name}: mlebench {theirs} gome {ours} "
                                f"{graded.reasons[:1]}")
            print(f"{cid:<52} seed {seed}: {eq_c}/{n_c} equal")
    print("\n".join(rows))
    print(f"compared {total} submissions on {len(args.only or lite_cases.all_lite())} competitions: "
          f"{equal} equal ({invalid_both} invalid in both; {crashed} where mlebench's grade_csv raises on an "
          f"unreadable CSV and gome reports an invalid submission), {total - equal} different")
    return 0 if equal == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
