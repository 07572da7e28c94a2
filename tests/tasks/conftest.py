"""Shared fixtures: a private extraction cache per test session, and loaded bundled tasks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def gome_home(tmp_path_factory) -> Path:
    # Bundled archives extract under $GOME_HOME/tasks; keep tests off the user's cache.
    home = tmp_path_factory.mktemp("gome_home")
    old = os.environ.get("GOME_HOME")
    os.environ["GOME_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("GOME_HOME", None)
    else:
        os.environ["GOME_HOME"] = old
