"""Every gome command against hostile paths and values: exit 2 with a message, never a traceback.

In-process through click's CliRunner where a command ends at parse time (fast),
in a real subprocess where signals, mounts or a real run are the point.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gome_es.cli import params
from gome_es.cli.main import cli
from gome_es.driver.driver import run_dir
from gome_es.errors import GomeError
from gome_es.store import EventStore, NewEvent
from tests.support.runs import RUN_ARGS, TASK, gome


def invoke(args: list[str], db: Path | None = None) -> click.testing.Result:
    full = [*args, "--db", str(db)] if db is not None else args
    return CliRunner().invoke(cli, full, catch_exceptions=True)


def assert_clean_refusal(result: click.testing.Result, *needles: str) -> None:
    """Exit 2, a message on the way out, and no Python exception escaping click."""
    where = f"exit {result.exit_code}, output:\n{result.output}\nexception: {result.exception!r}"
    assert result.exit_code == 2, where
    assert result.exception is None or isinstance(result.exception, SystemExit), where
    assert "Traceback" not in result.output, where
    assert "Error" in result.output, where
    for needle in needles:
        assert needle in result.output, where


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A store with one plain run, exportable (no folding needed)."""
    db = tmp_path / "g.db"
    with EventStore.open(db) as s:
        s.append("r1", [NewEvent("RunStarted", {"task_id": "t"}), NewEvent("Step", {"i": 1}, trace_id="t1")], 0)
    return db


def _nested(path: Path, depth: int) -> Path:
    header = {"format": "gome-es-export", "format_version": 1, "run_id": "x", "head_seq": 1, "head_hash": "0" * 64}
    path.write_text(json.dumps(header) + "\n" + '{"kind":"event","payload":' + "[" * depth + "]" * depth + "}\n")
    return path


# ---------------------------------------------------------------- the table


