"""Served dashboards in a real headless Chromium (Playwright).

Starts ``spectral-explorer serve`` (``python -m spectral_explorer.cli serve``: the packaged
dashboards, served in process, resources from the server by default) on a free port — one process for
every served-page module of a session, see ``_browser.served`` — stops it with SIGTERM at the end (it
must exit cleanly within a few seconds; its log is checked after each module and at the end), and
drives the pages: the index is a
gallery with a card per registered dashboard; the heat-geodesics dashboard renders plots with no console errors and no request leaving localhost; moving ``t`` changes the figures; a
bad input shows an error in the page and the app keeps working.  The positional-encodings dashboard
gets the same checks (index and rotation sliders, a bad graph parameter); the eigenspace dashboard
renders its 2-D toy and its numbers follow the anisotropy slider; the latent-directions dashboard renders
a face, its grid and spectrum, a component slider changes the face, its URL state applies and a bad value
is rejected, and its Jacobian and h-space tabs compute.  Every dashboard's guided tour opens at
``?tour=2``, its button changes a plot's data, and a bad ``?tour=`` is reported with the range.

Skipped when Chromium or Playwright is missing, unless the environment variable ``CI`` is set
(then it fails).  With ``SPECTRAL_EXPLORER_SCREENSHOTS=1`` it also writes the README screenshots
``spectral_explorer/assets/heat_geodesics.png``, ``positional_encodings.png``, ``eigenspace.png``,
``eigenspace_fidelity.png``, ``latent_directions.png``, ``householder.png`` and ``tour_heat_geodesics.png``
(a guided-tour step), and refreshes the gallery thumbnails made from them.
"""

from __future__ import annotations

import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# start_server, stop_server: also imported from here by other modules
from _browser import PageLog, _server_output, free_port, server_raised, start_server, stop_server  # noqa: F401

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(served):
    """The served dashboards' URL for a module's tests (the session's one server, see ``served``).
    When the module is done, nothing a user typed, clicked or put in a URL during its tests raised in
    the server: its log since the module began is checked (the whole log once more at the end)."""
    url, proc = served
    start = os.fstat(proc.log.fileno()).st_size
    yield url
    assert proc.poll() is None, f"the server died:\n{_server_output(proc)[-3000:]}"
    raised = server_raised(_server_output(proc, start))
    assert not raised, "the server raised:\n" + "\n---\n".join(b[-1500:] for b in raised)


_SHADOW_TEXT = """e => {
  const root = e.shadowRoot || e;
  return Array.from(root.children).filter(c => !['STYLE', 'LINK'].includes(c.tagName))
              .map(c => c.innerText).join(' ');
}"""


def _text(locator) -> str:
    """Visible text of a Panel component (its content lives in a shadow root)."""
    return locator.first.evaluate(_SHADOW_TEXT, timeout=2000)


def _wait_text(locator, predicate, timeout=45.0):
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        try:
            text = _text(locator)
        except Exception:
            text = ""
        if predicate(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for text; last seen: {text!r}")


def _wait_for_canvases(page, n, timeout, message):
    """Wait until at least ``n`` Bokeh canvases are on the page, then let them paint."""
    canvases = page.locator("canvas")
    deadline = time.time() + timeout
    while canvases.count() < n and time.time() < deadline:
        time.sleep(0.25)
    assert canvases.count() >= n, message
    _wait_painted(page)


_PAINTED = """() => new Promise(resolve => {
  const docs = (window.Bokeh && Bokeh.documents) || [];
  const idle = docs.length > 0 && docs.every(d => d.is_idle);
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(idle)));
})"""


def _wait_painted(page, most: float = 1.0):
    """Let the canvases paint: until every Bokeh document on the page has drawn its views (``is_idle``)
    and two animation frames have passed since, or ``most`` seconds (what a fixed sleep used to wait)."""
    deadline = time.time() + most
    while time.time() < deadline:
        try:
            if page.evaluate(_PAINTED):
                return
        except Exception:           # a navigation or a replaced document: try again
            pass
        time.sleep(0.1)


def _readme_screenshot(page, name, height):
    """With SPECTRAL_EXPLORER_SCREENSHOTS=1, write the README screenshot spectral_explorer/assets/NAME.png
    and, for a registered dashboard, refresh its gallery thumbnail from it."""
    if os.environ.get("SPECTRAL_EXPLORER_SCREENSHOTS") == "1":
        from spectral_explorer.explorers import registry

        out = registry.ASSETS / f"{name}.png"
        page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1600, "height": height})
        if name in registry.names():
            # the thumbnail starts at the views: the top of the tab bar (below the intro, the
            # tour panel and the scores, whose heights differ between dashboards)
            tabs = page.locator(".bk-tabs-wrapper, .bk-header").first
            box = tabs.bounding_box() if tabs.count() else None
            y = int(box["y"]) - 4 if box else registry.VIEW_ORIGIN[1]
            registry.refresh_thumbnail(name, (registry.VIEW_ORIGIN[0], max(0, y)))


