"""Eigenspace projections dashboard: ``panel serve apps/eigenspace.py`` (or ``spectral-explorer serve``).

A thin entry point: the page is built by the packaged dashboard registry
(:mod:`spectral_explorer.explorers.registry`), one page per session.
"""

from spectral_explorer.explorers.registry import get

DASHBOARD = get("eigenspace")
DASHBOARD.factory().servable(title=DASHBOARD.title)
