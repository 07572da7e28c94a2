"""`-o` into a folder that does not exist is refused, naming it, for every command with -o (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from tests.support.recorded import db_with


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return db_with(tmp_path_factory.mktemp("out") / "gome.db")


@pytest.mark.parametrize("args", [["export", "r1", "-o"], ["report", "r1", "-o"], ["sweep", "report", "sw", "-o"],
                                  ["sweep", "export", "sw", "--mlebench-submissions"]], ids=lambda a: a[0] + a[1])
def test_a_missing_parent_is_refused_and_named(db, tmp_path, args):
    target = tmp_path / "no" / "such" / "out.file"
    r = CliRunner().invoke(cli, [*args, str(target), "--db", str(db)])
    assert r.exit_code == 2, r.output
    assert "does not exist" in r.output and f"{tmp_path / 'no'} is missing" in r.output, r.output
    assert not (tmp_path / "no").exists()


def test_an_existing_folder_is_written(db, tmp_path):
    r = CliRunner().invoke(cli, ["export", "r1", "-o", str(tmp_path / "r1.jsonl"), "--db", str(db)])
    assert r.exit_code == 0 and (tmp_path / "r1.jsonl").is_file()
