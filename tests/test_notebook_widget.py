"""``spectral_explorer.explorers.ipywidget`` on the kernel side, without a browser: Bokeh patches
go out only while a front-end view exists, and a view that appears gets the current document
(the browser side, JupyterLab and the classic notebook, is checked in tests/test_lab.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jupyter_bokeh")
hv = pytest.importorskip("holoviews")

from spectral_explorer.explorers import ipywidget  # noqa: E402


def _curve(a):
    x = np.linspace(0.0, 6.0, 20)
    return hv.Curve((x, np.sin(a * x))).opts(title=f"a = {a:g}")


def _titles(widget):
    """The title texts in the render bundle a new view would draw."""
    bundle = widget.render_bundle
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    return {t for t in ("a = 1", "a = 2", "a = 3") if f'"{t}"' in text}


@pytest.fixture
def widget_and_stream():
    hv.extension("bokeh", logo=False)
    stream = hv.streams.Stream.define("A", a=1.0)()
    widget = ipywidget(hv.DynamicMap(_curve, streams=[stream]))
    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)   # what goes to the front-end
    return widget, stream, sent


def test_no_patch_before_a_view_and_a_new_view_gets_the_present(widget_and_stream):
    widget, stream, sent = widget_and_stream
    assert widget._view_count == 0 and _titles(widget) == {"a = 1"}
    stream.event(a=2.0)                    # e.g. a later cell moves the slider before the page draws
    assert sent == [], "patches were sent while no view could read them"
    widget._view_count = 1                 # the front-end reports its view
    assert _titles(widget) == {"a = 2"}, "the new view would not draw the current figure"
    stream.event(a=3.0)                    # now a view exists: the update goes out as a patch
    patches = [c["payload"] for c in sent if c.get("msg") == "patch" and "payload" in c]
    assert any('"a = 3"' in p for p in patches), patches
    assert _titles(widget) == {"a = 2"}, "an update with a view present re-sent the whole document"


def test_the_plot_is_updated_in_place(widget_and_stream):
    widget, stream, _ = widget_and_stream
    widget._view_count = 1
    before = {m.id for m in widget._document.models}
    stream.event(a=3.0)
    assert {m.id for m in widget._document.models} == before, "the update replaced Bokeh models"
