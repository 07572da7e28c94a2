"""The medal table at the N boundaries, both directions, ties at the threshold."""

from __future__ import annotations

import pytest

from gome_es.tasks.medals import medal_positions, rank_score

# (N, gold, silver, bronze) positions, worked out by hand from the table.
TABLE = [
    (1, 1, 1, 1),
    (99, 9, 19, 39),
    (100, 10, 20, 40),
    (249, 10, 49, 99),
    (250, 10, 50, 100),
    (999, 11, 50, 100),
    (1000, 12, 50, 100),
    (5000, 20, 250, 500),
]


@pytest.mark.parametrize("n,gold,silver,bronze", TABLE)
def test_positions(n, gold, silver, bronze):
    assert medal_positions(n) == {"gold": gold, "silver": silver, "bronze": bronze}


def board(n: int, lower: bool) -> list[float]:
    # Position p (1-based) holds score p when lower is better, n - p + 1 otherwise,
    # so each position's score is distinct and easy to name.
    return [float(p) if lower else float(n - p + 1) for p in range(1, n + 1)]


def at(n: int, position: int, lower: bool) -> float:
    return float(position) if lower else float(n - position + 1)


def worse(value: float, lower: bool, by: float = 0.5) -> float:
    return value + by if lower else value - by


@pytest.mark.parametrize("lower", [False, True], ids=["higher_better", "lower_better"])
@pytest.mark.parametrize("n,gold,silver,bronze", TABLE)
def test_medals_and_ties(n, gold, silver, bronze, lower):
    scores = board(n, lower)
    r = rank_score(at(n, gold, lower), scores)
    assert r.is_lower_better is lower or n == 1
    assert (r.gold_threshold, r.silver_threshold, r.bronze_threshold) == (
        at(n, gold, lower), at(n, silver, lower), at(n, bronze, lower))
    # Exactly the gold threshold (a tie) is gold, and only gold.
    assert (r.gold_medal, r.silver_medal, r.bronze_medal, r.any_medal) == (True, False, False, True)
    if n == 1:
        return
    # Just worse than gold but tied with the silver threshold: silver.
    if silver > gold:
        r = rank_score(at(n, silver, lower), scores)
        assert (r.gold_medal, r.silver_medal, r.bronze_medal) == (False, True, False)
        r = rank_score(worse(at(n, gold, lower), lower), scores)
        assert (r.gold_medal, r.silver_medal) == (False, True)
    if bronze > silver:
        r = rank_score(at(n, bronze, lower), scores)
        assert (r.gold_medal, r.silver_medal, r.bronze_medal) == (False, False, True)
    # Just worse than the bronze threshold: no medal.
    r = rank_score(worse(at(n, bronze, lower), lower), scores)
    assert not r.any_medal


@pytest.mark.parametrize("lower", [False, True])
def test_above_median_is_strict(lower):
    scores = board(101, lower)  # median is position 51's score
    median = at(101, 51, lower)
    assert rank_score(median, scores).median_threshold == median
    assert not rank_score(median, scores).above_median
    better = median - 0.5 if lower else median + 0.5
    assert rank_score(better, scores).above_median


def test_none_score_gets_nothing():
    r = rank_score(None, board(300, False))
    assert not (r.any_medal or r.above_median)


def test_direction_inferred_from_first_and_last():
    assert rank_score(1.0, [0.1, 0.2, 0.3]).is_lower_better
    assert not rank_score(1.0, [0.3, 0.2, 0.1]).is_lower_better