def _table(tmp: Path) -> list[tuple[list[str], str]]:
    """(arguments, a word the message must contain): every one must end in exit 2."""
    long_id = "a" * 300
    fifo = tmp / "fifo"
    nested = _nested(tmp / "nested.jsonl", 100_000)
    binary = tmp / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00\x01binary")
    utf16 = tmp / "utf16.py"
    utf16.write_bytes("print('hi')\n".encode("utf-16"))
    latin1 = tmp / "latin1.py"
    latin1.write_bytes("print('caf\xe9')\n".encode("latin-1"))
    folder = tmp / "folder"
    folder.mkdir(exist_ok=True)
    notdb = tmp / "notdb"
    notdb.write_text("hello")
    run = ["run", "--task", TASK, "--quiet", "--workspace", str(tmp / "w")]
    rows: list[tuple[list[str], str]] = []
    for v in ["0", "-1", "65", "100000", "abc", "2.5"]:
        rows.append(([*run, "--traces", v], "--traces"))
    for v in ["0", "-1", "x"]:
        rows.append(([*run, "--max-iterations", v], "--max-iterations"))
    for opt in ["--budget", "--exec-timeout"]:
        for v in ["0", "0s", "-1", "-5m", "nan", "inf", "1e999", "", "10 parsecs", "9999999999h"]:
            rows.append(([*run, opt, v], opt))
    for opt in ["--memory-mb", "--slots", "--candidates", "--top-k"]:
        rows.append(([*run, opt, "0"], opt))
        rows.append(([*run, opt, "-3"], opt))
    rows.append(([*run, "--seed", "-1"], "--seed"))
    for where in (fifo, notdb, notdb / "sub"):
        rows.append((["run", "--task", TASK, "--quiet", "--workspace", str(where)], "is not a directory"))
        rows.append((["exec", TASK, str(utf16), "--workspace", str(where)], "is not a directory"))
    rows.append(([*run, "--top-k", "6", "--candidates", "5"], "--top-k"))
    for v in ["../..", "../../esc", "/abs/path", "..", ".", "", long_id, "a/b", "-x", "a b", "ru\nn"]:
        rows.append(([*run, "--run-id", v], "--run-id"))
        rows.append((["fork", "r1", "--at", "1", "--run-id", v], "--run-id"))
        rows.append((["import", str(nested), "--run-id", v], "--run-id"))
    for v in ["0", "-1", "x"]:
        rows.append((["fork", "r1", "--at", v], "--at"))
    for opt, v in [("--budget", "0"), ("--budget", "nan"), ("--max-iterations", "0"), ("--max-iterations", "-1"),
                   ("--memory-mb", "0"), ("--slots", "0")]:
        rows.append((["resume", "r1", opt, v], opt))
    for v in ["nan", "inf", "-inf", "-1", "x"]:
        rows.append((["replay", "r1", "--reexecute", "--tolerance", v], "--tolerance"))
    rows.append((["replay", "r1", "--jobs", "0"], "--jobs"))
    sol = str(utf16)
    for v in ["-1", "nan", "0", "inf", "-inf", "x"]:
        rows.append((["exec", TASK, sol, "--timeout", v], "--timeout"))
    for opt in ["--memory-mb", "--threads"]:
        rows.append((["exec", TASK, sol, opt, "0"], opt))
    rows.append((["exec", TASK, str(binary)], "binary file"))
    rows.append((["exec", TASK, str(utf16)], "UTF-16"))
    rows.append((["exec", TASK, str(latin1)], "not UTF-8"))
    rows.append((["exec", TASK, str(fifo)], "FIFO"))
    rows.append((["exec", TASK, str(folder)], "directory"))
    rows.append((["import", str(nested)], "too deeply"))
    rdagent_logs = Path(__file__).resolve().parents[1] / "fixtures" / "rdagent" / "run_a-plain"
    rows.append((["import-rdagent", str(rdagent_logs), "--run-id", "../../x"], "may not contain '/'"))
    rows.append((["import", str(fifo)], "FIFO"))
    rows.append((["import", str(folder)], "directory"))
    rows.append((["import", str(binary)], "binary"))
    rows.append((["diff", str(nested), str(nested)], "too deeply"))
    rows.append((["diff", "r1", "r1", "--context", "-1"], "--context"))
    rows.append((["diff", "x" * 5000, "r1"], "Error: run xxx"))  # too long to be a path: a run id
    for cmd in ("show", "status", "events", "verify", "replay", "watch"):
        rows.append(([cmd, "x" * 5000], "Error: run xxx"))
    rows.append((["report", "x" * 5000], "Error: run xxx"))  # resolved (a prefix, @last) before any -o name
    for v in ["nan", "inf", "0", "-1"]:
        rows.append((["watch", "r1", "--interval", v], "--interval"))
    rows.append((["watch", "r1", "--width", "5"], "--width"))
    for target in (fifo, folder):
        rows.append((["export", "r1", "-o", str(target)], str(target)))
        rows.append((["report", "r1", "-o", str(target)], str(target)))
    rows.append((["export", "r1", "-o", str(notdb / "sub" / "f.jsonl")], "Not a directory"))
    for cmd in (["show", "r1"], ["status", "r1"], ["events", "r1"], ["verify", "r1"], ["runs"]):
        rows.append(([*cmd, "--db", str(fifo)], "FIFO"))
        rows.append(([*cmd, "--db", str(notdb)], "not a SQLite database"))
        rows.append(([*cmd, "--db", str(tmp / "missing.db")], "no gome database"))
        rows.append(([*cmd, "--db", str(tmp / ("x" * 5000))], "File name too long"))
        rows.append(([*cmd, "--db", str(notdb / "g.db")], "Not a directory"))
    rows.append((["import", str(nested), "--db", str(tmp / ("x" * 5000))], "File name too long"))
    return rows


def test_every_command_refuses_hostile_values_with_exit_2_and_a_message(tmp_path, small_db) -> None:
    os.mkfifo(tmp_path / "fifo")
    failures = []
    for args, needle in _table(tmp_path):
        full = args if "--db" in args or args[0] == "exec" else [*args, "--db", str(small_db)]
        result = invoke(full)
        try:
            assert_clean_refusal(result, needle)
        except AssertionError as exc:
            failures.append(f"gome {' '.join(a[:40] for a in args)}: {exc}"[:600])
    assert not failures, "\n\n".join(failures)
    assert [s.run_id for s in EventStore.open(small_db, readonly=True).runs()] == ["r1"]  # nothing added
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)  # nothing replaced


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=30), st.integers().map(str), st.floats().map(repr)),
       kind=st.sampled_from(["traces", "duration", "tolerance", "positive", "run_id"]))
