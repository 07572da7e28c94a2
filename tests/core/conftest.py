"""Fixtures for the core tests; the helpers live in tests/support/runs.py (shared with benchmarks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.runs import RUN_ARGS, TASK, decisions, effects, gome, key_outcomes  # noqa: F401


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> dict[str, Any]:
    """One uninterrupted offline run: the reference every crash test compares with."""
    root = tmp_path_factory.mktemp("baseline")
    db, fx = root / "g.db", root / "effects.log"
    proc = gome(["run", *RUN_ARGS, "--run-id", "base", "--workspace", str(root / "work")], db=db,
                env={"GOME_EFFECT_LOG": str(fx)}, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "base"
    return {"db": db, "run_id": "base", "decisions": decisions(db, "base"), "effects": effects(fx)}
