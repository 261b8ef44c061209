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
# # Eigenspace projections: PCA, EoRA and PiSSA
#
# A classroom walkthrough of *"EoRA: Training-free Compensation for Compressed LLM with
# Eigenspace Low-Rank Approximation"* (and of PiSSA's split of a weight's spectrum) with the
# `spectral_explorer` library. Terms in **bold** or `code` that are new to you (Gram, RTN, 2:4,
# `top1_nn_agreement`, …) are in the [glossary](GLOSSARY.md).
#
# **The one idea** (section 0 shows it in one picture): a compressed layer makes an error
# $\Delta W$; a small rank-$r$ correction $BA$ can only undo part of it, so spend the rank on the
# input directions the layer actually *sees*. EoRA does exactly that: it takes the SVD of
# $\Delta W$ after stretching the input space by the data's standard deviations.
#
# **Learning goals.** After this notebook you can
#
# 1. compute the eigenspaces of activations — the eigendecomposition of the covariance /
#    Gram matrix $C = X^\top X$ — and read the **energy captured** by the top-$k$ directions;
# 2. project data onto an eigenspace and measure how far two subspaces are apart with
#    **principal angles**;
# 3. explain why a low-rank correction of a compression error $\Delta W$ should be fitted in
#    the eigenspace of the *inputs* the layer sees (EoRA), not to $\Delta W$ alone (plain SVD),
#    derive EoRA's factors and check them against the Eckart–Young optimum;
# 4. describe PiSSA's split $W = BA + W_\text{res}$ and how it differs from EoRA;
# 5. compress all-MiniLM-L6-v2 with 3-bit round-to-nearest quantisation, calibrate it on a few
#    docstrings and compare none / SVD / EoRA on held-out embedding fidelity and per-layer error.
#
# Everything runs offline on a laptop CPU. Set `SPECTRAL_EXPLORER_QUICK=1` before starting
# Jupyter for a small, fast version (the tests run the notebook that way). Slow cells say how long
# they take. The exercises at the end have check cells (`check_exercise`) and worked solutions. The full table
# (3 compressions × 6 ranks × 3 methods, all 36 layers) comes from
# `spectral-explorer reproduce eigenspace`.

# %%
import os
import time

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
import panel as pn
import torch
from IPython.display import display

import spectral_explorer
from spectral_explorer import eigenspace as es
from spectral_explorer.data import anisotropic_toy
from spectral_explorer.calibration import (collect_grams, compensate, compress_weight, fidelity,
                                           fidelity_vs_rank, minilm_linear_names)
from spectral_explorer.minilm import (calibration_split, embed, load_minilm, stdlib_docstrings,
                                      tokenize_batches)
from spectral_explorer.viz import eigenspace as vz
from spectral_explorer.exercises import check_exercise
from spectral_explorer.explorers import ipywidget, notebook_setup

notebook_setup()  # HoloViews + Panel, every script and stylesheet inline (works offline)

QUICK = os.environ.get("SPECTRAL_EXPLORER_QUICK", "0") == "1"
N_CALIB, N_HELDOUT = (16, 16) if QUICK else (128, 128)
torch.manual_seed(0)
rng = np.random.default_rng(0)
print(f"spectral_explorer {spectral_explorer.__version__}; QUICK={QUICK}")

# %% [markdown]
# ## 0. The one idea in one picture
#
# 300 two-dimensional activations $x$ (grey), stretched along a 30° axis, go through a layer
# whose 2×2 weight error is $\Delta W$. We may add a rank-1 correction $BA$: it can reproduce
# $\Delta W$ exactly on only *one* input direction. Plain SVD picks the
# direction where $\Delta W$ itself is largest (dashed red), blind to the data. EoRA picks the
# direction where $\Delta W x$ is largest *on the data* (solid blue) — almost the data's long
# axis. The middle panel shows what is left of the output error on every sample; the bars on the
# right total it. The rest of the notebook explains why (sections 1–3) and then does the same
# to a real sentence encoder (section 5).

# %%
toy = es.toy_compensation(*anisotropic_toy(300, anisotropy=8.0, angle=30.0, seed=0), rank=1)
kept = vz.toy_kept_directions(toy["evals"], toy["Q"], toy["A"]["SVD"], toy["A"]["EoRA"])
deg = {k: float(np.degrees(np.arctan2(v[1], v[0])) % 180) for k, v in
       {"data axis": toy["Q"][:, 0], **kept}.items()}
print("directions (degrees): " + ", ".join(f"{k} {v:.1f}" for k, v in deg.items()))
print({k: round(v, 3) for k, v in toy["errors"].items()}, "(output error ‖X(ΔW − BA)ᵀ‖_F)")
(vz.toy_data_plot(toy["X"], toy["evals"], toy["Q"], toy["A"]["SVD"], toy["A"]["EoRA"], size=330)
 + vz.toy_residual_plot(toy["residuals"], size=330) + vz.error_bars(toy["errors"], height=330)
 ).opts(shared_axes=False)

