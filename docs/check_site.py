"""Check the built documentation site as a reader gets it (run by ``bash .ci/dev docs``).

1. **Internal links**: every ``href`` and ``src`` in every page that points inside the site
   names a file that exists, and its ``#fragment`` an ``id`` on that page.
2. **In a browser** (Debian's Chromium, headless, through Playwright), served on 127.0.0.1:
   every page of a sample (the home page, the gallery, an API page, a derivation, the glossary
   and every notebook page) requests nothing outside 127.0.0.1, logs no JavaScript error,
   typesets its math (KaTeX elements, no raw ``\\(``), and every notebook page draws its plots
   (as many Bokeh roots rendered as the page has outputs to render, and at least one canvas);
3. **Accessibility**: axe-core (the copy the tests use, ``.ci/axe``) finds no critical or serious
   WCAG 2.1 A/AA violation on those pages; the moderate and minor ones are counted in the summary.

Prints a JSON summary; exits 1 with the problems listed when there are any.
``--no-browser`` does only the link check; ``--no-axe`` skips the accessibility audit.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: a Bokeh document embedded from a notebook output, once BokehJS has drawn it
RENDERED = "[data-root-id][id$='-rendered']"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append((tag, a[key]))


def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(errors="replace"))
    return p


def check_links(site: Path) -> tuple[int, list[str]]:
    # _static holds the theme's template fragments, not pages
    pages = {p: _parse(p) for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts}
    problems, n = [], 0
    for page, refs in pages.items():
        for tag, ref in refs.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            n += 1
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(site)}: <{tag}> {ref}: no such file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page.relative_to(site)}: <{tag}> {ref}: no id {parts.fragment!r}")
    return n, problems


def _serve(site: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sample_pages(site: Path) -> list[str]:
    pages = ["index.html", "gallery.html", "glossary.html", "derivations/default_graph.html",
             "derivations/screened_law.html", "api/index.html",
             "api/generated/spectral_explorer.heat_geodesic.html"]
    pages += sorted(str(p.relative_to(site)) for p in (site / "notebooks").glob("*.html"))
    return [p for p in pages if (site / p).exists()]


def _axe():
    """tests/_axe.py: the audit the dashboards' tests run (None when axe-core is not installed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        import _axe
    finally:
        sys.path.pop(0)
    return _axe if _axe.axe_available() else None


def check_in_browser(site: Path, pages: list[str], axe=None) -> tuple[dict, list[str]]:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return {}, ["chromium not found (apt-get install chromium)"]
    server = _serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, report = [], {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            for rel in pages:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                outside, errors = [], []
                page.on("request", lambda r: outside.append(r.url)
                        if urlsplit(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:")
                        else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(base + rel, wait_until="load")
                expected = page.locator("script[type='application/javascript']").count() \
                    if rel.startswith("notebooks/") else 0
                deadline = time.time() + 60
                while time.time() < deadline:
                    roots = page.locator(RENDERED).count() if expected else 0
                    if roots >= expected:
                        break
                    page.wait_for_timeout(500)
                page.wait_for_timeout(500)
                info = page.evaluate("""() => ({
                    katex: document.querySelectorAll('.katex').length,
                    raw: [...document.querySelectorAll('span.math, div.math')]
                           .filter(e => !e.querySelector('.katex')).length,
                    canvases: (function count(root) {   // Bokeh draws inside nested shadow roots
                        let n = root.querySelectorAll('canvas').length;
                        for (const e of root.querySelectorAll('*')) if (e.shadowRoot) n += count(e.shadowRoot);
                        return n; })(document),
                    roots: document.querySelectorAll("%s").length,
                })""" % RENDERED)
                info["bokeh_outputs"] = expected
                if axe is not None:
                    found = axe.run_axe(page)
                    info["axe"] = {v["id"]: [v["impact"], len(v["nodes"])] for v in found}
                    for v in found:
                        if v["impact"] in axe.FAILING_IMPACTS:
                            problems.append(f"{rel}: axe {v['impact']} {v['id']} ({v['help']}) on "
                                            f"{[n['target'] for n in v['nodes'][:3]]}")
                report[rel] = info
                if outside:
                    problems.append(f"{rel}: requests outside 127.0.0.1: {sorted(set(outside))[:5]}")
                if errors:
                    problems.append(f"{rel}: JavaScript errors: {errors[:3]}")
                if info["raw"]:
                    problems.append(f"{rel}: {info['raw']} formulas not typeset")
                if expected and info["roots"] < expected:
                    problems.append(f"{rel}: {info['roots']} of {expected} notebook outputs rendered")
                if rel.startswith("notebooks/") and not info["canvases"]:
                    problems.append(f"{rel}: no plot drawn (no canvas)")
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return report, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", nargs="?", default=str(Path(__file__).resolve().parent / "_build" / "html"))
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-axe", action="store_true")
    args = ap.parse_args(argv)
    site = Path(args.site).resolve()
    if not (site / "index.html").exists():
        sys.exit(f"{site}/index.html not found: build the site first (bash .ci/dev docs)")
    t0 = time.time()
    n_links, problems = check_links(site)
    summary = {"pages": len(list(site.rglob("*.html"))), "internal_links": n_links}
    if not args.no_browser:
        axe = None if args.no_axe else _axe()
        if axe is None and not args.no_axe:
            problems.append("axe-core not installed (.ci/axe: bash .ci/dev docs installs it); --no-axe skips the audit")
        report, more = check_in_browser(site, sample_pages(site), axe)
        problems += more
        summary["browser"] = report
    summary["seconds"] = round(time.time() - t0, 1)
    summary["problems"] = problems
    print(json.dumps(summary, indent=1))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
