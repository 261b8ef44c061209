"""The notebooks the way a student meets them: JupyterLab, headless Chromium, Run All, offline.

Starts ``jupyter lab`` on a temporary copy of ``notebooks/*.ipynb`` (quick mode, CPU, a
``python3`` kernel that runs this interpreter, JupyterLab settings and workspaces in a temporary
folder, every cell attached to the page), opens each notebook in headless Chromium, runs all
cells through JupyterLab's own command (``notebook:run-all-cells``) and waits for the kernel.
Then it asserts that

- no cell raised or wrote to stderr (a warning a student would see), and the Bokeh plots
  rendered: canvases in the outputs, also in every ``pn.ipywidget(...)`` cell (jupyter_bokeh),
  and no widget error box ("Failed to create view");
- no console error, no failed request, and **no request left 127.0.0.1** (Bokeh's and Panel's
  JavaScript, Panel's stylesheets and fonts all come from the page itself or the local server);
- the values the notebook "sets back" at its end stay set back once the browser has answered
  (the stale-value race: live widgets echoing older values);
- in the heat notebook, moving the Panel σ slider (keyboard, as a student would) redraws its plot;
- the plots that plain ipywidgets sliders drive through ``pn.ipywidget`` (heat §9b, positional
  encodings §11b) show the value the notebook set last, and in the heat notebook one keyboard
  step of that ipywidgets slider redraws it (also in the classic notebook).

Skipped when Chromium, Playwright or JupyterLab is missing, unless ``CI`` is set (then it fails).
With ``SPECTRAL_EXPLORER_LAB_SCREENSHOTS=<folder>`` it writes a full-page screenshot per notebook.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from _browser import PageLog, free_port, need
from _outputs import stderr_outputs

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT = 240  # seconds for one notebook's Run All (quick mode needs a fraction of it)

#: asked from the kernel once the page has settled: what a notebook set back at its end must
#: still hold then
FINAL_STATE = {
    "heat_geodesics": "{'method': ex.method, 't': ex.t, 'ipy_method': ipy_method.value}",
    "positional_encodings": "{'angle': ex.angle, 'theta_w': theta_w.value}",
    "eigenspace_projections": "{'anisotropy': ex.anisotropy}",
}
#: the title the ``pn.ipywidget`` plot driven by plain ipywidgets shows once the notebook has moved
#: its slider from code (heat §9b, positional encodings §11b): the page must show the kernel's
#: present, also when the front-end drew the widget after that cell ran (the classic notebook)
PLOT_TITLE = {
    "heat_geodesics": "heat at t = 100",
    "positional_encodings": "basis turned by θ = 1.00",
}
EXPECTED_STATE = {
    "heat_geodesics": {"method": "euler", "t": 2.0, "ipy_method": "euler"},
    "positional_encodings": {"angle": 0.0, "theta_w": 1.0},
    "eigenspace_projections": {"anisotropy": 10.0},
}




@pytest.fixture(scope="module")
def lab():
    """``jupyter lab`` on a copy of the notebooks; yields (base URL, notebook folder)."""
    need(shutil.which("jupyter", path=str(Path(sys.executable).parent)) is not None
          or _has_module("jupyterlab"), "JupyterLab is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="spectral-lab-"))
    nbdir = tmp / "notebooks"
    nbdir.mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, nbdir / path.name)

    # a python3 kernelspec that runs this interpreter, found before any other (as in test_notebooks)
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (spectral_explorer tests)", "language": "python"}))
    # JupyterLab settings: every cell attached to the page (no windowing), so all outputs render
    settings = tmp / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    tracker.joinpath("tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    news.joinpath("notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))

    env = dict(os.environ)
    env.update({
        "SPECTRAL_EXPLORER_QUICK": "1", "SPECTRAL_EXPLORER_DEVICE": "cpu", "MPLBACKEND": "Agg",
        "JUPYTER_PATH": os.pathsep.join([str(tmp / "jupyter")] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]),
        "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]),
    })
    port = free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={nbdir}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                proc.wait()
                log.seek(0)
                pytest.fail(f"jupyter lab did not start:\n{log.read()[-3000:]}")
            time.sleep(0.5)
    yield base, nbdir
    proc.send_signal(signal.SIGINT)   # jupyter asks to confirm on the first SIGINT; the second stops it
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)


def _has_module(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None




def _kernel_socket(url: str) -> bool:
    """A kernel websocket or long poll cut when the page closes is not a failure."""
    return "/api/kernels/" in url and "channels" in url


# JavaScript run in the page against JupyterLab's application object (expose_app_in_browser)
_JS_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(w => w.model.type === 'code');
  return {
    path: panel.context.path,
    kernel: kernel ? kernel.status : 'none',
    ready: panel.context.isReady,
    pending: cells.filter(w => w.model.executionCount === null || w.promptNode && w.promptNode.textContent.includes('*')).length,
    cells: cells.length,
  };
}"""