# %% [markdown]
# ## 1. Eigenspaces of activations on a 2-D toy
#
# Stack $n$ activation vectors as the rows of $X \in \mathbb{R}^{n\times d}$. The **Gram matrix**
# $C = X^\top X$ (the covariance times $n$ when the data are centred) is symmetric positive
# semi-definite, so $C = Q \Lambda Q^\top$ with orthonormal eigenvectors $Q$ and eigenvalues
# $\lambda_1 \ge \dots \ge \lambda_d \ge 0$. Since $\|X q_i\|^2 = \lambda_i$, the eigenvalue is
# the **energy** of the data along $q_i$: the top-$k$ eigenspace captures
# $\sum_{i\le k}\lambda_i / \sum_i \lambda_i$ of $\|X\|_F^2$. This is PCA **of the
# uncentred data**: PCA proper subtracts the mean first and diagonalises the covariance. EoRA
# wants the uncentred Gram, because a layer's output error $(\Delta W - BA)x$ depends on $x$
# itself, mean included. (The toy's mean is ≈ 0, so here the two coincide.)

# %%
n = 400
# std √a along a 30° axis and 1/√a across it (the dashboard's toy, spectral_explorer.data)
X2_np, _ = anisotropic_toy(n, anisotropy=5.0, angle=30.0, seed=0)
X2 = torch.from_numpy(X2_np)
C2 = X2.T @ X2
evals2, Q2 = es.gram_eigh(C2)
print("eigenvalues:", evals2.numpy().round(1), " energy captured:", es.energy_captured(evals2).numpy().round(3))
print("‖X q_i‖² = λ_i:", torch.allclose((X2 @ Q2).pow(2).sum(0), evals2))

X2_proj = es.project_topk(X2, Q2, 1, reconstruct=True)  # projection onto the top eigenspace
scale = 2 * torch.sqrt(evals2 / n)
axes = hv.Segments([(0, 0, float(scale[i] * Q2[0, i]), float(scale[i] * Q2[1, i])) for i in range(2)],
                   ["x₁ (input units)", "x₂ (input units)", "x1", "y1"]).opts(color="black", line_width=3)
hv.Layout([
    (hv.Points(X2.numpy(), ["x₁ (input units)", "x₂ (input units)"], label="activations").opts(alpha=0.4)
     * hv.Points(X2_proj.numpy(), ["x₁ (input units)", "x₂ (input units)"], label="projection on q₁").opts(
         color="red", size=3)
     * axes).opts(title="data, eigenvectors (±2σ) and projection", width=420, height=380,
                  data_aspect=1, legend_position="bottom_right"),
    hv.Bars([(f"λ{i + 1}", float(v)) for i, v in enumerate(evals2)], "eigenvalue",
            "λ = energy ‖X q‖² (input units²)").opts(
        width=250, height=380, title="spectrum of XᵀX"),
])

# %% [markdown]
# ## 2. A 3-D toy: energy captured, projection, principal angles
#
# Points near a tilted plane in $\mathbb{R}^3$: two large eigenvalues, one small. The top-2
# eigenspace of the *sample* Gram estimates the plane; the **principal angles**
# $\theta_1 \le \theta_2$ between two subspaces (from the singular values
# $\cos\theta_i$ of $Q_U^\top Q_V$) say how well. With more samples the angle shrinks.

# %%
plane = torch.linalg.qr(torch.randn(3, 2, dtype=torch.float64)).Q  # true 2-D subspace


def sample_plane(m):
    return (torch.randn(m, 2, dtype=torch.float64) * torch.tensor([2.0, 1.0], dtype=torch.float64)) @ plane.T \
        + 0.3 * torch.randn(m, 3, dtype=torch.float64)


X3 = sample_plane(300)
ev3, Q3 = es.gram_eigh(X3.T @ X3)
print("energy captured by k = 1, 2, 3:", es.energy_captured(ev3).numpy().round(3))
print("principal angles (deg) between top-2 eigenspace and the true plane:",
      np.degrees(es.principal_angles(Q3[:, :2], plane).numpy()).round(2))

sizes = [5, 10, 20, 50, 100, 200, 500, 1000, 2000] if not QUICK else [5, 20, 100, 500]
angles = []
for m in sizes:
    Xm = sample_plane(m)
    _, Qm = es.gram_eigh(Xm.T @ Xm)
    angles.append(float(es.principal_angles(Qm[:, :2], plane).max()))
Z = es.project_topk(X3, Q3, 2)
hv.Layout([
    hv.Points(Z.numpy(), ["coordinate on q₁ (input units)", "coordinate on q₂ (input units)"]).opts(
        width=380, height=340, alpha=0.5, title="3-D points projected on the top-2 eigenspace"),
    hv.Curve((sizes, np.degrees(angles)), "samples n", "largest principal angle (°)").opts(
        logx=True, logy=True, width=380, height=340, title="estimated vs true plane"),
])

