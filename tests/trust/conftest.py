from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trust.attacker import shared_tmpdir


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with shared_tmpdir(monkeypatch) as shared:
        yield shared
