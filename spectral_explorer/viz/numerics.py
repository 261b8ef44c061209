"""Where heat-kernel entries underflow: histograms of ``log10 H`` per method."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..heat import kernel_counts

__all__ = ["kernel_histogram"]

_COLORS = {"exact": "black", "chebyshev": "#d62728", "euler": "#1f77b4"}


def kernel_histogram(kernels: dict, bins: int = 60, lo: float = -40.0, title: str = "") -> hv.Overlay:
    """Overlaid histograms of ``log10 H`` for each ``{method: H}``.  Entries ≤ 0 have no
    logarithm: they are piled into the leftmost bin (labelled in the legend with their count),
    and a dotted line marks 1e-15, below which double precision cannot resolve an entry of
    a kernel whose largest entries are O(1).

    >>> el = kernel_histogram({"euler": np.random.default_rng(0).random((5, 5))})
    >>> type(el).__name__
    'Overlay'
    """
    edges = np.linspace(lo, 1.0, bins + 1)
    els = []
    for name, H in kernels.items():
        H = np.asarray(H, dtype=np.float64).ravel()
        c = kernel_counts(H)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(H > 0, np.log10(np.where(H > 0, H, 1.0)), lo)
        freq, _ = np.histogram(np.clip(logs, lo, 1.0), edges)
        lab = f"{name}: {c['le_zero']} ≤0, {c['le_tiny']} ≤1e-15"
        els.append(hv.Histogram((edges, freq), kdims=["log10 H"], vdims=["entries"], label=lab).opts(
            fill_alpha=0.35, line_color=_COLORS.get(name, "gray"), fill_color=_COLORS.get(name, "gray")))
    vline = hv.VLine(-15.0).opts(color="gray", line_dash="dotted")
    return hv.Overlay(els + [vline]).opts(title=title, width=620, height=330, legend_position="top_left",
                                          show_grid=True, framewise=True, xlabel="log10 H_t(i, j) (kernel entry)",
                                          ylabel="number of entries")