# %% [markdown]
# ## 3. Compensating a compression error: plain SVD vs EoRA
#
# A compressed layer computes $\hat W x$ instead of $W x$. We add a rank-$r$ correction
# $BA$ ($B\in\mathbb{R}^{m\times r}$, $A\in\mathbb{R}^{r\times d}$) to the error
# $\Delta W = W - \hat W$. What matters is the error **on the inputs the layer sees**:
#
# $$\min_{\operatorname{rank}(BA)\le r}\ \|(\Delta W - BA)X^\top\|_F^2
#   = \|(\Delta W - BA)\, C^{1/2}\|_F^2,\qquad C = \textstyle\sum X^\top X = Q\Lambda Q^\top .$$
#
# Here $C = \sum X^\top X$ is the **uncentred Gram** of all calibration inputs: the sum runs
# over batches, $X$ being one batch's tokens (rows) × input features (columns). (The equality
# holds because $\|MX^\top\|_F^2 = \operatorname{tr}(MX^\top XM^\top) = \|MC^{1/2}\|_F^2$.)
#
# **EoRA** projects $\Delta W$ into the eigenspace of $C$, scaled by its energy, and truncates
# there:
#
# $$\operatorname{SVD}(\Delta W\, Q\Lambda^{1/2}) = U\Sigma V^\top,\qquad
#   B = U_r\Sigma_r^{1/2},\qquad A = \Sigma_r^{1/2}V_r^\top\Lambda^{-1/2}Q^\top .$$
#
# Then $BA\,Q\Lambda^{1/2} = U_r\Sigma_rV_r^\top$ is the best rank-$r$ approximation of
# $\Delta W Q\Lambda^{1/2}$ (Eckart–Young), and because $Q\Lambda^{1/2}$ is invertible (when
# $C \succ 0$) this is the optimum of the weighted problem: the minimal error is
# $\sqrt{\sum_{i>r}\sigma_i^2}$. **Plain SVD** is the special case $C = I$ — it treats every
# input direction as equally likely, wasting rank on directions the activations never use.
#
# Which input directions does $BA$ fit? $BA\,u = \Delta W u$ exactly for $u = Q\Lambda^{1/2}v_j$
# ($j \le r$): these are the blue lines of section 0. The rows of $A$ themselves are
# $\propto Q\Lambda^{-1/2}v_j$ — *covectors* (they read an input, $a\cdot x$), pointing
# elsewhere; $u = C\,a$ converts one into the other.

# %%
d_in, d_out, r = 12, 10, 3
evals_true = torch.logspace(2, -2, d_in, dtype=torch.float64)          # anisotropic activations
Qt = torch.linalg.qr(torch.randn(d_in, d_in, dtype=torch.float64)).Q
Xt = torch.randn(2000, d_in, dtype=torch.float64) * evals_true.sqrt() @ Qt.T
Ct = Xt.T @ Xt
dW = 0.05 * torch.randn(d_out, d_in, dtype=torch.float64)              # a compression error

B_svd, A_svd = es.svd_compensation(dW, r)
B_eora, A_eora = es.eora_compensation(dW, Ct, r)

# EoRA's factors written out, exactly as in the formulas above
lam, Q = es.gram_eigh(Ct)
U, S, Vh = torch.linalg.svd(dW @ Q @ torch.diag(lam.sqrt()))
B_f = U[:, :r] @ torch.diag(S[:r].sqrt())
A_f = torch.diag(S[:r].sqrt()) @ Vh[:r] @ torch.diag(lam.rsqrt()) @ Q.T
print("formula BA == library BA:", torch.allclose(B_f @ A_f, B_eora @ A_eora, atol=1e-10))

optimum = float(S[r:].pow(2).sum().sqrt())                             # Eckart–Young
err = {"none": es.compensation_error(dW, torch.zeros(d_out, 0, dtype=torch.float64),
                                     torch.zeros(0, d_in, dtype=torch.float64), Ct),
       "SVD": es.compensation_error(dW, B_svd, A_svd, Ct),
       "EoRA": es.compensation_error(dW, B_eora, A_eora, Ct)}
print({k: round(v, 4) for k, v in err.items()}, " Eckart–Young optimum:", round(optimum, 4))
assert abs(err["EoRA"] - optimum) < 1e-8 * optimum and err["EoRA"] <= err["SVD"]
print("‖(ΔW − BA)Xᵀ‖ computed directly:", round(float(torch.linalg.norm((dW - B_eora @ A_eora) @ Xt.T)), 4))