def _wait_for_url(page, part, timeout=20.0):
    """The page's URL once it contains ``part`` (Panel updates it with history.replaceState: read
    it in the page), or the last one seen."""
    deadline = time.time() + timeout
    href = page.evaluate("() => window.location.href")
    while part not in href and time.time() < deadline:
        time.sleep(0.25)
        href = page.evaluate("() => window.location.href")
    return href


def _set_int(page, name, value):
    box = page.locator(f".w-{name} input").first
    box.click()
    box.fill(str(value))
    box.press("Enter")


def _dashboards():
    from spectral_explorer.explorers.registry import DASHBOARDS

    return DASHBOARDS


def test_index_is_a_gallery_of_every_dashboard(server, browser, tmp_path):
    """One card per registered dashboard: its thumbnail (embedded, no request), its title linking
    to ./NAME and its description; nothing is requested from another host."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    log = PageLog(page)
    page.goto(server + "/", wait_until="networkidle")
    for d in _dashboards():
        link = page.locator(f"#link-{d.name}")
        link.wait_for(timeout=20000)
        assert link.get_attribute("href") == f"./{d.name}"
        assert d.title in link.inner_text()
        card = page.locator(".app-card", has=link)
        assert d.description in card.inner_text()
        img = card.locator("img")
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        assert img.evaluate("i => i.complete && i.naturalWidth") > 0
    assert page.locator(".app-card").count() == len(_dashboards())
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    log.check()
    # a card's link opens its dashboard
    page.locator(f"#link-{_dashboards()[0].name}").click()
    page.wait_for_url(f"**/{_dashboards()[0].name}", timeout=20000)
    page.close()


def _names():
    return ["", "glossary"] + [d.name for d in _dashboards()]


def test_glossary_page_typesets_its_formulas_offline_and_every_dashboard_links_it(server, browser, tmp_path):
    """/glossary shows the packaged glossary with its formulas typeset by the locally served
    KaTeX (nothing requested from another host); a dashboard's introduction links to it."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    log = PageLog(page)
    page.goto(server + "/glossary", wait_until="networkidle")
    body = page.locator(".glossary")
    body.wait_for(timeout=20000)
    _wait_text(body, lambda s: "Varadhan" in s and "Householder" in s)
    deadline = time.time() + 20
    while page.locator(".glossary .katex").count() < 20 and time.time() < deadline:
        time.sleep(0.2)
    assert page.locator(".glossary .katex").count() >= 20, "the glossary's formulas were not typeset"
    assert "\\lambda" not in _text(body), "raw TeX shows in the glossary"
    page.screenshot(path=str(tmp_path / "glossary.png"))
    log.check()
    log.settle()
    page.goto(server + f"/{_dashboards()[0].name}", wait_until="networkidle")
    link = page.locator("a[href='./glossary']").first
    link.wait_for(timeout=20000)
    link.click()
    page.wait_for_url("**/glossary", timeout=20000)
    page.close()


@pytest.mark.parametrize("name", _names())
def test_a_session_built_without_its_page_asks_for_nothing_outside(server, name):
    """A session whose document is built without its HTML page (its websocket reached another
    ``--num-procs`` worker than the page did, or the page's session expired before the browser
    connected — a loaded classroom server) must still point every stylesheet at this server:
    Bokeh's own client opens exactly such a session."""
    from bokeh.client import pull_session

    from spectral_explorer.explorers.registry import load_model_classes, outside_urls

    def pull():   # in a thread of its own: the browser tests' Playwright loop may run in this one
        with pull_session(url=f"{server}/{name}") as session:
            doc = session.document
            sheets = [m for m in doc.models if type(m).__name__ == "ImportedStyleSheet"]
            return len(sheets), outside_urls(doc)

    load_model_classes()
    with ThreadPoolExecutor(1) as pool:
        n_sheets, outside = pool.submit(pull).result(timeout=120)
    assert n_sheets, "the document has no stylesheets to check"
    assert outside == []


def test_a_class_on_two_processes_loads_nothing_from_outside(browser, tmp_path):
    """``serve --num-procs 2`` with several pages of every dashboard open at once: each page's
    websocket may reach the other worker than its HTML did; every page renders its plots, and no
    request (script, style, font, image) leaves this machine."""
    port = free_port()
    proc = start_server(port, cmd=[sys.executable, "-m", "spectral_explorer.cli", "serve", "--port", str(port),
                                   "--num-procs", "2"])
    pages = []
    try:
        for d in _dashboards():
            for _ in range(2):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                pages.append((d.name, page, PageLog(page)))
                page.goto(f"http://127.0.0.1:{port}/{d.name}", wait_until="commit")
        for name, page, log in pages:
            _wait_for_canvases(page, 1, 120, f"{name}: no plot rendered")
            page.wait_for_load_state("networkidle")
            log.check()
        pages[0][1].screenshot(path=str(tmp_path / "num_procs_2.png"), full_page=True)
    finally:
        for _, page, _ in pages:
            page.close()
        out = stop_server(proc, timeout=20)
    raised = server_raised(out)
    assert not raised, "the server raised:\n" + "\n---\n".join(b[-1500:] for b in raised)


