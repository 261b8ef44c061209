"""HoloViews element builders (Bokeh backend).  No Panel here: these functions take arrays
and return HoloViews elements, so they work in notebooks, dashboards and scripts alike.

=========================  ================================================================
:func:`project_points`     2-D view of 3-D points from an azimuth/elevation (Bokeh has no 3-D)
:func:`manifold_scatter`   a point cloud coloured by a value
:func:`embedding_scatter`  a 2-D embedding coloured by a value
:func:`spectrum_plot`      ``exp(−tλ)`` against its Chebyshev / Euler approximations + error
:func:`distance_scatter`   distances against ground-truth geodesics (subsampled pairs)
:func:`kernel_histogram`   log10 of heat-kernel entries per method, underflow counted
:mod:`.graphs`             graphs coloured by encodings, spectra, projectors, stability, training
=========================  ================================================================
"""

import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh backend so .opts() work anywhere)

from .manifold import embedding_scatter, manifold_scatter, project_points, to_3d
from .spectrum import spectrum_plot
from .distances import distance_scatter, sample_pairs
from .numerics import kernel_histogram

__all__ = ["project_points", "to_3d", "manifold_scatter", "embedding_scatter", "spectrum_plot",
           "distance_scatter", "sample_pairs", "kernel_histogram"]
from .graphs import (ENCODING_COLORS, channel_curves, channels_image, eigenvalue_plot, graph_edges, graph_nodes,
                     graph_plot, projector_image, sinusoid_cycle_figure, stability_grid, stability_plot,
                     training_curves)

__all__ += ["graph_edges", "graph_nodes", "graph_plot", "eigenvalue_plot", "projector_image",
            "stability_plot", "stability_grid", "channels_image", "channel_curves", "sinusoid_cycle_figure",
            "training_curves", "ENCODING_COLORS"]
