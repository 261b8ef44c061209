"""Closing or reloading a page while it is being updated leaves nothing in the server log (issue 22 §5:
``Task exception was never retrieved … WebSocketClosedError`` after closing latent-directions or
Householder pages mid-update)."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from spectral_explorer.explorers import _closed_pages
from spectral_explorer.explorers._base import _PageWatch

from _browser import PageLog, free_port
from test_apps import start_server, stop_server



def _closed_mid_update(browser, server, path, act, rounds=2):
    for _ in range(rounds):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
        page = ctx.new_page()
        PageLog(page)
        page.goto(server + path, wait_until="networkidle")
        act(page)
        ctx.close()                     # the browser goes away while the server pushes updates


def _train(page):
    page.locator(".bk-tab", has_text="Train live").click()
    page.locator(".hh-train-start button").click()
    page.wait_for_timeout(2500)          # curves are streaming


def _sliders(page):
    page.locator(".c1-slider .noUi-handle").first.focus()
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    page.locator(".bk-tab", has_text="Directions for this image").click()
    page.wait_for_timeout(300)


@pytest.mark.browser
def test_closing_pages_mid_update_leaves_no_traceback(browser):
    port = free_port()
    proc = start_server(port)
    server = f"http://127.0.0.1:{port}"
    try:
        _closed_mid_update(browser, server, "/householder?pretrain_steps=4000&finetune_steps=10", _train)
        _closed_mid_update(browser, server, "/latent_directions?n_samples=1000", _sliders)
        # a reload mid-update is a close too
        page = browser.new_page()
        page.goto(server + "/householder?pretrain_steps=4000", wait_until="networkidle")
        _train(page)
        page.reload(wait_until="networkidle")
        page.close()
        time.sleep(4)
    finally:
        out = stop_server(proc)
    assert "Task exception was never retrieved" not in out, out[-4000:]
    assert "Traceback" not in out, out[-4000:]


def test_the_loop_handler_quiets_only_closed_sockets(caplog):
    loop = asyncio.new_event_loop()
    try:
        assert _closed_pages.install(loop) and _closed_pages.install(loop)    # once
        with caplog.at_level(logging.INFO):
            for exc in (WebSocketClosedError(), StreamClosedError()):
                loop.call_exception_handler({"message": "Task exception was never retrieved", "exception": exc})
            assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
            caplog.clear()
            loop.call_exception_handler({"message": "Task exception was never retrieved",
                                         "exception": RuntimeError("a real failure")})
        assert [r.levelno for r in caplog.records] == [logging.ERROR]
        assert "a real failure" in caplog.text
    finally:
        loop.close()


def test_a_page_has_gone_once_its_connection_has_closed():
    session = SimpleNamespace(connection_count=0, destroyed=False)
    ctx = SimpleNamespace(_session=session, destroyed=False)
    watch = _PageWatch(SimpleNamespace(session_context=ctx))
    assert not watch.gone()              # still loading: no connection yet
    session.connection_count = 1
    assert not watch.gone()
    session.connection_count = 0         # the browser closed or reloaded the page
    assert watch.gone()
    assert _PageWatch(SimpleNamespace(session_context=SimpleNamespace(destroyed=True))).gone()
    assert not _PageWatch(None).gone()   # a notebook or a script


def test_tornados_own_log_of_a_closed_socket_is_one_info_line_and_other_errors_pass():
    import logging
    import sys

    from tornado.websocket import WebSocketClosedError

    from spectral_explorer.explorers import _closed_pages

    _closed_pages.install(asyncio.new_event_loop())
    tornado_log = logging.getLogger("tornado.application")
    assert _closed_pages._FILTER in tornado_log.filters

    def record(exc):
        try:
            raise exc
        except Exception:
            return logging.LogRecord("tornado.application", logging.ERROR, __file__, 1,
                                     "Exception in callback", None, sys.exc_info())
    assert not _closed_pages._FILTER.filter(record(WebSocketClosedError()))
    assert _closed_pages._FILTER.filter(record(ValueError("a real bug")))
