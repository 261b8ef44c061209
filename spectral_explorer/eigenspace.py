"""Eigenspace projections: Gram spectra, subspace angles and low-rank compensation.

This module holds the linear algebra behind the "eigenspace projections" family (EoRA,
PiSSA).  Everything is pure torch; functions take tensors (or numpy arrays) on any device,
compute in float64 on that device, and return results in the input's floating dtype
(float64 for integer input).

EoRA in one paragraph.  A compressed layer ``W_c`` differs from the original ``W`` (shape
``(out, in)``) by ``dW = W - W_c``.  What matters is not ``dW`` itself but its effect on
real inputs ``X`` (shape ``(samples, in)``): ``||X dW^T||_F^2 = ||dW C^{1/2}||_F^2`` with the
Gram matrix ``C = X^T X = Q Lambda Q^T``.  The best rank-``r`` correction ``B A`` for that
weighted error is found from the SVD of ``dW Q Lambda^{1/2} = U S V^T``:
``B = U_r S_r^{1/2}``, ``A = S_r^{1/2} V_r^T Lambda^{-1/2} Q^T``.  Plain SVD of ``dW`` is the
case ``C = I``.  PiSSA splits a weight into its principal rank-``r`` part ``B A`` and a
residual.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._validation import check_int, check_symmetric, check_tensor
from .eigen import fix_signs, svd_fixed_signs

__all__ = [
    "powerlaw_gram",
    "rank_error_curve",
    "example_weight",
    "gram_eigh",
    "project_topk",
    "energy_captured",
    "principal_angles",
    "svd_compensation",
    "eora_compensation",
    "compensation_error",
    "pissa_split",
    "toy_compensation",
]


# --------------------------------------------------------------------------- validation
def _check_gram(gram, n: int | None, name: str = "gram") -> torch.Tensor:
    """A square symmetric matrix (of size ``n`` when given), symmetrised, in float64."""
    C = check_tensor(gram, name, dtype=None)
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"{name} must be square (in_features, in_features), got shape {tuple(C.shape)}")
    if n is not None and C.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}) to match delta_w's {n} input columns, "
                         f"got shape {tuple(C.shape)}")
    rtol = 1e-8 if C.dtype == torch.float64 else 1e-4
    return check_symmetric(C.to(torch.float64), name, tol=rtol, floor=1e-300, why=" (e.g. X^T X)")


def _check_rank(rank, out_f: int, in_f: int) -> int:
    return check_int(rank, "rank", 0, min(out_f, in_f))


def _eigh64(C64: torch.Tensor):
    """Descending, clamped eigenpairs of a symmetric float64 matrix, signs fixed."""
    evals, Q = torch.linalg.eigh(C64)
    evals = evals.flip(0).clamp_min(0.0)
    Q = fix_signs(Q.flip(1))
    return evals, Q


# --------------------------------------------------------------------------- spectra
def gram_eigh(gram):
    """Eigen-decomposition of a symmetric positive semi-definite Gram matrix.

    Parameters
    ----------
    gram : tensor or array, shape (n, n)
        Symmetric matrix, typically ``X^T X`` over calibration inputs.  Tiny asymmetry from
        rounding is removed by symmetrising.

    Returns
    -------
    evals : tensor, shape (n,)
        Eigenvalues in descending order; negative ones (rounding) are clamped to 0.
    Q : tensor, shape (n, n)
        Orthonormal eigenvectors as columns, each with its largest-magnitude entry positive.

    Examples
    --------
    >>> import torch
    >>> evals, Q = gram_eigh(torch.tensor([[2.0, 0.0], [0.0, 5.0]], dtype=torch.float64))
    >>> evals.tolist()
    [5.0, 2.0]
    >>> Q.tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    C = check_tensor(gram, "gram", dtype=None)
    C64 = _check_gram(C, None)
    evals, Q = _eigh64(C64)
    return evals.to(C.dtype), Q.to(C.dtype)


