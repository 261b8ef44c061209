"""Explorers: one class per family, each a subclass of :class:`Explorer` (``_base.py``), which
owns errors, work off the event loop with progress and cancel, long jobs, URL state and the
shared widgets.  A family explorer is parameters, cached stages, views and a layout.

These import Panel and HoloViews (the compute modules never do)."""

from ._base import Explorer, Job
from ._common import dashboard_page
from ._notebook import ipywidget, notebook_setup
from .eigenspace import EigenspaceExplorer
from .heat_geodesics import HeatGeodesicExplorer
from .householder import HouseholderExplorer
from .latent_directions import LatentDirectionsExplorer
from .positional_encodings import PositionalEncodingExplorer
from .training import CycleCountTrainer

__all__ = ["Explorer", "Job", "EigenspaceExplorer", "HeatGeodesicExplorer", "PositionalEncodingExplorer",
           "LatentDirectionsExplorer", "HouseholderExplorer", "CycleCountTrainer", "dashboard_page", "ipywidget",
           "notebook_setup"]
