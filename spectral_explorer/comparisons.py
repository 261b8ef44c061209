"""Comparison methods on the same graph as the heat-geodesic embedding.

Every method returns a :class:`MethodResult` with an n×n distance matrix and a 2-D (or
``n_components``-D) embedding, so tables and side-by-side views treat them alike.

* ``heat_geodesic``: the library default: its own kNN graph (knn 10) with calibrated metric
  conductances, two backward-Euler steps read with the screened Varadhan law (distances in the
  units of the data), classical MDS, and a heat-smoothed graph instead where that one folds
  (``denoise="auto"``)
* ``heat_paper``: the heat-geodesic paper's configuration (:meth:`HeatGeodesicEmbedding.paper`:
  alpha-decay graph, knn 10, Chebyshev order 30, the heat law, σ = 0, the paper's τ knee, metric
  MDS weighted by D⁻²)
* ``heat_affinity``: the same on the alpha-decay graph (knn 8, one Euler step, t = 10): heat counts
  hops; the default before the metric graph
* ``heat_rank_faithful``: the older default, √(−4t log (I + tL)^{−1}): right ranks, √d shape
* ``heat_denoised``: the heavy-noise option: coordinates heat-diffused for s = 3, a mutual
  alpha-decay graph on them, then the affinity graph's distances and MDS
* ``diffusion_map``: Euclidean distance between diffusion coordinates ``λ_k^τ ψ_k``
* ``phate``: PHATE-style potential distance ``‖log P^τ_i − log P^τ_j‖``
* ``shortest_path``: Dijkstra on the graph with Euclidean edge lengths (Isomap-like)
* ``isomap``: scikit-learn's Isomap (its own 10-NN graph); its geodesic distances
* ``umap``: umap-learn's UMAP of the points; distances between embedded points
* ``tsne``: scikit-learn's t-SNE of the points; distances between embedded points

The other graph-based methods share the alpha-decay graph ``W``; the heat estimators, Isomap,
UMAP and t-SNE build their own neighbourhoods from the points, as their users would run them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import dijkstra

from ._validation import check_choice, check_float, check_int, check_points
from .device import resolve_device
from .eigen import smallest_eigenpairs
from .graphs import alpha_decay_graph, check_connected, edge_lengths
from .heat_geodesic import AFFINITY, DENOISING, PAPER, RANK_FAITHFUL, HeatGeodesicEmbedding, heat_geodesic_distances
from .laplacian import degrees, laplacian
from .mds import classical_mds
from .metrics import pairwise_distances

__all__ = ["METHODS", "MethodResult", "run_method", "diffusion_map", "phate_potential_distances",
           "shortest_path_distances", "isomap", "umap_embedding", "tsne_embedding"]

METHODS = ("heat_geodesic", "heat_paper", "heat_affinity", "heat_rank_faithful", "heat_denoised", "diffusion_map",
           "phate", "shortest_path", "isomap", "umap", "tsne")
#: heat methods that run the estimator on a graph of their own
_HEAT_ESTIMATORS = ("heat_geodesic", "heat_paper", "heat_affinity", "heat_denoised")
#: diffusion-map and PHATE time (the former heat default, so their columns did not move)
PEER_TIME = 50.0


@dataclass
class MethodResult:
    """Distances (n×n) and embedding (n×k) of one method, with its wall time in seconds."""

    name: str
    distances: np.ndarray
    embedding: np.ndarray
    seconds: float
    info: dict = field(default_factory=dict)


def diffusion_map(W, tau: float = 1.0, n_evecs: int | None = None):
    """Diffusion coordinates ``λ_k^τ ψ_k`` (k ≥ 1) of the random walk ``P = D⁻¹W``.

    Computed from the symmetric matrix ``A = D^{-½} W D^{-½} = I − L_sym``:
    ``ψ = D^{-½} φ`` with φ its eigenvectors.  Returns ``(coords, evals)``.
    """
    n = W.shape[0]
    n_evecs = min(n - 2, 50) if n_evecs is None else check_int(n_evecs, "n_evecs", 1, n - 2)
    L = laplacian(W, "normalized")
    mu, phi = smallest_eigenpairs(L, n_evecs + 1)
    lam = 1.0 - mu
    psi = phi / np.sqrt(degrees(W))[:, None]
    psi = psi / np.linalg.norm(psi, axis=0, keepdims=True) * np.sqrt(n)
    return psi[:, 1:] * (np.abs(lam[1:]) ** tau), lam


def phate_potential_distances(W, tau: int = 20, eps: float = 1e-7, device=None) -> np.ndarray:
    """PHATE's potential distance: Euclidean distance between rows of ``−log(P^τ + ε)``."""
    tau = check_int(tau, "tau", 1)
    dev = resolve_device(device)
    d = degrees(W)
    P = torch.as_tensor((sp.diags(1.0 / d) @ W).toarray(), dtype=torch.float64, device=dev)
    Pt = torch.linalg.matrix_power(P, tau)
    U = -torch.log(Pt + eps)
    return torch.cdist(U, U).cpu().numpy()


def shortest_path_distances(W, X) -> np.ndarray:
    """All-pairs shortest paths over the graph's edges with Euclidean lengths."""
    D = dijkstra(edge_lengths(W, X), directed=False)
    if not np.isfinite(D).all():
        raise ValueError("the graph is disconnected: shortest-path distances are infinite; increase knn")
    return D


def isomap(X, n_components: int = 2, n_neighbors: int = 10):
    """scikit-learn's Isomap: returns ``(distances, embedding)``, its graph-geodesic distances
    (shortest paths on its own ``n_neighbors`` graph, which scikit-learn joins when it falls
    apart) and their classical-MDS embedding."""
    from sklearn.manifold import Isomap

    X = check_points(X)
    n_neighbors = check_int(n_neighbors, "n_neighbors", 1, X.shape[0] - 1)
    est = Isomap(n_neighbors=n_neighbors, n_components=n_components)
    Y = est.fit_transform(X)
    return est.dist_matrix_, Y


