"""Test data with exact geodesics, shared by the heat-geodesic and comparison tests."""

import numpy as np


def flat_sheet(rng, n, width, height):
    """A flat width × height rectangle rotated into 3-D: ``(X, T)`` with ``T`` the exact
    geodesic (Euclidean distance within the plane)."""
    uv = rng.uniform(size=(n, 2)) * [width, height]
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return np.column_stack([uv, np.zeros(n)]) @ Q.T, np.linalg.norm(uv[:, None] - uv[None], axis=-1)
