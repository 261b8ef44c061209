# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Latent directions: SeFa, GANSpace, Jacobians and the h-space of a diffusion model
#
# A classroom walkthrough of three ways to find *interpretable directions* in a generator's
# latent space — SeFa (Shen & Zhou, CVPR 2021), GANSpace (Härkönen et al., NeurIPS 2020) and
# the h-space of diffusion models (Kwon et al.; Haas et al., FG 2024) — on two real models that
# run offline on a CPU: a pretrained 64×64 DCGAN of faces (package `gan-face-generate`) and a
# small diffusion model of handwritten digits trained in this project. Terms such as SeFa,
# GANSpace, h-space, σ units, DDIM and principal angles are in the [glossary](GLOSSARY.md).
#
# **Learning goals.** After this notebook you can
#
# 1. derive SeFa's directions as the top **eigenvectors of $A^\top A$** of the layer that reads
#    the latent code, and check the eigen-equation;
# 2. explain GANSpace as a **PCA** of activations, mapped back to the latent space by least
#    squares, with edits measured in **σ units**;
# 3. see that both are **eigenspace projections** — the thread through this whole project —
#    and measure how close their subspaces are (principal angles);
# 4. compute image-specific directions as the top right singular vectors of a **Jacobian** with
#    subspace power iteration (jvp/vjp only), and check convergence against the exact SVD;
# 5. capture the bottleneck **h** of a diffusion U-Net along DDIM trajectories, run PCA on it per
#    timestep, and build a supervised "turn digit a into b" edit with a second attribute
#    **projected out**.
#
# Set `SPECTRAL_EXPLORER_QUICK=1` before starting Jupyter for a small, fast version (the tests
# run the notebook that way). Slow cells say how long they take; the exercises at the end have
# check cells (`check_exercise`) and worked solutions. The full measurements come from
# `spectral-explorer reproduce latent-directions`.

# %%
import os

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import torch

import spectral_explorer
from spectral_explorer import digits_diffusion as dd
from spectral_explorer import latent_directions as ld
from spectral_explorer.eigenspace import principal_angles
from spectral_explorer.exercises import check_exercise
from spectral_explorer.explorers import ipywidget, notebook_setup
from spectral_explorer.face_dcgan import face_dcgan, sample_latents
from spectral_explorer.viz import latent as vz

notebook_setup()  # HoloViews + Panel, every script and stylesheet inline (works offline)

QUICK = os.environ.get("SPECTRAL_EXPLORER_QUICK", "0") == "1"
N_GANSPACE = 3000 if QUICK else 20000
N_DIGITS = 64 if QUICK else 512
torch.set_num_threads(1)  # small models: one thread is fastest on a busy machine
torch.manual_seed(0)
print(f"spectral_explorer {spectral_explorer.__version__}; QUICK={QUICK}")

# %% [markdown]
# ## 1. A real generator
#
# The DCGAN maps $z \in \mathbb{R}^{100}$, $z \sim \mathcal N(0, I)$, to a 3×64×64 image. Its first
# layer is a transposed convolution on a 1×1 input, i.e. an **affine map**
# $y = A z$ with $A \in \mathbb{R}^{8192 \times 100}$ (512 channels × 4 × 4), followed by
# BatchNorm, ReLU and four more upsampling layers.

# %%
gan = face_dcgan("cpu")
z = sample_latents(6, seed=0)
with torch.no_grad():
    faces = gan(z)
A = gan.sefa_weight
print("images", tuple(faces.shape), "range", float(faces.min()), float(faces.max()), "| A", tuple(A.shape))
vz.image_grid(faces, title="six faces from six seeds", width=600)

# %% [markdown]
# ## 2. SeFa: directions that the first layer amplifies most
#
# Moving $z$ by $\alpha n$ moves the first layer's output by $\alpha A n$. Which unit direction
# changes it most? Maximise $\|A n\|^2 = n^\top A^\top A\, n$ subject to $\|n\| = 1$: by the
# Rayleigh quotient the answer is the top **eigenvector** of the symmetric matrix $A^\top A$,
# and the next ones are the following eigenvectors (orthogonal to the first). No sampling, no
# training: a closed form. (SeFa's reference code first scales each row of $A$ to unit norm, so
# that no single output unit dominates: it diagonalises $\hat A^\top \hat A$, $\hat A$ the
# row-normalised $A$, and its direction 1 maximises $\|\hat A n\|$. That is
# `sefa_directions`' default; `normalize=False` below is the objective as stated above.)

