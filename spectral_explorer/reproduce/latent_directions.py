"""``spectral-explorer reproduce latent-directions``: do spectral directions move generators?

**Face DCGAN** (``gan-face-generate``, 100-d z):

* ``sefa_vs_ganspace`` — |cos| between the i-th SeFa direction and the i-th GANSpace latent
  direction (normalised), and the best match of each SeFa direction among GANSpace's top 10;
* ``image_change`` — RMS image change per unit α, ``‖G(z + αd) − G(z − αd)‖_rms / 2α`` averaged over
  latents, for SeFa 1–5, GANSpace 1–5 (unit norm) and random unit directions (mean of 10), and
  the ratio to random, at α = 0.1 (local) and α = 2;
* ``ganspace_stability`` — |cos| of each GANSpace component (feature space and latent
  direction) between sampling seed 0 and seeds 1, 2.

**Digits diffusion model** (the shipped checkpoint, 25 DDIM steps): for PCs 1–5 of h (per
timestep), the image-specific top Jacobian direction of ε̂ with respect to h (at the middle step,
one per sample), the supervised a→b direction (normalised) and random unit directions, an edit of
α σ (σ = the standard deviation of h's projection on the direction, per step) at every step:

* ``class_change`` — fraction of samples whose predicted class changes, at α = ±1 and ±3;
* ``attribute_trend`` — Spearman correlation between α ∈ {−3 … 3} and the mean slant / ink, and
  the change per σ (monotone change along α);
* ``supervised`` — for digit pairs a → b, the fraction of a-samples classified as b after adding
  λ times the mean difference (λ = 1, 2; column ``alpha``), with and without slant projected out,
  and the relative reduction of the mean |Δslant| by the projection.

Edits use the asymmetric reverse process (the edited ε̂ predicts x0, the unedited one gives the
DDIM direction), as in Asyrp.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .. import latent_directions as ld
from ..progress import checkpoint
from . import run_target

PAIRS = ((1, 7), (3, 8), (0, 6), (4, 9))
ALPHAS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
#: α of the image-change measure: 0.1 (the local rate ‖J d‖ of the generator) and 2 (a visible edit)
IMAGE_ALPHAS = (0.1, 2.0)


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    r = spearmanr(x, y).statistic
    return float(r) if np.isfinite(r) else 0.0


def gan_rows(quick: bool = False, progress=None, cancel=None, meta: dict | None = None,
             n_samples: int | None = None, n_lat: int | None = None) -> list[dict]:
    """The DCGAN rows; ``n_samples`` GANSpace latents (5000 quick, 20000 full), ``n_lat`` latents
    for the image change (16 / 64)."""
    from ..face_dcgan import face_dcgan, sample_latents

    gan = face_dcgan("cpu")
    n_samples = n_samples or (5000 if quick else 20000)
    n_lat = n_lat or (16 if quick else 64)
    t = time.perf_counter()
    d, ev = ld.sefa_directions(gan.sefa_weight, k=5)
    t_sefa = time.perf_counter() - t
    # SeFa as the paper states it (A as is), beside the reference code's row normalisation
    d_plain, _ = ld.sefa_directions(gan.sefa_weight, k=5, normalize=False)
    runs = {}
    for s in (0, 1, 2):
        t = time.perf_counter()
        runs[s] = ld.ganspace_directions(gan.first_block, n_samples=n_samples, k=10, seed=s, device="cpu",
                                         cancel=cancel)
        runs[s]["seconds"] = time.perf_counter() - t
        checkpoint(cancel, progress, 0.1 * (s + 1), f"  GANSpace over {n_samples} samples, seed {s}: "
                   f"{runs[s]['seconds']:.1f} s")
    gs = runs[0]
    U = (gs.directions / gs.directions.norm(dim=1, keepdim=True)).float()
    rows = []
    cos = (d.double() @ U.double().T).abs()
    for i in range(5):
        rows.append({"model": "dcgan", "measure": "sefa_vs_ganspace", "direction": f"sefa{i + 1}",
                     "alpha": None, "value": round(float(cos[i, i]), 4),
                     "extra": f"best match ganspace{int(cos[i].argmax()) + 1} |cos|={float(cos[i].max()):.4f}"})
    Z = sample_latents(n_lat, seed=123)
    R = ld.random_directions(10, 100, seed=7)
    for alpha in IMAGE_ALPHAS:   # 0.1: the local rate ‖J d‖; 2: a visible edit
        with torch.no_grad():
            rand = ld.image_change_per_unit(gan, Z, R, alpha=alpha)
            sefa_c = ld.image_change_per_unit(gan, Z, d.float(), alpha=alpha)
            plain_c = ld.image_change_per_unit(gan, Z, d_plain.float(), alpha=alpha)
            gs_c = ld.image_change_per_unit(gan, Z, U[:5], alpha=alpha)
        base = float(rand.mean())
        for name, vals in (("sefa", sefa_c), ("sefa_plain", plain_c), ("ganspace", gs_c)):
            for i, v in enumerate(vals.tolist()):
                rows.append({"model": "dcgan", "measure": "image_change", "direction": f"{name}{i + 1}",
                             "alpha": alpha, "value": round(v, 5), "extra": f"ratio to random {v / base:.2f}"})
        rows.append({"model": "dcgan", "measure": "image_change", "direction": "random", "alpha": alpha,
                     "value": round(base, 5), "extra": f"mean of 10, std {float(rand.std()):.5f}"})
    for s in (1, 2):
        other = runs[s]
        Uo = other.directions / other.directions.norm(dim=1, keepdim=True)
        for i in range(5):
            c_feat = float((other.components[i] * gs.components[i]).sum().abs())
            c_lat = float((Uo[i].double() * U[i].double()).sum().abs())
            rows.append({"model": "dcgan", "measure": "ganspace_stability", "direction": f"ganspace{i + 1}",
                         "alpha": None, "value": round(c_lat, 4),
                         "extra": f"seed 0 vs {s}; feature-space |cos| {c_feat:.4f}"})
    checkpoint(cancel, progress, 0.35, f"  DCGAN measures done (SeFa {1e3 * t_sefa:.1f} ms)")
    if meta is not None:
        meta.update({"sefa_ms": round(1e3 * t_sefa, 2), "ganspace_samples": n_samples,
                     "ganspace_seconds": round(runs[0]["seconds"], 2), "latents_for_image_change": n_lat,
                     "sefa_eigenvalues": [round(float(v), 2) for v in ev],
                     "ganspace_explained_ratio": [round(float(v), 4) for v in gs.explained_ratio[:5]]})
    return rows


def _edit_run(model, xT, delta_steps, predict, n_steps):
    x0 = ld.hspace_edit(model, xT, delta_steps, n_steps=n_steps)
    return x0, predict(x0)[0]


def diffusion_rows(quick: bool = False, progress=None, cancel=None, meta: dict | None = None,
                   n: int | None = None, n_jac: int | None = None, n_pcs: int = 5, n_random: int = 5,
                   pairs=PAIRS, alphas=ALPHAS, n_steps: int = 25) -> list[dict]:
    """The diffusion rows; ``n`` samples (128 quick, 512 full), ``n_jac`` of them get their own
    Jacobian direction (8 / 32); ``alphas`` must hold ±1 and ±3."""
    from ..digits_diffusion import digit_classifier, ink, load_digits_diffusion, slant

    model = load_digits_diffusion(device="cpu")
    n = n or (128 if quick else 512)
    n_jac = n_jac or (8 if quick else 32)
    predict, acc = digit_classifier()
    cap = ld.hspace_capture(model, n=n, seed=0, n_steps=n_steps, cancel=cancel)
    H, xT, x0 = cap["h"], cap["x_T"], cap["x0"]
    labels = predict(x0)[0]
    base_slant, base_ink = slant(x0).numpy(), ink(x0).numpy()
    checkpoint(cancel, progress, 0.45, f"  sampled {n} digits, classes {np.bincount(labels, minlength=10).tolist()}")
    pca = ld.hspace_pca(H, k=max(n_pcs, 1), mode="per_timestep")
    S, _, D = H.shape

    def sig(v):   # per-step σ of h's projection on unit direction(s) v: (S,) for v (D,) or (S, D)
        v = v if v.dim() == 2 else v[None].expand(S, D)
        return torch.stack([(H[s] @ v[s]).std() for s in range(S)])

    dirs = {f"pc{j + 1}": pca["components"][:, j] for j in range(n_pcs)}
    R = ld.random_directions(n_random, D, seed=11)
    for j in range(n_random):
        dirs[f"random{j + 1}"] = R[j][None].expand(S, D)
    a, b = pairs[0]
    if (labels == a).any() and (labels == b).any():
        sup = ld.supervised_direction(H, labels, a, b)
        dirs[f"supervised_{a}to{b}"] = sup / sup.norm(dim=1, keepdim=True)

    rows = []
    names = list(dirs)
    for i, name in enumerate(names):
        v = dirs[name]
        sg = sig(v)
        classes, slants, inks = {}, {0.0: base_slant.mean()}, {0.0: base_ink.mean()}
        for alpha in alphas:
            x_e, lab = _edit_run(model, xT, alpha * sg[:, None] * v, predict, n_steps)
            classes[alpha] = float((lab != labels).mean())
            slants[alpha] = float(slant(x_e).mean())
            inks[alpha] = float(ink(x_e).mean())
        for alpha in (1.0, 3.0):
            rows.append({"model": "digits", "measure": "class_change", "direction": name, "alpha": alpha,
                         "value": round((classes[alpha] + classes[-alpha]) / 2, 4),
                         "extra": f"+{alpha:g}σ {classes[alpha]:.3f}, −{alpha:g}σ {classes[-alpha]:.3f}"})
        al = sorted(slants)   # α = 0 (the unedited samples) and every edited α
        for attr, vals in (("slant", slants), ("ink", inks)):
            ys = [vals[x] for x in al]
            rows.append({"model": "digits", "measure": f"{attr}_trend", "direction": name, "alpha": None,
                         "value": round(_spearman(al, ys), 4),
                         "extra": f"change per σ {np.polyfit(al, ys, 1)[0]:+.4f}"})
        checkpoint(cancel, progress, 0.45 + 0.35 * (i + 1) / len(names), f"  h direction {name} done")

    # image-specific Jacobian directions (one per sample, at the middle step)
    mid = n_steps // 2
    ch = {1.0: [], 3.0: []}
    t_jac = []
    for j in range(n_jac):
        t = time.perf_counter()
        V, Sv, info = ld.eps_h_jacobian(model, xT[j:j + 1], step=mid, n_steps=n_steps, k=1, n_iter=30, tol=1e-3)
        t_jac.append(time.perf_counter() - t)
        v = V[0].float()
        sg = sig(v)
        for alpha in (1.0, 3.0):
            flips = []
            for sgn in (1, -1):
                _, lab = _edit_run(model, xT[j:j + 1], sgn * alpha * sg[:, None] * v[None], predict, n_steps)
                flips.append(float(lab[0] != labels[j]))
            ch[alpha].append(np.mean(flips))
    for alpha in (1.0, 3.0):
        rows.append({"model": "digits", "measure": "class_change", "direction": "jacobian", "alpha": alpha,
                     "value": round(float(np.mean(ch[alpha])), 4),
                     "extra": f"image-specific top direction of ∂ε̂/∂h at step {mid}, {n_jac} samples"})
    checkpoint(cancel, progress, 0.9, f"  Jacobian directions: {np.mean(t_jac):.2f} s each")

    # supervised "turn a into b", with and without slant projected out
    lo, hi = np.quantile(base_slant, [0.25, 0.75])
    slant_dir = ld.supervised_direction(H, np.where(base_slant >= hi, 1, np.where(base_slant <= lo, 0, -1)), 0, 1)
    for a, b in pairs:
        idx = np.flatnonzero(labels == a)
        if idx.size == 0 or not (labels == b).any():
            continue
        d = ld.supervised_direction(H, labels, a, b)
        dp = ld.remove_direction(d, slant_dir)
        for lam in (1.0, 2.0):
            out = {}
            for name, delta in (("plain", d), ("projected", dp)):
                x_e, lab = _edit_run(model, xT[idx], lam * delta, predict, n_steps)
                out[name] = (float((lab == b).mean()),
                             float((slant(x_e) - torch.as_tensor(base_slant[idx])).abs().mean()))
            rows.append({"model": "digits", "measure": "supervised_success", "direction": f"{a}to{b}", "alpha": lam,
                         "value": round(out["plain"][0], 4),
                         "extra": f"with slant projected out {out['projected'][0]:.3f}; {idx.size} samples of {a}"})
            red = 1 - out["projected"][1] / max(out["plain"][1], 1e-12)
            rows.append({"model": "digits", "measure": "projection_slant_reduction", "direction": f"{a}to{b}",
                         "alpha": lam, "value": round(red, 4),
                         "extra": f"mean |Δslant| plain {out['plain'][1]:.4f}, projected {out['projected'][1]:.4f}"})
    checkpoint(cancel, progress, 1.0, "  diffusion measures done")
    if meta is not None:
        meta.update({"diffusion_samples": n, "classifier_held_out_accuracy": round(acc, 4),
                     "jacobian_samples": n_jac, "jacobian_seconds_each": round(float(np.mean(t_jac)), 3),
                     "h_dim": D, "ddim_steps": n_steps,
                     "h_explained_ratio_mid_step": [round(float(v), 4) for v in pca["explained_ratio"][mid]],
                     "edits": "asymmetric reverse process (edited ε̂ predicts x0 only)"})
    return rows


def summary(rows: list[dict]) -> dict:
    """The issue's two quality targets from the rows."""
    get = {(r["measure"], r["direction"], r["alpha"]): r["value"] for r in rows}
    out = {}
    for alpha in IMAGE_ALPHAS:
        rand = get.get(("image_change", "random", alpha))
        if rand:
            out[f"sefa_top3_change_over_random_alpha{alpha:g}"] = [
                round(get[("image_change", f"sefa{i}", alpha)] / rand, 2) for i in (1, 2, 3)]
            if ("image_change", "sefa_plain1", alpha) in get:
                out[f"sefa_plain_top3_change_over_random_alpha{alpha:g}"] = [
                    round(get[("image_change", f"sefa_plain{i}", alpha)] / rand, 2) for i in (1, 2, 3)]
    rnd = [get[k] for k in get if k[0] == "class_change" and k[1].startswith("random") and k[2] == 1.0]
    pcs = [get.get(("class_change", f"pc{i}", 1.0)) for i in (1, 2, 3)]
    if rnd and all(p is not None for p in pcs):
        r = float(np.mean(rnd))
        out["pc_class_change_1sigma"] = pcs
        out["random_class_change_1sigma"] = round(r, 4)
        out["pc_over_random_1sigma"] = [round(p / r, 2) if r > 0 else float("inf") for p in pcs]
    return out


def run(quick: bool = False, progress=None, cancel=None, meta: dict | None = None) -> list[dict]:
    """All rows ``{model, measure, direction, alpha, value, extra}`` (see the module docstring)."""
    rows = gan_rows(quick, progress, cancel, meta)
    rows += diffusion_rows(quick, progress, cancel, meta)
    if meta is not None:
        meta["summary"] = summary(rows)
    return rows


def main(quick: bool = False, out: Path = Path("results")) -> None:
    df, meta = run_target("latent_directions", "latent directions", run, quick, out, threads=2)
    print(df.to_string(index=False))
    print("summary:", meta["summary"])
    print(f"wrote {Path(out) / 'latent_directions.json'} and .csv")
