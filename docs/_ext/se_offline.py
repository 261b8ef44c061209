"""Math typeset by a local KaTeX: nothing on a page is requested from outside the site.

``sphinx.ext.mathjax`` writes math as ``\\( … \\)`` and ``\\[ … \\]`` and adds ``mathjax_path``
to the pages that have math; ``conf.py`` points ``mathjax_path`` at ``se-katex-render.js``,
which runs KaTeX's auto-render on those delimiters. KaTeX itself (script, stylesheet and
fonts) comes from the npm package pinned in ``docs/package.json`` (the version Panel
bundles), installed by ``bash .ci/dev docs`` into ``docs/node_modules`` and copied into
``_static/katex``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError


def _katex_dist(app) -> Path:
    return Path(app.srcdir) / "node_modules" / "katex" / "dist"


def check(app):
    dist = _katex_dist(app)
    if not (dist / "katex.min.js").exists():
        raise ExtensionError(f"KaTeX not found in {dist}: run `bash .ci/dev docs` "
                             "(or `npm ci --prefix docs`) to install it from docs/package-lock.json")


def copy_katex(app, exception):
    if exception is not None:
        return
    target = Path(app.outdir) / "_static" / "katex"
    if target.exists():
        shutil.rmtree(target)
    dist = _katex_dist(app)
    target.mkdir(parents=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copy2(dist / name, target / name)
    shutil.copytree(dist / "contrib", target / "contrib")
    shutil.copytree(dist / "fonts", target / "fonts")


def setup(app):
    app.connect("builder-inited", check)
    app.connect("build-finished", copy_katex)
    app.add_css_file("katex/katex.min.css")
    app.add_js_file("katex/katex.min.js", loading_method="defer", priority=200)
    app.add_js_file("katex/contrib/auto-render.min.js", loading_method="defer", priority=201)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
