"""Pages generated from the package, so they say what the package does.

* ``gallery.md``: a card per dashboard from the registry (title, description, screenshot,
  the guided tour's steps from its JSON file, how to serve it) and a card per reproduce target
  from the CLI's list (what it measures, from the module's docstring, and its command);
* ``glossary.md``: the glossary file the dashboards serve at ``/glossary``, included as is;
* ``guides/lesson_plans.md``: ``notebooks/lesson_plans.md``, its glossary link made a page link.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

HEADER = """# Gallery

Every dashboard ships in the package and is served by one command, `spectral-explorer serve`
(or `bash .ci/dev serve` from a checkout). The screenshots are taken by the browser tests
(`SPECTRAL_EXPLORER_SCREENSHOTS=1 pytest tests/test_apps.py`). Each dashboard has a guided
tour for a class ({doc}`guides/teachers`); its steps are listed on the card.

"""


def _first_paragraph(doc: str) -> str:
    para = (doc or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in para.splitlines())


def gallery_text() -> str:
    from spectral_explorer.cli import REPRODUCE_TARGETS
    from spectral_explorer.explorers import registry

    tours = Path(registry.__file__).parent / "tours"
    out = [HEADER, "## Dashboards\n"]
    for d in registry.DASHBOARDS:
        steps = json.loads((tours / f"{d.name}.json").read_text())
        shot = registry.asset_path(f"{d.name}.png")
        out.append(f"(gallery-{d.name})=\n### {d.title}\n")
        out.append(f"```{{image}} ../spectral_explorer/assets/{shot.name}\n:alt: The {d.title.lower()} dashboard"
                   f" as a student first sees it\n:width: 100%\n```\n")
        out.append(f"{d.description}\n")
        out.append(f"**Serve it:** `spectral-explorer serve`, then open `http://127.0.0.1:5006/{d.name}` "
                   f"(a step of its tour: `/{d.name}?tour=1`).\n")
        out.append(f"**Tour** ({len(steps)} steps):\n")
        out.extend(f"{i}. {s['title']}" for i, s in enumerate(steps, 1))
        out.append("")
    out.append("## Reproduce targets\n")
    out.append("Each target recomputes a paper's table with this code and writes JSON and CSV; "
               "the tables, with their numbers, are on {doc}`reproduce`.\n")
    import importlib
    for target, module in sorted(REPRODUCE_TARGETS.items()):
        mod = importlib.import_module(f"spectral_explorer.reproduce.{module}")
        what = _first_paragraph(mod.__doc__).split(":", 1)[-1].strip()
        out.append(f"### `{target}`\n\n{what}\n\n```bash\nspectral-explorer reproduce {target} [--quick] "
                   f"[--out results]\n```\n\nAPI: {{mod}}`spectral_explorer.reproduce.{module}`.\n")
    return "\n".join(out) + "\n"


GLOSSARY = """```{include} ../spectral_explorer/assets/glossary.md
```
"""


def all_rows():
    """(name, reST reference to where it is documented, one-line summary) per ``__all__`` name."""
    import inspect

    import spectral_explorer as se

    rows = []
    for name in se.__all__:
        obj = getattr(se, name)
        if inspect.ismodule(obj):
            ref, doc = f":mod:`{obj.__name__}`", obj.__doc__
        elif name == "__version__":
            ref, doc = "``spectral_explorer.__version__``", f"The package version, ``{obj}``."
        else:
            role = "class" if inspect.isclass(obj) else "func"
            ref, doc = f":{role}:`~{obj.__module__}.{obj.__qualname__}`", obj.__doc__
        rows.append((name, ref, _first_paragraph(doc).split(". ")[0].rstrip(".") + "."))
    return rows


class AllTable(SphinxDirective):
    """``.. se-all-table::`` — the table of ``spectral_explorer.__all__``."""

    def run(self):
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", "",
                 "   * - name", "     - what it is"]
        for name, ref, summary in all_rows():
            lines += [f"   * - {ref}", f"     - {summary}"]
        node = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, node)
        return node.children


def lesson_plans_text(root: Path) -> str:
    """``notebooks/lesson_plans.md``, its glossary link pointed at the glossary page."""
    return (root / "notebooks" / "lesson_plans.md").read_text().replace("](GLOSSARY.md)", "](../glossary.md)")


def generate(app):
    src = Path(app.srcdir)
    pages = (("gallery.md", gallery_text()), ("glossary.md", GLOSSARY),
             ("guides/lesson_plans.md", lesson_plans_text(src.parent)))
    for name, text in pages:
        path = src / name
        if not path.exists() or path.read_text() != text:   # unchanged files keep Sphinx's cache valid
            path.write_text(text)


def setup(app):
    app.connect("builder-inited", generate)
    app.add_directive("se-all-table", AllTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