# %%
d_sefa, ev = ld.sefa_directions(A, k=5)
An = (A / A.norm(dim=1, keepdim=True)).double()   # Â: the rows of A scaled to unit norm
M = An.T @ An
residual = (M @ d_sefa.double().T - d_sefa.double().T * ev.double()).norm(dim=0) / ev.double()
print("eigenvalues of ÂᵀÂ (rows of A normalised):", np.round(ev.numpy(), 1))
print("eigen-equation residual ‖ÂᵀÂ n − λ n‖/λ:", residual.numpy())
assert residual.max() < 1e-6

# %% [markdown]
# A **traversal strip** renders $z + \alpha\, n_j$ for a few α; here α in σ units, and for SeFa
# σ = 1 because $z$ is isotropic: its projection on any unit vector has standard deviation 1.

# %%
alphas = np.linspace(-3, 3, 7)
R = ld.random_directions(1, 100, seed=5)
strip = ld.traversal_strip(gan, z[0], torch.cat([d_sefa[:3].float(), R]), alphas)
vz.image_grid(strip, title="SeFa 1–3 and a random direction, α = −3σ … 3σ", width=700,
              row_labels=["SeFa 1", "SeFa 2", "SeFa 3", "random"])

# %% [markdown]
# How much does each direction change the image per unit α, compared with random directions of
# the same norm? (One set of faces and random directions here; `spectral-explorer reproduce
# latent-directions` repeats it for three seeds of 64 faces and 10 random directions: at α = 2
# SeFa 1–3 change faces 2.1 ± 0.2, 1.7 ± 0.1 and 1.4 ± 0.1 times as much as random directions.)

# %%
Z = sample_latents(16 if QUICK else 64, seed=1)
change_sefa = ld.image_change_per_unit(gan, Z, d_sefa.float(), alpha=2.0)
change_rand = ld.image_change_per_unit(gan, Z, ld.random_directions(8, 100, seed=2), alpha=2.0)
print("SeFa 1–5 / random:", np.round((change_sefa / change_rand.mean()).numpy(), 2))

# %% [markdown]
# The row normalisation is the reference code's choice, not part of the objective above. Without
# it (`normalize=False`: $A$ as is) SeFa maximises exactly $\|A n\|$. The two variants share
# most directions but not all; compare them, and their local rate of image change (a small α,
# where the change is $\approx \alpha \|J n\|$), with random directions. The dashboard has the
# same switch ("SeFa: rows of A normalised").

# %%
d_plain, ev_plain = ld.sefa_directions(A, k=5, normalize=False)
C_np = (d_sefa.double() @ d_plain.double().T).abs()
print("|cos| of normalised and plain direction j:", np.round(C_np.diagonal().numpy(), 2),
      "| normalised 3 vs plain 4:", round(float(C_np[2, 3]), 2), "normalised 4 vs plain 3:", round(float(C_np[3, 2]), 2))
rand_local = ld.image_change_per_unit(gan, Z, ld.random_directions(8, 100, seed=2), alpha=0.1).mean()
for name, dirs in (("normalised", d_sefa), ("plain", d_plain)):
    rate = ld.image_change_per_unit(gan, Z, dirs.float(), alpha=0.1) / rand_local
    print(f"{name:10s} SeFa 1–5 / random at α = 0.1:", np.round(rate.numpy(), 2))

# %% [markdown]
# ## 3. GANSpace: PCA of activations, back to the latent
#
# Sample $N$ latents, collect the first block's activations $y_i = f(z_i) \in \mathbb{R}^{8192}$
# and compute the top principal components $V$ of their covariance $C = \frac1N\sum (y_i-\mu)(y_i-\mu)^\top$
# — again an **eigendecomposition**. The activations are not the latent, so each component is
# mapped back by least squares: with scores $x_i = V^\top (y_i - \mu)$ find $U$ minimising
# $\sum_i \|U x_i - z_i\|^2$. An edit of α σ units is $z + \alpha\, \sigma_j u_j$ with
# $\sigma_j = \sqrt{\lambda_j}$, the standard deviation of component $j$'s score in feature space
# (not of $z$: exercise 3 measures the step's length in $z$). The PCA streams: batches of latents
# are redrawn from a seed on every pass of a randomized subspace iteration, so memory stays
# O(D·k) for any $N$.

