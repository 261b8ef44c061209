"""Distances against ground-truth geodesics."""

from __future__ import annotations

import holoviews as hv
import numpy as np

__all__ = ["sample_pairs", "distance_scatter"]


def sample_pairs(shape, n_pairs: int = 3000, seed: int = 0):
    """Random (row, col) index pairs into a matrix of ``shape`` (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    r = rng.integers(0, shape[0], n_pairs)
    c = rng.integers(0, shape[1], n_pairs)
    return r, c


def distance_scatter(truth, dist, title: str = "", label: str = "distance", pairs=None,
                     n_pairs: int = 3000, color: str = "#1f77b4", normalize: bool = True, **opts) -> hv.Scatter:
    """Scatter of ``dist`` against ``truth`` (same-shape matrices) on subsampled pairs.
    With ``normalize`` each is divided by its maximum so methods share one axis, and the axes
    say so (``ground truth / max``, ``distance / max``; ``label`` names the series).

    >>> T = np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
    >>> distance_scatter(T, 2 * T, n_pairs=10).data.shape[0]
    10
    """
    truth = np.asarray(truth, dtype=np.float64)
    dist = np.asarray(dist, dtype=np.float64)
    if truth.shape != dist.shape:
        raise ValueError(f"truth and dist must have the same shape, got {truth.shape} and {dist.shape}")
    r, c = sample_pairs(truth.shape, n_pairs) if pairs is None else pairs
    x, y = truth[r, c], dist[r, c]
    if normalize:
        x = x / max(float(truth.max()), 1e-300)
        y = y / max(float(dist.max()), 1e-300)
    import pandas as pd

    xname, yname = ("ground truth / max", "distance / max") if normalize else ("ground truth", label)
    df = pd.DataFrame({xname: x, yname: y})
    return hv.Scatter(df, xname, yname, label=label).opts(
        title=title, size=3, alpha=0.35, color=color, tools=["hover"], show_grid=True,
        framewise=True, **opts)
