"""Graphs: affinity graphs from point clouds, and a catalogue of named graphs.

The affinity graphs (kNN and PHATE-style alpha-decay kernels) are symmetric
``scipy.sparse.csr_matrix`` with a zero diagonal, built from a real neighbour search
(scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`).

:data:`NAMED_GRAPHS` lists the small graphs the positional-encoding family shows: four real
social networks shipped with networkx and ten generators; :func:`named_graph` builds one
(a simple undirected :class:`networkx.Graph`) and :func:`named_graph_layout` gives it fixed
2-D node positions.  :func:`adjacency_from_graph` reads a user's graph (networkx, scipy sparse or
an edge index) into the same kind of adjacency, and :func:`spectral_layout` places a large graph
from eigenvectors already computed.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.special import gammaln, ive
from sklearn.neighbors import NearestNeighbors

from ._validation import check_float, check_int, check_points

__all__ = ["knn_graph", "alpha_decay_graph", "check_connected", "edge_lengths", "intrinsic_dimension", "metric_conductances",
           "screening_decay", "edge_profile", "decay_from_profile", "NAMED_GRAPHS",
           "MAX_NAMED_NODES", "NAMED_GRAPH_DEFAULTS", "named_graph", "named_graph_layout",
           "adjacency_from_graph", "spectral_layout", "SPRING_LAYOUT_MAX"]


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
                      search_factor: int = 3, mutual: bool = False) -> sp.csr_matrix:
    """PHATE-style alpha-decay affinity graph.

    ``K(x_i, x_j) = exp(-(‖x_i − x_j‖ / σ_i)^decay)`` with the adaptive bandwidth
    ``σ_i`` = distance from ``x_i`` to its ``knn``-th nearest neighbour; entries below
    ``thresh`` are dropped and the kernel is symmetrized, ``W = (K + Kᵀ)/2``.  The
    neighbour search starts at ``search_factor·knn`` neighbours and widens until the kernel
    has decayed below ``thresh``, so its tail beyond the ``knn``-th neighbour is kept.

    ``mutual=True`` symmetrizes with ``min(K, Kᵀ)`` instead: an edge survives only when each
    endpoint lies in the other's kernel support (a mutual-kNN graph).  An outlier pushed
    toward a neighbouring sheet of the manifold is often in the bandwidth of a point over
    there without the converse holding, so the mutual graph drops many such short-circuit
    edges.  Components it splits off are joined back by the shortest Euclidean
    minimum-spanning-tree edges between them, weighted as the ``(K + Kᵀ)/2`` graph would
    weight them (at least ``thresh``), so the graph stays connected whenever the kNN graph is.

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
    if not mutual:
        return _symmetric(n, rows, idx[mask], K[mask])
    A = sp.csr_matrix((K[mask], (rows, idx[mask])), shape=(n, n))
    A.sum_duplicates()
    W = A.minimum(A.T).tocsr()
    W.setdiag(0)
    W.eliminate_zeros()
    return _join_components(W, (A + A.T) * 0.5, dist, idx, thresh)


