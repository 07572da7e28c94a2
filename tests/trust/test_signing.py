"""Signed runs: keygen, export --sign, import --require-signature, verify --key; and replay reading code blobs.

The forger here does what the issue's probe did: edit the last ``SubmissionGraded`` to a gold score
and recompute every hash after it (and the header's head), so the chain alone checks out.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from gome_es.cli.main import cli
from gome_es.core.canonical import canonical_json
from gome_es.store.chain import row_hash

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "replays" / "breast-cancer-gome.jsonl.gz"
RUN = "breast-cancer-gome"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def gome(*args: str, cwd: Path) -> Result:
    """``gome ARGS`` run in ``cwd``, in this process (click's runner: the CLI's real code and exit codes)."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        out = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(here)
    if out.exception is not None and not isinstance(out.exception, SystemExit):
        raise out.exception
    return Result(out.exit_code, out.stdout, out.stderr)


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _write(path: Path, objs: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for obj in objs:
            fh.write(canonical_json(obj) + "\n")
    return path


def forge_gold(src: Path, dst: Path) -> Path:
    """The export with its last SubmissionGraded turned gold and the chain recomputed (signature kept)."""
    objs = _lines(src)
    header, events = objs[0], [o for o in objs if o.get("kind") == "event"]
    graded = [e for e in events if e["type"] == "SubmissionGraded"][-1]
    report = graded["payload"]["report"]
    report.update(score=1.0, gold_medal=True, any_medal=True, silver_medal=False)
    prev = events[graded["seq"] - 2]["hash"] if graded["seq"] > 1 else None
    for e in events[graded["seq"] - 1:]:
        e["prev_hash"] = prev
        e["hash"] = prev = row_hash(header["run_id"], e["seq"], e["trace_id"], e["type"], e["schema_version"],
                                    e["ts"], e["payload"], e["prev_hash"])
    header["head_hash"] = prev
    return _write(dst, objs)


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict[str, Path]:
    """A key pair, the golden run in a database, and its export signed with the key."""
    d = tmp_path_factory.mktemp("signed")
    assert gome("keygen", "--out", "k", cwd=d).returncode == 0
    assert gome("import", str(GOLDEN), "--db", "a.db", cwd=d).returncode == 0
    out = gome("export", RUN, "--db", "a.db", "-o", "signed.jsonl.gz", "--sign", "k", cwd=d)
    assert out.returncode == 0, out.stderr
    assert "signed by key" in out.stdout
    return {"dir": d, "key": d / "k", "pub": d / "k.pub", "export": d / "signed.jsonl.gz"}


def test_keygen_makes_a_private_0600_and_a_public_key_and_never_overwrites(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        out = gome("keygen", "--out", "mine", cwd=tmp_path)
    finally:
        os.umask(old)
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE((tmp_path / "mine").stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in (tmp_path / "mine").read_bytes()
    assert b"PUBLIC KEY" in (tmp_path / "mine.pub").read_bytes()
    before = (tmp_path / "mine").read_bytes()
    again = gome("keygen", "--out", "mine", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (tmp_path / "mine").read_bytes() == before
    (tmp_path / "planted").symlink_to(tmp_path / "elsewhere")  # a link where the key would go
    linked = gome("keygen", "--out", "planted", cwd=tmp_path)
    assert linked.returncode == 2 and not (tmp_path / "elsewhere").exists()
    missing = gome("keygen", "--out", "no/such/folder/k", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "no").exists()


def test_a_private_key_others_can_read_is_refused(tmp_path: Path, signed) -> None:
    loose = tmp_path / "loose"
    loose.write_bytes(signed["key"].read_bytes())
    loose.chmod(0o644)
    out = gome("export", RUN, "--db", str(signed["dir"] / "a.db"), "-o", "x.jsonl", "--sign", str(loose),
               cwd=tmp_path)
    assert out.returncode == 2 and "can be read by others" in out.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_a_signed_export_imports_with_its_key_and_verifies(tmp_path: Path, signed) -> None:
    out = gome("import", str(signed["export"]), "--db", "b.db", "--require-signature", str(signed["pub"]),
               cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "signature checked" in out.stdout
    ok = gome("verify", RUN, "--db", "b.db", "--key", str(signed["pub"]), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "(checked)" in ok.stdout
    # re-exported without --sign, the kept signature still covers the head and travels on
    assert gome("export", RUN, "--db", "b.db", "-o", "again.jsonl.gz", cwd=tmp_path).returncode == 0
    again = gome("import", "again.jsonl.gz", "--db", "c.db", "--require-signature", str(signed["pub"]),
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_forged_gold_is_refused_with_the_key_and_accepted_without(tmp_path: Path, signed) -> None:
    forged = forge_gold(signed["export"], tmp_path / "forged.jsonl.gz")
    plain = gome("import", str(forged), "--db", "plain.db", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr  # the chain alone cannot tell
    assert gome("verify", RUN, "--db", "plain.db", cwd=tmp_path).returncode == 0
    keyed = gome("import", str(forged), "--db", "keyed.db", "--require-signature", str(signed["pub"]),
                 cwd=tmp_path)
    assert keyed.returncode == 1
    assert "does not match run breast-cancer-gome" in keyed.stderr
    assert not (tmp_path / "keyed.db").exists() or RUN not in gome("runs", "--db", "keyed.db", cwd=tmp_path).stdout
    # the forgery imported without a key keeps the old signature, which verify --key refuses
    refused = gome("verify", RUN, "--db", "plain.db", "--key", str(signed["pub"]), cwd=tmp_path)
    assert refused.returncode == 1 and "SIGNATURE REFUSED" in refused.stderr


def test_the_forger_who_keeps_the_old_head_in_the_header_is_caught_by_the_chain(tmp_path: Path, signed) -> None:
    objs = _lines(forge_gold(signed["export"], tmp_path / "f.jsonl.gz"))
    objs[0]["head_hash"] = _lines(signed["export"])[0]["head_hash"]  # the signed head, unchanged
    forged = _write(tmp_path / "f2.jsonl.gz", objs)
    out = gome("import", str(forged), "--db", "x.db", "--require-signature", str(signed["pub"]), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "not the head" in out.stderr and "the file was edited" in out.stderr


def test_a_tampered_signature_is_refused(tmp_path: Path, signed) -> None:
    objs = _lines(signed["export"])
    sig = bytearray(base64.b64decode(objs[0]["signature"]["signature"]))
    sig[0] ^= 1
    objs[0]["signature"]["signature"] = base64.b64encode(bytes(sig)).decode()
    out = gome("import", str(_write(tmp_path / "t.jsonl.gz", objs)), "--db", "t.db",
               "--require-signature", str(signed["pub"]), cwd=tmp_path)
    assert out.returncode == 1 and "does not match" in out.stderr
    objs[0]["signature"]["signature"] = "not base64 !"
    out = gome("import", str(_write(tmp_path / "t2.jsonl.gz", objs)), "--db", "t.db",
               "--require-signature", str(signed["pub"]), cwd=tmp_path)
    assert out.returncode == 1 and "not base64" in out.stderr


def test_the_wrong_key_and_an_unsigned_export_are_refused(tmp_path: Path, signed) -> None:
    assert gome("keygen", "--out", "other", cwd=tmp_path).returncode == 0
    out = gome("import", str(signed["export"]), "--db", "w.db", "--require-signature", "other.pub", cwd=tmp_path)
    assert out.returncode == 1 and "not with the given key" in out.stderr
    unsigned = gome("import", str(GOLDEN), "--db", "u.db", "--require-signature", str(signed["pub"]), cwd=tmp_path)
    assert unsigned.returncode == 1 and "is not signed" in unsigned.stderr
    private = gome("import", str(signed["export"]), "--db", "w.db", "--require-signature", str(signed["key"]),
                   cwd=tmp_path)
    assert private.returncode == 2 and "pass the .pub file" in private.stderr
    # a run in the database: verify --key with the wrong key, and a run that was never signed
    assert gome("import", str(signed["export"]), "--db", "v.db", cwd=tmp_path).returncode == 0
    wrong = gome("verify", RUN, "--db", "v.db", "--key", "other.pub", cwd=tmp_path)
    assert wrong.returncode == 1 and "not with the given key" in wrong.stderr
    never = gome("verify", RUN, "--db", str(signed["dir"] / "a.db"), "--key", str(signed["pub"]), cwd=tmp_path)
    assert never.returncode == 1 and "is not signed" in never.stderr


# ------------------------------------------------------------------ replay reads code blobs

def _code_shas(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT seq, payload FROM events WHERE run_id = ? AND type = 'CodeGenerated' "
                            "ORDER BY seq", (RUN,)).fetchall()
    finally:
        conn.close()
    return [(seq, json.loads(p)["code_sha"]) for seq, p in rows]


def _damage(db: Path, sha: str) -> None:
    conn = sqlite3.connect(db)
    codec, data = conn.execute("SELECT codec, data FROM blobs WHERE sha = ?", (sha,)).fetchone()
    raw = zlib.decompress(data) if codec == "zlib" else data
    conn.execute("UPDATE blobs SET codec = 'raw', data = ? WHERE sha = ?", (raw + b"\n# edited\n", sha))
    conn.commit()
    conn.close()


def test_a_damaged_code_blob_makes_replay_fail_naming_the_seq_and_blob(tmp_path: Path) -> None:
    assert gome("import", str(GOLDEN), "--db", "r.db", cwd=tmp_path).returncode == 0
    assert gome("replay", RUN, "--db", "r.db", cwd=tmp_path).returncode == 0
    # the last solution's code is never read by the policy (no later step builds on it)
    shas = _code_shas(tmp_path / "r.db")
    sha = shas[-1][1]
    seq = min(s for s, h in shas if h == sha)  # replay stops at the first event that names it
    _damage(tmp_path / "r.db", sha)
    out = gome("replay", RUN, "--db", "r.db", cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"seq {seq}" in out.stderr and sha in out.stderr and "code_sha" in out.stderr
