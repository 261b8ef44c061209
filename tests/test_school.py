"""``spectral-explorer school``: nginx in front of two serve processes, on loopback.

A class's pages spread over both backends, each page's websocket reaches the backend that built
it (plots draw, a slider updates through the proxy), nothing is requested outside 127.0.0.1 and
no backend log shows a traceback; when one backend is killed, new pages still open (on the
other), and SIGTERM stops nginx and every backend, leaving no process behind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _browser import REPO, PageLog, browser, free_port, need, server_raised  # noqa: F401  (browser: a fixture)

from spectral_explorer.school import find_nginx, nginx_config, parse_backend

pytestmark = pytest.mark.browser


def _nginx():
    try:
        return find_nginx()
    except SystemExit:
        need(False, "nginx is not installed (apt-get install nginx; bash .ci/dev test installs it as root)")


def test_the_generated_configuration_keeps_sessions_on_their_backend_and_fails_over(tmp_path):
    b1, b2 = parse_backend("127.0.0.1:7001"), parse_backend("[::1]:7002")
    conf = nginx_config("0.0.0.0", 8080, [b1, b2], tmp_path)
    assert "hash $se_route consistent;" in conf                       # sticky on the cookie's key
    assert "server 127.0.0.1:7001 " in conf and "server ::1:7002 " in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "proxy_http_version 1.1;" in conf
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf
    b2.up = False                                                    # the health check took it out
    conf = nginx_config("0.0.0.0", 8080, [b1, b2], tmp_path)
    assert "7002" not in conf and "server 127.0.0.1:7001 " in conf
    with pytest.raises(SystemExit, match="HOST:PORT"):
        parse_backend("no-port")
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():   # nginx itself accepts the file
        (tmp_path / "nginx.conf").write_text(conf)
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / sub).mkdir()
        out = subprocess.run([find_nginx(), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def _processes():
    """(pid, command line) of every process (from /proc: ps may cut long command lines)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                yield int(d.name), (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                pass


def _get(url, cookie=None):
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers, r.read().decode("utf-8", "replace")


def test_a_class_through_the_front_spreads_over_both_backends_and_survives_one_dying(browser, tmp_path):  # noqa: F811
    _nginx()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
    env.update(SPECTRAL_EXPLORER_DEVICE="cpu", PYTHONUNBUFFERED="1")
    log = (tmp_path / "school.log").open("w+")
    logs = tmp_path / "logs"
    school = subprocess.Popen([sys.executable, "-m", "spectral_explorer.cli", "school", "--backends", "2",
                               "--port", str(port), "--log-dir", str(logs)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    front = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while "school: nginx at" not in Path(log.name).read_text():
            assert school.poll() is None, Path(log.name).read_text()[-3000:]
            assert time.time() < deadline, "school did not start:\n" + Path(log.name).read_text()[-3000:]
            time.sleep(0.5)
        backends = re.search(r"backends \(([^)]*)\)", Path(log.name).read_text()).group(1).split(", ")
        assert len(backends) == 2

        # 20 students (no cookie yet): every one gets a page and a route cookie, and both backends get some
        served = []
        for _ in range(20):
            status, headers, body = _get(front + "/heat_geodesics")
            assert status == 200 and "bokeh" in body.lower()
            cookie = headers["Set-Cookie"].split(";")[0]
            assert cookie.startswith("se_route=")
            served.append((headers["X-Spectral-Backend"], cookie))
        counts = {b: sum(1 for s, _ in served if s == b) for b in backends}
        assert all(n > 0 for n in counts.values()), counts
        # the same student comes back to the same backend
        backend, cookie = served[0]
        assert all(_get(front + "/", cookie)[1]["X-Spectral-Backend"] == backend for _ in range(3))

        # a real page through the proxy: its websocket reaches its backend, plots draw, a slider updates
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        plog = PageLog(page, ignore_failed=lambda u: "/ws" in u)
        page.goto(front + "/positional_encodings?index=2", wait_until="load")
        page.wait_for_selector("canvas", state="attached", timeout=90_000)
        page.locator(".index-slider .noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        deadline = time.time() + 30
        while "index=3" not in page.url:
            assert time.time() < deadline, f"the slider did not update through the proxy ({page.url})"
            page.wait_for_timeout(200)
        assert not plog.external, plog.external
        page_backend = page.evaluate("() => document.cookie")  # HttpOnly: not visible to scripts
        assert "se_route" not in page_backend

        # what school started: the two backends (they accept the front's origin) and nginx
        started = {pid for pid, args in _processes()
                   if f"127.0.0.1:{port}" in args or ("nginx" in args and "spectral-school-" in args)}
        victim = backends[0]
        pid = next(pid for pid, args in _processes()
                   if "serve" in args and f" --port {victim.rsplit(':', 1)[1]} " in f" {args} ")
        # kill one backend mid-class: 10 new pages in a row all open (on the survivor)
        os.kill(pid, signal.SIGKILL)
        for _ in range(10):
            status, headers, body = _get(front + "/eigenspace")
            assert status == 200 and headers["X-Spectral-Backend"].split(",")[-1].strip() != victim
        page.close()
    finally:
        school.send_signal(signal.SIGTERM)
        try:
            school.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(school.pid, signal.SIGKILL)
            pytest.fail("school did not stop within 30 s of SIGTERM")
    out = Path(log.name).read_text()
    assert school.returncode == 0, out[-3000:]
    assert "school stopped" in out
    time.sleep(0.5)
    alive = [p for p in started if Path(f"/proc/{p}").exists()]
    assert len(started) >= 3 and not alive, f"left running: {alive} of {started}"
    for f in sorted(logs.glob("backend-*.log")):
        raised = server_raised(f.read_text())
        assert not raised, f"{f.name} raised:\n" + "\n---\n".join(b[-1500:] for b in raised)
