"""The generated MLE-bench competitions (tests/fixtures/mlebench/make_competitions.py), for tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "fixtures" / "mlebench" / "make_competitions.py"
# Row multiplier: small enough that a solution fits in seconds, large enough to learn something.
TEST_SCALE = 0.3


def generator():
    spec = importlib.util.spec_from_file_location("make_competitions", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def make(root: Path, scale: float = TEST_SCALE, only: list[str] | None = None) -> Path:
    generator().make_competitions(root, scale=scale, only=only)
    return root