# %%
gs = ld.ganspace_directions(gan.first_block, n_samples=N_GANSPACE, k=10, seed=0, device="cpu")
print("explained variance ratio:", np.round(gs.explained_ratio[:5].numpy(), 4))
print("Ritz residuals:", np.round(gs.residuals[:5], 4))
U = gs.directions / gs.directions.norm(dim=1, keepdim=True)
cos = (d_sefa.double() @ U.double().T).abs()
print("|cos(SeFa i, GANSpace i)|:", np.round(cos.diagonal()[:5].numpy(), 3))
hv.Bars([(str(i + 1), float(v)) for i, v in enumerate(gs.explained_ratio)], "component",
        "explained variance (fraction of total)").opts(title="GANSpace spectrum", width=380, height=240)

# %% [markdown]
# **Both are eigenspace projections.** SeFa diagonalises $A^\top A$ (how the *weights* stretch
# $z$); GANSpace diagonalises the covariance of activations (how the *data* spread). For a
# purely linear layer $y = Az$ with $z \sim \mathcal N(0, I)$ the covariance is $A A^\top$, whose
# eigenvectors map back to the eigenvectors of $A^\top A$: GANSpace would agree with SeFa **without
# row normalisation** (`normalize=False`), up to sampling error (exercise 2). Here the first block
# is ConvTranspose → BatchNorm → ReLU. In eval mode BatchNorm is affine: it multiplies the rows of
# $A$ of each channel by $\gamma_c/\sqrt{\mathrm{var}_c + \epsilon}$ and adds a shift — it
# *reweights rows* of $A$, as SeFa's normalisation does with other weights (a channel's running
# variance is close to the mean squared norm of its 16 rows, printed below), so GANSpace of the
# BatchNorm output is the linear case for $DA$, $D$ those factors. The ReLU is the nonlinear step.
# The next cell compares GANSpace before and after the ReLU with SeFa of $\hat A$ (normalised rows),
# of $A$ and of $DA$, direction by direction and by the principal angles between the top-5
# subspaces.

# %%
bn = gan.main[1]
D_bn = (bn.weight / (bn.running_var + bn.eps).sqrt()).double().repeat_interleave(16)   # one factor per row of A
row_sq = (A.double() ** 2).sum(1).reshape(512, 16).mean(1)
print("corr(running var, mean squared row norm) per channel:",
      round(float(np.corrcoef(bn.running_var.double().numpy(), row_sq.numpy())[0, 1]), 3))


def before_relu(zz):   # the first block without its ReLU: BatchNorm(A z) in eval mode
    y = (zz @ A.T).reshape(len(zz), 512, 16)
    return torch.nn.functional.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                          False, 0.0, bn.eps).flatten(1)


gs_bn = ld.ganspace_directions(before_relu, n_samples=N_GANSPACE, k=5, seed=0, device="cpu")
U_bn = gs_bn.directions.double() / gs_bn.directions.double().norm(dim=1, keepdim=True)
variants = {"SeFa of Â (normalised rows)": d_sefa, "SeFa of A (normalize=False)": d_plain,
            "SeFa of DA (BatchNorm's rows)": ld.sefa_directions(D_bn[:, None] * A.double(), k=5, normalize=False)[0]}
for gname, G in (("GANSpace before the ReLU", U_bn), ("GANSpace after the ReLU", U.double())):
    for vname, dv in variants.items():
        c = (dv.double() @ G[:5].T).abs().diagonal().numpy()
        ang = np.degrees(principal_angles(dv.double().T, G[:5].T).numpy())
        print(f"{gname:25s} vs {vname:30s} |cos| {np.round(c, 3)}  angles {np.round(ang, 1)}")

# %% [markdown]
# Before the ReLU, SeFa of $DA$ is the exact linear case: it agrees direction by direction up to
# the sampling error of $N$ latents. After the ReLU directions 1 and 2 still agree with every
# variant; from direction 3 on, single directions agree or are exchanged depending on the variant
# (SeFa's eigenvalues 3 and 4 are close, so a small change of the matrix rotates them into each
# other); the principal angles say how far the top-5 subspaces are apart even where single
# directions are exchanged.

# %% [markdown]
# ### Sliders in σ units
#
# An `ipywidgets` slider per component. Their observers send the edit to a `hv.streams.Stream`
# that drives one `hv.DynamicMap` of the face (redrawn in place), embedded among the ipywidgets
# with `ipywidget(...)` from `spectral_explorer.explorers` (`pn.ipywidget` whose every
# front-end view shows the current face).

# %%
comp_w = widgets.Dropdown(options=[("SeFa", "sefa"), ("GANSpace", "ganspace")], value="sefa", description="method")
sliders = [widgets.FloatSlider(value=0.0, min=-5, max=5, step=0.5, description=f"comp {j + 1}",
                               continuous_update=False) for j in range(3)]


