"""Suite-wide fixtures."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """The CLI configures structlog globally (level, renderer); no test may inherit another's setup."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
