"""`gome import` and `gome diff` of hostile exports: gzip bombs are refused before memory grows.

Real gzip files, real `gome` processes; the peak memory is the child's own (getrusage of children).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from tests.store.conftest import child_env

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "replays" / "breast-cancer-gome.jsonl.gz"

PEAK_PROBE = """\
import resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
took = time.monotonic() - t0
print(rc, took, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_measured(*args: str, cwd: Path, **env: str) -> tuple[int, float, int]:
    """(exit status, seconds, peak RSS in MB) of ``gome ARGS`` in a fresh process of its own."""
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, sys.executable, "-m", "gome_es", *args],
                         cwd=cwd, env=child_env(**env), capture_output=True, text=True, timeout=600)
    rc, took, kb = out.stdout.split()
    return int(rc), float(took), int(kb) // 1024


@dataclass
class Result:
    returncode: int
    stderr: str


def gome(*args: str, cwd: Path, **env: str) -> Result:
    """``gome ARGS`` in this process (click's runner), with ``env`` set and relative paths under ``cwd``."""
    args = tuple(str(cwd / a) if a.endswith((".db", ".gz", ".jsonl")) and not os.path.isabs(a) else a
                 for a in args)
    out = CliRunner().invoke(cli, list(args), env=env)
    if out.exception is not None and not isinstance(out.exception, SystemExit):
        raise out.exception
    return Result(out.exit_code, out.stderr)


def bomb(path: Path, inflated: int, *, after_header: bool = False) -> Path:
    """A gzip export whose first line (or, after a real header, second line) inflates to ``inflated`` bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = []
    if after_header:
        with gzip.open(GOLDEN, "rb") as fh:
            parts.append(c.compress(fh.readline()))
        parts.append(c.compress(b'{"kind": "event", "payload": {"pad": "'))
    else:
        parts.append(c.compress(b'{"format": "gome-es-export", "format_version": 1, "pad": "'))
    block = b"a" * (1 << 22)
    for _ in range(inflated // len(block)):
        parts.append(c.compress(block))
    parts += [c.compress(b'"}}\n' if after_header else b'"}\n'), c.flush()]
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.integration
def test_a_bomb_in_the_header_is_refused_at_once_with_little_memory(tmp_path: Path) -> None:
    f = bomb(tmp_path / "bomb.jsonl.gz", 256 << 20)
    assert f.stat().st_size < 400_000
    rc, took, peak_mb = run_measured("import", str(f), "--db", "g.db", cwd=tmp_path)
    assert rc == 2
    assert peak_mb < 150, peak_mb  # the bomb would need 256 MB and more; this is the interpreter and gome
    out = gome("import", str(f), "--db", "g.db", cwd=tmp_path)
    assert "a line longer than 1048576 bytes" in out.stderr and "nothing was read past it" in out.stderr
    diff = gome("diff", str(f), str(GOLDEN), cwd=tmp_path)
    assert diff.returncode == 2 and "a line longer than" in diff.stderr


def test_a_bomb_after_a_real_header_stops_at_the_line_limit(tmp_path: Path) -> None:
    f = bomb(tmp_path / "bomb.jsonl.gz", 64 << 20, after_header=True)
    out = gome("import", str(f), "--db", "g.db", cwd=tmp_path, GOME_EXPORT_MAX_LINE_MB="8")
    assert out.returncode == 2
    assert "a line longer than 8388608 bytes" in out.stderr and "(at line 2)" in out.stderr
    assert "GOME_EXPORT_MAX_LINE_MB" in out.stderr


def test_the_limits_can_be_raised_or_lowered_and_real_exports_pass(tmp_path: Path) -> None:
    assert gome("import", str(GOLDEN), "--db", "a.db", cwd=tmp_path).returncode == 0
    small = gome("import", str(GOLDEN), "--db", "b.db", cwd=tmp_path, GOME_EXPORT_MAX_MB="0.1")
    assert small.returncode == 2 and "more than 104857 bytes" in small.stderr
    bad = gome("import", str(GOLDEN), "--db", "c.db", cwd=tmp_path, GOME_EXPORT_MAX_MB="lots")
    assert bad.returncode == 2 and "GOME_EXPORT_MAX_MB='lots' is not a positive number" in bad.stderr
    diff = gome("diff", str(GOLDEN), str(GOLDEN), cwd=tmp_path, GOME_EXPORT_MAX_MB="0.1")
    assert diff.returncode == 2 and "more than 104857 bytes" in diff.stderr


def test_a_plain_jsonl_export_is_bounded_too(tmp_path: Path) -> None:
    f = tmp_path / "long.jsonl"
    with open(f, "wb") as fh:
        fh.write(b'{"format": "gome-es-export", "pad": "' + b"a" * (3 << 20) + b'"}\n')
    out = gome("import", str(f), "--db", "g.db", cwd=tmp_path)
    assert out.returncode == 2 and "a line longer than 1048576 bytes" in out.stderr


@pytest.mark.slow
def test_the_issue_bomb_one_mb_inflating_to_one_gb(tmp_path: Path) -> None:
    """The probe's file: ~1 MB whose first line inflates to 1 GB (before: 34 s and 2.8 GB, then refused)."""
    f = bomb(tmp_path / "bomb.jsonl.gz", 1 << 30)
    assert 900_000 < f.stat().st_size < 1_200_000
    t0 = time.monotonic()
    rc, took, peak_mb = run_measured("import", str(f), "--db", "g.db", cwd=tmp_path)
    assert rc == 2 and peak_mb < 150 and took < 30, (rc, took, peak_mb, time.monotonic() - t0)
    print(json.dumps({"seconds": round(took, 2), "peak_rss_mb": peak_mb}))


@pytest.mark.integration
def test_a_zlib_bomb_in_a_blob_line_stops_at_its_declared_size(tmp_path: Path) -> None:
    """A blob line whose data inflates to 256 MB while it declares a few KB: refused at the declared size."""
    import base64

    with gzip.open(GOLDEN, "rt", encoding="utf-8") as fh:
        objs = [json.loads(line) for line in fh]
    blob = next(o for o in objs if o.get("kind") == "blob")
    c = zlib.compressobj(9)
    bomb_data = b"".join(c.compress(bytes(1 << 22)) for _ in range(64)) + c.flush()
    blob.update(codec="zlib", data_b64=base64.b64encode(bomb_data).decode())
    f = tmp_path / "blobbomb.jsonl.gz"
    with gzip.open(f, "wt", encoding="utf-8") as fh:
        for o in objs:
            fh.write(json.dumps(o, sort_keys=True) + "\n")
    rc, took, peak_mb = run_measured("import", str(f), "--db", "g.db", cwd=tmp_path)
    assert rc == 2 and peak_mb < 150, (rc, peak_mb)
    out = gome("import", str(f), "--db", "h.db", cwd=tmp_path)
    assert f"inflates past {blob['size']} bytes" in out.stderr, out.stderr
    # a diff reads blobs when it needs them, through the same bounded decoder
    from gome_es.api.sources import source_from_export
    from gome_es.store.errors import ExportInvalid

    with pytest.raises(ExportInvalid, match=f"inflates past {blob['size']} bytes"):
        source_from_export(f).read_blob(blob["sha"])