def face_view(method, coefs):
    if method == "sefa":
        D, sig = d_sefa[:3].float(), torch.ones(3)
    else:
        D, sig = gs.directions[:3].float(), gs.sigmas[:3].float()
    zz = z[0] + (torch.tensor(coefs) * sig) @ D
    with torch.no_grad():
        return vz.image_grid(gan(zz[None]), width=200, scale=2,
                             title=f"{method} " + ", ".join(f"{c:+g}σ" for c in coefs))


edit = hv.streams.Stream.define("FaceEdit", method="sefa", coefs=(0.0, 0.0, 0.0))()
face_plot = hv.DynamicMap(face_view, streams=[edit])   # one plot, redrawn in place
for w in [comp_w, *sliders]:
    w.observe(lambda _: edit.event(method=comp_w.value, coefs=tuple(s.value for s in sliders)), "value")
sliders[0].value = 2.0   # start with a visible edit
widgets.HBox([widgets.VBox([comp_w, *sliders]), ipywidget(face_plot)])

# %% [markdown]
# ## 4. Directions for *this* image: the Jacobian
#
# Near one latent $z$, $G(z + \varepsilon v) \approx G(z) + \varepsilon J v$ with the Jacobian
# $J = \partial G / \partial z \in \mathbb{R}^{12288 \times 100}$. The directions that change this
# image most are the top right singular vectors of $J$ — the top eigenvectors of $J^\top J$.
# Subspace power iteration never forms $J$: each step costs one batched Jacobian-vector product
# ($J Q$, forward mode) and one vector-Jacobian product ($J^\top (J Q)$, reverse mode), then a QR.
# A Rayleigh–Ritz step (the SVD of the small $J Q$) gives the estimates.

# %%
z0 = z[0]
f = lambda v: gan(v[None])[0]  # noqa: E731
V, S, info = ld.jacobian_directions(f, z0, k=3, tol=1e-6, n_iter=100, return_info=True)
Ve, Se = ld.jacobian_directions(f, z0, k=3, method="exact")
print("power iteration:", np.round(S.numpy(), 3), f"in {info['iterations']} iterations")
print("exact SVD:      ", np.round(Se.numpy(), 3))
print("|cos| with the exact vectors:", np.round((V @ Ve.T).abs().diagonal().numpy(), 6))
hist = np.asarray(info["history"])
vz.curves({f"s{i + 1}": hist[:, i] for i in range(3)}, title="power-iteration convergence",
          xlabel="power iteration", ylabel="singular value of J (pixel change per unit z)")

# %%
with torch.no_grad():
    diff = gan(z0[None] + 3 * V) - gan(z0[None] - 3 * V)
vz.image_grid(torch.cat([diff / diff.abs().max(), gan(z0[None] + 3 * V)]).reshape(2, 3, 3, 64, 64),
              title="what each Jacobian direction moves: difference images | z + 3v", width=420)

# %% [markdown]
# ## 5. The h-space of a diffusion model
#
# The digits model is a small U-Net that predicts the noise ε in $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$;
# DDIM turns it into a deterministic sampler (25 steps here). Its bottleneck — the output of the
# middle block, a 96×4×4 tensor — is the **h-space**. We sample digits, record h at every step,
# and label every sample with a logistic-regression classifier trained on the real digits.
# *Timing (CPU seconds of the one torch thread the notebook uses, measured with
# `python benchmarks/latent_directions.py --skip-timings --skip-quality --notebook both`): the next
# cell takes about 1.5 s in quick mode (64 samples × 25 steps) and about 10 s in full mode (512
# samples). The wall time is the same on a quiet machine and longer on a busy one.*

# %%
info_ckpt = dd.checkpoint_info()
print({k: info_ckpt[k] for k in ("seed", "steps", "batch_size", "final_loss", "seconds")})
model = dd.load_digits_diffusion(device="cpu")
predict, acc = dd.digit_classifier()
cap = ld.hspace_capture(model, n=N_DIGITS, seed=0, n_steps=25)
labels = predict(cap["x0"])[0]
print(f"classifier held-out accuracy {acc:.3f}; classes of the samples: {np.bincount(labels, minlength=10)}")
vz.image_grid(cap["x0"][:16], title="DDIM samples", width=640, scale=2)

# %% [markdown]
# **PCA per timestep.** For each DDIM step $t$, PCA of the $N$ bottlenecks $h_t$. How much variance
# the top components hold changes along the trajectory:

