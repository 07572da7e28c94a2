"""What a sweep is: its spec, its cells and the `gome run` arguments of each cell.

Pure: no store, no subprocess, no clock.  A sweep is the grid tasks x variants x
seeds; each cell is one ordinary gome run with a run id derived from the sweep
id, so a cell can only ever be started once (the store refuses a second
``RunStarted`` under the same id).  Variants are named sets of `gome run`
options, the same mapping ``benchmarks/agent_compare.py`` used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import GomeError

# variant -> extra `gome run` options.  The paper's ablations: w/o structured
# reasoning, w/o success memory, w/o multi-trace; tree search is the baseline.
VARIANTS: dict[str, list[str]] = {
    "gome": [],
    "tree": ["--strategy", "tree"],
    "no-structured-reasoning": ["--no-structured-reasoning"],
    "no-memory": ["--no-memory"],
    "one-trace": ["--traces", "1"],
}
ALIASES = {"no-structured": "no-structured-reasoning", "single-trace": "one-trace"}
ABLATIONS = ("no-structured-reasoning", "no-memory", "one-trace")

SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SweepError(GomeError):
    """A sweep cannot be planned, resumed or reported as asked."""


@dataclass(frozen=True)
class Cell:
    """One (task, variant, seed) of a sweep and the id of its run."""

    task: str
    variant: str
    seed: int
    run_id: str

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "variant": self.variant, "seed": self.seed, "run_id": self.run_id}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Cell:
        return cls(str(d["task"]), str(d["variant"]), int(d["seed"]), str(d["run_id"]))

    @property
    def label(self) -> str:
        return f"{self.task} / {self.variant} / seed {self.seed}"


def parse_variants(text: str) -> list[str]:
    out: list[str] = []
    for raw in (v.strip() for v in text.split(",")):
        if not raw:
            continue
        name = ALIASES.get(raw, raw)
        if name not in VARIANTS:
            raise SweepError(f"unknown variant {raw!r} in --variants; use a comma-separated list of "
                             f"{', '.join(VARIANTS)}")
        if name not in out:
            out.append(name)
    if not out:
        raise SweepError("--variants names no variant; use e.g. gome,tree")
    return out


def parse_seeds(text: str) -> list[int]:
    """'3' -> seeds 0, 1, 2; '1,2,5' -> exactly those."""
    text = text.strip()
    try:
        if "," not in text:
            n = int(text)
            if n < 1 or n > 1000:
                raise SweepError(f"--seeds {n}: give a count from 1 to 1000, or a list like 0,1,2")
            return list(range(n))
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SweepError(f"--seeds {text!r} is neither a count (3) nor a list of seeds (0,1,2)") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise SweepError(f"--seeds {text!r}: seeds must be distinct non-negative integers")
    return seeds


def parse_task_lines(lines: Iterable[str], known: set[str], mlebench: bool) -> list[str]:
    """Task ids from a file, one a line (``#`` comments); MLE-bench split files work as they are.

    A bare competition id that is not a bundled task becomes ``mlebench:<id>``
    when MLE-bench data is given, so ``experiments/splits/low.txt`` can be passed directly.
    """
    out = []
    for line in lines:
        tid = line.split("#", 1)[0].strip()
        if not tid:
            continue
        if tid not in known and ":" not in tid and mlebench:
            tid = f"mlebench:{tid}"
        if tid not in out:
            out.append(tid)
    return out


def run_id_for(sweep_id: str, task: str, variant: str, seed: int) -> str:
    return f"{sweep_id}--{SAFE.sub('_', task)}--{variant}--s{seed}"


def plan_cells(sweep_id: str, tasks: list[str], variants: list[str], seeds: list[int]) -> list[Cell]:
    """The grid in the order it runs: seed-major, so a partial sweep already covers every task and variant."""
    cells = [Cell(t, v, s, run_id_for(sweep_id, t, v, s)) for s in seeds for t in tasks for v in variants]
    if len({c.run_id for c in cells}) != len(cells):
        raise SweepError("two tasks map to the same run id (they differ only in characters outside "
                         "A-Z a-z 0-9 _ . -); rename or drop one")
    return cells


def run_args(spec: dict[str, Any], cell: Cell) -> list[str]:
    """The `gome run` options of one cell (without --db, --run-id and --workspace)."""
    args = ["--task", cell.task, "--seed", str(cell.seed), "--budget", str(spec["budget_s"]),
            "--max-iterations", str(spec["max_iterations"]), "--reasoner", spec["reasoner"],
            "--slots", str(spec["slots"])]
    variant_args = VARIANTS[cell.variant]
    if "--traces" not in variant_args:
        args += ["--traces", str(spec["traces"])]
    for key, opt in (("model", "--model"), ("base_url", "--base-url"), ("mlebench_data", "--mlebench-data"),
                     ("exec_timeout", "--exec-timeout")):
        if spec.get(key):
            args += [opt, str(spec[key])]
    return args + variant_args