def test_heat_geodesics_dashboard(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1600, "height": 1250})
    log = PageLog(page)
    page.goto(server + "/heat_geodesics", wait_until="networkidle")
    metrics = page.locator(".explorer-metrics")
    before = _wait_text(metrics, lambda s: "Spearman" in s)
    page.wait_for_function("() => true")
    _wait_for_canvases(page, 4, 30, "the dashboard rendered too few plots")
    page.screenshot(path=str(tmp_path / "heat_geodesics_initial.png"), full_page=True)
    _readme_screenshot(page, "heat_geodesics", 1250)
    log.check()

    # move t: drag the slider handle to the left (smaller t), compare the displayed scores
    handle = page.locator(".t-slider .noUi-handle").first
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - 120, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    after = _wait_text(metrics, lambda s: "Spearman" in s and s != before)
    assert after != before
    page.screenshot(path=str(tmp_path / "heat_geodesics_small_t.png"), full_page=True)

    # bad input: knn >= n shows an error in the page; the server keeps serving
    alert = page.locator(".explorer-error")
    _set_int(page, "n", 100)
    _wait_text(metrics, lambda s: "Spearman" in s and s != after)
    _set_int(page, "knn", 150)
    msg = _wait_text(alert, lambda s: "knn" in s)
    assert "150" in msg and "100" in msg
    page.screenshot(path=str(tmp_path / "heat_geodesics_error.png"), full_page=True)
    _set_int(page, "knn", 8)
    page.wait_for_function("() => true")
    deadline = time.time() + 30
    while alert.is_visible() and time.time() < deadline:
        time.sleep(0.25)
    assert not alert.is_visible(), "the error message stayed after a valid input"
    _wait_text(metrics, lambda s: "Spearman" in s)
    page.screenshot(path=str(tmp_path / "heat_geodesics_recovered.png"), full_page=True)

    # the other tabs render (dynamic tabs: built on first view)
    for tab, words, plots in (("Distances", "scaled by its maximum", 1), ("Spectrum", "rings around zero", 2),
                              ("Numerics", "Varadhan's formula needs", 2)):
        page.get_by_text(tab, exact=True).first.click()
        page.get_by_text(words).first.wait_for(timeout=30000)
        visible = page.locator("canvas").filter(visible=True)
        deadline = time.time() + 30
        while visible.count() < plots and time.time() < deadline:
            time.sleep(0.25)
        assert visible.count() >= plots, f"the {tab} tab rendered no plot"
        _wait_painted(page)
        page.screenshot(path=str(tmp_path / f"heat_geodesics_{tab.lower()}.png"), full_page=True)
    log.check()
    page.close()


