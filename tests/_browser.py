"""What the browser tests share: Chromium's flags, the skip-or-fail rule, a free port, the
``browser`` fixture and :class:`PageLog` (console errors, failed requests, requests leaving
this machine)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
REPO = Path(__file__).resolve().parents[1]


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


def start_server(port: int, cmd=None, cwd=REPO, env=None) -> subprocess.Popen:
    """Start ``spectral-explorer serve --port PORT`` (or ``cmd``) and wait until ``/`` answers."""
    cmd = cmd or [sys.executable, "-m", "spectral_explorer.cli", "serve", "--port", str(port)]
    if env is None:  # BOKEH_RESOURCES left to serve's default: every file from this server
        env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
        env["SPECTRAL_EXPLORER_DEVICE"] = "cpu"
    log = tempfile.TemporaryFile(mode="w+")   # a file, not a pipe: a chatty server never blocks on it
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return proc
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                proc.wait()
                out = _server_output(proc)
                pytest.fail(f"spectral-explorer serve did not start ({' '.join(map(str, cmd))}):\n{out[-3000:]}")
            time.sleep(0.5)


def _server_output(proc, start: int = 0) -> str:
    """What the server has written so far, from byte ``start`` on (``os.pread``: the file offset the
    server writes at is shared with this process and stays where it is)."""
    fd = proc.log.fileno()
    size = os.fstat(fd).st_size
    return os.pread(fd, max(0, size - start), start).decode("utf-8", "replace") if size > start else ""


def stop_server(proc: subprocess.Popen, timeout: float = 10.0) -> str:
    """SIGTERM the server; it must exit with status 0 within ``timeout`` seconds. Returns its output."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the server did not stop within {timeout} s of SIGTERM:\n{_server_output(proc)[-3000:]}")
    out = _server_output(proc)
    assert proc.returncode == 0, f"the server exited with {proc.returncode}:\n{out[-3000:]}"
    return out


def server_raised(out: str) -> list[str]:
    """The tracebacks in a server's output (a browser page closing while the server writes to its
    websocket is tornado's noise, not ours)."""
    return [block for block in out.split("Traceback (most recent call last):")[1:]
            if "WebSocketClosedError" not in block and "StreamClosedError" not in block]


@pytest.fixture(scope="session")
def served():
    """One ``spectral-explorer serve`` for every served-page module of the session (starting one and
    warming its dashboards costs tens of seconds on two cores): ``(url, process)``.  At the end of the
    session it must stop cleanly on SIGTERM, and nothing in its whole log raised."""
    port = free_port()
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}", proc
    out = stop_server(proc)
    raised = server_raised(out)
    assert not raised, "the server raised:\n" + "\n---\n".join(b[-1500:] for b in raised)



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
