"""Weight compression (quantization, pruning) and low-rank adapters for nn.Linear layers.

Pure torch.  The compression functions take a weight ``W`` of shape ``(out, in)`` (as in
``nn.Linear``), compute in float64 on ``W``'s device and return a tensor of ``W``'s dtype and
shape.  :class:`LowRankAdapter` turns a compressed layer into ``W_c + B A`` (EoRA / PiSSA
style), and :func:`compress_linears` / :func:`iter_linears` apply a compression function to
chosen layers of a model.
"""

from __future__ import annotations

import fnmatch
from typing import Callable, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ._validation import check_float, check_int, check_tensor

__all__ = [
    "RTNResult",
    "quantize_rtn",
    "prune_magnitude",
    "prune_n_m",
    "prune_2_4",
    "LowRankAdapter",
    "iter_linears",
    "compress_linears",
    "restore_linears",
    "replace_module",
]


def _check_weight(W, name: str = "W") -> torch.Tensor:
    """A weight matrix: a finite floating tensor (or numpy array) of shape (out_features, in_features)."""
    return check_tensor(W, name, dtype=None, shape="(out_features, in_features)", lists=False, integers=False)


# --------------------------------------------------------------------------- quantization
class RTNResult(NamedTuple):
    """Output of :func:`quantize_rtn` with ``return_codes=True``.

    ``weight`` = ``(codes − zero_point) * scale`` (per group, broadcast over its columns).
    ``scale`` and ``zero_point`` (an integer code) have shape ``(out, n_groups)``.
    """

    weight: torch.Tensor
    codes: torch.Tensor
    scale: torch.Tensor
    zero_point: torch.Tensor


