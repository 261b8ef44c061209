"""Explorers: one ``param.Parameterized`` class per family, with cached stages and views.

These import Panel and HoloViews (the compute modules never do)."""

from ._common import dashboard_page
from .eigenspace import EigenspaceExplorer
from .heat_geodesics import HeatGeodesicExplorer
from .positional_encodings import PositionalEncodingExplorer

__all__ = ["EigenspaceExplorer", "HeatGeodesicExplorer", "PositionalEncodingExplorer", "dashboard_page"]