# %%
pca = ld.hspace_pca(cap["h"], k=5, mode="per_timestep")
r = pca["explained_ratio"].numpy()
vz.curves({f"PC{i + 1}": r[:, i] for i in range(3)}, x=np.arange(r.shape[0]),
          title="explained variance per step (0 = noisiest)", xlabel="DDIM step",
          ylabel="explained variance (fraction)")

# %% [markdown]
# Per-class mean PC scores (in σ): if PC1 separates classes, it mostly encodes **identity**.

# %%
scores = pca["scores"].numpy() / pca["sigmas"][12].numpy()[None]
table = np.array([scores[labels == c, :3].mean(0) if (labels == c).any() else np.zeros(3) for c in range(10)])
vz.grouped_bars(table, range(10), ["PC1", "PC2", "PC3"], ylabel="mean score (σ)", title="per-class PC scores")

# %% [markdown]
# **Edits.** Add $\Delta h_t = \alpha\,\sigma_{t,j}\, v_{t,j}$ at every step (or inside a window of
# steps). The control is a random unit direction $r$ of h — but at which step length? Stepped by
# its *own* σ (the spread of $h_t\cdot r$ over the samples) it moves h far less than PC 1 does,
# because a random direction's σ is a small fraction of PC 1's: comparing "one σ each" compares a
# short step with a long one. A fair control steps $r$ by PC 1's σ, so both edits have the same
# $\|\Delta h_t\|$. The cell shows both, on 8 samples, and the fraction of 32 samples whose class
# changes at ±1σ.

# %%
xT = cap["x_T"][:8]
H = cap["h"]
rnd = ld.random_directions(1, H.shape[2], seed=11)[0]
sig_pc1 = pca["sigmas"][:, 0]                                   # PC 1's σ per step (unit v_t)
sig_r = torch.stack([(H[s] @ rnd).std() for s in range(H.shape[0])])
print("random σ / PC 1's σ per step: min", round(float((sig_r / sig_pc1).min()), 3),
      "max", round(float((sig_r / sig_pc1).max()), 3))
edits = {"PC1": pca["components"][:, 0] * sig_pc1[:, None],
         "random, own σ": rnd[None] * sig_r[:, None],
         "random, PC1's σ": rnd[None] * sig_pc1[:, None]}            # unit α: Δh_t per σ
rows = [ld.hspace_edit(model, xT, a * edits["PC1"]) for a in (-2.0, 2.0)]
rows += [ld.hspace_edit(model, xT, 2.0 * edits[k]) for k in ("random, own σ", "random, PC1's σ")]
vz.image_grid(torch.stack([cap["x0"][:8], *rows]), scale=2, width=520,
              title="rows: original | PC1 −2σ | PC1 +2σ | random +2 (own σ) | random +2 (PC1's σ)")

# %%
x32, lab32 = cap["x_T"][:32], labels[:32]
for name, unit in edits.items():
    flips = [float((predict(ld.hspace_edit(model, x32, a * unit))[0] != lab32).mean()) for a in (1.0, -1.0)]
    print(f"{name:16s} mean ‖Δh_t‖ at 1σ {float(unit.norm(dim=1).mean()):5.2f}; "
          f"class changed at ±1σ: {np.mean(flips):.0%}")

# %% [markdown]
# Measured on 32 samples this is a coarse look. `spectral-explorer reproduce latent-directions`
# repeats it for PCs 1–3 and three random directions on three seeds of 256 digits each (rows
# `class_change`, `class_change_equal_norm`; the summary gives mean ± std over the seeds): at ±1σ
# and equal length PCs 1–3 change the class of 60–67 % of the digits, random directions 25 ± 2 %;
# at their own σ random directions change 2.5 ± 0.7 %. Per unit length the PCs are 2.5–2.7 times
# as effective; compared "one σ each" they look 25–26 times as effective, because a random
# direction's σ is about a twelfth of PC 1's ($\sigma_{PC1}/\sigma_{random}$ = 11.8 ± 0.8). At ±3σ
# the fair ratio is 1.4 (random directions 58 ± 4 %).

# %% [markdown]
# **Supervised directions and a projection.** The mean difference of h between samples classified
# as b and as a, $d_t = \bar h_t^{(b)} - \bar h_t^{(a)}$, turns a's into b's. It also drags along any
# attribute in which the two classes differ — e.g. slant. Build the slant direction $s_t$ the same
# way (top vs bottom quarter of slant) and remove it: $d_t^\perp = d_t - (d_t\cdot\hat s_t)\hat s_t$.

