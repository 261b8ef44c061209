"""Does a Householder projector make SeFa's directions disentangled?  Measured on known factors.

The claim (Song et al., ICCV 2023): replace a generator's first projection (latent → features)
by a low-rank orthogonal map ``P = U_r S V_rᵀ`` built from Householder reflections, initialise it
from the pretrained weight's SVD and fine-tune briefly; the top directions (columns of ``V_r``)
become disentangled.  Here, on a world whose factors are known:

* **Ellipse world** (:func:`render_ellipses`, :func:`read_factors`): anti-aliased ellipses with
  aspect 2 on a 32 × 32 canvas, four factors drawn uniformly from a seed — centre x, centre y,
  semi-major axis, angle in [−π/4, π/4) — and read back from any image in closed form from its
  moments (centroid; area ``π a b`` gives ``a``; the angle of the second-moment matrix).
* **Generator** (:class:`EllipseVAE`): a VAE whose posterior is *isotropic*, ``N(μ, σ² I)`` with
  one σ per sample, so its objective is invariant under rotations of the latent space and no
  latent axis is preferred; its decoder starts with a plain linear projection ``first``
  (latent_dim → hidden, no bias) — the matrix SeFa factorises.
* **Protocol** (:func:`run_seed`): pretrain; then fine-tune a fraction of the steps with
  ``first`` kept linear (control) or replaced by :meth:`HouseholderProjector.from_weight` with
  equal S (the paper), distinct fixed S (the weight's) or learned S.  The top-``k`` directions of
  each (SeFa: right singular vectors by singular value; for equal S the frame's order, pinned by
  the SVD initialisation) are traversed, the factors read back, and scored
  (:func:`effect_matrix`, :func:`disentanglement_scores`); fidelity is the reconstruction error
  and the error of the factors read back from reconstructions.
* **Non-uniqueness**: the fine-tuned equal-S projector with ``U_r`` and ``V_r`` rotated by one
  random ``r × r`` rotation is the *same* map (‖ΔP‖ at round-off) with other directions and
  other scores; and the same projector's directions read the way the reference code reads them
  (``torch.svd(weight).V``: for exactly equal S, whatever basis of the row space LAPACK returns,
  :func:`svd_directions`) are yet another basis of the same subspace.
* **The paper's configuration** (:data:`PAPER`): equal S, fine-tuned for 1 % of the pretraining
  steps, directions read by ``torch.svd`` of the weight; beside it a linear control fine-tuned
  the same 1 %.  Every projector row is compared with its linear control seed by seed
  (:func:`paired_differences`).

Where this departs from the paper (Song et al. fine-tune a pretrained StyleGAN2/3 adversarially on
its image data set, the whole generator, for 1 % of its training steps, with ``S`` a 0/1 diagonal):

* the generator is a small VAE trained on its own objective (whole model fine-tuned); the
  projector replaces its first decoder layer;
* the main rows fine-tune 10 % of the pretraining steps (the paper: 1 %; the ``1 %`` rows are the
  paper's budget);
* equal S is the mean of the weight's top-``r`` singular values (keeps the layer's scale; the
  reference code uses ones) and the directions are the frame's columns in the order the SVD
  initialisation gave them (the reference code: ``torch.svd`` of the weight; the ``SVD-read`` rows);
* on the faces, only the projector is trained, data-free, to match the original first block's
  features: everything after it, BatchNorm statistics included, is frozen.
* **Faces, data-free** (:func:`face_fidelity`): the DCGAN's first layer (100 → 8192) replaced
  by a rank-r projector and fine-tuned to reproduce the original first-block features (after
  BatchNorm and ReLU) for z ~ N(0, I); image fidelity against the original generator.

Pure torch; :func:`run` takes ``progress``/``cancel`` (see :mod:`spectral_explorer.progress`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._validation import check_int
from .householder import HouseholderProjector, orthogonality_error, rotate_frames
from .progress import checkpoint, subrange

__all__ = ["FACTORS", "factor_std", "sample_factors", "render_ellipses", "read_factors", "EllipseVAE", "train_vae",
           "with_projector", "latent_directions_of", "effect_matrix", "disentanglement_scores",
           "fidelity", "run_seed", "random_rotation", "face_latents", "face_projector", "face_fidelity", "STUDY_CONFIGS",
           "summarise", "svd_directions", "paired_differences", "PAPER", "CONTROLS", "within_noise", "NEGLIGIBLE"]

FACTORS = ("x", "y", "scale", "angle")
#: uniform ranges of the factors: centre as a fraction of the canvas, semi-major axis as a fraction, angle
RANGES = {"x": (0.3, 0.7), "y": (0.3, 0.7), "scale": (0.12, 0.24), "angle": (-math.pi / 4, math.pi / 4)}
ASPECT = 0.5
SIZE = 32

#: study sizes: pretraining steps, fine-tuning steps (10 %), the paper's fine-tuning budget (1 %), seeds,
#: traversal bases, face fine-tune steps, test latents and ranks
STUDY_CONFIGS = {
    "quick": {"pretrain": 700, "finetune": 70, "paper_finetune": 7, "seeds": (0, 1), "bases": 24,
              "face_steps": 60, "face_test": 16, "ranks": (5, 10, 20, 50, 100)},
    "full": {"pretrain": 3000, "finetune": 300, "paper_finetune": 30, "seeds": (0, 1, 2), "bases": 48,
             "face_steps": 250, "face_test": 48, "ranks": (5, 10, 20, 50, 100)},
}

#: the paper's configuration as far as this world allows (Song et al., ICCV 2023, and the reference
#: code's ``closed_form_factorization.py``): equal singular values, fine-tuning for 1 % of the
#: pretraining steps, the directions read as ``torch.svd(weight).V``; :func:`run_seed` scores it as
#: the row named ``PAPER["variant"]``
PAPER = {"singular_values": "equal", "finetune_fraction": 0.01, "directions": "svd",
         "variant": "householder equal S, 1 % fine-tune, SVD-read (the paper's configuration)"}

#: the row each row of :func:`run_seed` is compared with, seed by seed: its linear control, or for
#: other directions of the same equal-S map that map read off its frame
CONTROLS = {
    "rank-4 SVD, no fine-tune": "pretrained linear",
    "householder equal S": "linear (fine-tuned)",
    "householder equal S, rotated": "householder equal S",          # the same map, other directions
    "householder equal S, SVD-read (reference code)": "householder equal S",
    "householder fixed S": "linear (fine-tuned)",
    "householder learned S": "linear (fine-tuned)",
    PAPER["variant"]: "linear, 1 % fine-tune",
}


# ----------------------------------------------------------------------------- the ellipse world
def sample_factors(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 4) factors (x, y, scale, angle) drawn uniformly from :data:`RANGES`."""
    u = torch.rand((n, 4), generator=generator, dtype=torch.float64)
    lo = torch.tensor([RANGES[f][0] for f in FACTORS], dtype=torch.float64)
    hi = torch.tensor([RANGES[f][1] for f in FACTORS], dtype=torch.float64)
    return lo + u * (hi - lo)


