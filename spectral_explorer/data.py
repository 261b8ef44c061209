"""Data sets with ground-truth geodesics, generated locally (nothing is downloaded).

Every generator returns a :class:`Dataset` holding the points ``X`` (n, ambient_dim), a
colour (the ground-truth intrinsic coordinate, for plots), the noiseless latent
coordinates, and a way to compute exact ground-truth geodesic distances.

* ``swiss_roll``: spiral ``r = t`` rolled in 3-D; geodesic = Euclidean distance in (arc length,
  height), arc length ``s(t) = ½(t√(1+t²) + asinh t)``
* ``s_curve``: scikit-learn's S shape (two unit half circles); geodesic = Euclidean in (t, y)
* ``sphere``: uniform on the unit sphere; geodesic = great-circle distance
* ``tree``: DLA-style branching random walks in ``dim`` dimensions; geodesic = shortest path along
  the noiseless branches
* ``digits``: scikit-learn's 8×8 handwritten digits (1797 × 64); no ground truth
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ._validation import check_choice, check_float, check_int

__all__ = ["Dataset", "swiss_roll", "s_curve", "sphere", "tree", "digits", "box", "flat_torus", "two_blobs",
           "load", "DATASETS", "MORE_DATASETS",
           "swiss_roll_arc_length", "anisotropic_toy"]


@dataclass
class Dataset:
    """Points with (optionally) ground truth.

    Attributes
    ----------
    name : data set name.
    X : (n, ambient_dim) observed points (noise included).
    color : (n,) ground-truth intrinsic coordinate (or class label) for colouring.
    latent : (n, q) noiseless intrinsic coordinates, or ``None``.
    clean : (n, ambient_dim) noiseless points, or ``None``.
    flat_axes : names of the ``latent`` coordinates when they are isometric (a flat manifold:
        the geodesics are Euclidean distances in them, as for the swiss roll's arc length and
        height); empty otherwise.  An embedding that keeps the shape maps them back linearly
        (:func:`~spectral_explorer.metrics.axis_r2`).
    """

    name: str
    X: np.ndarray
    color: np.ndarray
    latent: np.ndarray | None = None
    clean: np.ndarray | None = None
    _truth: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    params: dict = field(default_factory=dict)
    flat_axes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of points (rows of ``X``)."""
        return self.X.shape[0]

    @property
    def has_truth(self) -> bool:
        """Whether the data set carries ground-truth geodesic distances."""
        return self._truth is not None

    def geodesic_distances(self, rows=None, cols=None) -> np.ndarray:
        """Ground-truth geodesic distances from ``rows`` (default all) to ``cols`` (default all)."""
        if self._truth is None:
            raise ValueError(f"data set {self.name!r} has no ground-truth geodesic distances")
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        D = self._truth(rows)
        return D if cols is None else D[:, np.asarray(cols, dtype=np.int64)]


def _rng(seed):
    return np.random.default_rng(check_int(seed, "seed", 0))


