"""Stable and expressive positional encodings (SPE) and the baselines it is compared with.

Huang et al., "On the Stability of Expressive Positional Encodings for Graphs" (ICLR 2024)
encode a graph through its Laplacian eigenpairs ``(λ, V)`` as

.. math::

    \\mathrm{SPE}(V, λ) = ρ\\big([V \\operatorname{diag}(φ_ℓ(λ)) V^\\top]_{ℓ=1..m}\\big),

with ``φ_ℓ`` learned (Lipschitz) functions of the eigenvalues and ``ρ`` a
permutation-equivariant network.  Because ``V diag(φ(λ)) Vᵀ`` depends on the eigenspaces
only, never on a basis of them, the encoding is invariant to eigenvector sign flips and
to rotations inside repeated eigenspaces.

Stability, as the paper states it (its Theorem 3.1), is Hölder-type, not Lipschitz: for
Laplacians ``L, L'`` (nodes matched by the best permutation)
``‖SPE(L) − SPE(L')‖_F ≤ C₁·√‖L − L'‖_F + C₂·‖L − L'‖_F``, where the constants grow with the
Lipschitz constants (and sizes) of ``φ`` and ``ρ`` and with the number ``d`` of eigenpairs
used, and ``C₂`` contains ``1/(λ_{d+1} − λ_d)`` when only the first ``d < n`` eigenpairs are
used.  No arbitrarily small change of the graph can make it jump — the failure of raw
eigenvectors — but the ratio ``‖ΔSPE‖/‖ΔL‖`` is not promised to stay below a constant.
Over the full spectrum each matrix is a matrix function, ``Z_ℓ = φ_ℓ(L)``, and
``‖φ_ℓ(L') − φ_ℓ(L)‖_F ≤ Lip(φ_ℓ)·‖L' − L‖_F`` (tests/test_spe.py checks it).  RWPE is the
diagonal of such a matrix with the fixed ``φ_t(λ) = (1 − λ)^t``
(:func:`spectral_explorer.positional_encodings.random_walk_pe`).  A randomly initialised ``φ``
is nearly flat, so an untrained SPE shows small ratios; they say nothing about a network
whose φ or ρ is steeper.

This module holds, over dense padded batches ``(B, N, ...)`` with a boolean node mask
``(B, N)``:

* :class:`SPE`: φ: an MLP applied to every eigenvalue (R → R^m); ρ: an edge-channel GIN over the m
  stacked matrices; output ``(B, N, d_out)``
* :class:`SignNetPE`: ``ρ(f(v) + f(−v))`` over the first ``k`` eigenvectors (sign-invariant)
* :class:`LapPEEncoder`: a linear map of the first ``k`` eigenvectors, random sign flips while
  training (the usual "LapPE")
* :class:`GIN`: a small dense GIN graph regressor with sum pooling
* :class:`PEGNN`: one encoding kind ("none", "lappe", "rwpe", "signnet", "spe") + GIN

Eigenpairs come as ``evals (B, N)`` ascending with padded entries at the end, ``evecs
(B, N, N)`` with zero rows and columns for padding and ``mask (B, N)`` — the layout of
:func:`spectral_explorer.positional_encodings.batched_laplacian_eig`.  For graph ``b``
with ``n_b = mask[b].sum()`` nodes, the first ``n_b`` eigenpairs are its own and the
first ``n_b`` rows are its nodes.  Padding never contributes to the outputs of real nodes,
and padded output rows are zero.

Pure torch: no UI imports.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_choice, check_int

__all__ = ["SPE", "SignNetPE", "LapPEEncoder", "GIN", "PEGNN", "ENCODINGS", "spectral_matrices",
           "dense_random_walk_pe"]

ENCODINGS = ("none", "lappe", "rwpe", "signnet", "spe")


# ----------------------------------------------------------------------------- helpers
def _mlp(in_dim: int, hidden: int, out_dim: int, layers: int, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``layers`` linear maps with ``act`` in between (no activation at the end)."""
    dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
    mods: list[nn.Module] = []
    for i in range(layers):
        mods.append(nn.Linear(dims[i], dims[i + 1]))
        if i < layers - 1:
            mods.append(act())
    return nn.Sequential(*mods)