# %%
a, b = 1, 7
if not ((labels == a).any() and (labels == b).any()):
    a, b = [int(c) for c in np.argsort(-np.bincount(labels, minlength=10))[:2]]
sl = dd.slant(cap["x0"]).numpy()
lo, hi = np.quantile(sl, [0.25, 0.75])
slant_dir = ld.supervised_direction(cap["h"], np.where(sl >= hi, 1, np.where(sl <= lo, 0, -1)), 0, 1)
d_ab = ld.supervised_direction(cap["h"], labels, a, b)
d_perp = ld.remove_direction(d_ab, slant_dir)
idx = np.flatnonzero(labels == a)[:8]
plain = ld.hspace_edit(model, cap["x_T"][idx], d_ab)
proj = ld.hspace_edit(model, cap["x_T"][idx], d_perp)
for name, x in (("plain", plain), ("slant removed", proj)):
    hit = (predict(x)[0] == b).mean()
    dsl = (dd.slant(x) - torch.as_tensor(sl[idx])).abs().mean()
    print(f"{a} → {b} {name:>14}: classified as {b}: {hit:.0%}, mean |Δ slant| {float(dsl):.3f}")
vz.image_grid(torch.stack([cap["x0"][idx], plain, proj]), title=f"{a} | → {b} | → {b}, slant projected out",
              width=520, scale=2)

# %% [markdown]
# ## 6. The dashboard in the notebook
#
# `LatentDirectionsExplorer` is the dashboard (`spectral-explorer serve`, page `/latent_directions`):
# sliders in σ units, the traversal grid, the spectrum, the Jacobian tab and the h-space tab (which
# samples its digits when opened).

# %%
from spectral_explorer.explorers import LatentDirectionsExplorer  # noqa: E402

ex = LatentDirectionsExplorer(c1=2.0)
assert not ex.error, ex.error
ex.panel()

# %% [markdown]
# **Your own generator.** `LatentDirectionsExplorer.from_generator(G, latent_dim)` takes any
# `nn.Module` or callable mapping latents (B, latent_dim) to images (B, C, H, W): SeFa reads the
# first layer that reads z, GANSpace the first nonlinearity after it, and every face view works on
# it (the h-space tab stays on the digits model). `table()` gives the directions and their spectrum
# as a data frame (the page's CSV), `as_code()` the script that recomputes them. Here an untrained
# generator stands in for yours.

# %%
from torch import nn  # noqa: E402

torch.manual_seed(0)
my_G = nn.Sequential(nn.Linear(32, 128 * 4 * 4), nn.Unflatten(1, (128, 4, 4)), nn.ReLU(),
                     nn.ConvTranspose2d(128, 3, 4, 2, 1), nn.Tanh()).eval()
mine = LatentDirectionsExplorer.from_generator(my_G, 32, k=4)
assert not mine.error, mine.error
print(mine.directions.shape)            # (k, latent_dim): SeFa on my_G[0]
print(mine.table().iloc[:, :6])
print(mine.as_code())

