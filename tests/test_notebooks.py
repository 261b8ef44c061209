"""Notebooks: committed without outputs, in sync with their jupytext twin, and runnable.

Every ``notebooks/*.ipynb`` is executed top to bottom with nbclient in quick mode
(``SPECTRAL_EXPLORER_QUICK=1``), on a kernel that runs *this* interpreter
(``sys.executable``, i.e. the project's virtual environment), so the notebook sees the
same installed packages as the tests. A cell may neither raise nor write to stderr: a warning
(``UserWarning`` …) or a stray log line is something a student sees, so it fails the test too.

A notebook that passes is saved, with the hash of the committed notebook it ran, in
``docs/_build/executed/`` (or ``$SPECTRAL_EXPLORER_EXECUTED``): the documentation build shows
those outputs instead of executing every notebook a second time (``docs/_ext/se_notebooks.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from _outputs import stderr_outputs

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell (quick mode needs a few; leave room for a busy machine)

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks to check")


def _ids(paths):
    return [p.stem for p in paths]


def _twin(nb_path: Path) -> Path:
    return nb_path.with_suffix(".py")


def _cells(notebook):
    """(cell type, source) of every cell, trailing blank lines ignored."""
    return [(c.cell_type, c.source.rstrip()) for c in notebook.cells]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_committed_without_outputs(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{nb_path.name}: cells {dirty} have outputs or execution counts; strip them before committing"
    assert "widgets" not in nb.metadata, f"{nb_path.name}: saved widget state in the metadata; strip it"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_in_sync_with_jupytext_twin(nb_path):
    twin = _twin(nb_path)
    assert twin.exists(), f"{nb_path.name} has no jupytext twin {twin.name} (jupytext --set-formats ipynb,py:percent)"
    nb = jupytext.read(nb_path)
    py = jupytext.read(twin)
    for name, doc in ((nb_path.name, nb), (twin.name, py)):
        formats = doc.metadata.get("jupytext", {}).get("formats", "")
        assert set(formats.split(",")) == {"ipynb", "py:percent"}, \
            f"{name}: jupytext pairing metadata should be 'ipynb,py:percent', got {formats!r}"
    a, b = _cells(nb), _cells(py)
    assert len(a) == len(b), (f"{nb_path.name} has {len(a)} cells, {twin.name} has {len(b)}; "
                              f"run `jupytext --sync {nb_path.relative_to(ROOT)}`")
    for i, (ca, cb) in enumerate(zip(a, b)):
        assert ca == cb, (f"cell {i} differs between {nb_path.name} and {twin.name}; "
                          f"run `jupytext --sync {nb_path.relative_to(ROOT)}`\n--- ipynb:\n{ca[1][:400]}\n"
                          f"--- py:\n{cb[1][:400]}")


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
    """A ``python3`` kernelspec that runs this interpreter, found before any other.

    ``JUPYTER_PATH`` is searched first, so a user-level ``python3`` kernelspec pointing at
    another environment cannot shadow it.
    """
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (spectral_explorer tests)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        [str(tmp_path / "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("SPECTRAL_EXPLORER_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "python3"


@pytest.mark.notebook
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(nb_path, venv_kernel):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(nb_path, as_version=4)
    n_cells = len(nb.cells)
    # a last cell reports which interpreter and mode the kernel ran with
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os, sys; print(sys.executable); print(os.environ.get('SPECTRAL_EXPLORER_QUICK'))"))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=venv_kernel, allow_errors=False,
                            resources={"metadata": {"path": str(nb_path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{nb_path.name} failed:\n{exc}", pytrace=False)

    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells[:n_cells]) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{nb_path.name}: cells raised {errors}"
    stderr = stderr_outputs(nb.cells[:n_cells])
    assert not stderr, f"{nb_path.name}: cells wrote to stderr (warnings a student sees): {stderr}"

    report = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream").split()
    assert Path(report[0]).resolve() == Path(sys.executable).resolve(), \
        f"the kernel ran {report[0]}, not this environment's {sys.executable}"
    assert report[1] == "1", "the notebook did not run in quick mode"

    # the docs build reuses this run (docs/_ext/se_notebooks.py checks the hash before it does)
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from se_notebooks import executed_dir, save_executed
    finally:
        sys.path.pop(0)
    nb.cells = nb.cells[:n_cells]
    save_executed(nb, nb_path, executed_dir(ROOT))
