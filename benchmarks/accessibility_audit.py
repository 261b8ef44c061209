"""axe-core audit of every served page: the index, each dashboard with every tab opened, and the
glossary.  Prints JSON: per page, the violations' counts by impact (rules and nodes) and the
nodes per rule.

    python benchmarks/accessibility_audit.py                    # this checkout
    python benchmarks/accessibility_audit.py --before /work/main  # also a checkout before the fixes
    AUDIT_DETAILS=1 python benchmarks/accessibility_audit.py    # and every violation's nodes on stderr

Needs Chromium, Playwright and axe-core (``bash .ci/dev test`` installs it into
``.ci/axe/node_modules``; see ``tests/_axe.py``).  Each checkout is served by
``python -m spectral_explorer.cli serve`` with that checkout first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _axe import AXE_JS, TAGS, audit_with_tabs, counts, report, run_axe, settle  # noqa: E402
from _browser import CHROMIUM_ARGS, start_server  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(source: Path, port: int):
    """``spectral-explorer serve`` of the checkout ``source`` (the tests' starter, quick mode)."""
    env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
    env.update(PYTHONPATH=str(source), SPECTRAL_EXPLORER_DEVICE="cpu", OMP_NUM_THREADS="1",
               SPECTRAL_EXPLORER_QUICK="1")
    return start_server(port, cwd=source, env=env)


def audit(source: Path, browser) -> dict:
    sys.path.insert(0, str(source))
    from spectral_explorer.explorers.registry import names

    pages = {"index": "/", **{n: f"/{n}" for n in names()}, "glossary": "/glossary"}
    port = _port()
    proc = _serve(source, port)
    out = {}
    try:
        for name, path in pages.items():
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}{path}", wait_until="networkidle", timeout=180_000)
            settle(page, 2.0)
            found = audit_with_tabs(page) if name not in ("index", "glossary") else \
                {v["id"]: v for v in run_axe(page)}
            if os.environ.get("AUDIT_DETAILS"):   # the violations themselves, to stderr
                print(f"== {name}\n{report(found)}", file=sys.stderr)
            out[name] = {"counts": counts(found),
                         "rules": {k: {"impact": v["impact"], "nodes": len(v["nodes"])} for k, v in found.items()},
                         "seconds": round(time.perf_counter() - t0, 1)}
            page.close()
    finally:
        proc.terminate()
        proc.wait(20)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, help="also audit this checkout (e.g. main before the fixes)")
    args = ap.parse_args(argv)
    if not AXE_JS.is_file():
        raise SystemExit(f"axe-core is not installed ({AXE_JS}); run: npm ci --prefix .ci/axe")
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    axe_version = json.loads((AXE_JS.parent / "package.json").read_text())["version"]
    result = {"axe_core": axe_version, "tags": TAGS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        if args.before:
            # the audit of the other checkout runs in its own interpreter (its package, not ours)
            code = subprocess.run([sys.executable, __file__, "--_only", str(args.before.resolve())],
                                  capture_output=True, text=True, check=True).stdout
            result["before"] = json.loads(code)
        result["after" if args.before else "pages"] = audit(ROOT, browser)
        browser.close()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_only":
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
                                  args=CHROMIUM_ARGS)
            print(json.dumps(audit(Path(sys.argv[2]), b)))
            b.close()
    else:
        main()
