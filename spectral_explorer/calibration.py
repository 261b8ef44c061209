"""Calibration statistics and EoRA / SVD compensation of a compressed transformer.

:func:`collect_grams` streams the input Gram matrices ``XᵀX`` (float64) of chosen
``nn.Linear`` layers through forward hooks; :func:`compensate` compresses those layers
(round-to-nearest quantisation or pruning, from :mod:`spectral_explorer.compression`) and
adds a rank-``r`` correction ``B @ A`` of the compression error ``ΔW = W - Ŵ``, either the
plain truncated SVD of ΔW or the eigenspace-weighted EoRA projection
(:mod:`spectral_explorer.eigenspace`) that minimises ``‖ΔW X - B A X‖`` on calibration data.

The long functions follow :mod:`spectral_explorer.progress`: ``progress(fraction, text)`` and a
cooperative ``cancel`` (raising :class:`~spectral_explorer.progress.Cancelled`, leaving the
caller's model untouched).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import torch
from torch import nn

from ._validation import check_choice, check_int
from .progress import checkpoint, subrange

__all__ = [
    "minilm_linear_names",
    "collect_grams",
    "compress_weight",
    "compensate",
    "compress_layers",
    "compensation_factors",
    "apply_compensation",
    "fidelity_vs_rank",
    "layer_relative_error",
    "fidelity",
]

METHODS = ("none", "svd", "eora")
_LINEAR_SUFFIXES = ("attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense", "intermediate.dense", "output.dense")


class _StopForward(Exception):
    """Raised from a hook to end a forward pass once every wanted input has been seen."""


def minilm_linear_names(model: nn.Module) -> list[str]:
    """Names of the encoder ``nn.Linear`` layers of a BERT-style model, in forward order.

    For all-MiniLM-L6-v2: 6 blocks x (query, key, value, attention output, intermediate,
    output) = 36 layers.  The pooler is not included.
    """
    names = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and re.search(r"(^|\.)layer\.\d+\.", name) \
                and name.endswith(_LINEAR_SUFFIXES):
            names.append(name)
    if not names:
        raise ValueError("the model has no BERT-style encoder Linear layers (…layer.N.attention.self.query …); "
                         "pass layer names explicitly")
    return names


def _resolve_linears(model: nn.Module, layer_names) -> dict[str, nn.Linear]:
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    modules = dict(model.named_modules())
    out = {}
    for name in layer_names:
        if name not in modules:
            raise KeyError(f"layer {name!r} is not a submodule of the model")
        if not isinstance(modules[name], nn.Linear):
            raise TypeError(f"layer {name!r} is a {type(modules[name]).__name__}, not an nn.Linear")
        out[name] = modules[name]
    if not out:
        raise ValueError("layer_names must name at least one nn.Linear layer")
    return out


def _check_rank_fits(linears: dict, rank: int, param: str = "rank") -> None:
    """A rank-``rank`` correction must fit every layer: ``rank <= min(out, in)``."""
    for name, lin in linears.items():
        if rank > min(lin.weight.shape):
            raise ValueError(f"{param}={rank} exceeds min(out, in)={min(lin.weight.shape)} of layer {name!r}")


def _run_batch(model, batch):
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    return model(batch)


@torch.no_grad()
def collect_grams(model: nn.Module, layer_names, batches, progress=None, stop_early: bool = False,
                  cancel=None):
    """Stream ``G = Σ xᵀx`` over the inputs ``x`` of each named ``nn.Linear``.

    ``batches`` is an iterable of model inputs (a dict of tensors, e.g. tokenizer output,
    is passed as keyword arguments).  When a batch carries an ``attention_mask`` the padding
    positions are left out.  Leading dimensions are flattened; each batch's contribution is
    added to a float64 accumulator, so no activations are kept.  Inputs shared by several
    layers (query/key/value) are multiplied once.

    Returns ``(grams, counts)``: dicts from layer name to the ``(in, in)`` float64 Gram
    matrix and to the number of rows (tokens) accumulated.  The hooks are removed before
    returning, also when the forward pass raises or is cancelled.  ``progress(fraction, text)``
    is called after each batch (``fraction = done / len(batches)``; an iterable without a
    length is read into a list first).  ``cancel`` (Event or callable) is checked before each
    batch and at each hooked layer, so a stop lands within one layer's forward pass, and
    raises :class:`~spectral_explorer.progress.Cancelled`.  With ``stop_early`` the forward
    pass is cut short once every layer has seen its input (the model output is not needed).
    """
    linears = _resolve_linears(model, layer_names)
    if not hasattr(batches, "__len__"):
        batches = list(batches)
    n_batches = len(batches)
    grams: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {name: 0 for name in linears}
    state = {"mask": None, "seen": set(), "last": (None, None)}

    def make_hook(name):
        def hook(mod, inputs):
            checkpoint(cancel)
            x = inputs[0]
            last_x, last_g = state["last"]
            if last_x is x:
                g, n = last_g
            else:
                mask = state["mask"]
                if mask is not None and x.dim() == 3 and tuple(x.shape[:2]) == tuple(mask.shape):
                    rows = x[mask.to(torch.bool)]
                else:
                    rows = x.reshape(-1, x.shape[-1])
                rows = rows.to(torch.float64)
                g, n = rows.T @ rows, rows.shape[0]
                state["last"] = (x, (g, n))
            if name in grams:
                grams[name] += g.to(grams[name].device)
            else:
                grams[name] = g.clone()
            counts[name] += int(n)
            state["seen"].add(name)
            if stop_early and len(state["seen"]) == len(linears):
                raise _StopForward
        return hook

    handles = [mod.register_forward_pre_hook(make_hook(name)) for name, mod in linears.items()]
    try:
        for i, batch in enumerate(batches):
            checkpoint(cancel)
            state["mask"] = batch.get("attention_mask") if isinstance(batch, dict) else None
            state["seen"] = set()
            try:
                _run_batch(model, batch)
            except _StopForward:
                pass
            state["last"] = (None, None)
            checkpoint(cancel, progress, (i + 1) / max(n_batches, 1),
                       f"collecting XᵀX of {len(linears)} layer(s): batch {i + 1}/{n_batches}")
    finally:
        for h in handles:
            h.remove()
        state["last"] = (None, None)
    missing = [n for n in linears if n not in grams]
    if missing:
        raise ValueError(f"no input reached layer(s) {missing}; are the batches empty?")
    return grams, counts


def _parse_compression(compression: str):
    """``"rtn3"``, ``"rtn4g128"`` (group size 128), ``"prune24"``, ``"prune50"`` (50 % magnitude)."""
    if not isinstance(compression, str):
        raise TypeError(f"compression must be a string like 'rtn3', 'rtn4g128', 'prune24' or 'prune50', "
                        f"got {compression!r}")
    m = re.fullmatch(r"rtn(\d+)(?:g(\d+))?", compression)
    if m:
        bits = int(m.group(1))
        if not 1 <= bits <= 16:
            raise ValueError(f"compression {compression!r}: bits must be in 1..16")
        return ("rtn", bits, int(m.group(2)) if m.group(2) else None)
    if compression in ("prune24", "prune2:4", "2:4"):
        return ("prune24",)
    m = re.fullmatch(r"prune(\d+)", compression)
    if m and 0 < int(m.group(1)) < 100:
        return ("prune", int(m.group(1)) / 100.0)
    raise ValueError(f"compression must look like 'rtn3', 'rtn4g128', 'prune24' or 'prune50'; got {compression!r}")


def compress_weight(W: torch.Tensor, compression: str) -> torch.Tensor:
    """The compressed (dequantised / pruned) copy of ``W`` for a compression spec string."""
    from .compression import prune_2_4, prune_magnitude, quantize_rtn

    spec = _parse_compression(compression)
    if spec[0] == "rtn":
        return quantize_rtn(W, spec[1], group_size=spec[2])
    if spec[0] == "prune24":
        return prune_2_4(W)
    return prune_magnitude(W, spec[1])


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def _replacement(linear: nn.Linear, W_hat: torch.Tensor, B=None, A=None) -> nn.Module:
    """A compressed ``nn.Linear`` (``B is None``) or a LowRankAdapter ``Ŵ + B A`` replacing ``linear``."""
    from .compression import LowRankAdapter

    W = linear.weight.detach()
    W_hat = W_hat.to(device=W.device, dtype=W.dtype)
    if B is None:
        new = copy.deepcopy(linear)
        with torch.no_grad():
            new.weight.copy_(W_hat)
        return new
    return LowRankAdapter.from_linear(linear, W_hat, B.to(device=W.device, dtype=W.dtype),
                                      A.to(device=W.device, dtype=W.dtype))


def _layer_factors(W: torch.Tensor, W_hat: torch.Tensor, method: str, rank: int, gram=None, eig=None):
    """``(B, A)`` of rank ``rank`` for ``ΔW = W − Ŵ`` (float64 difference), in ``W``'s dtype;
    ``eig`` is the Gram's eigendecomposition when already known."""
    from .eigenspace import eora_compensation, svd_compensation

    delta = W.detach().to(torch.float64) - W_hat.to(device=W.device, dtype=torch.float64)
    if method == "svd":
        B, A = svd_compensation(delta, rank)
    else:
        B, A = eora_compensation(delta, gram.to(device=delta.device), rank, eig=eig)
    return B.to(W.dtype), A.to(W.dtype)


