"""The report rendered by a real headless Chromium: plots and tables are in the rendered DOM."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from gome_es.report import write_report
from gome_es.store import EventStore
from tests.report.htmlparse import parse
from tests.support.chromium import run_chromium

pytestmark = pytest.mark.browser

_chromium = run_chromium


@pytest.fixture(scope="module")
def reports(runs, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("browser")
    with EventStore.open(runs["db"], readonly=True) as store:
        return {"one": write_report(store, [runs["a"]], out / "one.html"),
                "pair": write_report(store, [runs["a"], runs["b"]], out / "pair.html")}


@pytest.mark.parametrize("which", ["one", "pair"])
def test_rendered_dom_has_the_plots_and_tables(chromium, reports, which, tmp_path):
    res = _chromium(chromium, tmp_path, "--dump-dom", reports[which].as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = parse(res.stdout)
    plots = dom.find_all("svg", "score-plot")
    assert len(plots) == 2 and all(p.find_all("circle", "accepted") for p in plots)
    for section in ("trees", "hypotheses", "memory", "cost", "budget", "grade"):
        assert dom.find_all(id=section), section
    assert dom.find_all("table", "hypotheses") and dom.find_all("table", "memory") and dom.find_all("p", "no-cost")
    assert dom.find_all("svg", "grade-scale")
    # the hostile hypothesis text stayed text in the browser too: no element was made from it
    assert not dom.find_all("script") and not dom.find_all("img")
    assert "<script>alert('x')</script>" in dom.all_text()
    if which == "pair":
        assert dom.find_all("section", "divergence") and dom.find_all("tr", "diverged")
        assert len(dom.find_all("div", "run-col")) == 2


def test_screenshot_is_a_real_picture(chromium, reports, tmp_path):
    png = tmp_path / "report.png"
    res = _chromium(chromium, tmp_path, f"--screenshot={png}", "--window-size=1400,2400", reports["one"].as_uri())
    assert res.returncode == 0 and png.exists(), res.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 2400)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes


# Measures the laid-out page: the report itself runs no script (its CSP forbids it), so the test
# measures a copy with the CSP removed and this probe appended; the layout is the same.
PROBE = """<script>
const wide = [];
for (const el of document.querySelectorAll('section, table, .pair, .run-col > *')) {
  if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
    wide.push((el.id || el.className || el.tagName) + ':' + el.scrollWidth + '>' + el.clientWidth);
}
const doc = document.documentElement;
document.body.setAttribute('data-probe', JSON.stringify({page: doc.scrollWidth, view: doc.clientWidth,
  wide: wide, tops: [...document.querySelectorAll('.run-col > section')].map(s => Math.round(s.getBoundingClientRect().top))}));
</script>"""


@pytest.mark.parametrize("which", ["one", "pair"])
def test_no_horizontal_scrolling_and_the_two_sides_line_up(chromium, reports, which, tmp_path):
    import json
    import re

    html = reports[which].read_text()
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe = tmp_path / f"{which}-probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    res = _chromium(chromium, tmp_path, "--dump-dom", "--window-size=1400,1000", probe.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    body = parse(res.stdout).find_all("body")[0]
    got = json.loads(body.attrs["data-probe"])
    assert got["page"] <= got["view"], got
    assert got["wide"] == [], got["wide"]  # no section or table scrolls sideways
    if which == "pair":  # each section of A starts level with the same section of B
        tops = got["tops"]
        half = len(tops) // 2
        assert half == 7 and tops[:half] == tops[half:], tops


def test_pair_screenshot(chromium, reports, tmp_path):
    png = tmp_path / "pair.png"
    res = _chromium(chromium, tmp_path, f"--screenshot={png}", "--window-size=1400,3600", reports["pair"].as_uri())
    assert res.returncode == 0 and png.exists(), res.stderr[-2000:]
    assert len(png.read_bytes()) > 50_000
