"""Multidimensional scaling: classical, metric (SMACOF) and landmark MDS.

Pure torch/scipy; each function takes a distance matrix and returns coordinates as a
numpy array with deterministic signs (largest-magnitude entry of each axis positive).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla
import torch

from ._validation import check_int
from .device import default_dtype, resolve_device
from .eigen import fix_signs

__all__ = ["classical_mds", "smacof", "landmark_mds", "stress"]


def _check_distances(D, name="D", square=True) -> np.ndarray:
    if isinstance(D, torch.Tensor):
        D = D.detach().cpu().double().numpy()
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or (square and D.shape[0] != D.shape[1]):
        want = "square (n, n)" if square else "2-D"
        raise ValueError(f"{name} must be a {want} distance matrix, got shape {D.shape}")
    if not np.isfinite(D).all():
        raise ValueError(f"{name} contains NaN or infinite distances (a disconnected graph?)")
    if (D < 0).any():
        raise ValueError(f"{name} contains negative distances")
    return D


def _top_eigh(B: np.ndarray, k: int):
    n = B.shape[0]
    if n <= 600 or k >= n - 1:
        w, V = np.linalg.eigh(B)
        w, V = w[::-1][:k], V[:, ::-1][:, :k]
    else:
        v0 = np.ones(n) / np.sqrt(n) + 1e-3 * np.cos(np.arange(n))
        w, V = spla.eigsh(B, k=k, which="LA", v0=v0)
        o = np.argsort(w)[::-1]
        w, V = w[o], V[:, o]
    return w, fix_signs(V)


def classical_mds(D, n_components: int = 2, device=None) -> np.ndarray:
    """Classical (Torgerson) MDS: top eigenvectors of ``−½ J D² J`` scaled by ``√λ``.

    Recovers a Euclidean configuration exactly (up to rotation/reflection) from its
    distance matrix.

    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> Y = classical_mds(D, 2)
    >>> bool(np.allclose(np.linalg.norm(Y[:, None] - Y[None], axis=-1), D))
    True
    """
    D = _check_distances(D)
    n = D.shape[0]
    n_components = check_int(n_components, "n_components", 1, max(1, n - 1))
    dev = resolve_device(device)
    Dt = torch.as_tensor(D, dtype=torch.float64, device=dev)
    D2 = Dt * Dt
    B = D2 - D2.mean(dim=0, keepdim=True) - D2.mean(dim=1, keepdim=True) + D2.mean()
    B = -0.5 * (B + B.T) * 0.5
    w, V = _top_eigh(B.cpu().numpy(), n_components)
    return V * np.sqrt(np.clip(w, 0.0, None))


def stress(D, Y) -> float:
    """Kruskal's normalized stress-1 of coordinates ``Y`` against distances ``D``."""
    D = _check_distances(D)
    Y = np.asarray(Y, dtype=np.float64)
    d = np.linalg.norm(Y[:, None] - Y[None], axis=-1)
    return float(np.sqrt(((D - d) ** 2).sum() / max((D**2).sum(), 1e-300)))


