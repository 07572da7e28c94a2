"""Real runs for the report tests, made once per session: a real store, real executions."""

from __future__ import annotations

import shutil

import pytest

from tests.report.driver import make_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """Run A (hostile hypothesis texts, one failing first attempt) and run B (other bias)."""
    root = tmp_path_factory.mktemp("report-runs")
    db = root / "gome.db"
    a = make_run(db, "run-a", root / "work", bias=1.0, iterations=3, hostile=True,
                 fail_code_keys={"t2/it1/code/0"})
    b = make_run(db, "run-b", root / "work", bias=1.5, iterations=3, hostile=True)
    return {"db": db, "a": a, "b": b, "root": root}


@pytest.fixture(scope="session")
def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (run `bash .ci/install-browser`): "
                    "the browser tests of the report need /usr/bin/chromium")
    return CHROMIUM
