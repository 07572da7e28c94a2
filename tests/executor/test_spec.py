"""`task_spec`: the one place that says what a solution run on a task may not read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gome_es.executor import task_spec


def test_task_spec_forbids_the_private_answers_and_the_database(tmp_path):
    task = SimpleNamespace(public_dir=str(tmp_path / "public"), private_dir=str(tmp_path / "private"))
    spec = task_spec(task, key="k", code="pass\n", workspace_root=tmp_path / "ws", timeout_s=7,
                     db=str(tmp_path / "g.db"), threads=3, memory_limit_mb=512, use_gpu=True)
    db = tmp_path / "g.db"
    assert spec.forbidden_paths == [tmp_path / "private", db, tmp_path / "g.db-wal", tmp_path / "g.db-shm",
                                    tmp_path / "g.db-journal"]
    assert spec.data_dir == tmp_path / "public" and isinstance(spec.data_dir, Path)
    assert (spec.key, spec.code, spec.workspace_root, spec.timeout_s) == ("k", "pass\n", tmp_path / "ws", 7.0)
    assert (spec.threads, spec.memory_limit_mb, spec.use_gpu) == (3, 512, True)


def test_task_spec_without_a_database_forbids_the_one_a_command_here_would_use(tmp_path, monkeypatch):
    """`gome exec` without GOME_DB left ./gome.db (and its WAL) readable."""
    task = SimpleNamespace(public_dir=tmp_path / "public", private_dir=tmp_path / "private")
    monkeypatch.chdir(tmp_path)
    for env_db, expected in ((None, tmp_path / "gome.db"), (str(tmp_path / "e.db"), tmp_path / "e.db")):
        if env_db is None:
            monkeypatch.delenv("GOME_DB", raising=False)
        else:
            monkeypatch.setenv("GOME_DB", env_db)
        for db in (None, ""):
            spec = task_spec(task, key="k", code="", workspace_root=tmp_path / "ws", timeout_s=1, db=db)
            assert spec.forbidden_paths[0] == tmp_path / "private"
            assert spec.forbidden_paths[1:] == [expected, expected.with_name(expected.name + "-wal"),
                                                expected.with_name(expected.name + "-shm"),
                                                expected.with_name(expected.name + "-journal")]
            assert (spec.threads, spec.memory_limit_mb, spec.use_gpu) == (1, None, False)


def test_task_spec_turns_bad_limits_into_a_message(tmp_path):
    """`exec --memory-mb 0` was reported as host_oom; the spec refuses it with a clear error."""
    import pytest

    from gome_es.errors import ExecutorError

    task = SimpleNamespace(public_dir=tmp_path / "public", private_dir=tmp_path / "private")
    for bad in ({"memory_limit_mb": 0}, {"timeout_s": -1}, {"timeout_s": float("nan")}, {"threads": 0}):
        args = {"timeout_s": 1.0, **bad}
        with pytest.raises(ExecutorError, match="execution k: .*got"):
            task_spec(task, key="k", code="", workspace_root=tmp_path / "ws", **args)
