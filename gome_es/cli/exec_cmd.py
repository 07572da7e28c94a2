"""`gome exec TASK SOLUTION.py`: run one solution file in the executor's
sandbox against a task's public data and print the result and the submission's
validation verdict (never its test score).  The tool for debugging a solution
the agent wrote.  Parse, one library call, print.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from gome_es.cli.common import db_option
from gome_es.cli.params import AT_LEAST_ONE, DURATION, INPUT_FILE, MEMORY_MB, WORK_DIR
from gome_es.core.vocabulary import FailureClass
from gome_es.errors import TaskError
from gome_es.executor import ExecutionResult, Executor, GpuPool, task_spec
from gome_es.trust.folders import scratch_dir
from gome_es.trust.text import clean


def exec_solution(task_id: str, solution: Path, *, timeout_s: float = 3600.0, memory_mb: int | None = None,
                  threads: int = 1, use_gpu: bool = False, workspace_root: Path | None = None,
                  db: Path | str | None = None, mlebench_data: Path | None = None,
                  ) -> tuple[ExecutionResult, dict[str, Any]]:
    """Run ``solution`` against the task; returns the result and the validation verdict.

    ``db`` (default $GOME_DB) is the database the sandbox must not see; ``mlebench_data`` the folder
    `mlebench prepare` filled, for an ``mlebench:<id>`` task (default $GOME_MLEBENCH_DATA)."""
    # lazy: keeps gome <cmd> --help light
    from gome_es.tasks import load_task, validate_submission

    if db is None:
        db = os.environ.get("GOME_DB")
    task = load_task(task_id, mlebench_data=mlebench_data)

    # This user's own scratch folder ($TMPDIR/gome-exec-<uid>, 0700), checked each time it is used.
    root = workspace_root or scratch_dir("gome-exec")
    spec = task_spec(
        task, key=f"exec-{task.id}-{solution.stem}", code=read_solution(solution), workspace_root=root,
        timeout_s=timeout_s, db=str(db) if db is not None else None, threads=threads, memory_limit_mb=memory_mb,
        use_gpu=use_gpu,
    )
    executor = Executor(gpu_pool=GpuPool() if use_gpu else None)
    result = executor.run(spec)
    if result.submission_path is None:
        verdict = {"valid": False, "reasons": list(result.audit.outputs) or ["no submission.csv was written"]}
    else:
        check = validate_submission(task, result.submission_path)
        verdict = {"valid": check.valid, "reasons": list(check.reasons)}
    return result, verdict


def read_solution(path: Path) -> str:
    """The solution's source, which must be UTF-8 text (what the agent writes and the sandbox runs)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TaskError(f"cannot read the solution {path} ({exc.strerror})") from exc
    if b"\x00" in data:
        raise TaskError(f"{path} holds NUL bytes: it is a binary file (or UTF-16 text), not a Python "
                        "solution; pass a UTF-8 .py file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason}); save the solution "
                        "as UTF-8 and run it again") from None


@click.command("exec")
@click.argument("task")
@click.argument("solution", type=INPUT_FILE)
@click.option("--timeout", "timeout_s", type=DURATION, default=3600.0, show_default=True,
              help="Wall-clock limit: seconds (more than 0) or a duration such as 10m.")
@click.option("--memory-mb", type=MEMORY_MB, default=None, help="Memory limit for the whole process tree (MB, 1 or more).")
@click.option("--threads", type=AT_LEAST_ONE, default=1, show_default=True, help="OMP/MKL/torch thread count (1 or more).")
@click.option("--gpu/--no-gpu", "use_gpu", default=False, help="Give the solution a GPU slot if one exists.")
@click.option("--workspace", "workspace_root", type=WORK_DIR, default=None,
              help="Where attempt workspaces are created (default: $TMPDIR/gome-exec-<uid>, private to you).")
@click.option("--json", "as_json", is_flag=True, help="Print the result and verdict as JSON.")
@click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path), envvar="GOME_MLEBENCH_DATA",
              show_envvar=True, help="Directory `mlebench prepare` filled (for TASK mlebench:<competition-id>).")
@db_option
def exec_command(task: str, solution: Path, timeout_s: float, memory_mb: int | None, threads: int, use_gpu: bool,
                 workspace_root: Path | None, as_json: bool, mlebench_data: Path | None, db: Path) -> None:
    """Run SOLUTION.py against TASK's public data in the sandbox; print the
    result and whether the submission is valid (never the test score).

    Exit status: 0 if the run was ok and the submission valid, 1 otherwise,
    2 if the task or sandbox could not be set up."""
    result, verdict = exec_solution(task, solution, timeout_s=timeout_s, memory_mb=memory_mb, threads=threads,
                                    use_gpu=use_gpu, workspace_root=workspace_root, db=db,
                                    mlebench_data=mlebench_data)

    if as_json:
        click.echo(json.dumps({"result": result.model_dump(mode="json"), "validation": verdict}, indent=2))
        raise SystemExit(0 if result.failure == FailureClass.ok and verdict["valid"] else 1)

    def say(line: str) -> None:  # a solution's output and the paths it wrote: through the sanitizer
        click.echo(clean(line))

    say(f"failure:    {result.failure.value}  ({result.detail})")
    say(f"exit:       {result.exit_code}  in {result.duration_s:.2f} s, peak RSS {result.peak_rss_mb} MB"
        + (f", peak GPU {result.peak_gpu_mb} MB" if result.peak_gpu_mb is not None else ""))
    say(f"val_score:  {result.val_score}")
    say(f"submission: {result.submission_path}  valid={verdict['valid']}")
    for reason in verdict["reasons"]:
        say(f"  - {reason}")
    if result.audit.private_access or result.audit.network:
        say(f"audit:      private={result.audit.private_access} network={result.audit.network}")
    for warning in result.warnings:
        say(f"warning:    {warning}")
    say(f"sandbox:    {' '.join(result.isolation) or 'none'}; memory limit {result.memory_limit_mb} MB "
        f"({result.memory_limit_source})")
    if result.audit.outputs:
        say(f"outputs:    {'; '.join(result.audit.outputs)}")
    say(f"workspace:  {result.workspace}")
    if result.stderr_tail.strip():
        say("--- stderr (tail) ---")
        say(result.stderr_tail[-2000:])
    ok = result.failure == FailureClass.ok and verdict["valid"]
    raise SystemExit(0 if ok else 1)
