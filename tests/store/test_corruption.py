"""Tampering and damage: verify and import name the first bad seq."""

from __future__ import annotations

import gzip
import json

import pytest

from gome_es.errors import ChainBroken
from gome_es.store import EventStore, NewEvent
from gome_es.store.errors import ExportInvalid

from .conftest import fill, tamper


@pytest.fixture
def filled(store):
    fill(store, n=10)
    return store


@pytest.mark.parametrize("edit,bad_seq,reason", [
    ("UPDATE events SET payload = replace(payload, '\"i\":4', '\"i\":5') WHERE seq = 5", 5, "hash"),
    ("UPDATE events SET payload = replace(payload, ':', ': ') WHERE seq = 6", 6, "canonical"),
    ("UPDATE events SET ts = ts + 1 WHERE seq = 3", 3, "hash"),
    ("UPDATE events SET type = 'Other' WHERE seq = 9", 9, "hash"),
    ("UPDATE events SET payload = 'not json' WHERE seq = 2", 2, "not valid JSON"),
    ("DELETE FROM events WHERE seq = 4", 4, "seq 4 missing"),
    ("DELETE FROM events WHERE seq IN (4, 5)", 4, "seqs 4..5 missing"),
    ("DELETE FROM events WHERE seq = 1", 1, "seq 1 missing"),
    # reorder: rows 3 and 4 swap places (seq numbers exchanged)
    ("UPDATE events SET seq = seq + 1000 WHERE seq IN (3, 4)", None, None),
])
def test_verify_names_the_first_bad_seq(filled, db_path, edit, bad_seq, reason):
    if bad_seq is None:  # the reorder case
        tamper(db_path, edit, "UPDATE events SET seq = 4 WHERE seq = 1003",
               "UPDATE events SET seq = 3 WHERE seq = 1004")
        bad_seq, reason = 3, "hash"
    else:
        tamper(db_path, edit)
    report = EventStore.open(db_path).verify("run-a")
    assert not report.ok
    assert report.first_bad_seq == bad_seq and reason in report.reason
    assert report.checked == bad_seq - 1


def test_verify_notices_a_missing_blob(store, db_path):
    sha = store.put_blob(b"log text")
    store.append("r", [NewEvent("ExecutionFinished", {"stdout_sha": sha})], 0)
    tamper(db_path, "DELETE FROM blobs")
    report = store.verify("r")
    assert (report.ok, report.first_bad_seq) == (False, 1) and sha in report.reason


def test_export_refuses_a_damaged_run(filled, db_path, tmp_path):
    tamper(db_path, "UPDATE events SET ts = 1 WHERE seq = 7")
    with pytest.raises(ChainBroken, match="damaged at seq 7"):
        filled.export_run("run-a", tmp_path / "x.jsonl")
    assert not list(tmp_path.glob("x.jsonl*"))


def _export(store, tmp_path, name="run.jsonl"):
    path = tmp_path / name
    store.export_run("run-a", path)
    return path


@pytest.mark.parametrize("name", ["run.jsonl", "run.jsonl.gz"])
def test_truncated_export_is_refused_naming_the_last_good_seq(filled, tmp_path, name):
    path = _export(filled, tmp_path, name)
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    lines = raw.splitlines(keepends=True)
    for cut, expect in [(b"".join(lines[:6]), "ends after seq 5"),           # clean line cut
                        (b"".join(lines[:6]) + lines[6][:20], "seq 5")]:     # mid-line cut
        path.write_bytes(gzip.compress(cut) if name.endswith(".gz") else cut)
        with pytest.raises(ExportInvalid, match=expect):
            filled.import_run(path, run_id="copy", check_events=False)
        assert not filled.run_exists("copy")
    if name.endswith(".gz"):  # a gzip stream cut short, not just short content
        path.write_bytes(gzip.compress(raw)[:-30])
        with pytest.raises(ExportInvalid, match="seq"):
            filled.import_run(path, run_id="copy", check_events=False)
    path.write_bytes(b"".join(lines[:-1]))  # all events, no end line
    with pytest.raises(ExportInvalid, match="truncated"):
        filled.import_run(path, run_id="copy", check_events=False)
    assert not filled.run_exists("copy")


def _edit_line(path, index, change):
    lines = path.read_text().splitlines()
    obj = json.loads(lines[index])
    change(obj)
    lines[index] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("index,change,expect", [
    (4, lambda o: o["payload"].update(i=99), "seq 4"),
    (4, lambda o: o.update(seq=5), "seq 4"),
    (0, lambda o: o.update(head_seq=12), "promises seq 12"),
    (0, lambda o: o.update(format="csv"), "not a gome export"),
])
def test_edited_export_is_refused_naming_the_seq(filled, tmp_path, index, change, expect):
    path = _export(filled, tmp_path)
    _edit_line(path, index, change)
    with pytest.raises((ChainBroken, ExportInvalid), match=expect):
        filled.import_run(path, run_id="copy", check_events=False)
    assert not filled.run_exists("copy")


def test_reordered_export_lines_are_refused(filled, tmp_path):
    path = _export(filled, tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("".join(lines))
    with pytest.raises(ChainBroken, match="seq 3"):
        filled.import_run(path, run_id="copy", check_events=False)


def test_edited_blob_in_export_is_refused(store, tmp_path):
    sha = store.put_blob(b"the code" * 20)
    store.append("run-a", [NewEvent("CodeGenerated", {"code_sha": sha})], 0)
    path = _export(store, tmp_path)
    _edit_line(path, 2, lambda o: o.update(data_b64="aGVsbG8=", codec="raw"))
    with pytest.raises(ExportInvalid, match="does not match its content"):
        store.import_run(path, run_id="copy", check_events=False)
