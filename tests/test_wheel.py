"""``spectral-explorer serve`` works from an installed wheel, outside a source checkout.

Builds the wheel (from a copy of the package sources, so the checkout gets no ``build/``), installs
it with ``--no-deps`` into a fresh virtual environment that sees the project environment's
dependencies through a ``.pth`` line (not its ``.pth`` files, so the editable install of the
checkout stays invisible), runs ``spectral-explorer serve`` from an empty folder, fetches the index
and every registered dashboard, then stops it with SIGTERM: a clean exit, and the port is free.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from html import unescape
from pathlib import Path

import pytest

from spectral_explorer.explorers.registry import DASHBOARDS, INDEX_TITLE

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, **kw):
    out = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=180, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.status == 200, (url, r.status)
        return r.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of pyproject.toml, README.md and spectral_explorer/."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "spectral_explorer", src / "spectral_explorer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", dist, src])
    (whl,) = dist.glob("spectral_explorer-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel installed; dependencies come from this environment's site-packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    py = env_dir / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip())
    # a path line only: the .pth files there (the checkout's editable finder among them) are not run
    (site / "_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel])
    return env_dir


def test_wheel_packages_the_assets_and_no_apps_folder(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for d in DASHBOARDS:
        assert f"spectral_explorer/assets/{d.thumbnail}" in names
        assert f"spectral_explorer/assets/{d.name}.png" in names
        assert f"spectral_explorer/explorers/tours/{d.name}.json" in names     # the guided tours
    assert "spectral_explorer/explorers/registry.py" in names
    assert "spectral_explorer/assets/examples/trefoil_knot.csv" in names        # the heat page's example upload
    assert "spectral_explorer/assets/examples/eigenspace_weight.npy" in names   # the eigenspace page's example matrix
    assert not any(n.startswith(("apps/", "tests/", "benchmarks/")) for n in names)


def test_serve_from_the_installed_wheel_in_an_empty_folder(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BOKEH_RESOURCES", "VIRTUAL_ENV")}
    env.update(SPECTRAL_EXPLORER_DEVICE="cpu", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([venv / "bin" / "python", "-c", "import spectral_explorer; print(spectral_explorer.__file__)"],
                 cwd=empty, env=env).strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), f"imported from {where}, not the wheel"

    port = _free_port()
    proc = subprocess.Popen([str(venv / "bin" / "spectral-explorer"), "serve", "--port", str(port)], cwd=empty,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                index = _get(base + "/")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()
                    pytest.fail(f"serve did not start from the wheel:\n{proc.communicate()[0][-3000:]}")
                time.sleep(0.5)
        assert f"<title>{INDEX_TITLE}</title>" in index
        assert "static/js/bokeh" in index and "cdn.bokeh.org" not in index  # resources from this server
        _index_links_every_dashboard(base)
        for d in DASHBOARDS:
            page = _get(f"{base}/{d.name}")
            assert f"<title>{d.title}</title>" in page, f"{d.name}: the page did not build"
            assert "cdn.bokeh.org" not in page and "cdn.holoviz.org" not in page, d.name
        _sessions_load_nothing_from_outside(base)
        assert proc.poll() is None, "the server stopped while serving"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(f"serve did not stop within 15 s of SIGTERM:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    with socket.socket() as s:  # nothing listens on the port any more (TIME_WAIT connections may remain)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def _index_links_every_dashboard(base: str):
    """Open an index session over the websocket (Bokeh's client) and read the gallery's links."""
    from bokeh.client import pull_session

    with pull_session(url=base + "/") as session:
        texts = [str(getattr(m, "text", "")) for m in session.document.models]
    html = unescape(" ".join(texts))  # Panel sends an HTML pane's markup escaped
    for d in DASHBOARDS:
        assert f'id="link-{d.name}"' in html and f'href="./{d.name}"' in html, d.name


def _sessions_load_nothing_from_outside(base: str):
    """Every dashboard's session, opened over the websocket alone (as on another ``--num-procs``
    worker than its page), points every stylesheet at this server."""
    from concurrent.futures import ThreadPoolExecutor

    from bokeh.client import pull_session

    from spectral_explorer.explorers.registry import load_model_classes, outside_urls

    def pull(name):
        with pull_session(url=f"{base}/{name}") as session:
            return outside_urls(session.document)

    load_model_classes()
    with ThreadPoolExecutor(1) as pool:   # Bokeh's client runs its own event loop
        for d in DASHBOARDS:
            assert pool.submit(pull, d.name).result(timeout=120) == [], d.name