# no random rank-r correction does better than the optimum
rand = min(es.compensation_error(dW, torch.randn(d_out, r, dtype=torch.float64),
                                 torch.randn(r, d_in, dtype=torch.float64) * 0.01, Ct) for _ in range(200))
print("best of 200 random rank-r corrections:", round(rand, 4))

# plain SVD is EoRA with C = I
B_i, A_i = es.eora_compensation(dW, torch.eye(d_in, dtype=torch.float64), r)
print("EoRA with C = I equals plain SVD:", torch.allclose(B_i @ A_i, B_svd @ A_svd, atol=1e-12))
# ... and with C = c·I for any c > 0; but a *sample* Gram of isotropic data is never exactly c·I
# (exercise 2), so there EoRA and SVD differ slightly.

# %% [markdown]
# The error as a function of the rank: EoRA reaches the weighted optimum at every rank, and
# its plain Frobenius error $\|\Delta W - BA\|_F$ is *worse* than SVD's — it deliberately
# leaves error in directions the inputs do not visit.

# %%
rows = []
for k in range(0, min(d_out, d_in) + 1):
    for name, fn in (("SVD", lambda k: es.svd_compensation(dW, k)),
                     ("EoRA", lambda k: es.eora_compensation(dW, Ct, k))):
        B, A = fn(k)
        rows.append({"rank": k, "method": name, "weighted": es.compensation_error(dW, B, A, Ct),
                     "plain": es.compensation_error(dW, B, A)})
curve = pd.DataFrame(rows)
hv.Layout([
    hv.Overlay([hv.Curve(curve[curve.method == m], "rank", "weighted", label=m) for m in ("SVD", "EoRA")]).opts(
        title="‖(ΔW − BA) C^½‖_F (what the layer's output sees)", width=400, height=320, logy=True,
        xlabel="rank r of BA", ylabel="weighted error (output units)"),
    hv.Overlay([hv.Curve(curve[curve.method == m], "rank", "plain", label=m) for m in ("SVD", "EoRA")]).opts(
        title="‖ΔW − BA‖_F (plain)", width=400, height=320, xlabel="rank r of BA",
        ylabel="plain error (weight units)"),
])

# %% [markdown]
# ## 4. PiSSA: the principal part of a weight
#
# PiSSA (Principal Singular values and Singular vectors Adaptation) splits a weight itself,
# not an error: $W = U\Sigma V^\top$, $B = U_r\Sigma_r^{1/2}$, $A = \Sigma_r^{1/2}V_r^\top$ and
# $W_\text{res} = W - BA$ (the minor singular components). Fine-tuning trains $B, A$ — the
# directions carrying most of $W$'s energy — and freezes (or quantises) $W_\text{res}$.
# EoRA instead keeps $\hat W$ frozen and fits $BA$ to the *error*, in the *input* eigenspace.

# %%
W_toy = torch.randn(64, 48, dtype=torch.float64) @ torch.diag(torch.logspace(1, -1, 48, dtype=torch.float64))
Bp, Ap, W_res = es.pissa_split(W_toy, 8)
print("W = BA + W_res:", torch.allclose(Bp @ Ap + W_res, W_toy))
sv = torch.linalg.svdvals(W_toy)
print(f"energy of the principal rank-8 part: {float(sv[:8].pow(2).sum() / sv.pow(2).sum()):.3f}; "
      f"‖W_res‖₂ = σ₉ = {float(torch.linalg.matrix_norm(W_res, 2)):.3f} vs {float(sv[8]):.3f}")
hv.Curve((np.arange(1, len(sv) + 1), sv.numpy()), "index i", "singular value σᵢ(W)").opts(
    logy=True, width=500, height=300, title="PiSSA trains the first r singular directions") \
    * hv.VLine(8.5).opts(color="red", line_dash="dashed")

# %% [markdown]
# ## 5. MiniLM: compress, calibrate, compensate
#
# all-MiniLM-L6-v2 (a 6-layer sentence encoder, packaged with the project, loaded offline)
# has 36 encoder `nn.Linear` layers. We quantise them to **3 bits** per weight by **RTN**
# (round-to-nearest: each weight is rounded to the nearest of $2^3 = 8$ evenly spaced levels,
# with one scale per output channel, i.e. per row of $W$ — compression `rtn3`; `rtn4` uses 16
# levels; `rtn3g64` uses one scale per group of 64 consecutive inputs of a row, which follows
# the weights more closely; `prune24` is **2:4 semi-structured pruning**: in every block of 4
# consecutive weights of a row the 2 smallest in magnitude are set to 0, a pattern sparse
# tensor cores run fast). We collect the input Gram of every layer
# on a few **calibration** docstrings (once — every method and rank reuses them) and compare
# the embeddings of **held-out** docstrings with those of the original model. In quick mode
# only the first block's layers are compressed, so every number is closer to 1.
#
# The fidelity metrics compare the compressed model's held-out sentence embeddings with the
# original's: `mean_cosine` — mean cosine between the two embeddings of each text;
# `spearman` — rank correlation of all pairwise cosine similarities (does the compressed model
# rank text pairs the same way?); `top1_nn_agreement` — fraction of texts whose nearest other
# text (by cosine) is the same for both models. All three are 1 for a perfect copy.
#
# *Timing (`OMP_NUM_THREADS=1 python benchmarks/notebook_timing.py notebooks/eigenspace_projections.ipynb`
# on a 2-core machine busy with other jobs, wall-clock): loading MiniLM and collecting the Grams takes 6 s in quick mode (16 + 16
# texts, 5 layers) and 28 s in full mode (128 + 128 texts, 36 layers). The whole notebook: 28 s
# in quick mode, 258 s in full mode (152 s of CPU time).*