def factor_std() -> torch.Tensor:
    """The standard deviation of each factor over the world (uniform: width / √12)."""
    return torch.tensor([(RANGES[f][1] - RANGES[f][0]) / math.sqrt(12) for f in FACTORS], dtype=torch.float64)


def render_ellipses(factors: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """Anti-aliased filled ellipses (n, size, size) in [0, 1]: a linear ramp one pixel wide
    across the boundary (the signed distance approximated by ``(√q − 1)·b``)."""
    f = factors.double()
    c = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    dx = xx[None] - f[:, 0, None, None]
    dy = yy[None] - f[:, 1, None, None]
    ca, sa = torch.cos(f[:, 3])[:, None, None], torch.sin(f[:, 3])[:, None, None]
    a = f[:, 2, None, None]
    b = a * ASPECT
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    q = torch.sqrt((u / a) ** 2 + (v / b) ** 2)
    return (0.5 - (q - 1) * b * size).clamp(0, 1).float()


def read_factors(images: torch.Tensor) -> torch.Tensor:
    """Factors (n, 4) read back from images (n, H, W) by moments: centroid; ``a = √(2·area/π)``
    (area ``π a b`` with ``b = a/2``); angle ``½ atan2(2 μ₁₁, μ₂₀ − μ₀₂)``."""
    im = images.double().clamp_min(0)
    n, H, W = im.shape
    c = (torch.arange(W, dtype=torch.float64) + 0.5) / W
    m = im.sum((1, 2)).clamp_min(1e-9)
    cx = (im * c[None, None, :]).sum((1, 2)) / m
    cy = (im * c[None, :, None]).sum((1, 2)) / m
    dx = c[None, None, :] - cx[:, None, None]
    dy = c[None, :, None] - cy[:, None, None]
    mu20, mu02, mu11 = ((im * dx * dx).sum((1, 2)) / m, (im * dy * dy).sum((1, 2)) / m,
                        (im * dx * dy).sum((1, 2)) / m)
    area = m / (H * W)
    a = torch.sqrt(2 * area / math.pi / (2 * ASPECT))   # area = π a (ASPECT a)
    angle = 0.5 * torch.atan2(2 * mu11, mu20 - mu02)
    return torch.stack([cx, cy, a, angle], 1)


# ----------------------------------------------------------------------------- the generator
class EllipseVAE(nn.Module):
    """A VAE with an isotropic posterior ``N(μ, σ² I)`` (one σ per sample); the decoder's first
    layer ``first`` (latent_dim → hidden, no bias) is the projection SeFa reads."""

    def __init__(self, latent_dim: int = 8, hidden: int = 128, size: int = SIZE):
        super().__init__()
        self.latent_dim, self.size = latent_dim, size
        D = size * size
        self.enc = nn.Sequential(nn.Linear(D, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, latent_dim + 1))
        self.first = nn.Linear(latent_dim, hidden, bias=False)
        self.first_bias = nn.Parameter(torch.zeros(hidden))
        self.dec = nn.Sequential(nn.ReLU(), nn.Linear(hidden, 256), nn.ReLU(), nn.Linear(256, D))

    def encode(self, x: torch.Tensor):
        """The posterior ``(μ, log σ)`` of images ``x`` (one isotropic σ per image)."""
        h = self.enc(x.flatten(1))
        return h[:, :-1], h[:, -1]          # μ, log σ

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits from latents ``z`` through the first layer and the decoder."""
        return self.dec(self.first(z) + self.first_bias).reshape(-1, self.size, self.size)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images from latents: the sigmoid of :meth:`decode_logits`."""
        return torch.sigmoid(self.decode_logits(z))

    def loss(self, x: torch.Tensor, beta: float = 1.0):
        """The β-VAE loss of a batch: reconstruction (binary cross-entropy) + β · KL."""
        mu, log_s = self.encode(x)
        z = mu + torch.exp(log_s)[:, None] * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="sum") / x.shape[0]
        d = mu.shape[1]
        kl = 0.5 * ((mu * mu).sum(1) + d * torch.exp(2 * log_s) - d - 2 * d * log_s).mean()
        return rec + beta * kl, rec, kl


