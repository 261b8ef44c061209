"""Notebook set-up: HoloViews (Bokeh backend) and Panel with every script, style and font
inline, so the notebooks render in JupyterLab (and the classic notebook) without internet.

Why a helper and not ``hv.extension("bokeh"); pn.extension()``:

- ``hv.extension("bokeh")`` loads Bokeh's and Panel's JavaScript from their CDNs unless told
  ``inline=True``; a later ``pn.extension()`` only *reloads* (it does not replace the CDN
  loader), so without internet nothing renders and ``pn.ipywidget`` views fail ("Cannot read
  properties of undefined (reading 'require')").
- Even with inline JavaScript, Panel's component stylesheets are ``ImportedStyleSheet`` URLs on
  ``cdn.holoviz.org`` (``bundled/theme/*.css``, ``css/*.css``).  Panel inlines them only for
  objects it displays itself (``_repr_mimebundle_``) and for updates over a notebook comm; a
  HoloViews object displayed by HoloViews' own display hook, a ``pn.ipywidget`` (jupyter_bokeh)
  and the updates of those keep the CDN URLs, and so do the theme (design) stylesheets that
  Panel applies after its pre-processing.  :func:`notebook_setup` therefore inlines them where
  Panel builds every component's stylesheet list (``Syncable._process_param_change``, which the
  first render, every update and the design hooks go through) and, as a safety net, in a
  pre-processing hook over every model Panel renders — both only while ``pn.config.inline`` is on,
  so served dashboards are untouched.

:func:`ipywidget` is ``pn.ipywidget`` for an object that code updates after display; see there.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn
from functools import lru_cache

from bokeh.models import ImportedStyleSheet, InlineStyleSheet, UIElement
from panel.io.resources import CDN_DIST, DIST_DIR, LOCAL_DIST
from panel.reactive import Syncable
from panel.viewable import Viewable

__all__ = ["ipywidget", "notebook_setup"]


@lru_cache(maxsize=None)
def _dist_css(relative: str):
    """The text of a stylesheet in Panel's dist folder, or None."""
    path = DIST_DIR / relative
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _inline(sheet):
    """A stylesheet of Panel's dist (CDN or server URL, any ``?v=`` suffix) as inline text."""
    if not isinstance(sheet, ImportedStyleSheet):
        return sheet
    url = str(sheet.url).split("?")[0]
    for prefix in (CDN_DIST, LOCAL_DIST, "./" + LOCAL_DIST, "/" + LOCAL_DIST):
        if url.startswith(prefix):
            css = _dist_css(url[len(prefix):])
            return sheet if css is None else InlineStyleSheet(css=css)
    return sheet


def _inlined(sheets):
    return [_inline(s) for s in sheets]


def _inline_process_param_change(process):
    """Wrap ``Syncable._process_param_change``: CDN stylesheets become their local text."""
    def wrapper(self, params):
        props = process(self, params)
        if pn.config.inline and props.get("stylesheets"):
            props["stylesheets"] = _inlined(props["stylesheets"])
        return props
    wrapper._spectral_inline = True
    wrapper.__wrapped__ = process
    return wrapper


def _inline_stylesheets(viewable, root, changed=None, old_models=None):
    """Panel pre-processing hook: replace Panel's CDN stylesheet URLs by their local text."""
    if not pn.config.inline:
        return
    for model in root.select({"type": UIElement}):
        sheets = model.stylesheets
        if not any(isinstance(s, ImportedStyleSheet) for s in sheets):
            continue
        patched = _inlined(sheets)
        if patched != sheets:
            model.stylesheets = patched


def notebook_setup(*extensions: str, **config) -> None:
    """Load HoloViews (Bokeh) and Panel in a notebook, every resource from this machine.

    Call it once, in a notebook's first code cell, instead of ``hv.extension(...)`` and
    ``pn.extension(...)``; ``extensions`` and ``config`` go to ``pn.extension`` (for example
    ``notebook_setup("katex", sizing_mode="stretch_width")``).  Outside IPython it only sets
    the configuration.
    """
    pn.config.inline = True
    if not getattr(Syncable._process_param_change, "_spectral_inline", False):
        Syncable._process_param_change = _inline_process_param_change(Syncable._process_param_change)
    if _inline_stylesheets not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_inline_stylesheets)
    # HoloViews first, inline: it installs the display hooks and loads the JS bundle once;
    # pn.extension then only adds Panel's comm manager and configuration (a small reload).
    hv.extension("bokeh", inline=True, logo=False)
    pn.extension(*extensions, inline=True, **config)


def ipywidget(obj, **kwargs):
    """``pn.ipywidget(obj, **kwargs)`` that is right in every front-end, the classic notebook too.

    jupyter_bokeh's front-end view draws the document as it was when the widget was built (its
    ``render_bundle``) and then applies the Bokeh patches the kernel sends, each one a run of
    comm messages (header, metadata, content, buffers) read by a small state machine in the
    view.  Under Run All the classic notebook creates the view only after the next cells have
    run: the patches sent before it are lost (the plot stays at its first value), and a view
    created in the middle of a run reads every later patch out of step (it never redraws
    again; ``UnknownReferenceError`` when the lost patches had replaced models).

    This widget sends patches only while a view exists — the front-end counts its views in
    ``_view_count``, which ``pn.ipywidget`` turns on — and re-sends its whole current document
    when a view appears, so every view starts from the present and reads whole patches.
    Update the displayed object in place (a ``DynamicMap`` driven by a stream) rather than
    replacing it, so the page keeps the models the kernel holds and gets only new data.
    """
    widget = pn.ipywidget(obj, **kwargs)
    send_patch = widget._document_patched

    def document_patched(event):
        if widget._view_count is None or widget._view_count > 0:   # no view yet: nothing to tell
            send_patch(event)

    def view_appeared(change):
        if (change["new"] or 0) > (change["old"] or 0) and widget._document is not None:
            # the document as it is now (Panel's own watcher, registered first, has already
            # re-rooted it if the last view had gone)
            widget.update_from_model(widget._model)

    widget._document_patched = document_patched   # Bokeh dispatches document events here
    widget.observe(view_appeared, "_view_count")
    return widget
