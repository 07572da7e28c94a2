"""The executor with real subprocesses: limits, the closed world, signals,
huge outputs and concurrent runs."""

from __future__ import annotations

import json
import resource
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gome_es.executor import FailureClass, isolation
from gome_es.executor.runner import _group_members

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-answer-7781"  # written by conftest.layout

WRITE_OK = """
import json
open("submission.csv", "w").write("id,y\\n1,0\\n")
json.dump({"val_score": 0.75, "note": "fine"}, open("metrics.json", "w"))
"""


def _living_group_members(pgid: int, within_s: float = 3.0) -> set[int]:
    """Members of the process group that are not zombies, once they had time to die."""
    deadline = time.monotonic() + within_s
    while True:
        living = set()
        for pid in _group_members(pgid):
            try:
                state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                living.add(pid)
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.05)


def test_ok_run_reports_metrics_submission_and_process_info(run_code):
    r = run_code("import os\nprint('dev', os.environ['GOME_DEVICE'], os.environ['OMP_NUM_THREADS'], "
                 "os.environ['GOME_TIME_LIMIT_S'])\n" + WRITE_OK, threads=3, timeout_s=27.5)
    assert r.failure is FailureClass.ok, r
    assert r.val_score == 0.75 and r.metrics["note"] == "fine"
    assert r.submission_path is not None and r.submission_path.read_text().startswith("id,y")
    assert "dev cpu 3 27.5" in r.read_stdout()  # the solution knows when it will be killed
    assert r.pid and r.pgid == r.pid and r.start_time
    assert r.device == "cpu" and r.peak_rss_mb and r.peak_rss_mb > 1
    json.loads(r.model_dump_json())


def test_timeout_kills_even_a_sigterm_ignoring_solution(run_code):
    r = run_code("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
                 "time.sleep(60)\n", timeout_s=1, grace_s=0.5)
    assert r.failure is FailureClass.timeout and r.timed_out
    assert r.duration_s < 5
    assert "up" in r.stdout_tail


def test_sigkill_is_reported_as_killed(run_code):
    r = run_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert r.failure is FailureClass.killed and r.signal == 9 and r.exit_code == -9


def test_python_exception_has_type_message_and_frames(run_code):
    r = run_code("def fit():\n    raise ValueError('bad column y')\nfit()\n")
    assert r.failure is FailureClass.python_exception
    assert r.exception.type == "ValueError" and r.exception.message == "bad column y"
    assert r.exception.frames[-1].endswith("in fit") and "solution.py" in r.exception.frames[-1]


def test_memory_blowup_is_host_oom(run_code):
    r = run_code("blocks = []\nwhile True:\n    blocks.append(bytearray(32 * 2**20))\n", memory_limit_mb=200)
    assert r.failure is FailureClass.host_oom, r
    assert r.duration_s < 20


def test_fork_bomb_stays_bounded(run_code):
    code = """
    import os, time
    made, refused = 0, 0
    for _ in range(500):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            made += 1
        except OSError:
            refused += 1
    print("made", made, "refused", refused, flush=True)
    time.sleep(30)
    """
    r = run_code(code, max_processes=40, timeout_s=6, grace_s=0.5)
    caps = isolation.probe()
    made, refused = (int(x) for x in r.read_stdout().split()[1::2])
    assert made + refused == 500
    if caps.cgroups:
        assert made < 40 and refused > 400
    assert r.failure is FailureClass.timeout
    # Nothing of the bomb outlives the execution.
    assert _living_group_members(r.pgid) == set()


def test_a_gigabyte_of_logs_stays_bounded(run_code):
    code = """
    import sys
    out = sys.stdout.buffer
    out.write(b"HEAD-MARKER\\n")
    block = b"x" * (2**20 - 1) + b"\\n"
    for _ in range(1024):
        out.write(block)
    out.write(b"TAIL-MARKER\\n")
    """
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cap = 256 * 1024
    r = run_code(code, max_output_bytes=cap, timeout_s=120)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.stdout_bytes_total == 2**30 + 24
    assert r.stdout_path.stat().st_size < cap + 200
    text = r.read_stdout()
    assert text.startswith("HEAD-MARKER") and text.rstrip().endswith("TAIL-MARKER")
    assert "bytes omitted by gome executor" in text
    assert grown_mb < 50