def project_topk(X, Q, k: int, reconstruct: bool = False):
    """Coordinates of the rows of ``X`` on the first ``k`` columns of ``Q``.

    Parameters
    ----------
    X : tensor, shape (n_samples, d)
    Q : tensor, shape (d, m)
        Basis with orthonormal columns, most important first (as from :func:`gram_eigh`).
    k : int
        Number of leading basis vectors, ``1 <= k <= m``.
    reconstruct : bool
        If True, return the projection ``X Q_k Q_k^T`` back in the original space
        (shape (n_samples, d)) instead of the coordinates ``X Q_k`` (shape (n_samples, k)).

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    >>> project_topk(X, torch.eye(2, dtype=torch.float64), 1).tolist()
    [[3.0]]
    >>> project_topk(X, torch.eye(2, dtype=torch.float64), 1, reconstruct=True).tolist()
    [[3.0, 0.0]]
    """
    X = check_tensor(X, "X", dtype=None)
    Q = check_tensor(Q, "Q", dtype=None)
    if Q.shape[0] != X.shape[1]:
        raise ValueError(f"Q must have {X.shape[1]} rows to match X's {X.shape[1]} columns, got shape {tuple(Q.shape)}")
    if Q.device != X.device:
        raise ValueError(f"X and Q must be on the same device, got {X.device} and {Q.device}")
    k = check_int(k, "k", 1, Q.shape[1])
    dtype = torch.promote_types(X.dtype, Q.dtype)
    Qk = Q[:, :k].to(torch.float64)
    Z = X.to(torch.float64) @ Qk
    out = Z @ Qk.T if reconstruct else Z
    return out.to(dtype)


def energy_captured(evals):
    """Cumulative fraction of the total eigenvalue mass captured by the top-``k`` values.

    Parameters
    ----------
    evals : tensor or array, shape (n,)
        Non-negative eigenvalues (any order; they are sorted descending).  Values above
        ``-1e-10 * max|evals|`` are accepted and clamped to 0 (rounding).

    Returns
    -------
    tensor, shape (n,)
        Entry ``k - 1`` is ``sum(top k) / sum(all)``; the last entry is 1.

    Examples
    --------
    >>> import torch
    >>> energy_captured(torch.tensor([1.0, 3.0], dtype=torch.float64)).tolist()
    [0.75, 1.0]
    """
    ev = check_tensor(evals, "evals", ndim=1, dtype=None)
    e64 = ev.to(torch.float64)
    lo = float(e64.min())
    if lo < -1e-10 * float(e64.abs().max()):
        raise ValueError(f"evals must be non-negative (eigenvalues of a PSD matrix), got a minimum of {lo:.3g}")
    e64 = e64.clamp_min(0.0).sort(descending=True).values
    total = float(e64.sum())
    if total <= 0:
        raise ValueError("evals must have a positive sum, got all zeros")
    frac = torch.cumsum(e64, 0) / total
    frac[-1] = 1.0
    return frac.to(ev.dtype)


def _orth(M: torch.Tensor, name: str) -> torch.Tensor:
    U, S, _ = torch.linalg.svd(M, full_matrices=False)
    tol = float(S[0]) * max(M.shape) * torch.finfo(torch.float64).eps if S.numel() else 0.0
    r = int((S > tol).sum())
    if r == 0:
        raise ValueError(f"{name} spans no subspace (all columns are zero)")
    return U[:, :r]