@torch.no_grad()
def compress_layers(model: nn.Module, compression: str = "rtn3", layers=None) -> dict[str, torch.Tensor]:
    """The compressed weights ``Ŵ`` of the chosen ``nn.Linear`` layers (the model is not touched).

    ``layers`` defaults to :func:`minilm_linear_names`; returns a dict from layer name to
    ``Ŵ`` (same shape, dtype and device as the layer's weight), in forward order.
    """
    _parse_compression(compression)
    names = minilm_linear_names(model) if layers is None else list(layers)
    return {name: compress_weight(lin.weight.detach(), compression)
            for name, lin in _resolve_linears(model, names).items()}


@torch.no_grad()
def compensation_factors(model: nn.Module, compressed: dict, method: str = "eora", rank: int = 32,
                         grams: dict | None = None, progress=None,
                         eigs: dict | None = None, cancel=None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Rank-``rank`` corrections ``(B, A)`` of each compressed layer (``compressed`` from
    :func:`compress_layers`): ``"svd"`` or ``"eora"`` (which needs ``grams``, layer name to
    ``XᵀX``).

    Both methods are truncations of one factorisation, so the rank-``r`` correction of any
    ``r ≤ rank`` is ``(B[:, :r], A[:r])``: compute once at the largest rank of a sweep and
    slice (:func:`apply_compensation` does).  ``progress(done / total, text)`` after each
    layer; ``cancel`` is checked before each layer (see :mod:`spectral_explorer.progress`).
    ``eigs`` — a dict kept by the caller for one set of ``grams`` — stores each Gram's
    eigendecomposition (:func:`~spectral_explorer.eigenspace.gram_eigh`) on first use and
    reuses it, e.g. across compressions.
    """
    check_choice(method, "method", ("svd", "eora"))
    rank = check_int(rank, "rank", low=0)
    linears = _resolve_linears(model, list(compressed))
    _check_rank_fits(linears, rank)
    for name, lin in linears.items():
        if tuple(compressed[name].shape) != tuple(lin.weight.shape):
            raise ValueError(f"compressed[{name!r}] has shape {tuple(compressed[name].shape)}, but the layer's "
                             f"weight is {tuple(lin.weight.shape)}")
    if method == "eora":
        if grams is None:
            raise ValueError("method='eora' needs grams (layer name -> XᵀX, see collect_grams)")
        missing = [n for n in linears if n not in grams]
        if missing:
            raise KeyError(f"grams has no entry for layer(s) {missing}")
    out = {}
    total = len(linears)
    for done, (name, lin) in enumerate(linears.items(), start=1):
        checkpoint(cancel)
        eig = None
        if method == "eora" and eigs is not None:
            if name not in eigs:
                from .eigenspace import gram_eigh
                eigs[name] = gram_eigh(grams[name].to(device=lin.weight.device, dtype=torch.float64))
            eig = eigs[name]
        out[name] = _layer_factors(lin.weight, compressed[name], method, rank,
                                   grams[name] if method == "eora" else None, eig)
        checkpoint(cancel, progress, done / total, f"{method} correction of {name} ({done}/{total})")
    return out


def apply_compensation(model: nn.Module, compressed: dict, factors: dict | None = None,
                       rank: int | None = None) -> nn.Module:
    """A deep copy of ``model`` whose layers in ``compressed`` hold ``Ŵ`` (``factors=None``)
    or ``Ŵ + B A`` with the first ``rank`` columns / rows of ``factors`` (default: all).

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> comp = compress_layers(lin, "rtn2", layers=["0"])
    >>> fac = compensation_factors(lin, comp, "svd", rank=3)
    >>> full = apply_compensation(lin, comp, fac)      # rank 3 = min(out, in): exact
    >>> x = torch.randn(5, 4)
    >>> torch.allclose(full(x), lin(x), atol=1e-5)
    True
    >>> apply_compensation(lin, comp, fac, rank=1)[0].rank
    1
    """
    if factors is None and rank is not None:
        raise ValueError("rank needs factors (without factors the layers hold the compressed weights only)")
    new_model = copy.deepcopy(model).eval()
    _install(new_model, compressed, factors, rank)
    return new_model


def _install(new_model: nn.Module, compressed: dict, factors: dict | None, rank: int | None) -> None:
    """Replace the layers of ``new_model`` in place (see :func:`apply_compensation`)."""
    linears = _resolve_linears(new_model, list(compressed))
    if factors is not None:
        missing = [n for n in linears if n not in factors]
        if missing:
            raise KeyError(f"factors has no entry for layer(s) {missing}")
        rmax = min(int(factors[n][1].shape[0]) for n in linears)
        rank = rmax if rank is None else check_int(rank, "rank", low=0, high=rmax)
    for name, lin in linears.items():
        if factors is None:
            _set_submodule(new_model, name, _replacement(lin, compressed[name]))
        else:
            B, A = factors[name]
            _set_submodule(new_model, name, _replacement(lin, compressed[name], B[:, :rank], A[:rank]))


@torch.no_grad()
def compensate(model: nn.Module, tokenizer, calib_texts, method: str = "eora", compression: str = "rtn3",
               rank: int = 32, layers=None, layer_sequential: bool = False, progress=None,
               batch_size: int = 64, max_length: int = 128, grams: dict | None = None,
               cancel=None) -> nn.Module:
    """A compressed and compensated deep copy of ``model`` (the original is not touched).

    Each chosen ``nn.Linear`` (default: the 36 encoder layers of MiniLM, see
    :func:`minilm_linear_names`) is compressed with ``compression`` (``"rtn3"``, ``"rtn4"``,
    ``"rtn4g128"``, ``"prune24"``, ``"prune50"`` …) and replaced by a
    :class:`~spectral_explorer.compression.LowRankAdapter` holding ``Ŵ + B A`` with a rank
    ``rank`` correction: ``"svd"`` (plain truncated SVD of ``ΔW``) or ``"eora"`` (EoRA:
    SVD in the eigenspace of the calibration Gram ``XᵀX``).  ``"none"`` puts in the
    compressed ``nn.Linear`` only.

    With ``layer_sequential=True`` the Grams of a layer are collected after all earlier
    layers have been compressed and compensated, so each correction sees the inputs the
    compressed model really produces.  ``progress(fraction, text)`` reports the calibration
    pass and each layer; ``cancel`` is checked between batches and layers (raises
    :class:`~spectral_explorer.progress.Cancelled`; the caller's model is never touched).
    ``grams`` (a dict from layer name to ``XᵀX``, e.g. from :func:`collect_grams` on
    the uncompressed model) skips the calibration pass; it is ignored in layer-sequential
    mode, which must recollect.
    """
    from .minilm import tokenize_batches

    check_choice(method, "method", METHODS)
    _parse_compression(compression)
    rank = check_int(rank, "rank", low=1)
    names = minilm_linear_names(model) if layers is None else list(layers)
    linears = _resolve_linears(model, names)
    if method != "none":
        _check_rank_fits(linears, rank)
    total = len(linears)
    if method != "eora" or (grams is not None and not layer_sequential):
        batches = None
    else:
        if calib_texts is None:
            raise ValueError("method='eora' needs calib_texts (or precomputed grams)")
        batches = tokenize_batches(calib_texts, tokenizer, batch_size=batch_size, max_length=max_length,
                                   device=next(model.parameters()).device)

    # everything happens on a private copy: the caller's model gets no hooks and keeps its mode
    new_model = copy.deepcopy(model).eval()
    if method == "eora" and layer_sequential:
        # Group layers sharing an input (query/key/value) so one pass serves them all; each
        # pass stops once the group's inputs are seen.
        groups = []
        for name in linears:
            prefix = name.rsplit(".", 1)[0]
            if groups and prefix.endswith("attention.self") and groups[-1][0].rsplit(".", 1)[0] == prefix:
                groups[-1].append(name)
            else:
                groups.append([name])
        done = 0
        for group in groups:
            seq_grams, _ = collect_grams(new_model, group, batches, stop_early=True, cancel=cancel)
            for name in group:
                checkpoint(cancel)
                lin = new_model.get_submodule(name)
                W_hat = compress_weight(lin.weight.detach(), compression)
                _set_submodule(new_model, name,
                               _replacement(lin, W_hat, *_layer_factors(lin.weight, W_hat, method, rank,
                                                                        seq_grams[name])))
                done += 1
                checkpoint(cancel, progress, done / total, f"layer-sequential EoRA: {name} ({done}/{total})")
        return new_model

    start = 0.0
    if method == "eora" and grams is None:
        start = 0.5
        grams = collect_grams(new_model, names, batches, progress=subrange(progress, 0.0, start),
                              cancel=cancel)[0]
    checkpoint(cancel, progress, start, f"compressing {total} layer(s) ({compression}) …")
    compressed = compress_layers(new_model, compression, names)
    factors = None
    if method != "none":
        factors = compensation_factors(new_model, compressed, method, rank, grams=grams,
                                       progress=subrange(progress, start, 1.0), cancel=cancel)
    checkpoint(cancel)
    _install(new_model, compressed, factors, rank if factors is not None else None)
    if method == "none":
        for done, name in enumerate(names, start=1):
            checkpoint(cancel, progress, done / total, f"compressed {name}, no correction ({done}/{total})")
    return new_model


@torch.no_grad()
def fidelity_vs_rank(model: nn.Module, tokenizer, calib_texts, held_texts, compression: str = "rtn3",
                     ranks=(4, 8, 16, 32, 64, 128), methods=METHODS, layers=None, grams: dict | None = None,
                     reference=None, progress=None, batch_size: int = 64, max_length: int = 128,
                     cache: dict | None = None, timings: dict | None = None, cancel=None) -> list[dict]:
    """Model-level fidelity of the compressed model against rank, for each method.

    The chosen layers are compressed once and each method's correction is factorised once,
    at the largest rank; every rank of the sweep slices those factors (exact: both SVD and
    EoRA are truncations of one factorisation), builds the compensated model and embeds
    ``held_texts``.  Rows ``{compression, rank, method, mean_cosine, spearman,
    top1_nn_agreement, seconds}`` (see :func:`fidelity`), ``seconds`` being the time to build
    and embed that row; ``"none"`` gives one row with ``rank = 0``.

    ``grams`` (layer name to ``XᵀX`` on the uncompressed model) are collected from
    ``calib_texts`` when EoRA needs them and none are given.  ``reference`` (the original
    model's embeddings of ``held_texts``) is computed when not given.  ``cache`` — a dict the
    caller keeps — holds the compressed weights and factors between calls, so a later call
    with other ranks (≤ the largest factorised so far) only embeds.  ``progress(frac, text)``
    reports the stage; ``timings`` (a dict) receives the seconds of the Grams and factors.
    A ``cache`` belongs to one model and one set of Grams: start a new one when either changes.
    ``cancel`` is checked between layers and embedding batches (raises
    :class:`~spectral_explorer.progress.Cancelled`; the cache then holds only complete entries).
    """
    import time

    from .minilm import embed, tokenize_batches

    methods = tuple(methods)
    for m in methods:
        check_choice(m, "methods", METHODS)
    _parse_compression(compression)
    ranks = sorted({check_int(r, "ranks", low=1) for r in ranks})
    if not ranks and any(m != "none" for m in methods):
        raise ValueError("ranks must hold at least one rank >= 1")
    names = minilm_linear_names(model) if layers is None else list(layers)
    linears = _resolve_linears(model, names)
    rmax = max(ranks, default=0)
    _check_rank_fits(linears, rmax, "ranks")
    cache = {} if cache is None else cache
    timings = {} if timings is None else timings
    progress = progress or (lambda frac, text: None)
    embed_kw = {"batch_size": batch_size, "max_length": max_length}
    n_steps = max(1, len([m for m in methods if m != "none"]) * (len(ranks) + 1) + ("none" in methods))
    step = [0]

    def tick(text):
        progress(min(step[0] / n_steps, 1.0), text)
        step[0] += 1

    checkpoint(cancel)
    if reference is None:
        progress(0.0, "embedding held-out texts with the original model …")
        reference = embed(held_texts, tokenizer, model, cancel=cancel, **embed_kw)
    key = ("compressed", compression, tuple(names))
    if key not in cache:
        cache[key] = compress_layers(model, compression, names)
    compressed = cache[key]
    rows = []

    def measure(method, rank, factors=None):
        t = time.perf_counter()
        cm = apply_compensation(model, compressed, factors, rank)
        f = fidelity(reference, embed(held_texts, tokenizer, cm, cancel=cancel, **embed_kw))
        rows.append({"compression": compression, "rank": rank if factors is not None else 0,
                     "method": method, **f, "seconds": time.perf_counter() - t})

    if "none" in methods:
        tick(f"{compression}: compressed model, no correction …")
        measure("none", None)
    for method in (m for m in methods if m != "none"):
        fkey = ("factors", compression, method, tuple(names))
        if fkey not in cache or cache[fkey][0] < rmax:
            if method == "eora" and grams is None:
                t = time.perf_counter()
                progress(step[0] / n_steps, "collecting XᵀX on the calibration texts …")
                if calib_texts is None:
                    raise ValueError("method 'eora' needs grams or calib_texts")
                grams = collect_grams(copy.deepcopy(model).eval(), names, tokenize_batches(
                    calib_texts, tokenizer, device=next(model.parameters()).device, **embed_kw),
                    cancel=cancel)[0]
                timings["grams_s"] = time.perf_counter() - t
            t = time.perf_counter()
            tick(f"{compression}: factorising {method.upper() if method == 'svd' else 'EoRA'} "
                 f"corrections of {len(names)} layers at rank {rmax} …")
            factors = compensation_factors(model, compressed, method, rmax, grams=grams,
                                           eigs=cache.setdefault("gram_eigh", {}), cancel=cancel)
            cache[fkey] = (rmax, factors)
            timings[f"factors_{method}_s"] = time.perf_counter() - t
        else:
            step[0] += 1
        factors = cache[fkey][1]
        for r in ranks:
            tick(f"{compression}: {method} rank {r} — embedding held-out texts …")
            measure(method, r, factors)
    progress(1.0, "done")
    return rows


def layer_relative_error(W: torch.Tensor, W_hat: torch.Tensor, X: torch.Tensor) -> float:
    """``‖(W − Ŵ) Xᵀ‖_F / ‖W Xᵀ‖_F`` for inputs ``X`` of shape ``(n, in)`` (rows are samples).

    A ``(in, n)`` ``X`` (columns are samples) is accepted too when the shape is unambiguous.
    """
    W = torch.as_tensor(W).to(torch.float64)
    W_hat = torch.as_tensor(W_hat).to(device=W.device, dtype=torch.float64)
    X = torch.as_tensor(X).to(device=W.device, dtype=torch.float64)
    if W.shape != W_hat.shape or W.dim() != 2:
        raise ValueError(f"W and W_hat must be 2-D of the same shape, got {tuple(W.shape)} and {tuple(W_hat.shape)}")
    X = X.reshape(-1, X.shape[-1]) if X.dim() > 2 else X
    if X.dim() != 2:
        raise ValueError(f"X must be 2-D (n_samples, in_features), got shape {tuple(X.shape)}")
    if X.shape[1] != W.shape[1]:
        if X.shape[0] == W.shape[1]:
            X = X.T
        else:
            raise ValueError(f"X has {X.shape[1]} features but W has {W.shape[1]} inputs")
    num = torch.linalg.norm(X @ (W - W_hat).T)
    den = torch.linalg.norm(X @ W.T)
    return float(num / den) if den > 0 else float("inf") if num > 0 else 0.0


def _rankdata(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata
    return rankdata(a)


def fidelity(orig_emb, new_emb) -> dict:
    """How well ``new_emb`` reproduces ``orig_emb`` (same rows, same texts).

    ``mean_cosine``: mean cosine between matching rows; ``spearman``: Spearman correlation
    of the pairwise cosine similarities (upper triangle); ``top1_nn_agreement``: fraction of
    rows whose nearest other row (cosine) is the same in both.
    """
    a = torch.as_tensor(orig_emb).detach().cpu().to(torch.float64)
    b = torch.as_tensor(new_emb).detach().cpu().to(torch.float64)
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"orig_emb and new_emb must be 2-D of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    if n < 3:
        raise ValueError(f"fidelity needs at least 3 embeddings, got {n}")
    a = torch.nn.functional.normalize(a, dim=1)
    b = torch.nn.functional.normalize(b, dim=1)
    cos = (a * b).sum(1)
    Sa, Sb = a @ a.T, b @ b.T
    iu = torch.triu_indices(n, n, offset=1)
    ra = _rankdata(Sa[iu[0], iu[1]].numpy())
    rb = _rankdata(Sb[iu[0], iu[1]].numpy())
    spearman = float(np.corrcoef(ra, rb)[0, 1])
    eye = torch.eye(n, dtype=torch.bool)
    nn_a = Sa.masked_fill(eye, -np.inf).argmax(1)
    nn_b = Sb.masked_fill(eye, -np.inf).argmax(1)
    return {
        "mean_cosine": float(cos.mean()),
        "spearman": spearman,
        "top1_nn_agreement": float((nn_a == nn_b).double().mean()),
    }
