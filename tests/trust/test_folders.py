"""No folder another user could have made is trusted (issue 24, the second critical finding).

The finding: an unprivileged user created ``$TMPDIR/gome-exec`` first, and a root `gome exec` used
it as it was; a ``.gome`` pre-created by another user with mode 0777 was used by agent runs.  The
attacks run as the user ``nobody`` in a forked child where this host lets the tests become it
(they run as root); elsewhere they are skipped, and the same checks are shown with our own folders.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from gome_es.driver.driver import run_dir
from gome_es.driver.workspaces import workspace_root
from gome_es.errors import GomeError
from gome_es.trust import folders
from gome_es.trust.folders import MARKER, UntrustedFolder
from tests.trust.attacker import as_nobody, needs_nobody


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_scratch_is_per_user_0700_and_checked_each_use(shared_tmp):
    first = folders.scratch_dir("gome-exec")
    assert first == shared_tmp / f"gome-exec-{os.geteuid()}"
    assert _mode(first) == 0o700 and os.lstat(first).st_uid == os.geteuid()
    assert folders.scratch_dir("gome-exec") == first
    first.chmod(0o755)  # loosened since: refused on the next use
    with pytest.raises(UntrustedFolder, match=r"has mode 0755; private scratch space must be 0700"):
        folders.scratch_dir("gome-exec")


def test_a_link_planted_as_scratch_is_refused_and_not_followed(shared_tmp, tmp_path):
    target = tmp_path / "victim"
    target.mkdir(mode=0o700)
    (shared_tmp / f"gome-exec-{os.geteuid()}").symlink_to(target)
    with pytest.raises(UntrustedFolder) as err:
        folders.scratch_dir("gome-exec")
    assert f"gome-exec-{os.geteuid()}" in str(err.value) and "symbolic link" in str(err.value)
    assert "TMPDIR" in str(err.value)
    assert list(target.iterdir()) == []


@pytest.mark.integration
@needs_nobody
def test_scratch_pre_created_by_another_user_is_refused(shared_tmp):
    mine = shared_tmp / f"gome-exec-{os.geteuid()}"

    def attack() -> None:
        mine.mkdir()
        mine.chmod(0o700)  # even closed, it is theirs: they can rename what gome puts in it

    as_nobody(attack)
    with pytest.raises(UntrustedFolder, match=r"belongs to nobody \(uid 65534\), not to root"):
        folders.scratch_dir("gome-exec")
    assert list(mine.iterdir()) == []


@pytest.mark.integration
@needs_nobody
def test_a_gome_folder_pre_created_0777_by_another_user_is_refused(tmp_path):
    project = Path(tempfile.mkdtemp(prefix="gome-proj-", dir="/tmp"))  # nobody must reach it
    try:
        project.chmod(0o1777)  # a shared project folder
        db = project / "gome.db"
        dot = project / ".gome"

        def attack() -> None:
            dot.mkdir()
            dot.chmod(0o777)

        as_nobody(attack)
        with pytest.raises(UntrustedFolder) as err:
            run_dir(workspace_root(db), "run-1", "r0", db=db)
        assert str(dot) in str(err.value) and "nobody" in str(err.value)
        assert list(dot.iterdir()) == []
    finally:
        shutil.rmtree(project, ignore_errors=True)


def test_our_own_gome_folder_left_0777_is_refused(tmp_path):
    db = tmp_path / "gome.db"
    (tmp_path / ".gome").mkdir()
    (tmp_path / ".gome").chmod(0o777)
    with pytest.raises(UntrustedFolder, match=r"\.gome .*has mode 0777"):
        run_dir(workspace_root(db), "run-1", "r0", db=db)


def test_gome_makes_its_folders_0700_with_the_marker(tmp_path):
    db = tmp_path / "gome.db"
    path = run_dir(workspace_root(db), "run-1", "r0", db=db)
    for d in (tmp_path / ".gome", tmp_path / ".gome" / "work", path.parent):
        assert _mode(d) == 0o700, d
    marker = folders.read_marker(os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY))
    assert marker is not None and marker["run_id"] == "run-1" and marker["db"] == str(db.resolve())


def test_a_folder_above_that_others_may_rename_in_is_refused(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)  # anyone may rename .gome away and put theirs in its place
    with pytest.raises(UntrustedFolder, match=r"has mode 0777: anyone may rename"):
        folders.ensure_folder(loose / ".gome" / "work")
    loose.chmod(0o1777)  # the sticky bit, as /tmp has: only the owner of an entry may rename it
    assert folders.ensure_folder(loose / ".gome" / "work").is_dir()


def test_a_run_folder_gome_did_not_make_is_refused(tmp_path):
    root = tmp_path / "ws"
    (root / "run-1").mkdir(parents=True)
    (root / "run-1" / "planted.py").write_text("x")
    with pytest.raises(GomeError, match=f"holds no {MARKER}"):
        run_dir(root, "run-1", "r0", db=tmp_path / "gome.db")
    assert run_dir(root, "run-2", "r0", db=tmp_path / "gome.db").parent.is_dir()


def _trace(root: Path, db: Path, i: int, rounds: int, barrier, errors) -> None:
    for k in range(rounds):
        barrier.wait()
        try:
            run_dir(root, f"run-{k}", f"a{i}", db=db).mkdir()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            errors.put(f"round {k}: {exc}")


@pytest.mark.integration
def test_traces_of_one_run_making_its_folder_at_once_all_succeed(tmp_path):
    """Traces start their first experiments together: each makes the run folder, then its attempt
    (processes, so that they really run at once; a fresh run folder every round)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    db, root, workers, rounds = tmp_path / "gome.db", tmp_path / "ws", 6, 40
    barrier, errors = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_trace, args=(root, db, i, rounds, barrier, errors)) for i in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    for k in range(rounds):
        assert sorted(p.name for p in (root / f"run-{k}").iterdir()) == [MARKER] + [f"a{i}" for i in range(workers)]
