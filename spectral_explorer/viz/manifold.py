"""Point clouds and embeddings as coloured scatters."""

from __future__ import annotations

import holoviews as hv
import numpy as np

__all__ = ["to_3d", "project_points", "manifold_scatter", "embedding_scatter"]

_SCATTER_OPTS = dict(size=4, cmap="viridis", colorbar=False, tools=["hover", "tap"],
                     xaxis=None, yaxis=None, toolbar="above", line_alpha=0, framewise=True,
                     default_tools=["pan", "wheel_zoom", "reset", "save"])


def to_3d(X) -> np.ndarray:
    """Points in 3-D: unchanged for 3 columns, padded for fewer, top-3 principal components for more.

    >>> to_3d(np.ones((4, 2))).shape
    (4, 3)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {X.shape}")
    if X.shape[1] == 3:
        return X
    if X.shape[1] < 3:
        return np.hstack([X, np.zeros((X.shape[0], 3 - X.shape[1]))])
    Xc = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vt[:3].T


def project_points(X3, azimuth: float = -60.0, elevation: float = 20.0):
    """Orthographic view of 3-D points: returns ``(P, depth)`` with ``P`` (n, 2) screen
    coordinates and ``depth`` (n,) distance along the viewing direction (larger = nearer).

    The camera turns by ``azimuth`` degrees about the third axis and tilts by ``elevation``
    degrees above the plane of the first two axes.

    >>> P, d = project_points(np.eye(3), 0.0, 0.0)
    >>> np.round(P, 6).tolist(), np.round(d, 6).tolist()
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [1.0, 0.0, 0.0])
    """
    X3 = np.asarray(X3, dtype=np.float64)
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    x, y, z = X3[:, 0], X3[:, 1], X3[:, 2]
    toward = x * np.cos(a) + y * np.sin(a)
    u = -x * np.sin(a) + y * np.cos(a)
    v = -toward * np.sin(e) + z * np.cos(e)
    depth = toward * np.cos(e) + z * np.sin(e)
    return np.column_stack([u, v]), depth


def _points(P, color, label, title, kdims, extra=None, order=None, **opts):
    cols = {kdims[0]: P[:, 0], kdims[1]: P[:, 1], label: np.asarray(color, dtype=np.float64),
            "index": np.arange(P.shape[0])}
    if extra:
        cols.update(extra)
    if order is not None:
        cols = {k: np.asarray(v)[order] for k, v in cols.items()}
    vdims = [label, "index"] + list(extra or ())
    el = hv.Points(cols, kdims=list(kdims), vdims=vdims).opts(color=label, title=title, **{**_SCATTER_OPTS, **opts})
    return el


def manifold_scatter(X, color, azimuth: float = -60.0, elevation: float = 20.0, label: str = "value",
                     title: str = "data", highlight=None, **opts) -> hv.Overlay:
    """The points ``X`` (any dimension; >3 is reduced by PCA) seen from ``azimuth``/``elevation``,
    coloured by ``color`` and drawn back to front; ``highlight`` (an index) is ringed in red.

    >>> el = manifold_scatter(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20))
    >>> type(el).__name__
    'Overlay'
    """
    P, depth = project_points(to_3d(X), azimuth, elevation)
    order = np.argsort(depth)
    pts = _points(P, color, label, title, ("u", "v"), order=order, **opts)
    return pts * _marker(P, highlight)


def _marker(P, highlight):
    xy = np.empty((0, 2)) if highlight is None else P[[int(highlight)]]
    return hv.Points(xy, kdims=["u", "v"] if P is not None else None).opts(
        marker="circle", size=14, fill_alpha=0, line_color="red", line_width=2.5, tools=[])


def embedding_scatter(Y, color, label: str = "value", title: str = "embedding", highlight=None,
                      **opts) -> hv.Overlay:
    """A 2-D embedding ``Y`` (n, ≥2) coloured by ``color``; ``highlight`` ringed in red."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] < 2:
        raise ValueError(f"Y must have shape (n, >=2), got {Y.shape}")
    P = Y[:, :2]
    pts = _points(P, color, label, title, ("u", "v"), **opts)
    return pts * _marker(P, highlight)
