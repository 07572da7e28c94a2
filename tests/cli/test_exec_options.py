"""`gome exec` takes --db (the database its sandbox must not see) and --mlebench-data / $GOME_MLEBENCH_DATA
like the other commands (issue 24)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli

PROBE = """
import os, sys, pandas as pd
sample = pd.read_csv(os.path.join(os.environ["GOME_DATA_DIR"], "sample_submission.csv"))
sample.to_csv("submission.csv", index=False)
db = {db!r}
try:
    open(db, "rb").read(16)
    print("DB-READ", file=sys.stderr)
except OSError as exc:
    print("DB-HIDDEN", type(exc).__name__, file=sys.stderr)
"""


@pytest.mark.integration
def test_exec_accepts_db_and_its_sandbox_cannot_read_that_database(tmp_path):
    secret = tmp_path / "private" / "my.db"
    secret.parent.mkdir()
    secret.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    sol = tmp_path / "solution.py"
    sol.write_text(PROBE.format(db=str(secret)))
    r = CliRunner().invoke(cli, ["exec", "breast-cancer-diagnosis", str(sol), "--timeout", "60", "--json",
                                 "--workspace", str(tmp_path / "ws"), "--db", str(secret)], env={"GOME_DB": ""})
    assert r.exit_code in (0, 1), r.output
    data = json.loads(r.stdout)
    assert "DB-HIDDEN" in data["result"]["stderr_tail"] and "DB-READ" not in data["result"]["stderr_tail"], data


def test_exec_reads_mlebench_data_from_the_option_and_the_environment(tmp_path):
    sol = tmp_path / "s.py"
    sol.write_text("print(1)\n")
    data = tmp_path / "mle"
    data.mkdir()
    for args, env in (([], {"GOME_MLEBENCH_DATA": str(data)}), (["--mlebench-data", str(data)], {})):
        r = CliRunner().invoke(cli, ["exec", "mlebench:spooky", str(sol), *args], env=env)
        assert r.exit_code == 2, r.output
        assert "needs --mlebench-data" not in r.output and f"{data}/spooky/prepared" in r.output, r.output
    r = CliRunner().invoke(cli, ["exec", "mlebench:spooky", str(sol)], env={"GOME_MLEBENCH_DATA": ""})
    assert r.exit_code == 2 and "needs --mlebench-data" in r.output
