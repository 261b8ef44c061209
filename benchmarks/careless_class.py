"""A careless class: random clicks, keys, typed values, tab switches, reloads and closes on
served dashboards, two tabs at once — and what it leaves behind (prints JSON).

Starts ``spectral-explorer serve`` on a free port, opens each dashboard in two tabs of a headless
Chromium and drives them at random (seeded): button groups, checkboxes, tabs, slider keys, numbers
typed into integer boxes (a 300-digit integer among them), a reload mid-update, a tab closed and
reopened.  Then it stops the server and counts the tracebacks in its log and the console errors of
the pages.  Target (issue 22): 0 and 0.

    python benchmarks/careless_class.py                   # every dashboard, 150 interactions each
    python benchmarks/careless_class.py --apps heat_geodesics --n 400 --seed 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from _browser import CHROMIUM_ARGS, PageLog, free_port  # noqa: E402

APPS = ("heat_geodesics", "positional_encodings", "eigenspace", "latent_directions", "householder")
TYPED = ("2" + "0" * 299, "-5", "", "abc", "3", "1e9", "7")


def start(port: int):
    env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
    env["SPECTRAL_EXPLORER_DEVICE"] = "cpu"
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "spectral_explorer.cli", "serve", "--port", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not start")


def stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.seek(0)
    return proc.log.read()


def _open(browser, url):
    page = browser.new_page()
    log = PageLog(page, ignore_failed=lambda u: u.startswith(("ws:", "wss:")))
    page.goto(url, timeout=90_000)
    return page, log


def _act(page, rng, logs):
    kind = rng.random()
    if kind < 0.25:
        els = page.locator(".bk-btn-group .bk-btn")
    elif kind < 0.4:
        els = page.locator("input[type=checkbox]")
    elif kind < 0.55:
        els = page.locator(".bk-tab")
    elif kind < 0.8:
        els = page.locator(".noUi-handle")
        c = els.count()
        if c:
            els.nth(rng.randrange(c)).focus(timeout=2000)
            for _ in range(rng.randrange(1, 6)):
                page.keyboard.press(rng.choice(["ArrowRight", "ArrowLeft", "PageUp"]))
        return
    else:
        els = page.locator("input.bk-input[type=text], input.bk-input:not([type])")
        c = els.count()
        if c:
            box = els.nth(rng.randrange(c))
            box.fill(rng.choice(TYPED), timeout=2000)
            box.press("Enter")
        return
    c = els.count()
    if c:
        els.nth(rng.randrange(c)).click(timeout=2000)


def run(apps=APPS, n: int = 150, seed: int = 0, pause_ms=(0, 0, 10, 50, 300), log_path=None) -> dict:
    from playwright.sync_api import sync_playwright

    rng = random.Random(seed)
    port = free_port()
    proc = start(port)
    out = {"interactions": 0, "reloads": 0, "closes": 0, "console_errors": [], "external": 0}
    t0 = time.time()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            for app in apps:
                url = f"http://127.0.0.1:{port}/{app}"
                tabs = [_open(browser, url) for _ in range(2)]
                for page, _ in tabs:
                    page.wait_for_selector("canvas", timeout=90_000)
                for i in range(n):
                    k = rng.randrange(len(tabs))
                    page, log = tabs[k]
                    r = rng.random()
                    try:
                        if r < 0.02:      # a reload while updates are in flight
                            page.reload()
                            out["reloads"] += 1
                        elif r < 0.04:    # a tab closed mid-update, and opened again
                            page.close()
                            out["closes"] += 1
                            out["console_errors"] += [f"{app}: {e}" for e in log.errors]
                            out["external"] += len(log.external)
                            tabs[k] = _open(browser, url)
                        else:
                            _act(page, rng, log)
                    except Exception:  # noqa: BLE001 - a click on an element that moved: carry on
                        pass
                    out["interactions"] += 1
                    if tabs[k][0].is_closed():   # a reopen that failed under load: try again
                        tabs[k] = _open(browser, url)
                    tabs[k][0].wait_for_timeout(rng.choice(pause_ms))
                for page, log in tabs:
                    page.wait_for_timeout(3000)
                    out["console_errors"] += [f"{app}: {e}" for e in log.errors]
                    out["external"] += len(log.external)
                    page.close()
            browser.close()
    finally:
        server_log = stop(proc)
        if log_path:
            Path(log_path).write_text(server_log)
    blocks = server_log.split("Traceback (most recent call last):")[1:]
    out["tracebacks"] = len(blocks)
    out["traceback_kinds"] = sorted({b.strip().splitlines()[-1][:160] for b in blocks if b.strip()})
    out["errors_logged"] = sum("ERROR:" in line for line in server_log.splitlines())
    out["seconds"] = round(time.time() - t0, 1)
    out["console_error_count"] = len(out["console_errors"])
    out["console_errors"] = out["console_errors"][:10]
    out["apps"] = list(apps)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", nargs="+", default=list(APPS), choices=APPS)
    ap.add_argument("--n", type=int, default=150, help="interactions per dashboard")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", default=None, help="write the server's log to this file")
    args = ap.parse_args()
    print(json.dumps(run(args.apps, args.n, args.seed, log_path=args.log), indent=1))


if __name__ == "__main__":
    main()
