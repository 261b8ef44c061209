"""The notebook pages: every ``notebooks/*.ipynb`` with its outputs, executed in quick mode.

The notebooks are committed without outputs. ``tests/test_notebooks.py`` executes each one
in quick mode and saves the executed copy in ``docs/_build/executed/`` with the SHA-256 of
the notebook it ran and of the package; at ``builder-inited`` this extension takes that copy when its hash
matches the committed notebook, and executes the notebook itself (nbclient, quick mode, this
interpreter) when there is none or it is stale. A cell that raises fails the build.

The copies then go to ``docs/notebooks/`` (generated, not committed) with two changes:

* Panel's loader outputs (the JavaScript of Bokeh, HoloViews and Panel, inlined because the
  notebooks work offline) become files in ``_static/nbjs/`` named by their hash, loaded with a
  ``<script src>`` tag, so five pages share one copy instead of five 3 MB inline scripts;
* Panel's hook for a live kernel is dropped (and outputs that carry nothing else);
* a note at the top says what a static page can and cannot do.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path


def _log(text: str):
    from sphinx.util import logging   # sphinx only when building: the tests import save_executed

    logging.getLogger(__name__).info(text)

LOADER_MIME = "application/vnd.holoviews_load.v0+json"
EXEC_MIME = "application/vnd.holoviews_exec.v0+json"
META_KEY = "spectral_explorer"
CELL_TIMEOUT = 600

NOTE = """```{{note}}
This page is the notebook run top to bottom in quick mode (`SPECTRAL_EXPLORER_QUICK=1`,
smaller sizes) when the documentation was built. Plots are Bokeh's static output: pan, zoom
and hover work; sliders and buttons need a running kernel. Run it yourself with
`bash .ci/dev lab` and open `notebooks/{name}`.
```"""


def source_hash(path: Path) -> str:
    """SHA-256 of the notebook and of the package it runs: a saved copy is current only while
    neither changed (a fix to an explorer shows on the notebook pages too)."""
    h = hashlib.sha256(path.read_bytes())
    package = Path(__file__).resolve().parents[2] / "spectral_explorer"
    for f in sorted(package.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(package)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def executed_dir(root: Path) -> Path:
    return Path(os.environ.get("SPECTRAL_EXPLORER_EXECUTED", root / "docs" / "_build" / "executed"))


def save_executed(nb, source: Path, out_dir: Path) -> Path:
    """Save an executed notebook with the hash of the notebook it ran (used by the tests too)."""
    import nbformat

    nb.metadata[META_KEY] = {"source_sha256": source_hash(source), "quick": True}
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / source.name
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)
    return out


def _execute(source: Path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(source, as_version=4)
    # a kernelspec that runs this interpreter, found before any user-level "python3"
    specs = Path(tempfile.mkdtemp(prefix="se-kernel-"))
    (specs / "kernels" / "python3").mkdir(parents=True)
    (specs / "kernels" / "python3" / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (spectral_explorer docs)", "language": "python"}))
    env = {"SPECTRAL_EXPLORER_QUICK": "1", "MPLBACKEND": "Agg",
           "JUPYTER_PATH": os.pathsep.join([str(specs)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(
               os.pathsep) if p])}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                                resources={"metadata": {"path": str(source.parent)}})
        client.execute()
    except CellExecutionError as exc:
        from sphinx.errors import ExtensionError

        raise ExtensionError(f"{source.name} failed to execute:\n{exc}") from None
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(specs, ignore_errors=True)
    return nb


def executed(source: Path, root: Path):
    """The executed notebook for ``source``: the saved copy when current, else a new run."""
    import nbformat

    saved = executed_dir(root) / source.name
    if saved.exists():
        nb = nbformat.read(saved, as_version=4)
        if nb.metadata.get(META_KEY, {}).get("source_sha256") == source_hash(source):
            _log(f"[se_notebooks] {source.name}: the test run's executed copy")
            return nb
    _log(f"[se_notebooks] {source.name}: executing (quick mode)")
    nb = _execute(source)
    save_executed(nb, source, executed_dir(root))
    return nb


def externalize_loaders(nb, scripts: dict[str, str]):
    """Replace Panel's inline loader outputs by ``<script src>`` tags to shared files."""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out.get("output_type") in ("display_data", "execute_result") and not set(data) - {EXEC_MIME}:
                continue   # only a live kernel's hook (Panel's comm target), nothing to draw
            data.pop(EXEC_MIME, None)
            if LOADER_MIME in data and "application/javascript" in data:
                js = data["application/javascript"]
                name = hashlib.sha256(js.encode()).hexdigest()[:16] + ".js"
                scripts[name] = js
                out = nbformat.v4.new_output("display_data", data={
                    "text/html": f'<script src="../_static/nbjs/{name}"></script>'})
            outputs.append(out)
        cell["outputs"] = outputs
    return nb


def prepare(app):
    import nbformat

    root = Path(app.srcdir).parent
    out_dir = Path(app.srcdir) / "notebooks"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir()
    scripts: dict[str, str] = {}
    for source in sorted((root / "notebooks").glob("*.ipynb")):
        nb = externalize_loaders(executed(source, root), scripts)
        nb.metadata.pop(META_KEY, None)
        for cell in nb.cells:   # the notebooks' glossary link opens the glossary page
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace("](GLOSSARY.md)", "](../glossary.md)")
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(NOTE.format(name=source.name)))
        nbformat.write(nb, out_dir / source.name)
    app.env_scripts = scripts   # written at build-finished


def write_scripts(app, exception):
    if exception is not None:
        return
    target = Path(app.outdir) / "_static" / "nbjs"
    target.mkdir(parents=True, exist_ok=True)
    for name, js in getattr(app, "env_scripts", {}).items():
        (target / name).write_text(js)


def setup(app):
    app.connect("builder-inited", prepare)
    app.connect("build-finished", write_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":   # python docs/_ext/se_notebooks.py: show which copies are current
    ROOT = Path(__file__).resolve().parents[2]
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        saved = executed_dir(ROOT) / src.name
        ok = saved.exists() and json.loads(saved.read_text()).get("metadata", {}).get(META_KEY, {}).get(
            "source_sha256") == source_hash(src)
        print(f"{src.name}: {'current' if ok else 'missing or stale'}")
