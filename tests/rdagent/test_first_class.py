"""An imported RD-Agent run is a first-class run: show, replay, diff, export, report, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gome_es.cli.main import cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent"


def _gome(*args: str, db: Path):
    return CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)


def test_imported_runs_show_replay_diff_export_and_report(tmp_path) -> None:
    db = tmp_path / "g.db"
    a = _gome("import-rdagent", str(FIX / "run_a-plain"), "--run-id", "rd-a", db=db)
    b = _gome("import-rdagent", str(FIX / "run_b-plain"), "--run-id", "rd-b", db=db)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output

    show = json.loads(_gome("show", "rd-a", "--json", db=db).output)
    assert show["origin"] == "rdagent" and show["status"] == "completed" and len(show["traces"]) == 2
    assert any(t["best_val_score"] is not None for t in show["traces"].values())

    rep = _gome("replay", "rd-a", "--json", db=db)
    assert rep.exit_code == 0
    out = json.loads(rep.output)
    assert out["ok"] and out["mode"] == "fold-only" and out["events_checked"] == show["event_count"]

    assert _gome("verify", "rd-b", db=db).exit_code == 0
    same = _gome("diff", "rd-a", "rd-a", db=db)
    assert same.exit_code == 0, same.output
    differ = _gome("diff", "rd-a", "rd-b", "--json", db=db)
    assert differ.exit_code == 1
    assert json.loads(differ.output)["first_divergence"] is not None

    exported = tmp_path / "rd-a.jsonl.gz"
    assert _gome("export", "rd-a", "-o", str(exported), db=db).exit_code == 0
    other = tmp_path / "other.db"
    assert _gome("import", str(exported), db=other).exit_code == 0
    assert _gome("diff", "rd-a", str(exported), db=db).exit_code == 0

    html = tmp_path / "r.html"
    assert _gome("report", "rd-a", "-o", str(html), db=db).exit_code == 0
    assert "<svg" in html.read_text()
