"""A tiny denoising diffusion model of handwritten digits, trained here, with an h-space.

The data are scikit-learn's 8×8 digits (1797 images, shipped with scikit-learn, nothing is
downloaded), upsampled bilinearly to 16×16 and scaled to [-1, 1].  The model is a small U-Net
(two resolutions down, a bottleneck at 4×4, two up, skip connections) that predicts the noise
ε of a cosine-schedule diffusion process with ``T = 1000`` steps; sampling is deterministic
DDIM (η = 0) on an evenly spaced sub-sequence of the timesteps.

The output of the bottleneck ("mid") block is the *h-space* of Kwon et al. (Asyrp) and Haas
et al.: a (4c, 4, 4) tensor per image and step, (96, 4, 4) for the shipped checkpoint (c = 24
channels, ``DigitsUNet.h_shape``).  :func:`ddim_sample` can capture it at every
step and add an edit ``Δh`` at every step or inside a window of steps; the decoder half
(:meth:`DigitsUNet.decode`) maps a bottleneck back to ε̂, so the Jacobian ∂ε̂/∂h is available
to :func:`spectral_explorer.latent_directions.jacobian_directions`.

The shipped checkpoint (``assets/digits_diffusion.safetensors``) was made with::

    python -m spectral_explorer.digits_diffusion --out spectral_explorer/assets/digits_diffusion.safetensors

its safetensors header records the seed, steps, batch size, final loss, wall time and torch
version (:func:`checkpoint_info`).

An attribute classifier (:func:`digit_classifier`, multinomial logistic regression on the
16×16 pixels) and two hand-made attributes (:func:`ink`, :func:`slant`) label generated
samples.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._validation import check_float, check_int
from .device import resolve_device
from .progress import checkpoint

__all__ = [
    "DigitsUNet",
    "digits_images",
    "cosine_alphas_cumprod",
    "ddim_timesteps",
    "ddim_sample",
    "diffusion_loss",
    "train_digits_diffusion",
    "save_checkpoint",
    "load_digits_diffusion",
    "checkpoint_info",
    "CHECKPOINT",
    "digit_classifier",
    "ink",
    "slant",
]

CHECKPOINT = Path(__file__).resolve().parent / "assets" / "digits_diffusion.safetensors"
T_STEPS = 1000
SIZE = 16


# ----------------------------------------------------------------------------- data
def digits_images(size: int = SIZE, split: str = "all", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as float32 images (n, 1, size, size) in [-1, 1], and labels (n,).

    ``split``: ``"all"``, or ``"train"`` / ``"test"`` (a fixed stratified 75/25 split by ``seed``).
    """
    from sklearn.datasets import load_digits

    size = check_int(size, "size", 8, 64)
    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0
    y = torch.as_tensor(d.target, dtype=torch.long)
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 2 - 1).contiguous()
    if split == "all":
        return x, y
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test'; got {split!r}")
    from sklearn.model_selection import train_test_split

    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed,
                                           stratify=y.numpy())
    idx = torch.as_tensor(idx_train if split == "train" else idx_test)
    return x[idx], y[idx]