def umap_embedding(X, n_components: int = 2, n_neighbors: int = 15, seed: int = 0) -> np.ndarray:
    """umap-learn's UMAP with its defaults (15 neighbours, min_dist 0.1), seeded."""
    import umap

    X = check_points(X)
    # one job, said explicitly: a seeded UMAP runs single-threaded anyway (and warns when asked for more)
    return umap.UMAP(n_components=n_components, n_neighbors=min(n_neighbors, X.shape[0] - 1),
                     random_state=seed, n_jobs=1).fit_transform(X)


def tsne_embedding(X, n_components: int = 2, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """scikit-learn's t-SNE (Barnes–Hut for 2-D/3-D), PCA-initialised and seeded."""
    from sklearn.manifold import TSNE

    X = check_points(X)
    perplexity = min(check_float(perplexity, "perplexity", 1.0), (X.shape[0] - 1) / 3.0)
    return TSNE(n_components=n_components, perplexity=perplexity, init="pca", random_state=seed,
                learning_rate="auto").fit_transform(X)


def run_method(name: str, X, W=None, *, n_components: int = 2, knn: int = 8, decay: float = 40.0,
               t: float | None = None, sigma: float | None = None, heat_method: str | None = None,
               order: int | None = None, formula: str | None = None, tau_diffusion: float | None = None,
               tau_phate: int | None = None, seed: int = 0, device=None,
               denoise: float | str | None = None) -> MethodResult:
    """Run comparison method ``name`` (one of :data:`METHODS`) on points ``X``.

    ``W`` is the shared alpha-decay graph (built from ``knn``/``decay`` when ``None``) of
    ``heat_rank_faithful``, ``diffusion_map``, ``phate`` and ``shortest_path``.  The other heat
    methods are :class:`~spectral_explorer.HeatGeodesicEmbedding` (all pairs) building their own
    graph from ``X``, as a user would run them: ``heat_geodesic`` with the library defaults
    (the metric graph, ``denoise="auto"``), ``heat_paper`` with
    :data:`~spectral_explorer.heat_geodesic.PAPER` (the paper's configuration, its own knn 10),
    ``heat_affinity`` with
    :data:`~spectral_explorer.heat_geodesic.AFFINITY` (the alpha-decay graph, ``denoise="auto"``),
    ``heat_denoised`` with :data:`~spectral_explorer.heat_geodesic.DENOISING` (these two with
    the caller's ``knn`` and ``decay``: the same neighbourhood as ``W``).  ``t``,
    ``sigma``, ``heat_method``, ``order``, ``formula`` and ``denoise``, when given, override
    their settings; ``info`` holds the kernel diagnostics, the smoothing kept (``denoise``) and
    the residual variance.  ``heat_rank_faithful`` uses
    :data:`~spectral_explorer.heat_geodesic.RANK_FAITHFUL` on ``W``.  The diffusion-map and
    PHATE times default to :data:`PEER_TIME`.
    """
    tau_diffusion = PEER_TIME if tau_diffusion is None else tau_diffusion
    tau_phate = max(1, int(round(PEER_TIME))) if tau_phate is None else tau_phate
    check_choice(name, "name", METHODS)
    X = check_points(X, min_samples=3)
    start = time.perf_counter()
    if W is None and name not in ("tsne", "umap", "isomap") + _HEAT_ESTIMATORS:
        W = alpha_decay_graph(X, knn, decay)
        check_connected(W, f"the kNN graph (knn={knn})")
    info = {}
    if name in _HEAT_ESTIMATORS:
        preset = {"heat_geodesic": {}, "heat_paper": PAPER, "heat_affinity": AFFINITY, "heat_denoised": DENOISING}[name]
        given = dict(t=t, sigma=sigma, method=heat_method, order=order, formula=formula, denoise=denoise)
        if name not in ("heat_geodesic", "heat_paper"):   # the alpha-decay graphs: the caller's neighbourhood
            given.update(knn=knn, decay=decay)
        est = HeatGeodesicEmbedding(**{**preset, **{k: v for k, v in given.items() if v is not None}},
                                    n_components=n_components, landmarks=None, device=device)
        est.fit(X)
        D, Y = est.distances_, est.embedding_
        info = {**est.heat_info_, "denoise": est.denoise_, "residual_variance": est.residual_variance_}
    elif name == "heat_rank_faithful":
        rf = RANK_FAITHFUL
        D, info = heat_geodesic_distances(laplacian(W, "normalized"), rf["t"], rf["sigma"], rf["method"],
                                          rf["order"], device=device, return_info=True, formula=rf["formula"])
        Y = classical_mds(D, n_components, device=device)
    elif name == "diffusion_map":
        C, _ = diffusion_map(W, tau_diffusion)
        D = pairwise_distances(C)
        Y = C[:, :n_components]
    elif name == "phate":
        D = phate_potential_distances(W, tau_phate, device=device)
        Y = classical_mds(D, n_components, device=device)
    elif name == "shortest_path":
        D = shortest_path_distances(W, X)
        Y = classical_mds(D, n_components, device=device)
    elif name == "isomap":
        D, Y = isomap(X, n_components)
    elif name == "umap":
        Y = umap_embedding(X, n_components, seed=seed)
        D = pairwise_distances(Y)
    else:
        Y = tsne_embedding(X, n_components, seed=seed)
        D = pairwise_distances(Y)
    return MethodResult(name, D, Y, time.perf_counter() - start, info)
