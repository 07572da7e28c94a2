"""More attacks on gome's own commands (issue 24): terminal escapes, bombs and config files.

The same contract as :mod:`tests.trust.own_attacks`: each attack stages what a hostile export, a
hostile solution or a cloned project's ``gome.toml`` would carry in a fresh folder, runs the real
command, and returns None when gome stopped it or a line saying what got through.  Shared by
tests/trust/test_own_attacks.py and benchmarks/escape_campaign.py (its sections "terminal
escapes", "bombs" and "config").
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

from tests.trust.own_attacks import Attack, _gome

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "diff" / "breast-cancer-seed0.jsonl.gz"
REMOTE = "http://203.0.113.9:8000/v1"  # TEST-NET-3: nothing answers there


# ----------------------------------------------------------------------- terminal escapes

def _hostile_db(tmp: Path) -> Path:
    """A database holding a run imported from an export whose model name, directions, hypotheses,
    code and logs carry OSC 0/52/8, DCS, APC, C1, bidi and CSI (tests/cli/test_untrusted_text.py)."""
    from tests.cli.test_untrusted_text import _hostile_export

    db = tmp / "gome.db"
    code, out = _gome("import", str(_hostile_export(tmp)), "--db", str(db))
    if code != 0:
        raise AssertionError(f"could not stage the hostile import: {out}")
    code, out = _gome("import", str(GOLDEN), "--run-id", "plain", "--db", str(db))
    if code != 0:
        raise AssertionError(f"could not stage the plain import: {out}")
    return db


def _raw_control(out: str) -> str | None:
    bad = [c for c in out if c in "\x1b\x07\u202e" or 0x80 <= ord(c) <= 0x9f]
    if bad:
        i = out.index(bad[0])
        return f"{bad[0]!r} reached the terminal: ...{out[max(0, i - 40):i + 40]!r}"
    return None


def _escapes(tmp: Path, *args: str) -> str | None:
    db = _hostile_db(tmp)
    sid = None
    if "SOLUTION" in args:
        steps = _gome("steps", "hostile-import", "--json", "--db", str(db))[1]
        sid = json.loads(steps.splitlines()[0])["solution_id"]
    argv = [sid if a == "SOLUTION" else a for a in args]
    code, out = _gome(*argv, "--db", str(db))
    if code not in (0, 1):  # diff exits 1 for different runs
        return f"gome {' '.join(args)} failed (exit {code}): {out[-200:]}"
    got = _raw_control(out)
    return f"gome {' '.join(args)}: {got}" if got else None


def escape_logs(tmp: Path) -> str | None:
    return _escapes(tmp, "logs", "hostile-import", "SOLUTION")


def escape_code(tmp: Path) -> str | None:
    return _escapes(tmp, "code", "hostile-import", "SOLUTION")


def escape_diff(tmp: Path) -> str | None:
    return _escapes(tmp, "diff", "plain", "hostile-import")


def escape_show_model(tmp: Path) -> str | None:
    return _escapes(tmp, "show", "hostile-import")


def escape_runs_csv(tmp: Path) -> str | None:
    return _escapes(tmp, "runs", "--csv")


def escape_events(tmp: Path) -> str | None:
    return _escapes(tmp, "events", "hostile-import")


# ----------------------------------------------------------------------- bombs

def _measured(argv: list[str], cwd: Path) -> tuple[int, float, int, str]:
    """Exit code, seconds and the child's peak RSS in MB of ``gome ARGV`` in a fresh process."""
    code = ("import resource, subprocess, sys, time\n"
            "t = time.monotonic()\n"
            "p = subprocess.run([sys.executable, '-m', 'gome_es', *sys.argv[1:]], capture_output=True, text=True)\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
            "print(p.returncode, round(time.monotonic() - t, 2), rss)\n"
            "sys.stderr.write(p.stderr[-300:])\n")
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=cwd, timeout=300)
    rc, secs, rss = p.stdout.split()
    return int(rc), float(secs), int(rss), p.stderr


