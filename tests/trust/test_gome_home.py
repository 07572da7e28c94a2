"""One rule for gome's own folder, read by every part that keeps files there."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome_es.driver.options import DriveOptions, default_home
from gome_es.executor.runner import gome_private_paths
from gome_es.tasks import bundle, fingerprint
from gome_es.trust.folders import gome_home


@pytest.mark.parametrize("value", [None, ""])
def test_unset_or_empty_gome_home_is_the_users_cache(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GOME_HOME", raising=False)
    else:
        monkeypatch.setenv("GOME_HOME", value)
    assert gome_home() == Path.home() / ".cache" / "gome-es"
    assert default_home() == gome_home()


def test_every_part_keeps_its_files_under_the_one_home(monkeypatch, tmp_path):
    monkeypatch.setenv("GOME_HOME", str(tmp_path))
    assert gome_home() == tmp_path
    assert DriveOptions().workspace_root == tmp_path / "work"
    assert bundle.cache_root() == tmp_path / "tasks" and bundle.answers_root() == tmp_path / "answers"
    assert fingerprint.cache_dir() == tmp_path / "fingerprints"
    assert tmp_path in gome_private_paths()  # a solution never sees it


def test_a_gome_home_that_is_a_link_or_relative_is_hidden_where_it_leads(monkeypatch, tmp_path):
    """$GOME_HOME holds the bundled answers: hiding only the link (or a relative name the sandbox
    cannot place) would leave the folder it leads to in view of a solution."""
    real = tmp_path / "real-home"
    real.mkdir()
    (tmp_path / "link-home").symlink_to(real)
    monkeypatch.setenv("GOME_HOME", str(tmp_path / "link-home"))
    hidden = gome_private_paths()
    assert tmp_path / "link-home" in hidden and real in hidden
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOME_HOME", "link-home")
    hidden = gome_private_paths()
    assert all(p.is_absolute() for p in hidden)
    assert tmp_path / "link-home" in hidden and real in hidden