def _batch(n: int, g: torch.Generator) -> torch.Tensor:
    return render_ellipses(sample_factors(n, g))


def train_vae(model: EllipseVAE, steps: int, seed: int, batch: int = 64, lr: float = 1e-3,
              progress=None, cancel=None, on_step=None) -> list[float]:
    """Adam for ``steps`` batches of freshly drawn ellipses (stream seeded by ``seed``); returns the
    loss per step.  ``on_step(i, loss, rec, kl)`` is called after each step (live views)."""
    steps = check_int(steps, "steps", 0)
    g = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed) + 7919)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for i in range(steps):
        loss, rec, kl = model.loss(_batch(batch, g))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(i, losses[-1], float(rec.detach()), float(kl.detach()))
        if (i + 1) % 10 == 0 or i + 1 == steps:
            checkpoint(cancel, progress, (i + 1) / max(steps, 1), f"step {i + 1}/{steps}, loss {losses[-1]:.1f}")
    model.eval()
    return losses


def with_projector(model: EllipseVAE, rank: int, singular_values: str) -> EllipseVAE:
    """A copy of ``model`` whose ``first`` layer is ``HouseholderProjector.from_weight(first.weight, rank)``."""
    import copy

    new = copy.deepcopy(model)
    new.first = HouseholderProjector.from_weight(model.first.weight.detach(), rank, singular_values=singular_values)
    return new