# %%
t0 = time.perf_counter()
tok, model = load_minilm(device="cpu")
all_layers = minilm_linear_names(model)
LAYERS = [n for n in all_layers if n.startswith("encoder.layer.0.") and n != "encoder.layer.0.output.dense"] \
    if QUICK else all_layers
calib, held = calibration_split(stdlib_docstrings(), N_CALIB, N_HELDOUT, seed=0)
grams, counts = collect_grams(model, LAYERS, tokenize_batches(calib, tok))
held_grams, _ = collect_grams(model, LAYERS, tokenize_batches(held, tok))
ref = embed(held, tok, model)
print(f"{len(LAYERS)} of {len(all_layers)} layers, {len(calib)} calibration texts "
      f"({counts[LAYERS[0]]} tokens), {len(held)} held-out; {time.perf_counter() - t0:.1f} s")
print("e.g.", calib[0][:100], "…")

# %% [markdown]
# The activations are far from isotropic: a few eigen-directions of $X^\top X$ carry most of
# the energy, which is exactly what EoRA exploits.

# %%
spec = {name: es.gram_eigh(grams[name])[0] for name in LAYERS[:4]}
hv.Overlay([hv.Curve((np.arange(1, len(v) + 1), es.energy_captured(v).numpy()), "k", "energy captured",
                     label=name.replace("encoder.layer.", "L")) for name, v in spec.items()]).opts(
    logx=True, width=600, height=320, legend_position="bottom_right", title="energy of the top-k eigenspace of XᵀX",
    xlabel="k (number of eigenvectors)", ylabel="energy captured (fraction of trace)")

# %%
RANK = 32
results, models = [], {}
for method in ("none", "svd", "eora"):
    t = time.perf_counter()
    models[method] = compensate(model, tok, calib, method=method, compression="rtn3", rank=RANK,
                                layers=LAYERS, grams=grams)
    f = fidelity(ref, embed(held, tok, models[method]))
    results.append({"method": method, **{k: round(v, 4) for k, v in f.items()},
                    "seconds": round(time.perf_counter() - t, 2)})
fid = pd.DataFrame(results)
display(fid)
assert fid.set_index("method").loc["eora", "mean_cosine"] >= fid.set_index("method").loc["none", "mean_cosine"]
hv.Bars(fid.melt("method", ["mean_cosine", "spearman", "top1_nn_agreement"], "metric"), ["metric", "method"],
        "value").opts(width=650, height=320, title=f"held-out fidelity, 3-bit RTN, rank {RANK}", ylim=(0, 1.05),
                      ylabel="value (1 = same as the original)")

# %% [markdown]
# *Timing (measured as above): the comparison above takes 2 s in quick mode and 41 s in full
# mode (36 layers, 128 held-out texts); the sweep below 4 s and 135 s.*
#
# **Model-level error against rank.** How much rank does each method need? Both SVD and EoRA
# are truncations of one SVD (of $\Delta W$, resp. $\Delta W Q\Lambda^{1/2}$), so
# `fidelity_vs_rank` factorises every layer once at the largest rank and slices the factors
# for the smaller ones; each rank then costs one pass over the held-out texts.

# %%
SWEEP = (4, 16, 64) if QUICK else (4, 8, 16, 32, 64, 128)
t = time.perf_counter()
sweep = pd.DataFrame(fidelity_vs_rank(model, tok, calib, held, "rtn3", ranks=SWEEP, layers=LAYERS, grams=grams,
                                      reference=ref))
print(f"{len(sweep)} compressed models embedded in {time.perf_counter() - t:.1f} s")
by_method = {m: sweep[sweep["method"] == m].sort_values("rank")["mean_cosine"].to_numpy() for m in ("svd", "eora")}
none_cos = float(sweep.loc[sweep["method"] == "none", "mean_cosine"].iloc[0])
assert (by_method["eora"] >= by_method["svd"] - 1e-3).all()
vz.rank_error_plot(SWEEP, {"SVD": by_method["svd"], "EoRA": by_method["eora"], "none": [none_cos] * len(SWEEP)},
                   ylabel="mean cosine (1 = same embeddings)", title="held-out mean cosine vs rank (3-bit RTN)",
                   legend_position="bottom_right")