def _join_components(W: sp.csr_matrix, W_mean: sp.csr_matrix, dist, idx, thresh: float) -> sp.csr_matrix:
    """Join ``W``'s components by the minimum-spanning-tree edges (Euclidean lengths over the
    searched neighbours ``dist``/``idx``) that cross between them, weighted from ``W_mean``
    (at least ``thresh``)."""
    n_comp, labels = connected_components(W, directed=False)
    if n_comp == 1:
        return W
    n, k = idx.shape
    E = sp.csr_matrix((np.maximum(dist.ravel(), 1e-300), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    T = minimum_spanning_tree(E.maximum(E.T)).tocoo()
    cross = labels[T.row] != labels[T.col]
    r, c = T.row[cross], T.col[cross]
    w = np.maximum(np.asarray(W_mean[r, c]).ravel(), thresh)
    B = sp.csr_matrix((w, (r, c)), shape=(n, n))
    return (W + B + B.T).tocsr()


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


def intrinsic_dimension(X, knn: int = 10) -> float:
    """The dimension ``m̂`` over which the directions to a point's neighbours spread.

    For unit directions spread evenly over ``m`` dimensions, two independent ones make an
    angle with ``E[cos² θ] = 1/m``; so ``m̂ = 1 / mean cos² θ`` over all pairs of directions
    from a point to two of its ``knn`` nearest neighbours (pooled over the points).  A
    continuous estimate: noise that is a sizeable fraction of the neighbour distance, or
    a thin direction, counts for part of a dimension.  It is the quantity the metric graph's
    calibration needs (:func:`metric_conductances`): the share of the neighbours' second
    moment that falls on each direction.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> flat = np.column_stack([rng.random((1500, 2)), np.zeros(1500)])   # a square in 3-D
    >>> round(intrinsic_dimension(flat), 2), round(intrinsic_dimension(rng.random((1500, 3))), 2)  # cube: its faces
    (1.99, 2.95)
    """
    X = check_points(X)
    n = X.shape[0]
    knn = check_int(knn, "knn", 2, n - 1)
    dist, idx = _neighbors(X, knn)
    pairs = cos2 = 0.0
    step = max(1, (1 << 22) // (knn * X.shape[1]))      # points per chunk: V stays ≤ 32 MB
    for a in range(0, n, step):
        V = X[idx[a:a + step]] - X[a:a + step, None, :]
        norm = np.linalg.norm(V, axis=2)
        ok = norm > 0
        V = np.where(ok[..., None], V / np.where(ok, norm, 1.0)[..., None], 0.0)
        G = np.einsum("nid,njd->nij", V, V) ** 2        # cos² of every pair at each point
        k = ok.sum(axis=1).astype(np.float64)
        pairs += (k * (k - 1)).sum()
        cos2 += (G.sum(axis=(1, 2)) - k).sum()          # drop the pairs of a direction with itself
    if pairs <= 0 or not cos2 > 0:
        raise ValueError("the points have no two distinct neighbour directions; no dimension can be estimated")
    return float(pairs / cos2)


def metric_conductances(W: sp.spmatrix, X, dim: float | None = None, floor: float = 0.01,
                        knn: int = 10) -> tuple[sp.csr_matrix, float, float]:
    """The edges of ``W`` with *calibrated* metric conductances, ``(C, ℓ̄, m̂)``.

    ``c_ij = 2m̂ / ((ℓ_ij/ℓ̄)² · ½(deg_i + deg_j))`` — ``ℓ_ij`` the Euclidean length of the
    edge, ``ℓ̄`` the median edge length, ``deg`` the number of edges at a node and ``m̂`` the
    intrinsic dimension (:func:`intrinsic_dimension` on ``knn`` neighbours unless ``dim`` is
    given).  Why: the combinatorial Laplacian ``L = D − C`` acts on a smooth ``f`` as
    ``(Lf)_i ≈ −½ Σ_j c_ij (x_j − x_i)ᵀ ∇²f (x_j − x_i)``, and for neighbour directions spread
    evenly over ``m`` dimensions ``Σ_j c_ij (x_j − x_i)(x_j − x_i)ᵀ ≈ (Σ_j c_ij ℓ_ij²/m)·P``
    (``P`` the projector on the tangent space).  These conductances make every node's
    second moment ``Σ_j c_ij ℓ_ij² ≈ 2m̂·ℓ̄²``, so ``L ≈ −ℓ̄²Δ``: the Laplace–Beltrami operator
    in units of ``ℓ̄``, whatever ``knn`` and the dimension.  Plain conductances ``(ℓ̄/ℓ)²``
    give ``L ≈ (deg/2m)·(−ℓ̄²Δ)`` instead, and distances shrink by ``√(deg/2m)`` (0.55 on a
    clean roll at knn 10; it moves with knn).  Edges shorter than ``floor·ℓ̄`` (duplicated
    points) count as that long.

    >>> import numpy as np, scipy.sparse as sp
    >>> X = np.arange(6.0)[:, None] * 0.5                         # a chain with spacing 0.5
    >>> W = sp.diags([np.ones(5), np.ones(5)], [-1, 1]).tocsr()
    >>> C, lbar, m = metric_conductances(W, X, dim=1.0)
    >>> lbar, float(C[2, 3]), float(C[0, 1])   # interior: 2m̂/deg = 1 (L = −ℓ̄²d²/dx²); end: 2/1.5
    (0.5, 1.0, 1.3333333333333333)
    """
    E = edge_lengths(W, X)
    if E.nnz == 0:
        raise ValueError("the graph has no edges")
    lbar = float(np.median(E.data))
    if not lbar > 0:
        raise ValueError(f"the median edge length is {lbar}: the points are not distinct")
    if dim is None:
        dim = intrinsic_dimension(X, min(max(int(knn), 3), np.asarray(X).shape[0] - 1))
    dim = check_float(dim, "dim", 0.0, low_inclusive=False)
    E = E.tocoo()
    deg = np.bincount(E.row, minlength=E.shape[0]).astype(np.float64)
    rel = np.maximum(E.data, floor * lbar) / lbar
    c = 2.0 * dim / (rel * rel * 0.5 * (deg[E.row] + deg[E.col]))
    return sp.csr_matrix((c, (E.row, E.col)), shape=E.shape), lbar, dim


def _sphere_mean_cosh(x: np.ndarray, dim: float) -> np.ndarray:
    """``E_u cosh(x·u₁)`` for ``u`` uniform on the unit sphere of ``R^dim``:
    ``Γ(m/2)·(x/2)^{1−m/2}·I_{m/2−1}(x)`` (``cosh x`` for m = 1)."""
    x = np.maximum(np.asarray(x, dtype=np.float64), 1e-12)
    nu = 0.5 * dim - 1.0
    return np.exp(gammaln(0.5 * dim) + (1.0 - 0.5 * dim) * np.log(0.5 * x) + np.log(ive(nu, x)) + x)


def screening_decay(C: sp.spmatrix, X, s: float, dim: float, lbar: float = 1.0) -> float:
    """The decay rate ``μ`` of the graph resolvent ``(I + sL)^{-1}`` with ``L = D − C``: its
    entries fall like ``exp(−μ·r)`` with the distance ``r`` (in the units of ``X / lbar``).

    In the continuum (``L = −Δ``) ``μ = 1/√s``, and Varadhan's law reads ``√s·(−log R) → r``.
    On the graph a plane wave ``exp(−μ u·x)`` solves ``(I + sL)f = 0`` where
    ``s·Σ_j c_ij (cosh(μ u·(x_j − x_i)) − 1) = 1``; averaged over directions ``u`` spread
    evenly over ``dim`` dimensions and over the nodes, that fixes ``μ``.  Then ``√s·μ`` is the
    factor by which the screened law misreads the distance: below 1 for small ``s`` (the
    walk needs whole edges: on a chain with spacing ``h``, ``√s·arccosh(1 + h²/2s)/h``),
    → 1 for ``s ≫ ℓ̄²``.

    >>> import numpy as np, scipy.sparse as sp
    >>> X = np.arange(50.0)[:, None]                               # a chain, spacing 1
    >>> W = sp.diags([np.ones(49), np.ones(49)], [-1, 1]).tocsr()
    >>> C, lbar, m = metric_conductances(W, X, dim=1.0)
    >>> mu = screening_decay(C, X, 0.25, 1.0)
    >>> round(mu, 3), round(float(np.arccosh(1 + 1 / (2 * 0.25))), 3)   # the chain's exact rate (interior)
    (1.767, 1.763)
    """
    s = check_float(s, "s", 0.0, low_inclusive=False)
    return decay_from_profile(edge_profile(C, X, lbar), s, dim)


def edge_profile(C: sp.spmatrix, X, lbar: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`screening_decay` needs of a graph, independent of ``s``: the edges' lengths
    (in units of ``lbar``) and their conductances per node (``2c/n``), pooled into 512 length
    bins (the conductance-weighted mean length of each) when there are more edges."""
    T = sp.triu(C, k=1).tocoo()
    X = np.asarray(X, dtype=np.float64)
    length = np.linalg.norm(X[T.row] - X[T.col], axis=1) / lbar
    w = 2.0 * T.data / C.shape[0]
    if length.size > 512:
        edges = np.quantile(length, np.linspace(0.0, 1.0, 513))
        b = np.clip(np.searchsorted(edges, length, side="right") - 1, 0, 511)
        wsum = np.bincount(b, weights=w, minlength=512)
        keep = wsum > 0
        length = np.bincount(b, weights=w * length, minlength=512)[keep] / wsum[keep]
        w = wsum[keep]
    return length, w


def decay_from_profile(profile, s: float, dim: float) -> float:
    """:func:`screening_decay` from an :func:`edge_profile`: the root ``μ`` of
    ``Σ w (E cosh(μℓu₁) − 1) = 1/s``."""
    length, w = profile

    def excess(mu):
        return float(np.sum(w * (_sphere_mean_cosh(mu * length, dim) - 1.0))) - 1.0 / s

    hi = 1.0 / np.sqrt(s)
    while excess(hi) < 0:
        hi *= 2.0
    return float(brentq(excess, 1e-12, hi, xtol=1e-10, rtol=1e-8))


# ----------------------------------------------------------------------------- named graphs
#: graph name -> the parameters that shape it (the others are ignored for that graph)
NAMED_GRAPHS = {
    "karate_club": (),
    "les_miserables": (),
    "florentine_families": (),
    "davis_southern_women": (),
    "path": ("n",),
    "cycle": ("n",),
    "grid": ("rows", "n"),
    "ladder": ("n",),
    "hypercube": ("dim",),
    "balanced_tree": ("branching", "height"),
    "random_regular": ("n", "degree", "seed"),
    "erdos_renyi": ("n", "p", "seed"),
    "stochastic_block_model": ("n", "blocks", "p", "p_out", "seed"),
    "watts_strogatz": ("n", "degree", "rewire", "seed"),
}
#: largest graph :func:`named_graph` builds by default (a dense eigendecomposition per change)
MAX_NAMED_NODES = 500
#: values of the parameters not given to :func:`named_graph`
NAMED_GRAPH_DEFAULTS = {"n": 24, "rows": 6, "dim": 4, "branching": 2, "height": 4, "degree": 3, "p": 0.15,
                        "p_out": 0.02, "blocks": 3, "rewire": 0.1, "seed": 0}
_FLOAT_PARAMS = ("p", "p_out", "rewire")


def named_graph(name: str, max_nodes: int = MAX_NAMED_NODES, **params) -> nx.Graph:
    """Build the graph ``name`` of :data:`NAMED_GRAPHS` from its parameters.

    Parameters
    ----------
    name : str
        A key of :data:`NAMED_GRAPHS`.
    max_nodes : int, default :data:`MAX_NAMED_NODES`
        Largest number of nodes allowed (checked before building where the size is known).
    **params
        ``n`` (nodes of path, cycle, random regular, Erdős–Rényi, SBM, Watts–Strogatz; columns
        of the grid; rungs of the ladder), ``rows``, ``dim``, ``branching``, ``height``,
        ``degree`` (random regular degree; ring neighbours of Watts–Strogatz), ``p``
        (Erdős–Rényi; within-block SBM), ``p_out``, ``blocks``, ``rewire``, ``seed``.
        Parameters that ``name`` does not use are ignored; missing ones take
        :data:`NAMED_GRAPH_DEFAULTS`.

    Returns
    -------
    networkx.Graph
        A simple undirected graph with at least 3 and at most ``max_nodes`` nodes, in the
        generator's node order.

    Raises
    ------
    ValueError
        Unknown ``name``, out-of-range parameters, impossible combinations (e.g. a random
        regular graph with odd ``n·degree``) or too few / too many nodes.

    Examples
    --------
    >>> named_graph("grid", rows=3, n=4).number_of_nodes()
    12
    >>> named_graph("cycle", n=7, p=0.9).number_of_edges()   # p is not a cycle parameter
    7
    """
    if name not in NAMED_GRAPHS:
        raise ValueError(f"graph must be one of {', '.join(NAMED_GRAPHS)}; got {name!r}")
    unknown = sorted(set(params) - set(NAMED_GRAPH_DEFAULTS))
    if unknown:
        raise TypeError(f"named_graph got unknown parameter(s) {unknown}; allowed: "
                        f"{', '.join(NAMED_GRAPH_DEFAULTS)}")
    max_nodes = check_int(max_nodes, "max_nodes", 3)
    v = {}
    for key in NAMED_GRAPHS[name]:
        val = params.get(key, NAMED_GRAPH_DEFAULTS[key])
        if key in _FLOAT_PARAMS:
            v[key] = check_float(val, key, 0.0, 1.0)
        else:
            v[key] = check_int(val, key, 0 if key == "seed" else 1)
    n = v.get("n")
    too_many = f"the graph has {n} nodes; at most {max_nodes} are offered"
    if n is not None and name not in ("grid", "ladder") and n > max_nodes:
        raise ValueError(too_many)
    seed = v.get("seed")
    if name == "karate_club":
        G = nx.karate_club_graph()
    elif name == "les_miserables":
        G = nx.les_miserables_graph()
    elif name == "florentine_families":
        G = nx.florentine_families_graph()
    elif name == "davis_southern_women":
        G = nx.davis_southern_women_graph()
    elif name == "path":
        G = nx.path_graph(n)
    elif name == "cycle":
        G = nx.cycle_graph(n)
    elif name == "grid":
        rows = v["rows"]
        if rows * n > max_nodes:
            raise ValueError(f"the grid has rows·n = {rows}·{n} = {rows * n} nodes; at most "
                             f"{max_nodes} are offered (lower rows or n)")
        G = nx.grid_2d_graph(rows, n)
    elif name == "ladder":
        if 2 * n > max_nodes:
            raise ValueError(f"the ladder has 2·n = {2 * n} nodes; at most {max_nodes} are offered")
        G = nx.ladder_graph(n)
    elif name == "hypercube":
        d = v["dim"]
        if 2 ** d > max_nodes:
            raise ValueError(f"the hypercube of dim={d} has 2^dim = {2 ** d} nodes; at most {max_nodes} "
                             "are offered (lower dim)")
        G = nx.hypercube_graph(d)
    elif name == "balanced_tree":
        r, h = v["branching"], v["height"]
        size = h + 1 if r == 1 else (r ** (h + 1) - 1) // (r - 1)
        if size > max_nodes:
            raise ValueError(f"a balanced tree with branching={r} and height={h} has {size} nodes; at most "
                             f"{max_nodes} are offered (lower branching or height)")
        G = nx.balanced_tree(r, h)
    elif name == "random_regular":
        d = v["degree"]
        if d >= n or (n * d) % 2:
            raise ValueError(f"a random regular graph needs degree < n and n·degree even; got degree={d}, "
                             f"n={n} (n·degree = {n * d})")
        G = nx.random_regular_graph(d, n, seed=seed)
    elif name == "erdos_renyi":
        G = nx.gnp_random_graph(n, v["p"], seed=seed)
    elif name == "stochastic_block_model":
        b = v["blocks"]
        if b > n:
            raise ValueError(f"the SBM needs at least one node per block; got blocks={b} > n={n}")
        sizes = [n // b + (1 if i < n % b else 0) for i in range(b)]
        probs = [[v["p"] if i == j else v["p_out"] for j in range(b)] for i in range(b)]
        G = nx.stochastic_block_model(sizes, probs, seed=seed)
    else:  # watts_strogatz
        k = v["degree"]
        if k < 2 or k >= n:
            raise ValueError(f"Watts–Strogatz needs 2 ≤ degree (ring neighbours k) < n; got degree={k}, n={n}")
        G = nx.watts_strogatz_graph(n, k, v["rewire"], seed=seed)
    G = nx.Graph(G)  # drop multigraph / directed flavours, keep node order
    if G.number_of_nodes() < 3:
        raise ValueError(f"the graph needs at least 3 nodes, got {G.number_of_nodes()}")
    if G.number_of_nodes() > max_nodes:
        raise ValueError(f"the graph has {G.number_of_nodes()} nodes; at most {max_nodes} are offered")
    return G


def named_graph_layout(name: str, G: nx.Graph) -> np.ndarray:
    """Fixed 2-D node positions, shape ``(n, 2)`` in ``G.nodes`` order, for a graph of
    :func:`named_graph`: a circle for ``"cycle"``, the lattice coordinates for ``"grid"``,
    an arc for ``"path"``, otherwise a spring layout (seed 0, deterministic).

    >>> named_graph_layout("grid", named_graph("grid", rows=2, n=3))[:2].tolist()
    [[0.0, -0.0], [1.0, -0.0]]
    """
    nodes = list(G.nodes)
    if name == "cycle":
        P = nx.circular_layout(G)
    elif name == "grid":
        P = {v: (float(v[1]), -float(v[0])) for v in nodes}
    elif name == "path":
        t = np.linspace(-np.pi * 0.75, np.pi * 0.75, len(nodes))
        P = {v: (float(np.sin(t[i])), float(np.cos(t[i]))) for i, v in enumerate(nodes)}
    else:
        P = nx.spring_layout(G, seed=0, iterations=100 if len(nodes) <= 200 else 50)
    return np.array([P[v] for v in nodes], dtype=np.float64).reshape(len(nodes), 2)


# ---------------------------------------------------------------------- a user's graph
#: largest graph drawn with a spring layout; larger ones are placed by :func:`spectral_layout`
SPRING_LAYOUT_MAX = 500


def _edge_index_adjacency(E, max_nodes: int) -> sp.csr_matrix:
    if isinstance(E, np.ndarray):
        arr = E
    else:   # a torch tensor
        arr = E.detach().cpu().numpy()
    if arr.ndim != 2 or arr.shape[0] != 2:
        raise ValueError(f"an edge index must have shape (2, E) (row 0 sources, row 1 targets), got shape "
                         f"{tuple(arr.shape)}; a dense adjacency goes in as scipy.sparse.csr_matrix(A)")
    if arr.shape[1] == 0:
        raise ValueError("the edge index has no edges (shape (2, 0)); expected at least one edge")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"an edge index must hold integer node ids, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and (not np.isfinite(arr).all() or (arr != np.round(arr)).any()):
        raise ValueError("an edge index must hold integer node ids; found NaN, infinite or fractional values")
    if (arr < 0).any():
        raise ValueError(f"an edge index must hold non-negative node ids (0 … n−1); found {int(arr.min())}")
    ids = arr.astype(np.int64)
    n = int(ids.max()) + 1
    if n > max_nodes:
        raise ValueError(f"the edge index names node {n - 1:,}, so the graph has {n:,} nodes: over the limit of "
                         f"{max_nodes:,}")
    return sp.csr_matrix((np.ones(ids.shape[1]), (ids[0], ids[1])), shape=(n, n))


def adjacency_from_graph(G, weight: str | None = "weight", max_nodes: int | None = None,
                         max_edges: int | None = None) -> tuple[sp.csr_matrix, list[str]]:
    """A user's undirected graph as ``(A, labels)``: ``A`` a symmetric float64 CSR adjacency with a zero
    diagonal, ``labels`` the node names (``str``) in row order.

    Parameters
    ----------
    G : networkx.Graph, scipy sparse matrix, or edge index
        * a networkx graph (undirected): nodes of any kind, numbered ``0 … n−1`` in ``G.nodes`` order
          (insertion order — stable), their ``str`` kept as labels; edge attribute ``weight`` (None:
          every edge 1);
        * a square scipy sparse adjacency: weights kept; an asymmetric one is read as undirected,
          ``A ← max(A, Aᵀ)``;
        * an edge index: a ``(2, E)`` numpy array or torch tensor of non-negative integer node ids
          (``n = max id + 1``; an id in no edge is an isolated node), every edge weight 1.

        Self-loops are dropped (the Laplacian of the built-in graphs has none); an edge given in both
        directions is one edge.
    weight : str or None, default "weight"
        Edge attribute of a networkx graph holding the weights.
    max_nodes, max_edges : int, optional
        Limits (default :data:`spectral_explorer.uploads.MAX_NODES`, ``MAX_EDGES``).

    Raises
    ------
    ValueError
        No edges (or self-loops only), a non-square matrix, negative / NaN / infinite weights, an
        edge index of the wrong shape or with negative ids, a directed graph, too many nodes or edges.

    Examples
    --------
    >>> A, labels = adjacency_from_graph(nx.Graph([("a", "b"), ("b", "c")]))
    >>> A.toarray().tolist(), labels
    ([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], ['a', 'b', 'c'])
    >>> adjacency_from_graph(np.array([[0, 1, 2], [1, 2, 0]]))[0].nnz
    6
    """
    from .uploads import MAX_EDGES, MAX_NODES

    max_nodes = MAX_NODES if max_nodes is None else int(max_nodes)
    max_edges = MAX_EDGES if max_edges is None else int(max_edges)
    labels = None
    if isinstance(G, nx.Graph):
        if G.is_directed():
            raise ValueError(f"the graph must be undirected, got a directed networkx graph ({type(G).__name__}); "
                             "use G.to_undirected()")
        n = G.number_of_nodes()
        if n == 0:
            raise ValueError("the graph has no nodes")
        if n > max_nodes:
            raise ValueError(f"the graph has {n:,} nodes: over the limit of {max_nodes:,}")
        nodes = list(G.nodes)
        labels = [str(v) for v in nodes]
        try:
            A = nx.to_scipy_sparse_array(G, nodelist=nodes, weight=weight, dtype=np.float64, format="csr")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the edge attribute {weight!r} must hold numbers ({exc})") from None
        A = sp.csr_matrix(A)
    elif sp.issparse(G):
        if G.ndim != 2 or G.shape[0] != G.shape[1]:
            raise ValueError(f"the adjacency must be square (n, n), got shape {G.shape}")
        if G.dtype.kind not in "biuf":
            raise ValueError(f"the adjacency must be real-valued, got dtype {G.dtype}")
        if G.shape[0] > max_nodes:
            raise ValueError(f"the adjacency has {G.shape[0]:,} nodes: over the limit of {max_nodes:,}")
        A = sp.csr_matrix(G, dtype=np.float64)
    elif isinstance(G, np.ndarray) or type(G).__module__.startswith("torch"):
        A = _edge_index_adjacency(G, max_nodes)
        A.data[:] = 1.0   # repeated edges count once
    else:
        raise ValueError(f"expected a networkx graph, a scipy sparse adjacency or an edge index (2, E) as a numpy "
                         f"array or torch tensor; got {type(G).__name__}")
    n = A.shape[0]
    if n == 0:
        raise ValueError("the graph has no nodes")
    if A.nnz and not np.isfinite(A.data).all():
        raise ValueError("the adjacency contains NaN or infinite weights; expected finite weights ≥ 0")
    if A.nnz and (A.data < 0).any():
        raise ValueError(f"the adjacency has negative weights (as low as {float(A.data.min()):.3g}); "
                         "expected weights ≥ 0")
    A = A.maximum(A.T).tocsr()
    loops = A.diagonal().astype(bool).any()
    A.setdiag(0)
    A.eliminate_zeros()
    if A.nnz == 0:
        raise ValueError("the graph has no edges" + (" (only self-loops, which are dropped)" if loops else "")
                         + "; expected at least one edge between two different nodes")
    if A.nnz // 2 > max_edges:
        raise ValueError(f"the graph has {A.nnz // 2:,} edges: over the limit of {max_edges:,}")
    A.sort_indices()
    return A, labels if labels is not None else [str(i) for i in range(n)]


def spectral_layout(A, evals, evecs, tol: float = 1e-9) -> np.ndarray:
    """Fast 2-D positions ``(n, 2)`` for a large graph from eigenvectors already computed: the first two
    eigenvectors of the normalized Laplacian with ``λ > tol`` (the zero ones only mark components), each
    scaled by ``D^{-½}`` (the random walk's eigenvectors, as in Laplacian eigenmaps), the whole drawing
    scaled into ``[-1, 1]`` (as networkx's layouts).  Nodes of other components than the one those
    eigenvectors live on sit near the origin.

    >>> G = nx.cycle_graph(12)
    >>> A = nx.to_scipy_sparse_array(G, format="csr", dtype=float)
    >>> w, V = np.linalg.eigh(np.eye(12) - A.toarray() / 2)
    >>> r = np.linalg.norm(spectral_layout(A, w, V), axis=1)
    >>> bool(np.allclose(r, r[0])), bool(np.abs(spectral_layout(A, w, V)).max() == 1.0)   # a circle in [-1, 1]
    (True, True)
    """
    evals = np.asarray(evals, dtype=np.float64)
    V = np.asarray(evecs, dtype=np.float64)
    d = np.asarray(sp.csr_matrix(A).sum(axis=1)).ravel()
    scale = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    cols = [j for j in range(evals.size) if evals[j] > tol][:2]
    P = np.zeros((V.shape[0], 2))
    for c, j in enumerate(cols):
        P[:, c] = V[:, j] * scale
    m = float(np.abs(P).max())
    return P / m if m > 0 else P
