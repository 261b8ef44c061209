"""``spectral-explorer reproduce latent-directions``: do spectral directions move generators?

Writes ``DIR/latent-directions.json`` (``meta``, with ``meta["summary"]``, and every row) and
``DIR/latent-directions.csv``; each row is ``{model, measure, direction, alpha, value, extra, seed}``.
Every ratio is computed per seed (``SEEDS`` = 0, 1, 2: GANSpace's sampling seed, the latents and
random directions of the image change, the digits sampled and the random h directions) and the
summary reports it as mean ± std and range over the seeds.

**Face DCGAN** (``gan-face-generate``, 100-d z):

* ``sefa_vs_ganspace`` — ``|cos|`` between the i-th SeFa direction and the i-th GANSpace latent
  direction (normalised), and the best match of each SeFa direction among GANSpace's top 10, for
  GANSpace's sampling seeds 0, 1, 2;
* ``image_change`` — RMS image change per unit α, ``‖G(z + αd) − G(z − αd)‖_rms / 2α`` averaged over
  latents, for SeFa 1–5 (rows of A normalised, and ``sefa_plain``: A as is), GANSpace 1–5 (unit
  norm) and random unit directions (mean of 10), and the ratio to random, at α = 0.1 (local) and
  α = 2; per seed (latents ``sample_latents(n_lat, 123 + seed)``, random directions seeded ``7 + seed``);
* ``ganspace_stability`` — ``|cos|`` of each GANSpace component (feature space and latent
  direction) between sampling seed 0 and seeds 1, 2;
* ``ganspace_step_length`` — ``σ_j ‖u_j‖``, the length in z of GANSpace's one-σ step along
  component j (σ_j the std of the component's score in feature space, ``u_j`` the latent change
  per unit score), and beside it ``R_j``, the correlation between the score and its best linear
  prediction from z, fitted on 5000 fresh latents: ``σ_j ‖u_j‖ ≈ R_j ≤ 1``.

**Digits diffusion model** (the shipped checkpoint, 25 DDIM steps), per seed: ``n`` digits sampled
from that seed, PCs 1–3 of h (per timestep, fitted on those digits), random unit directions
(seeded ``11 + seed``), the supervised 1→7 direction (normalised per step) and, for ``n_jac`` of
the digits, the image-specific top Jacobian direction of ε̂ with respect to h (middle step).
Every direction v_t is a unit vector per step and an edit adds ``Δh_t = α s_t v_t`` at every step,
with two step lengths:

* ``own σ`` (rows ``class_change``): ``s_t`` = the standard deviation of h's projection on the
  direction itself, per step.  A random direction's σ is about a twelfth of PC1's, so this
  compares edits of very different lengths;
* ``equal ‖Δh‖`` (rows ``class_change_equal_norm``): ``s_t`` = PC1's σ at that step for every
  direction, so every edit at a given α has the same length ``‖Δh_t‖ = α σ_PC1,t``.

Measures:

* ``sigma_over_pc1`` — the direction's own σ over PC1's σ, mean over steps;
* ``class_change`` / ``class_change_equal_norm`` — fraction of samples whose predicted class
  changes, mean of +α and −α, at α = 1 and 3 (``extra``: both signs);
* ``slant_trend`` / ``ink_trend`` — Spearman correlation between α ∈ {−3, −1, 0, 1, 3} (own σ) and
  the mean slant / ink, and the change per σ;
* ``asymmetric_effect`` (PC1, own σ, every seed) — mean RMS image change with the asymmetric reverse
  process (the edited ε̂ predicts x0, the unedited one gives the DDIM direction, as in Asyrp) and
  with the edited ε̂ in both terms (``asymmetric=False``), and their ratio;
* ``supervised_success`` — for digit pairs a → b, the fraction of a-samples classified as b after
  adding λ times the mean difference (λ = 1, 2; column ``alpha``), with and without slant
  projected out, and ``projection_slant_reduction``, the relative reduction of the mean ``|Δslant|``
  by the projection.

Edits use the asymmetric reverse process unless a row says otherwise.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .. import latent_directions as ld
from ..progress import checkpoint
from . import run_target

#: the file stem of the written table (``DIR/NAME.json``, ``DIR/NAME.csv``), as for every target
NAME = "latent-directions"
#: seeds of every repeated measurement (a ratio is reported per seed and as mean ± std over them)
SEEDS = (0, 1, 2)
PAIRS = ((1, 7), (3, 8), (0, 6), (4, 9))
ALPHAS = (-3.0, -1.0, 1.0, 3.0)
#: α of the image-change measure: 0.1 (the local rate ‖J d‖ of the generator) and 2 (a visible edit)
IMAGE_ALPHAS = (0.1, 2.0)


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    r = spearmanr(x, y).statistic
    return float(r) if np.isfinite(r) else 0.0


def _row(model, measure, direction, alpha, value, extra="", seed=None) -> dict:
    return {"model": model, "measure": measure, "direction": direction, "alpha": alpha, "value": value,
            "extra": extra, "seed": seed}


def _score_correlation(features, gs, k: int, latent_dim: int = 100, n: int = 5000, seed: int = 99) -> list[float]:
    """R_j: correlation between component j's score and its least-squares linear prediction from z
    (with an intercept), on ``n`` latents drawn from ``seed`` (not the ones GANSpace was fitted on)."""
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn((n, latent_dim), generator=g)
    with torch.no_grad():
        X = ((features(Z).double() - gs.mean.double()) @ gs.components[:k].double().T).numpy()
    Z1 = np.column_stack([Z.double().numpy(), np.ones(n)])
    fit = Z1 @ np.linalg.lstsq(Z1, X, rcond=None)[0]
    return [float(np.corrcoef(fit[:, j], X[:, j])[0, 1]) for j in range(k)]


def gan_rows(quick: bool = False, progress=None, cancel=None, meta: dict | None = None,
             n_samples: int | None = None, n_lat: int | None = None, seeds=SEEDS) -> list[dict]:
    """The DCGAN rows; ``n_samples`` GANSpace latents (5000 quick, 20000 full), ``n_lat`` latents
    for the image change (16 / 64), each for every seed of ``seeds``."""
    from ..face_dcgan import face_dcgan, sample_latents

    gan = face_dcgan("cpu")
    n_samples = n_samples or (5000 if quick else 20000)
    n_lat = n_lat or (16 if quick else 64)
    seeds = tuple(int(s) for s in seeds)
    t = time.perf_counter()
    d, ev = ld.sefa_directions(gan.sefa_weight, k=5)
    t_sefa = time.perf_counter() - t
    # SeFa as the paper states it (A as is), beside the reference code's row normalisation
    d_plain, _ = ld.sefa_directions(gan.sefa_weight, k=5, normalize=False)
    runs, unit = {}, {}
    for i, s in enumerate(seeds):
        t = time.perf_counter()
        runs[s] = ld.ganspace_directions(gan.first_block, n_samples=n_samples, k=10, seed=s, device="cpu",
                                         cancel=cancel)
        runs[s]["seconds"] = time.perf_counter() - t
        unit[s] = (runs[s].directions / runs[s].directions.norm(dim=1, keepdim=True)).float()
        checkpoint(cancel, progress, 0.1 * (i + 1) / len(seeds), f"  GANSpace over {n_samples} samples, seed {s}: "
                   f"{runs[s]['seconds']:.1f} s")
    gs = runs[seeds[0]]
    rows = []
    for s in seeds:
        cos = (d.double() @ unit[s].double().T).abs()
        for i in range(5):
            rows.append(_row("dcgan", "sefa_vs_ganspace", f"sefa{i + 1}", None, round(float(cos[i, i]), 4),
                             f"best match ganspace{int(cos[i].argmax()) + 1} |cos|={float(cos[i].max()):.4f}", s))
    for i, s in enumerate(seeds):
        Z = sample_latents(n_lat, seed=123 + s)
        R = ld.random_directions(10, 100, seed=7 + s)
        for alpha in IMAGE_ALPHAS:   # 0.1: the local rate ‖J d‖; 2: a visible edit
            with torch.no_grad():
                rand = ld.image_change_per_unit(gan, Z, R, alpha=alpha)
                sefa_c = ld.image_change_per_unit(gan, Z, d.float(), alpha=alpha)
                plain_c = ld.image_change_per_unit(gan, Z, d_plain.float(), alpha=alpha)
                gs_c = ld.image_change_per_unit(gan, Z, unit[seeds[0]][:5], alpha=alpha)
            base = float(rand.mean())
            for name, vals in (("sefa", sefa_c), ("sefa_plain", plain_c), ("ganspace", gs_c)):
                for j, v in enumerate(vals.tolist()):
                    rows.append(_row("dcgan", "image_change", f"{name}{j + 1}", alpha, round(v, 5),
                                     f"ratio to random {v / base:.2f}", s))
            rows.append(_row("dcgan", "image_change", "random", alpha, round(base, 5),
                             f"mean of 10, std {float(rand.std()):.5f}", s))
        checkpoint(cancel, progress, 0.1 + 0.15 * (i + 1) / len(seeds), f"  image change, seed {s}")
    for s in seeds[1:]:
        other = runs[s]
        for i in range(5):
            c_feat = float((other.components[i] * gs.components[i]).sum().abs())
            c_lat = float((unit[s][i].double() * unit[seeds[0]][i].double()).sum().abs())
            rows.append(_row("dcgan", "ganspace_stability", f"ganspace{i + 1}", None, round(c_lat, 4),
                             f"seed {seeds[0]} vs {s}; feature-space |cos| {c_feat:.4f}", s))
    for s in seeds:
        r = runs[s]
        corr = _score_correlation(gan.first_block, r, 5)
        for j in range(5):
            norm = float(r.directions[j].norm())
            rows.append(_row("dcgan", "ganspace_step_length", f"ganspace{j + 1}", None,
                             round(float(r.sigmas[j]) * norm, 4),
                             f"σ_j {float(r.sigmas[j]):.3f}, ‖u_j‖ {norm:.4f}, R_j {corr[j]:.4f}", s))
    checkpoint(cancel, progress, 0.3, f"  DCGAN measures done (SeFa {1e3 * t_sefa:.1f} ms)")
    if meta is not None:
        meta.update({"sefa_ms": round(1e3 * t_sefa, 2), "ganspace_samples": n_samples,
                     "ganspace_seconds": round(runs[seeds[0]]["seconds"], 2), "latents_for_image_change": n_lat,
                     "sefa_eigenvalues": [round(float(v), 2) for v in ev],
                     "ganspace_sigmas": [round(float(v), 3) for v in gs.sigmas[:5]],
                     "ganspace_explained_ratio": [round(float(v), 4) for v in gs.explained_ratio[:5]]})
    return rows


def _edit_run(model, xT, delta_steps, predict, n_steps, asymmetric=True):
    x0 = ld.hspace_edit(model, xT, delta_steps, n_steps=n_steps, asymmetric=asymmetric)
    return x0, predict(x0)[0]


def _rms(a, b) -> float:
    """Mean over images of the RMS pixel difference."""
    return float((a - b).flatten(1).pow(2).mean(1).sqrt().mean())


def diffusion_rows(quick: bool = False, progress=None, cancel=None, meta: dict | None = None,
                   n: int | None = None, n_jac: int | None = None, n_pcs: int = 3, n_random: int | None = None,
                   pairs=PAIRS, alphas=ALPHAS, n_steps: int = 25, seeds=SEEDS) -> list[dict]:
    """The diffusion rows; per seed ``n`` samples (64 quick, 256 full), ``n_random`` random
    directions (2 / 3) and ``n_jac`` of the samples with their own Jacobian direction (3 / 11);
    ``alphas`` must hold ±1 and ±3."""
    from ..digits_diffusion import digit_classifier, ink, load_digits_diffusion, slant

    model = load_digits_diffusion(device="cpu")
    n = n or (64 if quick else 256)
    n_jac = (3 if quick else 11) if n_jac is None else n_jac
    n_random = n_random or (2 if quick else 3)
    seeds = tuple(int(s) for s in seeds)
    predict, acc = digit_classifier()
    rows, t_jac, per_seed = [], [], {}
    mid = n_steps // 2
    span = 0.7 / len(seeds)

    def tick(i, f, text):
        checkpoint(cancel, progress, 0.3 + span * (i + f), text)

    for si, seed in enumerate(seeds):
        cap = ld.hspace_capture(model, n=n, seed=seed, n_steps=n_steps, cancel=cancel)
        H, xT, x0 = cap["h"], cap["x_T"], cap["x0"]
        labels = predict(x0)[0]
        base_slant, base_ink = slant(x0).numpy(), ink(x0).numpy()
        tick(si, 0.05, f"  seed {seed}: sampled {n} digits, classes {np.bincount(labels, minlength=10).tolist()}")
        pca = ld.hspace_pca(H, k=max(n_pcs, 1), mode="per_timestep")
        S, _, D = H.shape

        def sig(v):   # per-step σ of h's projection on unit direction(s) v: (S,) for v (D,) or (S, D)
            v = v if v.dim() == 2 else v[None].expand(S, D)
            return torch.stack([(H[s] @ v[s]).std() for s in range(S)])

        dirs = {f"pc{j + 1}": pca["components"][:, j] for j in range(n_pcs)}
        R = ld.random_directions(n_random, D, seed=11 + seed)
        for j in range(n_random):
            dirs[f"random{j + 1}"] = R[j][None].expand(S, D)
        a, b = pairs[0]
        if (labels == a).any() and (labels == b).any():
            sup = ld.supervised_direction(H, labels, a, b)
            dirs[f"supervised_{a}to{b}"] = sup / sup.norm(dim=1, keepdim=True)
        ref = sig(pca["components"][:, 0])          # PC1's σ per step: the common length of equal-norm edits

        names = list(dirs)
        for i, name in enumerate(names):
            v = dirs[name]
            sg = sig(v)
            ratio = float((sg / ref).mean())
            classes = {"own": {}, "equal": {}}
            slants, inks = {0.0: base_slant.mean()}, {0.0: base_ink.mean()}
            for alpha in alphas:
                x_e, lab = _edit_run(model, xT, alpha * sg[:, None] * v, predict, n_steps)
                classes["own"][alpha] = float((lab != labels).mean())
                slants[alpha] = float(slant(x_e).mean())
                inks[alpha] = float(ink(x_e).mean())
                if name == "pc1":
                    classes["equal"][alpha] = classes["own"][alpha]     # PC1's own σ is the common length
                    if abs(alpha) in (1.0, 3.0):   # the asymmetric reverse process, off
                        x_sym, _ = _edit_run(model, xT, alpha * sg[:, None] * v, predict, n_steps, asymmetric=False)
                        asym, sym = _rms(x_e, x0), _rms(x_sym, x0)
                        rows.append(_row("digits", "asymmetric_effect", "pc1", alpha, round(sym / asym, 4),
                                         f"mean RMS change asymmetric {asym:.4f}, asymmetric=False {sym:.4f}", seed))
                else:
                    _, lab_eq = _edit_run(model, xT, alpha * ref[:, None] * v, predict, n_steps)
                    classes["equal"][alpha] = float((lab_eq != labels).mean())
            rows.append(_row("digits", "sigma_over_pc1", name, None, round(ratio, 4),
                             "the direction's own σ / PC1's σ, mean over steps", seed))
            for measure, key in (("class_change", "own"), ("class_change_equal_norm", "equal")):
                c = classes[key]
                for alpha in (1.0, 3.0):
                    rows.append(_row("digits", measure, name, alpha, round((c[alpha] + c[-alpha]) / 2, 4),
                                     f"+{alpha:g} {c[alpha]:.3f}, −{alpha:g} {c[-alpha]:.3f}",
                                     seed))
            al = sorted(slants)   # α = 0 (the unedited samples) and every edited α
            for attr, vals in (("slant", slants), ("ink", inks)):
                ys = [vals[x] for x in al]
                rows.append(_row("digits", f"{attr}_trend", name, None, round(_spearman(al, ys), 4),
                                 f"change per σ {np.polyfit(al, ys, 1)[0]:+.4f}", seed))
            tick(si, 0.05 + 0.75 * (i + 1) / len(names), f"  seed {seed}: h direction {name} done")

        # image-specific Jacobian directions (one per sample, at the middle step)
        ch = {(m, alpha): [] for m in ("own", "equal") for alpha in (1.0, 3.0)}
        for j in range(min(n_jac, n)):
            t = time.perf_counter()
            V, Sv, info = ld.eps_h_jacobian(model, xT[j:j + 1], step=mid, n_steps=n_steps, k=1, n_iter=30, tol=1e-3)
            t_jac.append(time.perf_counter() - t)
            v = V[0].float()
            for m, sg in (("own", sig(v)), ("equal", ref)):
                for alpha in (1.0, 3.0):
                    flips = []
                    for sgn in (1, -1):
                        _, lab = _edit_run(model, xT[j:j + 1], sgn * alpha * sg[:, None] * v[None], predict, n_steps)
                        flips.append(float(lab[0] != labels[j]))
                    ch[(m, alpha)].append(np.mean(flips))
        if n_jac:
            for m, measure in (("own", "class_change"), ("equal", "class_change_equal_norm")):
                for alpha in (1.0, 3.0):
                    rows.append(_row("digits", measure, "jacobian", alpha, round(float(np.mean(ch[(m, alpha)])), 4),
                                     f"image-specific top direction of ∂ε̂/∂h at step {mid}, "
                                     f"{min(n_jac, n)} samples", seed))
        tick(si, 0.85, f"  seed {seed}: Jacobian directions done")

        # supervised "turn a into b", with and without slant projected out
        lo, hi = np.quantile(base_slant, [0.25, 0.75])
        slant_dir = ld.supervised_direction(H, np.where(base_slant >= hi, 1, np.where(base_slant <= lo, 0, -1)),
                                            0, 1)
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
                rows.append(_row("digits", "supervised_success", f"{a}to{b}", lam, round(out["plain"][0], 4),
                                 f"with slant projected out {out['projected'][0]:.3f}; {idx.size} samples of {a}",
                                 seed))
                red = 1 - out["projected"][1] / max(out["plain"][1], 1e-12)
                rows.append(_row("digits", "projection_slant_reduction", f"{a}to{b}", lam, round(red, 4),
                                 f"mean |Δslant| plain {out['plain'][1]:.4f}, projected {out['projected'][1]:.4f}",
                                 seed))
        per_seed[seed] = {"classes": np.bincount(labels, minlength=10).tolist(),
                          "h_explained_ratio_mid_step": [round(float(v), 4) for v in pca["explained_ratio"][mid]]}
        tick(si, 1.0, f"  seed {seed}: diffusion measures done")
    checkpoint(cancel, progress, 1.0, "  diffusion measures done")
    if meta is not None:
        meta.update({"diffusion_samples_per_seed": n, "seeds": list(seeds),
                     "classifier_held_out_accuracy": round(acc, 4), "random_h_directions_per_seed": n_random,
                     "jacobian_samples_per_seed": min(n_jac, n),
                     "jacobian_seconds_each": round(float(np.mean(t_jac)), 3) if t_jac else None,
                     "h_dim": D, "ddim_steps": n_steps, "per_seed": per_seed,
                     "edits": "asymmetric reverse process (edited ε̂ predicts x0 only) unless a row says otherwise"})
    return rows


def _stats(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": round(float(v.mean()), 4), "std": round(float(v.std(ddof=1)) if v.size > 1 else 0.0, 4),
            "min": round(float(v.min()), 4), "max": round(float(v.max()), 4), "n": int(v.size)}


def summary(rows: list[dict]) -> dict:
    """Every ratio the texts quote, per seed and as mean ± std (sample std) and range over the seeds."""
    seeds = sorted({r["seed"] for r in rows if r.get("seed") is not None})
    get = {(r["measure"], r["direction"], r["alpha"], r.get("seed")): r["value"] for r in rows}
    out = {"seeds": seeds}
    for alpha in IMAGE_ALPHAS:
        for name in ("sefa", "sefa_plain", "ganspace"):
            per = []
            for s in seeds:
                rand = get.get(("image_change", "random", alpha, s))
                vals = [get.get(("image_change", f"{name}{i}", alpha, s)) for i in range(1, 6)]
                if rand and all(v is not None for v in vals):
                    per.append([v / rand for v in vals])
            if per:
                per = np.asarray(per)
                out[f"{name}_change_over_random_alpha{alpha:g}"] = [_stats(per[:, i]) for i in range(5)]
    cos = [[get[("sefa_vs_ganspace", f"sefa{i}", None, s)] for i in range(1, 6)]
           for s in seeds if ("sefa_vs_ganspace", "sefa1", None, s) in get]
    if cos:
        cos = np.asarray(cos)
        out["sefa_vs_ganspace_cos"] = [_stats(cos[:, i]) for i in range(5)]
    step = [[get[("ganspace_step_length", f"ganspace{i}", None, s)] for i in range(1, 6)]
            for s in seeds if ("ganspace_step_length", "ganspace1", None, s) in get]
    if step:
        step = np.asarray(step)
        out["ganspace_step_length"] = [_stats(step[:, i]) for i in range(5)]
    for measure, tag in (("class_change", "own_sigma"), ("class_change_equal_norm", "equal_norm")):
        for alpha in (1.0, 3.0):
            pcs = sorted({r["direction"] for r in rows if r["measure"] == measure and r["direction"].startswith("pc")})
            per_pc = {p: [] for p in pcs}
            per_rand, ratios, rand_all = [], {p: [] for p in pcs}, []
            for s in seeds:
                rnd = [get[k] for k in get if k[0] == measure and k[1].startswith("random") and k[2] == alpha
                       and k[3] == s]
                if not rnd:
                    continue
                r = float(np.mean(rnd))
                per_rand.append(r)
                rand_all += rnd
                for p in pcs:
                    v = get.get((measure, p, alpha, s))
                    if v is not None:
                        per_pc[p].append(v)
                        ratios[p].append(v / r if r > 0 else float("inf"))
            if not per_rand:
                continue
            key = f"{tag}_{alpha:g}sigma"
            out[f"pc_class_change_{key}"] = {p: _stats(v) for p, v in per_pc.items() if v}
            out[f"random_class_change_{key}"] = _stats(per_rand)
            out[f"random_class_change_{key}_each_direction"] = _stats(rand_all)
            out[f"pc_over_random_{key}"] = {p: _stats(v) for p, v in ratios.items() if v}
            for extra_dir in ("jacobian", "supervised_1to7"):
                vals = [get[(measure, extra_dir, alpha, s)] for s in seeds if (measure, extra_dir, alpha, s) in get]
                if vals:
                    out[f"{extra_dir}_class_change_{key}"] = _stats(vals)
    sig = [r["value"] for r in rows if r["measure"] == "sigma_over_pc1" and r["direction"].startswith("random")]
    if sig:
        out["random_sigma_over_pc1_sigma"] = _stats(sig)
        out["pc1_sigma_over_random_sigma"] = _stats([1.0 / x for x in sig])
    for alpha in (1.0, 3.0):   # both signs, every seed
        asym = [r["value"] for r in rows if r["measure"] == "asymmetric_effect" and abs(r["alpha"]) == alpha]
        if asym:
            out[f"asymmetric_false_over_asymmetric_rms_{alpha:g}sigma"] = _stats(asym)
    for lam in (1.0, 2.0):
        for measure in ("supervised_success", "projection_slant_reduction"):
            by_pair = {}
            for r in rows:
                if r["measure"] == measure and r["alpha"] == lam:
                    by_pair.setdefault(r["direction"], []).append(r["value"])
            if by_pair:
                out[f"{measure}_lambda{lam:g}"] = {p: _stats(v) for p, v in by_pair.items()}
    return out


def run(quick: bool = False, progress=None, cancel=None, meta: dict | None = None) -> list[dict]:
    """All rows ``{model, measure, direction, alpha, value, extra, seed}`` (see the module docstring)."""
    rows = gan_rows(quick, progress, cancel, meta)
    rows += diffusion_rows(quick, progress, cancel, meta)
    if meta is not None:
        meta["summary"] = summary(rows)
    return rows


def main(quick: bool = False, out: Path = Path("results")) -> None:
    import json

    df, meta = run_target(NAME, "latent directions", run, quick, out, threads=2)
    print(df.to_string(index=False))
    print("summary:", json.dumps(meta.get("summary", {}), indent=1, ensure_ascii=False))
    print(f"{meta['seconds']} s; wrote {Path(out) / (NAME + '.json')} and .csv")
