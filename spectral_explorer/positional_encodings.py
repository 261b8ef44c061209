"""Positional encodings for graphs: LapPE, RWPE, sinusoidal, eigenspace projectors, stability.

Laplacian positional encodings (LapPE) feed a graph neural network the first few
eigenvectors of the symmetric normalized Laplacian ``L = I − D^{-½} A D^{-½}``.  They are
*ambiguous*: each eigenvector is defined only up to sign, and inside a repeated eigenvalue
only the eigenspace is defined (any rotation of a basis is as good).  They are also
*unstable*: when two eigenvalues are close a tiny change of the graph rotates the
eigenvectors by a large angle.  Huang et al. ("On the Stability of Expressive Positional
Encodings for Graphs", ICLR 2024) measure this and propose SPE, which weighs eigenvectors
by smooth functions of the eigenvalues.  RWPE is such a weighting with a fixed function:
its return probabilities are ``Σ_j (1 − λ_j)^t v_j(i)²`` (see :func:`random_walk_pe`).
This module provides the building blocks to see all of that:

* :func:`as_adjacency`: networkx / scipy / numpy / torch graph → dense float64 tensor
* :func:`laplacian_pe`: first ``k`` non-trivial eigenvectors, deterministic signs
* :func:`laplacian_pe_eig`: the same, with their eigenvalues
* :func:`random_walk_pe`: ``diag((D^{-1}A)^j)``, ``j = 1..K`` (RWPE) = ``Σ (1 − λ)^j v²``
* :func:`sinusoidal_pe`: Transformer sinusoidal encodings
* :func:`cycle_graph_eigvecs`: Laplacian eigenpairs of the cycle ``C_n``
* :func:`sinusoidal_cycle_coefficients`: sinusoids as exact combinations of cycle eigenvectors
* :func:`sinusoid_cycle_comparison`: those and the Transformer encoding against span(V)
* :func:`eigenspace_projectors`: hard grouping of eigenvalues → projectors ``Σ v vᵀ``
* :func:`signnet_features`: sign-invariant ``f(v) + f(−v)``
* :func:`batched_laplacian_eig`: one dense batched ``eigh`` for many small graphs
* :func:`batched_laplacian_pe`: LapPE for many graphs at once (padded)
* :func:`batched_random_walk_pe`: RWPE for many graphs at once (batched matrix powers)
* :func:`pe_stability`: ‖ΔPE‖_F / ‖ΔL‖_F for raw eigenvectors, projectors, SPE
* :func:`laplacian_eigenpairs`: every eigenpair (dense) or, above ``FULL_SPECTRUM_MAX`` nodes, the
  first ones (sparse)
* :func:`sparse_normalized_laplacian`: the same ``L`` as a scipy sparse matrix

Conventions
-----------
* Isolated nodes (zero degree) follow Chung's definition of the normalized Laplacian
  (also networkx's): their row and column of ``L`` are zero, so every connected component,
  isolated nodes included, contributes one zero eigenvalue.  Their random-walk return
  probabilities are defined as 0 (the walk cannot move; PyG's convention).
* Eigenvector signs are fixed so that the entry of largest magnitude is positive
  (:func:`spectral_explorer.eigen.fix_signs`), so displays do not flicker and batched and
  per-graph computations agree.
* Computations run on ``device`` (default: :func:`spectral_explorer.device.default_device`,
  or the device of a tensor input) in float64 on the CPU and float32 on accelerators unless
  ``dtype`` is given.
"""

from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch

from ._validation import check_bool, check_choice, check_float, check_int, check_symmetric
from .device import default_dtype, resolve_device
from .eigen import fix_signs
from .progress import checkpoint

__all__ = [
    "as_adjacency",
    "normalized_laplacian",
    "laplacian_pe",
    "laplacian_pe_eig",
    "random_walk_pe",
    "sinusoidal_pe",
    "cycle_graph_eigvecs",
    "sinusoidal_cycle_coefficients",
    "sinusoid_cycle_comparison",
    "eigenspace_projectors",
    "signnet_features",
    "batched_laplacian_eig",
    "batched_laplacian_pe",
    "pe_stability_curve",
    "batched_random_walk_pe",
    "pe_stability",
    "PAD_EIGENVALUE",
    "laplacian_eigenpairs",
    "sparse_normalized_laplacian",
    "FULL_SPECTRUM_MAX",
    "PARTIAL_K",
]

#: Eigenvalue reported for padding entries by the batched functions.  Real eigenvalues of a
#: normalized Laplacian lie in ``[0, 2]`` (they are clamped there), so padding sorts last.
PAD_EIGENVALUE = 2.0
# Diagonal given to padding nodes inside the batched eigensolver: strictly above the
# spectrum [0, 2], so padding never shares an eigenspace with a real node.
_PAD_DIAGONAL = 3.0
_SYM_RTOL = 1e-10
# below this many nodes the per-graph functions run single-threaded (see _single_threaded)
_SMALL = 256
#: largest graph whose whole spectrum :func:`laplacian_eigenpairs` computes (a dense ``eigh``); a sparse
#: graph above it gets its first eigenpairs from ARPACK, and a sparse one's RWPE sparse matrix products
FULL_SPECTRUM_MAX = 1000
#: eigenpairs :func:`laplacian_eigenpairs` computes above ``FULL_SPECTRUM_MAX`` nodes by default (ARPACK's
#: cost grows fast with it on graphs whose small eigenvalues cluster, e.g. random geometric graphs)
PARTIAL_K = 32


# ----------------------------------------------------------------------------- inputs
def _tensor_from_any(graph, name: str) -> torch.Tensor:
    """Dense float64 tensor from a networkx graph / sparse / array / tensor (no checks yet)."""
    if isinstance(graph, nx.Graph):
        if graph.is_directed():
            raise ValueError(f"{name} must be an undirected graph, got a directed networkx graph "
                             f"({type(graph).__name__}); use graph.to_undirected()")
        return torch.as_tensor(nx.to_numpy_array(graph, weight="weight", dtype=np.float64))
    if sp.issparse(graph):
        return torch.as_tensor(graph.toarray()).to(torch.float64)
    if isinstance(graph, torch.Tensor):
        if graph.is_complex():
            raise TypeError(f"{name} must be a real-valued adjacency matrix, got a complex tensor")
        return graph.detach().to(torch.float64)
    if isinstance(graph, (np.ndarray, list, tuple)):
        arr = np.asarray(graph)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be a numeric adjacency matrix, got an array of dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real-valued adjacency matrix, got a complex array")
        return torch.as_tensor(arr.astype(np.float64))
    raise TypeError(
        f"{name} must be a networkx graph, a scipy sparse matrix, a numpy array or a torch tensor; "
        f"got {type(graph).__name__}"
    )


def _check_adjacency_values(A: torch.Tensor, name: str) -> torch.Tensor:
    """Finite, non-negative, symmetric (…, n, n) check; returns the exactly symmetrized matrix."""
    if A.numel() == 0:
        return A
    if not bool(torch.isfinite(A).all()):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if bool((A < 0).any()):
        raise ValueError(f"{name} must have non-negative edge weights; found entries as low as {float(A.min()):.3g}")
    return check_symmetric(A, name, tol=_SYM_RTOL, why=" (an undirected graph)",
                           hint=". Symmetrize it first, e.g. (A + A.T) / 2")


def as_adjacency(graph) -> torch.Tensor:
    """The weighted adjacency matrix of ``graph`` as a dense float64 tensor.

    Parameters
    ----------
    graph : networkx.Graph, scipy sparse matrix, numpy array or torch tensor
        An undirected graph: a networkx graph (edge attribute ``"weight"``, default 1;
        nodes in ``graph.nodes`` order), or a square, symmetric, non-negative, finite
        matrix.  A tensor keeps its device; everything else lands on the CPU.

    Returns
    -------
    torch.Tensor
        ``(n, n)`` float64, exactly symmetric.

    Raises
    ------
    TypeError
        For unsupported types, complex or non-numeric entries.
    ValueError
        For non-square, empty, directed, asymmetric, negative or non-finite input.

    Examples
    --------
    >>> import networkx as nx
    >>> as_adjacency(nx.path_graph(3))
    tensor([[0., 1., 0.],
            [1., 0., 1.],
            [0., 1., 0.]], dtype=torch.float64)
    """
    A = _tensor_from_any(graph, "graph")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"graph must be a square (n, n) adjacency matrix, got shape {tuple(A.shape)}")
    if A.shape[0] == 0:
        raise ValueError("graph must have at least one node, got an empty (0, 0) matrix")
    return _check_adjacency_values(A, "graph")


