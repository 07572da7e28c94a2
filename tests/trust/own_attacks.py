"""Attacks on gome's own commands (issue 24), shared by tests/trust/test_own_attacks.py and the section
"own commands: gc and shared folders" of benchmarks/escape_campaign.py.

Each attack sets up what a hostile or careless user would on a shared machine (a project carrying a
``gome.toml``, a scratch folder made first by ``nobody``, a swapped attempt folder, ...) in a fresh
folder, runs the real command or library call, and returns None when gome stopped it, or a line
saying what got through.  An attack that needs what this host lacks raises :class:`Unsupported`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from tests.trust.attacker import NOBODY, as_nobody


class Unsupported(Exception):
    """This host cannot stage the attack (for example, no way to become another user)."""


@dataclass(frozen=True)
class Attack:
    name: str
    run: Callable[[Path], str | None]


def _gome(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    from gome_es.cli.main import cli

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        r = CliRunner().invoke(cli, list(args), env=env)
    finally:
        os.chdir(old)
    return r.exit_code, r.output


def _db(folder: Path, runs: tuple[str, ...] = ()) -> Path:
    from gome_es.store import EventStore, NewEvent

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "gome.db"
    with EventStore.open(db) as store:
        for run in runs:
            store.append(run, [NewEvent("RunStarted", {"task_id": "x"})], expected_seq=0)
    return db


def _project(folder: Path) -> None:
    for sub in ("src", "data"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "keep.txt").write_text("precious")


def _lost(folder: Path) -> str | None:
    gone = [sub for sub in ("src", "data") if not (folder / sub / "keep.txt").exists()]
    return f"{', '.join(gone)} of {folder} removed" if gone else None


# ----------------------------------------------------------------------- gc

def gc_config_dot(tmp: Path) -> str | None:
    proj = tmp / "clone"
    db = _db(proj)
    _project(proj)
    (proj / "gome.toml").write_text('[gc]\nworkspace = "."\n')
    code, out = _gome("gc", "--db", str(db), cwd=proj)
    return _lost(proj) or (None if code == 2 and "[gc] workspace in the config file" in out else
                          f"gc accepted the project as its workspace (exit {code})")


def gc_config_root(tmp: Path) -> str | None:
    db = _db(tmp / "p")
    (db.parent / "gome.toml").write_text('[gc]\nworkspace = "/"\n')
    code, out = _gome("gc", "--db", str(db), "--dry-run")
    return None if code == 2 and "/etc" not in out else f"gc planned on / (exit {code}): {out[:120]!r}"


def gc_env_home(tmp: Path) -> str | None:
    home = tmp / "home"
    _project(home)
    db = _db(tmp / "p")
    code, _ = _gome("gc", "--db", str(db), env={"HOME": str(home), "GOME_WORKSPACE": str(home)})
    return _lost(home) or (None if code == 2 else f"gc cleaned a home folder (exit {code})")


def gc_database_folder(tmp: Path) -> str | None:
    db = _db(tmp / "p")
    _project(db.parent)
    code, _ = _gome("gc", "--db", str(db), "--workspace", str(tmp))
    return _lost(db.parent) or (None if code == 2 and db.exists() else f"gc cleaned above the database ({code})")


def gc_link_root(tmp: Path) -> str | None:
    db = _db(tmp / "p")
    _project(tmp / "target")
    (tmp / "link").symlink_to(tmp / "target")
    code, _ = _gome("gc", "--db", str(db), "--workspace", str(tmp / "link"))
    return _lost(tmp / "target") or (None if code == 2 else "gc followed a link as its workspace")


def gc_unmarked(tmp: Path) -> str | None:
    from gome_es.driver.workspaces import workspace_root

    db = _db(tmp / "p")
    root = workspace_root(db)
    _project(root)  # folders in the real workspace root that gome did not make
    code, out = _gome("gc", "--db", str(db))
    return _lost(root) or (None if code == 0 and "not gome's, left alone" in out else f"exit {code}")


def gc_forged_marker(tmp: Path) -> str | None:
    from gome_es.driver.driver import run_dir
    from gome_es.driver.workspaces import workspace_root
    from gome_es.trust.folders import MARKER

    db = _db(tmp / "p", runs=("real",))
    root = workspace_root(db)
    run_dir(root, "real", "r0", db=db)
    marker = json.loads((root / "real" / MARKER).read_text())
    (tmp / "planted.json").write_text(json.dumps({**marker, "run_id": "victim"}))
    _project(root / "victim")
    (root / "victim" / MARKER).symlink_to(tmp / "planted.json")
    _gome("gc", "--db", str(db))
    return _lost(root / "victim")


def gc_other_database(tmp: Path) -> str | None:
    from gome_es.driver.driver import run_dir
    from gome_es.driver.workspaces import workspace_root

    db, other = _db(tmp / "p"), _db(tmp / "q")
    root = workspace_root(db)
    theirs = run_dir(root, "theirs", "r0", db=other)
    _project(theirs)
    _gome("gc", "--db", str(db))
    return _lost(theirs)


def gc_swap_after_plan(tmp: Path) -> str | None:
    from gome_es.cli.gc_cmd import collect, plan
    from gome_es.driver.driver import run_dir
    from gome_es.driver.workspaces import workspace_root
    from gome_es.store import EventStore

    db = _db(tmp / "p")
    root = workspace_root(db)
    run_dir(root, "gone", "r0", db=db).mkdir()
    with EventStore.open(db, readonly=True) as store:
        removals, _ = plan(store, root, db)
    os.rename(root / "gone", tmp / "gone.orig")
    _project(root / "gone")
    collect(root, removals)
    return _lost(root / "gone")


# ----------------------------------------------------------------------- shared folders

def _shared_tmp() -> Path:
    shared = Path(tempfile.mkdtemp(prefix="gome-shared-", dir="/tmp"))
    shared.chmod(0o1777)
    return shared


def _with_tmpdir(shared: Path, action: Callable[[], None]) -> None:
    old_env, old_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(shared), None
    try:
        action()
    finally:
        if old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_env
        tempfile.tempdir = old_dir


def _make_loose(folder: Path) -> None:
    folder.mkdir()
    folder.chmod(0o777)


def _refused(action: Callable[[], object]) -> bool:
    from gome_es.trust.folders import UntrustedFolder

    try:
        action()
    except UntrustedFolder:
        return True
    return False


def scratch_by_nobody(tmp: Path) -> str | None:
    if NOBODY is None:
        raise Unsupported("needs root to become nobody")
    from gome_es.trust.folders import scratch_dir

    shared = _shared_tmp()
    try:
        mine = shared / f"gome-exec-{os.geteuid()}"
        as_nobody(lambda: _make_loose(mine))
        ok: list[bool] = []
        _with_tmpdir(shared, lambda: ok.append(_refused(lambda: scratch_dir("gome-exec"))))
        return None if ok == [True] else f"{mine}, made by nobody, was used"
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


def scratch_link(tmp: Path) -> str | None:
    from gome_es.trust.folders import scratch_dir

    shared = _shared_tmp()
    try:
        (tmp / "victim").mkdir(mode=0o700)
        (shared / f"gome-exec-{os.geteuid()}").symlink_to(tmp / "victim")
        ok: list[bool] = []
        _with_tmpdir(shared, lambda: ok.append(_refused(lambda: scratch_dir("gome-exec"))))
        return None if ok == [True] else "a link planted as the scratch folder was followed"
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


def dot_gome_by_nobody(tmp: Path) -> str | None:
    if NOBODY is None:
        raise Unsupported("needs root to become nobody")
    from gome_es.driver.driver import run_dir
    from gome_es.driver.workspaces import workspace_root

    shared = _shared_tmp()
    try:
        dot = shared / ".gome"
        as_nobody(lambda: _make_loose(dot))
        db = shared / "gome.db"
        return None if _refused(lambda: run_dir(workspace_root(db), "r", "r0", db=db)) else \
            f"{dot} (nobody's, 0777) was used"
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


def dot_gome_0777(tmp: Path) -> str | None:
    from gome_es.driver.driver import run_dir
    from gome_es.driver.workspaces import workspace_root

    (tmp / ".gome").mkdir()
    (tmp / ".gome").chmod(0o777)
    db = tmp / "gome.db"
    return None if _refused(lambda: run_dir(workspace_root(db), "r", "r0", db=db)) else ".gome 0777 was used"


def loose_folder_above(tmp: Path) -> str | None:
    from gome_es.trust.folders import ensure_folder

    (tmp / "loose").mkdir()
    (tmp / "loose").chmod(0o777)
    return None if _refused(lambda: ensure_folder(tmp / "loose" / "ws")) else \
        "a workspace under a folder anyone may rename in was used"


def _hostile_config(proof: Path, work: Path, driver_pid: int) -> dict:
    return {"driver_pid": driver_pid, "trusted_fd": 2, "audit_fd": None, "cgroup_procs": [], "unshare": 0,
            "user_ns": False, "uid": None, "gid": None, "root_dir": str(work / "root"), "ro_trees": [], "masks": [],
            "binds": [], "devices": [], "workspace": str(work), "rlimit_as": None, "rlimit_fsize": None,
            "rlimit_nproc": None, "interpreter": "/bin/sh", "env": {"PATH": "/usr/bin:/bin"}}


def launcher_given_a_path(tmp: Path) -> str | None:
    from gome_es.executor.runner import _LAUNCHER

    proof = tmp / "root-only" / "pwned"
    proof.parent.mkdir(mode=0o700)
    work = tmp / "attempt" / "work"
    work.mkdir(parents=True)
    (work / "solution.py").write_text(f"echo escaped > {proof}\n")
    cfg = tmp / "attempt" / "launch.json"
    cfg.write_text(json.dumps(_hostile_config(proof, work, os.getpid())))
    subprocess.run([sys.executable, "-I", "-S", str(_LAUNCHER), str(cfg)], capture_output=True, timeout=60)
    return f"the launcher ran {cfg}'s interpreter outside the sandbox" if proof.exists() else None


def _task(tmp: Path) -> tuple[Path, Path]:
    public, private = tmp / "task" / "public", tmp / "task" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (public / "train.csv").write_text("id,y\n1,0\n")
    (private / "answers.csv").write_text("id,y\n1,s3cr3t\n")
    return public, private


_OK = "open('submission.csv','w').write('id,y\\n1,0\\n')\nopen('metrics.json','w').write('{\"val_score\": 1}')\n"


def attempt_swapped(tmp: Path) -> str | None:
    from gome_es.executor import ExecutionSpec, Executor

    public, private = _task(tmp)
    root, proof, flag = tmp / "ws", tmp / "root-only" / "pwned", tmp / "swapped"
    proof.parent.mkdir(mode=0o700)
    wrapper = tmp / "venv" / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    # The interpreter is asked for its sys.path after the attempt folder exists, before the launch:
    # the moment the attacker renames the folder away and puts theirs, with a launch.json, in its place.
    wrapper.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        root, flag = {str(root)!r}, {str(flag)!r}
        if os.path.isdir(root) and not os.path.exists(flag):
            for name in os.listdir(root):
                folder = os.path.join(root, name)
                os.rename(folder, folder + ".orig")
                os.makedirs(os.path.join(folder, "run")); os.makedirs(os.path.join(folder, "work"))
                open(os.path.join(folder, "work", "solution.py"), "w").write("echo escaped > {proof}\\n")
                cfg = {_hostile_config(proof, Path('W'), 0)!r}
                cfg.update(workspace=os.path.join(folder, "work"), driver_pid=os.getppid())
                json.dump(cfg, open(os.path.join(folder, "run", "launch.json"), "w"))
                open(flag, "w").write(name)
        os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
        """))
    wrapper.chmod(0o755)
    result = Executor().run(ExecutionSpec(key="swap", code=_OK, data_dir=public, forbidden_paths=[private],
                                          workspace_root=root, timeout_s=30, grace_s=1, interpreter=str(wrapper)))
    if not flag.exists():
        raise Unsupported("the swap could not be staged")
    if proof.exists():
        return "the swapped folder's launch.json was read and run as root"
    return None if result.failure.value == "sandbox_error" else f"the swapped folder was used ({result.failure.value})"


