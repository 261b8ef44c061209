"""Accessibility of the served pages and a notebook, audited by axe-core in headless Chromium.

One ``spectral-explorer serve`` process for the module (as in ``test_apps.py``), one page load
per page: the index, the glossary, and each dashboard with every tab opened and audited.  A test
fails on any critical or serious axe violation (WCAG 2.0/2.1 A and AA, and axe's best practices)
and on the page-structure rules (one ``main`` landmark, one ``h1``, content in landmarks); the
message lists each rule, its help text and the nodes.  Beyond axe: every slider handle carries its
label and the value shown (a log slider's real value, not its log position), every plot a
generated description, and a keyboard-only user walks a whole guided tour with Tab, Enter and
Space and moves a slider with the arrow keys.  One notebook is audited in JupyterLab.

axe-core comes from npm (``.ci/axe/package.json``, installed by ``bash .ci/dev test``; see
``_axe.py``): the tests skip when it is missing (fail under ``CI``).
"""

from __future__ import annotations

import re
import time

import pytest

from _axe import AXE_JS, audit_with_tabs, axe_available, failing, merge, report, run_axe, settle
from _browser import PageLog, free_port, need
from test_lab import lab  # noqa: F401  (the offline JupyterLab fixture)

pytestmark = pytest.mark.browser

DASHBOARDS = ["heat_geodesics", "positional_encodings", "eigenspace", "latent_directions", "householder"]


@pytest.fixture(scope="module")
def axe():
    need(axe_available(), f"axe-core is not installed ({AXE_JS}): run `bash .ci/dev test` or "
                          "`npm ci --prefix .ci/axe`")
    return AXE_JS


@pytest.fixture(scope="module")
def server(axe):
    from test_apps import start_server, stop_server

    port = free_port()
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}"
    out = stop_server(proc)
    raised = [block for block in out.split("Traceback (most recent call last):")[1:]
              if "WebSocketClosedError" not in block and "StreamClosedError" not in block]
    assert not raised, "the server raised:\n" + "\n---\n".join(b[-1500:] for b in raised)


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    log = PageLog(page)
    page.goto(url, wait_until="networkidle", timeout=180_000)
    settle(page, 1.5)
    return page, log


def _assert_clean(found, where):
    bad = failing(found)
    assert not bad, f"axe violations on {where}:\n{report(bad)}"


def test_index_and_glossary_pass_axe(server, browser):
    for path in ("/", "/glossary"):
        page, log = _open(browser, server + path)
        _assert_clean(run_axe(page), path)
        assert page.locator("h1").count() == 1 and page.locator("main").count() == 1
        log.check()
        page.close()


_HANDLES = """() => { const out = [];
  const walk = r => { r.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
    r.querySelectorAll('[role=slider]').forEach(h => { if (h.getClientRects().length) out.push(
      {label: h.getAttribute('aria-label'), text: h.getAttribute('aria-valuetext'), now: h.getAttribute('aria-valuenow')}); }); };
  walk(document); return out; }"""
_PLOTS = """() => { const out = [];
  const walk = r => { r.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
    r.querySelectorAll('.se-plot').forEach(p => out.push(p.getAttribute('aria-label'))); };
  walk(document); return out; }"""


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_passes_axe_with_every_tab_opened(server, browser, name):
    page, log = _open(browser, server + f"/{name}")
    # every visible slider handle is named after its label, and says the value the page shows
    handles = page.evaluate(_HANDLES)
    assert handles and all(h["label"] and h["label"] != "slider" and h["text"] for h in handles), handles
    if name == "heat_geodesics":   # the log slider says t itself (0.2), not its log position (−0.7)
        t = [h for h in handles if h["label"].startswith("t (diffusion time")]
        assert t and float(t[0]["now"]) == pytest.approx(-0.7, abs=0.01) and t[0]["text"] == "0.2", t
    # every drawn plot, in every tab, has a generated description: its title (or "Plot"), what it
    # draws and how many; axes with their ranges
    plots = {"first view": [p for p in page.evaluate(_PLOTS) if p]}
    found = audit_with_tabs(page, on_tab=lambda tab: plots.__setitem__(tab, [p for p in page.evaluate(_PLOTS) if p]))
    _assert_clean(found, f"/{name}")
    assert plots["first view"], "no plot description on the first view"
    described = [p for ps in plots.values() for p in ps]
    assert all(re.search(r": (\d+ [a-z]+|no data)", p) for p in described), plots
    log.check()
    page.close()


