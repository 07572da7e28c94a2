"""The bundled tasks' cache is used only when nobody else could have made or changed it.

A copy of a task (its public files and the hash its answers must have) or of its answers that
another user put in the cache would be graded as the real one, so a cache folder that others can
write, a link in place of an extracted copy, or a copy that is not ours is refused, naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gome_es.errors import GomeError
from gome_es.tasks import bundle

TASK = "breast-cancer-diagnosis"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOME_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _archive() -> Path:
    return bundle.bundled_archives()[TASK]


def test_a_fresh_cache_is_made_private_and_used_again(home: Path) -> None:
    first = bundle.extracted_dir(TASK, _archive())
    assert first.parent == home / "tasks" and (first / "public").is_dir()
    assert (home / "tasks").stat().st_mode & 0o777 == 0o700
    assert bundle.extracted_dir(TASK, _archive()) == first
    answers = bundle.extracted_answers(TASK, first)
    assert (answers / "answers.csv").is_file() and bundle.extracted_answers(TASK, first) == answers


def test_a_cache_folder_others_can_write_is_refused(home: Path) -> None:
    (home / "tasks").mkdir(parents=True)
    os.chmod(home / "tasks", 0o777)  # sticky bit absent: anyone could plant a copy
    with pytest.raises(GomeError, match="tasks"):
        bundle.extracted_dir(TASK, _archive())


def test_an_extracted_copy_that_is_a_link_is_refused(home: Path, tmp_path: Path) -> None:
    real = bundle.extracted_dir(TASK, _archive())
    planted = tmp_path / "planted"
    real.rename(planted)  # someone else's copy, with answers of their own choosing
    real.symlink_to(planted)
    with pytest.raises(GomeError, match="symbolic link"):
        bundle.extracted_dir(TASK, _archive())


def test_answers_that_are_a_link_are_refused(home: Path, tmp_path: Path) -> None:
    task_dir = bundle.extracted_dir(TASK, _archive())
    answers = bundle.extracted_answers(TASK, task_dir)
    planted = tmp_path / "answers"
    answers.rename(planted)
    answers.symlink_to(planted)
    with pytest.raises(GomeError, match="symbolic link"):
        bundle.extracted_answers(TASK, task_dir)
