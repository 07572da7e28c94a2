"""Medal thresholds and ranking against a leaderboard, with MLE-bench's exact rules.

Positions are 1-based leaderboard ranks.  A score earns a medal when it is at
least as good as the score at the medal's position (ties at the threshold
count); medals are exclusive; ``above_median`` is strict.  The direction is
inferred from the leaderboard itself (first row better than last), as MLE-bench
does.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def medal_positions(n_teams: int) -> dict[str, int]:
    """1-based leaderboard positions of the last gold, silver and bronze medal."""
    n = n_teams
    if n < 1:
        raise ValueError(f"a leaderboard needs at least one team, got {n}")
    if n < 100:
        return {"gold": max(1, int(0.1 * n)), "silver": max(1, int(0.2 * n)), "bronze": max(1, int(0.4 * n))}
    if n < 250:
        return {"gold": 10, "silver": max(1, int(0.2 * n)), "bronze": max(1, int(0.4 * n))}
    if n < 1000:
        return {"gold": 10 + int(0.002 * n), "silver": 50, "bronze": 100}
    return {"gold": 10 + int(0.002 * n), "silver": max(1, int(0.05 * n)), "bronze": max(1, int(0.1 * n))}


def leaderboard_lower_is_better(scores: Sequence[float]) -> bool:
    return bool(scores[0] < scores[-1])


@dataclass(frozen=True)
class Ranking:
    gold_threshold: float
    silver_threshold: float
    bronze_threshold: float
    median_threshold: float
    gold_medal: bool
    silver_medal: bool
    bronze_medal: bool
    above_median: bool
    is_lower_better: bool

    @property
    def any_medal(self) -> bool:
        return self.gold_medal or self.silver_medal or self.bronze_medal


def rank_score(score: float | None, leaderboard_scores: Sequence[float]) -> Ranking:
    """Where ``score`` lands on a leaderboard given in rank order (row 1 = first)."""
    scores = [float(s) for s in leaderboard_scores]
    pos = medal_positions(len(scores))
    gold_t, silver_t, bronze_t = (scores[pos[k] - 1] for k in ("gold", "silver", "bronze"))
    median_t = float(np.median(scores))
    lower = leaderboard_lower_is_better(scores)
    if score is None:
        return Ranking(gold_t, silver_t, bronze_t, median_t, False, False, False, False, lower)

    def at_least(threshold: float) -> bool:
        return score <= threshold if lower else score >= threshold

    gold = at_least(gold_t)
    silver = not gold and at_least(silver_t)
    bronze = not gold and not silver and at_least(bronze_t)
    above = score < median_t if lower else score > median_t
    return Ranking(gold_t, silver_t, bronze_t, median_t, gold, silver, bronze, above, lower)