def latent_directions_of(first: nn.Module, k: int) -> torch.Tensor:
    """Top-``k`` latent directions (k, latent_dim) of a first layer: the right singular vectors by
    singular value (SeFa without row normalisation); for a projector, columns of ``V_r`` ordered
    by ``|s|`` (stable sort, so equal S keeps the frame's order)."""
    if isinstance(first, HouseholderProjector):
        with torch.no_grad():
            order = torch.sort(first.singular_values.abs(), descending=True, stable=True).indices[:k]
            return first.frame_v()[:, order].T.detach().float()
    from .latent_directions import sefa_directions

    return sefa_directions(first.weight.detach(), k=k, normalize=False)[0].float()


@torch.no_grad()
def svd_directions(first: nn.Module, k: int) -> torch.Tensor:
    """Top-``k`` directions (k, latent_dim) read the way the paper's reference code reads them:
    the right singular vectors of the layer's weight from ``torch.linalg.svd`` (LAPACK), in the
    weight's own dtype.  For a projector with exactly equal S they are *a* basis of its row space,
    whichever one LAPACK returns; not, in general, the frame's columns."""
    W = first.weight.detach()
    return torch.linalg.svd(W, full_matrices=False)[2][:k].float()


# ----------------------------------------------------------------------------- scores
@torch.no_grad()
def effect_matrix(model: EllipseVAE, directions: torch.Tensor, bases: torch.Tensor,
                  alphas=np.linspace(-2.0, 2.0, 9)) -> torch.Tensor:
    """(k, 4): for each direction, the mean total variation of each factor read back along the
    traversal ``z + α d`` (α from −2 to 2), in units of the factor's standard deviation."""
    k = directions.shape[0]
    A = torch.as_tensor(np.asarray(alphas), dtype=torch.float32)
    Z = bases[None, :, None, :] + A[None, None, :, None] * directions[:, None, None, :]   # k, M, a, d
    imgs = model.decode(Z.reshape(-1, Z.shape[-1]))
    f = read_factors(imgs).reshape(k, bases.shape[0], len(A), 4)
    tv = (f[:, :, 1:] - f[:, :, :-1]).abs().sum(2).mean(1)
    return tv / factor_std()


def disentanglement_scores(E) -> dict:
    """Scores of an effect matrix E (k directions × F factors), each in [0, 1]:

    * ``purity`` — mean over directions of ``max_f E / Σ_f E`` (1/F for an even spread);
    * ``dci_d`` — DCI disentanglement: ``1 − H(p_j)/log F`` per direction (p_j its normalised row),
      weighted by the direction's share of the total effect;
    * ``dci_c`` — DCI completeness: ``1 − H(q_f)/log k`` per factor (q_f the normalised column),
      weighted by the factor's share;
    * ``coverage`` — fraction of factors that are the main effect of at least one direction.
    """
    E = np.asarray(E, dtype=np.float64).clip(min=0) + 1e-12
    k, Fn = E.shape
    p = E / E.sum(1, keepdims=True)
    q = E / E.sum(0, keepdims=True)
    Hd = -(p * np.log(p)).sum(1) / math.log(Fn)
    Hc = -(q * np.log(q)).sum(0) / math.log(k) if k > 1 else np.zeros(Fn)
    return {"purity": float(p.max(1).mean()),
            "dci_d": float(((1 - Hd) * E.sum(1) / E.sum()).sum()),
            "dci_c": float(((1 - Hc) * E.sum(0) / E.sum()).sum()),
            "coverage": len(set(p.argmax(1).tolist())) / Fn}


@torch.no_grad()
def fidelity(model: EllipseVAE, x: torch.Tensor, factors: torch.Tensor) -> dict:
    """Reconstruction of test images from their posterior means: pixel MSE and the RMS error of
    the factors read back from the reconstructions (in units of each factor's std, averaged)."""
    mu, _ = model.encode(x)
    rec = model.decode(mu)
    err = (read_factors(rec) - factors) / factor_std()
    return {"mse": float(((rec - x) ** 2).mean()), "factor_rmse": float(err.pow(2).mean(0).sqrt().mean())}


