"""`gome gc` removes only what gome made for this database (issue 24, the first critical finding).

The finding: a cloned project with a ``gome.toml`` saying ``[gc] workspace = "."`` turned a plain
`gome gc` into ``rm -rf src/ data/``, and ``workspace = "/"`` planned to remove /etc, /home and /opt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.gc_cmd import collect, plan
from gome_es.cli.main import cli
from gome_es.driver.driver import run_dir
from gome_es.driver.workspaces import workspace_root
from gome_es.store import EventStore, NewEvent
from gome_es.trust.folders import MARKER

FIX = Path(__file__).parents[2] / "tests" / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"


def gome(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("GOME_WORKSPACE", raising=False)
    monkeypatch.delenv("GOME_CONFIG", raising=False)
    path = tmp_path / "proj" / "gome.db"
    path.parent.mkdir()
    with EventStore.open(path) as store:
        store.import_run(FIX, run_id="seed-0")  # a finished run
        store.append("live", [NewEvent("RunStarted", {"task_id": "x"})], expected_seq=0)
    return path


def _project(folder: Path) -> None:
    for sub in ("src", "data"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "keep.txt").write_text("precious")


def _intact(folder: Path) -> bool:
    return all((folder / sub / "keep.txt").read_text() == "precious" for sub in ("src", "data"))


def test_a_config_file_workspace_dot_never_deletes_the_project(db, monkeypatch):
    proj = db.parent
    monkeypatch.chdir(proj)  # `gome gc` typed in the cloned project
    _project(proj)
    (proj / "gome.toml").write_text('[gc]\nworkspace = "."\n')
    for dry in ([], ["--dry-run"]):
        r = gome("gc", "--db", str(db), *dry)
        assert r.exit_code == 2, r.output
        assert f"from [gc] workspace in the config file {proj / 'gome.toml'}" in r.output
        assert "holds the database" in r.output and "remove" not in r.output.split("Error")[0]
    assert _intact(proj)


@pytest.mark.parametrize("how", ["config", "env", "option"])
def test_the_root_of_the_file_system_is_refused_even_for_a_dry_run(db, how):
    args, env = ["gc", "--db", str(db), "--dry-run"], None
    if how == "config":
        (db.parent / "gome.toml").write_text('[gc]\nworkspace = "/"\n')
    elif how == "env":
        env = {"GOME_WORKSPACE": "/"}
    else:
        args += ["--workspace", "/"]
    r = gome(*args, env=env)
    assert r.exit_code == 2 and "is the root of the file system" in r.output, r.output
    assert "/etc" not in r.output and "would remove" not in r.output
    where = {"config": "[gc] workspace in the config file", "env": "$GOME_WORKSPACE", "option": "--workspace"}[how]
    assert r.output.startswith(f"workspace / (from {where}")


def test_a_home_folder_and_a_folder_above_the_database_are_refused(db, tmp_path, monkeypatch):
    home = tmp_path / "home"
    _project(home)
    monkeypatch.setenv("HOME", str(home))
    r = gome("gc", "--db", str(db), "--workspace", str(home))
    assert r.exit_code == 2 and "is a home folder" in r.output, r.output
    r = gome("gc", "--db", str(db), "--workspace", str(tmp_path))
    assert r.exit_code == 2 and "holds the database" in r.output, r.output
    assert _intact(home) and db.exists()


def test_a_link_as_workspace_is_refused(db, tmp_path):
    target = tmp_path / "elsewhere"
    _project(target)
    (tmp_path / "ws-link").symlink_to(target)
    r = gome("gc", "--db", str(db), "--workspace", str(tmp_path / "ws-link"))
    assert r.exit_code == 2 and "symbolic link" in r.output, r.output
    assert _intact(target)


def test_folders_gome_did_not_make_are_listed_and_left_alone(db, tmp_path):
    other = tmp_path / "project"
    _project(other)
    (other / "stray.txt").write_text("x")
    r = gome("gc", "--db", str(db), "--workspace", str(other))
    assert r.exit_code == 0, r.output
    assert f"not gome's, left alone: {other / 'src'} (no {MARKER})" in r.output
    assert f"not gome's, left alone: {other / 'data'}" in r.output and "3 left alone" in r.output
    assert _intact(other) and (other / "stray.txt").exists()


def test_only_this_databases_runs_are_removed(db, tmp_path):
    root = workspace_root(db)
    other_db = tmp_path / "other" / "gome.db"
    other_db.parent.mkdir()
    EventStore.open(other_db).close()
    mine = run_dir(root, "gone-mine", "r0", db=db)
    theirs = run_dir(root, "gone-theirs", "r0", db=other_db)  # same workspace root, another database
    for d in (mine, theirs):
        d.mkdir()
        (d / "f").write_text("x" * 100)
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert not (root / "gone-mine").exists()
    assert (theirs / "f").exists() and f"made for the database {other_db}" in r.output


def test_a_database_replaced_at_the_same_path_does_not_own_the_old_folders(db, tmp_path):
    root = workspace_root(db)
    d = run_dir(root, "old", "r0", db=db)
    d.mkdir()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    EventStore.open(db).close()  # a new file at the old path: the marker names the old one
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0 and d.exists() and "(since replaced)" in r.output, r.output


def test_a_planted_marker_is_not_trusted(db):
    root = workspace_root(db)
    run_dir(root, "seed-0", "r0", db=db)  # makes the root
    forged = root / "victim"
    _project(forged)
    real_marker = json.loads((root / "seed-0" / MARKER).read_text())
    (root / "marker.json").write_text(json.dumps({**real_marker, "run_id": "victim"}))
    (forged / MARKER).symlink_to(root / "marker.json")  # a link is never read as a marker
    mislabelled = root / "elsewhere"
    _project(mislabelled)
    (mislabelled / MARKER).write_text(json.dumps(real_marker))  # names run seed-0, not this folder
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert _intact(forged) and _intact(mislabelled)
    assert "its marker names run 'seed-0'" in r.output


def test_a_folder_swapped_between_plan_and_removal_is_kept(db):
    root = workspace_root(db)
    d = run_dir(root, "gone", "r0", db=db)
    d.mkdir()
    with EventStore.open(db, readonly=True) as store:
        removals, _ = plan(store, root, db)
    assert [r.run_id for r in removals] == ["gone"]
    os.rename(root / "gone", root / "gone.orig")
    _project(root / "gone")  # someone put another folder under the planned name
    collect(root, removals)
    assert _intact(root / "gone")


def test_finished_runs_keep_selected_and_the_marker(db):
    root = workspace_root(db)
    for name in ("r0", "r1", "selected"):
        (run_dir(root, "seed-0", name, db=db)).mkdir()
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (root / "seed-0").iterdir()) == [MARKER, "selected"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_another_users_folder_is_left_alone_even_with_a_marker(db):
    root = workspace_root(db)
    d = run_dir(root, "gone", "r0", db=db)
    d.mkdir()
    os.chown(root / "gone", 65534, 65534)
    r = gome("gc", "--db", str(db))
    assert r.exit_code == 0 and d.exists() and "belongs to uid 65534" in r.output, r.output
