"""Calibration statistics and EoRA / SVD compensation of a compressed transformer.

:func:`collect_grams` streams the input Gram matrices ``XᵀX`` (float64) of chosen
``nn.Linear`` layers through forward hooks; :func:`compensate` compresses those layers
(round-to-nearest quantisation or pruning, from :mod:`spectral_explorer.compression`) and
adds a rank-``r`` correction ``B @ A`` of the compression error ``ΔW = W - Ŵ``, either the
plain truncated SVD of ΔW or the eigenspace-weighted EoRA projection
(:mod:`spectral_explorer.eigenspace`) that minimises ``‖ΔW X - B A X‖`` on calibration data.

Any other ``torch.nn.Module`` (``EigenspaceExplorer.from_model``): :func:`linear_layer_names`,
:func:`model_batches` / :func:`split_heldout` (tensors, dicts of tensors, lists of batches),
:func:`model_grams`, :func:`model_outputs` and :func:`model_fidelity_vs_rank`, whose fidelity is
:func:`output_fidelity` of the final outputs (relative error, mean cosine, argmax agreement).

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
    "linear_layer_names",
    "model_batches",
    "split_heldout",
    "model_outputs",
    "model_grams",
    "layers_reached",
    "output_fidelity",
    "model_fidelity_vs_rank",
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
def _check_sweep(methods, compression, ranks):
    """``(methods, sorted ranks)`` of a fidelity sweep, checked (every method known, the
    compression parsable, at least one rank ≥ 1 unless only ``"none"`` is asked)."""
    methods = tuple(methods)
    for m in methods:
        check_choice(m, "methods", METHODS)
    _parse_compression(compression)
    ranks = sorted({check_int(r, "ranks", low=1) for r in ranks})
    if not ranks and any(m != "none" for m in methods):
        raise ValueError("ranks must hold at least one rank >= 1")
    return methods, ranks


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

    methods, ranks = _check_sweep(methods, compression, ranks)
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


# ---------------------------------------------------------------------------- any torch model
#: metrics of :func:`output_fidelity` (the fidelity of a model other than MiniLM)
OUTPUT_METRICS = ("relative_error", "mean_cosine", "argmax_agreement")


def linear_layer_names(model: nn.Module, layers=None) -> list[str]:
    """Names of the ``nn.Linear`` modules of any ``model`` in module order (``named_modules``),
    or the ``layers`` asked for, checked (an unknown name lists the available ones).

    >>> m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> linear_layer_names(m)
    ['0', '2']
    >>> linear_layer_names(m, ["1"])
    Traceback (most recent call last):
    ...
    ValueError: layers: '1' is not an nn.Linear layer of the model; available: 0, 2
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        kinds = sorted({type(m).__name__ for m in model.modules()})
        raise ValueError(f"the model ({type(model).__name__}) has no nn.Linear layers (it holds {', '.join(kinds)}); "
                         "EoRA and SVD compensate the weights of nn.Linear layers")
    if layers is None:
        return names
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError(f"layers is empty; name at least one of: {', '.join(names)}")
    unknown = [n for n in layers if n not in names]
    if unknown:
        what = "is not an nn.Linear layer" if len(unknown) == 1 else "are not nn.Linear layers"
        raise ValueError(f"layers: {', '.join(map(repr, unknown))} {what} of the model; available: {', '.join(names)}")
    wanted = set(layers)
    return [n for n in names if n in wanted]


def _as_tensor(x, where: str, dtype=None):
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{where}: expected a numeric array, got dtype {x.dtype}")
        x = torch.as_tensor(x)
        if x.is_floating_point() and dtype is not None:
            x = x.to(dtype)
    if isinstance(x, torch.Tensor):
        if x.is_floating_point() or x.is_complex():
            bad = int((~torch.isfinite(x)).sum())
            if bad:
                raise ValueError(f"{where}: {bad} NaN or infinite value(s); expected finite inputs")
    return x


def _check_batch(batch, where: str, dtype=None):
    """A batch as the model takes it: a tensor, a dict of keyword arguments (tensors; other values
    pass through) or a tuple of positional arguments; numpy arrays become tensors."""
    if isinstance(batch, (torch.Tensor, np.ndarray)):
        t = _as_tensor(batch, where, dtype)
        if t.dim() >= 1 and t.shape[0] == 0:
            raise ValueError(f"{where}: an empty batch (0 rows)")
        return t
    if isinstance(batch, dict):
        out = {k: _as_tensor(v, f"{where}[{k!r}]", dtype) for k, v in batch.items()}
        if not any(isinstance(v, torch.Tensor) for v in out.values()):
            raise ValueError(f"{where}: a dict batch must hold at least one tensor (keyword arguments of the model), "
                             f"got keys {list(batch)}")
        return out
    if isinstance(batch, tuple):
        out = tuple(_as_tensor(v, f"{where}[{i}]", dtype) for i, v in enumerate(batch))
        if not any(isinstance(v, torch.Tensor) for v in out):
            raise ValueError(f"{where}: a tuple batch (positional arguments) must hold at least one tensor")
        return out
    raise ValueError(f"{where}: expected a tensor, a dict of tensors (keyword arguments) or a tuple of tensors "
                     f"(positional arguments), got {type(batch).__name__}")