# %% [markdown]
# **Per-layer error.** For each layer, the relative output error on the *held-out* inputs,
# $\|(\Delta W - BA)C_\text{held}^{1/2}\|_F / \|W C_\text{held}^{1/2}\|_F$, with the correction
# fitted on the calibration Gram. EoRA's advantage survives the change of data because the
# activation eigenspaces are stable across texts. *Timing (measured as above): 1.4 s in quick
# mode (5 layers), 28 s in full mode (36 layers).*


# %%
def layer_errors(name, rank, compression="rtn3"):
    W = model.get_submodule(name).weight.detach().to(torch.float64)
    dW_l = W - compress_weight(W, compression).to(torch.float64)
    Ch = held_grams[name]
    denom = es.compensation_error(W, torch.zeros(W.shape[0], 0, dtype=torch.float64),
                                  torch.zeros(0, W.shape[1], dtype=torch.float64), Ch)
    out = {"none": es.compensation_error(dW_l, torch.zeros(W.shape[0], 0, dtype=torch.float64),
                                         torch.zeros(0, W.shape[1], dtype=torch.float64), Ch) / denom}
    out["svd"] = es.compensation_error(dW_l, *es.svd_compensation(dW_l, rank), Ch) / denom
    out["eora"] = es.compensation_error(dW_l, *es.eora_compensation(dW_l, grams[name], rank), Ch) / denom
    return out


per_layer = pd.DataFrame([{"layer": n.replace("encoder.layer.", "L"), "method": m, "rel_error": v}
                          for n in LAYERS for m, v in layer_errors(n, RANK).items()])
hv.Bars(per_layer, ["layer", "method"], "rel_error").opts(ylabel="relative output error (‖·‖_F ratio)",
    width=900, height=340, xrotation=90, title=f"held-out relative output error per layer (rank {RANK})")

# %% [markdown]
# ## 6. Interactive
#
# ### 6a. A Panel widget
#
# Pick a layer, a compression and a rank: the correction is refitted (one SVD of a 384-wide
# matrix) and the held-out error of each method is redrawn.

# %%
layer_w = pn.widgets.Select(name="layer", options=LAYERS, value=LAYERS[0])
comp_w = pn.widgets.RadioButtonGroup(name="compression", options=["rtn3", "rtn4", "rtn3g64", "prune24"],
                                     value="rtn3")
rank_w = pn.widgets.IntSlider(name="rank", start=1, end=128, value=RANK)


def layer_view(layer, compression, rank):
    e = layer_errors(layer, rank, compression)
    return hv.Bars(list(e.items()), "method", "held-out relative error (‖·‖_F ratio)").opts(
        width=420, height=300, title=f"{layer.replace('encoder.layer.', 'L')} · {compression} · r={rank}")


pn.Column(pn.Row(layer_w, comp_w, rank_w), pn.bind(layer_view, layer_w, comp_w, rank_w))

# %% [markdown]
# ### 6b. A plain ipywidgets control
#
# The toy of section 3 with an `ipywidgets` slider for the rank. The slider's observer sends the
# rank to a `hv.streams.Stream` that drives one `hv.DynamicMap` (the plot is redrawn in place),
# and `ipywidget(...)` from `spectral_explorer.explorers` — `pn.ipywidget` that shows every
# front-end view the current figure — embeds it among the ipywidgets.

# %%
toy_rank_w = widgets.IntSlider(value=r, min=0, max=min(d_in, d_out), description="rank", continuous_update=False)
toy_readout = widgets.HTML()


def toy_view(k):
    sel = curve[curve["rank"] == k].set_index("method")
    toy_readout.value = (f"weighted error — SVD <b>{sel.loc['SVD', 'weighted']:.4f}</b>, "
                         f"EoRA <b>{sel.loc['EoRA', 'weighted']:.4f}</b>")
    return hv.Bars(sel.reset_index()[["method", "weighted"]], "method",
                   ("weighted", "weighted error ‖(ΔW − BA)C^½‖_F")).opts(
        width=350, height=260, title=f"toy, rank {k}", framewise=True)


toy_stream = hv.streams.Stream.define("ToyRank", k=toy_rank_w.value)()
toy_plot = hv.DynamicMap(toy_view, streams=[toy_stream])   # one plot, redrawn in place
toy_rank_w.observe(lambda change: toy_stream.event(k=change["new"]), names="value")
widgets.VBox([toy_rank_w, toy_readout, ipywidget(toy_plot)])

# %% [markdown]
# ### 6c. `EigenspaceExplorer`
#
# The same story as a dashboard (`panel serve apps/eigenspace.py`): the 2-D toy of section 0,
# whose anisotropy and angle you drag, then MiniLM layer by layer (spectra, error vs rank, PiSSA)
# and the model-level fidelity against rank on demand. MiniLM stages start only when you switch them on in the
# live dashboard, so displaying it here is cheap.

