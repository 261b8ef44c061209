"""Distance-preservation metrics, computed as the heat-geodesic paper's benchmark does:
for every point, compare its row of distances with the ground-truth row, then average.

Spearman's ρ sees only ranks: it is blind to any monotone distortion (``√d`` scores 1).  The
*shape* is measured by the row-mean Pearson r and by :func:`loglog_slope`, the slope of
``log estimate`` against ``log truth`` (1 when distances are proportional to the truth).

All three are averages over pairs, so the manifold's longest direction dominates them: a
swiss-roll embedding that keeps the order along the roll but has lost its height (a band, not
a rectangle) still scores ρ ≈ r ≈ 0.93.  On a flat manifold :func:`axis_r2` asks, axis by axis,
whether the embedding maps back to the true coordinates.

:func:`residual_variance` needs no ground truth: it asks how much of the distances an
embedding was made from the embedding leaves unexplained (Isomap's criterion)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata

__all__ = ["row_spearman", "row_pearson", "knn_precision", "loglog_slope", "distance_metrics", "embedding_metrics",
           "pairwise_distances", "axis_r2", "residual_variance", "distance_ratio_by_range", "RANGES"]


def _pair(D, T, name="D"):
    D = D.detach().cpu().double().numpy() if isinstance(D, torch.Tensor) else np.asarray(D, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if D.shape != T.shape or D.ndim != 2:
        raise ValueError(f"{name} and the ground truth must be 2-D with the same shape, got {D.shape} and {T.shape}")
    return D, T


def _mask_self(D, self_index):
    """Rows without their own (zero) entry: returns a (r, c-1) view when self_index is given."""
    if self_index is None:
        return D
    r, c = D.shape
    keep = np.ones((r, c), dtype=bool)
    valid = self_index >= 0
    keep[np.arange(r)[valid], self_index[valid]] = False
    if not valid.all():
        # rows whose self is not among the columns: drop their last column to keep a rectangle
        keep[np.arange(r)[~valid], -1] = False
    return D[keep].reshape(r, c - 1)


def _self_index(D, self_index):
    if self_index is None and D.shape[0] == D.shape[1]:
        return np.arange(D.shape[0])
    return None if self_index is None else np.asarray(self_index, dtype=np.int64)


def _rowcorr(A, B):
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    den = np.sqrt((A * A).sum(axis=1) * (B * B).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (A * B).sum(axis=1) / den
    return float(np.nanmean(r))


def row_pearson(D, T, self_index=None) -> float:
    """Mean over rows of the Pearson correlation between ``D[i]`` and ``T[i]`` (self excluded)."""
    D, T = _pair(D, T)
    s = _self_index(D, self_index)
    return _rowcorr(_mask_self(D, s), _mask_self(T, s))


def row_spearman(D, T, self_index=None) -> float:
    """Mean over rows of the Spearman rank correlation between ``D[i]`` and ``T[i]``."""
    D, T = _pair(D, T)
    s = _self_index(D, self_index)
    A, B = _mask_self(D, s), _mask_self(T, s)
    return _rowcorr(rankdata(A, axis=1), rankdata(B, axis=1))


def knn_precision(D, T, k: int = 10, self_index=None) -> float:
    """Mean over rows of ``|kNN by D ∩ kNN by T|`` / k (self excluded)."""
    D, T = _pair(D, T)
    s = _self_index(D, self_index)
    A, B = _mask_self(D, s), _mask_self(T, s)
    k = min(k, A.shape[1])
    nd = np.argpartition(A, k - 1, axis=1)[:, :k]
    nt = np.argpartition(B, k - 1, axis=1)[:, :k]
    hits = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(nd, nt)]
    return float(np.mean(hits) / k)


def loglog_slope(D, T, self_index=None, middle: float = 0.6) -> float:
    """Least-squares slope of ``log D`` against ``log T`` over the middle ``middle`` fraction
    of the pairs (by true distance; self pairs and zero entries left out).

    1 when ``D`` is proportional to the truth, ½ for ``√T``; any scale factor leaves it
    unchanged.

    >>> T = np.array([[0.0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]])
    >>> round(loglog_slope(5 * T, T), 6), round(loglog_slope(np.sqrt(T), T, middle=1.0), 6)
    (1.0, 0.5)
    """
    D, T = _pair(D, T)
    s = _self_index(D, self_index)
    d, t = _mask_self(D, s).ravel(), _mask_self(T, s).ravel()
    ok = (d > 0) & (t > 0) & np.isfinite(d) & np.isfinite(t)
    d, t = d[ok], t[ok]
    if t.size < 2:
        return float("nan")
    lo, hi = np.quantile(t, [(1 - middle) / 2, (1 + middle) / 2])
    keep = (t >= lo) & (t <= hi)
    x, y = np.log(t[keep]), np.log(d[keep])
    x = x - x.mean()
    den = float((x * x).sum())
    return float((x * (y - y.mean())).sum() / den) if den > 0 else float("nan")


def pairwise_distances(Y, rows=None, cols=None) -> np.ndarray:
    """Euclidean distances between embedding rows (all pairs by default)."""
    Y = np.asarray(Y, dtype=np.float64)
    R = Y if rows is None else Y[np.asarray(rows)]
    C = Y if cols is None else Y[np.asarray(cols)]
    return torch.cdist(torch.as_tensor(R), torch.as_tensor(C)).numpy()


def residual_variance(D, Y, rows=None, cols=None) -> float:
    """Isomap's residual variance ``1 − r²`` (Tenenbaum, de Silva & Langford, 2000): ``r`` is
    the Pearson correlation, over all pairs, between the distances ``D`` an embedding was made
    from and the embedding's own Euclidean distances.  0 when the layout reproduces the
    distances up to scale; near 0.3 when a graph that short-circuits a swiss roll's sheets asks
    for a fold no 2-D layout can draw.  Needs no ground truth.

    ``D`` holds the distances from the points ``rows`` (default: all) to the points ``cols``
    (default: all) — a row block of an all-pairs matrix, or the n × m distances to landmarks
    with ``cols`` the landmarks.  A point's pair with itself is left out.

    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(50, 2))
    >>> D = pairwise_distances(Y)
    >>> round(residual_variance(3.0 * D, Y), 12)      # same distances up to scale
    0.0
    >>> round(residual_variance(D[:, :5], Y, cols=np.arange(5)), 12)   # landmark block
    0.0
    >>> bool(residual_variance(D ** 0.5 + rng.random(D.shape), Y) > 0.05)
    True
    """
    D = D.detach().cpu().double().numpy() if isinstance(D, torch.Tensor) else np.asarray(D, dtype=np.float64)
    n = np.asarray(Y).shape[0]
    r_idx = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    c_idx = np.arange(n) if cols is None else np.asarray(cols, dtype=np.int64)
    if D.shape != (r_idx.size, c_idx.size):
        raise ValueError(f"D must be {r_idx.size} × {c_idx.size} (rows × cols), got {D.shape}")
    E = pairwise_distances(Y, rows=r_idx, cols=c_idx)
    keep = r_idx[:, None] != c_idx[None, :]
    a, b = D[keep], E[keep]
    if a.size < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    r = float(np.corrcoef(a, b)[0, 1])
    return 1.0 - r * r


#: pair ranges of :func:`distance_ratio_by_range`: name -> (lower, upper) quantile of the true distance
RANGES = {"short": (0.0, 0.05), "middle": (0.05, 0.5), "long": (0.5, 0.95), "farthest": (0.95, 1.0)}


def distance_ratio_by_range(D, T, self_index=None) -> dict:
    """The median of ``D/T`` over the pairs in each range of the true distance ``T``
    (:data:`RANGES`: the shortest 5 %, 5–50 %, 50–95 %, the longest 5 %; self pairs left out).

    1 in every range when ``D`` is the truth in the same units.  It sees what the log-log
    slope over the middle 60 % cannot: a constant factor (distances in the wrong units) and
    short pairs squeezed or stretched against the rest.

    >>> T = np.array([[0.0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]])
    >>> {k: round(v, 3) for k, v in distance_ratio_by_range(2 * T, T).items()}
    {'short': 2.0, 'middle': 2.0, 'long': 2.0, 'farthest': 2.0}
    """
    D, T = _pair(D, T)
    s = _self_index(D, self_index)
    d, t = _mask_self(D, s).ravel(), _mask_self(T, s).ravel()
    ok = (t > 0) & np.isfinite(t) & np.isfinite(d)
    d, t = d[ok], t[ok]
    if t.size == 0:
        raise ValueError("no pair with a positive true distance")
    out = {}
    for name, (lo, hi) in RANGES.items():
        a, b = np.quantile(t, [lo, hi])
        keep = (t >= a) & (t <= b)
        out[name] = float(np.median(d[keep] / t[keep]))
    return out


def distance_metrics(D, T, k: int = 10, self_index=None) -> dict:
    """Spearman, Pearson, P@k and log-log slope of a distance matrix against the ground truth."""
    return {
        "spearman": row_spearman(D, T, self_index),
        "pearson": row_pearson(D, T, self_index),
        f"p@{k}": knn_precision(D, T, k, self_index),
        "slope": loglog_slope(D, T, self_index),
    }


def embedding_metrics(Y, T, rows=None) -> dict:
    """Spearman, Pearson and log-log slope of an embedding's Euclidean distances (from
    ``rows``, default all, to every point) against the ground truth ``T`` (rows × n)."""
    E = pairwise_distances(Y, rows=rows)
    s = None if rows is None else np.asarray(rows, dtype=np.int64)
    return {"spearman": row_spearman(E, T, s), "pearson": row_pearson(E, T, s), "slope": loglog_slope(E, T, s)}


def axis_r2(Y, latent) -> np.ndarray:
    """For each true coordinate (column of ``latent``, shape (n, q)), the share of its variance
    that the best affine function of the embedding ``Y`` (n, k) explains: R² in [0, 1] (NaN
    for a constant axis, which has no variance to explain).

    Meaningful when ``latent`` holds isometric coordinates of a flat manifold
    (:attr:`~spectral_explorer.data.Dataset.flat_axes`): an embedding that keeps the shape
    is then an affine image of them and scores 1 on every axis, while one that has lost a
    direction scores ≈ 0 on it, however well its distances rank (row-mean ρ is dominated by the
    longest axis).  Affine, not a rigid or similarity fit, so every axis counts equally.

    >>> rng = np.random.default_rng(0)
    >>> U = rng.random((200, 2)) * [89.0, 21.0]          # a swiss roll's (arc length, height)
    >>> Y = U @ np.array([[0.0, 2.0], [-1.0, 0.5]]) + 3.0  # rotated, sheared, moved
    >>> np.round(axis_r2(Y, U), 6).tolist()
    [1.0, 1.0]
    >>> band = np.column_stack([U[:, 0], rng.normal(size=200)])   # the height is lost
    >>> r = axis_r2(band, U); bool(r[0] > 0.999 and r[1] < 0.1)
    True
    """
    Y = np.asarray(Y, dtype=np.float64)
    U = np.asarray(latent, dtype=np.float64)
    if Y.ndim != 2 or U.ndim != 2 or Y.shape[0] != U.shape[0]:
        raise ValueError(f"Y and latent must be 2-D with the same number of rows, got {Y.shape} and {U.shape}")
    for name, a in (("Y", Y), ("latent", U)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has {int((~np.isfinite(a)).sum())} non-finite value(s)")
    A = np.column_stack([Y, np.ones(Y.shape[0])])
    coef, *_ = np.linalg.lstsq(A, U, rcond=None)
    resid = ((U - A @ coef) ** 2).sum(axis=0)
    total = ((U - U.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - resid / total, np.nan)
    return np.clip(r2, 0.0, 1.0)