# %% [markdown]
# ## Exercises (with checks)
#
# Each exercise ends with a check: `check_exercise("latent_directions", n, answer, ...)`
# recomputes the reference independently (numpy's SVD instead of the library's solvers),
# prints ✓ or ✗ with a hint, and returns `True`/`False`. Worked solutions are in the last
# section — try first.
#
# 1. **SeFa without normalisation.** With `normalize=False`, SeFa's eigenvalues are the squared
#    singular values of $A$. Answer the top 5 from `ld.sefa_directions(A, k=5,
#    normalize=False)`; check with `A=A`.
# 2. **Linear GANSpace = SeFa.** Replace `gan.first_block` by the linear map `lambda z: z @ A.T`
#    (no BatchNorm, no ReLU) and rerun GANSpace (`ld.ganspace_directions`, section 3). Answer
#    its top-2 directions (`.directions[:2]`); the check compares them with the right singular
#    vectors of $A$ up to the sampling error of `N_GANSPACE` latents (`A=A,
#    n_samples=N_GANSPACE`). Why must they agree for infinitely many samples? Why does the
#    third direction agree worse (look at SeFa's eigenvalues 3 and 4 in exercise 1)?
# 3. **σ units.** A SeFa slider moves $z$ by $\alpha\, n_j$ with $\|n_j\| = 1$: one σ unit is one
#    standard deviation of the isotropic $z$ along $n_j$. A GANSpace slider moves $z$ by
#    $\alpha\,\sigma_j u_j$, where $\sigma_j$ (`gs.sigmas[j]`) is the standard deviation of component
#    $j$'s score in *feature* space and $u_j$ (`gs.directions[j]`, not a unit vector) the latent change
#    per unit score. With `zs = sample_latents(5000, seed=9)` answer
#    `{"sefa": (zs @ d_sefa[0]).std(), "ganspace": (zs @ gs.directions[0]).std(),
#    "step": gs.sigmas[0] * gs.directions[0].norm()}` — the spread of $z$ along $n_1$ and along $u_1$,
#    and the length of GANSpace's one-σ step in $z$; check with `zs=zs, sefa_direction=d_sefa[0],
#    ganspace_direction=gs.directions[0], sigma=gs.sigmas[0]`. Then print
#    `gs.sigmas * gs.directions.norm(dim=1)` for all components: why can it not exceed 1 (up to
#    sampling error), and what does a component with a clearly shorter step tell you?
# 4. **Power iteration speed.** Subspace iteration with block size $k + p$ converges for the
#    $k$-th vector like $(\sigma_{k+p+1}/\sigma_k)^2$ per step. Form the full Jacobian at `z0`
#    (`torch.func.jacfwd(f)(z0).reshape(-1, 100)`: 100 forward-mode products, about 3 s) and answer the
#    factor for $k = 3$ and $p = 0$, $p = 5$: `{0: ..., 5: ...}`; check with `jacobian=J`. Then
#    compare `info["iterations"]` of section 4 rerun with `oversample=0` and `oversample=5`.
# 5. **Time windows.** Edit along h-space PC1 (+2σ) only in the first 5 steps (`window=(0, 4)`)
#    and only in the last 5 (`window=(20, 24)`) for the 8 samples `xT`. Answer `(early, late)`:
#    the mean absolute pixel change against the unedited samples; check with `model=model,
#    x_T=xT, pca=pca` (the check reruns both edits with the sampler). Which changes the class,
#    which only the style?
# 6. **Projection.** Build the ink direction like the slant direction (top vs bottom quarter of
#    `dd.ink`) and project it out of $d_{a\to b}$ instead of slant. Answer $d^\perp$; check with
#    `d=d_ab, s=ink_dir`. Does the a → b success rate survive?

# %%
# your answers here, e.g.
# check_exercise("latent_directions", 1, [1.0, 1.0, 1.0, 1.0, 1.0], A=A)

# %% [markdown]
# ## Solutions
#
# Each solution computes its answer with the library, then runs the check (which must pass).
# *Timing (CPU seconds, one torch thread, measured with `python benchmarks/latent_directions.py
# --skip-timings --skip-quality --notebook both`): about 5 s in quick mode and 8 s in full mode
# (exercise 2's GANSpace and exercise 4's Jacobian dominate). The whole notebook: about 30 s in
# quick mode and 60 s in full mode (512 digits, 20 000 GANSpace latents), imports included. On a
# quiet machine that is the wall time too; on the shared 2-core machine under load 8 the wall
# time was 87 s and 158 s.*

# %%
# 1. SeFa's eigenvalues without normalisation = σ²(A)
ans1 = ld.sefa_directions(A, k=5, normalize=False)[1].numpy()
print(np.round(ans1, 1))
assert check_exercise("latent_directions", 1, ans1, A=A)

# %%
# 2. GANSpace of the linear first layer
gs_lin = ld.ganspace_directions(lambda zz: zz @ A.T, n_samples=N_GANSPACE, k=3, seed=0, device="cpu")
V_A = torch.linalg.svd(A.double(), full_matrices=False)[2][:3]
U_lin = gs_lin.directions.double() / gs_lin.directions.double().norm(dim=1, keepdim=True)
print("|cos| with A's right singular vectors 1–3:", np.round((U_lin * V_A).sum(1).abs().numpy(), 4))
assert check_exercise("latent_directions", 2, gs_lin.directions[:2], A=A, n_samples=N_GANSPACE)

# %% [markdown]
# For $y = Az$ with $z \sim \mathcal N(0, I)$ the covariance of $y$ is $AA^\top = U\Sigma^2U^\top$;
# its top eigenvectors $u_j$ map back by least squares to $A^+u_j \propto v_j$, the right singular
# vectors of $A$ — SeFa's directions without row normalisation. With $N$ samples the sample
# covariance of $z$ is $I$ only up to errors of order $\sqrt{d/N}$, so the agreement is
# approximate; it is worst for the third direction because $\sigma_3^2 \approx \sigma_4^2$
# (exercise 1): a small eigengap lets sampling noise mix the two directions.

