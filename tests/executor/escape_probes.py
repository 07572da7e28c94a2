"""The escape campaign's machinery, shared by tests/executor/test_escapes.py and
benchmarks/escape_campaign.py.

A *world* is a temporary host layout holding a secret in every place a
solution must not reach (the task's private answers, an event database and its
-wal/-shm, gome's cache, another run's workspace) plus canaries that must stay
untouched.  A *probe* is a real solution file in tests/executor/probes/: the
attack, then honest outputs, so that only the sandbox stands between it and an
"ok".  Its header says what must come of it::

    # expect: forbidden_access          the failure class
    # spec: {"max_processes": 40}       ExecutionSpec fields for this probe
    # driver: subprocess                run it under a separate driver process
    # slow                              behind `-m slow` (seconds of wall time)

`run_probe` runs one and reports whether it was stopped (no leak, the
expected class, nothing left behind) and what leaked or was left.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from gome_es.executor import ExecutionSpec, Executor, ProcessInfo
from gome_es.executor.spec import db_files

PROBES = Path(__file__).with_name("probes")
REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-answer-7781"

_DRIVER = """
import json, sys
from pathlib import Path
from gome_es.executor import ExecutionSpec, Executor
spec = ExecutionSpec.model_validate_json(Path(sys.argv[1]).read_text())
out = Path(sys.argv[2])
def on_start(info):
    out.with_suffix(".info").write_text(info.model_dump_json())
