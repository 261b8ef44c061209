"""The eigenspace page with your own weight matrix, in a real headless Chromium: a reload with
``matrix=upload`` asks for the file and keeps a working page; a good ``.npy`` fills the *Your matrix*
tab and goes into the URL; bad files (pickled objects, a 1-D array, NaN, a wrong extension, over
25 MB) each get a message in the page and the page keeps working; the CSV and the shown code are
the matrix tab's; the example button loads the shipped file.  The server log stays clean (checked
when the ``server`` fixture ends: the log the module's tests made) and nothing is asked of another host."""

from __future__ import annotations

import time

import numpy as np
import pytest

from _browser import PageLog
from test_apps import _text, _wait_for_url, _wait_text, server  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def _upload(page, path):
    page.locator(".w-upload-weights input[type=file]").first.set_input_files(str(path))


def _alert(page, words, timeout=45.0):
    return _wait_text(page.locator(".explorer-error"), lambda s: words in s, timeout=timeout)


def test_eigenspace_page_with_an_uploaded_matrix(server, browser, tmp_path):  # noqa: F811 - the fixture
    from spectral_explorer.eigenspace import example_weight
    good = tmp_path / "my_layer.npy"
    np.save(good, example_weight(48, 64, seed=5))
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.arange(10.0))
    nan = tmp_path / "holes.npy"
    np.save(nan, np.array([[1.0, np.nan], [0.0, 1.0]]))
    wrong = tmp_path / "weights.csv"
    wrong.write_text("1,2\n3,4\n")
    big = tmp_path / "big.npy"                     # 36 MB: refused in the browser, never sent
    with open(big, "wb") as f:
        f.write(b"\0" * (36 * 2**20))

    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    log = PageLog(page)
    page.goto(server + "/eigenspace?matrix=upload", wait_until="networkidle")
    assert "upload the file again" in _alert(page, "upload the file again")
    _wait_text(page.locator(".eig-toy-metrics"), lambda s: "EoRA" in s)     # the toy works meanwhile
    page.locator(".bk-tab", has_text="Your matrix").click()
    _wait_text(page.locator(".eig-matrix-hint"), lambda s: "Upload a weight matrix" in s)

    _upload(page, good)
    metrics = page.locator(".eig-matrix-metrics")
    shown = _wait_text(metrics, lambda s: "my_layer.npy" in s and "48 × 64" in s and "EoRA" in s, timeout=60)
    assert "matrix=upload" in _wait_for_url(page, "matrix=upload")
    assert not page.locator(".explorer-error").first.is_visible()

    for path, words in ((pickled, "Python objects"), (flat, "2-D matrix"), (nan, "NaN"),
                        (wrong, "unsupported file type")):
        _upload(page, path)
        msg = _alert(page, words)
        assert path.name in msg, msg
    _upload(page, big)
    page.get_by_text("File is too large").first.wait_for(timeout=20000)
    assert _text(metrics) == shown                              # the last good matrix stays

    # the page still works: another compression recomputes the uploaded matrix's errors
    page.locator(".bk-btn", has_text="prune24").first.click()
    _wait_text(metrics, lambda s: "my_layer.npy" in s and "prune24" in s, timeout=60)

    with page.expect_download() as dl:
        page.locator(".explorer-download button, .explorer-download a").first.click()
    lines = open(dl.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == "compression,rank,SVD relative error,EoRA relative error,\"SVD relative error, C = I\""
    assert len(lines) == 1 + 8 and lines[1].startswith("prune24,0,")   # ranks 0 … 32 and 48 = min(out, in)
    page.locator(".explorer-show-code button").first.click()
    code = page.locator(".explorer-code textarea").first
    code.wait_for(timeout=10000)
    deadline = time.time() + 20
    while "np.load" not in code.input_value() and time.time() < deadline:
        time.sleep(0.2)
    assert "np.load('my_layer.npy'" in code.input_value() and "'prune24'" in code.input_value()

    page.locator(".eig-example button").first.click()           # the shipped example
    _wait_text(metrics, lambda s: "eigenspace_weight.npy" in s and "96 × 128" in s, timeout=60)
    assert "matrix=example" in _wait_for_url(page, "matrix=example")
    log.check()
    page.close()
