"""Accessibility of every page and notebook output, fixed once for all explorers.

- :class:`AccessibilityHook`: an invisible component every explorer's layout carries (served page
  and notebook output alike).  It runs ``assets/a11y.js`` once per browser window, which names the
  controls Bokeh and Panel leave nameless from the label the page shows (a spinner's up/down
  buttons, slider handles — with the value shown as ``aria-valuetext``, the log sliders' real
  value instead of their log position —, the player's range and buttons, check boxes), gives every
  plot a generated text alternative (its title, what it draws and how many, its axes and colour),
  makes tab headers ARIA tabs that Enter and Space open, and draws a visible focus ring.  It
  re-applies itself whenever a part of the page re-renders (a ``MutationObserver`` on every shadow
  root) or the Bokeh document changes.
- :class:`AccessibleTemplate`: Panel's Bootstrap template with landmarks — the title bar a
  ``<header>`` whose title is the page's one ``<h1>``, the content a ``<main>`` a skip link leads
  to — used by every dashboard, the index and the glossary (:func:`~._common.dashboard_page`).
"""

from __future__ import annotations

from pathlib import Path

import param
from panel.reactive import ReactiveHTML
from panel.template import BootstrapTemplate

ASSETS = Path(__file__).resolve().parents[1] / "assets"
A11Y_JS = (ASSETS / "a11y.js").read_text(encoding="utf-8")

class AccessibilityHook(ReactiveHTML):
    """Runs ``assets/a11y.js`` in the page (once per window; later hooks only ask it to re-apply)."""

    marker = param.String(default="spectral-a11y", precedence=-1)

    _template = '<div id="hook" class="se-a11y-hook" aria-hidden="true"></div>'
    _scripts = {"render": A11Y_JS}

    def __init__(self, **params):
        params.setdefault("height", 0)
        params.setdefault("width", 0)
        params.setdefault("margin", 0)
        params.setdefault("sizing_mode", "fixed")
        super().__init__(**params)


_SR_ONLY = (".se-sr-only{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
            "clip:rect(0 0 0 0);white-space:nowrap;border:0}")


def section_heading(text: str):
    """A visually hidden ``h2`` (``text`` is ours, never a user's): the explorer's two columns,
    *Controls* and *Views*, as headings a screen reader lists between the page's ``h1`` and the
    columns' own ``h3`` headings."""
    import html

    import panel as pn

    return pn.pane.HTML(f'<h2 class="se-sr-only">{html.escape(text)}</h2>', stylesheets=[_SR_ONLY],
                        margin=0, height=0, sizing_mode="stretch_width")


class AccessibleTemplate(BootstrapTemplate):
    """Panel's Bootstrap template with a ``header``/``h1``, a ``main`` landmark and a skip link."""

    _template = ASSETS / "page.html"   # its CSS: the skip link, the h1 as the old title, a focus ring
