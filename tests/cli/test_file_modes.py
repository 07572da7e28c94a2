"""Reports and the selected submission are ordinary files: their mode follows the umask (not 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.recorded import db_with

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_report_gets_the_mode_the_umask_gives(tmp_path, umask, mode):
    db = db_with(tmp_path / "g.db")
    out = tmp_path / "r1.html"
    # a real process with its own umask, as a user's shell would start gome
    code = f"import os, sys; os.umask({umask}); from gome_es.cli.main import cli; sys.argv[0] = 'gome'; cli()"
    r = subprocess.run([sys.executable, "-c", code, "report", "r1", "-o", str(out), "--db", str(db)],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_the_mode_helper_reads_the_umask_without_changing_it():
    from gome_es.trust.filemode import ordinary_file_mode

    old = os.umask(0o027)
    try:
        assert ordinary_file_mode() == 0o640
        assert os.umask(0o027) == 0o027  # still what it was
    finally:
        os.umask(old)