def test_any_value_is_either_in_range_or_a_usage_error(value: str, kind: str) -> None:
    """The shared option types never let an out-of-range value through and never crash."""
    types = {"traces": params.TRACES, "duration": params.DURATION, "tolerance": params.TOLERANCE,
             "positive": params.AT_LEAST_ONE, "run_id": params.RUN_ID}

    @click.command()
    @click.option("--v", type=types[kind], required=True)
    def probe(v: object) -> None:
        click.echo(json.dumps({"v": v}))

    result = CliRunner().invoke(probe, ["--v", value])
    if result.exit_code == 0:
        got = json.loads(result.output)["v"]
        if kind == "traces":
            assert 1 <= got <= params.MAX_TRACES
        elif kind == "duration":
            assert 0 < got <= params.MAX_DURATION_S
        elif kind == "tolerance":
            assert got >= 0 and math.isfinite(got)
        elif kind == "positive":
            assert got >= 1
        else:
            assert got == value and "/" not in got and got not in (".", "..") and len(got) <= 100
    else:
        assert result.exit_code == 2 and "Error: Invalid value for '--v'" in result.output, result.output


# ---------------------------------------------------------------- -o


def _export(db: Path, out: Path) -> click.testing.Result:
    return invoke(["export", "r1", "-o", str(out)], db)


def test_export_o_refuses_a_device_node_and_leaves_it_alone(tmp_path, small_db) -> None:
    node = tmp_path / "null-device"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # our own /dev/null, never the real one
    except PermissionError:
        pytest.skip("mknod needs root")
    assert_clean_refusal(_export(small_db, node), "is a character device")
    assert stat.S_ISCHR(os.stat(node).st_mode)
    assert_clean_refusal(invoke(["report", "r1", "-o", str(node)], small_db), "character device")
    assert stat.S_ISCHR(os.stat(node).st_mode)


def test_export_o_follows_a_symlink_to_its_target_and_keeps_the_link(tmp_path, small_db) -> None:
    target = tmp_path / "real" / "target.jsonl"
    target.parent.mkdir()
    target.write_text("old contents\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = _export(small_db, link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith('{"exported_at"') or '"gome-es-export"' in target.read_text()
    assert str(target) in result.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.jsonl"]  # no temp file left
    # the export reads back: it is the run
    with EventStore.open(tmp_path / "other.db") as s:
        assert s.import_run(link, check_events=False) == "r1" and s.last_seq("r1") == 2


def test_export_o_through_a_dangling_link_creates_its_target(tmp_path, small_db) -> None:
    link = tmp_path / "dangling.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    assert _export(small_db, link).exit_code == 0
    assert (tmp_path / "made.jsonl").is_file() and link.is_symlink()


def test_export_o_refuses_a_link_to_a_fifo_a_directory_or_a_loop(tmp_path, small_db) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "to-fifo").symlink_to(tmp_path / "fifo")
    (tmp_path / "to-dir").symlink_to(tmp_path)
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    assert_clean_refusal(_export(small_db, tmp_path / "to-fifo"), "is a FIFO (the link leads to")
    assert_clean_refusal(_export(small_db, tmp_path / "to-dir"), "is a directory")
    assert_clean_refusal(_export(small_db, tmp_path / "loop-a"), "leads nowhere")
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)