result = Executor().run(spec, on_start=on_start)
out.write_text(result.model_dump_json())
"""


@dataclass
class World:
    root: Path
    public: Path
    private: Path
    db: Path
    workspaces: Path
    home: Path  # GOME_HOME for the driver: the cache a solution must not see
    canary: Path
    host_tmp_file: Path
    marker: str
    targets: dict = field(default_factory=dict)


def make_world(root: Path) -> World:
    token = uuid.uuid4().hex[:10]
    public, private = root / "task" / "public", root / "task" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (public / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (private / "answers.csv").write_text(f"id,y\n1,{SECRET}\n")
    state = root / "state"
    state.mkdir()
    db = state / "g.db"
    for path in db_files(db)[:3] + [state / "gome.db"]:
        path.write_text(f"SQLite format 3 ... {SECRET}\n")
    home = root / "gome-home"
    cache_answers = home / "tasks" / "x-0123" / "private" / "answers.csv"
    cache_answers.parent.mkdir(parents=True)
    cache_answers.write_text(f"id,y\n1,{SECRET}\n")
    workspaces = root / "ws"
    other = workspaces / "other-run" / "work" / "submission.csv"
    other.parent.mkdir(parents=True)
    other.write_text(f"id,y\n1,{SECRET}\n")
    canary = root / "canary"
    canary.mkdir()
    import gome_es

    world = World(root=root, public=public, private=private, db=db, workspaces=workspaces, home=home,
                  canary=canary, host_tmp_file=Path("/tmp") / f"gome-probe-{token}",
                  marker=f"gome-escape-driver-{token}")
    world.targets = {
        # In two halves: the probe's own source (which it can read) must not hold the secret whole.
        "secret_parts": [SECRET[:7], SECRET[7:]], "answers": str(private / "answers.csv"), "db": str(db), "wal": f"{db}-wal",
        "shm": f"{db}-shm", "cwd_db": str(state / "gome.db"), "cache": str(home), "cache_answers": str(cache_answers),
        "other_workspace_file": str(other), "bundled_dir": str(Path(gome_es.__file__).resolve().parent / "tasks" / "bundled"),
        "canary_dir": str(canary), "host_tmp_file": str(world.host_tmp_file), "driver_marker": world.marker,
    }
    return world


@dataclass
class Probe:
    name: str
    path: Path
    expect: str
    spec: dict
    subprocess_driver: bool
    doc: str
    slow: bool = False

    @classmethod
    def load(cls, path: Path) -> Probe:
        text = path.read_text()
        expect = re.search(r"^# expect: (\w+)", text, re.MULTILINE)
        spec = re.search(r"^# spec: (\{.*\})$", text, re.MULTILINE)
        doc = re.search(r'"""(.*?)"""', text, re.DOTALL)
        return cls(name=path.stem, path=path, expect=expect.group(1) if expect else "ok",
                   spec=json.loads(spec.group(1)) if spec else {},
                   subprocess_driver=bool(re.search(r"^# driver: subprocess$", text, re.MULTILINE)),
                   doc=" ".join(doc.group(1).split()) if doc else "",
                   slow=bool(re.search(r"^# slow$", text, re.MULTILINE)))

    def code(self, world: World) -> str:
        common = (PROBES / "_common.py").read_text()
        return f"import json\nTARGETS = json.loads({json.dumps(world.targets)!r})\n{common}\n{self.path.read_text()}"


def all_probes() -> list[Probe]:
    return [Probe.load(p) for p in sorted(PROBES.glob("*.py")) if not p.name.startswith("_")]


@dataclass
class Outcome:
    probe: str
    expected: str
    failure: str
    leaks: list[str]
    leftovers: list[str]
    detail: str = ""
    warnings: list[str] = field(default_factory=list)
    result: object = None

    @property
    def stopped(self) -> bool:
        return not self.leaks and not self.leftovers and self.failure == self.expected

    def summary(self) -> str:
        return (f"{self.probe}: {self.failure} (expected {self.expected}) leaks={self.leaks} "
                f"leftovers={self.leftovers} detail={self.detail!r}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def processes_of(workspace: Path) -> set[int]:
    """Living host processes whose environment names the workspace."""
    needle = f"GOME_OUTPUT_DIR={workspace}\0".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if needle in Path(f"/proc/{entry}/environ").read_bytes() and _alive(int(entry)):
                    found.add(int(entry))
            except OSError:
                pass
    return found


def run_probe(probe: Probe, world: World, executor: Executor | None = None) -> Outcome:
    spec_fields = dict(key=probe.name, code=probe.code(world), data_dir=world.public,
                       forbidden_paths=[world.private, *db_files(world.db)], workspace_root=world.workspaces,
                       timeout_s=30, grace_s=1)
    spec_fields.update(probe.spec)
    spec = ExecutionSpec(**spec_fields)
    before = {p.name for p in world.workspaces.iterdir()}
    train_before = (world.public / "train.csv").read_bytes()
    info: ProcessInfo | None = None
    leftovers: list[str] = []
    old_home = os.environ.get("GOME_HOME")
    os.environ["GOME_HOME"] = str(world.home)
    try:
        if probe.subprocess_driver:
            result, info, driver_problem = _run_in_driver_process(spec, world)
            if driver_problem:
                return Outcome(probe.name, probe.expect, "driver_killed", [driver_problem], [], driver_problem)
        else:
            seen: list[ProcessInfo] = []
            result = (executor or Executor()).run(spec, on_start=seen.append)
            info = seen[0] if seen else None
    finally:
        if old_home is None:
            os.environ.pop("GOME_HOME", None)
        else:
            os.environ["GOME_HOME"] = old_home
    out = result.read_stdout() + result.read_stderr()
    leaks = sorted(set(re.findall(r"^LEAK: (.*)$", out, re.MULTILINE)))
    if SECRET in out:
        leaks.append("the secret appears in the solution's output")
    if result.submission_path is not None and SECRET in Path(result.submission_path).read_text(errors="replace"):
        leaks.append("the submission handed to the driver holds the secret")
    if any("FORGED" in w for w in result.warnings) or result.peak_gpu_mb == 123456.0:
        leaks.append("a forged audit line reached the result")
    time.sleep(0.05)
    if processes_of(result.workspace):
        leftovers.append(f"processes still running: {sorted(processes_of(result.workspace))}")
    if info is not None:
        left = [str(d) for d in info.cgroup_dirs if Path(d).exists()]
        if left:
            leftovers.append(f"cgroups left: {left}")
    if any(world.canary.iterdir()):
        leftovers.append(f"files written in the canary folder: {[p.name for p in world.canary.iterdir()]}")
    if world.host_tmp_file.exists():
        world.host_tmp_file.unlink()
        leftovers.append(f"file written in the host's /tmp: {world.host_tmp_file}")
    if (world.public / "train.csv").read_bytes() != train_before:
        leftovers.append("the public data was modified")
    new = {p.name for p in world.workspaces.iterdir()} - before
    if len(new) != 1:
        leftovers.append(f"unexpected entries in the workspace root: {sorted(new)}")
    hb = result.workspace / "heartbeat"
    if hb.exists():
        first = hb.stat().st_mtime
        time.sleep(0.4)
        if hb.stat().st_mtime != first:
            leftovers.append("a process keeps writing the workspace after the run")
    return Outcome(probe.name, probe.expect, result.failure.value, leaks, leftovers, result.detail,
                   list(result.warnings), result)


def _run_in_driver_process(spec: ExecutionSpec, world: World):
    from gome_es.executor import ExecutionResult

    spec_path = world.root / f"{spec.key}.spec.json"
    out = world.root / f"{spec.key}.result.json"
    spec_path.write_text(spec.model_dump_json())
    env = {**os.environ, "PYTHONPATH": str(REPO), "GOME_HOME": str(world.home)}
    proc = subprocess.run([sys.executable, "-c", _DRIVER, str(spec_path), str(out), world.marker], env=env,
                          capture_output=True, text=True, timeout=spec.timeout_s + 60)
    info_path = out.with_suffix(".info")
    info = ProcessInfo.model_validate_json(info_path.read_text()) if info_path.exists() else None
    if proc.returncode != 0 or not out.exists():
        return None, info, f"the driver died (exit {proc.returncode}): {proc.stderr[-300:]}"
    return ExecutionResult.model_validate_json(out.read_text()), info, None