def _press_slider(page, css, key, times=1):
    handle = page.locator(f"{css} .noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def test_positional_encodings_dashboard(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1600, "height": 1250})
    log = PageLog(page)
    page.goto(server + "/positional_encodings", wait_until="networkidle")
    text = page.locator(".pe-ambiguity")
    before = _wait_text(text, lambda s: "multiplicity" in s)
    assert "λ" in before
    _wait_for_canvases(page, 3, 30, "the dashboard rendered too few plots")
    _readme_screenshot(page, "positional_encodings", 1100)
    log.check()

    # move the eigenvector index: another eigenvalue is shown
    _press_slider(page, ".index-slider", "ArrowRight", 2)
    after = _wait_text(text, lambda s: "multiplicity" in s and s != before)
    assert after != before
    # rotate inside the repeated eigenspace: the encoding moves, the projector does not
    _press_slider(page, ".angle-slider", "ArrowRight", 30)
    rotated = _wait_text(text, lambda s: "rotating" in s and "0.000" not in s.split("‖ =")[1])
    assert "≈ 0" in rotated
    page.screenshot(path=str(tmp_path / "positional_encodings_rotated.png"), full_page=True)

    # bad parameter combination: the alert shows it, a valid one clears it
    alert = page.locator(".explorer-error")
    page.locator(".w-graph select").select_option("random_regular")
    page.locator(".w-degree input").first.wait_for(timeout=10000)  # the graph's own parameters are shown
    time.sleep(0.5)
    _set_int(page, "n", 15)
    msg = _wait_text(alert, lambda s: "even" in s)
    assert "15" in msg
    _set_int(page, "n", 16)
    deadline = time.time() + 20
    while alert.is_visible() and time.time() < deadline:
        time.sleep(0.25)
    assert not alert.is_visible(), "the error message stayed after a valid input"
    log.check()
    page.close()


def test_eigenspace_dashboard(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    log = PageLog(page)
    page.goto(server + "/eigenspace", wait_until="networkidle")
    text = page.locator(".eig-toy-metrics")
    before = _wait_text(text, lambda s: "EoRA" in s and "SVD" in s)
    _wait_for_canvases(page, 3, 20, "the toy rendered too few plots")
    _readme_screenshot(page, "eigenspace", 1000)
    log.check()

    # more anisotropy: the displayed errors change
    _press_slider(page, ".anisotropy-slider", "ArrowRight", 6)
    after = _wait_text(text, lambda s: "EoRA" in s and s != before, timeout=20)
    assert after != before
    page.screenshot(path=str(tmp_path / "eigenspace_anisotropy.png"), full_page=True)
    log.check()
    page.close()


def test_eigenspace_minilm_tabs_and_fidelity_vs_rank(server, browser, tmp_path):
    """URL parameters set a small text split; the MiniLM layer tab computes in the background;
    the fidelity tab draws held-out fidelity against rank and the table at the chosen rank."""
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    log = PageLog(page)
    readme = os.environ.get("SPECTRAL_EXPLORER_SCREENSHOTS") == "1"  # README: the served defaults
    n, length = (64, 128) if readme else (8, 32)
    page.goto(server + f"/eigenspace?n_calib={n}&n_heldout={n}&max_length={length}&rank=32&compression=rtn3",
              wait_until="networkidle")
    assert page.locator(".w-n_calib input").first.input_value() == str(n)
    page.locator(".bk-tab", has_text="MiniLM layer").click()
    layer = _wait_text(page.locator(".eig-layer-metrics"), lambda s: "EoRA" in s and "rank 32" in s, timeout=180)
    assert "held-out relative error" in layer
    _wait_for_canvases(page, 4, 30, "the MiniLM layer tab rendered too few plots")
    page.locator(".bk-tab", has_text="Model fidelity").click()
    page.locator(".eig-fid-button button").click()
    table = page.locator(".eig-fid-table")
    table.wait_for(timeout=180_000)
    rows = _wait_text(table, lambda s: "EoRA" in s and "SVD" in s and "none" in s, timeout=30)
    assert "mean cosine" in rows
    _wait_for_canvases(page, 2, 30, "the fidelity tab rendered no plots")
    _readme_screenshot(page, "eigenspace_fidelity", 1200)
    page.screenshot(path=str(tmp_path / "eigenspace_fidelity.png"), full_page=True)
    log.check()
    page.close()


def _canvas_pixels(page):
    """The pixels of every Bokeh canvas on the page (``toDataURL``; retried while Bokeh replaces one)."""
    for attempt in range(20):
        try:
            return page.locator("canvas").evaluate_all("cs => cs.map(c => c.toDataURL()).join('|')")
        except Exception:
            if attempt == 19:
                raise
            time.sleep(0.5)


def test_latent_directions_dashboard(server, browser, tmp_path):
    """The face renders with its grid and spectrum; a component slider changes the face (its pixels
    and the RMS change); URL values apply and a widget change goes back into the URL; a bad value
    is reported with its range; the Jacobian and h-space tabs compute and draw."""
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    log = PageLog(page)
    page.goto(server + "/latent_directions?seed=7&k=3&c2=1.5", wait_until="networkidle")
    text = page.locator(".ld-face-metrics")
    before = _wait_text(text, lambda s: "RMS image change" in s and "seed 7" in s)
    assert "c2 = +1.50σ" in before
    assert _input_value(page, "seed") == "7" and _input_value(page, "k") == "3"
    assert not page.locator(".c4-slider").is_visible()       # k = 3 sliders
    _wait_for_canvases(page, 3, 30, "the face, grid and spectrum did not render")
    _readme_screenshot(page, "latent_directions", 1100)
    pixels = _canvas_pixels(page)
    log.check()

    _press_slider(page, ".c1-slider", "ArrowRight", 8)      # component 1 to +2σ
    after = _wait_text(text, lambda s: "c1 = +" in s, timeout=30)
    assert after != before
    deadline = time.time() + 20
    while _canvas_pixels(page) == pixels and time.time() < deadline:
        time.sleep(0.25)
    assert _canvas_pixels(page) != pixels, "the face did not change on the page"

    href = _wait_for_url(page, "c1=")
    assert "c1=" in href and "seed=7" in href

    # SeFa without row normalisation: other eigenvalues (the spectrum redraws), state in the URL
    pixels = _canvas_pixels(page)
    page.locator(".w-sefa-normalize input").click()
    assert "sefa_normalize=false" in _wait_for_url(page, "sefa_normalize=false")
    deadline = time.time() + 20
    while _canvas_pixels(page) == pixels and time.time() < deadline:
        time.sleep(0.25)
    assert _canvas_pixels(page) != pixels, "the spectrum did not change with the normalisation"
    log.check()

    _typed_is_rejected(page, "k", "99", "3", "k in 1…8")
    log.settle()
    page.goto(server + "/latent_directions?method=nope&seed=3", wait_until="networkidle")
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "could not apply" in s)
    assert "method='nope'" in msg and "method one of sefa, ganspace" in msg and "seed" not in msg
    assert "seed 3" in _wait_text(text, lambda s: "seed 3" in s)   # the valid value applied, still serving

    page.locator(".bk-tab", has_text="Directions for this image").click()
    jac = _wait_text(page.locator(".ld-jac-metrics"), lambda s: "singular values" in s, timeout=90)
    assert "converged" in jac
    page.locator(".bk-tab", has_text="Digits h-space").click()
    sup = _wait_text(page.locator(".ld-sup-metrics"), lambda s: "classified as" in s, timeout=180)
    assert "removed" in sup
    assert "classified" in _wait_text(page.locator(".ld-digit-metrics"), lambda s: "RMS image change" in s)
    _wait_for_canvases(page, 4, 30, "the h-space tab rendered too few plots")
    page.screenshot(path=str(tmp_path / "latent_hspace.png"), full_page=True)
    log.check()
    page.close()


def test_householder_dashboard(server, browser, tmp_path):
    """Mirrors render from URL values and a slider changes the frame (and goes into the URL); a typed
    rank out of range is rejected with its range; a short live training finishes and the rotation
    slider leaves the map unchanged; the faces tab fine-tunes a projector and reports its PSNR."""
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    log = PageLog(page)
    page.goto(server + "/householder?m2=75&pretrain_steps=40&finetune_steps=10&rank=3&face_steps=3",
              wait_until="networkidle")
    text = page.locator(".hh-mirror-metrics")
    before = _wait_text(text, lambda s: "rotation" in s and "rank 2" in s)
    assert "det +1" in before and "angle of q₁ -110.0°" in before      # 2 × (20° − 75°)
    assert _input_value(page, "rank") == "3" and _input_value(page, "pretrain_steps") == "40"
    _wait_for_canvases(page, 4, 30, "the mirrors and the rotate/scale/rotate panels did not render")
    if os.environ.get("SPECTRAL_EXPLORER_SCREENSHOTS") == "1":
        time.sleep(1.5)                  # the README screenshot: every glyph drawn
    _readme_screenshot(page, "householder", 1100)
    _press_slider(page, ".m1-slider", "ArrowRight", 5)
    _wait_text(text, lambda s: "angle of q₁ -100.0°" in s, timeout=30)       # 2 × (25° − 75°)

    href = _wait_for_url(page, "m1=25")
    assert "m1=25" in href and "rank=3" in href
    _typed_is_rejected(page, "rank", "99", "3", "rank in 1…8")

    page.locator(".bk-tab", has_text="Train live").click()
    page.locator(".hh-train-start button").click()
    rot = _wait_text(page.locator(".hh-rotation-metrics"), lambda s: "rotated by" in s, timeout=120)
    assert "the same map" in rot
    _press_slider(page, ".rotation-slider", "ArrowRight", 30)
    rot2 = _wait_text(page.locator(".hh-rotation-metrics"), lambda s: "rotated by 30°" in s, timeout=30)
    assert "the same map" in rot2 and "|cos(d₁, d₁')| = 0.866" in rot2
    _wait_for_canvases(page, 6, 30, "the training tab rendered too few plots")

    page.locator(".bk-tab", has_text="Faces").click()
    face = _wait_text(page.locator(".hh-face-metrics"), lambda s: "PSNR" in s, timeout=120)
    assert "rank 10" in face and "dB" in face
    page.screenshot(path=str(tmp_path / "householder_faces.png"), full_page=True)
    log.check()
    page.close()


def test_eigenspace_bad_url_parameter_is_reported(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(server + "/eigenspace?rank=9999&anisotropy=20", wait_until="networkidle")
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "rank" in s, timeout=30)
    assert "9999" in msg and "could not apply" in msg and "rank in 4…128" in msg
    assert "anisotropy" not in msg  # the valid value is applied, not reported
    assert "20" in _wait_text(page.locator(".anisotropy-slider"), lambda s: "20" in s)
    assert "EoRA" in _wait_text(page.locator(".eig-toy-metrics"), lambda s: "EoRA" in s)  # still serving
    page.close()



def _input_value(page, name):
    return page.locator(f".w-{name} input").first.input_value()


def test_heat_geodesics_url_state(server, browser):
    """Values in the URL apply; an invalid one is reported with its range; a widget change goes
    back into the URL (a view can be bookmarked)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    log = PageLog(page)
    page.goto(server + "/heat_geodesics?knn=6&t=50&n=abc&noise=0.3", wait_until="networkidle")
    _wait_text(page.locator(".explorer-metrics"), lambda s: "Spearman" in s)
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "could not apply" in s)
    assert "n='abc'" in msg and "n in 100…5000" in msg and "knn" not in msg
    assert _input_value(page, "knn") == "6"
    # the slider shows the value in effect, 50, not its handle's grid point 10^1.70 = 50.1
    assert re.search(r": 50(?![.\d])", _text(page.locator(".t-slider"))), _text(page.locator(".t-slider"))
    _set_int(page, "knn", 7)
    def href():   # Panel updates the URL with history.replaceState: read it in the page
        return page.evaluate("() => window.location.href")
    deadline = time.time() + 20
    while "knn=7" not in href() and time.time() < deadline:
        time.sleep(0.25)
    assert "knn=7" in href() and "noise=0.3" in href()
    _set_int(page, "n", 300)          # the rejected parameter gets a valid value: the report goes
    deadline = time.time() + 20
    while page.locator(".explorer-error").is_visible() and time.time() < deadline:
        time.sleep(0.25)
    assert not page.locator(".explorer-error").is_visible()
    # typed values out of range or emptied: reported with the range, the box shows the value in effect
    _set_int(page, "n", -5)
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "not allowed" in s)
    assert "n in 100…5000" in msg and "keeping 300" in msg
    deadline = time.time() + 10
    while _input_value(page, "n") != "300" and time.time() < deadline:
        time.sleep(0.25)
    assert _input_value(page, "n") == "300"
    _set_int(page, "knn", "")
    assert "knn in 1…200" in _wait_text(page.locator(".explorer-error"), lambda s: "knn" in s)
    log.check()
    page.close()


def test_positional_encodings_url_state_stability_and_training(server, browser, tmp_path):
    """URL values for the graph, the ε sweep and the training tab apply; a bad index is reported;
    the ε sweep runs as a job when its tab opens; training streams, and Stop lands at once."""
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    log = PageLog(page)
    url = ('/positional_encodings?graph=hypercube&dim=3&index=5000&eps=0.001'
           '&epochs=2&train_graphs=32&hidden=8&train_encodings=%5B%22none%22%2C%22spe%22%5D')
    page.goto(server + url, wait_until="networkidle")
    _wait_text(page.locator(".pe-ambiguity"), lambda s: "multiplicity" in s)
    msg = _wait_text(page.locator(".explorer-error"), lambda s: "could not apply" in s)
    assert "index=5000" in msg and "index in 0…499" in msg and "dim" not in msg
    assert page.locator(".w-graph select").input_value() == "hypercube"
    assert _input_value(page, "dim") == "3"

    page.locator(".bk-tab", has_text="Stability").click()
    stab = _wait_text(page.locator(".pe-stability"), lambda s: "SPE" in s, timeout=60)
    assert "0.001" in stab
    visible = page.locator("canvas").filter(visible=True)
    deadline = time.time() + 30
    while visible.count() < 1 and time.time() < deadline:
        time.sleep(0.25)
    assert visible.count() >= 1, "the stability tab drew no plot"

    page.locator(".bk-tab", has_text="Training").click()
    assert _input_value(page, "epochs") == "2" and _input_value(page, "hidden") == "8"
    page.locator(".train-start button").click()
    table = _wait_text(page.locator(".train-results"), lambda s: "spe" in s and "none" in s, timeout=120)
    assert "ood_mae" in table
    page.screenshot(path=str(tmp_path / "pe_training.png"), full_page=True)

    _set_int(page, "epochs", 200)
    page.locator(".train-start button").click()
    status = page.locator(".explorer-status").last
    _wait_text(status, lambda s: "epoch" in s, timeout=60)
    t0 = time.time()
    page.locator(".explorer-stop button").last.click()
    _wait_text(status, lambda s: "stopped" in s, timeout=10)
    assert time.time() - t0 < 5.0
    log.check()
    page.close()


def test_foreign_host_names_are_refused(server):
    """DNS rebinding: a request for another host name (with a matching Origin) gets 403, for
    pages and for the websocket upgrade; this machine's names are served."""
    import http.client

    port = int(server.rsplit(":", 1)[1])

    def status(path, host, **headers):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", path, headers={"Host": host, **headers})
        code = conn.getresponse().status
        conn.close()
        return code

    assert status("/", f"127.0.0.1:{port}") == 200
    assert status("/", f"localhost:{port}") == 200
    assert status("/", f"evil.example.com:{port}") == 403
    assert status("/heat_geodesics", f"evil.example.com:{port}") == 403
    ws = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": f"http://evil.example.com:{port}"}
    assert status("/heat_geodesics/ws", f"evil.example.com:{port}", **ws) == 403


XSS = ['<img src=x onerror="document.title=\'XSS\'">', "<svg><animate onbegin=\"document.title='XSS'\" attributeName=x dur=1s>",
       "<details open ontoggle=\"document.title='XSS'\">", '<a href="http://evil.example.com/">link</a>']


def _typed_is_rejected(page, name, value, kept, allowed):
    """Type ``value`` into the box of ``name``: the page names the range, the box shows ``kept``."""
    _set_int(page, name, value)
    alerts = page.locator(".explorer-error")     # a page may hold several explorers (PE + its trainer)
    deadline = time.time() + 45
    msg = ""
    while f"{name}: {value or 'None'}" not in msg and time.time() < deadline:
        time.sleep(0.25)
        msg = " ".join(alerts.nth(i).evaluate(_SHADOW_TEXT) for i in range(alerts.count()))
    assert f"{name}: {value or 'None'}" in msg and "not allowed" in msg and allowed in msg, msg
    deadline = time.time() + 10
    while _input_value(page, name) != kept and time.time() < deadline:
        time.sleep(0.2)
    assert _input_value(page, name) == kept, (name, value, _input_value(page, name))


def _assert_inert(page, log, title):
    """Nothing from the URL ran or rendered as markup: title unchanged, no injected element, no
    request for the injected image."""
    log.settle(quiet=0.3, timeout=5.0)    # a request an injected element made has come and gone
    page.evaluate(_PAINTED)               # two animation frames: an injected handler has fired
    assert page.title() == title, page.title()
    injected = page.locator(".explorer-error").first.evaluate(
        "e => (e.shadowRoot || e).querySelectorAll('img, svg, details, iframe, a').length")
    assert injected == 0
    assert not [u for u in log.urls if u.rstrip("/").endswith("/x")], log.urls


@pytest.mark.parametrize("app, param", [("heat_geodesics", "dataset"), ("positional_encodings", "graph"),
                                        ("eigenspace", "layer"), ("latent_directions", "method"),
                                        ("householder", "singular_values")])
def test_markup_in_the_url_is_shown_as_text(server, browser, app, param):
    from urllib.parse import quote

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    log = PageLog(page)
    log.urls = []
    page.on("request", lambda r: log.urls.append(r.url))
    page.goto(server + f"/{app}", wait_until="networkidle")
    title = page.title()
    for payload in XSS:
        log.settle()                                    # the last page's late stylesheets, before leaving it
        page.goto(server + f"/{app}?{param}={quote(payload)}", wait_until="networkidle")
        msg = _wait_text(page.locator(".explorer-error"), lambda s: "could not apply" in s)
        assert payload.split(" ")[0] in msg            # shown, as text
        _assert_inert(page, log, title)
    log.check()
    page.close()


def test_typed_values_out_of_range_or_emptied_are_rejected_in_every_dashboard(server, browser):
    """The values a class types: each is applied or visibly rejected with the allowed range, the
    box showing the value in effect (the server log stays clean: checked when the server stops)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    log = PageLog(page)
    page.goto(server + "/heat_geodesics", wait_until="networkidle")
    _wait_text(page.locator(".explorer-metrics"), lambda s: "Spearman" in s)
    for value in ("0", "1000000000", "-5", ""):
        _typed_is_rejected(page, "n", value, "1000", "n in 100…5000")
    page.locator(".w-dataset select").select_option("digits")     # no ground truth: plots still draw
    _wait_text(page.locator(".explorer-metrics"), lambda s: "no ground truth" in s, timeout=60)

    log.settle()
    page.goto(server + "/positional_encodings", wait_until="networkidle")
    _wait_text(page.locator(".pe-ambiguity"), lambda s: "multiplicity" in s)
    for name, value, kept, allowed in (("n", "1000000000", "24", "n in 3…500"), ("n", "", "24", "n in 3…500"),
                                       ("sin_base", "-1", "10000", "sin_base in 2.0…1000000.0"),
                                       ("sin_base", "", "10000", "sin_base in 2.0…1000000.0"),
                                       ("rw_steps", "1000000", "16", "rw_steps in 1…64"),
                                       ("sin_dim", "10000", "8", "sin_dim in 2…64")):
        _typed_is_rejected(page, name, value, kept, allowed)
    page.locator(".bk-tab", has_text="Training").click()
    for name, value, kept, allowed in (("epochs", "1000000000", "12", "epochs in 1…200"),
                                       ("hidden", "1000000", "32", "hidden in 8…256")):
        _typed_is_rejected(page, name, value, kept, allowed)

    log.settle()
    page.goto(server + "/eigenspace", wait_until="networkidle")
    _wait_text(page.locator(".eig-toy-metrics"), lambda s: "EoRA" in s)
    _typed_is_rejected(page, "toy_seed", "", "0", "toy_seed in 0…10000")
    _typed_is_rejected(page, "n_calib", "1000000000", "64", "n_calib in 4…2048")
    log.check()
    page.close()


_SOURCES = """() => {
  const out = [];
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    if (m.constructor.__name__ !== 'ColumnDataSource') continue;
    const cols = Object.keys(m.data).sort().map(k => {
      const v = m.data[k]; let s = 0, n = 0;
      for (const x of (v || [])) { if (typeof x === 'number' && isFinite(x)) { s += x * (1 + (n % 7)); } n++; }
      return k + ':' + n + ':' + s.toPrecision(10);
    });
    out.push(cols.join(','));
  }
  return out.sort();
}"""


def _sources(page):
    """A fingerprint of every Bokeh data source on the page (column lengths and weighted sums)."""
    for attempt in range(20):
        try:
            return page.evaluate(_SOURCES)
        except Exception:
            if attempt == 19:
                raise
            time.sleep(0.5)


@pytest.mark.parametrize("name", [d.name for d in _dashboards()])
def test_guided_tour_step_from_the_url_reveals_and_changes_the_plot(server, browser, name):
    """``?tour=2`` opens step 2 ("Step 2 of M", its question); the button sets the step's parameters
    (a plot's data change in the page) and shows the answer; ``?tour=99`` and ``?tour=abc`` are
    reported with the allowed range, and the page keeps serving (the server log is checked when it
    stops); no console errors."""
    from spectral_explorer.explorers._tour import load_tour

    steps = load_tour(name)
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    log = PageLog(page)
    page.goto(server + f"/{name}?tour=2", wait_until="networkidle")
    header = _wait_text(page.locator(".tour-header"), lambda s: "Step 2 of" in s, timeout=60)
    assert f"Step 2 of {len(steps)}" in header and steps[1].title in header
    assert "Predict" in _text(page.locator(".tour-body"))
    _wait_for_canvases(page, 1, 60, f"{name}: no plot rendered")
    assert not page.locator(".tour-answer").is_visible()
    before = _sources(page)
    time.sleep(0.5)
    assert _sources(page) == before, f"{name}: the plots changed before the button was pressed"
    page.locator(".tour-reveal button").click()
    answer = _wait_text(page.locator(".tour-answer"), lambda s: "Answer" in s, timeout=30)
    assert steps[1].answer[:40] in answer
    deadline = time.time() + 60
    while _sources(page) == before and time.time() < deadline:
        time.sleep(0.25)
    assert _sources(page) != before, f"{name}: the step's button changed no plot data"
    deadline = time.time() + 20
    while "tour=2" not in page.evaluate("() => window.location.href") and time.time() < deadline:
        time.sleep(0.25)
    assert "tour=2" in page.evaluate("() => window.location.href")
    log.check()
    if name == "eigenspace":
        # "next" to the step that opens a small-multiples tab: the tab (built lazily) draws
        last = next(i for i, s in enumerate(steps, 1) if s.tab == "Across anisotropy")
        for _ in range(last - 2):
            page.locator(".tour-next button").click()
        _wait_text(page.locator(".tour-header"), lambda s: f"Step {last} of" in s, timeout=30)
        assert not page.locator(".tour-answer").is_visible()
        page.locator(".tour-reveal button").click()
        page.get_by_text("residual clouds").first.wait_for(timeout=30000)
        visible = page.locator("canvas").filter(visible=True)
        deadline = time.time() + 30
        while visible.count() < 5 and time.time() < deadline:
            time.sleep(0.25)
        assert visible.count() >= 5, "the Across anisotropy tab drew too few plots"
        # the next step loads the shipped example matrix on the Your matrix tab
        assert steps[last].tab == "Your matrix"
        page.locator(".tour-next button").click()
        _wait_text(page.locator(".tour-header"), lambda s: f"Step {last + 1} of" in s, timeout=30)
        page.locator(".tour-reveal button").click()
        _wait_text(page.locator(".eig-matrix-metrics"), lambda s: "eigenspace_weight.npy" in s, timeout=60)
        log.check()
    if name == "heat_geodesics":
        # step 3 revealed (its Distances tab shows the bent curve; the README's tour screenshot):
        # the button sets t = 50, and the t slider shows 50, not its handle's grid point 50.1
        log.settle()
        page.goto(server + f"/{name}?tour=3", wait_until="networkidle")
        _wait_text(page.locator(".tour-header"), lambda s: "Step 3 of" in s, timeout=60)
        page.locator(".tour-reveal button").click()
        _wait_text(page.locator(".tour-answer"), lambda s: "Answer" in s, timeout=30)
        page.get_by_text("scaled by its maximum").first.wait_for(timeout=30000)
        title = page.locator(".t-slider .bk-slider-title")
        deadline = time.time() + 20
        while not re.search(r": 50(?![.\d])", title.inner_text()) and time.time() < deadline:
            time.sleep(0.25)
        assert re.search(r": 50(?![.\d])", title.inner_text()), title.inner_text()
        if os.environ.get("SPECTRAL_EXPLORER_SCREENSHOTS") == "1":
            page.mouse.move(5, 5)                # no button tooltip over the panel
            time.sleep(3.0)
            _readme_screenshot(page, "tour_heat_geodesics", 1050)
    # a bad step number (both kinds, on two dashboards: the check is the base's, a page load costs seconds)
    bad = {"heat_geodesics": "99", "positional_encodings": "abc"}.get(name)
    if bad is not None:
        log.settle()
        page.goto(server + f"/{name}?tour={bad}", wait_until="networkidle")
        msg = _wait_text(page.locator(".explorer-error"), lambda s: "could not apply" in s, timeout=60)
        assert f"tour in 0…{len(steps)}" in msg and bad in msg
        assert "Guided tour" in _text(page.locator(".tour-header"))     # the tour's start, still serving
        log.check()
    page.close()
