"""`gome exec TASK SOLUTION.py`: run one solution file in the executor's
sandbox against a task's public data and print the result and the submission's
validation verdict (never its test score).  The tool for debugging a solution
the agent wrote.  Parse, one library call, print.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from gome_es.cli.common import fail
from gome_es.cli.params import AT_LEAST_ONE, DURATION, INPUT_FILE, MEMORY_MB, WORK_DIR
from gome_es.errors import GomeError, TaskError
from gome_es.executor import ExecutionResult, Executor, GpuPool, task_spec


def exec_solution(task_id: str, solution: Path, *, timeout_s: float = 3600.0, memory_mb: int | None = None,
                  threads: int = 1, use_gpu: bool = False, workspace_root: Path | None = None,
                  mlebench_data: Path | None = None) -> tuple[ExecutionResult, dict]:
    """Run ``solution`` against the task; returns the result and the validation verdict."""
    from gome_es.tasks import load_task, validate_submission

    task = load_task(task_id, mlebench_data=mlebench_data)
    root = workspace_root or Path(tempfile.gettempdir()) / "gome-exec"
    spec = task_spec(
        task, key=f"exec-{task.id}-{solution.stem}", code=read_solution(solution), workspace_root=root,
        timeout_s=timeout_s, db=os.environ.get("GOME_DB"), threads=threads, memory_limit_mb=memory_mb,
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
              help="Where attempt workspaces are created (default: $TMPDIR/gome-exec).")
@click.option("--mlebench-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="GOME_MLEBENCH_DATA",
              help="Directory `mlebench prepare` filled (DIR/<id>/prepared/{public,private}); needed for "
              "mlebench:<competition-id> tasks (env GOME_MLEBENCH_DATA).")
@click.option("--json", "as_json", is_flag=True, help="Print the result and verdict as JSON.")
def exec_command(task: str, solution: Path, timeout_s: float, memory_mb: int | None, threads: int, use_gpu: bool,
                 workspace_root: Path | None, mlebench_data: Path | None, as_json: bool) -> None:
    """Run SOLUTION.py against TASK's public data in the sandbox; print the
    result and whether the submission is valid (never the test score).

    Exit status: 0 if the run was ok and the submission valid, 1 otherwise,
    2 if the task or sandbox could not be set up."""
    try:
        result, verdict = exec_solution(task, solution, timeout_s=timeout_s, memory_mb=memory_mb, threads=threads,
                                        use_gpu=use_gpu, workspace_root=workspace_root,
                                        mlebench_data=mlebench_data)
    except GomeError as exc:
        raise fail(exc) from exc
    if as_json:
        click.echo(json.dumps({"result": result.model_dump(mode="json"), "validation": verdict}, indent=2))
    else:
        click.echo(f"failure:    {result.failure.value}  ({result.detail})")
        click.echo(f"exit:       {result.exit_code}  in {result.duration_s:.2f} s, peak RSS {result.peak_rss_mb} MB"
                   + (f", peak GPU {result.peak_gpu_mb} MB" if result.peak_gpu_mb is not None else ""))
        click.echo(f"val_score:  {result.val_score}")
        click.echo(f"submission: {result.submission_path}  valid={verdict['valid']}")
        for reason in verdict["reasons"]:
            click.echo(f"  - {reason}")
        if result.audit.private_access or result.audit.network:
            click.echo(f"audit:      private={result.audit.private_access} network={result.audit.network}")
        for warning in result.warnings:
            click.echo(f"warning:    {warning}")
        click.echo(f"sandbox:    {' '.join(result.isolation) or 'none'}; memory limit {result.memory_limit_mb} MB "
                   f"({result.memory_limit_source})")
        if result.audit.outputs:
            click.echo(f"outputs:    {'; '.join(result.audit.outputs)}")
        click.echo(f"workspace:  {result.workspace}")
        if result.stderr_tail.strip():
            click.echo("--- stderr (tail) ---")
            click.echo(result.stderr_tail[-2000:])
    ok = result.failure.value == "ok" and verdict["valid"]
    raise SystemExit(0 if ok else 1)