def principal_angles(U, V):
    """Principal angles (radians, ascending) between the column spans of ``U`` and ``V``.

    Both bases are orthonormalised first (via SVD; rank-deficient inputs use their actual
    span).  Cosines come from the singular values of ``Q_U^T Q_V``; small angles use the
    sines of ``Q_V - Q_U Q_U^T Q_V`` for accuracy (Bjorck & Golub), as
    :func:`scipy.linalg.subspace_angles` does.

    Parameters
    ----------
    U : tensor, shape (n, p)
    V : tensor, shape (n, q)

    Returns
    -------
    tensor, shape (min(rank U, rank V),)
        Angles in ``[0, pi/2]``, smallest first.

    Examples
    --------
    >>> import torch
    >>> e = torch.eye(3, dtype=torch.float64)
    >>> principal_angles(e[:, :2], e[:, 1:]).tolist()  # share e1, then e0 is orthogonal to e2
    [0.0, 1.5707963267948966]
    """
    U = check_tensor(U, "U", dtype=None)
    V = check_tensor(V, "V", dtype=None)
    if U.shape[0] != V.shape[0]:
        raise ValueError(f"U and V must have the same number of rows (ambient dimension), "
                         f"got shapes {tuple(U.shape)} and {tuple(V.shape)}")
    if U.device != V.device:
        raise ValueError(f"U and V must be on the same device, got {U.device} and {V.device}")
    dtype = torch.promote_types(U.dtype, V.dtype)
    QA = _orth(U.to(torch.float64), "U")
    QB = _orth(V.to(torch.float64), "V")
    if QA.shape[1] < QB.shape[1]:
        QA, QB = QB, QA
    M = QA.T @ QB
    cos = torch.linalg.svdvals(M).clamp(0.0, 1.0)              # descending -> angles ascending
    sin = torch.linalg.svdvals(QB - QA @ M).clamp(0.0, 1.0).flip(0)  # ascending -> angles ascending
    theta = torch.where(cos ** 2 >= 0.5, torch.arcsin(sin), torch.arccos(cos))
    return theta.to(dtype)


# --------------------------------------------------------------------------- compensation
def _check_delta(delta_w, name: str = "delta_w") -> torch.Tensor:
    return check_tensor(delta_w, name, dtype=None)


def _factors_from_svd(U, S, r: int):
    """B = U_r S_r^{1/2} and the left factor S_r^{1/2} (shared by SVD, EoRA, PiSSA)."""
    sq = S[:r].sqrt()
    return U[:, :r] * sq, sq


def svd_compensation(delta_w, rank: int):
    """Best rank-``rank`` approximation ``B A`` of ``delta_w`` in the Frobenius norm.

    Parameters
    ----------
    delta_w : tensor, shape (out, in)
        Compression error ``W - W_c``.
    rank : int
        ``0 <= rank <= min(out, in)``.

    Returns
    -------
    B : tensor, shape (out, rank)
        ``U_r S_r^{1/2}``.
    A : tensor, shape (rank, in)
        ``S_r^{1/2} V_r^T``.

    Examples
    --------
    >>> import torch
    >>> dW = torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64))
    >>> B, A = svd_compensation(dW, 1)
    >>> (B @ A).round(decimals=12).tolist()
    [[3.0, 0.0], [0.0, 0.0]]
    """
    D = _check_delta(delta_w)
    r = _check_rank(rank, *D.shape)
    U, S, Vh = svd_fixed_signs(D.to(torch.float64))
    B, sq = _factors_from_svd(U, S, r)
    A = sq[:, None] * Vh[:r]
    return B.to(D.dtype), A.to(D.dtype)


