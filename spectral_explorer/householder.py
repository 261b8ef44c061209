"""Low-rank orthogonal layers built from Householder reflections (Song et al., ICCV 2023).

A Householder reflection ``H = I − τ v vᵀ`` with ``τ = 2 / ‖v‖²`` mirrors space in the
hyperplane orthogonal to ``v``; it is orthogonal for *every* nonzero ``v``.  A product of ``r``
of them, ``Q = H₁ H₂ … H_r``, is orthogonal too, and its first ``r`` columns are an
orthonormal frame.  :class:`HouseholderProjector` is a linear layer ``y = x Wᵀ`` whose weight
is kept in the factored form

    ``W = U_r diag(s) V_rᵀ``,  ``U_r = (H₁ᵁ … H_rᵁ)[:, :r]``,  ``V_r = (H₁ⱽ … H_rⱽ)[:, :r]``,

so ``U_r`` and ``V_r`` stay orthonormal to round-off whatever an optimiser does to the
reflection vectors, and ``W`` has rank ``r`` with singular values ``|s|``.  The vectors follow
the LAPACK convention (``v_i`` has zeros above entry ``i`` and a 1 at entry ``i``; the free
entries are those below), so the same parameters can be handed to
:func:`torch.linalg.householder_product`, and :meth:`HouseholderProjector.from_weight` can
start from :func:`torch.geqrf` of a pretrained weight's singular vectors — with ``τ``
recomputed as ``2/‖v‖²``, which is what LAPACK's ``τ`` is in exact arithmetic, the frame is
the singular vectors to round-off: an exact re-parameterisation of the best rank-``r``
approximation, not an approximation of it.

Three ways to form the frame, chosen by shape (``method="auto"``):

* ``"loop"`` — ``r`` rank-1 updates applied to a shrinking block (cheap for thin frames);
* ``"lapack"`` — :func:`torch.linalg.householder_product` (blocked ``orgqr``);
* ``"wy"`` — the compact WY form ``Q = I − Y T Yᵀ`` with ``T⁻¹ = striu(YᵀY) + ½ diag(YᵀY)``
  (Schreiber & Van Loan): two matrix products and one triangular solve, all level-3 BLAS.

:func:`rotate_frames` turns the equal-singular-value ambiguity into numbers: rotating ``U_r``
and ``V_r`` by the same ``r × r`` rotation leaves ``W`` unchanged while the singular vectors
("SeFa directions") turn.  Pure torch; runs on the parameters' device.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_int

__all__ = ["HouseholderProjector", "householder_frame", "householder_vectors", "rotate_frames",
           "rotation_matrix", "orthogonality_error", "FRAME_METHODS"]

FRAME_METHODS = ("auto", "loop", "lapack", "wy")


def _unit_lower(A: torch.Tensor) -> torch.Tensor:
    """The reflection vectors as columns: strictly lower part of ``A`` plus ones on the diagonal."""
    n, r = A.shape[-2:]
    return torch.tril(A, -1) + torch.eye(n, r, dtype=A.dtype, device=A.device)


def _frame_loop(Y: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    n, r = Y.shape
    # apply H_r, then H_{r-1}, …, H_1 to E_r; before H_i, rows < i and columns < i are the identity's
    B = Y.new_zeros(n - r, 0)
    for i in range(r - 1, -1, -1):
        v = Y[i:, i:i + 1]
        top = torch.zeros(1, r - 1 - i, dtype=Y.dtype, device=Y.device)
        one = torch.zeros(n - i, 1, dtype=Y.dtype, device=Y.device)
        one[0, 0] = 1
        C = torch.cat([one, torch.cat([top, B], 0)], 1)        # (n - i, r - i)
        B = C - (tau[i] * v) @ (v.T @ C)
    return B


def _frame_wy(Y: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    n, r = Y.shape
    G = Y.T @ Y
    Tinv = torch.triu(G, 1) + torch.diag(1.0 / tau)
    X = torch.linalg.solve_triangular(Tinv, Y[:r].T, upper=True)      # T Y_rᵀ
    return torch.eye(n, r, dtype=Y.dtype, device=Y.device) - Y @ X


def _auto_method(n: int, r: int) -> str:
    """The fastest frame method for forward+backward.  Measured on CPU (``benchmarks/householder.py``)
    the compact WY form beats both the rank-1 loop and ``householder_product`` at every shape tried
    (thin 8192 × 10 through square 512 × 512; the three tie within noise for ``r <= 2``);
    ``householder_product``'s backward is pathologically slow on tall frames (seconds at 8192 × 10)."""
    return "wy"


