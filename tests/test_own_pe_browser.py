"""The positional-encodings page with your own graph, in a real headless Chromium: upload an edge list
(the page shows it and the URL says ``graph=upload``), bad files (wrong type, text, negative ids, a NaN
weight, a file over 25 MB refused by the browser before sending), the shipped example through the same
parser, the CSV download and the code; the page keeps working, a reload with ``graph=upload`` asks to
upload again and shows the cycle; nothing leaves this machine and the server log stays clean."""

from __future__ import annotations

import time

import pytest

from _browser import PageLog
from test_apps import _text, _wait_text, server  # noqa: F401 - the served-page fixture (clean log checked)

pytestmark = pytest.mark.browser


def _upload(page, name, data: bytes, mime="text/csv"):
    page.locator(".w-upload-graph input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_upload_a_graph_bad_files_example_and_reload(server, browser, tmp_path):  # noqa: F811 - the fixture
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    log = PageLog(page)
    page.goto(server + "/positional_encodings", wait_until="networkidle")
    ambiguity = page.locator(".pe-ambiguity")
    first = _wait_text(ambiguity, lambda s: "multiplicity" in s)
    alert = page.locator(".explorer-error")

    # a good edge list: a 5-cycle with a tail (header, comma separated)
    _upload(page, "ring.csv", b"source,target\n0,1\n1,2\n2,3\n3,4\n4,0\n4,5\n")
    summary = _wait_text(page.locator(".pe-user-graph"), lambda s: "ring.csv" in s)
    assert "6 nodes, 6 edges" in summary
    _wait_text(ambiguity, lambda s: "multiplicity" in s and s != first)
    assert "graph=upload" in page.evaluate("() => window.location.href")

    # bad files, each with its message in the page (the file named, what was expected)
    bad = [("graph.png", b"\x89PNG\r\n\x1a\n0000", "unsupported file type"),
           ("words.csv", b"alice,bob\ncarol,dave\nx,y\n", "not numeric"),
           ("negative.txt", b"0 1\n-1 2\n", "non-negative integers"),
           ("nan.csv", b"0,1,1.0\n1,2,nan\n", "NaN or infinite"),
           ("broken.npz", b"PK\x03\x04garbage", "not a scipy sparse .npz")]
    for name, data, words in bad:
        _upload(page, name, data)
        msg = _wait_text(alert, lambda s, n=name: n in s)
        assert words in msg, msg
    assert "ring.csv" in _text(page.locator(".pe-user-graph"))    # the last good graph stays

    # over 25 MB: FilePond refuses it in the browser, nothing is sent, the websocket stays alive
    big = tmp_path / "huge.csv"
    big.write_bytes(b"0,1\n" * (26 * 2**20 // 4))
    page.locator(".w-upload-graph input[type=file]").set_input_files(str(big))
    page.locator(".w-upload-graph").get_by_text("File is too large").first.wait_for(timeout=20000)

    # the shipped example, through the same parser: the page still works
    page.locator(".w-example button").click()
    summary = _wait_text(page.locator(".pe-user-graph"), lambda s: "karate_club_edges.csv" in s)
    assert "34 nodes, 78 edges" in summary
    before = _wait_text(ambiguity, lambda s: "multiplicity" in s)
    handle = page.locator(".index-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    _wait_text(ambiguity, lambda s: "multiplicity" in s and s != before)
    page.locator(".explorer-show-code button").click()
    code = page.locator(".explorer-code textarea")
    code.wait_for(timeout=10000)
    deadline = time.time() + 20
    while "example_path('karate_club_edges.csv')" not in code.input_value() and time.time() < deadline:
        time.sleep(0.25)
    assert "example_path('karate_club_edges.csv')" in code.input_value()
    with page.expect_download(timeout=20000) as dl:
        page.locator(".explorer-download button").click()
    csv = open(dl.value.path()).read().splitlines()
    assert csv[0].startswith("node,label,v_0 (λ=0.000000)") and len(csv) == 35
    log.settle()
    log.check()
    page.close()

    # a reload of graph=upload has no data: a message, and the cycle meanwhile
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    log = PageLog(page)
    page.goto(server + "/positional_encodings?graph=upload", wait_until="networkidle")
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "upload the file again" in s)
    assert "graph=upload" in msg
    _wait_text(page.locator(".pe-ambiguity"), lambda s: "multiplicity" in s)
    assert page.locator(".w-graph select").input_value() == "cycle"
    log.settle()
    log.check()
    page.close()