# %%
from spectral_explorer.explorers import EigenspaceExplorer  # noqa: E402

ex = EigenspaceExplorer(anisotropy=10.0)
assert not ex.error, ex.error
print({k: round(float(v), 4) for k, v in ex.toy_errors.items()})
ex.panel()

# %% [markdown]
# ### 6d. Your own model
#
# `EigenspaceExplorer.from_model(model, calibration)` takes any `torch.nn.Module` and its inputs
# (a tensor, a dict of tensors, a list of batches): its `nn.Linear` layers become the layer list,
# and fidelity compares the model's final outputs on held-out inputs (here the last quarter of
# the calibration rows). The explorer works on a copy — your model is not touched. `ex.table()`
# is the open tab's data, `ex.as_code()` the library calls that rebuild it.

# %%
mlp = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.GELU(), torch.nn.Linear(64, 64), torch.nn.GELU(),
                          torch.nn.Linear(64, 4))
inputs = torch.randn(200, 16, generator=torch.Generator().manual_seed(0)) * torch.logspace(0, -1, 16)
own = EigenspaceExplorer.from_model(mlp, inputs, rank=8)
print(own.status)
print(own.run_fidelity().round(4))

# %% [markdown]
# ## Exercises
#
# Each exercise ends with a check: call `check_exercise("eigenspace_projections", n, answer, ...)`;
# it recomputes the reference independently (numpy, not the library's solver), prints ✓ or ✗
# with a hint, and returns `True`/`False`. Worked solutions are in the last section — try first.
#
# 1. **Isotropic toy.** In section 1 change the anisotropy from 5.0 to 1.0 (keep n = 400, angle
#    30°, seed 0). What fraction of the energy does $q_1$ capture, and by how many degrees does
#    $q_1$ turn when you redraw the sample with seed 1? Answer
#    `{"energy": ..., "angle_deg": ...}`. What does that say about $q_1$ of isotropic data?
# 2. **When do EoRA and SVD coincide?** Take `X, dW = anisotropic_toy(300, anisotropy=1.0,
#    angle=0.0, seed=0)` (an isotropic *distribution*) and rank 1. Compute the relative
#    difference $d(C) = \|B_eA_e - B_sA_s\|_F/\|B_sA_s\|_F$ between EoRA with Gram $C$ and plain
#    SVD, for $C = I$ and for the sample Gram $C = X^\top X$. Answer
#    `{"identity": d(I), "sample": d(XᵀX)}`. Explain with the formula for $A$ why only the true
#    covariance ($C = cI$) makes them coincide.
# 3. **A Gram from other data.** Fit the EoRA correction of section 3 on the Gram `C_other` of
#    inputs with the same spectrum but another random eigenbasis, then measure its weighted error
#    on the original `Ct`. Answer: EoRA's error divided by plain SVD's (rank `r`). Check with
#    `check_exercise(..., 3, answer, dW=dW, C=Ct, C_fit=C_other, rank=r)`. How much of the
#    advantage remains?
# 4. **Which compression gains most?** For the layer `LAYERS[0]` at rank 32, compute with
#    `layer_errors` the ratio of EoRA's held-out error to the uncorrected error for `"rtn3"`,
#    `"rtn4"` and `"prune24"`. Answer: the compression with the smallest ratio. Check with
#    `W=`, `gram=grams[LAYERS[0]]`, `held_gram=held_grams[LAYERS[0]]`.
# 5. **Is a quantisation error low-rank?** For the same layer, the fraction of
#    $\|\Delta W\|_F^2$ held by the top 32 singular values of the 3-bit RTN error $\Delta W$.
#    Compare with $W$'s own fraction (PiSSA's premise). What does that imply for plain-SVD
#    compensation, and why can EoRA still help? Check with `W=`.
#
# **Project (open, no check).** Layer-sequential EoRA (`compensate(..., layer_sequential=True)`)
# recollects each layer's Gram on the *compressed* model's activations. Does it beat one-shot
# EoRA at rank 32? (Full mode: about as long as the section-5 comparison per method.)

# %%
# your answers here, e.g.
# check_exercise("eigenspace_projections", 1, {"energy": 0.5, "angle_deg": 0.0})

# %% [markdown]
# ## Solutions
#
# Each solution computes its answer with the library, then runs the check (which must pass).

# %%
# 1. energy of q₁ and its turn between two samples of isotropic data
q1s, energy1 = [], None
for seed in (0, 1):
    Xi = torch.from_numpy(anisotropic_toy(400, anisotropy=1.0, angle=30.0, seed=seed)[0])
    ev_i, Q_i = es.gram_eigh(Xi.T @ Xi)
    q1s.append(Q_i[:, :1])
    energy1 = energy1 if energy1 is not None else float(es.energy_captured(ev_i)[0])