def quantize_rtn(W, bits: int, group_size: int | None = None, return_codes: bool = False):
    """Round-to-nearest asymmetric quantization with an integer zero-point, returned dequantized.

    Each output channel (row) -- or, with ``group_size``, each run of ``group_size``
    consecutive input columns within a row -- gets ``2**bits`` evenly spaced levels covering
    ``[min(w, 0), max(w, 0)]``: ``scale = (hi − lo) / (2**bits − 1)``, the integer zero-point
    ``z = round(−lo / scale)``, ``code = clamp(round(w / scale) + z, 0, 2**bits − 1)`` and
    ``w_q = (code − z) * scale``.  This is the standard RTN scheme: zero is represented
    exactly, so small weights do not all shift by a common offset (with a real-valued
    minimum as offset instead, every weight of a row moves by up to half a step in a
    correlated way, and MiniLM's outlier activation channels turn that into a large output
    bias: 3-bit held-out cosine 0.04 instead of 0.74).  Values stay within half a step of
    ``[min, max]``.  When ``in`` is not a multiple of ``group_size`` the last group is
    shorter.

    Parameters
    ----------
    W : tensor, shape (out, in)
    bits : int
        2 to 8.
    group_size : int or None
        None: one group per row.  Otherwise ``1 <= group_size``.
    return_codes : bool
        If True, return an :class:`RTNResult` ``(weight, codes, scale, zero_point)`` with
        ``codes`` as uint8 of shape (out, in).

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[0.0, 0.1, 0.9, 3.0]], dtype=torch.float64)
    >>> quantize_rtn(W, bits=2).tolist()
    [[0.0, 0.0, 1.0, 3.0]]
    >>> quantize_rtn(W, bits=2, return_codes=True).codes.tolist()
    [[0, 0, 1, 3]]
    """
    Wt = _check_weight(W)
    bits = check_int(bits, "bits", 2, 8)
    out_f, in_f = Wt.shape
    if group_size is None:
        g = in_f
    else:
        g = check_int(group_size, "group_size", 1)
        g = min(g, in_f)
    n_groups = -(-in_f // g)
    pad = n_groups * g - in_f
    W64 = Wt.to(torch.float64)
    if pad:  # repeat the last column: it already belongs to the last group, so min/max are unchanged
        W64 = torch.cat([W64, W64[:, -1:].expand(out_f, pad)], dim=1)
    G = W64.reshape(out_f, n_groups, g)
    lo = G.amin(dim=2, keepdim=True).clamp(max=0.0)
    hi = G.amax(dim=2, keepdim=True).clamp(min=0.0)
    levels = 2 ** bits - 1
    scale = (hi - lo) / levels
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    zero = torch.round(-lo / safe)
    codes = torch.clamp(torch.round(G / safe) + zero, 0, levels)
    deq = torch.where(scale > 0, (codes - zero) * scale, G)
    deq = deq.reshape(out_f, n_groups * g)[:, :in_f].to(Wt.dtype)
    if not return_codes:
        return deq
    codes = codes.reshape(out_f, n_groups * g)[:, :in_f].to(torch.uint8)
    return RTNResult(deq, codes, scale.squeeze(2).to(Wt.dtype), zero.squeeze(2).to(torch.int64))


# --------------------------------------------------------------------------- pruning
def prune_magnitude(W, sparsity: float, return_mask: bool = False):
    """Unstructured magnitude pruning of a whole layer.

    Zeroes exactly ``round(sparsity * W.numel())`` entries, those of smallest magnitude (ties
    broken by position), so the fraction of zeros is at least ``sparsity`` up to rounding to
    a whole count (more if ``W`` already had zeros among the kept ones).

    Parameters
    ----------
    W : tensor, shape (out, in)
    sparsity : float
        Fraction of entries to remove, in ``[0, 1]``.
    return_mask : bool
        If True, also return the boolean keep-mask.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[0.5, -2.0], [0.1, 1.0]], dtype=torch.float64)
    >>> prune_magnitude(W, 0.5).tolist()
    [[0.0, -2.0], [0.0, 1.0]]
    """
    Wt = _check_weight(W)
    sparsity = check_float(sparsity, "sparsity", 0.0, 1.0)
    n = Wt.numel()
    k = int(round(sparsity * n))
    mask = torch.ones(n, dtype=torch.bool, device=Wt.device)
    if k:
        order = torch.argsort(Wt.abs().reshape(-1), stable=True)
        mask[order[:k]] = False
    mask = mask.reshape(Wt.shape)
    out = torch.where(mask, Wt, torch.zeros_like(Wt))
    return (out, mask) if return_mask else out


def prune_n_m(W, n: int = 2, m: int = 4, return_mask: bool = False):
    """N:M semi-structured pruning: keep the ``n`` largest magnitudes in every ``m`` consecutive inputs.

    Groups run along the input dimension (columns) of each row; ``in`` must be a multiple
    of ``m``.  Ties are broken towards the earlier column.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[1.0, -4.0, 3.0, 2.0, 0.0, 0.0, 5.0, -1.0]], dtype=torch.float64)
    >>> prune_n_m(W, 1, 4).tolist()
    [[0.0, -4.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0]]
    """
    Wt = _check_weight(W)
    m = check_int(m, "m", 1)
    n = check_int(n, "n", 0, m)
    out_f, in_f = Wt.shape
    if in_f % m:
        raise ValueError(f"W must have a number of input columns divisible by m={m} for {n}:{m} pruning, "
                         f"got shape {tuple(Wt.shape)}")
    G = Wt.reshape(out_f, in_f // m, m)
    # stable descending order of magnitudes: earlier column wins ties
    order = torch.argsort(G.abs(), dim=2, descending=True, stable=True)
    mask = torch.zeros_like(G, dtype=torch.bool)
    mask.scatter_(2, order[..., :n], True)
    mask = mask.reshape(out_f, in_f)
    out = torch.where(mask, Wt, torch.zeros_like(Wt))
    return (out, mask) if return_mask else out


def prune_2_4(W, return_mask: bool = False):
    """2:4 sparsity: in every group of 4 consecutive input weights keep the 2 largest magnitudes.

    ``W`` has shape (out, in) with ``in`` a multiple of 4.  See :func:`prune_n_m`.

    Examples
    --------
    >>> import torch
    >>> prune_2_4(torch.tensor([[1.0, -4.0, 3.0, 2.0]])).tolist()
    [[0.0, -4.0, 3.0, 0.0]]
    """
    return prune_n_m(W, 2, 4, return_mask=return_mask)


# --------------------------------------------------------------------------- adapters
class LowRankAdapter(nn.Module):
    """A linear layer ``y = x W_c^T + (x A^T) B^T + b``: compressed weight plus a low-rank term.

    ``W_c`` (shape (out, in)) is a buffer (frozen, saved in the state dict); ``B`` (out, r)
    and ``A`` (r, in) are parameters; ``bias`` (out,) is a parameter or None.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2).double()
    >>> B, A = torch.zeros(2, 1, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64)
    >>> ad = LowRankAdapter.from_linear(lin, lin.weight, B, A)
    >>> x = torch.randn(4, 3, dtype=torch.float64)
    >>> torch.allclose(ad(x), lin(x))
    True
    >>> ad
    LowRankAdapter(in_features=3, out_features=2, rank=1, bias=True)
    """

    def __init__(self, weight: torch.Tensor, B: torch.Tensor, A: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        weight = _check_weight(weight, "compressed_weight")
        out_f, in_f = weight.shape
        for name, t in (("B", B), ("A", A)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if t.ndim != 2:
                raise ValueError(f"{name} must be 2-D, got shape {tuple(t.shape)}")
        if B.shape[0] != out_f or A.shape[1] != in_f or B.shape[1] != A.shape[0]:
            raise ValueError(f"B and A must have shapes ({out_f}, r) and (r, {in_f}) to match the weight "
                             f"{tuple(weight.shape)}, got {tuple(B.shape)} and {tuple(A.shape)}")
        if bias is not None:
            if not isinstance(bias, torch.Tensor) or bias.shape != (out_f,):
                raise ValueError(f"bias must be None or a tensor of shape ({out_f},), "
                                 f"got {getattr(bias, 'shape', type(bias).__name__)}")
        dtype, device = weight.dtype, weight.device
        self.in_features, self.out_features, self.rank = in_f, out_f, int(A.shape[0])
        self.register_buffer("weight", weight.detach().clone())
        self.B = nn.Parameter(B.detach().to(device=device, dtype=dtype).clone())
        self.A = nn.Parameter(A.detach().to(device=device, dtype=dtype).clone())
        if bias is None:
            self.register_parameter("bias", None)
        else:
            self.bias = nn.Parameter(bias.detach().to(device=device, dtype=dtype).clone())

    @classmethod
    def from_linear(cls, linear: nn.Linear, compressed_weight=None, B=None, A=None) -> "LowRankAdapter":
        """Build from an ``nn.Linear`` (its bias is copied), a compressed weight and factors.

        ``compressed_weight`` defaults to ``linear.weight``; ``B``/``A`` default to a rank-0
        term.  All are moved to the Linear's device and dtype.
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        W = linear.weight.detach()
        if compressed_weight is None:
            compressed_weight = W
        if not isinstance(compressed_weight, torch.Tensor):
            raise TypeError(f"compressed_weight must be a torch.Tensor, got {type(compressed_weight).__name__}")
        if compressed_weight.shape != W.shape:
            raise ValueError(f"compressed_weight must have the Linear's weight shape {tuple(W.shape)}, "
                             f"got {tuple(compressed_weight.shape)}")
        if B is None:
            B = W.new_zeros(W.shape[0], 0)
        if A is None:
            A = W.new_zeros(0, W.shape[1])
        Wc = compressed_weight.detach().to(device=W.device, dtype=W.dtype)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls(Wc, B, A, bias)

    def merged_weight(self) -> torch.Tensor:
        """The effective dense weight ``W_c + B A`` (detached)."""
        return (self.weight + self.B @ self.A).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + F.linear(F.linear(x, self.A), self.B)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
                f"bias={self.bias is not None}")


# --------------------------------------------------------------------------- model surgery
def _matches(name: str, module: nn.Module, include) -> bool:
    if include is None:
        return True
    if callable(include):
        return bool(include(name, module))
    pats = [include] if isinstance(include, str) else list(include)
    for p in pats:
        if any(c in p for c in "*?["):
            if fnmatch.fnmatchcase(name, p):
                return True
        elif p in name:
            return True
    return False


def iter_linears(model: nn.Module, include=None) -> list[tuple[str, nn.Linear]]:
    """``(name, module)`` for every ``nn.Linear`` in ``model``, in registration order.

    Parameters
    ----------
    model : nn.Module
    include : None, str, sequence of str, or callable
        None keeps all.  A string keeps names containing it, or matching it as a glob
        pattern when it has ``*``, ``?`` or ``[`` (e.g. ``"encoder.layer.*.attention.*"``);
        a sequence keeps names matching any; a callable ``f(name, module) -> bool`` decides.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> [name for name, _ in iter_linears(model)]
    ['0', '2']
    >>> [name for name, _ in iter_linears(model, include="2")]
    ['2']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if include is not None and not (callable(include) or isinstance(include, str)):
        try:
            include = list(include)
        except TypeError:
            raise TypeError("include must be None, a string, a sequence of strings or a callable, "
                            f"got {type(include).__name__}") from None
        if not all(isinstance(p, str) for p in include):
            raise TypeError("include must be None, a string, a sequence of strings or a callable")
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and _matches(n, m, include)]


def _resolve_linears(model: nn.Module, names) -> list[tuple[str, nn.Linear]]:
    if isinstance(names, str):
        names = [names]
    try:
        names = list(names)
    except TypeError:
        raise TypeError(f"names must be a sequence of module names, got {type(names).__name__}") from None
    modules = dict(model.named_modules())
    found = []
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"names must contain strings, got {n!r}")
        if n not in modules or not isinstance(modules[n], nn.Linear):
            avail = [k for k, m in modules.items() if isinstance(m, nn.Linear)]
            shown = ", ".join(avail[:10]) + (" ..." if len(avail) > 10 else "")
            what = "is not an nn.Linear" if n in modules else "does not exist"
            raise ValueError(f"names: module {n!r} {what} in the model; Linear layers are: {shown or '(none)'}")
        found.append((n, modules[n]))
    return found


def compress_linears(model: nn.Module, names, fn: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace, in place, the weight of each named ``nn.Linear`` by ``fn(weight)``.

    Parameters
    ----------
    model : nn.Module
    names : str or sequence of str
        Module names as in ``model.named_modules()`` (see :func:`iter_linears`).
    fn : callable
        Takes a detached copy of the weight (out, in) and returns a tensor of the same shape,
        e.g. ``lambda W: quantize_rtn(W, 4, group_size=32)``.

    Returns
    -------
    dict
        ``name -> copy of the original weight``; pass it to :func:`restore_linears` to undo.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> originals = compress_linears(model, ["0"], prune_2_4)
    >>> int((model[0].weight != 0).sum())
    8
    >>> restore_linears(model, originals)
    >>> torch.equal(model[0].weight, originals["0"])
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(fn):
        raise TypeError(f"fn must be callable (weight -> compressed weight), got {type(fn).__name__}")
    targets = _resolve_linears(model, names)
    originals: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for n, mod in targets:
            W = mod.weight.detach().clone()
            new = fn(W.clone())
            if not isinstance(new, torch.Tensor):
                raise TypeError(f"fn must return a torch.Tensor, got {type(new).__name__} for layer {n!r}")
            if new.shape != W.shape:
                raise ValueError(f"fn must return a tensor of shape {tuple(W.shape)} for layer {n!r}, "
                                 f"got {tuple(new.shape)}")
            mod.weight.copy_(new.to(device=W.device, dtype=W.dtype))
            originals[n] = W
    return originals


def restore_linears(model: nn.Module, originals: dict[str, torch.Tensor]) -> None:
    """Undo :func:`compress_linears`: copy the saved weights back into their layers."""
    targets = _resolve_linears(model, list(originals))
    with torch.no_grad():
        for n, mod in targets:
            mod.weight.copy_(originals[n].to(device=mod.weight.device, dtype=mod.weight.dtype))


def replace_module(model: nn.Module, name: str, new: nn.Module) -> nn.Module:
    """Swap the submodule called ``name`` (dotted path) for ``new``; returns the old one.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 2))
    >>> old = replace_module(model, "0", LowRankAdapter.from_linear(model[0]))
    >>> type(model[0]).__name__, type(old).__name__
    ('LowRankAdapter', 'Linear')
    """
    if not isinstance(new, nn.Module):
        raise TypeError(f"new must be a torch.nn.Module, got {type(new).__name__}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty dotted module name, got {name!r}")
    parent_name, _, child = name.rpartition(".")
    try:
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, child)
    except AttributeError:
        raise ValueError(f"name: module {name!r} does not exist in the model") from None
    if not isinstance(old, nn.Module):
        raise ValueError(f"name: {name!r} is not a submodule")
    setattr(parent, child, new)
    return old
