"""Householder-projector dashboard: ``panel serve apps/householder.py`` (or ``spectral-explorer serve``).

A thin entry point: the page is built by the packaged dashboard registry
(:mod:`spectral_explorer.explorers.registry`), one page per session.
"""

from spectral_explorer.explorers.registry import get

DASHBOARD = get("householder")
DASHBOARD.factory().servable(title=DASHBOARD.title)