def _rows(batch):
    """Number of leading rows shared by the batch's tensors (None when it cannot be sliced)."""
    tensors = [batch] if isinstance(batch, torch.Tensor) else \
        [v for v in (batch.values() if isinstance(batch, dict) else batch) if isinstance(v, torch.Tensor)]
    ns = {int(t.shape[0]) for t in tensors if t.dim() >= 1}
    return ns.pop() if len(ns) == 1 else None


def _slice(batch, lo, hi):
    def cut(v):
        return v[lo:hi] if isinstance(v, torch.Tensor) and v.dim() >= 1 else v
    if isinstance(batch, torch.Tensor):
        return cut(batch)
    if isinstance(batch, dict):
        return {k: cut(v) for k, v in batch.items()}
    return tuple(cut(v) for v in batch)


def model_batches(inputs, name: str = "calibration", batch_size: int = 256, dtype=None) -> list:
    """The batches of ``inputs`` for a model's forward pass, checked.

    ``inputs`` is a tensor or array ``(n, …)`` or a dict of tensors (keyword arguments, e.g. a
    tokenizer's output): split into batches of ``batch_size`` rows; or a list of batches, each a
    tensor, a dict of tensors or a tuple of tensors (positional arguments), used as they are.
    NaN / infinite values and empty inputs raise a ``ValueError`` naming ``name`` and the batch;
    numpy arrays become tensors (floating ones of ``dtype`` when given).
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    if isinstance(inputs, (list, tuple)) and not isinstance(inputs, torch.Tensor):
        if len(inputs) == 0:
            raise ValueError(f"{name}: an empty list; expected at least one batch")
        return [_check_batch(b if not isinstance(b, list) else tuple(b), f"{name} batch {i}", dtype)
                for i, b in enumerate(inputs)]
    whole = _check_batch(inputs, name, dtype)
    n = _rows(whole)
    if n is None or n <= batch_size:
        return [whole]
    return [_slice(whole, lo, min(lo + batch_size, n)) for lo in range(0, n, batch_size)]


def split_heldout(inputs, fraction: float = 0.25):
    """``(calibration, heldout)`` from one set of inputs (see :func:`model_batches`): the last
    ``fraction`` of the batches of a list with two or more, else the last ``fraction`` of the rows
    (at least one row each).  What :func:`model_fidelity_vs_rank` and
    ``EigenspaceExplorer.from_model`` do when no held-out inputs are given."""
    if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
        raise ValueError("calibration: an empty list; expected at least one batch")
    if isinstance(inputs, (list, tuple)) and len(inputs) >= 2:
        k = max(1, int(round(len(inputs) * fraction)))
        return list(inputs[:-k]), list(inputs[-k:])
    whole = inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs
    whole = _check_batch(whole if not isinstance(whole, list) else tuple(whole), "calibration")
    n = _rows(whole)
    if n is None or n < 2:
        raise ValueError("calibration: cannot split off held-out inputs from a single sample "
                         f"({'no common first dimension' if n is None else '1 row'}); pass heldout= or more samples")
    k = max(1, int(round(n * fraction)))
    return [_slice(whole, 0, n - k)], [_slice(whole, n - k, n)]


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    lhs = getattr(out, "last_hidden_state", None)
    if isinstance(lhs, torch.Tensor):
        return lhs
    items = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else ()
    for v in items:
        t = _first_tensor(v)
        if t is not None:
            return t
    return None


def _forward(model, batch, where: str):
    from .progress import Cancelled
    try:
        return _run_batch(model, batch)
    except (Cancelled, _StopForward):
        raise
    except Exception as exc:  # noqa: BLE001 - the model's own error, named for the user
        raise ValueError(f"{where}: the model raised {type(exc).__name__}: {exc}") from None


@torch.no_grad()
def model_outputs(model: nn.Module, batches, name: str = "heldout", cancel=None) -> torch.Tensor:
    """The model's outputs on ``batches`` as float64 rows ``(n_rows, d)`` on the CPU.

    The output is the model's tensor, or ``last_hidden_state`` of a Hugging Face ``ModelOutput``,
    or the first tensor of a tuple / dict; its last dimension is the feature axis, every other
    axis is flattened into rows (a dict batch with an ``attention_mask`` of the output's first two
    dimensions keeps the unmasked positions only).  A failing forward pass raises a
    ``ValueError`` naming ``name``, the batch and the model's message.
    """
    rows = []
    for i, batch in enumerate(batches):
        checkpoint(cancel)
        where = f"{name} batch {i}"
        out = _forward(model, batch, where)
        y = _first_tensor(out)
        if y is None:
            raise ValueError(f"{where}: the model's output ({type(out).__name__}) holds no tensor")
        y = y.detach()
        mask = batch.get("attention_mask") if isinstance(batch, dict) else None
        if isinstance(mask, torch.Tensor) and y.dim() == 3 and tuple(y.shape[:2]) == tuple(mask.shape):
            y = y[mask.to(torch.bool)]
        y = y.reshape(-1, y.shape[-1]) if y.dim() >= 2 else y.reshape(-1, 1)
        y = y.to("cpu", torch.float64)
        if not torch.isfinite(y).all():
            raise ValueError(f"{where}: the model's output holds NaN or infinite values")
        rows.append(y)
    return torch.cat(rows)


def model_grams(model: nn.Module, layer_names, batches, name: str = "calibration", progress=None, cancel=None):
    """``collect_grams`` on any model (see there), each batch's failure a ``ValueError`` naming
    ``name``, the batch and the model's message.  Returns the dict of Grams."""
    from .progress import Cancelled
    batches = list(batches)
    grams = None
    for i, batch in enumerate(batches):
        try:
            g, _ = collect_grams(model, layer_names, [batch], cancel=cancel)
        except (Cancelled, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{name} batch {i}: the model raised {type(exc).__name__}: {exc}") from None
        if grams is None:
            grams = g
        else:
            for k in grams:
                grams[k] += g[k]
        checkpoint(cancel, progress, (i + 1) / len(batches),
                   f"collecting XᵀX of {len(grams)} layer(s): batch {i + 1}/{len(batches)}")
    return grams


@torch.no_grad()
def layers_reached(model: nn.Module, layer_names, batch, name: str = "calibration batch 0") -> list[str]:
    """The layers of ``layer_names`` whose ``forward`` runs on ``batch`` (one forward pass with
    hooks, removed after).  A Linear whose weight its parent uses directly (``nn.MultiheadAttention``'s
    ``out_proj``) never runs its forward, so no hook can see its input (no Gram for EoRA)."""
    seen = []
    mods = dict(model.named_modules())
    handles = [mods[n].register_forward_pre_hook(lambda m, i, n=n: seen.append(n)) for n in layer_names]
    try:
        _forward(model, batch, name)
    finally:
        for h in handles:
            h.remove()
    return [n for n in layer_names if n in set(seen)]


def output_fidelity(reference, outputs) -> dict:
    """How well ``outputs`` (rows, d) reproduce the original model's ``reference`` outputs:
    ``relative_error`` = ‖O − R‖_F / ‖R‖_F, ``mean_cosine`` = mean cosine of matching rows,
    ``argmax_agreement`` = share of rows with the same argmax over the last axis (the predicted
    class of a classifier; NaN for one output feature)."""
    R = torch.as_tensor(reference).to(torch.float64)
    O = torch.as_tensor(outputs).to(torch.float64)
    if R.shape != O.shape or R.dim() != 2:
        raise ValueError(f"reference and outputs must be 2-D of the same shape, got {tuple(R.shape)} and {tuple(O.shape)}")
    den = float(torch.linalg.norm(R))
    num = float(torch.linalg.norm(O - R))
    cos = torch.nn.functional.cosine_similarity(R, O, dim=1, eps=1e-30)
    return {"relative_error": num / den if den > 0 else (0.0 if num == 0 else float("inf")),
            "mean_cosine": float(cos.mean()),
            "argmax_agreement": float((R.argmax(1) == O.argmax(1)).double().mean()) if R.shape[1] > 1 else float("nan")}


def _weight_dtype(model):
    p = next((p for p in model.parameters() if p.is_floating_point()), None)
    return p.dtype if p is not None else torch.float32


@torch.no_grad()
def model_fidelity_vs_rank(model: nn.Module, calibration, heldout=None, compression: str = "rtn3",
                           ranks=(4, 8, 16, 32, 64, 128), methods=METHODS, layers=None, grams: dict | None = None,
                           reference=None, cache: dict | None = None, batch_size: int = 256, progress=None,
                           cancel=None) -> list[dict]:
    """:func:`fidelity_vs_rank` for any ``torch.nn.Module``: rows ``{compression, rank, method,
    relative_error, mean_cosine, argmax_agreement, seconds}`` (:func:`output_fidelity` of the
    compressed + compensated model's outputs against the original's on ``heldout``).

    ``calibration`` / ``heldout`` are inputs as :func:`model_batches` takes them (a tensor, a dict
    of tensors, a list of batches); ``heldout=None`` takes the last quarter of ``calibration``
    (:func:`split_heldout`).  ``layers`` defaults to every ``nn.Linear`` (:func:`linear_layer_names`).
    A rank above a layer's ``min(out, in)`` gives that layer its exact (full-rank) correction.
    The model is never modified: a private copy in eval mode holds the swapped weights
    ``Ŵ + B A``.  ``grams`` (name → ``XᵀX`` on the calibration inputs), ``reference`` (the
    original outputs, from :func:`model_outputs`) and ``cache`` work as in :func:`fidelity_vs_rank`.
    """
    import time

    methods, ranks = _check_sweep(methods, compression, ranks)
    names = linear_layer_names(model, layers)
    dtype = _weight_dtype(model)
    if heldout is None:
        calibration, heldout = split_heldout(calibration)
    calib = model_batches(calibration, "calibration", batch_size, dtype)
    held = model_batches(heldout, "heldout", batch_size, dtype)
    cache = {} if cache is None else cache
    progress = progress or (lambda frac, text: None)
    work = copy.deepcopy(model).eval()
    linears = {n: work.get_submodule(n) for n in names}
    if reference is None:
        progress(0.0, "outputs of the original model on the held-out inputs …")
        reference = model_outputs(work, held, "heldout", cancel=cancel)
    key = ("compressed", compression, tuple(names))
    if key not in cache:
        cache[key] = {n: compress_weight(lin.weight.detach(), compression) for n, lin in linears.items()}
    compressed = cache[key]
    rmax = max(ranks, default=0)
    n_steps = max(1, sum(len(ranks) + 1 for m in methods if m != "none") + ("none" in methods))
    step = [0]
    rows = []

    def measure(method, rank, factors=None):
        checkpoint(cancel, progress, min(step[0] / n_steps, 1.0),
                   f"{compression}: {method} rank {rank} — outputs on the held-out inputs …" if factors
                   else f"{compression}: compressed model, no correction …")
        step[0] += 1
        t = time.perf_counter()
        for n, lin in linears.items():
            W_hat = compressed[n].to(torch.float64)
            if factors is not None:
                B, A = factors[n]
                W_hat = W_hat + B[:, :rank].to(torch.float64) @ A[:rank].to(torch.float64)
            lin.weight.copy_(W_hat.to(lin.weight.dtype))
        f = output_fidelity(reference, model_outputs(work, held, "heldout", cancel=cancel))
        rows.append({"compression": compression, "rank": rank if factors is not None else 0, "method": method,
                     **f, "seconds": time.perf_counter() - t})

    originals = {n: lin.weight.detach().clone() for n, lin in linears.items()}
    if "none" in methods:
        measure("none", 0)
    for method in (m for m in methods if m != "none"):
        fkey = ("factors", compression, method, tuple(names))
        if fkey not in cache or cache[fkey][0] < rmax:
            if method == "eora" and grams is None:
                checkpoint(cancel, progress, step[0] / n_steps, "collecting XᵀX on the calibration inputs …")
                for n, lin in linears.items():
                    lin.weight.copy_(originals[n])
                grams = model_grams(work, names, calib, cancel=cancel)
            checkpoint(cancel, progress, step[0] / n_steps,
                       f"{compression}: factorising {'SVD' if method == 'svd' else 'EoRA'} corrections of "
                       f"{len(names)} layer(s) at rank ≤ {rmax} …")
            eigs = cache.setdefault("gram_eigh", {})
            factors = {}
            for n in names:
                checkpoint(cancel)
                W = originals[n]
                eig = None
                if method == "eora":
                    if n not in eigs:
                        from .eigenspace import gram_eigh
                        eigs[n] = gram_eigh(grams[n].to(device=W.device, dtype=torch.float64))
                    eig = eigs[n]
                factors[n] = _layer_factors(W, compressed[n], method, min(rmax, min(W.shape)),
                                            grams[n] if method == "eora" else None, eig)
            cache[fkey] = (rmax, factors)
        step[0] += 1
        factors = cache[fkey][1]
        for r in ranks:
            measure(method, r, factors)
    progress(1.0, "done")
    return rows
