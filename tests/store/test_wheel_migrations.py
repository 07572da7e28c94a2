"""The schema must ship inside the wheel: build one, open a store from it alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from .conftest import PYTHON, REPO

pytestmark = pytest.mark.integration

pytest.importorskip("hatchling")

PROBE = """
import sqlite3, sys
import gome_es
from gome_es.store import EventStore, NewEvent
from gome_es.store import schema
assert gome_es.__file__.startswith(sys.argv[2]), gome_es.__file__
assert not schema.REPO_MIGRATIONS.is_dir(), schema.REPO_MIGRATIONS
s = EventStore.open(sys.argv[1])
s.append("r", [NewEvent("A", {})], 0)
print(sorted(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT version FROM schema_migrations")))
"""


def test_store_opens_from_an_installed_wheel(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(REPO / "gome_es", src / "gome_es",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "migrations", src / "migrations")
    shutil.copy(REPO / "pyproject.toml", src)
    readme = REPO / "README.md"
    (src / "README.md").write_text(readme.read_text() if readme.exists() else "gome-es\n")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(src), "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (tmp_path / "dist").glob("gome_es-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("gome_es/_migrations/"))
    assert shipped == sorted(f"gome_es/_migrations/{p.name}"
                             for p in (REPO / "migrations").glob("*.sql"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    run = subprocess.run([PYTHON, "-c", PROBE, str(tmp_path / "w.db"), str(site)],
                         cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(list(range(1, len(shipped) + 1)))
