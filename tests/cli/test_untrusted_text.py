"""Text gome did not write never reaches the terminal raw, through any command (issue 24, item 3).

A run arrives by `gome import` from an export whose model name, directions, hypotheses, code and
logs carry OSC 0 (title), OSC 52 (clipboard), OSC 8 (link), DCS, APC, 8-bit C1 controls, a bidi
override and CSI; every command that shows them is run through the CLI and its output checked.
`--raw` on `gome logs` and `gome code` gives the recorded bytes back unchanged.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.store import blobs as blobcodec
from gome_es.store.chain import row_hash

FIX = Path(__file__).parents[1] / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
HOSTILE = ("A\x1b]0;pwned-title\x07B\x1b]52;c;cm0gLXJmIH4=\x1b\\C\x1b]8;;http://evil.example/\x1b\\link"
           "\x1b]8;;\x1b\\D\x1bP1$qpwned-dcs\x1b\\E\x1b_pwned-apc\x1b\\F\x9b31m\x9d0;pwned-c1\x9cG"
           "\u202eH\x1b[2JI")
CODE = f"# {HOSTILE}\nprint('hello')  # \u202e evil\n"
STDOUT = f"epoch 1\r{HOSTILE}\nepoch 2\n"


def _hostile_export(tmp: Path) -> Path:
    lines = [json.loads(raw) for raw in gzip.open(FIX, "rt", encoding="utf-8")]
    head, body = lines[0], lines[1:]
    events = [o for o in body if o.get("kind") == "event"]
    blobs = [o for o in body if o.get("kind") == "blob"]
    new_blobs = {}

    def blob(text: str) -> str:
        raw = text.encode("utf-8")
        sha = blobcodec.blob_sha(raw)
        new_blobs[sha] = {"kind": "blob", "sha": sha, "size": len(raw), "codec": "raw",
                          "data_b64": base64.b64encode(raw).decode()}
        return sha

    run_id, prev, done = "hostile-import", head.get("genesis") or "0" * 64, set()
    prev = events[0]["prev_hash"]
    for e in events:
        p = e["payload"]
        if e["type"] == "RunStarted":
            p["reasoner"]["model"] = f"gpt-{HOSTILE}"
        elif e["type"] == "TraceStarted":
            p["direction"] = f"dir {HOSTILE}"
        elif e["type"] == "HypothesisProposed":
            p["hypothesis"] = f"hyp {HOSTILE}"
        elif e["type"] == "CodeGenerated" and "code" not in done:
            p["code_sha"], done = blob(CODE), done | {"code"}
            hostile_solution = p["solution_id"]
        elif e["type"] == "ExecutionFinished" and p["solution_id"] == hostile_solution:
            p["stdout_sha"], p["stdout_tail"] = blob(STDOUT), STDOUT[-200:]
        e["prev_hash"] = prev
        e["hash"] = prev = row_hash(run_id, e["seq"], e["trace_id"], e["type"], e["schema_version"], e["ts"],
                                    p, prev)
    head.update(run_id=run_id, head_hash=prev)
    all_blobs = blobs + list(new_blobs.values())
    path = tmp / "hostile.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for o in [head, *events, *all_blobs, {"kind": "end", "events": len(events), "blobs": len(all_blobs)}]:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    return path


def gome(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    path = tmp / "gome.db"
    r = gome("import", str(_hostile_export(tmp)), "--db", str(path))
    assert r.exit_code == 0, r.output
    r = gome("import", str(FIX), "--run-id", "plain", "--db", str(path))
    assert r.exit_code == 0, r.output
    return path


def assert_safe(out: str, escaped_whole: bool = False) -> None:
    """No escape, C1, bidi or bell reaches the output; sequences are gone (JSON keeps them, escaped)."""
    assert "\x1b" not in out, out[max(0, out.find("\x1b") - 80):out.find("\x1b") + 80]
    assert not [c for c in out if 0x80 <= ord(c) <= 0x9f], "an 8-bit C1 control got through"
    assert "\u202e" not in out and "\x07" not in out
    if escaped_whole:
        assert "\\u001b]0;pwned-title\\u0007" in out and "\\u009b" in out and "\\u202e" in out
        return
    for gone in ("pwned-title", "cm0gLXJmIH4=", "evil.example", "pwned-dcs", "pwned-apc", "pwned-c1"):
        assert gone not in out, gone


def _solution(db: Path) -> str:
    out = gome("steps", "hostile-import", "--json", "--db", str(db)).output
    return json.loads(out.splitlines()[0])["solution_id"]


@pytest.mark.parametrize("args", [
    ["show", "hostile-import"], ["status", "hostile-import"], ["runs"], ["runs", "--csv"], ["runs", "--json"],
    ["steps", "hostile-import"], ["steps", "hostile-import", "--csv"], ["steps", "hostile-import", "--json"],
    ["events", "hostile-import"], ["events", "hostile-import", "--json"], ["watch", "hostile-import", "--once"],
    ["verify", "hostile-import"],
])
def test_run_commands_print_no_escape(db, args):
    r = gome(*args, "--db", str(db))
    assert r.exit_code == 0, r.output
    assert_safe(r.output, escaped_whole="--json" in args)


def test_the_imported_model_name_is_shown_cleaned(db):
    for args in (["show", "hostile-import"], ["runs", "--csv"]):
        out = gome(*args, "--db", str(db)).output
        assert "gpt-ABClinkDEFG\\u202eHI" in out, out
    row = next(json.loads(x) for x in gome("runs", "--json", "--db", str(db)).output.splitlines()
               if json.loads(x)["run_id"] == "hostile-import")
    assert row["model"] == f"gpt-{HOSTILE}"  # JSON keeps the value exactly, escaped in the text


def test_code_and_logs_are_cleaned_and_raw_gives_the_bytes(db):
    sid = _solution(db)
    code = gome("code", "hostile-import", sid, "--db", str(db))
    assert code.exit_code == 0 and "print('hello')  # \\u202e evil" in code.output
    assert_safe(code.output)
    raw = gome("code", "hostile-import", sid, "--raw", "--db", str(db))
    assert raw.exit_code == 0 and raw.stdout_bytes == CODE.encode("utf-8")
    logs = gome("logs", "hostile-import", sid, "--db", str(db))
    assert logs.exit_code == 0 and "epoch 1\nABClinkDEFG\\u202eHI\nepoch 2" in logs.output
    assert_safe(logs.output)
    raw = gome("logs", "hostile-import", sid, "--stream", "stdout", "--raw", "--db", str(db))
    assert raw.exit_code == 0 and raw.stdout_bytes.startswith(STDOUT.encode("utf-8"))
    both = gome("logs", "hostile-import", sid, "--raw", "--db", str(db))
    assert both.exit_code == 2 and "--stream stdout" in both.output


def test_diff_shows_the_llm_text_cleaned(db):
    for extra in ([], ["--fields"], ["--json"]):
        r = gome("diff", "plain", "hostile-import", *extra, "--db", str(db))
        assert r.exit_code == 1, r.output
        assert_safe(r.output, escaped_whole="--json" in extra)
    assert "hyp ABClinkDEFG\\u202eHI" in gome("diff", "plain", "hostile-import", "--db", str(db)).output


def test_an_unknown_id_is_shown_cleaned_and_once(db):
    long_id = "r" * 120_000
    for args in (["show", long_id], ["steps", long_id], ["events", long_id], ["code", long_id, "x"],
                 ["verify", long_id], ["diff", long_id, "plain"], ["sweep", "status", long_id]):
        r = gome(*args, "--db", str(db))
        assert r.exit_code == 2 and long_id not in r.output and len(r.output) < 2000, (args, len(r.output))
        assert r.output.count("120,000 characters") == 1 and len(re.findall("r{20,}", r.output)) <= 2, r.output
    r = gome("show", f"x{HOSTILE}", "--db", str(db))
    assert r.exit_code == 2
    assert_safe(r.output)