# %%
# 3. σ units: the std of z·u is ‖u‖; GANSpace's one-σ step has length σ_j‖u_j‖
zs = sample_latents(5000, seed=9)
ans3 = {"sefa": float((zs @ d_sefa[0].float()).std()), "ganspace": float((zs @ gs.directions[0].float()).std()),
        "step": float(gs.sigmas[0] * gs.directions[0].norm())}
print({k: round(v, 3) for k, v in ans3.items()}, "‖u₁‖ =", round(float(gs.directions[0].norm()), 3),
      "σ₁ =", round(float(gs.sigmas[0]), 2))
print("σ_j‖u_j‖, j = 1…:", np.round((gs.sigmas * gs.directions.norm(dim=1)).numpy(), 2))
assert check_exercise("latent_directions", 3, ans3, zs=zs, sefa_direction=d_sefa[0],
                      ganspace_direction=gs.directions[0], sigma=gs.sigmas[0])

# %% [markdown]
# For $z \sim \mathcal N(0, I)$ the standard deviation of $z\cdot u$ is $\|u\|$: 1 for SeFa's unit
# directions, $\|u_1\| \approx 0.11$ for GANSpace's, whose $\sigma_1 \approx 9.3$ measures the
# *feature-space* score instead. Their product is what a slider moves: $u_j$ is the least-squares
# latent change per unit score, and the scores are uncorrelated, so
# $\sigma_j\|u_j\| = \|\mathrm{cov}(z, x_j/\sigma_j)\| = R_j$, the correlation between the score and its
# best linear prediction from $z$. It is 1 when the score is linear in $z$ (a linear layer:
# $\sigma_j u_j$ is the unit right singular vector $r_j$) and smaller where the ReLU makes it
# nonlinear; a one-σ GANSpace step is then shorter than one standard deviation of $z$. (From $N$
# samples the least-squares map overfits: $\sigma_j^2\|u_j\|^2$ comes out above $R_j^2$ by a small
# multiple of $d/N = 100/N$, so in quick mode, $N$ = 3000, a value can exceed 1.) `spectral-explorer reproduce latent-directions` reports $\sigma_j\|u_j\|$ for three
# sampling seeds beside $R_j$ measured on fresh latents (rows `ganspace_step_length`).

# %%
# 4. the predicted convergence factors from the exact singular values
J = torch.func.jacfwd(f)(z0).reshape(-1, 100)
s_J = torch.linalg.svdvals(J.double())
ans4 = {p: float((s_J[3 + p] / s_J[2]) ** 2) for p in (0, 5)}
iters = {p: ld.jacobian_directions(f, z0, k=3, tol=1e-6, n_iter=100, oversample=p, return_info=True)[2]["iterations"]
         for p in (0, 5)}
print("factors", {p: round(v, 3) for p, v in ans4.items()}, "iterations", iters)
assert check_exercise("latent_directions", 4, ans4, jacobian=J)

# %%
# 5. an edit early vs late in the trajectory
pc1 = 2.0 * pca["sigmas"][:, :1] * pca["components"][:, 0]
early = ld.hspace_edit(model, xT, pc1, window=(0, 4))
late = ld.hspace_edit(model, xT, pc1, window=(20, 24))
ans5 = (float((early - cap["x0"][:8]).abs().mean()), float((late - cap["x0"][:8]).abs().mean()))
print(f"mean |Δpixel| early {ans5[0]:.3f}, late {ans5[1]:.3f}; classes early {predict(early)[0]}, "
      f"late {predict(late)[0]}, original {labels[:8]}")
assert check_exercise("latent_directions", 5, ans5, model=model, x_T=xT, pca=pca)

# %%
# 6. project the ink direction out instead of slant
ink_v = dd.ink(cap["x0"]).numpy()
lo_i, hi_i = np.quantile(ink_v, [0.25, 0.75])
ink_dir = ld.supervised_direction(cap["h"], np.where(ink_v >= hi_i, 1, np.where(ink_v <= lo_i, 0, -1)), 0, 1)
d_perp_ink = ld.remove_direction(d_ab, ink_dir)
hit = (predict(ld.hspace_edit(model, cap["x_T"][idx], d_perp_ink))[0] == b).mean()
print(f"{a} → {b} with ink projected out: classified as {b}: {hit:.0%}")
assert check_exercise("latent_directions", 6, d_perp_ink, d=d_ab, s=ink_dir)