def householder_frame(A: torch.Tensor, method: str = "auto") -> torch.Tensor:
    """The first ``r`` columns of ``H₁ … H_r`` for the reflection vectors stored in ``A`` (n, r).

    Column ``i`` of ``A`` holds ``v_i`` below the diagonal (entry ``i`` is an implicit 1, entries
    above are ignored, as in LAPACK), and ``τ_i = 2 / ‖v_i‖²``, so the result is orthonormal for
    any finite ``A``.  Differentiable with every ``method``; all give the same frame to round-off.
    """
    if A.dim() != 2 or A.shape[1] > A.shape[0] or A.shape[1] < 1:
        raise ValueError(f"reflection vectors must be an (n, r) matrix with 1 <= r <= n; got {tuple(A.shape)}")
    if method not in FRAME_METHODS:
        raise ValueError(f"method must be one of {FRAME_METHODS}; got {method!r}")
    n, r = A.shape
    Y = _unit_lower(A)
    tau = 2.0 / (Y * Y).sum(0)
    if method == "auto":
        method = _auto_method(n, r)
    if method == "loop":
        return _frame_loop(Y, tau)
    if method == "lapack":
        return torch.linalg.householder_product(Y, tau)
    return _frame_wy(Y, tau)


def householder_vectors(Q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reflection vectors ``A`` (n, r) and signs ``d`` (r,) with ``householder_frame(A) = Q diag(d)``.

    ``Q`` (n, r) must have orthonormal columns.  From :func:`torch.geqrf`: ``Q = Q̂ R`` with ``R``
    diagonal ±1 up to round-off, so ``d = sign(diag R)``; the vectors are LAPACK's, and ``τ`` is
    *recomputed* as ``2/‖v‖²`` (LAPACK's ``τ`` equals it in exact arithmetic; using the stored one
    with a dense product of the packed matrix would be neither orthogonal nor exact).
    """
    if Q.dim() != 2 or Q.shape[1] > Q.shape[0]:
        raise ValueError(f"Q must be an (n, r) matrix with r <= n; got {tuple(Q.shape)}")
    a, tau = torch.geqrf(Q)
    d = torch.sign(torch.diagonal(a))
    d = torch.where(d == 0, torch.ones_like(d), d)
    # LAPACK's τ = 0 (nothing below the diagonal, e.g. the last column of a square Q) means
    # H = I; our τ = 2/‖v‖² = 2 makes that reflector flip coordinate i, which commutes with
    # the later reflectors and so only negates column i: one more sign
    d = torch.where(tau == 0, -d, d)
    return torch.tril(a, -1), d


def orthogonality_error(Q: torch.Tensor) -> float:
    """``‖QᵀQ − I‖₂`` (spectral norm) of a frame (n, r)."""
    Qd = Q.detach()
    I = torch.eye(Qd.shape[1], dtype=Qd.dtype, device=Qd.device)
    return float(torch.linalg.matrix_norm(Qd.T @ Qd - I, ord=2))


def rotation_matrix(r: int, angle: float, plane: tuple[int, int] = (0, 1), dtype=torch.float64,
                    device=None) -> torch.Tensor:
    """The ``r × r`` rotation by ``angle`` (radians) in the coordinate plane ``plane``."""
    r = check_int(r, "r", 2)
    i, j = plane
    if not (0 <= i < r and 0 <= j < r and i != j):
        raise ValueError(f"plane must be two distinct indices in [0, {r - 1}]; got {plane}")
    R = torch.eye(r, dtype=dtype, device=device)
    c, s = math.cos(angle), math.sin(angle)
    R[i, i] = R[j, j] = c
    R[i, j], R[j, i] = -s, s
    return R


class HouseholderProjector(nn.Module):
    """A rank-``r`` linear layer ``y = x Wᵀ`` (like ``nn.Linear(in, out, bias=False)``) with
    ``W = U_r diag(s) V_rᵀ``, ``U_r`` (out, r) and ``V_r`` (in, r) built from ``r`` Householder
    reflections each (see the module docstring).

    Parameters
    ----------
    in_features, out_features, rank : ``1 <= rank <= min(in_features, out_features)``.
    singular_values : ``"equal"`` (all ones, fixed — the paper's 0/1 diagonal), ``"fixed"``
        (``r, r-1, …, 1`` scaled to mean 1, fixed and distinct), ``"learned"`` (initialised to
        ones, trained), or a tensor/sequence of ``r`` values (fixed).
    method : frame method, ``"auto"`` (by shape), ``"loop"``, ``"lapack"`` or ``"wy"``.
    generator : optional :class:`torch.Generator` for the random initial reflection vectors.

    Attributes: ``u_vectors`` (out, r) and ``v_vectors`` (in, r) (parameters; the strictly lower
    parts are used), ``s`` (parameter if learned, else a buffer), ``signs`` (buffer of ±1 that
    :meth:`from_weight` uses to make the frames the singular vectors exactly; the effective
    singular values are ``signs * s``).

    >>> layer = HouseholderProjector(5, 7, 2, dtype=torch.float64)
    >>> W = layer.weight.detach()
    >>> tuple(W.shape), int(torch.linalg.matrix_rank(W)), orthogonality_error(layer.frame_v()) < 1e-12
    ((7, 5), 2, True)
    """

    def __init__(self, in_features: int, out_features: int, rank: int, singular_values="equal",
                 method: str = "auto", dtype=None, device=None, generator: torch.Generator | None = None):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", 1)
        self.out_features = check_int(out_features, "out_features", 1)
        self.rank = check_int(rank, "rank", 1, min(self.in_features, self.out_features))
        if method not in FRAME_METHODS:
            raise ValueError(f"method must be one of {FRAME_METHODS}; got {method!r}")
        self.method = method
        kw = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        r = self.rank
        gen_kw = {"generator": generator} if generator is not None else {}
        self.u_vectors = nn.Parameter(torch.randn(self.out_features, r, **gen_kw).to(**kw) / math.sqrt(r))
        self.v_vectors = nn.Parameter(torch.randn(self.in_features, r, **gen_kw).to(**kw) / math.sqrt(r))
        self.register_buffer("signs", torch.ones(r, **kw))
        self.mode = "fixed"
        if isinstance(singular_values, str):
            if singular_values not in ("equal", "fixed", "learned"):
                raise ValueError(f"singular_values must be 'equal', 'fixed', 'learned' or {r} values; "
                                 f"got {singular_values!r}")
            self.mode = singular_values
            s = torch.ones(r, **kw)
            if singular_values == "fixed":
                s = torch.arange(r, 0, -1, **kw)
                s = s / s.mean()
        else:
            s = torch.as_tensor(singular_values, **kw).reshape(-1)
            if s.numel() != r or not torch.isfinite(s).all():
                raise ValueError(f"singular_values must hold {r} finite values; got shape {tuple(s.shape)}")
        if self.mode == "learned":
            self.s = nn.Parameter(s.clone())
        else:
            self.register_buffer("s", s.clone())

    # -------------------------------------------------------------------------------- frames
    def frame_u(self) -> torch.Tensor:
        """``U_r`` (out, r), orthonormal columns."""
        return householder_frame(self.u_vectors, self.method)

    def frame_v(self) -> torch.Tensor:
        """``V_r`` (in, r), orthonormal columns: the layer's right singular vectors, the latent
        directions SeFa would read off (unique only where the singular values are distinct)."""
        return householder_frame(self.v_vectors, self.method)

    @property
    def singular_values(self) -> torch.Tensor:
        """The effective diagonal ``signs * s`` (``|·|`` are the singular values of ``W``)."""
        return self.signs * self.s

    @property
    def weight(self) -> torch.Tensor:
        """The dense (out, in) matrix ``U_r diag(signs·s) V_rᵀ``."""
        return (self.frame_u() * self.singular_values) @ self.frame_v().T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input must have {self.in_features} features in its last dimension; "
                             f"got shape {tuple(x.shape)}")
        return ((x @ self.frame_v()) * self.singular_values) @ self.frame_u().T

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
                f"singular_values={self.mode!r}, method={self.method!r}")

    # -------------------------------------------------------------------------------- builders
    @classmethod
    def from_factors(cls, U: torch.Tensor, s, V: torch.Tensor, singular_values: str = "fixed",
                     method: str = "auto") -> "HouseholderProjector":
        """A projector with ``frame_u() = U``, ``frame_v() = V`` (to round-off) and diagonal ``s``.

        ``U`` (out, r) and ``V`` (in, r) must have orthonormal columns.  ``singular_values``:
        ``"fixed"`` or ``"learned"`` (start from ``s``), or ``"equal"`` (all equal to the mean of ``s``).
        """
        if U.dim() != 2 or V.dim() != 2 or U.shape[1] != V.shape[1]:
            raise ValueError(f"U and V must be (out, r) and (in, r); got {tuple(U.shape)} and {tuple(V.shape)}")
        r = U.shape[1]
        s = torch.as_tensor(s, dtype=U.dtype, device=U.device).reshape(-1)
        if s.numel() != r:
            raise ValueError(f"s must hold {r} values; got {s.numel()}")
        if singular_values not in ("equal", "fixed", "learned"):
            raise ValueError(f"singular_values must be 'equal', 'fixed' or 'learned'; got {singular_values!r}")
        layer = cls(V.shape[0], U.shape[0], r, singular_values=singular_values, method=method,
                    dtype=U.dtype, device=U.device)
        au, du = householder_vectors(U.detach())
        av, dv = householder_vectors(V.detach())
        with torch.no_grad():
            layer.u_vectors.copy_(au)
            layer.v_vectors.copy_(av)
            # frame_u = U du, frame_v = V dv, so W = U (du·signs·s·dv) Vᵀ = U s Vᵀ with signs = du·dv
            layer.signs.copy_(du * dv)
            layer.s.copy_(s.mean().expand(r) if singular_values == "equal" else s)
        return layer

    @classmethod
    def from_weight(cls, weight: torch.Tensor, rank: int, singular_values: str = "fixed",
                    method: str = "auto") -> "HouseholderProjector":
        """An exact re-parameterisation of the best rank-``rank`` approximation of ``weight`` (out, in).

        The reflection vectors come from :func:`torch.geqrf` of the top singular vectors, so the
        frames are those singular vectors (up to a sign per column, which ``signs`` absorbs).
        ``singular_values="fixed"`` (the weight's own, fixed) or ``"learned"`` (the weight's, as a
        parameter) give ``.weight`` equal to the truncated SVD to round-off; ``"equal"`` keeps the
        singular vectors with every singular value set to their mean (the paper's equal diagonal).
        """
        W = weight.detach()
        if W.dim() != 2 or not W.is_floating_point():
            raise ValueError(f"weight must be a floating (out, in) matrix; got shape {tuple(W.shape)}")
        if not torch.isfinite(W).all():
            raise ValueError("weight contains NaN or infinite values")
        rank = check_int(rank, "rank", 1, min(W.shape))
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        return cls.from_factors(U[:, :rank], S[:rank], Vh[:rank].T, singular_values, method)


def rotate_frames(layer: HouseholderProjector, R: torch.Tensor) -> HouseholderProjector:
    """A new projector whose frames are ``U_r R`` and ``V_r R`` (same ``R``, an ``r × r`` rotation).

    With equal singular values its weight is the same matrix (``U R s I Rᵀ Vᵀ = s U Vᵀ``) while
    its singular vectors — the latent directions read off ``V_r`` — are rotated: the SVD of an
    equal-``S`` projector does not determine its directions.
    """
    r = layer.rank
    if R.shape != (r, r):
        raise ValueError(f"R must be {r} × {r}; got {tuple(R.shape)}")
    with torch.no_grad():
        sv = layer.singular_values
        U = layer.frame_u() * torch.sign(sv)       # fold the signs into U so that s ≥ 0
        V = layer.frame_v()
        Rt = R.to(U.dtype)
        return HouseholderProjector.from_factors(U @ Rt, sv.abs(), V @ Rt,
                                                 "learned" if layer.mode == "learned" else "fixed", layer.method)
