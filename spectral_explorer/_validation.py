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


def check_bool(value, name: str) -> bool:
    """``True`` or ``False`` (numpy bools too), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


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


def check_tensor(x, name: str, ndim: int | None = 2, dtype: torch.dtype | None = torch.float64, *,
                 shape: str | None = None, lists: bool = True, integers: bool = True) -> torch.Tensor:
    """``x`` as a finite, real, non-empty tensor with ``ndim`` dimensions (device kept, detached).

    ``x`` may be a tensor, a numpy array or (``lists=True``) a nested list / tuple.
    ``dtype=None`` keeps a floating input's dtype; integer / bool input becomes float64
    (or, with ``integers=False``, is refused).  ``shape`` describes the expected shape in the
    messages (default ``"(n,)"`` for 1-D, ``"(rows, cols)"`` for 2-D).

    >>> check_tensor([[1, 2]], "W").dtype
    torch.float64
    >>> check_tensor(torch.ones(3), "W")
    Traceback (most recent call last):
    ...
    ValueError: W must be 2-D with shape (rows, cols), got shape (3,)
    """
    shape = shape or {1: "(n,)", 2: "(rows, cols)"}.get(ndim, f"{ndim}-D" if ndim else "")
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray) or (lists and isinstance(x, (list, tuple))):
        try:
            arr = np.asarray(x)
            if arr.dtype.kind not in "biufc":
                arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric tensor or array: {exc}") from exc
        t = torch.as_tensor(arr)
    else:
        what = "a torch.Tensor or numpy array" if lists else "a torch.Tensor"
        raise TypeError(f"{name} must be {what}{' of shape ' + shape if shape else ''}, got {type(x).__name__}")
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {t.dtype}")
    if not t.is_floating_point():
        if not integers:
            raise TypeError(f"{name} must have a floating dtype, got {t.dtype}")
        t = t.to(torch.float64)
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D with shape {shape}, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def check_symmetric(M, name: str, tol: float = 1e-10, floor: float = 1.0, why: str = "", hint: str = "",
                    labels=None):
    """Check ``max|M − Mᵀ| <= tol · max(floor, max|M|)`` and return the exactly symmetrised
    ``(M + Mᵀ) / 2`` (same type: tensor, numpy array or scipy sparse).

    A tensor / array with more than two dimensions is a batch of ``(n, n)`` matrices, each
    checked against its own scale; the message names the first bad one as ``name[i]``
    (``labels[i]`` when given).  ``why`` follows "must be symmetric" in the message (e.g.
    ``" (an undirected graph)"``), ``hint`` ends it (e.g. how to symmetrise).

    >>> import numpy as np
    >>> check_symmetric(np.array([[0.0, 1.0], [1.0 + 2 ** -40, 0.0]]), "A").tolist()
    [[0.0, 1.0000000000004547], [1.0000000000004547, 0.0]]
    >>> check_symmetric(np.array([[0.0, 1.0], [0.0, 0.0]]), "A", why=" (an undirected graph)")
    Traceback (most recent call last):
    ...
    ValueError: A must be symmetric (an undirected graph); max |A - Aᵀ| = 1 exceeds 1e-10 x max(1, max|A|) = 1e-10
    """
    if sp.issparse(M):
        asym = float(abs(M - M.T).max()) if M.nnz else 0.0
        scale = max(floor, float(abs(M).max()) if M.nnz else 0.0)
        bad = asym > tol * scale
        item, sym = name, (M + M.T) * 0.5
    else:
        is_np = not isinstance(M, torch.Tensor)
        T = torch.as_tensor(M) if is_np else M
        if T.ndim < 2 or T.shape[-1] != T.shape[-2]:
            raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(T.shape)}")
        if T.numel() == 0:
            return M
        diff = (T - T.mT).abs().flatten(0, -3) if T.ndim > 2 else (T - T.mT).abs()[None]
        mags = T.abs().flatten(0, -3) if T.ndim > 2 else T.abs()[None]
        asyms = diff.flatten(1).amax(1)
        scales = mags.flatten(1).amax(1).clamp_min(floor)
        bads = asyms > tol * scales
        bad = bool(bads.any())
        j = int(bads.nonzero()[0, 0]) if bad else 0
        asym, scale = float(asyms[j]), float(scales[j])
        item = name if T.ndim == 2 else f"{name}[{labels[j] if labels is not None else j}]"
        sym = (T + T.mT) * 0.5
        if is_np:
            sym = sym.numpy()
    if bad:
        raise ValueError(f"{item} must be symmetric{why}; max |{item} - {item}ᵀ| = {asym:.3g} exceeds "
                         f"{tol:g} x max({floor:g}, max|{item}|) = {tol * scale:.3g}{hint}")
    return sym
