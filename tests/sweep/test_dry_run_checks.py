"""`gome sweep --dry-run` checks exactly what the sweep checks, and prints shell-quoted commands (issue 24)."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.store import EventStore

BASE = ["sweep", "--tasks", "wine-cultivar", "--variants", "gome", "--seeds", "1"]


def gome(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("sid, words", [("x-bad", "starts with 'sweep-'"), ("sweep-a/../b", "may not contain '/'"),
                                        ("sweep-" + "x" * 120, "at most 100 characters")])
def test_dry_run_and_sweep_refuse_the_same_ids(tmp_path, sid, words):
    db = tmp_path / "gome.db"
    for extra in (["--dry-run"], []):
        r = gome(*BASE, "--sweep-id", sid, *extra, "--db", str(db))
        assert r.exit_code == 2 and words in r.output, (extra, r.output)
    assert not db.exists() or not EventStore.open(db, readonly=True).runs()


def test_dry_run_refuses_a_sweep_id_already_in_the_database(tmp_path):
    db = tmp_path / "gome.db"
    with EventStore.open(db) as store:
        from gome_es.sweep import plan_sweep

        plan_sweep(store, tasks=["wine-cultivar"], variants=["gome"], seeds=[0], budget_s=60, sweep_id="sweep-t")
    r = gome(*BASE, "--sweep-id", "sweep-t", "--dry-run", "--db", str(db))
    assert r.exit_code == 2 and "already exists" in r.output


def test_dry_run_commands_are_shell_quoted(tmp_path):
    db = tmp_path / "my db; rm -rf x.db"
    r = gome(*BASE, "--sweep-id", "sweep-q", "--model", "a'b $(id)", "--dry-run", "--db", str(db))
    assert r.exit_code == 0, r.output
    run_id, command = r.stdout.splitlines()[0].split("\t")
    words = shlex.split(command)
    assert words[:2] == ["gome", "run"] and words[-2:] == ["--db", str(db)]
    assert words[words.index("--model") + 1] == "a'b $(id)" and words[words.index("--run-id") + 1] == run_id
    assert not db.exists()
