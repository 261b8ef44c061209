"""Eigensolvers for graph operators with a deterministic sign convention.

Small problems use a dense symmetric ``eigh`` (torch, on the chosen device); large sparse
problems use ARPACK in shift-invert mode (:func:`scipy.sparse.linalg.eigsh`), which finds
the smallest eigenvalues of a Laplacian in a handful of iterations.  Eigenvector signs are
fixed so that the entry of largest magnitude is positive (scikit-learn's convention), so
repeated runs, animations and tests see the same vectors.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla
import torch

from ._validation import check_choice, check_int, check_square_sparse
from .device import default_dtype, resolve_device

__all__ = ["fix_signs", "svd_fixed_signs", "eigenvalue_groups", "smallest_eigenpairs", "largest_eigenvalue",
           "DENSE_LIMIT"]

DENSE_LIMIT = 2000


def fix_signs(V, rtol: float = 1e-8):
    """Flip each column so that its largest-magnitude entry is positive.

    Entries within ``rtol`` (relative) of the column's largest magnitude count as tied, and
    the first of them decides, so that rounding differences between solvers or devices do
    not flip the choice on symmetric graphs.  Works on numpy arrays and torch tensors of
    shape (..., n, k) (batches too) and returns the same type.

    >>> import numpy as np
    >>> fix_signs(np.array([[1.0, 0.2], [-3.0, 0.1]]))
    array([[-1. ,  0.2],
           [ 3. ,  0.1]])
    >>> fix_signs(np.array([[-0.5], [0.5 + 1e-15]]))  # a tie up to rounding: the first entry decides
    array([[ 0.5],
           [-0.5]])
    """
    if isinstance(V, torch.Tensor):
        A = V.abs()
        tied = A >= A.amax(dim=-2, keepdim=True) * (1 - rtol)
        idx = tied.to(torch.int8).argmax(dim=-2, keepdim=True)  # the first tied entry
        s = torch.sign(torch.gather(V, -2, idx))
        s[s == 0] = 1
        return V * s
    V = np.asarray(V)
    A = np.abs(V)
    tied = A >= A.max(axis=-2, keepdims=True) * (1 - rtol)
    idx = tied.argmax(axis=-2)[..., None, :]
    s = np.sign(np.take_along_axis(V, idx, axis=-2))
    s[s == 0] = 1
    return V * s


def svd_fixed_signs(M: torch.Tensor, rtol: float = 1e-8):
    """Thin SVD ``M = U diag(S) Vh`` with deterministic signs: each left singular vector has
    its largest-magnitude entry positive (ties within ``rtol`` go to the first entry, as in
    :func:`fix_signs`), and the matching row of ``Vh`` is flipped with it, so ``U S Vh``
    is unchanged.  Torch tensors of shape ``(m, n)`` on any device.

    >>> import torch
    >>> U, S, Vh = svd_fixed_signs(torch.tensor([[0.0, -2.0], [1.0, 0.0]], dtype=torch.float64))
    >>> (U.abs().argmax(0) == U.argmax(0)).all().item(), S.tolist()   # largest entries positive
    (True, [2.0, 1.0])
    >>> torch.allclose(U @ torch.diag(S) @ Vh, torch.tensor([[0.0, -2.0], [1.0, 0.0]], dtype=torch.float64))
    True
    """
    U, S, Vh = torch.linalg.svd(M, full_matrices=False)
    A = U.abs()
    idx = (A >= A.amax(dim=0, keepdim=True) * (1 - rtol)).to(torch.int8).argmax(dim=0, keepdim=True)
    s = torch.sign(torch.gather(U, 0, idx))
    s[s == 0] = 1
    return U * s, S, Vh * s.T


def eigenvalue_groups(evals, tol: float = 1e-6) -> list[tuple[int, int]]:
    """``[start, end)`` index ranges of sorted eigenvalues whose consecutive gaps are ``<= tol``
    (the eigenspaces of repeated eigenvalues).

    >>> eigenvalue_groups([0.0, 0.5, 0.5 + 1e-9, 1.0])
    [(0, 1), (1, 3), (3, 4)]
    """
    lam = np.asarray(evals, dtype=np.float64).ravel()
    bounds, start = [], 0
    for j in range(1, lam.size + 1):
        if j == lam.size or lam[j] - lam[j - 1] > tol:
            bounds.append((start, j))
            start = j
    return bounds


def smallest_eigenpairs(L, k: int, method: str = "auto", device=None, dtype=None, tol: float = 0.0):
    """The ``k`` smallest eigenpairs of a symmetric positive semi-definite matrix.

    Parameters
    ----------
    L : sparse or dense (n, n) symmetric matrix (e.g. a normalized Laplacian).
    k : number of eigenpairs, ``1 <= k <= n`` (``k < n`` for the sparse solver).
    method : ``"dense"`` (torch ``eigh``), ``"sparse"`` (ARPACK shift-invert) or
        ``"auto"`` (dense up to ``DENSE_LIMIT`` nodes).

    Returns
    -------
    (evals, evecs) : numpy arrays, ascending eigenvalues and orthonormal columns with
    deterministic signs.

    Examples
    --------
    >>> import networkx as nx
    >>> from spectral_explorer.laplacian import laplacian
    >>> L = laplacian(nx.to_scipy_sparse_array(nx.path_graph(5)), "combinatorial")
    >>> lam, V = smallest_eigenpairs(L, 2)
    >>> [round(float(x), 6) + 0.0 for x in lam]
    [0.0, 0.381966]
    """
    check_choice(method, "method", ("auto", "dense", "sparse"))
    L = check_square_sparse(L, "L")
    n = L.shape[0]
    k = check_int(k, "k", 1, n)
    if method == "auto":
        method = "dense" if (n <= DENSE_LIMIT or k >= n - 1) else "sparse"
    if method == "sparse" and k >= n - 1:
        raise ValueError(f"k must be < n - 1 = {n - 1} for the sparse solver, got {k}; use method='dense'")
    if method == "dense":
        dev = resolve_device(device)
        dt = default_dtype(dev, dtype)
        A = torch.as_tensor(L.toarray(), dtype=dt, device=dev)
        evals, evecs = torch.linalg.eigh(A)
        evals, evecs = evals[:k], evecs[:, :k]
        evecs = fix_signs(evecs)
        return evals.cpu().double().numpy(), evecs.cpu().double().numpy()
    # shift-invert just below zero: the factorization stays non-singular for a PSD matrix
    shift = -1e-3 * max(1.0, abs(L).sum(axis=1).max())
    v0 = np.ones(n) / np.sqrt(n)  # deterministic start vector
    evals, evecs = spla.eigsh(L, k=k, sigma=shift, which="LM", v0=v0, tol=tol)
    order = np.argsort(evals)
    return evals[order], fix_signs(evecs[:, order])


def largest_eigenvalue(L, safety: float = 1.01) -> float:
    """An upper estimate of ``λ_max`` (Lanczos, times ``safety``) for Chebyshev scaling."""
    L = check_square_sparse(L, "L")
    n = L.shape[0]
    if n <= 3:
        return float(np.linalg.eigvalsh(L.toarray()).max()) * safety
    v0 = np.ones(n) / np.sqrt(n)
    lam = spla.eigsh(L, k=1, which="LA", v0=v0 + 0.01 * np.sin(np.arange(n)), tol=1e-4,
                     return_eigenvectors=False)[0]
    return float(lam) * safety
