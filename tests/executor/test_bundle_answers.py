"""Bundled tasks ship their answers apart from the public data, extract them
apart from the task's folder, check their hash on use, and a solution run on
a bundled task finds no trace of them anywhere it can look."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import stat
import tarfile
import textwrap

import pytest

from gome_es.executor import Executor, FailureClass, isolation, task_spec
from gome_es.tasks import bundle, grade_submission, load_task
from gome_es.tasks.model import TaskDataMissing

TASK = "wine-cultivar"  # the smallest bundled task


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GOME_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_no_archive_holds_the_answers_and_each_records_their_hash():
    archives = bundle.bundled_archives()
    assert archives
    for task_id, archive in archives.items():
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            recorded = tar.extractfile(bundle.ANSWERS_HASH).read().decode().strip()
        assert not [n for n in names if "private" in n or "answers.csv" in n], (task_id, names)
        shipped = gzip.decompress((bundle.BUNDLED_DIR / f"{task_id}{bundle.ANSWERS_SUFFIX}").read_bytes())
        assert hashlib.sha256(shipped).hexdigest() == recorded
        assert shipped.startswith(b"id,")


def test_answers_are_extracted_apart_from_the_task_and_root_only(home):
    task = load_task(TASK)
    assert not str(task.private_dir).startswith(str(task.root))
    assert task.private_dir.parent == home / "answers"
    assert not (task.root / "private").exists() and not (task.public_dir.parent / "private").exists()
    assert stat.S_IMODE(task.private_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(task.answers_path.stat().st_mode) == 0o600


def test_changed_answers_are_repaired_on_load_and_never_graded(home, tmp_path):
    task = load_task(TASK)
    good = task.answers_path.read_bytes()
    task.answers_path.write_bytes(good.replace(b"\n1", b"\n2", 1))
    sub = tmp_path / "submission.csv"
    shutil.copy(task.sample_submission_path, sub)
    with pytest.raises(TaskDataMissing, match="were changed"):
        grade_submission(task, sub)
    again = load_task(TASK)  # loading checks the hash and extracts a checked copy again
    assert again.answers_path.read_bytes() == good
    assert grade_submission(again, sub).valid_submission


def test_shipped_answers_with_another_hash_are_refused(home, tmp_path, monkeypatch):
    copy = tmp_path / "bundled"
    shutil.copytree(bundle.BUNDLED_DIR, copy)
    shipped = copy / f"{TASK}{bundle.ANSWERS_SUFFIX}"
    shipped.write_bytes(gzip.compress(gzip.decompress(shipped.read_bytes()) + b"99,1\n"))
    monkeypatch.setattr(bundle, "BUNDLED_DIR", copy)
    with pytest.raises(TaskDataMissing, match="do not have the hash"):
        load_task(TASK)


@pytest.mark.slow
def test_a_solution_on_a_bundled_task_finds_no_answers_anywhere(home, tmp_path):
    """Walk every file the sandbox shows (~13 s): no answers under any name, no bundled archive, no gome."""
    caps = isolation.probe()
    if not caps.mount_isolated:
        pytest.skip("no mount namespace on this host: the whole file system is visible")
    task = load_task(TASK)
    answers = task.answers_path.read_bytes()
    digest, size = hashlib.sha256(answers).hexdigest(), len(answers)
    code = textwrap.dedent(f"""
        import hashlib, os
        hits = []
        for top in [d for d in os.listdir("/") if d not in ("proc", "sys", "dev")]:
            for root, dirs, files in os.walk("/" + top):
                for name in dirs + files:
                    low = name.lower()
                    if "answers" in low or low in ("bundled", "gome_es", "gome.db"):
                        path = os.path.join(root, name)
                        if not (name == "gome_es" and not os.listdir(path)):  # a hidden copy is an empty folder
                            hits.append(path)
                for name in files:  # the answers under any name: same size, same hash
                    path = os.path.join(root, name)
                    try:
                        if os.lstat(path).st_size == {size} and hashlib.sha256(open(path, "rb").read()).hexdigest() == {digest!r}:
                            hits.append("THE ANSWERS at " + path)
                    except OSError:
                        pass
        print("HITS", hits)
        open("submission.csv", "w").write(open(os.path.join(os.environ["GOME_DATA_DIR"], "sample_submission.csv")).read())
        open("metrics.json", "w").write('{{"val_score": 0.5}}')
    """)
    spec = task_spec(task, key="walk", code=code, workspace_root=tmp_path / "ws", timeout_s=120)
    r = Executor().run(spec)
    assert r.failure is FailureClass.ok, (r.detail, r.stderr_tail[-800:])
    assert "HITS []" in r.stdout_tail, r.stdout_tail[-2000:]
