"""Suite-wide fixtures, and the guard that keeps unit tests free of processes and sleeps.

Tests marked ``integration`` may start processes and wait; every other test is a unit
test, and tests/support/unit_guard.py refuses it those (docs/testing.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import structlog

from tests.support.unit_guard import UnitGuard

GUARD = UnitGuard()
# Unit tests slower than this are listed at the end of a run (a hint to mark or speed them up).
UNIT_SLOW_S = 2.0


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """The CLI configures structlog globally (level, renderer); no test may inherit another's setup."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


# The user's shell must not steer the suite, nor the suite write into the user's files: an exported
# COLUMNS=80 (pytest-xdist's workers set one too) changes the width of every table the commands print,
# and GOME_DB, GOME_CONFIG or GOME_HOME would point the commands at the user's own database, config and
# cache (~/.cache/gome-es: bundled tasks, fingerprints, sweep logs). Every GOME_ variable goes, and
# GOME_HOME is a folder of this session's own, removed at the end. Tests that need one set it themselves.
_STEERING = ("COLUMNS", "LINES")
_home: str | None = None


def _hermetic_environment() -> None:
    global _home
    for name in [n for n in os.environ if n.startswith("GOME_") or n in _STEERING]:
        del os.environ[name]
    _home = tempfile.mkdtemp(prefix="gome-test-home-")
    os.environ["GOME_HOME"] = _home


def pytest_configure(config: pytest.Config) -> None:
    _hermetic_environment()
    GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    GUARD.uninstall()
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)


# Kinds of test that are integration tests by nature: they are marked integration too, so that
# `-m 'not integration'` (which replaces the default `-m 'not slow'`) leaves them out as well.
INTEGRATION_BY_NATURE = ("slow", "browser", "gpu")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in INTEGRATION_BY_NATURE):
            item.add_marker(pytest.mark.integration)


def _watched(item: pytest.Item) -> str | None:
    return None if item.get_closest_marker("integration") else item.nodeid


def _guarded(item: pytest.Item):
    GUARD.take_breaches()
    with GUARD.watching(_watched(item)):
        result = yield
    breaches = GUARD.take_breaches()
    if breaches:  # refused, but the code under test caught the error and went on
        raise pytest.fail.Exception(breaches[0], pytrace=False)
    return result


# the test's fixtures (setup) and its body (call); not teardown, where a module's or the session's
# fixtures made for integration tests may be torn down after a unit test
pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_guarded)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_guarded)


_slow_units: list[tuple[float, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration >= UNIT_SLOW_S and "integration" not in report.keywords:
        _slow_units.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter) -> None:
    if _slow_units:
        terminalreporter.section("unit tests slower than %.0f s (mark them integration, or make them faster)"
                                 % UNIT_SLOW_S)
        for duration, nodeid in sorted(_slow_units, reverse=True):
            terminalreporter.write_line(f"{duration:7.2f}s {nodeid}")