def test_network_is_cut_and_attempts_are_audited(run_code):
    code = """
    import socket
    try:
        socket.create_connection(("10.255.255.1", 80), timeout=2)
    except OSError as exc:
        print("refused:", exc)
    lines = open("/proc/net/dev").read().splitlines()[2:]
    print("IFACES=" + ",".join(sorted(ln.split(":")[0].strip() for ln in lines)))
    """
    code = textwrap.dedent(code) + WRITE_OK
    r = run_code(code)
    assert r.audit.network == ["socket.connect 10.255.255.1:80"]
    assert r.failure is FailureClass.forbidden_access
    if isolation.probe().network_isolated:
        assert "IFACES=lo\n" in r.read_stdout()
        assert "netns" in r.isolation
    else:
        assert any("network not isolated" in w for w in r.warnings)


def test_secrets_never_reach_the_environment(run_code, monkeypatch):
    for name, value in {"OPENAI_API_KEY": "sk-leak-1", "GITHUB_TOKEN": "ghp-leak-2", "HTTPS_PROXY": "http://leak-3",
                        "AWS_SECRET_ACCESS_KEY": "leak-4", "LANG": "C.UTF-8"}.items():
        monkeypatch.setenv(name, value)
    r = run_code("import os, json\nprint(json.dumps(dict(os.environ)))\n",
                 env_allow=["PATH", "LANG", "OPENAI_API_KEY", "HTTPS_PROXY"])
    env = json.loads(r.read_stdout())
    assert "leak" not in r.read_stdout()
    assert env["LANG"] == "C.UTF-8"
    assert not any(k in env for k in ("OPENAI_API_KEY", "GITHUB_TOKEN", "HTTPS_PROXY", "AWS_SECRET_ACCESS_KEY"))


def test_private_answers_are_unreachable_and_attempts_visible(run_code, layout):
    code = f"""
    import subprocess
    try:
        print(open({str(layout["private"] / "answers.csv")!r}).read())
    except OSError as exc:
        print("python refused:", type(exc).__name__)
    out = subprocess.run(["cat", {str(layout["private"] / "answers.csv")!r}], capture_output=True, text=True)
    print("cat said:", out.stdout, out.stderr)
    """
    code = textwrap.dedent(code) + WRITE_OK
    r = run_code(code)
    assert SECRET not in r.read_stdout()
    assert r.audit.private_access and "answers.csv" in r.audit.private_access[0]
    assert r.failure is FailureClass.forbidden_access
    if not isolation.probe().mount_isolated:
        assert any("file system not isolated" in w for w in r.warnings)


def test_public_data_is_read_only_and_world_outside_workspace_too(run_code, layout):
    code = f"""
    import os
    for target in [os.path.join(os.environ["GOME_DATA_DIR"], "train.csv"), {str(layout["workspaces"].parent / "x")!r}]:
        try:
            open(target, "a").write("tamper")
            print("WROTE", target)
        except OSError as exc:
            print("refused", exc.errno)
    print(open(os.path.join(os.environ["GOME_DATA_DIR"], "train.csv")).read().splitlines()[0])
    """
    code = textwrap.dedent(code) + WRITE_OK
    r = run_code(code)
    if isolation.probe().mount_isolated:
        assert "WROTE" not in r.read_stdout()
        assert "tamper" not in (layout["public"] / "train.csv").read_text()
    assert "id,x,y" in r.read_stdout()