def _bomb(path: Path, inflated: int) -> Path:
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [c.compress(b'{"format": "gome-es-export", "format_version": 1, "pad": "')]
    block = b"a" * (1 << 22)
    parts += [c.compress(block) for _ in range(inflated // len(block))]
    parts += [c.compress(b'"}\n'), c.flush()]
    path.write_bytes(b"".join(parts))
    return path


def bomb_import(tmp: Path) -> str | None:
    f = _bomb(tmp / "bomb.jsonl.gz", 1 << 30)  # about 1 MB on disk, 1 GB inflated: the bomb
    rc, _, rss, err = _measured(["import", str(f), "--db", str(tmp / "g.db")], tmp)
    if rc != 2:
        return f"gome import of a gzip bomb exited {rc}: {err}"
    if rss > 600:
        return f"gome import of a gzip bomb grew to {rss} MB before refusing it"
    return None


def bomb_diff(tmp: Path) -> str | None:
    f = _bomb(tmp / "bomb.jsonl.gz", 1 << 30)
    rc, _, rss, err = _measured(["diff", str(GOLDEN), str(f)], tmp)
    if rc != 2:
        return f"gome diff against a gzip bomb exited {rc}: {err}"
    if rss > 600:
        return f"gome diff against a gzip bomb grew to {rss} MB"
    return None


def bomb_wide_submission(tmp: Path) -> str | None:
    from gome_es.tasks import load_task, validate_submission

    task = load_task("penguin-body-mass")
    sub = tmp / "submission.csv"
    sub.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" for _ in range(100_000)) + "\n")
    t = time.monotonic()
    check = validate_submission(task, sub)
    secs = time.monotonic() - t
    if check.valid:
        return "a 100,000-column submission was called valid"
    return f"checking a 100,000-column submission took {secs:.1f} s" if secs > 10 else None


def bomb_nested_config(tmp: Path) -> str | None:
    cfg = tmp / "gome.toml"
    cfg.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, out = _gome("--config", str(cfg), "runs", "--db", str(tmp / "g.db"))
    if code != 2:
        return f"a gome.toml nested 100,000 deep gave exit {code}: {out[-200:]}"
    return None if "Traceback" not in out else "a gome.toml nested 100,000 deep printed a traceback"


def bomb_config_fifo(tmp: Path) -> str | None:
    import os

    fifo = tmp / "gome.toml"
    os.mkfifo(fifo)
    t = time.monotonic()
    code, out = _gome("--config", str(fifo), "runs", "--db", str(tmp / "g.db"))
    if time.monotonic() - t > 10:
        return "--config on a FIFO blocked"
    return None if code == 2 and "FIFO" in out.upper() else f"--config on a FIFO: exit {code}: {out[-200:]}"


# ----------------------------------------------------------------------- config files

def _config_run(tmp: Path, body: str, *extra: str) -> tuple[int, str]:
    (tmp / "gome.toml").write_text(body, encoding="utf-8")
    env = {"OPENAI_API_KEY": "sk-test-key", "GOME_WORKSPACE": "", "OPENAI_BASE_URL": "", "GOME_CONFIG": ""}
    from click.testing import CliRunner

    from gome_es.cli.main import cli

    r = CliRunner().invoke(cli, ["run", "--task", "breast-cancer-diagnosis", "--budget", "30s",
                                 "--db", str(tmp / "gome.db"), *extra], env=env)
    return r.exit_code, r.output


def config_redirects_endpoint(tmp: Path) -> str | None:
    code, out = _config_run(tmp, f'[run]\nreasoner = "openai"\nbase-url = "{REMOTE}"\n')
    if code != 2 or "--trust-config" not in out:
        return f"a gome.toml base-url for another host with an API key set was not refused (exit {code})"
    return None


def config_names_its_workspace(tmp: Path) -> str | None:
    # the finding was `workspace = "/etc"` taken silently; a folder of the test's own stands in
    # for it (a run as root would really write there), the point being that the start line names it
    work = tmp / "elsewhere"
    work.mkdir(mode=0o700)
    cfg = tmp / "gome.toml"
    code, out = _config_run(tmp, f'[run]\nworkspace = "{work}"\n', "--max-iterations", "1", "--traces", "1")
    start = next((line for line in out.splitlines() if str(work) in line), None)
    if start is None:
        return f"a workspace taken from gome.toml was used without being named (exit {code})"
    if str(cfg) not in out:
        return "the start of the run named the workspace but not the config file it came from"
    return None


def config_gc_root(tmp: Path) -> str | None:
    (tmp / "gome.toml").write_text('[gc]\nworkspace = "/"\n')
    code, out = _gome("gc", "--dry-run", "--db", str(tmp / "gome.db"))
    if "/etc" in out and "left alone" not in out:
        return "gc planned to remove /etc from a workspace in gome.toml"
    return None if code == 2 else f"gc on workspace '/' from gome.toml exited {code}"


ESCAPES = [Attack(f.__name__, f) for f in (escape_logs, escape_code, escape_diff, escape_show_model,
                                            escape_runs_csv, escape_events)]
BOMBS = [Attack(f.__name__, f) for f in (bomb_import, bomb_diff, bomb_wide_submission, bomb_nested_config,
                                          bomb_config_fifo)]
CONFIG = [Attack(f.__name__, f) for f in (config_redirects_endpoint, config_names_its_workspace, config_gc_root)]

