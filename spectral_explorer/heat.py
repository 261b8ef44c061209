"""The heat kernel ``H_t = exp(−tL)`` applied to a block of vectors.

Three ways, each a different approximation of the same spectral filter ``exp(−tλ)``:

``"exact"``
    Dense eigendecomposition, ``H_t = V exp(−tΛ) Vᵀ``.  Exact in exact arithmetic, but in
    floating point every entry carries an absolute error of about ``1e−16``, and for large
    ``t`` most true entries are far smaller: ``log H_t`` of those entries is noise.
``"chebyshev"``
    Chebyshev expansion of order ``K`` on ``[0, λ_max]``; the coefficients are
    ``2·(−1)^k·I_k(a)·e^{−a}`` with ``a = tλ_max/2`` (modified Bessel functions).  Only
    sparse products with ``L``; but the truncated series oscillates around zero, so
    small entries can even come out negative.
``"euler"``
    ``K`` backward-Euler steps, ``(I + (t/K)L)^{−K}``.  One sparse factorization is reused
    for every step and every right-hand side.  Its filter ``(1 + tλ/K)^{−K}`` decays only
    polynomially, and the matrix is an M-matrix inverse, so all entries stay positive and
    resolvable in floating point.  It is a different kernel, not a rougher ``exp(−tL)``:
    with ``K = 1`` it is the resolvent, whose entries decay *exponentially* with distance,
    so geodesics come from it by the screened law ``−√(t/K)·log H``, not by the heat law
    ``√(−4t log H)`` (see :mod:`spectral_explorer.heat_geodesic`).  This is the default.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from scipy.special import ive

from ._validation import check_choice, check_float, check_int, check_square_sparse
from .device import default_dtype, resolve_device
from .eigen import largest_eigenvalue

__all__ = [
    "kernel_counts",
    "HEAT_METHODS",
    "DEFAULT_ORDER",
    "splu_spd",
    "heat_kernel",
    "heat_filter",
    "chebyshev_coefficients",
    "chebyshev_filter",
    "DENSE_HEAT_LIMIT",
]

HEAT_METHODS = ("euler", "chebyshev", "exact")
DEFAULT_ORDER = {"euler": 1, "chebyshev": 30, "exact": 0}
#: all-pairs Euler heat uses a dense Cholesky factorization up to this many nodes
DENSE_HEAT_LIMIT = 12000


def chebyshev_coefficients(t: float, lmax: float, order: int) -> np.ndarray:
    """Coefficients ``c_0..c_K`` with ``exp(−tλ) ≈ Σ c_k T_k(2λ/λ_max − 1)`` on ``[0, λ_max]``.

    Uses ``exp(−a(x+1)) = e^{−a}(I_0(a) + 2Σ_{k≥1} (−1)^k I_k(a) T_k(x))``, ``a = tλ_max/2``,
    with exponentially scaled Bessel functions (``scipy.special.ive``) so large ``a`` does not
    overflow.

    >>> c = chebyshev_coefficients(1.0, 2.0, 20)
    >>> bool(abs(chebyshev_filter(np.array([0.0, 1.0, 2.0]), c, 2.0) - np.exp(-np.array([0, 1, 2.0]))).max() < 1e-12)
    True
    """
    a = t * lmax / 2.0
    k = np.arange(order + 1)
    c = 2.0 * ive(k, a) * np.where(k % 2 == 0, 1.0, -1.0)
    c[0] /= 2.0
    return c


def chebyshev_filter(lam, coeffs: np.ndarray, lmax: float) -> np.ndarray:
    """Evaluate the Chebyshev series with ``coeffs`` at eigenvalues ``lam`` (numpy)."""
    x = 2.0 * np.asarray(lam, dtype=np.float64) / lmax - 1.0
    return np.polynomial.chebyshev.chebval(x, coeffs)


def heat_filter(lam, t: float, method: str = "euler", order: int | None = None,
                lmax: float = 2.0) -> np.ndarray:
    """The scalar function of the eigenvalues that ``method`` applies instead of ``exp(−tλ)``."""
    check_choice(method, "method", HEAT_METHODS)
    lam = np.asarray(lam, dtype=np.float64)
    order = DEFAULT_ORDER[method] if order is None else order
    if method == "exact":
        return np.exp(-t * lam)
    if method == "euler":
        return (1.0 + (t / order) * lam) ** (-order)
    return chebyshev_filter(lam, chebyshev_coefficients(t, lmax, order), lmax)


def _as_block(B, n: int, device, dtype) -> torch.Tensor | None:
    if B is None:
        return None
    if sp.issparse(B):
        B = B.toarray()
    B = torch.as_tensor(np.asarray(B) if not isinstance(B, torch.Tensor) else B)
    if B.ndim == 1:
        B = B[:, None]
    if B.ndim != 2 or B.shape[0] != n:
        raise ValueError(f"B must have shape ({n}, m) to match L, got {tuple(B.shape)}")
    if not torch.isfinite(B).all():
        raise ValueError("B contains NaN or infinite values")
    return B.to(device=device, dtype=dtype)


def _torch_sparse(L: sp.csr_matrix, device, dtype) -> torch.Tensor:
    L = L.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.as_tensor(L.indptr, dtype=torch.int64), torch.as_tensor(L.indices, dtype=torch.int64),
            torch.as_tensor(L.data), size=L.shape, dtype=dtype, device=device, check_invariants=False)


def heat_kernel(L, t: float, B=None, method: str = "euler", order: int | None = None, *,
                lmax: float | None = None, eig=None, device=None, dtype=None) -> torch.Tensor:
    """Apply ``H_t = exp(−tL)`` (or its approximation by ``method``) to the columns of ``B``.

    Parameters
    ----------
    L : (n, n) symmetric Laplacian (scipy sparse, dense array or tensor).
    t : diffusion time, ``t > 0``.
    B : (n, m) block of vectors, or ``None`` for the identity (the whole kernel, n×n).
    method : ``"euler"`` (default), ``"chebyshev"`` or ``"exact"``; see the module docs.
    order : Euler steps / Chebyshev order ``K`` (default 1 / 30).
    lmax : λ_max for Chebyshev scaling (estimated by Lanczos when ``None``).
    eig : optional precomputed full eigendecomposition ``(evals, evecs)`` for ``"exact"``.

    Returns
    -------
    torch.Tensor of shape (n, m) (or (n, n)) on ``device``.

    Examples
    --------
    >>> import networkx as nx, scipy.linalg
    >>> from spectral_explorer.laplacian import laplacian
    >>> L = laplacian(nx.to_scipy_sparse_array(nx.cycle_graph(6)), "normalized")
    >>> H = heat_kernel(L, 0.5, method="exact").numpy()
    >>> bool(np.allclose(H, scipy.linalg.expm(-0.5 * L.toarray())))
    True
    """
    check_choice(method, "method", HEAT_METHODS)
    L = check_square_sparse(L, "L")
    n = L.shape[0]
    t = check_float(t, "t", 0.0, low_inclusive=False)
    order = DEFAULT_ORDER[method] if order is None else check_int(order, "order", 1, 10_000)
    dev = resolve_device(device)
    dt = default_dtype(dev, dtype)
    Bt = _as_block(B, n, dev, dt)

    if method == "exact":
        if eig is None:
            evals, evecs = torch.linalg.eigh(torch.as_tensor(L.toarray(), dtype=dt, device=dev))
        else:
            evals = torch.as_tensor(eig[0], dtype=dt, device=dev)
            evecs = torch.as_tensor(eig[1], dtype=dt, device=dev)
        f = torch.exp(-t * evals)
        right = evecs.T if Bt is None else evecs.T @ Bt
        return (evecs * f) @ right

    if method == "chebyshev":
        lmax = largest_eigenvalue(L) if lmax is None else check_float(lmax, "lmax", 0.0, low_inclusive=False)
        c = torch.as_tensor(chebyshev_coefficients(t, lmax, order), dtype=dt, device=dev)
        Ls = _torch_sparse(L * (2.0 / lmax) - sp.eye(n, format="csr"), dev, dt)
        T0 = torch.eye(n, dtype=dt, device=dev) if Bt is None else Bt
        T1 = Ls @ T0
        out = c[0] * T0 + c[1] * T1
        for k in range(2, order + 1):
            T0, T1 = T1, 2.0 * (Ls @ T1) - T0
            out += c[k] * T1
        return out

    # backward Euler: (I + (t/K) L)^{-K} B
    M = sp.eye(n, format="csr") + (t / order) * L
    symmetric = abs(L - L.T).max() <= 1e-12 if L.nnz else True
    if Bt is None and n <= DENSE_HEAT_LIMIT:
        # float64 even on GPUs: small kernel entries must survive the inversion
        if symmetric and order == 2:
            # two steps: one Cholesky of the sparse square M² instead of M⁻¹ then a dense product
            # (about half the work); M² is still dominated by its diagonal where the kernel has
            # tiny entries (small t/K), and log H agrees with M⁻¹·M⁻¹ to 1e−8 or better
            # (tests/test_heat.py)
            M2 = torch.as_tensor((M @ M).toarray(), dtype=torch.float64, device=dev)
            eye = torch.eye(n, dtype=torch.float64, device=dev)
            return torch.cholesky_solve(eye, torch.linalg.cholesky(M2)).to(dt)
        Md = torch.as_tensor(M.toarray(), dtype=torch.float64, device=dev)
        if symmetric:
            # two triangular solves against I, not cholesky_inverse: as accurate for the tiny
            # entries (an M-matrix: nothing cancels), and LAPACK's potri degrades up to 50× when
            # its threads share the cores with other work (a served page, a busy laptop)
            R = torch.cholesky_solve(torch.eye(Md.shape[0], dtype=Md.dtype, device=dev), torch.linalg.cholesky(Md))
        else:
            R = torch.linalg.inv(Md)
        H = torch.linalg.matrix_power(R, order) if order > 1 else R
        return H.to(dt)
    lu = splu_spd(M) if symmetric else spla.splu(M.tocsc())
    X = np.eye(n) if Bt is None else Bt.detach().cpu().double().numpy()
    for _ in range(order):
        X = lu.solve(X)
    return torch.as_tensor(X, dtype=dt, device=dev)


def splu_spd(M):
    """Sparse LU of a symmetric, diagonally dominant matrix (``I + sL``, a Laplacian's
    resolvent): a symmetric fill-reducing ordering (minimum degree on ``M + Mᵀ``) and no row
    pivoting, which such a matrix does not need — about half the fill of SuperLU's default
    column ordering on kNN graphs, and as much faster to solve with."""
    return spla.splu(sp.csc_matrix(M), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                     options=dict(SymmetricMode=True))


#: kernel entries at or below this are "numerically zero" (:func:`kernel_counts`)
TINY = 1e-15


def kernel_counts(H) -> dict:
    """Counts of entries ``≤ 0`` and ``≤ 1e-15`` (and the total) of a kernel block.

    >>> kernel_counts(np.array([[1.0, 1e-20], [0.0, -1e-3]]))
    {'entries': 4, 'le_tiny': 3, 'le_zero': 2, 'min': -0.001}
    """
    H = np.asarray(H, dtype=np.float64)
    return {"entries": int(H.size), "le_tiny": int((H <= TINY).sum()), "le_zero": int((H <= 0).sum()),
            "min": float(H.min())}
