"""Results out as figures: every plot of every dashboard, in every tab, can be saved from its
toolbar (a save tool on the plot, or on the toolbar of the grid that holds it)."""

from __future__ import annotations

import holoviews as hv
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import GridPlot, Plot, SaveTool

import importlib

from spectral_explorer.explorers import registry

EXPLORERS = {"heat_geodesics": "HeatGeodesicExplorer", "positional_encodings": "PositionalEncodingExplorer",
             "eigenspace": "EigenspaceExplorer", "latent_directions": "LatentDirectionsExplorer",
             "householder": "HouseholderExplorer"}


def _unsaveable(doc) -> set[str]:
    covered = set()
    for grid in doc.select({"type": GridPlot}):
        if grid.toolbar_location is not None and any(isinstance(t, SaveTool) for t in grid.toolbar.tools):
            covered |= {p.id for p in grid.select({"type": Plot})}
    return {(p.title.text if p.title is not None else p.id) for p in doc.select({"type": Plot})
            if p.id not in covered
            and (p.toolbar_location is None or not any(isinstance(t, SaveTool) for t in p.toolbar.tools))}


@pytest.mark.parametrize("name", registry.names())
def test_every_plot_in_every_tab_has_a_save_button(name):
    hv.extension("bokeh", logo=False)
    module = importlib.import_module(f"spectral_explorer.explorers.{name}")
    explorer = getattr(module, EXPLORERS[name])()
    doc = Document()
    page = explorer.panel()
    doc.add_root(page.get_root(doc))
    seen, bad = 0, _unsaveable(doc)
    for tabs in page.select(pn.Tabs):
        for i in range(len(tabs)):
            tabs.active = i
            seen += len(list(doc.select({"type": Plot})))
            bad |= _unsaveable(doc)
    assert seen >= len(list(page.select(pn.Tabs))), "no plots were drawn"
    assert not bad, f"plots without a save button: {sorted(bad)}"