def smacof(D, n_components: int = 2, init=None, max_iter: int = 100, tol: float = 1e-5,
           device=None, dtype=None, weight_power: float = 0.0) -> np.ndarray:
    """Metric MDS by SMACOF (Guttman transform iterations), initialised by classical MDS.

    Minimises the stress ``Σ_{i<j} w_ij (D_ij − ‖y_i − y_j‖)²`` with ``w_ij = D_ij^{−p}``,
    ``p = weight_power``: ``p = 0`` (default) is the raw stress; ``p = 2`` the relative stress
    that the s_gd2 layout of the heat-geodesic paper's code minimises by stochastic gradient
    descent, which lets short pairs — the local shape — count as much as long ones.  Each
    iteration solves ``V Y = B(Y) Y`` (``V`` the weights' Laplacian, factorized once); stops
    when the relative decrease of stress falls below ``tol``.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> Y = smacof(D, 2, weight_power=2.0, init=X + 0.05 * rng.normal(size=X.shape), max_iter=500, tol=1e-12)
    >>> float(np.abs(np.linalg.norm(Y[:, None] - Y[None], axis=-1) - D).max()) < 1e-3   # a Euclidean D is met
    True
    """
    D = _check_distances(D)
    n = D.shape[0]
    n_components = check_int(n_components, "n_components", 1, max(1, n - 1))
    max_iter = check_int(max_iter, "max_iter", 0)
    if not (np.isfinite(weight_power) and weight_power >= 0):
        raise ValueError(f"weight_power must be a finite number ≥ 0, got {weight_power!r}")
    Y0 = classical_mds(D, n_components, device=device) if init is None else np.asarray(init, dtype=np.float64)
    if Y0.shape != (n, n_components):
        raise ValueError(f"init must have shape ({n}, {n_components}), got {Y0.shape}")
    dev = resolve_device(device)
    dt = default_dtype(dev, dtype) if weight_power == 0 else torch.float64
    Dt = torch.as_tensor(D, dtype=dt, device=dev)
    Y = torch.as_tensor(Y0, dtype=dt, device=dev).clone()
    Y = Y - Y.mean(dim=0, keepdim=True)
    if weight_power > 0:
        off = Dt > 0
        Wt = torch.where(off, Dt.clamp_min(1e-300) ** (-weight_power), torch.zeros_like(Dt))
        Wt.fill_diagonal_(0.0)
        V = torch.diag(Wt.sum(dim=1)) - Wt + 1.0 / n      # + 11ᵀ/n: SPD, same solution on centred Y
        chol = torch.linalg.cholesky(V)
    else:
        Wt = None
    WD = Dt if Wt is None else Wt * Dt       # the weighted targets (zero diagonal)
    prev = None
    for _ in range(max_iter):
        d = torch.cdist(Y, Y)
        r = Dt - d
        s = (r * r if Wt is None else Wt * r * r).sum() / 2
        # w_ij D_ij / d_ij, 0 where two points coincide (0/0 on the diagonal, x/0 for duplicates)
        ratio = torch.nan_to_num(WD / d, nan=0.0, posinf=0.0)
        Bm = -ratio
        Bm.diagonal().copy_(ratio.sum(dim=1) - ratio.diagonal())
        Y = Bm @ Y / n if Wt is None else torch.cholesky_solve(Bm @ Y, chol)
        if prev is not None and (prev - s) <= tol * prev:
            break
        prev = s
    return fix_signs(Y.cpu().double().numpy())


def landmark_mds(D_landmarks, landmarks, n_components: int = 2) -> np.ndarray:
    """Landmark MDS (de Silva & Tenenbaum): classical MDS on the landmarks, then every
    point placed by distance-based triangulation.

    Parameters
    ----------
    D_landmarks : (n, m) distances from every point to the ``m`` landmarks.
    landmarks : (m,) indices of the landmarks among the ``n`` points.
    """
    D = _check_distances(D_landmarks, "D_landmarks", square=False)
    landmarks = np.asarray(landmarks, dtype=np.int64)
    n, m = D.shape
    if landmarks.shape != (m,):
        raise ValueError(f"landmarks must have shape ({m},) to match D_landmarks, got {landmarks.shape}")
    n_components = check_int(n_components, "n_components", 1, max(1, m - 1))
    Dm = D[landmarks]
    Dm = 0.5 * (Dm + Dm.T)
    D2m = Dm**2
    B = -0.5 * (D2m - D2m.mean(0, keepdims=True) - D2m.mean(1, keepdims=True) + D2m.mean())
    w, V = _top_eigh(B, n_components)
    w = np.clip(w, 1e-12, None)
    pinv = V / np.sqrt(w)  # (m, k): L^# transposed
    delta_mean = D2m.mean(axis=0)
    return fix_signs(-0.5 * (D**2 - delta_mean) @ pinv)