def _deep_focus(page) -> dict:
    """The element that has the keyboard focus, through shadow roots: its tag, text, classes of its
    host and aria attributes."""
    return page.evaluate("""() => { let e = document.activeElement, host = null;
      while (e && e.shadowRoot && e.shadowRoot.activeElement) { host = e; e = e.shadowRoot.activeElement; }
      if (!e) return {};
      return {tag: e.tagName, text: (e.innerText || '').trim(), role: e.getAttribute('role'),
              label: e.getAttribute('aria-label'), now: e.getAttribute('aria-valuenow'),
              valuetext: e.getAttribute('aria-valuetext'),
              host: host ? host.className + ' ' + (host.getRootNode().host ? host.getRootNode().host.className : '') : ''}; }""")


def _tab_to(page, match, limit=150) -> dict:
    """Press Tab until the focused element satisfies ``match`` (at most ``limit`` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = _deep_focus(page)
        if match(f):
            return f
    raise AssertionError(f"Tab never reached the element; last focused: {f}")


def _tour_text(page) -> str:
    return page.locator(".tour-header").first.evaluate(
        "e => (e.shadowRoot || e).textContent", timeout=2000)


def test_keyboard_only_user_walks_a_tour_and_moves_a_slider(server, browser):
    """Tab, Enter and Space only: start the eigenspace tour, reveal each step's answer, go to the next
    step to the end; then an arrow key moves the anisotropy slider (its value and the toy's plot)."""
    from spectral_explorer.explorers._tour import load_tour

    m = len(load_tour("eigenspace"))
    page, log = _open(browser, server + "/eigenspace")
    page.locator("body").click(position={"x": 5, "y": 5})   # focus the document, nothing in it
    f = _tab_to(page, lambda f: f.get("tag") == "BUTTON" and "start the tour" in f.get("text", ""))
    page.keyboard.press("Enter")
    for n in range(1, m + 1):
        deadline = time.time() + 60
        while f"Step {n} of {m}" not in _tour_text(page) and time.time() < deadline:
            page.wait_for_timeout(200)
        assert f"Step {n} of {m}" in _tour_text(page)
        _tab_to(page, lambda f: f.get("tag") == "BUTTON" and "show me the answer" in f.get("text", ""))
        page.keyboard.press(" ")
        answer = page.locator(".tour-answer").first
        answer.wait_for(state="visible", timeout=120_000)
        if n < m:
            _tab_to(page, lambda f: f.get("tag") == "BUTTON" and "next" in f.get("text", ""))
            page.keyboard.press("Enter")
    assert "Answer" in answer.evaluate("e => (e.shadowRoot || e).textContent")
    # the first tab again (the tour opened others), by keyboard: Enter on its header
    _tab_to(page, lambda f: f.get("role") == "tab" and "2-D toy" in f.get("text", ""), limit=300)
    page.keyboard.press("Enter")
    settle(page, 1.0)
    page.locator("body").click(position={"x": 5, "y": 5})
    before = _tab_to(page, lambda f: f.get("role") == "slider" and (f.get("label") or "").startswith("anisotropy"))
    plots_before = page.evaluate(_PLOTS)
    page.keyboard.press("ArrowRight")
    deadline = time.time() + 30
    after = _deep_focus(page)
    while (after.get("valuetext") == before["valuetext"] or page.evaluate(_PLOTS) == plots_before) \
            and time.time() < deadline:
        page.wait_for_timeout(250)
        after = _deep_focus(page)
    assert after.get("role") == "slider" and float(after["now"]) > float(before["now"]), (before, after)
    assert after["valuetext"] != before["valuetext"], (before, after)
    assert page.evaluate(_PLOTS) != plots_before, "no plot description followed the slider"
    log.check()
    page.close()


def test_a_notebook_in_jupyterlab_passes_axe(axe, lab, browser):
    """The eigenspace notebook, run in JupyterLab (``test_lab``'s offline lab): its explorer outputs
    carry the same names and plot descriptions as the dashboards, and axe finds no critical or
    serious violation in the notebook's outputs (JupyterLab's own page is not ours to audit)."""
    import test_lab

    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        test_lab._open_notebook(page, base, "eigenspace_projections.ipynb")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        test_lab._wait_idle(page, test_lab.RUN_TIMEOUT)
        settle(page, 2.0)
        found = merge({}, run_axe(page, ".jp-OutputArea"), "outputs")
        # the page's structure is JupyterLab's and the notebook's Markdown cells', not the outputs'
        bad = failing({k: v for k, v in found.items() if k not in ("region", "landmark-one-main",
                                                                   "page-has-heading-one", "heading-order")})
        assert not bad, f"axe violations in the notebook's outputs:\n{report(bad)}"
        handles = page.evaluate(_HANDLES)
        assert handles and all(h["label"] and h["label"] != "slider" for h in handles), handles
        plots = [p for p in page.evaluate(_PLOTS) if p]
        assert plots and all(re.search(r": (\d+ [a-z]+|no data)", p) for p in plots), plots
    finally:
        page.close()
