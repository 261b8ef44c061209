"""The heat page with your own points, in a real headless Chromium: a reload with
``dataset=upload`` asks for the file and keeps a working view; a good upload redraws the page and
goes into the URL; bad files (wrong type, NaN, text, over 25 MB) each get a message in the page
and the page keeps working; the example button loads the shipped file; the CSV download holds the
embedding; a pasted 300-digit knn is reported against its range.  The server log stays clean
(checked when the ``server`` fixture ends: the log the module's tests made) and nothing is asked of another host."""

from __future__ import annotations

import time

import numpy as np
import pytest

from _browser import PageLog
from test_apps import _input_value, _set_int, _text, _wait_for_url, _wait_text, server  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def _upload(page, path):
    page.locator(".w-upload-points input[type=file]").first.set_input_files(str(path))


def _alert(page, words, timeout=45.0):
    return _wait_text(page.locator(".explorer-error"), lambda s: words in s, timeout=timeout)


def test_heat_page_with_uploaded_points(server, browser, tmp_path):  # noqa: F811 - the fixture
    rng = np.random.default_rng(7)
    s = rng.uniform(0, 2 * np.pi, 300)
    X = np.c_[np.cos(s), np.sin(s), 0.3 * np.cos(2 * s), 0.1 * rng.normal(size=(300, 2))]
    good = tmp_path / "ring5d.csv"
    good.write_text("a,b,c,d,e,side\n" + "".join(
        ",".join(f"{v:.6f}" for v in row) + f",{'left' if row[0] < 0 else 'right'}\n" for row in X))
    nan = tmp_path / "holes.csv"
    nan.write_text("x,y\n" + "1,2\n" * 30 + "nan,3\n")
    text = tmp_path / "words.csv"
    text.write_text("x,y,z\n" + "1,2,3\n" * 30 + "1,two,3\n")
    wrong = tmp_path / "points.json"
    wrong.write_text('{"x": [1, 2, 3]}')
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:                       # 36 MB: refused in the browser, never sent
        f.write(b"1.0,2.0,3.0\n" * (36 * 2**20 // 12 + 1))

    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    log = PageLog(page)
    page.goto(server + "/heat_geodesics?dataset=upload", wait_until="networkidle")
    metrics = page.locator(".explorer-metrics")
    assert "upload the file again" in _alert(page, "upload the file again")
    _wait_text(metrics, lambda m: "Spearman" in m)              # the default view works meanwhile

    _upload(page, good)
    _wait_text(metrics, lambda m: "ring5d.csv" in m and "trustworthiness" in m, timeout=60)
    assert "dataset=upload" in _wait_for_url(page, "dataset=upload")
    info = _wait_text(page.locator(".heat-user-data"), lambda m: "n = 300" in m)
    assert "d = 5" in info and "label" in info
    assert not page.locator(".w-n input").first.is_visible()   # n, noise, seed do not apply to your points
    shown = _text(metrics)

    tiny = tmp_path / "tiny.txt"                     # parses, but too few points for a graph
    tiny.write_text("".join(f"{i} {i * i % 7}\n" for i in range(5)))
    for path, words in ((wrong, "unsupported file type"), (nan, "NaN"), (text, "not a number"),
                        (tiny, "20 to 20,000 points")):
        _upload(page, path)
        msg = _alert(page, words)
        assert path.name in msg, msg
    _upload(page, big)
    page.get_by_text("File is too large").first.wait_for(timeout=20000)
    assert _text(metrics) == shown                              # the last good points stay

    # the page still works: a new knn recomputes on the uploaded points
    _set_int(page, "knn", 12)
    _wait_text(metrics, lambda m: "ring5d.csv" in m and m != shown, timeout=60)

    # a pasted 300-digit number: the range is named and the box goes back to the value in effect
    _set_int(page, "knn", "2" + "0" * 299)
    assert "knn in 1…200" in _alert(page, "knn in 1…200")
    deadline = time.time() + 15
    while _input_value(page, "knn") != "12" and time.time() < deadline:
        time.sleep(0.2)
    assert _input_value(page, "knn") == "12"

    # the CSV of the main view: the embedding with its colour column
    with page.expect_download() as dl:
        page.locator(".explorer-download button, .explorer-download a").first.click()
    lines = open(dl.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == "index,x,y,label" and len(lines) == 301

    page.locator(".heat-example button").first.click()          # the shipped example, same parser
    _wait_text(metrics, lambda m: "trefoil_knot.csv" in m, timeout=60)
    assert "example=trefoil_knot.csv" in _wait_for_url(page, "example=trefoil_knot.csv")

    page.locator(".w-dataset select").select_option("sphere")   # back to a built-in data set
    _wait_text(metrics, lambda m: "Spearman" in m, timeout=60)
    assert page.locator(".w-n input").first.is_visible()
    log.check()
    page.close()
