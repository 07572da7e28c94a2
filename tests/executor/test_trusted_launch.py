"""The launcher's configuration never travels through a path, a swapped attempt folder is never
used, and the sandbox's environment names no host path of the answers, databases or gome's source
(issue 24: the local root escalation through a pre-created ``$TMPDIR/gome-exec``, and a low finding).

The swap is the attack of the issue: after gome made the attempt folder and before the launcher
(root) starts, the folder is renamed away and one holding a hostile ``run/launch.json`` (no
namespaces, no uid, ``/bin/sh`` as interpreter) is put in its place.  The swap is made by the
interpreter the spec names (the driver asks it for its ``sys.path`` before launching), so it
happens at that moment every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gome_es
from gome_es.executor import ExecutionSpec, Executor, FailureClass
from gome_es.executor.runner import _LAUNCHER, gome_private_paths
from gome_es.trust.folders import UntrustedFolder

pytestmark = pytest.mark.integration

WRITE_OK = ("open('submission.csv', 'w').write('id,y\\n1,0\\n')\n"
            "open('metrics.json', 'w').write('{\"val_score\": 0.5}')\n")


def _hostile_config(proof: Path, workspace: Path) -> dict:
    return {"driver_pid": os.getpid(), "trusted_fd": 2, "audit_fd": None, "cgroup_procs": [], "unshare": 0,
            "user_ns": False, "uid": None, "gid": None, "root_dir": str(workspace / "root"), "ro_trees": [],
            "masks": [], "binds": [], "devices": [], "workspace": str(workspace), "rlimit_as": None,
            "rlimit_fsize": None, "rlimit_nproc": None, "interpreter": "/bin/sh",
            "env": {"PATH": "/usr/bin:/bin", "PROOF": str(proof)}}


def _hostile_folder(folder: Path, proof: Path) -> None:
    (folder / "run").mkdir(parents=True)
    (folder / "work").mkdir()
    (folder / "work" / "solution.py").write_text(f"echo escaped > {proof}\n")
    (folder / "run" / "launch.json").write_text(json.dumps(_hostile_config(proof, folder / "work")))


def test_the_launcher_never_reads_its_configuration_from_a_path(tmp_path):
    proof_dir = tmp_path / "root-only"
    proof_dir.mkdir(mode=0o700)
    proof = proof_dir / "pwned"
    _hostile_folder(tmp_path / "attempt", proof)
    out = subprocess.run([sys.executable, "-I", "-S", str(_LAUNCHER), str(tmp_path / "attempt" / "run" / "launch.json")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 125
    assert "only from an inherited descriptor" in out.stderr
    assert not proof.exists()


def test_a_swapped_attempt_folder_is_never_used(layout, tmp_path):
    proof_dir = tmp_path / "root-only"
    proof_dir.mkdir(mode=0o700)
    proof, swapped = proof_dir / "pwned", tmp_path / "swapped"
    root = layout["workspaces"]
    wrapper = tmp_path / "venv" / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        root, swapped = {str(root)!r}, {str(swapped)!r}
        if os.path.isdir(root) and not os.path.exists(swapped):
            for name in os.listdir(root):
                os.rename(os.path.join(root, name), os.path.join(root, name + ".orig"))
                folder = os.path.join(root, name)
                os.makedirs(os.path.join(folder, "run")); os.makedirs(os.path.join(folder, "work"))
                open(os.path.join(folder, "work", "solution.py"), "w").write("echo escaped > {proof}\\n")
                cfg = {_hostile_config(proof, Path("WORK"))!r}
                cfg["workspace"] = os.path.join(folder, "work"); cfg["driver_pid"] = os.getppid()
                json.dump(cfg, open(os.path.join(folder, "run", "launch.json"), "w"))
                open(swapped, "w").write(name)
        os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
        """))
    wrapper.chmod(0o755)
    spec = ExecutionSpec(key="swap", code=WRITE_OK, data_dir=layout["public"], forbidden_paths=[layout["private"]],
                         workspace_root=root, timeout_s=30, grace_s=1, interpreter=str(wrapper))
    result = Executor().run(spec)
    assert swapped.exists(), "the swap did not happen before the launch"
    assert not proof.exists(), "the swapped configuration was read and run"
    assert result.failure is FailureClass.sandbox_error, result
    assert "was replaced after gome made it" in result.detail


def test_no_configuration_file_is_left_in_the_attempt_folder(run_code):
    result = run_code(WRITE_OK)
    assert result.failure is FailureClass.ok, result.detail
    attempt = result.workspace.parent
    assert not list(attempt.rglob("launch.json"))
    assert (os.stat(attempt).st_mode & 0o777) == 0o700


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o775])
def test_a_workspace_root_others_may_write_is_refused(layout, mode):
    root = layout["workspaces"]
    root.mkdir()
    root.chmod(mode)
    spec = ExecutionSpec(key="w", code=WRITE_OK, data_dir=layout["public"], workspace_root=root, timeout_s=30)
    with pytest.raises(UntrustedFolder, match=f"folder {root} has mode {mode:04o}: others may write to it"):
        Executor().run(spec)
    assert list(root.iterdir()) == []


def test_the_sandbox_environment_names_no_host_path_of_answers_databases_or_source(run_code, layout, monkeypatch,
                                                                                    tmp_path):
    source = Path(gome_es.__file__).resolve().parent
    db = tmp_path / "dbdir" / "gome.db"
    monkeypatch.setenv("GOME_DB", str(db))
    monkeypatch.setenv("PATH", os.pathsep.join([str(source), str(source.parent), str(layout["private"]),
                                                str(db.parent), os.environ.get("PATH", ""), "/usr/bin"]))
    code = "import os, json\nprint(json.dumps(dict(os.environ)))\n" + WRITE_OK
    result = run_code(code)
    env = json.loads(result.read_stdout())
    text = "\n".join(env.values())
    secret = [str(layout["private"]), str(db), str(source), *(str(p) for p in gome_private_paths())]
    assert not [s for s in secret if s in text], env
    assert str(source.parent) not in env["PATH"].split(os.pathsep)  # hidden in the sandbox: not on its PATH
    assert "/usr/bin" in env["PATH"].split(os.pathsep)
    assert len(env["GOME_FORBIDDEN"].split(",")) >= 2 and "/" not in env["GOME_FORBIDDEN"]
    # the hook still knows the answers when it sees them
    probe = run_code(f"open({str(layout['private'] / 'answers.csv')!r})\n")
    assert probe.failure is FailureClass.forbidden_access
    assert probe.audit.private_access and "answers.csv" in probe.audit.private_access[0]