def _ambient(clean: np.ndarray, ambient_dim: int | None, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    d = clean.shape[1]
    if ambient_dim is not None:
        ambient_dim = check_int(ambient_dim, "ambient_dim", d)
        if ambient_dim > d:
            Q, _ = np.linalg.qr(rng.standard_normal((ambient_dim, ambient_dim)))
            clean = np.hstack([clean, np.zeros((clean.shape[0], ambient_dim - d))]) @ Q.T
    X = clean + noise * rng.standard_normal(clean.shape)
    return X, clean


def _euclid_truth(latent: np.ndarray):
    def truth(rows):
        return np.linalg.norm(latent[rows][:, None, :] - latent[None, :, :], axis=-1)
    return truth


def swiss_roll_arc_length(t):
    """Arc length of the spiral ``(t cos t, t sin t)`` from 0 to ``t``: ``½(t√(1+t²) + asinh t)``."""
    t = np.asarray(t, dtype=np.float64)
    return 0.5 * (t * np.sqrt(1.0 + t * t) + np.arcsinh(t))


def _common(n, noise, seed, min_n=10):
    n = check_int(n, "n", min_n)
    noise = check_float(noise, "noise", 0.0)
    return n, noise, _rng(seed)


def swiss_roll(n: int = 1000, noise: float = 0.0, seed: int = 42, ambient_dim: int | None = None,
               height: float = 21.0) -> Dataset:
    """Swiss roll: ``t ~ U[1.5π, 4.5π]``, height ``h ~ U[0, height]``,
    ``x = (t cos t, h, t sin t)`` plus Gaussian noise of standard deviation ``noise``.

    >>> ds = swiss_roll(200, seed=0)
    >>> ds.X.shape, ds.geodesic_distances([0]).shape
    ((200, 3), (1, 200))
    """
    n, noise, rng = _common(n, noise, seed)
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    h = height * rng.random(n)
    clean = np.column_stack([t * np.cos(t), h, t * np.sin(t)])
    X, clean = _ambient(clean, ambient_dim, noise, rng)
    latent = np.column_stack([swiss_roll_arc_length(t), h])
    return Dataset("swiss_roll", X, t, latent, clean, _euclid_truth(latent),
                   dict(n=n, noise=noise, seed=seed, ambient_dim=ambient_dim), ("arc length", "height"))


def s_curve(n: int = 1000, noise: float = 0.0, seed: int = 42, ambient_dim: int | None = None) -> Dataset:
    """S-curve (as scikit-learn's ``make_s_curve``): two unit half circles, so arc length
    equals the parameter ``t ∈ [−3π/2, 3π/2]``; geodesic = Euclidean distance in (t, y)."""
    n, noise, rng = _common(n, noise, seed)
    t = 3.0 * np.pi * (rng.random(n) - 0.5)
    y = 2.0 * rng.random(n)
    clean = np.column_stack([np.sin(t), y, np.sign(t) * (np.cos(t) - 1.0)])
    X, clean = _ambient(clean, ambient_dim, noise, rng)
    latent = np.column_stack([t, y])
    return Dataset("s_curve", X, t, latent, clean, _euclid_truth(latent),
                   dict(n=n, noise=noise, seed=seed, ambient_dim=ambient_dim), ("arc length", "height"))


def sphere(n: int = 1000, noise: float = 0.0, seed: int = 42, ambient_dim: int | None = None,
           cap: float | None = None) -> Dataset:
    """Uniform points on the unit sphere; geodesic = great-circle distance ``arccos⟨u, v⟩``.

    ``cap`` (radians, in (0, π]) keeps the spherical cap of polar angle ≤ ``cap`` around the
    north pole (uniform on it: ``z ~ U[cos cap, 1]``); ``None`` is the whole sphere.

    >>> ds = sphere(300, cap=np.pi / 2, seed=0)
    >>> bool(ds.X[:, 2].min() >= 0), float(ds.geodesic_distances().max()) <= np.pi
    (True, True)
    """
    n, noise, rng = _common(n, noise, seed)
    if cap is None:
        U = rng.standard_normal((n, 3))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
    else:
        cap = check_float(cap, "cap", 0.0, np.pi, low_inclusive=False)
        z = rng.uniform(np.cos(cap), 1.0, n)
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        r = np.sqrt(1.0 - z * z)
        U = np.column_stack([r * np.cos(phi), r * np.sin(phi), z])
    X, clean = _ambient(U.copy(), ambient_dim, noise, rng)

    def truth(rows):
        # atan2(|u×v|, u·v): accurate for nearby points too, unlike arccos(u·v)
        cross = np.linalg.norm(np.cross(U[rows][:, None, :], U[None, :, :]), axis=-1)
        return np.arctan2(cross, U[rows] @ U.T)

    lat = np.arctan2(U[:, 2], np.hypot(U[:, 0], U[:, 1]))
    return Dataset("sphere", X, lat, U, clean, truth,
                   dict(n=n, noise=noise, seed=seed, ambient_dim=ambient_dim, cap=cap))


def tree(n: int = 1000, noise: float = 0.0, seed: int = 42, n_branches: int = 5, dim: int = 10,
         ambient_dim: int | None = None) -> Dataset:
    """A branching tree in the style of diffusion-limited aggregation: ``n_branches`` random
    walks with a per-branch drift, each starting from a random point of an earlier branch.
    The ground truth is the shortest path along the noiseless branches (a tree graph whose
    edges join consecutive points and each branch's root to its parent point)."""
    n, noise, rng = _common(n, noise, seed)
    n_branches = check_int(n_branches, "n_branches", 1, n // 2)
    dim = check_int(dim, "dim", 2)
    sizes = np.full(n_branches, n // n_branches)
    sizes[: n - sizes.sum()] += 1
    pts, rows, cols, branch = [], [], [], []
    start = 0
    for b, m in enumerate(sizes):
        drift = rng.standard_normal(dim)
        drift /= np.linalg.norm(drift)
        steps = 0.1 * (drift + 0.5 * rng.standard_normal((m, dim)))
        if b == 0:
            origin, parent = np.zeros(dim), None
        else:
            parent = int(rng.integers(0, start))
            origin = pts[parent]
        walk = origin + np.cumsum(steps, axis=0)
        for i in range(m):
            pts.append(walk[i])
            branch.append(b)
            idx = start + i
            prev = parent if i == 0 else idx - 1
            if prev is not None:
                rows.append(idx)
                cols.append(prev)
        start += m
    clean = np.asarray(pts)
    rows, cols = np.asarray(rows), np.asarray(cols)
    w = np.linalg.norm(clean[rows] - clean[cols], axis=1)
    G = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
    G = (G + G.T).tocsr()
    X, clean_amb = _ambient(clean.copy(), ambient_dim, noise, rng)
    # colour: distance along the tree from the root
    root_dist = dijkstra(G, directed=False, indices=0)

    def truth(rows_):
        return dijkstra(G, directed=False, indices=rows_)

    ds = Dataset("tree", X, root_dist, None, clean_amb, truth,
                 dict(n=n, noise=noise, seed=seed, n_branches=n_branches, dim=dim, ambient_dim=ambient_dim))
    ds.branch = np.asarray(branch)
    return ds


def digits(n: int | None = None, noise: float = 0.0, seed: int = 42, ambient_dim: int | None = None) -> Dataset:
    """scikit-learn's bundled 8×8 digits (real data, no ground-truth geodesics); colour = label.
    ``n`` takes a seeded random subset; ``noise`` adds Gaussian noise to the pixel values."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X, y = data.data.astype(np.float64), data.target.astype(np.float64)
    rng = _rng(seed)
    if n is not None:
        n = check_int(n, "n", 10, X.shape[0])
        idx = np.sort(rng.choice(X.shape[0], n, replace=False))
        X, y = X[idx], y[idx]
    noise = check_float(noise, "noise", 0.0)
    X = X + noise * rng.standard_normal(X.shape)
    return Dataset("digits", X, y, None, None, None, dict(n=X.shape[0], noise=noise, seed=seed))


def box(n: int = 1000, sides=(10.0, 10.0, 10.0), noise: float = 0.0, seed: int = 42,
        ambient_dim: int | None = None, density: float = 0.0) -> Dataset:
    """A flat box with the given side lengths (2 sides: a rectangle; a short side: a slab),
    rotated into ``ambient_dim`` dimensions (default ``len(sides)``); geodesic = Euclidean
    distance in the box's coordinates.  ``density > 0`` makes the sampling uneven along the
    first side: density ∝ ``exp(density · x / side)`` (e.g. 3: twenty times denser at one end).

    >>> ds = box(300, sides=(4.0, 2.0), ambient_dim=3, seed=0)
    >>> ds.X.shape, ds.flat_axes, bool(np.allclose(ds.geodesic_distances([0])[0], np.linalg.norm(ds.latent - ds.latent[0], axis=1)))
    ((300, 3), ('x1', 'x2'), True)
    """
    n, noise, rng = _common(n, noise, seed)
    sides = np.asarray(sides, dtype=np.float64)
    if sides.ndim != 1 or sides.size < 1 or not (sides > 0).all():
        raise ValueError(f"sides must be positive lengths, got {sides.tolist()}")
    density = check_float(density, "density", 0.0)
    U = rng.random((n, sides.size))
    if density > 0:      # inverse CDF of the density ∝ exp(density·u) on [0, 1]
        U[:, 0] = np.log1p(U[:, 0] * np.expm1(density)) / density
    U = U * sides
    X, clean = _ambient(U.copy(), ambient_dim, noise, rng)
    axes = tuple(f"x{i + 1}" for i in range(sides.size))
    return Dataset("box", X, U[:, 0], U, clean, _euclid_truth(U),
                   dict(n=n, noise=noise, seed=seed, sides=sides.tolist(), ambient_dim=ambient_dim,
                        density=density), axes)


def flat_torus(n: int = 1000, radii=(1.5, 1.0), noise: float = 0.0, seed: int = 42) -> Dataset:
    """The flat (Clifford) torus in 4-D, ``(a cos u, a sin u, b cos v, b sin v)`` with
    ``(a, b) = radii``: intrinsically flat, so the geodesic is the Euclidean distance in the
    arc lengths ``(a·u, b·v)`` taken around the shorter way of each circle.

    >>> ds = flat_torus(200, seed=0)
    >>> D = ds.geodesic_distances()
    >>> bool(D.max() <= np.hypot(np.pi * 1.5, np.pi * 1.0) + 1e-12), ds.X.shape
    (True, (200, 4))
    """
    n, noise, rng = _common(n, noise, seed)
    a, b = (check_float(r, "radii", 0.0, low_inclusive=False) for r in radii)
    u, v = 2 * np.pi * rng.random(n), 2 * np.pi * rng.random(n)
    clean = np.column_stack([a * np.cos(u), a * np.sin(u), b * np.cos(v), b * np.sin(v)])
    X = clean + noise * rng.standard_normal(clean.shape)
    periods = np.array([2 * np.pi * a, 2 * np.pi * b])
    latent = np.column_stack([a * u, b * v])

    def truth(rows):
        d = np.abs(latent[rows][:, None, :] - latent[None, :, :])
        d = np.minimum(d, periods - d)
        return np.linalg.norm(d, axis=-1)

    return Dataset("flat_torus", X, u, latent, clean, truth, dict(n=n, noise=noise, seed=seed, radii=[a, b]))


def two_blobs(n: int = 1000, separation: float = 4.0, noise: float = 0.0, seed: int = 42,
              ambient_dim: int = 3) -> Dataset:
    """Two round Gaussian clusters (unit standard deviation) in a plane, their centres
    ``separation`` apart, rotated into ``ambient_dim`` dimensions: two clusters joined by a thin
    neck of points.  The manifold is the plane, so the geodesic is the Euclidean distance in it;
    colour: the cluster.

    >>> ds = two_blobs(200, seed=0)
    >>> ds.X.shape, sorted(set(ds.color.tolist()))
    ((200, 3), [0.0, 1.0])
    """
    n, noise, rng = _common(n, noise, seed)
    separation = check_float(separation, "separation", 0.0)
    label = (np.arange(n) >= n // 2).astype(np.float64)
    U = rng.standard_normal((n, 2))
    U[:, 0] += (label - 0.5) * separation
    X, clean = _ambient(U.copy(), ambient_dim, noise, rng)
    return Dataset("two_blobs", X, label, U, clean, _euclid_truth(U),
                   dict(n=n, noise=noise, seed=seed, separation=separation, ambient_dim=ambient_dim))


DATASETS = {"swiss_roll": swiss_roll, "s_curve": s_curve, "sphere": sphere, "tree": tree, "digits": digits}
#: more manifolds with exact geodesics, for studies and tests (not offered in the dashboard)
MORE_DATASETS = {"box": box, "flat_torus": flat_torus, "two_blobs": two_blobs}


def load(name: str, **kwargs) -> Dataset:
    """Generate data set ``name`` (one of :data:`DATASETS` or :data:`MORE_DATASETS`) with the
    given keyword arguments."""
    every = {**DATASETS, **MORE_DATASETS}
    check_choice(name, "name", tuple(every))
    return every[name](**kwargs)


def anisotropic_toy(n_samples: int = 400, anisotropy: float = 10.0, angle: float = 30.0, seed: int = 0):
    """A 2-D anisotropic Gaussian cloud and a random 2×2 error matrix (the eigenspace toy).

    ``X = (Z · [√a, 1/√a]) Rᵀ`` with ``Z`` standard normal ``(n_samples, 2)``, ``a`` the
    ``anisotropy`` (ratio of the two standard deviations) and ``R`` the rotation by ``angle``
    degrees; then ``dW`` is a standard normal ``(2, 2)`` matrix drawn from the same generator
    (``numpy.random.default_rng(seed)``).

    Returns
    -------
    X : ndarray, shape (n_samples, 2), float64
    dW : ndarray, shape (2, 2), float64

    Examples
    --------
    >>> X, dW = anisotropic_toy(1000, anisotropy=4.0, angle=0.0, seed=1)
    >>> X.shape, dW.shape, bool(X[:, 0].std() > 3 * X[:, 1].std())
    ((1000, 2), (2, 2), True)
    """
    n_samples = check_int(n_samples, "n_samples", 2)
    a = check_float(anisotropy, "anisotropy", 0.0, low_inclusive=False)
    angle = check_float(angle, "angle")
    seed = check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    th = np.deg2rad(angle)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    Z = rng.standard_normal((n_samples, 2))
    X = (Z * np.array([np.sqrt(a), 1.0 / np.sqrt(a)])) @ R.T
    dW = rng.standard_normal((2, 2))
    return X, dW