# ----------------------------------------------------------------------------- model
def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class DigitsUNet(nn.Module):
    """ε-prediction U-Net for 1×16×16 images with a (4c, 4, 4) bottleneck, the h-space.

    ``forward(x, t)`` = ``decode(*encode(x, t))``; :meth:`encode` returns the bottleneck ``h``
    (the mid block's output), the skip tensors and the time embedding.
    """

    def __init__(self, channels: int = 24, tdim: int = 128):
        super().__init__()
        c = self.channels = int(channels)
        self.tdim = int(tdim)
        self.time = nn.Sequential(nn.Linear(64, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.conv_in = nn.Conv2d(1, c, 3, padding=1)
        self.down1 = _ResBlock(c, c, tdim)
        self.pool1 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.down2 = _ResBlock(2 * c, 2 * c, tdim)
        self.pool2 = nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1)
        self.mid = _ResBlock(4 * c, 4 * c, tdim)
        self.up2 = nn.Conv2d(4 * c, 2 * c, 3, padding=1)
        self.dec2 = _ResBlock(4 * c, 2 * c, tdim)
        self.up1 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.dec1 = _ResBlock(2 * c, c, tdim)
        self.norm_out = nn.GroupNorm(8, c)
        self.conv_out = nn.Conv2d(c, 1, 3, padding=1)

    @property
    def h_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of one bottleneck activation ``h``."""
        return (4 * self.channels, SIZE // 4, SIZE // 4)

    def encode(self, x: torch.Tensor, t: torch.Tensor):
        """The U-Net's down path: ``(h, skips, temb)``, with ``h`` the bottleneck (the h-space)."""
        temb = self.time(_timestep_embedding(t, 64))
        s1 = self.down1(self.conv_in(x), temb)
        s2 = self.down2(self.pool1(s1), temb)
        h = self.mid(self.pool2(s2), temb)
        return h, (s1, s2), temb

    def decode(self, h: torch.Tensor, skips, temb: torch.Tensor) -> torch.Tensor:
        """The U-Net's up path: ε̂ from the bottleneck ``h``, the skips and the time embedding."""
        s1, s2 = skips
        u = self.up2(F.interpolate(h, scale_factor=2, mode="nearest"))
        u = self.dec2(torch.cat([u, s2], dim=1), temb)
        u = self.up1(F.interpolate(u, scale_factor=2, mode="nearest"))
        u = self.dec1(torch.cat([u, s1], dim=1), temb)
        return self.conv_out(F.silu(self.norm_out(u)))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x, t))


# ----------------------------------------------------------------------------- schedule
def cosine_alphas_cumprod(T: int = T_STEPS, s: float = 0.008) -> torch.Tensor:
    """ᾱ_t for t = 0..T-1 of the cosine schedule (Nichol & Dhariwal), float64, β clipped at 0.999."""
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


@lru_cache(maxsize=1)
def _abar_list() -> tuple[float, ...]:
    return tuple(cosine_alphas_cumprod().tolist())


def ddim_timesteps(n_steps: int, T: int = T_STEPS) -> list[int]:
    """``n_steps`` evenly spaced timesteps from T-1 down to 0 (the DDIM sub-sequence)."""
    n_steps = check_int(n_steps, "n_steps", 1, T)
    return [int(round(v)) for v in np.linspace(T - 1, 0, n_steps)]