def _check_eig_inputs(evals, evecs, mask):
    """Validate ``(evals, evecs, mask)``; add a batch axis to unbatched input.

    Returns ``(evals (B, N), evecs (B, N, N), mask (B, N) bool, unbatched)``.
    """
    if not isinstance(evals, torch.Tensor):
        raise TypeError(f"evals must be a torch.Tensor of shape (B, N) or (N,), got {type(evals).__name__}")
    if not isinstance(evecs, torch.Tensor):
        raise TypeError(f"evecs must be a torch.Tensor of shape (B, N, N) or (N, N), got {type(evecs).__name__}")
    unbatched = evals.ndim == 1
    if unbatched:
        evals, evecs = evals[None], evecs[None] if evecs.ndim == 2 else evecs
        if mask is not None and isinstance(mask, torch.Tensor) and mask.ndim == 1:
            mask = mask[None]
    if evals.ndim != 2:
        raise ValueError(f"evals must have shape (B, N) or (N,), got {tuple(evals.shape)}")
    B, N = evals.shape
    if evecs.shape != (B, N, N):
        raise ValueError(f"evecs must have shape (B, N, N) = {(B, N, N)} to match evals, got {tuple(evecs.shape)}")
    if not evals.is_floating_point() or not evecs.is_floating_point():
        raise TypeError(f"evals and evecs must be floating point tensors, got {evals.dtype} and {evecs.dtype}")
    if mask is None:
        mask = torch.ones(B, N, dtype=torch.bool, device=evals.device)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be None or a bool torch.Tensor of shape (B, N), got {type(mask).__name__}")
    if mask.shape != (B, N):
        raise ValueError(f"mask must have shape (B, N) = {(B, N)}, got {tuple(mask.shape)}")
    mask = mask.to(device=evals.device, dtype=torch.bool)
    return evals, evecs, mask, unbatched


def _eig_mask(mask: torch.Tensor) -> torch.Tensor:
    """Which eigen-indices are real: the first ``n_b`` of graph ``b`` (``(B, N)`` bool)."""
    n = mask.sum(1, keepdim=True)
    return torch.arange(mask.shape[1], device=mask.device)[None, :] < n


def _first_k(evals: torch.Tensor, evecs: torch.Tensor, mask: torch.Tensor, k: int):
    """The first ``k`` eigenpairs, zero-padded when ``N < k`` and masked for small graphs.

    Returns ``evals (B, k)``, ``evecs (B, N, k)`` and the eigen-mask ``(B, k)``.
    """
    B, N = evals.shape
    emask = _eig_mask(mask)
    vals, vecs, em = evals[:, :k], evecs[:, :, :k], emask[:, :k]
    if N < k:
        pad = k - N
        vals = torch.cat([vals, vals.new_zeros(B, pad)], 1)
        vecs = torch.cat([vecs, vecs.new_zeros(B, N, pad)], 2)
        em = torch.cat([em, em.new_zeros(B, pad)], 1)
    vals = vals * em
    vecs = vecs * em[:, None, :] * mask[:, :, None]
    return vals, vecs, em


