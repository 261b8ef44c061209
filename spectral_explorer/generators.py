"""Any generator ``z → images``, probed once, for the latent-direction and Householder tools.

:class:`UserGenerator` wraps a user's generator — an ``nn.Module`` or a plain callable mapping
latent codes (B, latent_dim) to images (B, C, H, W), C = 1 or 3 — and finds, with forward hooks
during one probe call, what the spectral methods need:

* **the first layer** (SeFa, the Householder projector): the first ``nn.Linear`` or
  ``nn.ConvTranspose2d`` whose input *is* z (equal to the latents up to a reshape, e.g. the
  DCGAN's (B, nz, 1, 1)), or the layer named by ``first_layer=`` (a name such as ``"0"`` or
  ``"net.fc"``, or the module itself).  Its map ``A`` (features × latent_dim) is read exactly
  by feeding the layer the unit vectors (``A[:, j] = layer(e_j) − layer(0)``; for a Linear it is
  its weight, for a ConvTranspose on a 1×1 input ``W.reshape(nz, -1).T``).  For a plain callable
  the modules searched are those it refers to (a bound method's module, the ``nn.Module``
  objects among its closure variables and globals).
* **the GANSpace layer**: the output of the first nonlinearity module (ReLU, LeakyReLU, GELU,
  SiLU, ELU, Tanh, Sigmoid, …) that runs after the first layer — the first block, as GANSpace
  uses an early layer — or the first layer's own output when no nonlinearity follows; with no
  first layer at all, the images themselves (PCA in pixel space).  ``ganspace_layer=`` names
  another module.  The features are read with a hook that stops the forward pass there.
* **how images are shown**: ``value_range`` — [-1, 1] when any probe image (16 latents) has a
  value below −0.01, else [0, 1]; values outside are clipped in the pictures.  Pass
  ``value_range=(lo, hi)`` to say it.

The probe validates at the boundary (``ValueError``): the call must work on (B, latent_dim)
latents, return a 4-D (B, C, H, W) tensor with C 1 or 3, finite and deterministic (a module in
training mode with dropout or batch statistics is not: call ``G.eval()``).  The generator is not
modified (no mode change, no parameter freezing); hooks are removed after each call and fire only
on the calling thread.

>>> import torch
>>> from torch import nn
>>> G = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 48), nn.Unflatten(1, (3, 4, 4)), nn.Tanh())
>>> gen = UserGenerator(G, 8)
>>> gen.first_layer_name, gen.features_name, tuple(gen.sefa_weight.shape), gen.image_shape
('0', '1', (64, 8), (3, 4, 4))
"""

from __future__ import annotations

import inspect
import threading
from functools import partial

import torch
from torch import nn

from ._validation import check_int

__all__ = ["UserGenerator", "ACTIVATIONS"]

#: modules counted as the nonlinearity that closes the first block (the GANSpace layer)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh,
               nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.ReLU6, nn.Hardswish)
_FIRST = (nn.Linear, nn.ConvTranspose2d)
PROBE = 16


class _Stop(BaseException):
    """Raised by a hook to end a forward pass once the wanted activation is read."""


