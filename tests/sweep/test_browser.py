"""The sweep report rendered by a real headless Chromium: the medal bars, error bars and the grid."""

from __future__ import annotations

import struct

import pytest

from gome_es.sweep.report import build_report, write_html
from tests.report.htmlparse import parse
from tests.support.chromium import run_chromium
from tests.sweep.test_report import swept  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

_chromium = run_chromium


@pytest.fixture
def page(swept, tmp_path):  # noqa: F811
    store, sid, _ = swept
    return write_html(build_report(store, sid), tmp_path / "sweep.html")


def test_rendered_dom_has_bars_error_bars_and_grid(chromium, page, tmp_path):
    res = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = parse(res.stdout)
    assert [b.attrs["data-variant"] for b in dom.find_all("rect", "bar")] == ["gome", "tree"]
    assert len(dom.find_all("g", "errorbar")) == 2
    assert len(dom.find_all("td", "grid-cell")) == 4
    for section in ("medal-rate", "rates", "diffs", "grid"):
        assert dom.find_all(id=section), section
    assert not dom.find_all("script")


def test_screenshot_is_a_real_picture(chromium, page, tmp_path):
    png = tmp_path / "sweep.png"
    res = _chromium(chromium, tmp_path, f"--screenshot={png}", "--window-size=1200,1400", page.as_uri())
    assert res.returncode == 0 and png.exists(), res.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1200, 1400)
    assert len(data) > 30_000  # a blank page compresses to a few kilobytes