angle1 = float(np.degrees(es.principal_angles(q1s[0], q1s[1]).numpy().max()))
print(f"energy of q₁ {energy1:.4f}, turn between seeds {angle1:.1f}°")
assert check_exercise("eigenspace_projections", 1, {"energy": energy1, "angle_deg": angle1})

# %% [markdown]
# About half the energy, and $q_1$ points anywhere: with $\lambda_1 \approx \lambda_2$ the
# eigenvector is decided by sampling noise, so it is not a property of the data.

# %%
# 2. EoRA vs SVD: exact covariance vs sample Gram
Xs, dWs = (torch.from_numpy(a) for a in anisotropic_toy(300, anisotropy=1.0, angle=0.0, seed=0))
Bs, As = es.svd_compensation(dWs, 1)


def rel_diff(C):
    Be, Ae = es.eora_compensation(dWs, C, 1)
    return float(torch.linalg.norm(Be @ Ae - Bs @ As) / torch.linalg.norm(Bs @ As))


ans2 = {"identity": rel_diff(torch.eye(2, dtype=torch.float64)), "sample": rel_diff(Xs.T @ Xs)}
print(ans2)
assert check_exercise("eigenspace_projections", 2, ans2)

# %% [markdown]
# With $C = cI$: $Q\Lambda^{1/2} = \sqrt c\,Q$ is a scaled rotation, so the SVD of
# $\Delta W Q\Lambda^{1/2}$ has the same truncation as that of $\Delta W$ and $BA$ is identical.
# A sample Gram of 300 isotropic points has eigenvalues that differ by a few percent
# (section 1), so EoRA weights the two directions differently and `allclose` fails — the
# statement "anisotropy 1 ⇒ EoRA = SVD" holds for the true covariance only.

# %%
# 3. EoRA fitted on a Gram with another eigenbasis
g = torch.Generator().manual_seed(7)
Q_other = torch.linalg.qr(torch.randn(d_in, d_in, dtype=torch.float64, generator=g)).Q
X_other = torch.randn(2000, d_in, dtype=torch.float64, generator=g) * evals_true.sqrt() @ Q_other.T
C_other = X_other.T @ X_other
B_o, A_o = es.eora_compensation(dW, C_other, r)
ans3 = es.compensation_error(dW, B_o, A_o, Ct) / es.compensation_error(dW, B_svd, A_svd, Ct)
print(f"EoRA fitted on other data / SVD = {ans3:.3f} (EoRA on the right data / SVD = "
      f"{err['EoRA'] / err['SVD']:.3f})")
assert check_exercise("eigenspace_projections", 3, ans3, dW=dW, C=Ct, C_fit=C_other, rank=r)

# %% [markdown]
# The advantage is gone (the ratio is near or above 1): EoRA spends its rank on the directions
# *its* Gram says are busy. That is why the calibration texts must resemble the real inputs.

# %%
# 4. which compression gains most from EoRA at rank 32 (layer LAYERS[0])
name0 = LAYERS[0]
ratios4 = {c: (lambda e: e["eora"] / e["none"])(layer_errors(name0, 32, c)) for c in ("rtn3", "rtn4", "prune24")}
ans4 = min(ratios4, key=ratios4.get)
print({k: round(v, 3) for k, v in ratios4.items()}, "→", ans4)
W0 = model.get_submodule(name0).weight
assert check_exercise("eigenspace_projections", 4, ans4, W=W0, gram=grams[name0], held_gram=held_grams[name0])

# %%
# 5. energy of the top-32 singular values: quantisation error vs weight
W0d = W0.detach().to(torch.float64)
s_dw = torch.linalg.svdvals(W0d - compress_weight(W0d, "rtn3").to(torch.float64))
s_w = torch.linalg.svdvals(W0d)
ans5 = float(s_dw[:32].pow(2).sum() / s_dw.pow(2).sum())
print(f"top-32 energy: ΔW {ans5:.3f} vs W {float(s_w[:32].pow(2).sum() / s_w.pow(2).sum()):.3f} "
      f"(a flat spectrum would give {32 / len(s_dw):.3f})")
assert check_exercise("eigenspace_projections", 5, ans5, W=W0)

# %% [markdown]
# Compare the three printed fractions. The rounding error is *partly* structured — its top 32
# directions hold more than a flat spectrum would (rows with large weights get large rounding
# steps) — but less concentrated than $W$ itself, and most of its energy is spread over the
# remaining directions: a rank-32 plain SVD can remove at most the printed fraction. EoRA does
# better because the *inputs* are far from isotropic: weighted by $C^{1/2}$, the part of
# $\Delta W$ that matters concentrates in fewer directions (the "where the compression error
# lives" plot of the dashboard).