def eora_compensation(delta_w, gram, rank: int, eig=None):
    """EoRA: the rank-``rank`` ``B A`` minimising ``||X (delta_w - B A)^T||_F`` for ``gram = X^T X``.

    With ``gram = Q Lambda Q^T`` (negative eigenvalues clamped to 0) and the SVD
    ``delta_w Q Lambda^{1/2} = U S V^T``, the factors are ``B = U_r S_r^{1/2}`` and
    ``A = S_r^{1/2} V_r^T Lambda^{-1/2} Q^T``.  Because ``S_r V_r^T = U_r^T delta_w Q Lambda^{1/2}``,
    ``A`` equals ``S_r^{-1/2} U_r^T delta_w``: this form is used, so no ``Lambda^{-1/2}`` (and
    no eigenvalue floor) is needed and a singular ``gram`` is handled exactly.  Singular
    values that are zero up to rounding give zero columns of ``B`` / rows of ``A``.  With
    ``gram = I`` the product ``B A`` equals :func:`svd_compensation`'s.

    Parameters
    ----------
    delta_w : tensor, shape (out, in)
        Compression error ``W - W_c``.
    gram : tensor, shape (in, in)
        Symmetric positive semi-definite, e.g. ``sum X^T X`` over calibration batches.
    rank : int
        ``0 <= rank <= min(out, in)``.
    eig : (evals, Q), optional
        :func:`gram_eigh` of ``gram``, when already known (it is the costly part for wide
        layers, and it does not depend on ``delta_w``): used instead of a new eigensolve.

    Returns
    -------
    B : tensor, shape (out, rank)
    A : tensor, shape (rank, in)

    Examples
    --------
    >>> import torch
    >>> dW = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    >>> gram = torch.diag(torch.tensor([100.0, 0.0], dtype=torch.float64))  # 2nd input is always 0
    >>> B, A = eora_compensation(dW, gram, 1)
    >>> (B @ A).tolist()  # the error in the unused input direction costs nothing
    [[1.0, 1.0]]
    >>> compensation_error(dW, B, A, gram)
    0.0
    """
    D = _check_delta(delta_w)
    out_f, in_f = D.shape
    C64 = _check_gram(gram, in_f)
    if C64.device != D.device:
        raise ValueError(f"delta_w and gram must be on the same device, got {D.device} and {C64.device}")
    r = _check_rank(rank, out_f, in_f)
    D64 = D.to(torch.float64)
    if eig is None:
        evals, Q = _eigh64(C64)
    else:
        evals, Q = (torch.as_tensor(t).to(device=D.device, dtype=torch.float64) for t in eig)
        if evals.shape != (in_f,) or Q.shape != (in_f, in_f):
            raise ValueError(f"eig must be (evals, Q) of shapes ({in_f},) and ({in_f}, {in_f}) from gram_eigh(gram), "
                             f"got {tuple(evals.shape)} and {tuple(Q.shape)}")
        evals = evals.clamp_min(0.0)
    U, S, _ = svd_fixed_signs((D64 @ Q) * evals.sqrt())
    B, sq = _factors_from_svd(U, S, r)
    tol = float(S[0]) * max(D.shape) * torch.finfo(torch.float64).eps if S.numel() else 0.0
    keep = S[:r] > tol
    inv_sq = torch.where(keep, 1.0 / torch.where(keep, sq, torch.ones_like(sq)), torch.zeros_like(sq))
    B = B * keep
    A = inv_sq[:, None] * (U[:, :r].T @ D64)
    return B.to(D.dtype), A.to(D.dtype)


def compensation_error(delta_w, B, A, gram=None) -> float:
    """``||(delta_w - B A) C^{1/2}||_F`` (= ``||X (delta_w - B A)^T||_F`` for ``C = X^T X``).

    With ``gram=None`` this is the plain Frobenius norm of the residual.

    Examples
    --------
    >>> import torch
    >>> dW = torch.ones(2, 2, dtype=torch.float64)
    >>> compensation_error(dW, torch.zeros(2, 0, dtype=torch.float64), torch.zeros(0, 2, dtype=torch.float64))
    2.0
    """
    D = _check_delta(delta_w)
    if not isinstance(B, torch.Tensor) or not isinstance(A, torch.Tensor):
        raise TypeError("B and A must be torch.Tensors")
    if B.ndim != 2 or A.ndim != 2 or B.shape[0] != D.shape[0] or A.shape[1] != D.shape[1] or B.shape[1] != A.shape[0]:
        raise ValueError(f"B and A must have shapes ({D.shape[0]}, r) and (r, {D.shape[1]}), "
                         f"got {tuple(B.shape)} and {tuple(A.shape)}")
    E = D.to(torch.float64) - B.to(torch.float64) @ A.to(torch.float64)
    if gram is None:
        return float(torch.linalg.matrix_norm(E))
    C64 = _check_gram(gram, D.shape[1])
    val = float(((E @ C64) * E).sum())
    return math.sqrt(max(val, 0.0))