def test_export_never_writes_through_a_planted_part_file(tmp_path, small_db) -> None:
    """The old export wrote OUT.part with open(): a link planted there was followed."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "out.jsonl.part").symlink_to(victim)
    assert _export(small_db, tmp_path / "out.jsonl").exit_code == 0
    assert victim.read_text() == "precious\n"
    assert (tmp_path / "out.jsonl").is_file() and not (tmp_path / "out.jsonl").is_symlink()


# ---------------------------------------------------------------- run ids and workspaces


def test_a_run_folder_that_resolves_outside_the_workspace_is_refused(tmp_path) -> None:
    root, outside = tmp_path / "work", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    assert run_dir(root, "ok-run", "r0") == root.absolute() / "ok-run" / "r0"
    (root / "planted").symlink_to(outside)  # a link in the workspace under a run's name
    with pytest.raises(GomeError, match="outside the workspace"):
        run_dir(root, "planted", "selected")
    with pytest.raises(GomeError, match="outside the workspace"):
        run_dir(root, "../outside", "r0")  # an id from before ids were checked
    with pytest.raises(GomeError, match="gome fork RUN"):
        run_dir(root, "x" * 300, "r0")  # used to record the run, then die of ENAMETOOLONG


@pytest.mark.integration
def test_run_with_a_path_as_run_id_writes_nothing_anywhere(tmp_path) -> None:
    db = tmp_path / "g.db"
    res = gome(["run", *RUN_ARGS, "--run-id", "../../escaped", "--workspace", str(tmp_path / "a" / "b" / "w")], db=db)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "--run-id" in res.stderr
    assert not db.exists() and not (tmp_path / "escaped").exists() and not (tmp_path / "a").exists()


# ---------------------------------------------------------------- events this gome cannot fold


def test_an_unfoldable_run_is_an_error_naming_it_not_a_traceback(tmp_path) -> None:
    db = tmp_path / "g.db"
    with EventStore.open(db) as s:  # a RunStarted without its config, as --no-event-check lets in
        s.append("odd", [NewEvent("RunStarted", {"task_id": "t"})], 0)
    for args in (["show", "odd"], ["status", "odd"], ["replay", "odd"], ["report", "odd", "-o", str(tmp_path / "r.html")],
                 ["watch", "odd", "--once"], ["fork", "odd", "--at", "1", "--run-id", "odd2"]):
        assert_clean_refusal(invoke(args, db), "run odd", "cannot fold", "gome events")


# ---------------------------------------------------------------- signals


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])  # the same handler: SIGINT only with -m slow
def test_a_stop_signal_is_honoured_within_a_second_while_the_policy_works(tmp_path, sig) -> None:
    """64 traces decide and execute in batches; a stop signal mid-run is recorded as RunStopped within 1 s."""
    db = tmp_path / "g.db"
    env = {**os.environ, "GOME_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "run", "--task", TASK, "--traces", "64",
                             "--max-iterations", "20", "--slots", "4", "--budget", "2h", "--quiet", "--run-id", "sig",
                             "--workspace", str(tmp_path / "w")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(0.1)
            try:
                with EventStore.open(db, readonly=True) as s:
                    if s.run_exists("sig") and s.last_seq("sig") > 150:
                        break
            except GomeError:
                continue
        sent = time.time()
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
        exited = time.time() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    with EventStore.open(db, readonly=True) as s:
        stops = list(s.read("sig", types=["RunStopped"]))
    assert len(stops) == 1 and stops[0].payload["reason"] == f"signal {sig.name}"
    assert stops[0].ts - sent < 1.0, f"RunStopped {stops[0].ts - sent:.2f}s after {sig.name}"
    assert exited < 10.0


# ---------------------------------------------------------------- read-only mounts


GOLDEN = Path(__file__).resolve().parents[2] / "replays" / "breast-cancer-gome.jsonl.gz"


@pytest.fixture
def readonly_copy(tmp_path):
    """A recorded run (a golden replay) in a database on a real read-only bind mount (root only)."""
    src, view = tmp_path / "src", tmp_path / "view"
    src.mkdir()
    view.mkdir()
    with EventStore.open(src / "g.db") as s:
        rid = s.import_run(GOLDEN)
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) to make a read-only bind mount")
    made = subprocess.run(["mount", "--bind", str(src), str(view)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs root): {made.stderr.strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount read-only")
        yield view / "g.db", rid
    finally:
        import gc

        gc.collect()  # the commands run in-process; their stores close when collected
        if subprocess.run(["umount", str(view)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(view)], check=True)


@pytest.mark.integration
def test_read_only_commands_work_on_a_read_only_mount(readonly_copy, tmp_path) -> None:
    db, rid = readonly_copy
    export = tmp_path / "out.jsonl"
    for args in (["show", rid, "--json"], ["status", rid], ["events", rid], ["runs"], ["verify", rid],
                 ["replay", rid, "--jobs", "1"], ["diff", rid, rid], ["export", rid, "-o", str(export)],
                 ["report", rid, "-o", str(tmp_path / "r.html")]):
        res = invoke(args, db)
        assert res.exit_code == 0, (args, res.output[-1500:], res.exception)
    assert export.stat().st_size > 0 and (tmp_path / "r.html").stat().st_size > 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["g.db"]
    # and a command that writes says why it cannot
    assert_clean_refusal(invoke(["fork", rid, "--at", "3", "--run-id", "f"], db))


MANY_TRACES = """
import sys
from pathlib import Path
from gome_es.driver.driver import DriveOptions, drive, start_run
from gome_es.core.events import ReasonerConfig, RunConfig
from gome_es.store import EventStore
from gome_es.tasks import load_task
store = EventStore.open(sys.argv[1])
task = load_task(sys.argv[2])
# RunConfig bounds traces at 64 like the CLI; a long first batch needs more, so this one config
# is built past the bound (model_construct does not validate) to test the stop, not the bound
config = RunConfig.model_construct(**{**RunConfig(max_iterations=2, budget_s=3600).model_dump(),
                                      "traces": int(sys.argv[3])})
