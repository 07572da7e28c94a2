"""Every attack on gome's own commands of issue 24 (tests/trust/own_attacks.py) is stopped here, as
the campaign's section "own commands: gc and shared folders" reports it."""

from __future__ import annotations

import pytest

from tests.trust.own_attacks import Attack, Unsupported, sections

# the two bombs inflate 1 GB in a child process and one attack makes a real run: -m slow (the campaign
# runs them all; tests/cli/test_config_trust.py checks the start line quickly)
SLOW = {"bomb_import", "bomb_diff", "config_names_its_workspace"}  # a real 30 s run
# these start processes (as another user, or the launcher): integration tests (docs/testing.md)
PROCESSES = {"scratch_by_nobody", "scratch_link", "dot_gome_by_nobody", "launcher_given_a_path", "attempt_swapped",
             "environment_names_paths"}
CASES = [pytest.param(a, id=f"{section}:{a.name}", marks=[pytest.mark.slow] if a.name in SLOW else
                      [pytest.mark.integration] if a.name in PROCESSES else [])
         for section, attacks in sections().items() for a in attacks]


@pytest.mark.parametrize("attack", CASES)
def test_attack_on_gomes_own_commands_is_stopped(attack: Attack, tmp_path, monkeypatch):
    monkeypatch.delenv("GOME_WORKSPACE", raising=False)
    monkeypatch.delenv("GOME_CONFIG", raising=False)
    try:
        got_through = attack.run(tmp_path)
    except Unsupported as exc:
        pytest.skip(f"{attack.name}: {exc}")
    assert got_through is None, got_through
