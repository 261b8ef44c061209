"""Input checks shared by the public functions: clear messages that name the parameter."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import torch


def check_points(X, name: str = "X", min_samples: int = 2) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 array of shape (n_samples, n_features).

    Raises ``TypeError``/``ValueError`` naming ``name`` for sparse, ragged, non-numeric,
    wrongly shaped, too small or non-finite input.
    """
    if sp.issparse(X):
        raise TypeError(f"{name} must be a dense array of shape (n_samples, n_features), got a sparse matrix")
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array of shape (n_samples, n_features): {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got an array with shape {arr.shape}")
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{name} must have at least one feature, got shape {arr.shape}")
    if n < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples, got {n}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or infinite values in {bad} row(s); remove or impute them first")
    return np.ascontiguousarray(arr)


def check_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_float(value, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True) -> float:
    """A finite real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None:
        if low_inclusive and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
        if not low_inclusive and value <= low:
            raise ValueError(f"{name} must be > {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(value, name: str, choices) -> str:
    """One of a fixed set of strings."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_square_sparse(A, name: str) -> sp.csr_matrix:
    """A square matrix (dense, sparse or tensor) as float64 CSR."""
    if isinstance(A, torch.Tensor):
        A = A.detach().cpu().numpy()
    A = sp.csr_matrix(A, dtype=np.float64) if not sp.issparse(A) else A.tocsr().astype(np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
    if A.nnz and not np.isfinite(A.data).all():
        raise ValueError(f"{name} contains NaN or infinite entries")
    return A