def environment_names_paths(tmp: Path) -> str | None:
    import gome_es
    from gome_es.executor import ExecutionSpec, Executor
    from gome_es.executor.runner import gome_private_paths

    public, private = _task(tmp)
    source = Path(gome_es.__file__).resolve().parent
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(source), str(source.parent), str(private), old_path])
    try:
        result = Executor().run(ExecutionSpec(
            key="env", code="import os, json\nprint(json.dumps(dict(os.environ)))\n" + _OK, data_dir=public,
            forbidden_paths=[private], workspace_root=tmp / "ws", timeout_s=30))
    finally:
        os.environ["PATH"] = old_path
    text = result.read_stdout()
    named = [p for p in [str(private), str(source), *map(str, gome_private_paths())] if p in text]
    return f"the sandbox's environment names {named}" if named else None


GC = [Attack(f.__name__, f) for f in (gc_config_dot, gc_config_root, gc_env_home, gc_database_folder, gc_link_root,
                                       gc_unmarked, gc_forged_marker, gc_other_database, gc_swap_after_plan)]
SHARED = [Attack(f.__name__, f) for f in (scratch_by_nobody, scratch_link, dot_gome_by_nobody, dot_gome_0777,
                                           loose_folder_above, launcher_given_a_path, attempt_swapped,
                                           environment_names_paths)]

def sections() -> dict[str, list[Attack]]:
    """The campaign's sections of attacks on gome's own commands, in the order they are run."""
    from tests.trust.own_attacks_more import BOMBS, CONFIG, ESCAPES

    return {"gc": GC, "shared folders": SHARED, "terminal escapes": ESCAPES, "bombs": BOMBS, "config": CONFIG}


ALL = GC + SHARED