def spectral_matrices(evals: torch.Tensor, evecs: torch.Tensor, phi_values: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """Stack ``V diag(φ_ℓ(λ)) Vᵀ`` for ``ℓ = 1..m`` into a ``(B, N, N, m)`` tensor.

    Parameters
    ----------
    evals : torch.Tensor, shape (B, K)
        Eigenvalues (only used for their shape here).
    evecs : torch.Tensor, shape (B, N, K)
        Eigenvectors in the columns.
    phi_values : torch.Tensor, shape (B, K, m)
        ``φ(λ)`` for every eigenvalue; entries of padded eigenvalues must be zero.
    mask : torch.Tensor, shape (B, N)
        Real nodes.

    Returns
    -------
    torch.Tensor, shape (B, N, N, m)
        Zero in every row and column of a padded node.
    """
    V = evecs * mask[:, :, None]
    return torch.einsum("bikc,bjk->bijc", V[..., None] * phi_values[:, None, :, :], V)


def dense_random_walk_pe(adj: torch.Tensor, mask: torch.Tensor, K: int) -> torch.Tensor:
    """Random-walk return probabilities ``[(D⁻¹A)^t]_ii`` for ``t = 1..K`` as ``(B, N, K)``.

    A dense, batched fallback used by :class:`PEGNN` when no precomputed RWPE is given.
    Isolated nodes get zeros; padded rows are zero.
    """
    deg = adj.sum(-1, keepdim=True)
    P = adj / deg.clamp_min(1e-12)
    out, M = [], P
    for t in range(K):
        if t:
            M = M @ P
        out.append(torch.diagonal(M, dim1=-2, dim2=-1))
    return torch.stack(out, -1) * mask[..., None]


# ----------------------------------------------------------------------------- encoders
class SPE(nn.Module):
    """Stable and Expressive Positional Encoding (Huang et al., ICLR 2024).

    ``φ`` is an MLP ``R → R^m`` shared by all eigenvalues (so equal eigenvalues get equal
    weights, which is what makes the encoding basis-invariant); the m matrices
    ``Z_ℓ = V diag(φ_ℓ(λ)) Vᵀ`` are read as m edge channels of a complete graph, and ``ρ``
    is a GIN over them:

    * ``x⁰_i = MLP([Z_ii, Σ_j E⁰(Z_ij)])`` (diagonal entries and an MLP of the channels
      summed over the row),
    * ``x^{t+1}_i = MLP_t((1 + ε_t) x^t_i + Σ_j (W_t Z_ij) ⊙ x^t_j)``,
    * output ``Linear(x^T_i)``.

    Every step is permutation-equivariant and Lipschitz on bounded inputs.

    Parameters
    ----------
    m : int, default 8
        Number of eigenvalue functions φ_ℓ (channels).
    d_out : int, default 16
        Width of the node encodings.
    phi_hidden, phi_layers : int, default 32, 3
        Width and depth of the φ MLP (ReLU, hence Lipschitz).
    rho_hidden, rho_layers : int, default 32, 2
        Width and number of message-passing layers of ρ.
    k : int or None, default None
        Use only the ``k`` smallest eigenpairs (``None``: all of them).  Truncating inside
        a repeated eigenvalue breaks the basis invariance, so keep ``None`` for the exact
        invariances.

    Examples
    --------
    >>> import torch
    >>> spe = SPE(m=4, d_out=3)
    >>> L = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    >>> evals, evecs = torch.linalg.eigh(L)
    >>> spe(evals, evecs).shape            # unbatched input -> (N, d_out)
    torch.Size([2, 3])
    """

    def __init__(self, m: int = 8, d_out: int = 16, phi_hidden: int = 32, phi_layers: int = 3,
                 rho_hidden: int = 32, rho_layers: int = 2, k: int | None = None):
        super().__init__()
        self.m = check_int(m, "m", low=1)
        self.d_out = check_int(d_out, "d_out", low=1)
        check_int(phi_hidden, "phi_hidden", low=1)
        check_int(phi_layers, "phi_layers", low=1)
        check_int(rho_hidden, "rho_hidden", low=1)
        self.rho_layers = check_int(rho_layers, "rho_layers", low=0)
        self.k = None if k is None else check_int(k, "k", low=1)
        self.phi = _mlp(1, phi_hidden, m, phi_layers)
        self.edge_in = _mlp(m, rho_hidden, rho_hidden, 2)
        self.node_in = _mlp(m + rho_hidden, rho_hidden, rho_hidden, 2)
        self.edge_w = nn.ModuleList([nn.Linear(m, rho_hidden, bias=False) for _ in range(rho_layers)])
        self.node_mlps = nn.ModuleList([_mlp(rho_hidden, rho_hidden, rho_hidden, 2) for _ in range(rho_layers)])
        self.eps = nn.Parameter(torch.zeros(rho_layers))
        self.out = nn.Linear(rho_hidden, d_out)

    def matrices(self, evals: torch.Tensor, evecs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The stacked ``V diag(φ_ℓ(λ)) Vᵀ`` of shape ``(B, N, N, m)`` (``(N, N, m)`` unbatched).

        Eigenpairs in another floating dtype than the module's parameters are cast to it."""
        evals, evecs, mask, unbatched = _check_eig_inputs(evals, evecs, mask)
        evals, evecs = evals.to(self.out.weight.dtype), evecs.to(self.out.weight.dtype)
        emask = _eig_mask(mask)
        if self.k is not None:
            k = min(self.k, evals.shape[1])
            evals, evecs, emask = evals[:, :k], evecs[:, :, :k], emask[:, :k]
        # padded eigenvalues (≥ 2 by convention) are zeroed before φ so that no padded
        # value ever reaches the network, then their weights are masked out.
        lam = (evals * emask)[..., None]
        phi = self.phi(lam) * emask[..., None]
        Z = spectral_matrices(evals, evecs * emask[:, None, :], phi, mask)
        return Z[0] if unbatched else Z

    def forward(self, evals: torch.Tensor, evecs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Node encodings ``(B, N, d_out)`` (``(N, d_out)`` for unbatched input), padding rows zero."""
        evals, evecs, mask, unbatched = _check_eig_inputs(evals, evecs, mask)
        evals, evecs = evals.to(self.out.weight.dtype), evecs.to(self.out.weight.dtype)
        Z = self.matrices(evals, evecs, mask)                                   # (B, N, N, m)
        fm = mask.to(Z.dtype)
        pair = (fm[:, :, None] * fm[:, None, :])[..., None]                     # (B, N, N, 1)
        diag = torch.diagonal(Z, dim1=1, dim2=2).transpose(1, 2)               # (B, N, m)
        rows = (self.edge_in(Z) * pair).sum(2)                                  # (B, N, h)
        x = self.node_in(torch.cat([diag, rows], -1)) * fm[..., None]
        for t in range(self.rho_layers):
            W = self.edge_w[t](Z)                                               # (B, N, N, h), zero on padding
            msg = torch.einsum("bijh,bjh->bih", W, x)
            x = self.node_mlps[t]((1 + self.eps[t]) * x + msg) * fm[..., None]
        out = self.out(x) * fm[..., None]
        return out[0] if unbatched else out


class SignNetPE(nn.Module):
    """Sign-invariant encoding ``ρ([f(v_j, λ_j) + f(−v_j, λ_j)]_{j=1..k})`` (Lim et al., 2022).

    ``f`` acts on every entry of the first ``k`` eigenvectors (with its eigenvalue as a
    second input); ``ρ`` is an MLP over the ``k`` concatenated sign-invariant features of
    a node.  Invariant to the sign of each eigenvector, not to rotations inside repeated
    eigenspaces.

    Parameters
    ----------
    k : int, default 8
        Number of eigenvectors (graphs with fewer nodes are zero-padded).
    d_out : int, default 16
        Width of the node encodings.
    hidden : int, default 32
        Width of ``f`` and ``ρ``.
    use_evals : bool, default True
        Feed the eigenvalue to ``f`` next to the eigenvector entry.
    """

    def __init__(self, k: int = 8, d_out: int = 16, hidden: int = 32, use_evals: bool = True):
        super().__init__()
        self.k = check_int(k, "k", low=1)
        self.d_out = check_int(d_out, "d_out", low=1)
        check_int(hidden, "hidden", low=1)
        self.use_evals = bool(use_evals)
        self.f = _mlp(2 if use_evals else 1, hidden, hidden, 2)
        self.rho = _mlp(self.k * hidden, hidden, d_out, 2)

    def forward(self, evals: torch.Tensor, evecs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Node encodings ``(B, N, d_out)``, padding rows zero."""
        evals, evecs, mask, unbatched = _check_eig_inputs(evals, evecs, mask)
        vals, vecs, em = _first_k(evals, evecs, mask, self.k)                   # (B,k), (B,N,k), (B,k)
        v = vecs[..., None]
        if self.use_evals:
            lam = vals[:, None, :, None].expand_as(v)
            h = self.f(torch.cat([v, lam], -1)) + self.f(torch.cat([-v, lam], -1))
        else:
            h = self.f(v) + self.f(-v)
        h = h * em[:, None, :, None]                                            # (B, N, k, hidden)
        out = self.rho(h.flatten(2)) * mask[..., None].to(h.dtype)
        return out[0] if unbatched else out


class LapPEEncoder(nn.Module):
    """Plain Laplacian PE: a linear map of the first ``k`` eigenvectors.

    In training mode every eigenvector of every graph gets a random sign (the standard
    augmentation, Dwivedi et al.); in eval mode the signs are used as given.

    Parameters
    ----------
    k : int, default 8
        Number of eigenvectors (zero-padded for smaller graphs).
    d_out : int, default 16
        Width of the node encodings.
    sign_flip : bool, default True
        Random sign flips while training.
    """

    def __init__(self, k: int = 8, d_out: int = 16, sign_flip: bool = True):
        super().__init__()
        self.k = check_int(k, "k", low=1)
        self.d_out = check_int(d_out, "d_out", low=1)
        self.sign_flip = bool(sign_flip)
        self.lin = nn.Linear(self.k, d_out)

    def forward(self, evals: torch.Tensor, evecs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Node encodings ``(B, N, d_out)``, padding rows zero."""
        evals, evecs, mask, unbatched = _check_eig_inputs(evals, evecs, mask)
        _, vecs, _ = _first_k(evals, evecs, mask, self.k)
        if self.training and self.sign_flip:
            signs = torch.randint(0, 2, (vecs.shape[0], 1, self.k), device=vecs.device).to(vecs.dtype) * 2 - 1
            vecs = vecs * signs
        out = self.lin(vecs) * mask[..., None].to(vecs.dtype)
        return out[0] if unbatched else out


# ----------------------------------------------------------------------------- GNN
class GIN(nn.Module):
    """A small GIN graph regressor over dense padded batches, with sum pooling.

    ``h^{t+1} = MLP_t((1 + ε_t) h^t + A h^t)``; the graph representation is the sum over
    nodes of every layer's ``h`` (jumping knowledge), followed by an MLP head.

    Parameters
    ----------
    in_dim : int
        Width of the node features.
    out_dim : int, default 1
        Number of regression targets.
    hidden : int, default 64
        Width of the hidden layers.
    layers : int, default 4
        Number of GIN layers.
    pe_dim : int, default 0
        Width of the positional encodings concatenated to the node features (0: none).

    Examples
    --------
    >>> import torch
    >>> gin = GIN(in_dim=1, out_dim=2, hidden=8, layers=2)
    >>> adj = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> gin(adj, torch.ones(1, 2, 1), torch.ones(1, 2, dtype=torch.bool)).shape
    torch.Size([1, 2])
    """

    def __init__(self, in_dim: int, out_dim: int = 1, hidden: int = 64, layers: int = 4, pe_dim: int = 0):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", low=1)
        self.out_dim = check_int(out_dim, "out_dim", low=1)
        check_int(hidden, "hidden", low=1)
        self.layers = check_int(layers, "layers", low=1)
        self.pe_dim = check_int(pe_dim, "pe_dim", low=0)
        self.inp = nn.Linear(in_dim + pe_dim, hidden)
        self.mlps = nn.ModuleList([_mlp(hidden, hidden, hidden, 2) for _ in range(layers)])
        self.eps = nn.Parameter(torch.zeros(layers))
        self.head = _mlp(hidden * (layers + 1), hidden, out_dim, 2)

    def forward(self, adj: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None,
                pe: torch.Tensor | None = None) -> torch.Tensor:
        """Graph predictions ``(B, out_dim)``.

        Parameters
        ----------
        adj : torch.Tensor, shape (B, N, N)
            Dense adjacency, zero for padding.
        x : torch.Tensor, shape (B, N, in_dim)
            Node features.
        mask : torch.Tensor, shape (B, N), optional
            Real nodes (all by default).
        pe : torch.Tensor, shape (B, N, pe_dim), optional
            Positional encodings; required when ``pe_dim > 0``.
        """
        if adj.ndim != 3 or adj.shape[1] != adj.shape[2]:
            raise ValueError(f"adj must have shape (B, N, N), got {tuple(adj.shape)}")
        B, N, _ = adj.shape
        if x.shape[:2] != (B, N) or x.ndim != 3 or x.shape[2] != self.in_dim:
            raise ValueError(f"x must have shape (B, N, in_dim) = {(B, N, self.in_dim)}, got {tuple(x.shape)}")
        if mask is None:
            mask = torch.ones(B, N, dtype=torch.bool, device=adj.device)
        if mask.shape != (B, N):
            raise ValueError(f"mask must have shape (B, N) = {(B, N)}, got {tuple(mask.shape)}")
        if self.pe_dim:
            if pe is None or pe.shape != (B, N, self.pe_dim):
                got = None if pe is None else tuple(pe.shape)
                raise ValueError(f"pe must have shape (B, N, pe_dim) = {(B, N, self.pe_dim)}, got {got}")
            x = torch.cat([x, pe.to(x.dtype)], -1)
        elif pe is not None:
            raise ValueError("pe was given but this GIN has pe_dim=0")
        fm = mask.to(x.dtype)[..., None]
        h = self.inp(x) * fm
        pooled = [h.sum(1)]
        for t in range(self.layers):
            h = self.mlps[t]((1 + self.eps[t]) * h + adj.to(h.dtype) @ h) * fm
            pooled.append(h.sum(1))
        return self.head(torch.cat(pooled, -1))


class PEGNN(nn.Module):
    """A positional encoding of kind ``encoding`` feeding a :class:`GIN`.

    Parameters
    ----------
    encoding : {"none", "lappe", "rwpe", "signnet", "spe"}
        ``"none"``: GIN alone; ``"lappe"``: :class:`LapPEEncoder`; ``"rwpe"``: a linear map
        of random-walk return probabilities; ``"signnet"``: :class:`SignNetPE`;
        ``"spe"``: :class:`SPE`.
    in_dim, out_dim : int
        Node-feature width and number of targets.
    hidden, layers : int, default 64, 4
        GIN width and depth.
    pe_dim : int, default 16
        Width of the encodings (ignored for ``"none"``).
    k : int, default 8
        Eigenvectors used by ``"lappe"`` and ``"signnet"``.
    rw_steps : int, default 16
        Random-walk steps for ``"rwpe"``.
    spe_m : int, default 8
        Number of φ channels for ``"spe"``.
    spe_hidden : int, default 32
        Width of φ and ρ in ``"spe"`` (and of ``"signnet"``).
    """

    def __init__(self, encoding: str, in_dim: int = 1, out_dim: int = 1, hidden: int = 64, layers: int = 4,
                 pe_dim: int = 16, k: int = 8, rw_steps: int = 16, spe_m: int = 8, spe_hidden: int = 32):
        super().__init__()
        self.encoding = check_choice(encoding, "encoding", ENCODINGS)
        check_int(pe_dim, "pe_dim", low=1)
        self.rw_steps = check_int(rw_steps, "rw_steps", low=1)
        if encoding == "none":
            self.pe = None
        elif encoding == "lappe":
            self.pe = LapPEEncoder(k=k, d_out=pe_dim)
        elif encoding == "rwpe":
            self.pe = nn.Linear(rw_steps, pe_dim)
        elif encoding == "signnet":
            self.pe = SignNetPE(k=k, d_out=pe_dim, hidden=spe_hidden)
        else:
            self.pe = SPE(m=spe_m, d_out=pe_dim, phi_hidden=spe_hidden, rho_hidden=spe_hidden)
        self.gnn = GIN(in_dim, out_dim, hidden=hidden, layers=layers, pe_dim=0 if encoding == "none" else pe_dim)

    @property
    def needs_eigen(self) -> bool:
        """Whether :meth:`forward` needs ``evals``/``evecs``."""
        return self.encoding in ("lappe", "signnet", "spe")

    def encode(self, adj, mask, evals=None, evecs=None, rwpe=None) -> torch.Tensor | None:
        """The positional encodings ``(B, N, pe_dim)`` (``None`` for ``"none"``)."""
        if self.encoding == "none":
            return None
        if self.encoding == "rwpe":
            if rwpe is None:
                rwpe = dense_random_walk_pe(adj, mask, self.rw_steps)
            if rwpe.shape[-1] != self.rw_steps:
                raise ValueError(f"rwpe must have {self.rw_steps} channels (rw_steps), got shape {tuple(rwpe.shape)}")
            dt = self.pe.weight.dtype
            return self.pe(rwpe.to(dt)) * mask[..., None].to(dt)
        if evals is None or evecs is None:
            raise ValueError(f"encoding={self.encoding!r} needs evals and evecs")
        dt = next(self.pe.parameters()).dtype
        return self.pe(evals.to(dt), evecs.to(dt), mask)

    def forward(self, adj: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None,
                evals: torch.Tensor | None = None, evecs: torch.Tensor | None = None,
                rwpe: torch.Tensor | None = None) -> torch.Tensor:
        """Graph predictions ``(B, out_dim)``; see :class:`GIN` for the shapes."""
        if mask is None:
            mask = torch.ones(adj.shape[:2], dtype=torch.bool, device=adj.device)
        pe = self.encode(adj, mask, evals, evecs, rwpe)
        return self.gnn(adj, x, mask, pe)