_JS_OUTPUTS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(w => w.model.type === 'code').map(w => ({
    source: w.model.sharedModel.getSource(),
    outputs: w.model.outputs.toJSON(),
  }));
}"""

# JavaScript: count(root) = the canvases under root, also inside (open) shadow roots of Bokeh views
_JS_COUNT = """
  const count = root => {
    let n = root.querySelectorAll('canvas').length;
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) n += count(e.shadowRoot);
    return n;
  };
"""

# canvases per code cell
_JS_CANVASES = """() => {""" + _JS_COUNT + """
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(w => w.model.type === 'code').map(w => count(w.node));
}"""


# evaluate a JSON-able Python expression on the notebook's kernel (not in a cell); returns the
# repr of its JSON text (see _ask)
_JS_ASK = """async (expr) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: 'import json as _json', silent: true, store_history: false,
                                        user_expressions: {state: `_json.dumps(${expr})`}});
  const reply = await future.done;
  const state = reply.content.user_expressions && reply.content.user_expressions.state;
  return state && state.status === 'ok' ? state.data['text/plain'] : 'failed: ' + JSON.stringify(reply.content);
}"""


def _ask(page, expr: str):
    text = page.evaluate(_JS_ASK, expr)
    assert not text.startswith("failed"), f"the kernel could not evaluate {expr}: {text}"
    return json.loads(ast.literal_eval(text))


def _state(page):
    return page.evaluate(_JS_STATE)


def _wait_idle(page, timeout, quiet=2.0, state_js=_JS_STATE):
    """Wait until every code cell has run and the kernel has been idle for ``quiet`` seconds
    (``state_js``: the front-end's state as {kernel, pending}; JupyterLab's by default)."""
    deadline = time.time() + timeout
    idle_since = None
    st = None
    while time.time() < deadline:
        st = page.evaluate(state_js)
        if st and st["kernel"] == "idle" and st["pending"] == 0:
            idle_since = idle_since or time.time()
            if time.time() - idle_since >= quiet:
                return st
        else:
            idle_since = None
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish within {timeout} s: {st}")


def _open_notebook(page, base, name):
    # a workspace of its own, reset: only this notebook is open (no tab restored from another page)
    stem = name.rsplit(".", 1)[0]
    page.goto(f"{base}/lab/workspaces/{stem}/tree/{name}?reset", wait_until="domcontentloaded")
    deadline = time.time() + 90
    st = None
    while time.time() < deadline:
        st = page.evaluate("() => !!window.jupyterapp") and _state(page)
        if st and st["path"] == name and st["ready"] and st["kernel"] == "idle":
            return st
        time.sleep(0.5)
    raise AssertionError(f"{name}: JupyterLab did not open the notebook with an idle kernel: {st}")


def _plot_png(cell):
    """The pixels of every Bokeh canvas in a cell's output (``toDataURL``: no need for the canvas
    to be on screen or stable, unlike an element screenshot; retried while Bokeh replaces it)."""
    for attempt in range(20):
        try:
            return cell.locator(".jp-Cell-outputArea canvas").evaluate_all(
                "cs => cs.map(c => c.toDataURL()).join('|')")
        except Exception:
            if attempt == 19:
                raise
            time.sleep(0.5)


# JavaScript: the titles of the Bokeh figures whose views are on the page (Bokeh's view index)
_JS_TITLES = """() => {
  const out = [];
  for (const view of Bokeh.index) {
    const doc = view.model.document;
    if (!doc || !document.body.contains(view.el)) continue;
    for (const m of doc._all_models.values()) if (m.type === 'Title' && m.text) out.push(m.text);
  }
  return out;
}"""


def _check_plot_title(page, stem, title=None):
    """The plot a notebook's ipywidgets slider drives shows the value the notebook set last."""
    title = title or PLOT_TITLE.get(stem)
    if title is None:
        return
    deadline = time.time() + 60    # a loaded 2-core machine: the late view can take a while
    while True:
        titles = page.evaluate(_JS_TITLES)
        if title in titles:
            return
        assert time.time() < deadline, f"{stem}: no plot on the page shows {title!r}: {sorted(set(titles))}"
        time.sleep(0.5)


