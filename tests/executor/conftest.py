"""Fixtures for the executor tests: a small task layout (public data, private
answers) in a temp folder, and a helper that runs solution code for real."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gome_es.executor import ExecutionSpec, Executor

# Real H100 failure output, copied from the project's shared/fixtures so CI has it wherever it runs.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "s3cr3t-answer-7781"  # test_sandbox.py repeats it


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    public, private = tmp_path / "task" / "public", tmp_path / "task" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (public / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (private / "answers.csv").write_text(f"id,y\n1,{SECRET}\n")
    return {"public": public, "private": private, "workspaces": tmp_path / "ws"}


@pytest.fixture
def run_code(layout):
    executor = Executor()

    def run(code: str, **overrides):
        fields = dict(
            key="t", code=textwrap.dedent(code), data_dir=layout["public"], forbidden_paths=[layout["private"]],
            workspace_root=layout["workspaces"], timeout_s=30, grace_s=1,
        )
        fields.update(overrides)
        return executor.run(ExecutionSpec(**fields))

    return run


@pytest.fixture(scope="session")
def gpu_failures() -> dict:
    path = FIXTURES / "gpu_failures.json"
    return json.loads(path.read_text())
