"""Positional encodings dashboard: ``panel serve apps/positional_encodings.py`` (or ``spectral-explorer serve``)."""

import holoviews as hv
import panel as pn
import threadpoolctl

from spectral_explorer.explorers import PositionalEncodingExplorer, dashboard_page

# one BLAS thread: small dense eigendecompositions are slower with competing OpenBLAS threads
threadpoolctl.threadpool_limits(1, user_api="blas")
pn.extension(notifications=False)
hv.extension("bokeh", logo=False)

TITLE = "Positional encodings"
INTRO = """
**Laplacian eigenvectors as positional encodings, their ambiguity and instability, and stable alternatives**
(Huang et al., *On the Stability of Expressive Positional Encodings for Graph Neural Networks*, ICLR 2024).
Colour a graph by an eigenvector (LapPE), a random-walk return probability (RWPE) or a sinusoid; flip its
sign or rotate it inside a repeated eigenspace and watch the encoding change while the eigenspace projector
does not; perturb an edge by ε and compare how far raw eigenvectors, projectors and SPE move; see why
sinusoids *are* the cycle's eigenvectors; train a GIN with each encoding on cycle counting.
"""

explorer = PositionalEncodingExplorer()
dashboard = explorer.panel()

template = dashboard_page(TITLE, INTRO, dashboard)
template.servable(title=TITLE)