def _modules_of(G) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` for every submodule of ``G`` — or of the modules a callable refers to."""
    roots: list[tuple[str, nn.Module]] = []
    if isinstance(G, nn.Module):
        return [(n, m) for n, m in G.named_modules() if n]  or [("", G)]
    owner = getattr(G, "__self__", None)
    if isinstance(owner, nn.Module):
        roots.append(("self", owner))
    if isinstance(G, partial):
        roots += [(f"arg{i}", a) for i, a in enumerate(G.args) if isinstance(a, nn.Module)]
        G = G.func
    try:
        cv = inspect.getclosurevars(G)
        for scope in (cv.nonlocals, cv.globals):
            roots += [(k, v) for k, v in scope.items() if isinstance(v, nn.Module)]
    except TypeError:   # a builtin or a callable object without source: nothing to search
        pass
    out, seen = [], set()
    for prefix, root in roots:
        for n, m in root.named_modules():
            if id(m) not in seen:
                seen.add(id(m))
                out.append((f"{prefix}.{n}" if n else prefix, m))
    return out


class UserGenerator:
    """A generator ``z (B, latent_dim) → images (B, C, H, W)``, probed (see the module docstring).

    Attributes: ``latent_dim``, ``device``, ``dtype``, ``image_shape`` (C, H, W),
    ``value_range`` (lo, hi), ``first_layer_name`` (None when no layer reads z),
    ``features_name`` (the GANSpace layer; ``"images"`` for pixel space), ``n_features``.
    """

    def __init__(self, G, latent_dim: int, first_layer=None, ganspace_layer=None, value_range=None):
        if not callable(G):
            raise ValueError(f"G must be a torch.nn.Module or a callable z -> images; got {type(G).__name__}")
        self.G = G
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        params = list(G.parameters()) if isinstance(G, nn.Module) else []
        self._modules = _modules_of(G)
        if not params:
            params = [p for _, m in self._modules for p in m.parameters(recurse=False)]
        floats = [p for p in params if p.is_floating_point()]
        self.device = floats[0].device if floats else torch.device("cpu")
        self.dtype = floats[0].dtype if floats else torch.float32
        live = [n for n, m in self._modules if m.training and isinstance(
            m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, nn.Dropout))]
        if live:
            raise ValueError(f"G has batch-dependent or random layers in training mode ({', '.join(live[:3])}); "
                             "call G.eval() first")
        self._hooked = self._resolve(first_layer, "first_layer")
        feat = self._resolve(ganspace_layer, "ganspace_layer")
        z = self.latents(PROBE, seed=0)
        calls, imgs = self._probe(z)
        self._check_images(imgs, z)
        with torch.no_grad():
            again = self._call(z)
        if not torch.allclose(imgs, again, rtol=1e-4, atol=1e-5):
            raise ValueError("G gives different images for the same latents (a module in training mode with dropout "
                             "or batch statistics?); call G.eval() first")
        self.image_shape = tuple(int(s) for s in imgs.shape[1:])
        if value_range is None:
            value_range = (-1.0, 1.0) if float(imgs.min()) < -0.01 else (0.0, 1.0)
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise ValueError(f"value_range must be (lo, hi) with hi > lo; got {value_range!r}")
        self.value_range = (lo, hi)
        self._first_input_shape = None
        self.first_layer = self.first_layer_name = None
        if self._hooked is not None:
            self._set_first(self._hooked, calls, z)
        else:
            for name, m, inp, _ in calls:
                if isinstance(m, _FIRST) and inp is not None and inp.numel() == z.numel() \
                        and torch.equal(inp.reshape(z.shape), z):
                    self._set_first((name, m), calls, z)
                    break
        self._features = None
        if feat is not None:
            if not any(m is feat[1] for _, m, _, _ in calls):
                raise ValueError(f"ganspace_layer {feat[0]!r} is not called when G runs")
            self._features = feat
        elif self.first_layer is not None:
            order = [m for _, m, _, _ in calls]
            i = next(j for j, m in enumerate(order) if m is self.first_layer)
            later = [(n, m) for n, m, _, out in calls[i + 1:]
                     if isinstance(m, ACTIVATIONS) and out is not None and out.numel() != imgs.numel()]
            self._features = later[0] if later else (self.first_layer_name, self.first_layer)
        self.features_name = self._features[0] if self._features else "images"
        self.n_features = int(self.first_block(z[:1]).shape[1])

    # ------------------------------------------------------------------ probing
    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` standard normal latents drawn on the CPU from ``seed`` (as
        :func:`~spectral_explorer.face_dcgan.sample_latents`), on the generator's device."""
        g = torch.Generator().manual_seed(int(seed))
        return torch.randn((n, self.latent_dim), generator=g).to(self.device, self.dtype)

    def _resolve(self, layer, what):
        if layer is None:
            return None
        if isinstance(layer, nn.Module):
            for n, m in self._modules:
                if m is layer:
                    return n, m
            return type(layer).__name__, layer
        if not isinstance(layer, str):
            raise ValueError(f"{what} must be a module name (str) or an nn.Module; got {type(layer).__name__}")
        names = dict(self._modules)
        if layer not in names:
            shown = ", ".join(n for n, m in self._modules if isinstance(m, _FIRST)) or "none"
            raise ValueError(f"{what} {layer!r} is not a module of G (its Linear/ConvTranspose2d layers: {shown})")
        return layer, names[layer]

    def _call(self, z):
        try:
            out = self.G(z)
        except _Stop:
            raise
        except Exception as exc:
            raise ValueError(f"G failed on latents of shape {tuple(z.shape)} (latent_dim={self.latent_dim}): "
                             f"{type(exc).__name__}: {exc}") from None
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"G must return a tensor of images (B, C, H, W); got {type(out).__name__}")
        return out

    def _probe(self, z):
        calls, handles = [], []
        me = threading.get_ident()

        def hook(name, m, args, out):
            if threading.get_ident() != me:
                return
            inp = args[0].detach() if args and isinstance(args[0], torch.Tensor) else None
            o = out.detach() if isinstance(out, torch.Tensor) else None
            if not any(c[1] is m for c in calls):
                calls.append((name, m, inp, o))
        extra = [self._hooked] if self._hooked is not None and all(m is not self._hooked[1]
                                                                   for _, m in self._modules) else []
        for name, m in self._modules + extra:
            if not list(m.children()) or m is (self._hooked or (None, None))[1]:
                handles.append(m.register_forward_hook(partial(hook, name)))
        try:
            with torch.no_grad():
                out = self._call(z)
        finally:
            for h in handles:
                h.remove()
        return calls, out

    def _check_images(self, imgs, z):
        if imgs.dim() != 4:
            raise ValueError(f"G must return images (B, C, H, W); got shape {tuple(imgs.shape)} for latents "
                             f"of shape {tuple(z.shape)}")
        if imgs.shape[0] != z.shape[0]:
            raise ValueError(f"G returned {imgs.shape[0]} images for {z.shape[0]} latents")
        if imgs.shape[1] not in (1, 3):
            raise ValueError(f"G must return images with 1 or 3 channels (B, C, H, W); got shape {tuple(imgs.shape)}")
        if not imgs.is_floating_point():
            raise ValueError(f"G must return floating-point images; got dtype {imgs.dtype}")
        if not torch.isfinite(imgs).all():
            raise ValueError(f"G returned NaN or infinite values for standard normal latents "
                             f"({int((~torch.isfinite(imgs)).sum())} of {imgs.numel()})")

    def _set_first(self, named, calls, z):
        name, m = named
        if not isinstance(m, _FIRST):
            raise ValueError(f"first_layer {name!r} must be an nn.Linear or nn.ConvTranspose2d; "
                             f"got {type(m).__name__}")
        w = m.weight
        fan_in = w.shape[1] if isinstance(m, nn.Linear) else w.shape[0]
        if fan_in != self.latent_dim:
            raise ValueError(f"first_layer {name!r} ({type(m).__name__}, weight {tuple(w.shape)}) reads "
                             f"{fan_in} inputs, but latent_dim is {self.latent_dim}")
        seen = [c for c in calls if c[1] is m]
        if not seen or seen[0][2] is None:
            raise ValueError(f"first_layer {name!r} is not called when G runs on latents (B, {self.latent_dim})")
        inp = seen[0][2]
        if inp.numel() != z.numel():
            raise ValueError(f"first_layer {name!r} reads inputs of shape {tuple(inp.shape)}, not one latent of "
                             f"{self.latent_dim} values per image")
        self.first_layer_name, self.first_layer = name, m
        self._first_input_shape = (-1,) + tuple(inp.shape[1:])

    # ------------------------------------------------------------------ what the methods use
    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) (differentiable: the Jacobian directions go through it); latents are
        cast to the generator's dtype."""
        return self.G(z.to(self.dtype))

    def _layer(self, x):
        return self.first_layer(x.reshape(self._first_input_shape))

    @property
    def has_first_layer(self) -> bool:
        """Whether SeFa's first layer was found (or given)."""
        return self.first_layer is not None

    def _need_first(self):
        if self.first_layer is None:
            raise ValueError(f"no nn.Linear or nn.ConvTranspose2d of G reads z (B, {self.latent_dim}); name the "
                             "layer with first_layer= (SeFa and the Householder projector need it)")

    @property
    def sefa_weight(self) -> torch.Tensor:
        """The first layer's map A (features, latent_dim): ``A[:, j] = layer(e_j) − layer(0)``."""
        self._need_first()
        with torch.no_grad():
            eye = torch.eye(self.latent_dim, device=self.device, dtype=self.dtype)
            out = self._layer(torch.cat([eye, torch.zeros_like(eye[:1])])).reshape(self.latent_dim + 1, -1)
        return (out[:-1] - out[-1:]).T.contiguous()

    @property
    def first_bias(self) -> torch.Tensor:
        """The first layer's output at z = 0, flattened (its bias)."""
        self._need_first()
        with torch.no_grad():
            return self._layer(torch.zeros((1, self.latent_dim), device=self.device, dtype=self.dtype)).reshape(-1)

    def _run_hooked(self, z, stop_at=None, replace=None):
        """``G(z)`` with the first layer's output replaced by ``replace(x)`` (x its input, flat)
        and/or stopped at module ``stop_at`` (its output returned, flattened)."""
        me = threading.get_ident()
        handles, box = [], {}
        if replace is not None:
            self._need_first()
            bias = self.first_bias

            def swap(m, args, out):
                if threading.get_ident() == me:
                    x = args[0].reshape(args[0].shape[0], -1)
                    return (replace(x) + bias).reshape(out.shape)
            handles.append(self.first_layer.register_forward_hook(swap))
        if stop_at is not None:
            def stop(m, args, out):
                if threading.get_ident() == me:
                    box["out"] = out
                    raise _Stop
            handles.append(stop_at.register_forward_hook(stop))
        try:
            out = self.G(z.to(self.dtype))
        except _Stop:
            out = box["out"]
        finally:
            for h in handles:
                h.remove()
        return out.reshape(z.shape[0], -1) if stop_at is not None else out

    def first_block(self, z: torch.Tensor) -> torch.Tensor:
        """The GANSpace layer's output (B, n_features) (the images, flattened, when G has no first layer)."""
        if self._features is None:
            return self.G(z.to(self.dtype)).reshape(z.shape[0], -1)
        return self._run_hooked(z, stop_at=self._features[1])

    def first_block_with(self, proj, z: torch.Tensor) -> torch.Tensor:
        """:meth:`first_block` with the first layer's map replaced by ``proj`` (its bias kept)."""
        return self._run_hooked(z, stop_at=self._features[1], replace=proj)

    def images_with(self, proj, z: torch.Tensor) -> torch.Tensor:
        """Images with the first layer's map replaced by ``proj`` (its bias kept)."""
        return self._run_hooked(z, replace=proj)

    def describe(self) -> str:
        """One line: the layers found and how the images are read."""
        c, h, w = self.image_shape
        lo, hi = self.value_range
        first = (f"first layer `{self.first_layer_name}` ({type(self.first_layer).__name__}, A "
                 f"{self.n_first_features} × {self.latent_dim})" if self.has_first_layer else "no layer reads z (no SeFa)")
        return (f"your generator: latent {self.latent_dim} → images {c} × {h} × {w}, shown as values in "
                f"[{lo:g}, {hi:g}] · {first} · GANSpace on `{self.features_name}` ({self.n_features} features)")

    @property
    def n_first_features(self) -> int:
        """Output size of the first layer (its bias's length)."""
        return int(self.first_bias.numel())