def test_concurrent_runs_from_threads(run_code):
    results = {}

    def one(i):
        results[i] = run_code(f"print('run {i}')\n" + WRITE_OK, key=f"c{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.failure is FailureClass.ok for r in results.values())
    assert len({r.workspace for r in results.values()}) == 3
    assert all(f"run {i}" in results[i].stdout_tail for i in range(3))


def test_use_gpu_without_a_gpu_runs_on_cpu(layout):
    from gome_es.executor import ExecutionSpec, Executor, GpuPool

    r = Executor(gpu_pool=GpuPool(devices=[])).run(ExecutionSpec(
        key="g", code="import os\nprint(os.environ['GOME_DEVICE'], repr(os.environ['CUDA_VISIBLE_DEVICES']))\n"
        + WRITE_OK, data_dir=layout["public"], workspace_root=layout["workspaces"], timeout_s=30, use_gpu=True))
    assert r.failure is FailureClass.ok and r.device == "cpu"
    assert "cpu ''" in r.stdout_tail
    assert any("no healthy GPU" in w for w in r.warnings)


def test_an_interpreter_in_a_venv_under_tmp_starts_when_the_workspace_is_elsewhere(layout, tmp_path):
    """A private /tmp hid a venv living under /tmp (`gome run` from a checkout in /tmp failed every run)."""
    import os
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    from gome_es.executor import ExecutionSpec, Executor

    outside = Path("/var/tmp")
    if not (outside.is_dir() and os.access(outside, os.W_OK)):
        import pytest

        pytest.skip("no writable folder outside /tmp for the workspace")
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python3").symlink_to(os.path.realpath(sys.executable))
    # workspace and data outside /tmp, so the sandbox gives the solution a private /tmp
    root = Path(tempfile.mkdtemp(prefix="gome-ws-", dir=outside))
    try:
        public, private = root / "public", root / "private"
        shutil.copytree(layout["public"], public)
        shutil.copytree(layout["private"], private)
        res = Executor().run(ExecutionSpec(key="t", code=WRITE_OK, data_dir=public, forbidden_paths=[private],
                                           workspace_root=root / "ws", timeout_s=30, grace_s=1,
                                           interpreter=str(venv_bin / "python3")))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert res.failure == FailureClass.ok, (res.failure, res.detail, res.stderr_tail[-500:])
    assert res.val_score == 0.75


def test_the_solution_is_unprivileged_pid_2_and_sees_only_its_namespace(run_code):
    caps = isolation.probe()
    if not (caps.pid_isolated and caps.mount_isolated and caps.uid is not None):
        import pytest

        pytest.skip(f"this host gives no PID/mount namespace or sandbox uid: {caps.warnings}")
    code = """
    import json, os
    mounts = {ln.split()[4]: ln.split()[5] for ln in open("/proc/self/mountinfo")}
    print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
                      "ppid": os.getppid(), "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                      "cgroupfs": os.listdir("/sys/fs/cgroup") if os.path.isdir("/sys/fs/cgroup") else None,
                      "sys": mounts.get("/sys"), "root": sorted(os.listdir("/")),
                      "nnp": open("/proc/self/status").read().split("NoNewPrivs:")[1].split()[0]}))
    """
    r = run_code(textwrap.dedent(code) + WRITE_OK)
    assert r.failure is FailureClass.ok, (r.detail, r.stderr_tail)
    seen = json.loads(r.read_stdout().splitlines()[0])
    assert (seen["uid"], seen["gid"], seen["groups"]) == (65534, 65534, [])
    assert (seen["pid"], seen["ppid"], seen["procs"]) == (2, 1, [1, 2])
    assert seen["cgroupfs"] in (None, []) and seen["sys"].startswith("ro")
    assert seen["nnp"] == "1"
    # only what the allow-list names: the interpreter's trees, the data and workspace, kernel trees, /tmp
    import sys

    from gome_es.executor.runner import interpreter_view

    shown = {t.split("/")[1] for t in interpreter_view(sys.executable)[0]}
    shown |= {str(r.workspace).split("/")[1], "dev", "proc", "sys", "tmp"}
    assert set(seen["root"]) <= shown, (seen["root"], shown)
    assert {"pidns", "mountns", "netns", "uid:65534"} <= set(r.isolation)
    assert r.uid == 65534 and r.memory_limit_mb and r.memory_limit_source


def test_a_process_left_running_dies_with_the_namespace_and_is_reported(run_code):
    code = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    time.sleep(0.3)
    """
    r = run_code(textwrap.dedent(code) + WRITE_OK)
    assert r.failure is FailureClass.ok
    assert any("left running" in w for w in r.warnings), r.warnings


def test_without_a_pid_namespace_the_fallback_still_kills_leftovers_and_says_so(run_code, monkeypatch):
    """A host that cannot make a PID namespace: init is not PID 1 and must not kill(-1) the host;
    the process group and cgroup kill take over, and the missing layer is a warning."""
    import dataclasses

    caps = isolation.probe()
    if not caps.pid_isolated:
        import pytest

        pytest.skip("this host has no PID namespace at all")
    reduced = dataclasses.replace(caps, namespaces=tuple(n for n in caps.namespaces if n != "pid"),
                                  warnings=caps.warnings + ("no PID namespace: (simulated)",))
    monkeypatch.setattr(isolation, "_caps", reduced)
    code = """
    import os, time
    print("pid", os.getpid(), flush=True)
    if os.fork() == 0:
        time.sleep(60)
    time.sleep(0.3)
    """
    r = run_code(textwrap.dedent(code) + WRITE_OK)
    assert r.failure is FailureClass.ok, (r.detail, r.stderr_tail)
    assert "pidns" not in r.isolation and any("no PID namespace" in w for w in r.warnings)
    assert int(r.read_stdout().split()[1]) > 2  # the host's pid space
    assert any("left running" in w for w in r.warnings), r.warnings
    assert _living_group_members(r.pgid) == set()


def test_not_root_the_sandbox_uses_a_user_namespace_and_says_what_is_missing(layout, tmp_path):
    """The driver as an ordinary user (uid 1000 in a user namespace made by `unshare`): the
    namespaces still hold, the solution keeps no capability, and the missing layers (sandbox
    uid, cgroups) are warnings."""
    import os
    import shutil
    import subprocess
    import sys

    import pytest

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root to pose as an ordinary user")
    driver = (
        "import json, sys\nfrom pathlib import Path\nfrom gome_es.executor import ExecutionSpec, Executor\n"
        "code = 'import json, os\\nprint(json.dumps({\"pid\": os.getpid(), \"caps\": open(\"/proc/self/status\")"
        ".read().split(\"CapEff:\")[1].split()[0]}))\\n'\n"
        "r = Executor().run(ExecutionSpec(key='u', code=code, data_dir=Path(sys.argv[1]), "
        "workspace_root=Path(sys.argv[2]), timeout_s=30))\n"
        "print(json.dumps({'euid': __import__('os').geteuid(), 'out': r.stdout_tail, 'iso': r.isolation, "
        "'warnings': r.warnings, 'failure': r.failure.value, 'uid': r.uid}))\n"
    )
    proc = subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000", sys.executable, "-c", driver,
                           str(layout["public"]), str(tmp_path / "ws")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    if proc.returncode != 0 and "unshare" in proc.stderr:
        pytest.skip(f"this host does not allow user namespaces: {proc.stderr.strip()}")
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["euid"] == 1000 and seen["uid"] is None
    assert {"mountns", "netns", "pidns"} <= set(seen["iso"]) and not any(i.startswith("cgroup") for i in seen["iso"])
    inside = json.loads(seen["out"].strip().splitlines()[0])
    assert inside == {"pid": 2, "caps": "0000000000000000"}
    assert any("driver's own uid" in w for w in seen["warnings"])
    assert any("no cgroups" in w for w in seen["warnings"])


def test_json_nested_too_deeply_is_malformed_output_not_a_driver_crash(run_code):
    """A solution controls metrics.json and the audit channel: JSON nested 200,000 deep used to
    raise RecursionError in the driver (measured: the executor's run() unwound)."""
    bad_metrics = run_code("open('metrics.json', 'w').write('[' * 200000)\n"
                           "open('submission.csv', 'w').write('id,y\\n1,0\\n')\n")
    assert bad_metrics.failure is FailureClass.invalid_metrics, bad_metrics
    flooded_audit = run_code("import os\nos.write(int(os.environ['GOME_AUDIT_FD']), b'[' * 200000 + b'\\n')\n"
                             + WRITE_OK)
    assert flooded_audit.failure is FailureClass.ok and flooded_audit.val_score == 0.75, flooded_audit
