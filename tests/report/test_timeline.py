"""Each trace's own timeline in `gome watch` and the report, read from the asynchronous golden run."""

from __future__ import annotations

from pathlib import Path

from gome_es.report.build import build_report
from gome_es.report.model import collect
from gome_es.report.timeline import lanes, text_lanes
from gome_es.report.watch import RunWatcher
from gome_es.store import EventStore

GOLDEN = Path(__file__).resolve().parents[2] / "replays" / "digits-async.jsonl.gz"


def _store(tmp_path: Path) -> tuple[EventStore, str]:
    store = EventStore.open(tmp_path / "g.db")
    return store, store.import_run(GOLDEN)


def test_lanes_show_the_traces_running_side_by_side(tmp_path) -> None:
    store, rid = _store(tmp_path)
    rep = collect(rid, store.read(rid))
    ln = lanes(rep.state, rep.elapsed_at)
    assert list(ln) == ["t1", "t2", "t3"]
    assert sum(len(v) for v in ln.values()) == len(rep.state.executions)
    for spans in ln.values():  # one trace's experiments follow each other
        for a, b in zip(spans, spans[1:]):
            assert a.end_s is not None and a.end_s <= b.start_s
    # ... while experiments of different traces overlap in budget time
    overlaps = sum(1 for a in ln["t1"] for b in ln["t2"] + ln["t3"]
                   if a.start_s < (b.end_s or 0) and b.start_s < (a.end_s or 0))
    assert overlaps > 0


def test_watch_frame_and_report_carry_one_timeline_per_trace(tmp_path) -> None:
    store, rid = _store(tmp_path)
    w = RunWatcher(store, rid)
    w.poll()
    frame = w.frame(width=100)
    assert "timelines" in frame
    rows = [line for line in frame.splitlines() if line.startswith(("  t1 ", "  t2 ", "  t3 ")) and "│" in line]
    assert len(rows) == 3 and all("█" in r for r in rows), frame
    lane = text_lanes(w.state, w.elapsed_at, width=40)[0]
    assert len(lane.split("│")[1]) == 40
    html = build_report(store, [rid])
    assert 'id="timelines"' in html and "async schedule" in html
    section = html.split('id="timelines"')[1].split("</section>")[0]
    assert section.count("<rect") == len(w.state.executions)