def pissa_split(W, rank: int):
    """PiSSA: split ``W`` into its principal rank-``rank`` part ``B A`` and a residual.

    ``B = U_r S_r^{1/2}``, ``A = S_r^{1/2} V_r^T`` from the SVD of ``W``, and
    ``W_res = W - B A`` (the minor singular components), so ``W = B A + W_res``.

    Parameters
    ----------
    W : tensor, shape (out, in)
    rank : int
        ``0 <= rank <= min(out, in)``.

    Returns
    -------
    B : tensor, shape (out, rank)
    A : tensor, shape (rank, in)
    W_res : tensor, shape (out, in)

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> B, A, W_res = pissa_split(W, 1)
    >>> W_res.tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    >>> torch.equal(B @ A + W_res, W)
    True
    """
    Wt = check_tensor(W, "W", dtype=None)
    r = _check_rank(rank, *Wt.shape)
    W64 = Wt.to(torch.float64)
    U, S, Vh = svd_fixed_signs(W64)
    B, sq = _factors_from_svd(U, S, r)
    A = sq[:, None] * Vh[:r]
    W_res = W64 - B @ A
    return B.to(Wt.dtype), A.to(Wt.dtype), W_res.to(Wt.dtype)


def toy_compensation(X, dW, rank: int = 1) -> dict:
    """SVD vs EoRA compensation of an error ``dW`` on activations ``X``, everything a plot
    of the 2-D toy (:func:`spectral_explorer.data.anisotropic_toy`) needs, as numpy.

    Returns a dict with ``X`` and ``dW`` (as given, numpy), the Gram ``C = XᵀX``, its
    ``evals`` (descending) and eigenvectors ``Q``; ``A``: per method (``"SVD"``, ``"EoRA"``)
    the first row of the rank-``rank`` factor ``A`` (the input direction the correction
    reads); ``errors``: the weighted error ``‖(dW − BA) C^{1/2}‖_F`` per method and for
    ``"none"`` (no correction); ``plain``: the same without weighting; ``residuals``: per
    method the remaining output error on every sample, ``X (dW − BA)ᵀ``.

    Examples
    --------
    >>> from spectral_explorer.data import anisotropic_toy
    >>> out = toy_compensation(*anisotropic_toy(200, anisotropy=10.0, angle=30.0, seed=0))
    >>> sorted(out)
    ['A', 'C', 'Q', 'X', 'dW', 'errors', 'evals', 'plain', 'residuals']
    >>> bool(out["errors"]["EoRA"] <= out["errors"]["SVD"] <= out["errors"]["none"])
    True
    """
    X = np.asarray(check_tensor(X, "X", dtype=torch.float64).cpu().numpy())
    dW = np.asarray(check_tensor(dW, "dW", dtype=torch.float64).cpu().numpy())
    if dW.shape[1] != X.shape[1]:
        raise ValueError(f"dW must have {X.shape[1]} input columns to match X's {X.shape[1]} features, "
                         f"got shape {dW.shape}")
    Xt, D = torch.from_numpy(X), torch.from_numpy(dW)
    C = Xt.T @ Xt
    evals, Q = gram_eigh(C)
    fac = {"SVD": svd_compensation(D, rank), "EoRA": eora_compensation(D, C, rank)}
    zero = (torch.zeros(D.shape[0], 0, dtype=D.dtype), torch.zeros(0, D.shape[1], dtype=D.dtype))
    errors = {"none": compensation_error(D, *zero, C)}
    plain = {"none": compensation_error(D, *zero)}
    residuals = {}
    for name, (B, A) in fac.items():
        errors[name] = compensation_error(D, B, A, C)
        plain[name] = compensation_error(D, B, A)
        residuals[name] = (Xt @ (D - B @ A).T).numpy()
    return {"X": X, "dW": dW, "C": C.numpy(), "evals": evals.numpy(), "Q": Q.numpy(),
            "A": {k: v[1].numpy()[0] for k, v in fac.items()}, "errors": errors, "plain": plain,
            "residuals": residuals}