def diffusion_loss(model: DigitsUNet, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The ε-prediction loss ‖ε − ε̂(√ᾱ_t x0 + √(1−ᾱ_t) ε, t)‖² at uniformly drawn t."""
    abar = cosine_alphas_cumprod().to(x0.device, torch.float32)
    t = torch.randint(0, T_STEPS, (x0.shape[0],), device=x0.device, generator=generator)
    eps = torch.randn(x0.shape, device=x0.device, generator=generator)
    a = abar[t][:, None, None, None]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    return F.mse_loss(model(xt, t), eps)


@torch.no_grad()
def ddim_sample(model: DigitsUNet, n: int = 1, n_steps: int = 25, seed: int | None = 0,
                x_T: torch.Tensor | None = None, delta_h: torch.Tensor | None = None,
                window: tuple[int, int] | None = None, capture_h: bool = False,
                stop_at: int | None = None, asymmetric: bool = True, device=None) -> dict:
    """Deterministic DDIM (η = 0) sampling with optional h-space capture and edits.

    Parameters
    ----------
    n, seed, x_T : the starting noise is ``x_T`` when given, else ``n`` standard normal draws
        from a generator seeded with ``seed`` (on the CPU, so the same on every device).
    n_steps : number of DDIM steps.
    delta_h : an edit added to the bottleneck ``h`` at the chosen steps: shape (C, H, W) or
        (n, C, H, W) or flat (C·H·W,) / (n, C·H·W); or a callable ``delta_h(i)`` returning such
        an edit for step ``i`` (a different Δh per step).
    window : ``(first, last)`` step indices (0-based, inclusive, step 0 is the noisiest) where
        ``delta_h`` is added; ``None`` means every step.
    capture_h : also return the (unedited-input, edited-output) bottleneck at every step as
        ``h`` of shape (n_steps, n, C, H, W).

    asymmetric : at an edited step, use the edited ε̂ only to predict x0 and the unedited ε̂ for the
        direction back to x_{t-1} (the asymmetric reverse process of Kwon et al., "Asyrp").  With
        ``False`` the edited ε̂ enters both terms and in deterministic DDIM the two changes partly
        cancel: with 25 steps the same h-space PC 1 edit changes the image about a third as much at
        ±1σ (0.32 ± 0.02 of the RMS change) and about half at ±3σ (0.48 ± 0.04), over 3 seeds of 256
        digits (``spectral-explorer reproduce latent-directions``, rows ``asymmetric_effect``).  The
        gap shrinks with fewer steps: with 4 steps the two agree (tests/test_reproduce_latent.py).
    stop_at : return before step ``stop_at`` runs: ``x_t`` (the state entering that step) and its
        timestep ``t``, instead of ``x0``.

    Returns a dict with ``x0`` (n, 1, 16, 16) in [-1, 1], ``timesteps`` and, when asked, ``h``.
    """
    dev = resolve_device(device) if device is not None else next(model.parameters()).device
    n_steps = check_int(n_steps, "n_steps", 1, T_STEPS)
    if x_T is None:
        n = check_int(n, "n", 1)
        g = torch.Generator().manual_seed(int(seed or 0))
        x = torch.randn((n, 1, SIZE, SIZE), generator=g).to(dev)
    else:
        x = x_T.to(dev, torch.float32)
        n = x.shape[0]
    ts = ddim_timesteps(n_steps)
    abar = _abar_list()   # Python floats: per-step coefficients without tensor dispatch
    if delta_h is not None and not callable(delta_h):
        fixed = _shape_delta(delta_h, model.h_shape, n).to(dev, torch.float32)
        delta_h = lambda i: fixed  # noqa: E731
    if window is not None:
        lo, hi = int(window[0]), int(window[1])
        if not (0 <= lo <= hi < n_steps):
            raise ValueError(f"window must be (first, last) step indices with 0 <= first <= last < n_steps={n_steps}; "
                             f"got {window!r}")
    hs = []
    for i, t in enumerate(ts):
        if stop_at is not None and i == stop_at:
            return {"x_t": x, "t": t, "timesteps": ts}
        tt = torch.full((n,), t, device=dev, dtype=torch.long)
        h, skips, temb = model.encode(x, tt)
        edit = delta_h is not None and (window is None or lo <= i <= hi)
        eps_dir = None
        if edit:
            if asymmetric:
                eps_dir = model.decode(h, skips, temb)
            h = h + _shape_delta(delta_h(i), model.h_shape, n).to(dev, torch.float32)
        if capture_h:
            hs.append(h)
        eps = model.decode(h, skips, temb)
        sa, sb = math.sqrt(abar[t]), math.sqrt(1 - abar[t])
        a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else 1.0
        x0 = ((x - sb * eps) / sa).clamp(-1, 1)
        # the direction term, with ε̂ made consistent with a clamped x0 (unedited ε̂ when asymmetric)
        x0_dir = x0 if eps_dir is None else ((x - sb * eps_dir) / sa).clamp(-1, 1)
        eps_dir = (x - sa * x0_dir) / sb
        x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps_dir
    out = {"x0": x.clamp(-1, 1), "timesteps": ts}
    if capture_h:
        out["h"] = torch.stack(hs)
    return out


def _shape_delta(delta: torch.Tensor, h_shape, n: int) -> torch.Tensor:
    delta = torch.as_tensor(delta)
    dim = int(np.prod(h_shape))
    if delta.dim() in (1, 2) and delta.shape[-1] == dim:
        delta = delta.reshape(*delta.shape[:-1], *h_shape)
    if tuple(delta.shape) == tuple(h_shape):
        return delta[None].expand(n, *h_shape)
    if delta.dim() == 4 and tuple(delta.shape[1:]) == tuple(h_shape) and delta.shape[0] in (1, n):
        return delta.expand(n, *h_shape)
    raise ValueError(f"delta_h must have shape {tuple(h_shape)}, ({dim},), (n, {dim}) or (n, *{tuple(h_shape)}) "
                     f"with n={n}; got {tuple(delta.shape)}")


# ----------------------------------------------------------------------------- training
def train_digits_diffusion(steps: int = 5000, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                           channels: int = 24, ema: float = 0.999, model: DigitsUNet | None = None,
                           progress=None, cancel=None, log_every: int = 100) -> tuple[DigitsUNet, dict]:
    """Train (or continue training ``model``) on all 1797 digits; returns the EMA model and a record.

    AdamW with a cosine learning-rate decay, ±1-pixel random shifts, an exponential moving
    average of the weights.  The record holds the seed, steps, the loss curve (mean per
    ``log_every`` steps) and ``final_loss`` (mean of the last ``log_every`` steps).
    """
    steps = check_int(steps, "steps", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    lr = check_float(lr, "lr", 0.0, low_inclusive=False)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x_all, _ = digits_images()
    net = model if model is not None else DigitsUNet(channels)
    net.train()
    avg = DigitsUNet(net.channels, net.tdim)
    avg.load_state_dict(net.state_dict())
    avg.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    curve, window = [], []
    t0 = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, len(x_all), (batch_size,), generator=g)
        xb = x_all[idx]
        shift = torch.randint(-1, 2, (2,), generator=g).tolist()
        xb = torch.roll(xb, shifts=shift, dims=(2, 3))
        loss = diffusion_loss(net, xb, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            d = min(ema, (1 + step) / (10 + step))
            for pa, pn in zip(avg.parameters(), net.parameters()):
                pa.lerp_(pn, 1 - d)
            for ba, bn in zip(avg.buffers(), net.buffers()):
                ba.copy_(bn)
        window.append(loss.item())
        if (step + 1) % log_every == 0 or step + 1 == steps:
            curve.append(float(np.mean(window)))
            window = []
            checkpoint(cancel, progress, (step + 1) / steps, f"step {step + 1}/{steps} loss {curve[-1]:.4f}")
    avg.eval()
    record = {"seed": int(seed), "steps": int(steps), "batch_size": int(batch_size), "lr": float(lr),
              "channels": int(net.channels), "ema": float(ema), "final_loss": curve[-1], "loss_curve": curve,
              "seconds": round(time.perf_counter() - t0, 1), "torch": torch.__version__,
              "torch_threads": torch.get_num_threads(), "data": "sklearn digits, bilinear 16x16, [-1, 1]"}
    return avg, record


def save_checkpoint(model: DigitsUNet, record: dict, path) -> Path:
    """Write the weights as safetensors with ``record`` (JSON) in the header metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {k: json.dumps(v) for k, v in record.items()}
    save_file(state, str(path), metadata=meta)
    return path


def checkpoint_info(path=CHECKPOINT) -> dict:
    """The training record stored in a checkpoint's header (seed, steps, final loss, ...)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return {k: json.loads(v) for k, v in meta.items()}


def load_digits_diffusion(path=None, device=None) -> DigitsUNet:
    """The shipped (or a given) checkpoint as an eval-mode :class:`DigitsUNet` on ``device``."""
    from safetensors.torch import load_file

    path = Path(path) if path is not None else CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no diffusion checkpoint at {path}; train one with "
                                f"`python -m spectral_explorer.digits_diffusion --out {path}`")
    info = checkpoint_info(path)
    model = DigitsUNet(int(info.get("channels", 24)))
    model.load_state_dict(load_file(str(path)))
    return model.to(resolve_device(device)).eval().requires_grad_(False)


# ----------------------------------------------------------------------------- attributes
@lru_cache(maxsize=2)
def _fit_classifier(seed: int = 0):
    from sklearn.linear_model import LogisticRegression

    x_tr, y_tr = digits_images(split="train", seed=seed)
    x_te, y_te = digits_images(split="test", seed=seed)
    clf = LogisticRegression(C=0.05, max_iter=2000)
    clf.fit(x_tr.reshape(len(x_tr), -1).numpy(), y_tr.numpy())
    acc = float(clf.score(x_te.reshape(len(x_te), -1).numpy(), y_te.numpy()))
    return clf, acc


def digit_classifier(seed: int = 0):
    """A multinomial logistic regression on the 16×16 pixels (trained on a 75 % split).

    Returns ``(predict, held_out_accuracy)``; ``predict(images)`` takes (n, 1, 16, 16) in [-1, 1]
    and returns (labels (n,), probabilities (n, 10)) as numpy arrays.
    """
    clf, acc = _fit_classifier(int(seed))

    def predict(images):
        arr = torch.as_tensor(images).detach().float().cpu().reshape(len(images), -1).numpy()
        p = clf.predict_proba(arr)
        return p.argmax(1), p

    return predict, acc


def ink(images: torch.Tensor) -> torch.Tensor:
    """Mean ink of each image: the average of (x + 1) / 2 over its pixels, shape (n,)."""
    x = (torch.as_tensor(images).detach().float().cpu().reshape(len(images), -1) + 1) / 2
    return x.mean(dim=1)


def slant(images: torch.Tensor) -> torch.Tensor:
    """Slant of each image from its second moments, shape (n,): ``−μ_rc / μ_rr``, with ``μ_rc`` the
    ink-weighted covariance of row and column and ``μ_rr`` the variance of the row (rows count
    downward).  It is the least-squares slope of the ink's column against its height: the columns
    the stroke moves to the right per row upward, positive when the top leans right."""
    x = ((torch.as_tensor(images).detach().float().cpu() + 1) / 2).reshape(len(images), SIZE, SIZE).clamp_min(0)
    rows = torch.arange(SIZE, dtype=torch.float32)
    cols = torch.arange(SIZE, dtype=torch.float32)
    m = x.sum(dim=(1, 2)).clamp_min(1e-6)
    r = (x * rows[None, :, None]).sum(dim=(1, 2)) / m
    c = (x * cols[None, None, :]).sum(dim=(1, 2)) / m
    dr = rows[None, :, None] - r[:, None, None]
    dc = cols[None, None, :] - c[:, None, None]
    mu11 = (x * dr * dc).sum(dim=(1, 2)) / m
    mu02 = (x * dr * dr).sum(dim=(1, 2)) / m
    return -mu11 / mu02.clamp_min(1e-6)


# ----------------------------------------------------------------------------- script
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Train the tiny digits diffusion model and write its checkpoint.")
    p.add_argument("--out", default=str(CHECKPOINT))
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--channels", type=int, default=24)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    def report(f, text):
        print(f"[{time.strftime('%H:%M:%S')}] {f:5.1%} {text}", flush=True)

    model, record = train_digits_diffusion(args.steps, args.batch_size, args.lr, args.seed, args.channels,
                                           progress=report)
    record["command"] = ("python -m spectral_explorer.digits_diffusion " +
                         f"--steps {args.steps} --batch-size {args.batch_size} --lr {args.lr} --seed {args.seed} "
                         f"--channels {args.channels} --threads {args.threads}")
    path = save_checkpoint(model, record, args.out)
    summary = {k: v for k, v in record.items() if k != "loss_curve"}
    print(json.dumps({"out": str(path), "bytes": path.stat().st_size, **summary}, indent=1))


if __name__ == "__main__":
    main()
