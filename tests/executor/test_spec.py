"""`task_spec`: the one place that says what a solution run on a task may not read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gome_es.executor import task_spec


def test_task_spec_forbids_the_private_answers_and_the_database(tmp_path):
    task = SimpleNamespace(public_dir=str(tmp_path / "public"), private_dir=str(tmp_path / "private"))
    spec = task_spec(task, key="k", code="pass\n", workspace_root=tmp_path / "ws", timeout_s=7,
                     db=str(tmp_path / "g.db"), threads=3, memory_limit_mb=512, use_gpu=True)
    assert spec.forbidden_paths == [tmp_path / "private", tmp_path / "g.db"]
    assert spec.data_dir == tmp_path / "public" and isinstance(spec.data_dir, Path)
    assert (spec.key, spec.code, spec.workspace_root, spec.timeout_s) == ("k", "pass\n", tmp_path / "ws", 7.0)
    assert (spec.threads, spec.memory_limit_mb, spec.use_gpu) == (3, 512, True)


def test_task_spec_without_a_database_forbids_only_the_answers(tmp_path):
    task = SimpleNamespace(public_dir=tmp_path / "public", private_dir=tmp_path / "private")
    for db in (None, ""):
        spec = task_spec(task, key="k", code="", workspace_root=tmp_path / "ws", timeout_s=1, db=db)
        assert spec.forbidden_paths == [tmp_path / "private"]
        assert (spec.threads, spec.memory_limit_mb, spec.use_gpu) == (1, None, False)