def random_rotation(r: int, seed: int) -> torch.Tensor:
    """A random ``r × r`` rotation (Haar, det +1) from ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    Q, R = torch.linalg.qr(torch.randn((r, r), generator=g, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R))
    if torch.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q


def run_seed(seed: int, config: dict, rank: int = 4, k: int = 4, latent_dim: int = 8,
             progress=None, cancel=None) -> list[dict]:
    """One seed of the protocol: rows ``{seed, variant, purity, dci_d, dci_c, coverage, mse,
    factor_rmse, orth_error, seconds, E}`` for the pretrained model, the rank-r truncation before
    fine-tuning, the linear control and the three projector variants (each fine-tuned
    ``config["finetune"]`` steps), the equal-S projector with its frames rotated by a random
    r × r rotation (same map, other directions) and with its directions read by ``torch.svd`` of
    its weight (the reference code), and the paper's configuration (:data:`PAPER`: equal S,
    ``config["paper_finetune"]`` steps, SVD-read) beside a linear control fine-tuned as long."""
    import copy

    torch.manual_seed(int(seed))
    model = EllipseVAE(latent_dim)
    t0 = time.perf_counter()
    train_vae(model, config["pretrain"], seed, progress=subrange(progress, 0, 0.5), cancel=cancel)
    t_pre = time.perf_counter() - t0
    gt = torch.Generator().manual_seed(10_000 + int(seed))
    test_f = sample_factors(256, gt)
    test_x = render_ellipses(test_f)
    bases = torch.randn((config["bases"], latent_dim), generator=torch.Generator().manual_seed(20_000 + int(seed)))
    rows = []

    def score(name, m, extra=None, seconds=0.0, directions=None):
        d = latent_directions_of(m.first, k) if directions is None else directions
        E = effect_matrix(m, d, bases)
        row = {"seed": seed, "variant": name, **disentanglement_scores(E.numpy()), **fidelity(m, test_x, test_f),
               "orth_error": (max(orthogonality_error(m.first.frame_u().double()),
                                  orthogonality_error(m.first.frame_v().double()))
                              if isinstance(m.first, HouseholderProjector) else None),
               "seconds": round(seconds, 2), "E": E.numpy().round(4).tolist()}
        row.update(extra or {})
        rows.append(row)
        return row

    def mean_abs_cos(d0, d1):
        """Mean over the k directions of ``|cos|`` between d0[i] and d1[i]."""
        return float(torch.diagonal((d0.double() @ d1.double().T).abs()).mean())

    score("pretrained linear", model, seconds=t_pre)
    score(f"rank-{rank} SVD, no fine-tune", with_projector(model, rank, "fixed"))
    paper_steps = int(config.get("paper_finetune", max(1, round(PAPER["finetune_fraction"] * config["pretrain"]))))
    variants = [("linear (fine-tuned)", None, config["finetune"]), ("householder equal S", "equal", config["finetune"]),
                ("householder fixed S", "fixed", config["finetune"]),
                ("householder learned S", "learned", config["finetune"]),
                ("linear, 1 % fine-tune", None, paper_steps), (PAPER["variant"], PAPER["singular_values"], paper_steps)]
    n = len(variants)
    for i, (name, sv, steps) in enumerate(variants):
        m = copy.deepcopy(model) if sv is None else with_projector(model, rank, sv)
        t = time.perf_counter()
        train_vae(m, steps, seed + 1000, lr=3e-4,
                  progress=subrange(progress, 0.5 + 0.5 * i / n, 0.5 + 0.5 * (i + 1) / n), cancel=cancel)
        secs = time.perf_counter() - t
        if name == PAPER["variant"]:
            d_svd, d_frame = svd_directions(m.first, k), latent_directions_of(m.first, k)
            score(name, m, {"mean_abs_cos_to_frame": mean_abs_cos(d_svd, d_frame)}, seconds=secs, directions=d_svd)
            continue
        score(name, m, seconds=secs)
        if name == "householder equal S":
            R = random_rotation(rank, 30_000 + int(seed))
            rot = copy.deepcopy(m)
            rot.first = rotate_frames(m.first, R).float()
            with torch.no_grad():
                dW = float((rot.first.weight - m.first.weight).abs().max() / m.first.weight.abs().max())
            d0, d1 = latent_directions_of(m.first, k), latent_directions_of(rot.first, k)
            score("householder equal S, rotated", rot,
                  {"rel_weight_change": dW, "mean_abs_cos_to_unrotated": mean_abs_cos(d0, d1)})
            d_svd = svd_directions(m.first, k)
            score("householder equal S, SVD-read (reference code)", m,
                  {"mean_abs_cos_to_frame": mean_abs_cos(d_svd, d0)}, directions=d_svd)
    checkpoint(cancel, progress, 1.0, f"seed {seed} done")
    return rows


def within_noise(diffs) -> bool:
    """Whether per-seed paired differences are the same as zero within the seeds' noise: not every
    seed on the same side of zero, or a mean within two standard errors (``2·std/√n``) of zero.
    One seed alone is always within noise."""
    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return True
    se = d.std(ddof=1) / math.sqrt(d.size)
    same_sign = bool((d > 0).all() or (d < 0).all())
    return not (same_sign and abs(d.mean()) > 2 * se)


#: purity differences smaller than this are called negligible even when every seed agrees on their sign
NEGLIGIBLE = 0.01


def paired_differences(rows: list[dict], key: str = "purity", controls: dict | None = None) -> dict:
    """``{variant: {"control", "diffs", "mean", "std", "within_noise", "negligible"}}``: ``key`` of
    each variant minus that of its control (:data:`CONTROLS`), seed by seed (the same pretrained
    model), with :func:`within_noise`'s verdict and whether ``|mean| <`` :data:`NEGLIGIBLE`."""
    controls = CONTROLS if controls is None else controls
    val = {(r["seed"], r["variant"]): r[key] for r in rows}
    out = {}
    for v, c in controls.items():
        seeds = sorted(s for s, vv in val if vv == v and (s, c) in val)
        if not seeds:
            continue
        d = np.array([val[(s, v)] - val[(s, c)] for s in seeds])
        out[v] = {"control": c, "diffs": [round(float(x), 4) for x in d], "mean": round(float(d.mean()), 4),
                  "std": round(float(d.std(ddof=1)) if d.size > 1 else 0.0, 4), "within_noise": within_noise(d),
                  "negligible": bool(abs(d.mean()) < NEGLIGIBLE)}
    return out


