"""The documentation site's sources: what the build reads is complete and consistent.

The build itself (``bash .ci/dev docs``: Sphinx with warnings as errors, then
``docs/check_site.py`` for links, math, plots and outside requests in a browser) runs in
``.ci/run`` after the tests, because it shows the notebooks the tests executed.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))


def test_readme_is_short_and_keeps_the_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 15_000, f"README.md is {len(text.encode())} bytes; the details go in docs/"
    for cmd in ("bash .ci/dev serve", "bash .ci/dev test", "bash .ci/dev docs"):
        assert cmd in text


SOURCES = [p for p in sorted(DOCS.rglob("*.md")) if not {"node_modules", "_build", "notebooks"} & set(p.parts)]


@pytest.mark.parametrize("md", [ROOT / "README.md", *SOURCES], ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_to_files_of_the_repository_exist(md):
    text = md.read_text(encoding="utf-8")
    directives = re.findall(r"```\{(?:image|include)\} (\S+)", text)
    text = re.sub(r"```.*?```", "", text, flags=re.S)      # code blocks show commands, not links
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text) + directives:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (md.parent / target.split("#")[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{md.relative_to(ROOT)} links to missing files: {missing}"


def _public_modules():
    import spectral_explorer

    for m in pkgutil.iter_modules(spectral_explorer.__path__, "spectral_explorer."):
        if not m.name.rsplit(".", 1)[1].startswith("_"):
            yield m.name


def test_the_api_reference_lists_every_public_module():
    """Every public top-level module and subpackage has an entry (subpackages list their modules
    recursively), and every name in ``spectral_explorer.__all__`` is documented where it is defined."""
    page = (DOCS / "api" / "index.md").read_text()
    listed = set(re.findall(r"^   (spectral_explorer\.\w+)$", page, re.M))
    assert listed == set(_public_modules())

    from se_gallery import all_rows

    import spectral_explorer

    rows = all_rows()
    assert [r[0] for r in rows] == list(spectral_explorer.__all__)
    for name, ref, summary in rows:
        assert summary.strip(". "), f"{name} has no docstring summary"
        target = re.search(r"`~?([\w.]+)`", ref)
        if target and name != "__version__":
            module = target.group(1)
            obj = importlib.import_module(module) if ref.startswith(":mod:") else None
            if obj is None:   # the documented module really defines it under that name
                mod, _, attr = module.rpartition(".")
                assert getattr(importlib.import_module(mod), attr) is getattr(spectral_explorer, name)


def _inventory(name):
    data = (DOCS / "inventories" / f"{name}.inv").read_bytes()
    header, _, body = data.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2")
    rows = {}
    for line in zlib.decompress(body).decode().splitlines():
        m = re.match(r"(?x)(.+?)\s+(\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)", line)
        if m:
            rows[(m.group(1), m.group(2))] = m.group(4)
    return rows


@pytest.mark.parametrize("project, name, role, uri", [
    ("numpy", "numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html"),
    ("numpy", "numpy.linalg.eigh", "py:function", "reference/generated/numpy.linalg.eigh.html"),
    ("scipy", "scipy.sparse.linalg.eigsh", "py:function", "reference/generated/scipy.sparse.linalg.eigsh.html"),
    ("sklearn", "sklearn.manifold.trustworthiness", "py:function",
     "modules/generated/sklearn.manifold.trustworthiness.html"),
    ("torch", "torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
    ("torch", "torch.linalg.eigh", "py:function", "generated/torch.linalg.eigh.html"),
    ("torch", "torch.nn.Module", "py:class", "generated/torch.nn.Module.html"),
    ("python", "pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
])
def test_the_shipped_inventories_know_the_names_the_docs_link(project, name, role, uri):
    """The docs build reads these files instead of downloading the projects' objects.inv."""
    rows = _inventory(project)
    assert rows[(name, role)].replace("$", name) == uri


def test_notebook_pages_share_one_copy_of_panels_javascript():
    """The inline loader (Bokeh + Panel JS, megabytes) becomes one file per distinct script."""
    import nbformat
    from se_notebooks import LOADER_MIME, externalize_loaders

    def nb_with(js):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("import panel")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"application/javascript": js,
                                                                      LOADER_MIME: ""}),
                        nbformat.v4.new_output("display_data", data={"text/html": "<div id='x'></div>"})]
        nb.cells.append(cell)
        return nb

    scripts = {}
    a = externalize_loaders(nb_with("var Bokeh = 1;"), scripts)
    b = externalize_loaders(nb_with("var Bokeh = 1;"), scripts)
    externalize_loaders(nb_with("var Panel = 2;"), scripts)
    assert sorted(scripts.values()) == ["var Bokeh = 1;", "var Panel = 2;"]
    html = a.cells[0].outputs[0]["data"]["text/html"]
    assert html == b.cells[0].outputs[0]["data"]["text/html"]
    assert re.fullmatch(r'<script src="\.\./_static/nbjs/([0-9a-f]{16})\.js"></script>', html).group(1) + ".js" \
        in scripts
    assert a.cells[0].outputs[1]["data"] == {"text/html": "<div id='x'></div>"}


def test_the_executed_copy_is_used_only_for_the_notebook_it_ran(tmp_path, monkeypatch):
    import nbformat
    from se_notebooks import executed, save_executed

    src = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    nbformat.write(nb, src)
    ran = nbformat.read(src, as_version=4)
    ran.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    monkeypatch.setenv("SPECTRAL_EXPLORER_EXECUTED", str(tmp_path / "executed"))
    save_executed(ran, src, tmp_path / "executed")
    assert executed(src, ROOT).cells[0].outputs[0]["data"]["text/plain"] == "2"

    import se_notebooks
    calls = []
    monkeypatch.setattr(se_notebooks, "_execute", lambda s: calls.append(s) or ran)
    nb.cells.append(nbformat.v4.new_markdown_cell("edited"))
    nbformat.write(nb, src)            # the committed notebook changed: the saved copy is stale
    executed(src, ROOT)
    assert calls == [src]


def test_the_gallery_has_a_card_per_dashboard_with_its_tour_and_one_per_reproduce_target():
    from se_gallery import gallery_text

    from spectral_explorer.cli import REPRODUCE_TARGETS
    from spectral_explorer.explorers import registry
    from spectral_explorer.explorers._tour import load_tour

    text = gallery_text()
    for d in registry.DASHBOARDS:
        assert f"### {d.title}\n" in text and d.description in text
        assert (registry.asset_path(f"{d.name}.png")).is_file()
        for i, step in enumerate(load_tour(d.name), 1):
            assert f"{i}. {step.title}" in text
    for target in REPRODUCE_TARGETS:
        assert f"spectral-explorer reproduce {target} " in text
