"""A page whose server process dies says so, and its reload link restores the same view.

A student's page must not freeze silently when the process serving it is killed (a crash, a
restart, a school's backend going down): the page shows an alert naming what happened, and its
"Reload to continue" link is the page's current address, which holds the explorer's URL state.
"""

from __future__ import annotations

import signal
import time

import pytest
from _browser import PageLog, browser, free_port, start_server  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.browser


def test_a_page_whose_server_dies_says_so_and_reloads_to_the_same_view(browser):  # noqa: F811
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}/heat_geodesics?n=300&knn=12"
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    log = PageLog(page, ignore_failed=lambda u: True, ignore_console=lambda t: True)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_selector(".bk-Canvas, canvas", state="attached", timeout=60_000)
        alert = page.locator("#se-connection-lost")
        assert alert.is_hidden(), "the connection-lost alert shows on a healthy page"
        proc.send_signal(signal.SIGKILL)        # the process dies without closing anything
        proc.wait(10)
        alert.wait_for(state="visible", timeout=30_000)
        text = alert.inner_text()
        assert "connection to the server was lost" in text and "Reload to continue" in text
        assert alert.get_attribute("role") == "alert"
        link = page.locator("#se-reload")
        href = link.get_attribute("href")
        assert "n=300" in href and "knn=12" in href, href      # the URL state travels with the reload
        assert page.evaluate("() => document.activeElement && document.activeElement.id") == "se-reload"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # a new server on the same port: the link opens the same view again
    proc = start_server(port)
    try:
        page.locator("#se-reload").click()
        page.wait_for_load_state("load")
        deadline = time.time() + 60
        while time.time() < deadline and page.locator("#se-connection-lost").count() == 0:
            page.wait_for_timeout(200)
        assert page.locator("#se-connection-lost").is_hidden()
        assert "n=300" in page.url and "knn=12" in page.url
        assert not log.external, log.external
    finally:
        page.close()
        proc.kill()
        proc.wait()
