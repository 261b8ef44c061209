"""Heat geodesics dashboard: ``panel serve apps/heat_geodesics.py`` (or ``spectral-explorer serve``)."""

import holoviews as hv
import panel as pn
import threadpoolctl

from spectral_explorer.explorers import HeatGeodesicExplorer, dashboard_page

# one BLAS thread: the small dense steps (landmark MDS, eigh) run 10-100x slower when OpenBLAS
# threads compete with torch's and with other sessions for a few cores
threadpoolctl.threadpool_limits(1, user_api="blas")
pn.extension(notifications=False)
hv.extension("bokeh", logo=False)

TITLE = "Heat geodesics"
INTRO = """
**Heat diffusion → geodesic distances → embedding** (Huguet et al., *A Heat Diffusion Perspective on
Geodesic Preserving Dimensionality Reduction*, NeurIPS 2023). Varadhan's formula
−4t·log H<sub>t</sub>(x, y) → d(x, y)² turns the heat kernel of a kNN graph into distances that follow
the manifold; MDS embeds them. Move **t** (or press play) to watch heat spread and the embedding
change; tap a point to move the heat source; compare with shortest paths, diffusion maps, PHATE or
t-SNE on the same graph. Ground-truth geodesics give the Spearman ρ / Pearson r scores.
"""

explorer = HeatGeodesicExplorer()
dashboard = explorer.panel()

template = dashboard_page(TITLE, INTRO, dashboard)
template.servable(title=TITLE)