def _move_ipywidgets_slider(page, stem, handle_css, ask):
    """Heat notebook, section 9b: one keyboard step of the ipywidgets t slider must redraw the
    plot embedded with ``pn.ipywidget`` (its title follows the kernel's value)."""
    if stem != "heat_geodesics":
        return
    handle = page.locator(handle_css)
    assert handle.count() == 1, "the ipywidgets t slider was not found"
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    deadline = time.time() + 30
    while (t := ask("t_slider.value")) == 100.0:
        assert time.time() < deadline, "a keyboard step of the ipywidgets t slider did not change it"
        time.sleep(0.5)
    _check_plot_title(page, stem, f"heat at t = {t:.3g}")


def _move_sigma_slider(page):
    """Heat notebook, section 9a: one keyboard step of the Panel σ slider must redraw its plot."""
    cell = page.locator(".jp-CodeCell").filter(has_text="sigma_slider = pn.widgets.FloatSlider")
    assert cell.count() == 1, "the σ slider cell was not found"
    cell.scroll_into_view_if_needed()
    before = _plot_png(cell)
    handle = cell.locator(".jp-Cell-outputArea .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.5)
        if _plot_png(cell) != before:
            return
    raise AssertionError("moving the σ slider did not change its plot")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline_in_jupyterlab(lab, browser, nb_path):
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = PageLog(page, ignore_failed=_kernel_socket)
    try:
        _open_notebook(page, base, nb_path.name)
        t0 = time.time()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        _wait_idle(page, RUN_TIMEOUT)
        ran = time.time() - t0

        outputs = page.evaluate(_JS_OUTPUTS)
        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(outputs)
                  for o in c["outputs"] if o.get("output_type") == "error"]
        assert not errors, f"{nb_path.name}: cells raised {errors}"
        stderr = stderr_outputs(outputs)
        assert not stderr, f"{nb_path.name}: cells wrote to stderr (warnings a student sees): {stderr}"

        # once the browser's answers (widget echoes) have arrived, ask the kernel for the state
        time.sleep(1.0)
        final = _ask(page, FINAL_STATE.get(nb_path.stem, "{}"))
        expected = EXPECTED_STATE.get(nb_path.stem, {})
        assert final == expected, \
            f"{nb_path.name}: values set back at the end were changed afterwards (stale widget values): {final}"

        canvases = page.evaluate(_JS_CANVASES)
        plot_cells = [i for i, n in enumerate(canvases) if n]
        assert len(plot_cells) >= 3, f"{nb_path.name}: Bokeh plots rendered in only {plot_cells} (canvases {canvases})"
        for i, c in enumerate(outputs):
            if "pn.ipywidget(" in c["source"] and "widget-view" in json.dumps(c["outputs"]):
                assert canvases[i], f"{nb_path.name}: cell {i}'s pn.ipywidget shows no plot"
        body = page.evaluate("() => document.body.innerText")
        for bad in ("Failed to create view", "Error displaying widget", "Failed to load model class"):
            assert bad not in body, f"{nb_path.name}: a widget error box: {bad!r}"

        _check_plot_title(page, nb_path.stem)
        _move_ipywidgets_slider(page, nb_path.stem, '.jp-CodeCell:has-text("t_slider = widgets.FloatLogSlider")'
                                ' .jp-Cell-outputArea .widget-slider .noUi-handle', lambda e: _ask(page, e))
        if nb_path.stem == "heat_geodesics":
            _move_sigma_slider(page)
        _wait_idle(page, 60)
        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(page.evaluate(_JS_OUTPUTS))
                  for o in c["outputs"] if o.get("output_type") == "error"]
        assert not errors, f"{nb_path.name}: errors after moving the sliders {errors}"

        shots = os.environ.get("SPECTRAL_EXPLORER_LAB_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            cells = page.locator(".jp-CodeCell")
            for i in plot_cells:
                cells.nth(i).scroll_into_view_if_needed()
                cells.nth(i).screenshot(path=str(Path(shots) / f"{nb_path.stem}_{i:02d}.png"))
        print(f"{nb_path.name}: ran in {ran:.1f} s, plots in {len(plot_cells)} cells")
        log.check()
    finally:
        page.close()


# ---------------------------------------------------------------------- the classic notebook
# nbclassic (the classic Notebook UI as a Jupyter Server extension), when installed, is served by
# the same server (at /notebooks/…, or /nbclassic/notebooks/… beside Notebook 7); its page exposes
# the notebook as ``Jupyter.notebook``.
_JS_CLASSIC_STATE = """() => {
  const nb = window.Jupyter && window.Jupyter.notebook;
  if (!nb || !nb.kernel || !nb._fully_loaded) return null;
  const cells = nb.get_cells().filter(c => c.cell_type === 'code');
  return {
    kernel: nb.kernel.is_connected() ? (document.querySelector('#kernel_indicator_icon.kernel_busy_icon') ? 'busy' : 'idle') : 'none',
    pending: cells.filter(c => c.input_prompt_number === '*' || c.input_prompt_number === undefined
                               || c.input_prompt_number === null).length,
    cells: cells.length,
  };
}"""

_JS_CLASSIC_CELLS = """() => {""" + _JS_COUNT + """
  return Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => ({
    source: c.get_text(), outputs: c.output_area.outputs, canvases: count(c.element[0]),
  }));
}"""

_JS_CLASSIC_ASK = """(expr) => new Promise(resolve => {
  Jupyter.notebook.kernel.execute('import json as _json', {shell: {reply: msg => {
    const s = msg.content.user_expressions && msg.content.user_expressions.state;
    resolve(s && s.status === 'ok' ? s.data['text/plain'] : 'failed: ' + JSON.stringify(msg.content));
  }}}, {silent: true, store_history: false, user_expressions: {state: `_json.dumps(${expr})`}});
})"""


def _shut_down_sessions(base, path):
    """Stop the server's sessions (and kernels) for ``path``: the JupyterLab test of the same
    notebook leaves its kernel running, with that page's widgets alive in it; the classic page
    would attach to it and get messages for widgets it never opened ("Comm promise not found")."""
    sessions = json.loads(urllib.request.urlopen(f"{base}/api/sessions", timeout=10).read())
    for session in sessions:
        if session.get("path") == path:
            xsrf = "0123456789abcdef"   # the server's XSRF check: the same token as cookie and header
            request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE",
                                             headers={"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"})
            urllib.request.urlopen(request, timeout=30).read()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _classic_font(url: str) -> bool:
    return "/static/nbclassic/components/MathJax/fonts/" in url


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline_in_the_classic_notebook(lab, browser, nb_path):
    """The same notebook in nbclassic, when it is installed (an optional front-end: ``pip install
    nbclassic`` and ``jupyter nbclassic-extension enable --py jupyter_bokeh --sys-prefix``): Run
    All, no error, plots rendered (also in the ``pn.ipywidget`` cells), no widget error box, no
    console error, nothing from outside, and the values set back at the end stay set back."""
    if not _has_module("nbclassic"):
        pytest.skip("nbclassic is not installed (optional)")
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # the classic UI's own MathJax asks for OpenType fonts its bundle does not ship (404, then an
    # about:blank fallback) and renders with its web fonts instead: not an error of ours — any
    # other failed response still is
    log = PageLog(page, ignore_failed=lambda u: _kernel_socket(u) or _classic_font(u) or u == "about:blank",
                  ignore_console=lambda t: "Failed to load resource" in t or "font at 'about:blank'" in t)
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        from nbclassic import nbclassic_path   # "/nbclassic" beside Notebook 7, else ""

        _shut_down_sessions(base, nb_path.name)   # a kernel of its own, not the JupyterLab run's

        page.goto(f"{base}{nbclassic_path()}/notebooks/{nb_path.name}", wait_until="domcontentloaded")
        deadline = time.time() + 90
        while not page.evaluate("() => !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
                                " && Jupyter.notebook.kernel.is_connected())"):
            assert time.time() < deadline, (f"{nb_path.name}: the classic notebook did not start its kernel "
                                            f"({page.url}, {page.title()!r}, errors {log.errors[:5]})")
            time.sleep(0.5)
        page.evaluate("() => Jupyter.notebook.execute_all_cells()")
        time.sleep(2.0)
        _wait_idle(page, RUN_TIMEOUT, state_js=_JS_CLASSIC_STATE)
        shots = os.environ.get("SPECTRAL_EXPLORER_LAB_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"classic_{nb_path.stem}.png"), full_page=True)
        cells = page.evaluate(_JS_CLASSIC_CELLS)
        errors = [(i, o.get("ename"), o.get("evalue"), _ANSI.sub("", "\n".join(o.get("traceback", [])))[-2500:])
                  for i, c in enumerate(cells) for o in c["outputs"] if o.get("output_type") == "error"]
        assert not errors, f"{nb_path.name}: cells raised {errors[:1]}"
        stderr = stderr_outputs(cells)
        assert not stderr, f"{nb_path.name}: cells wrote to stderr (warnings a student sees): {stderr}"
        time.sleep(1.0)
        text = page.evaluate(_JS_CLASSIC_ASK, FINAL_STATE.get(nb_path.stem, "{}"))
        assert not text.startswith("failed"), text
        assert json.loads(ast.literal_eval(text)) == EXPECTED_STATE.get(nb_path.stem, {}), \
            f"{nb_path.name}: values set back at the end were changed afterwards: {text}"
        plot_cells = [i for i, c in enumerate(cells) if c["canvases"]]
        assert len(plot_cells) >= 3, f"{nb_path.name}: Bokeh plots rendered in only {plot_cells}"
        for i, c in enumerate(cells):
            if "pn.ipywidget(" in c["source"] and "widget-view" in json.dumps(c["outputs"]):
                assert c["canvases"], f"{nb_path.name}: cell {i}'s pn.ipywidget shows no plot ({log.errors[:5]})"
        body = page.evaluate("() => document.body.innerText")
        for bad in ("Failed to create view", "Error displaying widget", "Failed to load model class"):
            assert bad not in body, f"{nb_path.name}: a widget error box: {bad!r}"
        _check_plot_title(page, nb_path.stem)
        _move_ipywidgets_slider(page, nb_path.stem, '.code_cell:has-text("t_slider = widgets.FloatLogSlider")'
                                ' .output_area .widget-slider .noUi-handle',
                                lambda e: json.loads(ast.literal_eval(page.evaluate(_JS_CLASSIC_ASK, e))))
        _wait_idle(page, 60, state_js=_JS_CLASSIC_STATE)
        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(page.evaluate(_JS_CLASSIC_CELLS))
                  for o in c["outputs"] if o.get("output_type") == "error"]
        assert not errors, f"{nb_path.name}: errors after moving the t slider {errors}"
        print(f"{nb_path.name} (classic): plots in {len(plot_cells)} cells")
        log.check()
        assert all(_classic_font(f.split(" ", 1)[1]) for f in failed), f"{nb_path.name}: failed responses {failed}"
    finally:
        page.close()