def summarise(rows: list[dict], keys=("purity", "dci_d", "dci_c", "coverage", "mse", "factor_rmse")) -> list[dict]:
    """Mean and std (ddof 1) over seeds per variant, and the purity difference to the variant's
    linear control, seed by seed (``purity_diff``, ``purity_diff_std``, ``control``,
    ``purity_diff_within_noise``, ``purity_diff_negligible``; see :func:`paired_differences`)."""
    paired = paired_differences(rows)
    out = []
    for v in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == v]
        row = {"variant": v, "n_seeds": len(rs)}
        for key in keys:
            vals = np.array([r[key] for r in rs], dtype=float)
            row[key] = round(float(vals.mean()), 4)
            row[key + "_std"] = round(float(vals.std(ddof=1)) if len(vals) > 1 else 0.0, 4)
        if v in paired:
            p = paired[v]
            row.update({"control": p["control"], "purity_diff": p["mean"], "purity_diff_std": p["std"],
                        "purity_diff_within_noise": p["within_noise"], "purity_diff_negligible": p["negligible"]})
        out.append(row)
    return out


# ----------------------------------------------------------------------------- faces
# ``gan`` is the face DCGAN or any generator wrapped in :class:`~spectral_explorer.generators.UserGenerator`
# (its first layer replaced by the projector through a hook, the first block = its GANSpace layer)
def face_latents(gan, n: int, seed: int) -> torch.Tensor:
    """``n`` standard normal latents from ``seed`` (drawn on the CPU) on the generator's device."""
    if hasattr(gan, "latents"):
        return gan.latents(n, seed=seed)
    from .face_dcgan import sample_latents
    return sample_latents(n, seed=seed, device=gan.sefa_weight.device)


def face_projector(gan, rank: int, singular_values: str = "equal") -> HouseholderProjector:
    """A rank-``rank`` projector replacing the generator's first layer: its (features, latent_dim)
    map (the DCGAN's (8192, 100)) from :meth:`HouseholderProjector.from_weight` of ``gan.sefa_weight``."""
    return HouseholderProjector.from_weight(gan.sefa_weight.detach().double(), rank,
                                            singular_values=singular_values).float()


def _first_block_with(gan, proj, z):
    if hasattr(gan, "first_block_with"):
        return gan.first_block_with(proj, z)
    conv, bn = gan.main[0], gan.main[1]
    y = proj(z).reshape(z.shape[0], conv.out_channels, -1)
    y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return F.relu(y).flatten(1)