def powerlaw_gram(n: int, exponent: float = 1.0, seed: int = 0):
    """A synthetic activation Gram ``C = Q diag(λ) Qᵀ`` of size ``n`` with power-law eigenvalues
    ``λ_k = k^(−exponent)`` (k = 1 … n; real activations decay much like this) in a random
    orientation ``Q`` (QR of a seeded Gaussian matrix).  Returns ``(C, (λ, Q))``: the second item
    is what :func:`eora_compensation` takes as ``eig=``.  ``n ≤ 4096``.

    >>> C, (lam, Q) = powerlaw_gram(3)
    >>> torch.allclose(C, Q @ torch.diag(lam) @ Q.T), lam.tolist()
    (True, [1.0, 0.5, 0.3333333333333333])
    """
    n = int(n)
    if not 1 <= n <= 4096:
        raise ValueError(f"powerlaw_gram: n must be in 1…4096, got {n}")
    g = torch.Generator().manual_seed(int(seed))
    Q, R = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R)).where(torch.diagonal(R) != 0, torch.ones(()))
    lam = torch.arange(1, n + 1, dtype=torch.float64) ** (-float(exponent))
    return (Q * lam) @ Q.T, (lam, Q)


def rank_error_curve(W, W_hat, gram, ranks, eig=None) -> dict:
    """The rank-r SVD and EoRA corrections of ``ΔW = W − Ŵ`` at each ``r`` of ``ranks``, measured
    on the activations of ``gram`` (``C = XᵀX``): ``{"rank", "SVD", "EoRA", "SVD, C = I"}`` with the
    relative errors ``‖(ΔW − B A) C^½‖_F / ‖W C^½‖_F`` and, last, SVD's plain
    ``‖ΔW − B A‖_F / ‖W‖_F`` (any method's error for isotropic activations, where EoRA = SVD).
    Each method is factorised once at the largest rank and sliced (both are truncations).

    >>> W = torch.eye(3, dtype=torch.float64); C, eig = powerlaw_gram(3)
    >>> out = rank_error_curve(W, 0.5 * W, C, [0, 1, 3], eig=eig)
    >>> [round(e, 4) for e in out["EoRA"]], [round(e, 4) for e in out["SVD"]]
    ([0.5, 0.3371, 0.0], [0.5, 0.3591, 0.0])
    """
    W = torch.as_tensor(W).to(torch.float64)
    D = W - torch.as_tensor(W_hat).to(device=W.device, dtype=torch.float64)
    C = _check_gram(gram, W.shape[1])
    ranks = [int(r) for r in ranks]
    rmax = max(ranks)
    Bs, As = svd_compensation(D, rmax)
    Be, Ae = eora_compensation(D, C, rmax, eig=eig)
    den = math.sqrt(max(float(((W @ C) * W).sum()), 0.0)) or 1.0
    den_i = float(torch.linalg.matrix_norm(W)) or 1.0
    out = {"rank": ranks, "SVD": [], "EoRA": [], "SVD, C = I": []}
    for r in ranks:
        out["SVD"].append(compensation_error(D, Bs[:, :r], As[:r], C) / den)
        out["EoRA"].append(compensation_error(D, Be[:, :r], Ae[:r], C) / den)
        out["SVD, C = I"].append(compensation_error(D, Bs[:, :r], As[:r]) / den_i)
    return out


def example_weight(out_features: int = 96, in_features: int = 128, seed: int = 0):
    """The shipped example weight matrix (``assets/examples/eigenspace_weight.npy``, float32):
    ``U diag(σ) Vᵀ`` with random orthonormal ``U``, ``V`` and ``σ_k = k^(−½)``, like a trained
    layer's slowly decaying spectrum.  Regenerate it with ``python -c "import numpy as np;
    from spectral_explorer.eigenspace import example_weight;
    np.save('spectral_explorer/assets/examples/eigenspace_weight.npy', example_weight())"``."""
    rng = np.random.default_rng(int(seed))
    k = min(out_features, in_features)
    U, _ = np.linalg.qr(rng.standard_normal((out_features, k)))
    V, _ = np.linalg.qr(rng.standard_normal((in_features, k)))
    s = np.arange(1, k + 1, dtype=np.float64) ** -0.5
    return ((U * s) @ V.T).astype(np.float32)
