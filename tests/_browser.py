"""What the browser tests share: Chromium's flags, the skip-or-fail rule, a free port, the
``browser`` fixture and :class:`PageLog` (console errors, failed requests, requests leaving
this machine)."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def need(ok: bool, why: str):
    """Skip when something the test needs is missing — fail instead under CI."""
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    need(exe is not None, "chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        need(False, "playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageLog:
    """Console errors, failed requests and requests to hosts other than this machine.
    ``ignore_failed(url)`` names failed requests that are not errors (e.g. a websocket cut
    when the page closes), ``ignore_console(text)`` console errors that are not ours."""

    def __init__(self, page, ignore_failed=None, ignore_console=None):
        self.errors, self.external = [], []
        self._ignore_failed = ignore_failed or (lambda url: False)
        self._ignore_console = ignore_console or (lambda text: False)
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not self._ignore_console(m.text) else None)
        page.on("pageerror", self._page_error)
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        self._page, self._inflight = page, set()
        page.on("requestfinished", lambda r: self._inflight.discard(r))

    def _page_error(self, e):
        stack = "\n    ".join((getattr(e, "stack", "") or "").splitlines()[:8])
        self.errors.append(f"page error: {e}" + (f"\n    {stack}" if stack else ""))

    def settle(self, quiet: float = 0.5, timeout: float = 20.0):
        """Wait until the page has had no request in flight for ``quiet`` seconds (at most
        ``timeout``): call it before sending the page elsewhere, so that a stylesheet the page
        asked for late (Panel loads a component's theme when it first draws it) is not cut by
        the navigation and reported as a failed request."""
        import time

        deadline = time.time() + timeout
        calm_since = time.time()
        while time.time() < deadline:
            self._page.wait_for_timeout(100)        # lets Playwright deliver the page's events
            if self._inflight:
                calm_since = time.time()
            elif time.time() - calm_since >= quiet:
                return

    def _request(self, r):
        self._inflight.add(r)
        host = urlparse(r.url).hostname
        if r.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in LOCAL_HOSTS:
            self.external.append(r.url)

    def _failed(self, r):
        self._inflight.discard(r)
        if not self._ignore_failed(r.url):
            self.errors.append(f"request failed: {r.url} {r.failure}")

    def check(self):
        assert not self.external, f"requests to other hosts: {self.external}"
        assert not self.errors, "browser errors:\n" + "\n".join(self.errors)
