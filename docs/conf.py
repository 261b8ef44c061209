"""Sphinx configuration of the spectral_explorer documentation.

Built offline by ``bash .ci/dev docs`` into ``docs/_build/html``: intersphinx reads the
inventories in ``docs/inventories``, math is typeset by a local KaTeX (npm, pinned in
``docs/package.json``), notebook pages show outputs of the notebooks executed in quick mode
(the test run's copies when they are current), and their plots draw with Bokeh's and Panel's
JavaScript served from the site itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import spectral_explorer  # noqa: E402

project = "spectral_explorer"
author = "the spectral_explorer developers"
copyright = "2026, the spectral_explorer developers"
version = release = spectral_explorer.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",        # math nodes as \( \) / \[ \]; typeset by the local KaTeX (se_offline)
    "numpydoc",
    "myst_nb",
    "sphinx_design",
    "se_offline",                # local KaTeX, Bokeh/Panel JS for notebook outputs
    "se_notebooks",              # executed notebooks (the test run's copies, or executed here)
    "se_gallery",                # gallery and glossary pages generated from the package
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "node_modules", "inventories", "**.ipynb_checkpoints", "notebooks/*.py"]
templates_path = ["_templates"]

# -- API reference -------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_typehints = "none"           # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "Tensor": "torch.Tensor", "tensor": "torch.Tensor", "ndarray": "numpy.ndarray", "array": "numpy.ndarray",
    "array_like": ":term:`numpy:array_like`",
    "Module": "torch.nn.Module", "nn.Module": "torch.nn.Module", "Generator": "torch.Generator",
}
numpydoc_xref_ignore = "all"         # free-text types ("array-like", "int, optional") stay text
numpydoc_validation_checks = {"GL08"}   # every public object has a docstring
# overrides documented where they are declared: torch's nn.Module hooks, the explorer base's hooks
numpydoc_validation_exclude = {r"\.__init__$", r"\.param$", r"\.name$", r"\.(forward|extra_repr)$",
                               r"\.(as_code|code_params|controls|main|table|export_name|tour_name)$"}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", str(DOCS / "inventories" / "python.inv")),
    "numpy": ("https://numpy.org/doc/stable/", str(DOCS / "inventories" / "numpy.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", str(DOCS / "inventories" / "scipy.inv")),
    "sklearn": ("https://scikit-learn.org/stable/", str(DOCS / "inventories" / "sklearn.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable/", str(DOCS / "inventories" / "torch.inv")),
}
intersphinx_timeout = 1
intersphinx_disabled_reftypes = ["*"]   # only explicit or documented targets go outside

# -- notebooks -----------------------------------------------------------------------------
nb_execution_mode = "off"            # se_notebooks provides executed copies
nb_output_stderr = "remove"          # the notebook tests fail on stderr anyway
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_mime_priority_overrides = [
    ("html", "application/vnd.holoviews_load.v0+json", None),   # se_notebooks moved these into files
]

# -- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "spectral_explorer"
html_static_path = ["_static"]
html_css_files = ["spectral_explorer.css"]
html_js_files = ["se-a11y.js"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # notebook pages give their width to the plots
    "secondary_sidebar_items": {"notebooks/*": []},
    "article_footer_items": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"], "index": [], "install": [], "gallery": []}
html_context = {"default_mode": "light"}
html_favicon = "../spectral_explorer/assets/thumb_heat_geodesics.png"
nb_ipywidgets_js = {}                # widget outputs need a kernel; no CDN script for them
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
mathjax_path = "se-katex-render.js"    # se_offline loads KaTeX before it