def finetune_face_projector(gan, proj: HouseholderProjector, steps: int, batch: int = 128, lr: float = 3e-4,
                            seed: int = 0, progress=None, cancel=None) -> list[float]:
    """Data-free fine-tuning: match the original first-block features (BatchNorm, ReLU) for
    fresh z ~ N(0, I) (MSE), drawn on the CPU from ``seed`` (the same on every device); returns
    the loss per step.  Only the projector's gradients are computed (a user's generator keeps its
    ``.grad`` untouched)."""
    g = torch.Generator().manual_seed(int(seed))
    dev = gan.sefa_weight.device
    params = [p for p in proj.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    losses = []
    for i in range(steps):
        z = torch.randn((batch, proj.in_features), generator=g).to(dev)
        with torch.no_grad():
            target = gan.first_block(z)
        loss = F.mse_loss(_first_block_with(gan, proj, z), target)
        for p, grad in zip(params, torch.autograd.grad(loss, params, allow_unused=True)):
            p.grad = grad
        opt.step()
        losses.append(float(loss.detach()))
        if (i + 1) % 10 == 0 or i + 1 == steps:
            checkpoint(cancel, progress, (i + 1) / max(steps, 1), f"step {i + 1}/{steps}, loss {losses[-1]:.4f}")
    return losses


@torch.no_grad()
def face_images(gan, proj, z: torch.Tensor) -> torch.Tensor:
    """Images (B, C, H, W) of the generator with its first layer replaced by ``proj``."""
    if hasattr(gan, "images_with"):
        return gan.images_with(proj, z)
    return gan.from_first_block(_first_block_with(gan, proj, z))


@torch.no_grad()
def image_fidelity(gan, proj, z: torch.Tensor) -> dict:
    """RMS error and PSNR (peak-to-peak 2 for images in [−1, 1], the width of ``gan.value_range``
    for a user's generator) against the original generator."""
    ref = gan(z)
    mse = float(((face_images(gan, proj, z) - ref) ** 2).mean())
    lo, hi = getattr(gan, "value_range", (-1.0, 1.0))
    return {"rmse": math.sqrt(mse), "psnr_db": 10 * math.log10((hi - lo) ** 2 / max(mse, 1e-12))}


def face_fidelity(gan, ranks, steps: int, n_test: int, singular_values: str = "equal", progress=None,
                  cancel=None) -> list[dict]:
    """For each rank: image fidelity of the from_weight projector before and after ``steps`` of
    data-free fine-tuning, and the ``|cos|`` between the top-5 SeFa directions of the original layer
    and the projector's top-5 directions after fine-tuning."""
    z = face_latents(gan, n_test, 4242)
    ref_dirs = torch.linalg.svd(gan.sefa_weight.detach().double(), full_matrices=False)[2][:5]
    rows = []
    for i, r in enumerate(ranks):
        proj = face_projector(gan, r, singular_values)
        before = image_fidelity(gan, proj, z)
        t = time.perf_counter()
        losses = finetune_face_projector(gan, proj, steps, progress=subrange(progress, i / len(ranks),
                                                                             (i + 1) / len(ranks)), cancel=cancel)
        secs = time.perf_counter() - t
        after = image_fidelity(gan, proj, z)
        kk = min(5, r)
        dirs = latent_directions_of(proj, kk).double()
        cos = (dirs @ ref_dirs[:kk].T).abs()
        rows.append({"rank": r, "singular_values": singular_values, "steps": steps,
                     "rmse_before": round(before["rmse"], 4), "psnr_before": round(before["psnr_db"], 2),
                     "rmse_after": round(after["rmse"], 4), "psnr_after": round(after["psnr_db"], 2),
                     "feature_loss_first": round(losses[0], 5) if losses else None,
                     "feature_loss_last": round(losses[-1], 5) if losses else None,
                     "top_dirs_abs_cos_to_sefa": [round(float(c), 3) for c in torch.diagonal(cos)],
                     "orth_error": max(orthogonality_error(proj.frame_u().double()),
                                       orthogonality_error(proj.frame_v().double())),
                     "finetune_seconds": round(secs, 2)})
    return rows