def _device_dtype(device, dtype, like: torch.Tensor | None = None):
    if device is None and like is not None:
        dev = like.device
    else:
        dev = resolve_device(device)
    return dev, default_dtype(dev, dtype)


def normalized_laplacian(A: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric normalized Laplacian ``I − D^{-½} A D^{-½}`` of (a batch of) dense adjacency.

    Parameters
    ----------
    A : torch.Tensor
        ``(..., n, n)`` symmetric non-negative adjacency (not re-validated here; use
        :func:`as_adjacency` for raw input).
    mask : torch.Tensor, optional
        ``(..., n)`` bool, ``True`` for real nodes.  Padding nodes get all-zero
        off-diagonal entries and a diagonal of 3 (above the spectrum ``[0, 2]``), so their
        eigenpairs never mix with the real ones and sort last.

    Returns
    -------
    torch.Tensor
        ``(..., n, n)``; isolated nodes have a zero row/column (Chung's convention).
    """
    if mask is not None:
        m = mask.to(A.dtype)
        A = A * m[..., :, None] * m[..., None, :]
    deg = A.sum(-1)
    has = deg > 0
    dinv = torch.where(has, deg.clamp_min(torch.finfo(A.dtype).tiny).rsqrt(), torch.zeros_like(deg))
    L = -(dinv[..., :, None] * A * dinv[..., None, :])
    diag = has.to(A.dtype)
    if mask is not None:
        diag = torch.where(mask, diag, torch.full_like(diag, _PAD_DIAGONAL))
    L.diagonal(dim1=-2, dim2=-1).add_(diag)
    return L


# ----------------------------------------------------------------------------- LapPE (one graph)
def _random_signs(shape, generator, device, dtype):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    gen_dev = generator.device if generator is not None else torch.device("cpu")
    s = torch.randint(0, 2, shape, generator=generator, device=gen_dev)
    return (2 * s - 1).to(device=device, dtype=dtype)


def laplacian_pe_eig(graph, k: int, *, sign_flip: bool = False, generator: torch.Generator | None = None,
                     device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvectors behind :func:`laplacian_pe`.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`as_adjacency` accepts.
    k : int
        Number of non-trivial eigenvectors, ``k >= 1``.
    sign_flip : bool, default False
        Multiply each eigenvector by an independent random sign (training augmentation
        for sign-ambiguous LapPE).  With ``False`` the signs are deterministic (largest-
        magnitude entry positive).
    generator : torch.Generator, optional
        Random source for ``sign_flip``.
    device, dtype : optional
        Where and in which precision to compute (see the module docstring).

    Returns
    -------
    evals : torch.Tensor
        ``(k,)`` eigenvalues ``λ_1 ≤ … ≤ λ_k`` (index 0, the trivial one, skipped),
        clamped to ``[0, 2]``; entries beyond ``n - 1`` are :data:`PAD_EIGENVALUE`.
    evecs : torch.Tensor
        ``(n, k)`` orthonormal columns; columns beyond ``n - 1`` are zero (graphs with fewer
        than ``k + 1`` nodes are zero-padded, as in PyG).
    """
    k = check_int(k, "k", 1)
    check_bool(sign_flip, "sign_flip")
    A = as_adjacency(graph)
    dev, dt = _device_dtype(device, dtype, A if isinstance(graph, torch.Tensor) else None)
    A = A.to(device=dev, dtype=dt)
    n = A.shape[0]
    with _single_threaded(dev, n <= _SMALL):
        w, V = torch.linalg.eigh(normalized_laplacian(A))
    m = min(k, n - 1)
    evals = torch.full((k,), PAD_EIGENVALUE, dtype=dt, device=dev)
    evecs = torch.zeros((n, k), dtype=dt, device=dev)
    if m > 0:
        evals[:m] = w[1:m + 1].clamp(0.0, 2.0)
        evecs[:, :m] = fix_signs(V[:, 1:m + 1])
    if sign_flip:
        evecs = evecs * _random_signs((1, k), generator, dev, dt)
    return evals, evecs


def laplacian_pe(graph, k: int, *, sign_flip: bool = False, generator: torch.Generator | None = None,
                 device=None, dtype=None) -> torch.Tensor:
    """Laplacian positional encoding: the ``k`` eigenvectors after the trivial one.

    Eigenvectors of the symmetric normalized Laplacian for the smallest eigenvalues,
    skipping index 0, with deterministic signs (largest-magnitude entry positive).

    Parameters
    ----------
    graph : graph-like
        Anything :func:`as_adjacency` accepts.
    k : int
        Number of eigenvectors, ``k >= 1``.  Graphs with fewer than ``k + 1`` nodes get
        zero columns.
    sign_flip : bool, default False
        Random ±1 per column (augmentation); see :func:`laplacian_pe_eig`.
    generator : torch.Generator, optional
        Random source for ``sign_flip``.
    device, dtype : optional
        Where and in which precision to compute.

    Returns
    -------
    torch.Tensor
        ``(n, k)``.

    Examples
    --------
    >>> import networkx as nx
    >>> pe = laplacian_pe(nx.path_graph(5), 2)
    >>> pe.shape
    torch.Size([5, 2])
    >>> bool(pe[0, 0] > 0)  # both ends tie for the largest magnitude: the first one is made positive
    True
    """
    return laplacian_pe_eig(graph, k, sign_flip=sign_flip, generator=generator, device=device, dtype=dtype)[1]


# ----------------------------------------------------------------------------- RWPE (one graph)
def random_walk_pe(graph, K: int, *, device=None, dtype=None, progress=None, cancel=None) -> torch.Tensor:
    """Random-walk positional encoding: return probabilities ``diag((D^{-1}A)^j)``, ``j = 1..K``.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`as_adjacency` accepts.
    K : int
        Number of walk lengths, ``K >= 1``.
    device, dtype : optional
        Where and in which precision to compute.
    progress, cancel : optional
        For a scipy sparse graph of more than :data:`FULL_SPECTRUM_MAX` nodes, which is computed with
        sparse matrix products on the CPU (exact; block by block of nodes, never a dense ``n × n``):
        ``progress(fraction, text)`` and a cooperative ``cancel`` (:mod:`spectral_explorer.progress`).

    Returns
    -------
    torch.Tensor
        ``(n, K)``; column ``j - 1`` is the probability that a ``j``-step random walk
        started at a node is back there.  Isolated nodes get 0 (the walk has no step to
        take; ``D^{-1}`` is taken as 0 there), never NaN.

    Notes
    -----
    **Spectral form.**  ``D^{-1}A = D^{-½} S D^{½}`` with ``S = D^{-½} A D^{-½}``, so
    ``(D^{-1}A)^t`` and ``S^t`` have the same diagonal.  ``S`` and ``I − L`` (``L`` the
    symmetric normalized Laplacian, eigenpairs ``(λ_j, v_j)``) differ only on the diagonal of
    isolated nodes, each its own component, so at every node ``i`` of positive degree::

        RWPE_t(i) = Σ_j (1 − λ_j)^t v_j(i)² = [V diag(φ_t(λ)) Vᵀ]_ii   with φ_t(λ) = (1 − λ)^t:

    the diagonal of an SPE-style spectral matrix with a *fixed* φ.  It depends on the
    eigenspaces only, so RWPE has no sign or basis ambiguity, and it is stable: φ_t is
    ``t``-Lipschitz on ``[0, 2]``, so on graphs without isolated nodes column ``t`` moves by
    at most ``t·‖ΔL‖_F`` (for symmetric matrices ‖f(L') − f(L)‖_F ≤ Lip(f)·‖L' − L‖_F).  At an
    isolated node the sum gives 1 (its own eigenvector, λ = 0) where RWPE is 0 by convention.
    ``tests/test_positional_encodings.py`` checks both statements on random graphs.

    Examples
    --------
    >>> import networkx as nx
    >>> random_walk_pe(nx.cycle_graph(4), 4)[0]
    tensor([0.0000, 0.5000, 0.0000, 0.5000], dtype=torch.float64)
    >>> w, V = torch.linalg.eigh(normalized_laplacian(as_adjacency(nx.path_graph(5))))
    >>> spectral = torch.stack([((1 - w) ** t * V ** 2).sum(1) for t in (1, 2, 3, 4)], 1)
    >>> bool(torch.allclose(spectral, random_walk_pe(nx.path_graph(5), 4), atol=1e-12))
    True
    """
    K = check_int(K, "K", 1)
    if sp.issparse(graph) and graph.shape[0] > FULL_SPECTRUM_MAX:
        dev, dt = _device_dtype(device, dtype)
        return torch.as_tensor(_sparse_rwpe(_sparse_adjacency(graph), K, progress, cancel)).to(device=dev, dtype=dt)
    A = as_adjacency(graph)
    dev, dt = _device_dtype(device, dtype, A if isinstance(graph, torch.Tensor) else None)
    A = A.to(device=dev, dtype=dt)
    deg = A.sum(1)
    dinv = torch.where(deg > 0, 1.0 / deg.clamp_min(torch.finfo(dt).tiny), torch.zeros_like(deg))
    P = dinv[:, None] * A
    out = torch.empty((A.shape[0], K), dtype=dt, device=dev)
    with _single_threaded(dev, A.shape[0] <= _SMALL):
        M = P
        for j in range(K):
            out[:, j] = M.diagonal()
            if j + 1 < K:
                M = M @ P
    return out


def _sparse_adjacency(graph) -> sp.csr_matrix:
    """A scipy sparse graph as a checked float64 CSR adjacency (square, finite, ≥ 0, symmetric)."""
    A = sp.csr_matrix(graph, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"graph must be a square (n, n) adjacency matrix, got shape {A.shape}")
    if A.nnz and not np.isfinite(A.data).all():
        raise ValueError("graph contains NaN or infinite entries")
    if A.nnz and (A.data < 0).any():
        raise ValueError(f"graph must have non-negative edge weights; found entries as low as {A.data.min():.3g}")
    asym = abs(A - A.T)
    if asym.nnz and asym.max() > _SYM_RTOL * max(1.0, abs(A).max()):
        raise ValueError("graph must be symmetric (an undirected graph). Symmetrize it first, e.g. A.maximum(A.T)")
    return A


def _sym_scaled(A: sp.csr_matrix):
    """``S = D^{-½} A D^{-½}`` (0 at isolated nodes) and the mask of nodes with an edge."""
    d = np.asarray(A.sum(axis=1)).ravel()
    has = d > 0
    s = np.where(has, 1.0 / np.sqrt(np.where(has, d, 1.0)), 0.0)
    return (sp.diags(s) @ A @ sp.diags(s)).tocsr(), has


def sparse_normalized_laplacian(graph) -> sp.csr_matrix:
    """The symmetric normalized Laplacian ``I − D^{-½} A D^{-½}`` of a scipy sparse adjacency, as CSR,
    with :func:`normalized_laplacian`'s convention (an isolated node has a zero row and column).

    >>> import networkx as nx
    >>> L = sparse_normalized_laplacian(nx.to_scipy_sparse_array(nx.path_graph(3), format="csr"))
    >>> bool(np.allclose(L.toarray(), normalized_laplacian(as_adjacency(nx.path_graph(3))).numpy()))
    True
    """
    S, has = _sym_scaled(_sparse_adjacency(graph))
    return (sp.diags(has.astype(np.float64)) - S).tocsr()


def _sparse_rwpe(A: sp.csr_matrix, K: int, progress=None, cancel=None) -> np.ndarray:
    """RWPE of a sparse graph: ``diag(S^j)`` block by block of nodes (``S`` symmetric), the walks longer
    than ``h = ceil(K/2)`` from ``diag(S^{h+c})_i = Σ_l S^h_{li} S^c_{li}``."""
    S, _ = _sym_scaled(A)
    n, h = A.shape[0], (K + 1) // 2
    block = max(1, min(n, (1 << 24) // (n * h)))    # h blocks of n × block floats: ≤ 128 MB
    out = np.zeros((n, K))
    for start in range(0, n, block):
        checkpoint(cancel, progress, start / n, f"RWPE: nodes {start:,}/{n:,}")
        idx = np.arange(start, min(n, start + block))
        X = np.zeros((n, idx.size))
        X[idx, np.arange(idx.size)] = 1.0
        powers = []
        for _ in range(h):
            X = S @ X
            powers.append(X)
        for j in range(h):
            out[idx, j] = powers[j][idx, np.arange(idx.size)]
        for c in range(1, K - h + 1):
            out[idx, h + c - 1] = (powers[h - 1] * powers[c - 1]).sum(0)
    return out


def laplacian_eigenpairs(graph, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the symmetric normalized Laplacian, ascending, as float64 numpy arrays: the
    eigenvalues clamped to ``[0, 2]``, the eigenvectors with fixed signs (largest-magnitude entry
    positive; :func:`~spectral_explorer.eigen.fix_signs`).

    Up to :data:`FULL_SPECTRUM_MAX` nodes (or any dense input) all ``n`` eigenpairs by a dense ``eigh`` —
    the computation of :func:`batched_laplacian_eig` — then the first ``k`` if given.  A scipy sparse graph
    of more nodes gets its ``k`` smallest (default :data:`PARTIAL_K`) from ARPACK in shift-invert mode
    (as :func:`~spectral_explorer.eigen.smallest_eigenpairs`, with a symmetric fill-reducing LU): a few more are computed and a repeated
    eigenvalue straddling the cut is dropped whole (a group of eigenvalues within 1e-6), so every
    eigenspace returned is complete — unless the first cluster alone has more than ``k``.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`as_adjacency` accepts, or a scipy sparse adjacency of any size.
    k : int, optional
        Number of eigenpairs (``1 ≤ k``; default all for the dense path, :data:`PARTIAL_K` above).

    Examples
    --------
    >>> import networkx as nx
    >>> w, V = laplacian_eigenpairs(nx.cycle_graph(6))
    >>> [round(float(x), 6) + 0.0 for x in w]
    [0.0, 0.5, 0.5, 1.5, 1.5, 2.0]
    """
    if k is not None:
        k = check_int(k, "k", 1)
    if not (sp.issparse(graph) and graph.shape[0] > FULL_SPECTRUM_MAX):
        A = as_adjacency(graph).cpu()
        evals, evecs, _ = batched_laplacian_eig([A], device="cpu", dtype=torch.float64)
        w, V = evals[0].numpy().copy(), evecs[0].numpy().copy()
        return (w, V) if k is None else (w[:k].copy(), V[:, :k].copy())
    import scipy.sparse.linalg as spla

    from .eigen import eigenvalue_groups

    A = _sparse_adjacency(graph)
    n = A.shape[0]
    k = PARTIAL_K if k is None else k
    if k > n - 2:
        raise ValueError(f"k must be ≤ n − 2 = {n - 2} for the sparse solver, got {k}")
    m = min(k + 8, n - 2)
    L = sparse_normalized_laplacian(A)
    # ARPACK in shift-invert mode just below 0, with a fill-reducing symmetric ordering of the sparse LU
    # (the default column ordering fills in hub-heavy graphs, e.g. Barabási–Albert: 10x the time)
    shift = -2e-3
    lu = spla.splu((L - shift * sp.identity(n, format="csr")).tocsc(), permc_spec="MMD_AT_PLUS_A",
                   options=dict(SymmetricMode=True))
    op = spla.LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
    w, V = spla.eigsh(L, k=m, sigma=shift, which="LM", v0=np.full(n, 1.0 / np.sqrt(n)), OPinv=op)
    order = np.argsort(w)
    w, V = w[order], fix_signs(V[:, order])
    ends = [b for _, b in eigenvalue_groups(w, 1e-6) if b <= k]
    keep = ends[-1] if ends else k
    return np.clip(w[:keep], 0.0, 2.0), np.ascontiguousarray(V[:, :keep])


# ----------------------------------------------------------------------------- sinusoids and cycles
def sinusoidal_pe(n: int, d: int, *, base: float = 10000.0, frequencies=None, device=None,
                  dtype=None) -> torch.Tensor:
    """Transformer sinusoidal position encodings (Vaswani et al., 2017).

    ``PE[t, 2i] = sin(ω_i t)``, ``PE[t, 2i+1] = cos(ω_i t)`` for positions ``t = 0..n-1``,
    with ``ω_i = base^{-2i/d}`` or the given ``frequencies``.

    Parameters
    ----------
    n : int
        Number of positions, ``n >= 1``.
    d : int
        Number of channels, ``d >= 1`` (an odd ``d`` ends with a lone sine channel).
    base : float, default 10000
        Base of the geometric frequency ladder, ``> 1``.
    frequencies : array-like, optional
        ``ceil(d / 2)`` angular frequencies to use instead of the geometric ladder; with
        ``2πm/n``, ``m = 1..d/2``, the channels are the cycle graph's Laplacian
        eigenvectors (see :func:`sinusoidal_cycle_coefficients`).
    device, dtype : optional
        Where and in which precision to compute.

    Returns
    -------
    torch.Tensor
        ``(n, d)``.
    """
    n = check_int(n, "n", 1)
    d = check_int(d, "d", 1)
    dev, dt = _device_dtype(device, dtype)
    half = (d + 1) // 2
    if frequencies is None:
        base = check_float(base, "base", 1.0, low_inclusive=False)
        omega = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / d)
    else:
        omega = torch.as_tensor(np.asarray(frequencies, dtype=np.float64))
        if omega.shape != (half,):
            raise ValueError(f"frequencies must have ceil(d / 2) = {half} entries, got shape {tuple(omega.shape)}")
        if not bool(torch.isfinite(omega).all()):
            raise ValueError("frequencies must be finite")
    ang = torch.arange(n, dtype=torch.float64)[:, None] * omega[None, :]
    pe = torch.empty((n, 2 * half), dtype=torch.float64)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)
    return pe[:, :d].to(device=dev, dtype=dt)


def _check_cycle_nd(n, d):
    n = check_int(n, "n", 3)
    d = check_int(d, "d", 2)
    if d % 2:
        raise ValueError(f"d must be even (the cycle's eigenspaces come in sin/cos pairs), got {d}")
    if d > n - 1:
        raise ValueError(f"d must be <= n - 1 = {n - 1} so that every frequency 2πm/n, m = 1..d/2, "
                         f"has a 2-D eigenspace; got d={d}")
    return n, d


def cycle_graph_eigvecs(n: int, d: int, *, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Laplacian eigenpairs of the cycle graph ``C_n``, computed numerically.

    The normalized Laplacian of ``C_n`` is ``I − A/2``; its eigenvalues are
    ``1 − cos(2πm/n)`` and, for ``0 < m < n/2``, each has the 2-D eigenspace spanned by
    ``sin(2πmt/n)`` and ``cos(2πmt/n)``.  Returned are the ``d`` eigenpairs after the trivial
    one, i.e. the eigenspaces ``m = 1..d/2`` — the numerical solver picks an arbitrary
    orthonormal basis inside each (that is the basis ambiguity of LapPE).

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 3``.
    d : int
        Even number of eigenvectors, ``2 <= d <= n - 1``.
    device, dtype : optional
        Where and in which precision to compute.

    Returns
    -------
    evals : torch.Tensor
        ``(d,)``, pairs ``1 − cos(2πm/n)``.
    evecs : torch.Tensor
        ``(n, d)`` orthonormal, node ``t`` of the cycle in row ``t``.
    """
    n, d = _check_cycle_nd(n, d)
    return laplacian_pe_eig(nx.cycle_graph(n), d, device=device, dtype=dtype)


def sinusoidal_cycle_coefficients(n: int, d: int, *, device=None, dtype=None):
    """Write the cycle-periodic sinusoidal encodings in the cycle's Laplacian eigenbasis.

    With frequencies ``ω_m = 2πm/n`` (``m = 1..d/2``), the sinusoidal channels
    ``[sin(ω_m t), cos(ω_m t)]`` lie *exactly* in the ``m``-th 2-D eigenspace of the cycle
    Laplacian.  So for each ``m`` there is a 2×2 matrix ``C_m`` with
    ``S[:, 2m-2:2m] = V[:, 2m-2:2m] @ C_m``, where ``V`` comes from
    :func:`cycle_graph_eigvecs`; ``C_m = V_mᵀ S_m`` and ``C_mᵀ C_m = (n/2) I`` (the sinusoids
    are orthogonal with squared norm ``n/2``), i.e. ``C_m`` is ``√(n/2)`` times a rotation or
    reflection — the arbitrary basis choice of the eigensolver.  The Transformer encoding
    :func:`sinusoidal_pe` uses a geometric ladder of frequencies instead of ``2πm/n``: the same
    Fourier idea for a path with open ends rather than a cycle.

    Parameters
    ----------
    n : int
        Number of positions / cycle nodes, ``n >= 3``.
    d : int
        Even number of channels, ``2 <= d <= n - 1``.
    device, dtype : optional
        Where and in which precision to compute.

    Returns
    -------
    coeffs : torch.Tensor
        ``(d // 2, 2, 2)``, the matrices ``C_m``.
    S : torch.Tensor
        ``(n, d)`` sinusoidal encodings with frequencies ``2πm/n``.
    V : torch.Tensor
        ``(n, d)`` cycle eigenvectors.
    residual : float
        ``max |S − V blockdiag(C)|``: zero up to rounding, the proof by computation.
    """
    n, d = _check_cycle_nd(n, d)
    evals, V = cycle_graph_eigvecs(n, d, device=device, dtype=dtype)
    freqs = 2 * math.pi * np.arange(1, d // 2 + 1) / n
    S = sinusoidal_pe(n, d, frequencies=freqs, device=V.device, dtype=V.dtype)
    Vb = V.reshape(n, d // 2, 2).permute(1, 0, 2)   # (m, n, 2)
    Sb = S.reshape(n, d // 2, 2).permute(1, 0, 2)
    coeffs = Vb.mT @ Sb                             # (m, 2, 2)
    residual = float((Vb @ coeffs - Sb).abs().amax())
    return coeffs, S, V, residual


def sinusoid_cycle_comparison(n: int, d: int, base: float = 10000.0) -> dict:
    """Both sinusoidal encodings against the cycle's Laplacian eigenvectors, in float64 numpy.

    Returns ``S``, ``V``, ``C`` and ``residual`` of :func:`sinusoidal_cycle_coefficients`;
    ``recon`` (n, d), the sinusoids rebuilt block by block as ``V_m C_m``; the Transformer
    encoding ``T`` = :func:`sinusoidal_pe` (n, d, ``base``), its least-squares fit ``T_fit``
    in span(V) and how far it is from that span (``T_residual``, the largest entry of
    ``T − T_fit``, and ``T_rel``, ‖T − T_fit‖ / ‖T‖): the geometric frequency ladder is not made
    of cycle eigenvectors.  ``V`` holds ``v_1..v_d``, not the constant ``v_0``, so a nearly
    constant slow channel (``cos(ωt)`` with ``ω n ≪ 1``) counts as residual; ``T_rel_v0`` is the
    same fit with ``v_0`` added, ``T_share_v0`` the share of that fit's squared residual in each
    channel, and ``omega`` each channel's angular frequency (rad per node): what is left with
    ``v_0`` sits mostly in channels faster than the highest frequency of the span,
    ``2π(d/2)/n``, and in slow channels that are not periodic on the cycle (ramps).

    >>> c = sinusoid_cycle_comparison(12, 4)
    >>> c["residual"] < 1e-12, c["recon"].shape, c["T_rel"] > 0.01, c["T_rel_v0"] <= c["T_rel"]
    (True, (12, 4), True, True)
    """
    C, S, V, residual = sinusoidal_cycle_coefficients(n, d, device="cpu", dtype=torch.float64)
    S, V, C = S.numpy(), V.numpy(), C.numpy()
    recon = np.concatenate([V[:, 2 * m:2 * m + 2] @ C[m] for m in range(d // 2)], axis=1)
    T = sinusoidal_pe(n, d, base=float(base), device="cpu", dtype=torch.float64).numpy()
    coef, *_ = np.linalg.lstsq(V, T, rcond=None)
    T_fit = V @ coef
    t_res = T - T_fit
    V0 = np.concatenate([np.full((n, 1), 1.0 / math.sqrt(n)), V], axis=1)   # v_0 of a regular graph: constant
    res0 = T - V0 @ np.linalg.lstsq(V0, T, rcond=None)[0]
    tnorm = max(np.linalg.norm(T), 1e-300)
    omega = float(base) ** (-2.0 * (np.arange(d) // 2) / d)
    return dict(S=S, V=V, C=C, recon=recon, residual=residual, T=T, T_fit=T_fit,
                T_residual=float(np.abs(t_res).max()), T_rel=float(np.linalg.norm(t_res) / tnorm),
                T_rel_v0=float(np.linalg.norm(res0) / tnorm),
                T_share_v0=(res0 ** 2).sum(0) / max(float((res0 ** 2).sum()), 1e-300), omega=omega)


# ----------------------------------------------------------------------------- projectors, SignNet
def eigenspace_projectors(evals, evecs, tol: float = 1e-6) -> list[tuple[float, torch.Tensor]]:
    """Group eigenvalues into eigenspaces and return their orthogonal projectors.

    A hard partition: sorted eigenvalues whose consecutive gaps are ``<= tol`` fall in one
    group (single linkage).  The projector ``P = Σ_{v in group} v vᵀ`` does not depend on
    the basis chosen inside an eigenspace, so it removes sign *and* basis ambiguity — but it
    jumps when a perturbation moves a gap across ``tol`` (a cluster splitting or merging).

    Parameters
    ----------
    evals : array-like
        ``(k,)`` eigenvalues.
    evecs : array-like
        ``(n, k)`` orthonormal eigenvectors, column ``j`` for ``evals[j]``.
    tol : float, default 1e-6
        Grouping tolerance, ``>= 0``.

    Returns
    -------
    list of (float, torch.Tensor)
        One ``(mean eigenvalue, (n, n) projector)`` per group, ascending.
    """
    tol = check_float(tol, "tol", 0.0)
    evals = torch.as_tensor(evals)
    evecs = torch.as_tensor(evecs)
    if evals.ndim != 1:
        raise ValueError(f"evals must be 1-D (k,), got shape {tuple(evals.shape)}")
    if evecs.ndim != 2 or evecs.shape[1] != evals.shape[0]:
        raise ValueError(f"evecs must be (n, k) with k = len(evals) = {evals.shape[0]}, "
                         f"got shape {tuple(evecs.shape)}")
    order = torch.argsort(evals)
    lam = evals[order].to(torch.float64)
    V = evecs[:, order.to(evecs.device)]
    out = []
    if lam.numel() == 0:
        return out
    for a, b in _group_bounds(lam.tolist(), tol):
        Vg = V[:, a:b]
        out.append((float(lam[a:b].mean()), Vg @ Vg.mT))
    return out


def signnet_features(evecs: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Sign-invariant features ``f(v) + f(−v)`` (the SignNet construction of Lim et al.).

    Parameters
    ----------
    evecs : torch.Tensor
        Eigenvectors, any shape ``f`` accepts (e.g. ``(n, k)`` or ``(B, N, k)``).
    f : callable
        A torch function (e.g. an ``nn.Module``); applied to ``evecs`` and ``-evecs``.

    Returns
    -------
    torch.Tensor
        ``f(evecs) + f(-evecs)``: unchanged when any eigenvector's sign is flipped if ``f``
        acts on each eigenvector (column) separately.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable taking and returning a torch.Tensor, got {type(f).__name__}")
    if not isinstance(evecs, torch.Tensor):
        raise TypeError(f"evecs must be a torch.Tensor, got {type(evecs).__name__}")
    return f(evecs) + f(-evecs)


# ----------------------------------------------------------------------------- batched
class _Batch:
    """Many graphs, either a list of (n_b, n_b) matrices or a padded (B, N, N) tensor + mask.

    The batch is consumed in chunks of graphs of the same size (``bucket=True``) or padded to
    the largest size; each chunk is loaded, validated and solved on its own, so no large
    temporary is ever built (large fresh allocations cost page faults that dominate the
    arithmetic of such small matrices).
    """

    def __init__(self, adjs, mask, device, dtype, name):
        self.name = name
        if isinstance(adjs, torch.Tensor):
            if adjs.ndim != 3 or adjs.shape[1] != adjs.shape[2]:
                raise ValueError(f"{name} must be a list of (n, n) adjacency matrices or a padded (B, N, N) "
                                 f"tensor; got a tensor of shape {tuple(adjs.shape)}")
            if adjs.is_complex():
                raise TypeError(f"{name} must be real-valued, got a complex tensor")
            if adjs.shape[0] == 0 or adjs.shape[1] == 0:
                raise ValueError(f"{name} must hold at least one graph with at least one node, "
                                 f"got shape {tuple(adjs.shape)}")
            self.device, self.dtype = _device_dtype(device, dtype, adjs)
            self.B, self.N = adjs.shape[0], adjs.shape[1]
            self._A = adjs.detach()
            self._mats = None
            if mask is None:
                self._mask_in = None
                self.mask = torch.ones((self.B, self.N), dtype=torch.bool, device=self.device)
                self.extent = np.full(self.B, self.N)
            else:
                if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
                    got = f"a tensor of dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
                    raise TypeError(f"mask must be a bool torch.Tensor of shape (B, N) = {(self.B, self.N)}, got {got}")
                if tuple(mask.shape) != (self.B, self.N):
                    raise ValueError(f"mask must have shape (B, N) = {(self.B, self.N)}, got {tuple(mask.shape)}")
                self.mask = mask.to(self.device)
                self._mask_in = mask
                pos = torch.arange(1, self.N + 1)
                self.extent = (mask.cpu() * pos).amax(1).clamp_min(1).numpy()
        else:
            if mask is not None:
                raise ValueError("mask must be None when the graphs are given as a list "
                                 "(the mask is built from their sizes)")
            if isinstance(adjs, (str, bytes)) or not isinstance(adjs, Sequence):
                raise TypeError(f"{name} must be a list of graphs/adjacency matrices or a (B, N, N) tensor, "
                                f"got {type(adjs).__name__}")
            if len(adjs) == 0:
                raise ValueError(f"{name} must contain at least one graph, got an empty list")
            mats = []
            for i, a in enumerate(adjs):
                if (isinstance(a, torch.Tensor) and a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 0
                        and not a.is_complex()):
                    mats.append(a.detach())   # values are validated per chunk, vectorized
                else:
                    try:
                        mats.append(as_adjacency(a))
                    except (TypeError, ValueError) as exc:
                        raise type(exc)(f"{name}[{i}]: {exc}") from exc
            self.device, self.dtype = _device_dtype(device, dtype, mats[0] if isinstance(adjs[0], torch.Tensor) else None)
            self._mats, self._A, self._mask_in = mats, None, None
            self.extent = np.fromiter((a.shape[0] for a in mats), dtype=np.int64, count=len(mats))
            self.B, self.N = len(mats), int(self.extent.max())
            self.mask = (torch.arange(self.N, device=self.device)[None, :]
                         < torch.as_tensor(self.extent, device=self.device)[:, None])

    def chunks(self, bucket: bool, budget: int = 1 << 18, max_graphs: int = 1024):
        """(m, idx) pairs: graphs idx (numpy) solved at size m."""
        if bucket:
            order = np.argsort(self.extent, kind="stable")
            ext = self.extent[order]
            cuts = np.flatnonzero(np.diff(ext)) + 1
            groups = [(int(ext[s[0]]), order[s]) for s in
                      (np.arange(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(ext)]))]
        else:
            groups = [(self.N, np.arange(self.B))]
        out = []
        for m, idx in groups:
            size = max(8, min(max_graphs, budget // (m * m)))
            out.extend((m, idx[s:s + size]) for s in range(0, len(idx), size))
        return out

    def load(self, m: int, idx: np.ndarray):
        """Validated, symmetrized (c, m, m) adjacency and (c, m) mask (None: all nodes real)."""
        dev, dt = self.device, self.dtype
        if self._mats is not None:
            sizes = self.extent[idx]
            if (sizes == m).all():
                A = torch.stack([self._mats[i].to(dev) for i in idx]).to(dt)
                mask = None
            else:
                A = torch.zeros((len(idx), m, m), dtype=dt, device=dev)
                for r, i in enumerate(idx):
                    n = int(sizes[r])
                    A[r, :n, :n] = self._mats[i]
                mask = torch.arange(m, device=dev)[None, :] < torch.as_tensor(sizes, device=dev)[:, None]
        else:
            it = torch.as_tensor(idx, device=self._A.device)
            A = self._A[it, :m, :m].to(device=dev, dtype=dt)
            mask = None if self._mask_in is None else self._mask_in[it.to(self._mask_in.device), :m].to(dev)
            if mask is not None:
                mf = mask.to(dt)
                A = A * mf[:, :, None] * mf[:, None, :]
        return self._validate(A, idx), mask

    def _validate(self, A, idx):
        name = self.name
        finite = torch.isfinite(A).flatten(1).all(1)
        if not bool(finite.all()):
            raise ValueError(f"{name}[{int(idx[int((~finite).nonzero()[0, 0])])}] contains NaN or infinite entries")
        neg = (A < 0).flatten(1).any(1)
        if bool(neg.any()):
            raise ValueError(f"{name}[{int(idx[int(neg.nonzero()[0, 0])])}] must have non-negative edge weights; "
                             "found negative entries")
        # returns the exactly symmetrised batch
        return check_symmetric(A, name, tol=_SYM_RTOL if A.dtype == torch.float64 else 1e-5,
                               why=" (an undirected graph)", labels=[int(i) for i in idx])

    def index(self, idx: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(idx, device=self.device)


def _n_threads(device: torch.device, n_threads):
    if n_threads is None:
        return max(1, torch.get_num_threads()) if device.type == "cpu" else 1
    return check_int(n_threads, "n_threads", 1)


@contextmanager
def _single_threaded(device: torch.device, active: bool = True):
    """Run small-matrix kernels with one intra-op thread on the CPU.

    For matrices of a few dozen rows, intra-op threads only add synchronization; on a busy
    machine they can be 100x slower (threads spinning at barriers while a core is taken).
    torch's thread count is process-wide, so it is restored on exit.
    """
    if not active or device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run_tasks(fn, tasks, n_threads: int, device: torch.device):
    """``[fn(t) for t in tasks]`` on ``n_threads`` threads (torch releases the GIL in its kernels).

    On the CPU each task runs single-threaded kernels: the chunks are small, and intra-op
    threads on top of the pool oversubscribe the cores (measured 2x-50x slower on a busy
    2-core machine).  torch's thread count is process-wide, so it is restored afterwards.
    A fresh pool per call is cheap next to the work and safe across fork().
    """
    with _single_threaded(device):
        if device.type != "cpu" or n_threads <= 1 or len(tasks) <= 1:
            return [fn(t) for t in tasks]
        with ThreadPoolExecutor(max_workers=min(n_threads, len(tasks))) as ex:
            return list(ex.map(fn, tasks))


# Sizes (rows, inclusive) whose batched eigensolve a CUDA batch hands to the CPU's LAPACK, copies
# both ways included: torch's CUDA solver batches only small matrices (a Jacobi batch up to 32
# rows) and solves larger ones one by one.  benchmarks/small_eigh.py on an H100 (batch 256, 16
# CPU threads): m = 32 takes 0.4 ms on the GPU; m = 33 takes 118-165 ms there and 26-29 ms on
# the CPU, m = 64 190-206 vs 61-82 ms, m = 128 about even in float64; None: never.
_CUDA_EIGH_ON_CPU: tuple[int, int] | None = (33, 128)


def _batched_eigh(L: torch.Tensor):
    """``torch.linalg.eigh`` of a (b, m, m) batch, on the CPU for the CUDA sizes above."""
    rng = _CUDA_EIGH_ON_CPU
    if L.device.type == "cuda" and L.shape[0] > 1 and rng is not None and rng[0] <= L.shape[-1] <= rng[1]:
        w, V = torch.linalg.eigh(L.cpu())
        return w.to(L.device), V.to(L.device)
    return torch.linalg.eigh(L)


def _eig_chunk(batch: _Batch, m: int, idx: np.ndarray, first: int, count: int):
    """Eigenpairs ``first .. first+count-1`` (clipped to m) of one chunk: (evals, evecs, ncols)."""
    A, mask = batch.load(m, idx)
    w, V = _batched_eigh(normalized_laplacian(A, mask))
    stop = min(m, first + count)
    w, V = w[:, first:stop].clamp(0.0, 2.0), V[:, :, first:stop]
    if mask is not None:
        eig_mask = (torch.arange(first, stop, device=A.device)[None, :] < mask.sum(1)[:, None])
        w = torch.where(eig_mask, w, torch.full_like(w, PAD_EIGENVALUE))
        V = V * (mask[:, :, None] & eig_mask[:, None, :]).to(V.dtype)
    return w, fix_signs(V), stop - first


def batched_laplacian_eig(adjs: list[torch.Tensor] | torch.Tensor, mask: torch.Tensor | None = None, *,
                          k: int | None = None, device=None, dtype=None, bucket: bool = True,
                          n_threads: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigendecomposition of the normalized Laplacians of many small graphs at once.

    The graphs are padded to ``N = max n_b`` nodes; padding nodes get no edges and a
    Laplacian diagonal of 3 (above the spectrum ``[0, 2]``), so a dense batched
    :func:`torch.linalg.eigh` returns every graph's real eigenpairs first and the padding's
    last, never mixed.  Graphs are grouped by size (``bucket=True``; a list input then needs
    no padding inside the solver at all) and solved in chunks, spread over ``n_threads``
    threads on the CPU (torch releases the GIL inside ``eigh``).

    Parameters
    ----------
    adjs : list of (n_b, n_b) tensors / graph-likes, or torch.Tensor (B, N, N)
        Symmetric non-negative adjacency matrices (anything :func:`as_adjacency` accepts
        in a list), or an already padded batch.
    mask : torch.Tensor, optional
        ``(B, N)`` bool, ``True`` for real nodes, only with a padded tensor (default: all
        nodes real).  Entries of ``adjs`` touching padding nodes are ignored.
    k : int, optional
        Keep only the ``k`` smallest eigenpairs (``1 <= k <= N``).
    device, dtype : optional
        Default: the device of tensor input (else the default device); float64 on the CPU,
        float32 on accelerators.
    bucket : bool, default True
        Solve graphs grouped by size (faster; same result up to rounding).
    n_threads : int, optional
        CPU threads for the chunks (default ``torch.get_num_threads()``).

    Returns
    -------
    evals : torch.Tensor
        ``(B, N)`` (or ``(B, k)``) ascending; graph ``b`` has its real eigenvalues (clamped
        to ``[0, 2]``) in the first ``n_b = mask[b].sum()`` entries and exactly
        :data:`PAD_EIGENVALUE` (2.0) after them.
    evecs : torch.Tensor
        ``(B, N, N)`` (or ``(B, N, k)``); column ``j`` is the eigenvector of ``evals[:, j]``,
        signs fixed (largest-magnitude entry positive); rows of padding nodes and columns of
        padding eigenvalues are exactly zero.
    mask : torch.Tensor
        ``(B, N)`` bool node mask.  Eigen-column ``j`` of graph ``b`` is real iff
        ``j < mask[b].sum()``.

    Examples
    --------
    >>> import torch, networkx as nx
    >>> adjs = [torch.as_tensor(nx.to_numpy_array(nx.cycle_graph(n))) for n in (3, 5)]
    >>> evals, evecs, mask = batched_laplacian_eig(adjs)
    >>> evals.shape, evecs.shape, mask.sum(1).tolist()
    (torch.Size([2, 5]), torch.Size([2, 5, 5]), [3, 5])
    >>> evals[0, 3:].tolist()          # padding sorts last, at exactly 2.0
    [2.0, 2.0]
    """
    check_bool(bucket, "bucket")
    batch = _Batch(adjs, mask, device, dtype, "adjs")
    B, N = batch.B, batch.N
    kk = N if k is None else check_int(k, "k", 1, N)
    nt = _n_threads(batch.device, n_threads)
    evals = torch.full((B, kk), PAD_EIGENVALUE, dtype=batch.dtype, device=batch.device)
    evecs = torch.zeros((B, N, kk), dtype=batch.dtype, device=batch.device)

    def work(task):
        m, idx = task
        w, V, c = _eig_chunk(batch, m, idx, 0, kk)
        it = batch.index(idx)
        evals[it, :c] = w
        evecs[it, :m, :c] = V

    _run_tasks(work, batch.chunks(bucket), nt, batch.device)
    return evals, evecs, batch.mask


def batched_laplacian_pe(graphs, k: int, mask: torch.Tensor | None = None, *, sign_flip: bool = False,
                         generator: torch.Generator | None = None, device=None, dtype=None,
                         return_evals: bool = False, bucket: bool = True, n_threads: int | None = None):
    """:func:`laplacian_pe` for many graphs with batched eigensolvers.

    Same machinery as :func:`batched_laplacian_eig`, but only the ``k`` needed
    eigenvectors are kept and written out.

    Parameters
    ----------
    graphs : list of graph-likes or torch.Tensor (B, N, N)
        As for :func:`batched_laplacian_eig`.
    k : int
        Number of non-trivial eigenvectors per graph, ``k >= 1``.
    mask : torch.Tensor, optional
        ``(B, N)`` bool node mask for a padded tensor input.
    sign_flip : bool, default False
        Independent random ±1 per graph and column (augmentation).
    generator : torch.Generator, optional
        Random source for ``sign_flip``.
    device, dtype : optional
        As for :func:`batched_laplacian_eig`.
    return_evals : bool, default False
        Also return the ``(B, k)`` eigenvalues (padding: :data:`PAD_EIGENVALUE`).
    bucket : bool, default True
        Solve graphs grouped by size.
    n_threads : int, optional
        CPU threads (default ``torch.get_num_threads()``).

    Returns
    -------
    pe : torch.Tensor
        ``(B, N, k)``; ``pe[b, :n_b]`` equals ``laplacian_pe(graphs[b], k)`` up to rounding
        wherever the eigenvector is determined (simple eigenvalue and a unique
        largest-magnitude entry); otherwise both are valid bases of the same eigenspace.
        Padding rows and missing columns are zero.  ``pe[mask]`` gives the PyG-style
        concatenated ``(Σ n_b, k)`` layout.
    mask : torch.Tensor
        ``(B, N)`` bool node mask.
    evals : torch.Tensor
        ``(B, k)``, only with ``return_evals=True``.

    Examples
    --------
    >>> import networkx as nx
    >>> pe, mask = batched_laplacian_pe([nx.path_graph(4), nx.cycle_graph(6)], k=3)
    >>> pe.shape, mask.sum(1).tolist()
    (torch.Size([2, 6, 3]), [4, 6])
    """
    k = check_int(k, "k", 1)
    check_bool(sign_flip, "sign_flip")
    check_bool(bucket, "bucket")
    batch = _Batch(graphs, mask, device, dtype, "graphs")
    B, N = batch.B, batch.N
    nt = _n_threads(batch.device, n_threads)
    pe = torch.zeros((B, N, k), dtype=batch.dtype, device=batch.device)
    lam = torch.full((B, k), PAD_EIGENVALUE, dtype=batch.dtype, device=batch.device)

    def work(task):
        m, idx = task
        w, V, c = _eig_chunk(batch, m, idx, 1, k)
        if c > 0:
            it = batch.index(idx)
            lam[it, :c] = w
            pe[it, :m, :c] = V

    _run_tasks(work, batch.chunks(bucket), nt, batch.device)
    if sign_flip:
        pe = pe * _random_signs((B, 1, k), generator, pe.device, pe.dtype)
    return (pe, batch.mask, lam) if return_evals else (pe, batch.mask)


def batched_random_walk_pe(graphs, K: int, mask: torch.Tensor | None = None, *, device=None, dtype=None,
                           bucket: bool = True, n_threads: int | None = None):
    """:func:`random_walk_pe` for many graphs with batched matrix powers.

    Uses ``diag((D^{-1}A)^j) = diag(S^j)`` with the symmetric ``S = D^{-½} A D^{-½}``; the
    powers ``S^1..S^h`` (``h = ceil(K/2)``) take ``h − 1`` batched matrix products, and the
    longer walks come from ``diag(S^{h+c})_i = Σ_l S^h_{il} S^c_{il}`` (``S`` symmetric), an
    elementwise product — about half the matrix products of the direct loop.

    Parameters
    ----------
    graphs : list of graph-likes or torch.Tensor (B, N, N)
        As for :func:`batched_laplacian_eig`.
    K : int
        Number of walk lengths, ``K >= 1``.
    mask : torch.Tensor, optional
        ``(B, N)`` bool node mask for a padded tensor input.
    device, dtype : optional
        As for :func:`batched_laplacian_eig`.
    bucket : bool, default True
        Compute graphs grouped by size (faster; same result up to rounding).
    n_threads : int, optional
        CPU threads for the chunks (default ``torch.get_num_threads()``).

    Returns
    -------
    pe : torch.Tensor
        ``(B, N, K)``; ``pe[b, :n_b]`` equals ``random_walk_pe(graphs[b], K)``; padding rows
        and isolated nodes are 0.
    mask : torch.Tensor
        ``(B, N)`` bool node mask.

    Examples
    --------
    >>> import networkx as nx
    >>> pe, mask = batched_random_walk_pe([nx.path_graph(3), nx.cycle_graph(4)], K=2)
    >>> [round(x, 12) for x in pe[1, 0].tolist()]
    [0.0, 0.5]
    """
    K = check_int(K, "K", 1)
    check_bool(bucket, "bucket")
    batch = _Batch(graphs, mask, device, dtype, "graphs")
    B, N = batch.B, batch.N
    nt = _n_threads(batch.device, n_threads)
    out = torch.zeros((B, N, K), dtype=batch.dtype, device=batch.device)
    h = (K + 1) // 2

    def work(task):
        m, idx = task
        A, _ = batch.load(m, idx)     # padding rows/cols of A are zero: their S rows vanish
        deg = A.sum(-1)
        dinv = torch.where(deg > 0, deg.clamp_min(torch.finfo(A.dtype).tiny).rsqrt(), torch.zeros_like(deg))
        s = dinv[:, :, None] * A * dinv[:, None, :]
        P = [s]
        for _ in range(h - 1):
            P.append(torch.bmm(P[-1], s))
        cols = [p.diagonal(dim1=-2, dim2=-1) for p in P]
        cols += [(P[h - 1] * P[c - 1]).sum(-1) for c in range(1, K - h + 1)]
        out[batch.index(idx), :m] = torch.stack(cols, -1)

    _run_tasks(work, batch.chunks(bucket), nt, batch.device)
    return out, batch.mask


# ----------------------------------------------------------------------------- stability
def _group_bounds(lam: list[float], tol: float) -> list[tuple[int, int]]:
    """[start, end) index ranges of sorted values whose consecutive gaps are <= tol."""
    bounds, start = [], 0
    for j in range(1, len(lam) + 1):
        if j == len(lam) or lam[j] - lam[j - 1] > tol:
            bounds.append((start, j))
            start = j
    return bounds


def _stack_group_projectors(evals: torch.Tensor, evecs: torch.Tensor, tol: float) -> torch.Tensor:
    """(k, n, n): for each eigen-index j (sorted evals), the projector of the group containing j."""
    mats = []
    for a, b in _group_bounds(evals.tolist(), tol):
        P = evecs[:, a:b] @ evecs[:, a:b].T
        mats.extend([P] * (b - a))
    return torch.stack(mats)


def pe_stability(graph, k: int, eps: float = 1e-6, *, mode: str = "edge_weight", edge=None,
                 n_flips: int = 1, seed: int = 0, tol: float = 1e-6,
                 spe_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> dict:
    """How much positional encodings move per unit change of the Laplacian.

    The graph is perturbed, and ``‖PE(G') − PE(G)‖_F / ‖L(G') − L(G)‖_F`` is reported for

    * ``"raw"`` — the eigenvectors of :func:`laplacian_pe` (deterministic signs): unbounded
      when an eigenvalue among ``λ_1..λ_k`` is repeated or nearly so (an eigenspace may
      rotate arbitrarily);
    * ``"projectors"`` — for each ``j = 1..k`` the hard eigenspace projector
      (:func:`eigenspace_projectors`, tolerance ``tol``) of the group containing ``λ_j``:
      basis-invariant, but it jumps when a cluster of eigenvalues splits by more than
      ``tol`` (a rank-2 projector becomes two rank-1 ones);
    * ``"subspace"`` — the projector onto ``span(v_1..v_k)``, stable with constant about
      ``1 / eigengap`` (Davis–Kahan);
    * ``"spe"`` — ``spe_fn(evals, evecs)`` if given, called with the full spectrum
      (``(n,)`` ascending eigenvalues and ``(n, n)`` eigenvectors with fixed signs).

    Parameters
    ----------
    graph : graph-like
        Anything :func:`as_adjacency` accepts.
    k : int
        Number of non-trivial eigenvectors, ``1 <= k <= n - 2``.
    eps : float, default 1e-6
        ``mode="edge_weight"``: amount added to one edge weight, ``> 0``.
    mode : {"edge_weight", "edge_flip"}
        Perturb one edge weight by ``eps``, or flip ``n_flips`` random node pairs (add a
        missing unit edge / remove an existing one).
    edge : tuple of int, optional
        ``(u, v)`` (row/column indices) for ``"edge_weight"``; default: the first edge in
        row-major order.
    n_flips : int, default 1
        Number of node pairs flipped in ``"edge_flip"`` mode.
    seed : int, default 0
        Random seed for ``"edge_flip"``.
    tol : float, default 1e-6
        Grouping tolerance for the hard projectors.
    spe_fn : callable, optional
        ``spe_fn(evals, evecs) -> torch.Tensor``, e.g. an SPE encoder.

    Returns
    -------
    dict
        ``delta_L`` (‖ΔL‖_F), ratios ``raw``, ``projectors``, ``subspace``, ``spe`` (None
        without ``spe_fn``), ``eigengap`` = ``λ_{k+1} − λ_k`` of the unperturbed graph,
        ``evals`` (``λ_0..λ_{k+1}``, list), ``mode``, ``eps``.

    Examples
    --------
    >>> import networkx as nx
    >>> r = pe_stability(nx.cycle_graph(16), k=8, eps=1e-6)
    >>> r["raw"] > 1e5, r["eigengap"] > 0.1
    (True, True)
    """
    check_choice(mode, "mode", ("edge_weight", "edge_flip"))
    k = check_int(k, "k", 1)
    tol = check_float(tol, "tol", 0.0)
    if spe_fn is not None and not callable(spe_fn):
        raise TypeError(f"spe_fn must be None or a callable (evals, evecs) -> tensor, got {type(spe_fn).__name__}")
    A0 = as_adjacency(graph).cpu()
    n = A0.shape[0]
    if k > n - 2:
        raise ValueError(f"k must be <= n - 2 = {n - 2} so that the eigengap λ_(k+1) − λ_k exists, got {k}")
    A1 = A0.clone()
    if mode == "edge_weight":
        eps = check_float(eps, "eps", 0.0, low_inclusive=False)
        if edge is None:
            nz = torch.nonzero(torch.triu(A0, 1))
            if nz.shape[0] == 0:
                raise ValueError("graph has no edges to perturb")
            u, v = (int(x) for x in nz[0])
        else:
            if not (isinstance(edge, (tuple, list)) and len(edge) == 2
                    and all(isinstance(x, numbers.Integral) for x in edge)):
                raise TypeError(f"edge must be a pair of node indices (u, v), got {edge!r}")
            u, v = int(edge[0]), int(edge[1])
            if not (0 <= u < n and 0 <= v < n) or u == v:
                raise ValueError(f"edge must be two distinct node indices in [0, {n - 1}], got {edge!r}")
        A1[u, v] += eps
        A1[v, u] += eps
    else:
        n_flips = check_int(n_flips, "n_flips", 1, n * (n - 1) // 2)
        rng = np.random.default_rng(seed)
        iu = np.array(np.triu_indices(n, 1)).T
        for u, v in iu[rng.choice(len(iu), size=n_flips, replace=False)]:
            new = 0.0 if A1[u, v] > 0 else 1.0
            A1[u, v] = A1[v, u] = new

    def spectrum(A):
        w, V = torch.linalg.eigh(normalized_laplacian(A))
        return w.clamp(0.0, 2.0), fix_signs(V)

    L0, L1 = normalized_laplacian(A0), normalized_laplacian(A1)
    dL = float(torch.linalg.norm(L1 - L0))
    (w0, V0), (w1, V1) = spectrum(A0), spectrum(A1)
    sl = slice(1, k + 1)

    def ratio(x0, x1):
        return float(torch.linalg.norm(x1 - x0)) / dL if dL > 0 else float("nan")

    P0 = _stack_group_projectors(w0[sl], V0[:, sl], tol)
    P1 = _stack_group_projectors(w1[sl], V1[:, sl], tol)
    U0, U1 = V0[:, sl] @ V0[:, sl].T, V1[:, sl] @ V1[:, sl].T
    out = {
        "mode": mode,
        "eps": eps if mode == "edge_weight" else None,
        "delta_L": dL,
        "raw": ratio(V0[:, sl], V1[:, sl]),
        "projectors": ratio(P0, P1),
        "subspace": ratio(U0, U1),
        "spe": None,
        "eigengap": float(w0[k + 1] - w0[k]),
        "evals": w0[:k + 2].tolist(),
    }
    if spe_fn is not None:
        out["spe"] = ratio(torch.as_tensor(spe_fn(w0, V0)), torch.as_tensor(spe_fn(w1, V1)))
    return out


def pe_stability_curve(graph, k: int, eps_grid: Sequence[float], *, tol: float = 1e-6,
                       spe_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                       progress=None, cancel=None) -> dict:
    """:func:`pe_stability` (one edge weight perturbed) at every ``eps`` of ``eps_grid``: the
    ratios ``raw``, ``projectors``, ``subspace``, ``spe`` as float64 arrays over the grid, the
    unperturbed ``eigengap`` and the number of nodes ``n``.  ``progress(fraction, text)`` /
    ``cancel`` follow :mod:`spectral_explorer.progress`.

    >>> import networkx as nx
    >>> c = pe_stability_curve(nx.cycle_graph(16), 4, [1e-6, 1e-2])
    >>> c["n"], c["raw"].shape, bool(c["raw"][0] > 100 * c["raw"][1])   # a repeated pair rotates
    (16, (2,), True)
    >>> pe_stability_curve(nx.cycle_graph(5), 4, [1e-3])
    Traceback (most recent call last):
    ...
    ValueError: k must be ≤ n − 2 = 3 on this graph (the eigengap λ_(k+1) − λ_k must exist), got k=4
    """
    A = as_adjacency(graph)
    n = A.shape[0]
    if int(k) > n - 2:
        raise ValueError(f"k must be ≤ n − 2 = {n - 2} on this graph (the eigengap λ_(k+1) − λ_k must exist), "
                         f"got k={int(k)}")
    rows = []
    for i, eps in enumerate(eps_grid):
        checkpoint(cancel, progress, i / len(eps_grid), f"ε sweep: ε = {float(eps):.0e}")
        rows.append(pe_stability(A, int(k), float(eps), tol=tol, spe_fn=spe_fn))
    return {name: np.array([r[name] for r in rows], dtype=np.float64)
            for name in ("raw", "projectors", "subspace", "spe")} | {"eigengap": rows[0]["eigengap"], "n": n}