start_run(store, task, config,
          ReasonerConfig(kind="offline", model="offline-rules-v1"), run_id="many")
print("started", flush=True)
state = drive(store, "many", task=task, options=DriveOptions(slots=1, workspace_root=Path(sys.argv[1] + "-w")))
print("status", state.status, flush=True)
"""


@pytest.mark.integration
def test_a_stop_request_ends_a_long_decision_batch_at_once(tmp_path) -> None:
    """Past the 64-trace bound (built unvalidated, see MANY_TRACES): with 400 the policy's first
    batch takes tens of seconds, and a SIGTERM in the middle of it stops the run within a second,
    with the decisions made so far stored (the batch used to run to its 500th decision first)."""
    db = tmp_path / "g.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", MANY_TRACES, str(db), TASK, "400"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        deadline = time.time() + 60
        while time.time() < deadline:  # the driver runs once the first LLM answer is stored
            time.sleep(0.1)
            with EventStore.open(db, readonly=True) as s:
                if any(e.type == "LLMResponded" for e in s.read("many", types=["LLMResponded"])):
                    break
        time.sleep(1.5)  # well inside the first batch of decisions
        sent = time.time()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "status stopped" in out, err[-2000:]
    with EventStore.open(db, readonly=True) as s:
        events = list(s.read("many"))
    assert events[-1].type == "RunStopped"
    assert events[-1].ts - sent < 1.0, f"RunStopped {events[-1].ts - sent:.2f}s after SIGTERM"
    started = sum(e.type == "TraceStarted" for e in events)
    assert 0 < started < 500  # stopped inside the batch, its decisions so far kept


@pytest.mark.slow
def test_a_run_whose_database_turns_immutable_exits_2_and_resumes_once_writable(tmp_path) -> None:
    """`chattr +i` on the database mid-run: exit 2 with what to do (it was SIGBUS), then resume finishes it."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr here")
    db = tmp_path / "g.db"
    files = [str(db), f"{db}-wal", f"{db}-shm"]
    env = {**os.environ, "GOME_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "gome_es", "run", *RUN_ARGS, "--run-id", "imm", "--max-iterations",
                             "3", "--workspace", str(tmp_path / "w")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(0.2)
            try:
                with EventStore.open(db, readonly=True) as s:
                    if s.run_exists("imm") and s.last_seq("imm") > 5:
                        break
            except GomeError:
                continue
        made = subprocess.run(["chattr", "+i", *files], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {made.stderr.strip()}")
        _out, err = proc.communicate(timeout=120)
    finally:
        subprocess.run(["chattr", "-i", *files], check=False)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, (proc.returncode, err[-2000:])  # -7 / 135 was SIGBUS
    assert "can no longer be written" in err and "gome resume" in err and "Traceback" not in err
    res = gome(["resume", "imm", "--workspace", str(tmp_path / "w")], db=db)
    assert res.returncode == 0, res.stderr[-2000:]
    assert gome(["verify", "imm"], db=db).returncode == 0
