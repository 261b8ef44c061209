"""Comparison methods on the same graph as the heat-geodesic embedding.

Every method returns a :class:`MethodResult` with an n×n distance matrix and a 2-D (or
``n_components``-D) embedding, so tables and side-by-side views treat them alike.

``heat_geodesic``  heat-geodesic distances (backward Euler, Varadhan), classical MDS
``diffusion_map``  Euclidean distance between diffusion coordinates ``λ_k^τ ψ_k``
``phate``          PHATE-style potential distance ``‖log P^τ_i − log P^τ_j‖``
``shortest_path``  Dijkstra on the graph with Euclidean edge lengths (Isomap-like)
``tsne``           scikit-learn's t-SNE of the points; distances between embedded points
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
from .heat_geodesic import heat_geodesic_distances
from .laplacian import degrees, laplacian
from .mds import classical_mds
from .metrics import pairwise_distances

__all__ = ["METHODS", "MethodResult", "run_method", "diffusion_map", "phate_potential_distances",
           "shortest_path_distances", "tsne_embedding"]

METHODS = ("heat_geodesic", "diffusion_map", "phate", "shortest_path", "tsne")


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


def tsne_embedding(X, n_components: int = 2, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """scikit-learn's t-SNE (Barnes–Hut for 2-D/3-D), PCA-initialised and seeded."""
    from sklearn.manifold import TSNE

    X = check_points(X)
    perplexity = min(check_float(perplexity, "perplexity", 1.0), (X.shape[0] - 1) / 3.0)
    return TSNE(n_components=n_components, perplexity=perplexity, init="pca", random_state=seed,
                learning_rate="auto").fit_transform(X)


def run_method(name: str, X, W=None, *, n_components: int = 2, knn: int = 8, decay: float = 40.0,
               t: float = 50.0, sigma: float = 0.0, heat_method: str = "euler", order: int | None = None,
               tau_diffusion: float | None = None, tau_phate: int | None = None, seed: int = 0,
               device=None) -> MethodResult:
    """Run comparison method ``name`` (one of :data:`METHODS`) on points ``X``.

    ``W`` is the shared alpha-decay graph (built from ``knn``/``decay`` when ``None``).  The
    diffusion-map and PHATE times default to the heat time ``t`` (``P^τ`` and ``e^{−tL}``
    spread over comparable ranges), so the methods are compared at the same scale.
    """
    tau_diffusion = t if tau_diffusion is None else tau_diffusion
    tau_phate = max(1, int(round(t))) if tau_phate is None else tau_phate
    check_choice(name, "name", METHODS)
    X = check_points(X, min_samples=3)
    start = time.perf_counter()
    if W is None and name != "tsne":
        W = alpha_decay_graph(X, knn, decay)
        check_connected(W, f"the kNN graph (knn={knn})")
    info = {}
    if name == "heat_geodesic":
        D, info = heat_geodesic_distances(laplacian(W, "normalized"), t, sigma, heat_method, order,
                                          device=device, return_info=True)
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
    else:
        Y = tsne_embedding(X, n_components, seed=seed)
        D = pairwise_distances(Y)
    return MethodResult(name, D, Y, time.perf_counter() - start, info)
