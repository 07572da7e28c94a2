"""Every attack on gome's own commands of issue 24 (tests/trust/own_attacks.py) is stopped here, as
the campaign's section "own commands: gc and shared folders" reports it."""

from __future__ import annotations

import pytest

from tests.trust.own_attacks import ALL, Attack, Unsupported


@pytest.mark.parametrize("attack", ALL, ids=[a.name for a in ALL])
def test_attack_on_gomes_own_commands_is_stopped(attack: Attack, tmp_path, monkeypatch):
    monkeypatch.delenv("GOME_WORKSPACE", raising=False)
    monkeypatch.delenv("GOME_CONFIG", raising=False)
    try:
        got_through = attack.run(tmp_path)
    except Unsupported as exc:
        pytest.skip(f"{attack.name}: {exc}")
    assert got_through is None, got_through
