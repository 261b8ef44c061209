"""Affinity graphs from point clouds: kNN and PHATE-style alpha-decay kernels.

All graphs are symmetric ``scipy.sparse.csr_matrix`` with a zero diagonal, built from a
real neighbour search (scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors

from ._validation import check_float, check_int, check_points

__all__ = ["knn_graph", "alpha_decay_graph", "check_connected", "edge_lengths"]


def _neighbors(X: np.ndarray, k: int):
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="auto").fit(X)
    dist, idx = nn.kneighbors(X)
    # The query point is its own first neighbour except for exact duplicates; drop self
    # explicitly rather than trusting the order.
    n = X.shape[0]
    rows = np.arange(n)[:, None]
    is_self = idx == rows
    has_self = is_self.any(axis=1)
    # rows where self is absent (duplicates): drop the last column instead
    keep = ~is_self
    keep[~has_self, -1] = False
    dist = dist[keep].reshape(n, k)
    idx = idx[keep].reshape(n, k)
    return dist, idx


def _symmetric(n: int, rows, cols, vals) -> sp.csr_matrix:
    W = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    W.sum_duplicates()
    W = (W + W.T) * 0.5
    W.setdiag(0)
    W.eliminate_zeros()
    return W.tocsr()


def knn_graph(X, knn: int = 8) -> sp.csr_matrix:
    """Unweighted symmetric kNN graph: ``W_ij = 1`` if j is among i's ``knn`` neighbours or
    vice versa (½ when only one direction holds).

    Examples
    --------
    >>> import numpy as np
    >>> W = knn_graph(np.arange(10.0)[:, None], knn=2)
    >>> W.shape, bool(abs(W - W.T).max() == 0)
    ((10, 10), True)
    """
    X = check_points(X)
    n = X.shape[0]
    knn = check_int(knn, "knn", 1, n - 1)
    _, idx = _neighbors(X, knn)
    rows = np.repeat(np.arange(n), knn)
    return _symmetric(n, rows, idx.ravel(), np.ones(n * knn))


def alpha_decay_graph(X, knn: int = 8, decay: float = 40.0, thresh: float = 1e-4,
                      search_factor: int = 3) -> sp.csr_matrix:
    """PHATE-style alpha-decay affinity graph.

    ``K(x_i, x_j) = exp(-(‖x_i − x_j‖ / σ_i)^decay)`` with the adaptive bandwidth
    ``σ_i`` = distance from ``x_i`` to its ``knn``-th nearest neighbour; entries below
    ``thresh`` are dropped and the kernel is symmetrized, ``W = (K + Kᵀ)/2``.  The
    neighbour search starts at ``search_factor·knn`` neighbours and widens until the kernel
    has decayed below ``thresh``, so its tail beyond the ``knn``-th neighbour is kept.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> W = alpha_decay_graph(X, knn=5)
    >>> bool(abs(W - W.T).max() < 1e-15), bool(W.diagonal().max() == 0)
    (True, True)
    """
    X = check_points(X)
    n = X.shape[0]
    knn = check_int(knn, "knn", 1, n - 1)
    decay = check_float(decay, "decay", 0.0, low_inclusive=False)
    thresh = check_float(thresh, "thresh", 0.0, 1.0)
    k_search = min(n - 1, max(knn, int(search_factor) * knn))
    while True:
        dist, idx = _neighbors(X, k_search)
        sigma = dist[:, knn - 1].copy()
        # duplicates can give a zero bandwidth; fall back to the smallest positive distance
        zero = sigma <= 0
        if zero.any():
            positive = dist[dist > 0]
            if positive.size == 0:
                raise ValueError("X has all points identical; no graph can be built")
            sigma[zero] = positive.min()
        with np.errstate(over="ignore", under="ignore"):
            K = np.exp(-np.power(dist / sigma[:, None], decay))
        # as PHATE does: widen the search until the kernel has fallen below thresh everywhere
        if k_search >= n - 1 or K[:, -1].max() < thresh:
            break
        k_search = min(n - 1, 2 * k_search)
    # always keep the knn nearest neighbours so the kNN structure survives the threshold
    K[:, :knn] = np.maximum(K[:, :knn], thresh)
    mask = K >= thresh
    rows = np.repeat(np.arange(n), k_search).reshape(n, k_search)[mask]
    return _symmetric(n, rows, idx[mask], K[mask])


def check_connected(W: sp.spmatrix, what: str = "the graph") -> None:
    """Raise ``ValueError`` when ``W`` has more than one connected component."""
    n_comp, labels = connected_components(W, directed=False)
    if n_comp > 1:
        sizes = np.bincount(labels)
        raise ValueError(
            f"{what} is disconnected: {n_comp} components (sizes {sorted(sizes.tolist(), reverse=True)[:5]}"
            f"{'...' if n_comp > 5 else ''}). Distances between components are undefined; increase knn, "
            "or embed each component separately."
        )


def edge_lengths(W: sp.spmatrix, X) -> sp.csr_matrix:
    """The graph's edges weighted by Euclidean length (for shortest paths)."""
    X = np.asarray(X, dtype=np.float64)
    C = sp.triu(W, k=1).tocoo()
    lengths = np.linalg.norm(X[C.row] - X[C.col], axis=1)
    lengths = np.maximum(lengths, 1e-12)
    E = sp.csr_matrix((lengths, (C.row, C.col)), shape=W.shape)
    return (E + E.T).tocsr()
