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
# # Positional encodings for graphs: eigenvectors, their ambiguity, and stable alternatives
#
# A classroom walkthrough of *"On the Stability of Expressive Positional Encodings for Graph
# Neural Networks"* (Huang et al., ICLR 2024, "SPE") with the `spectral_explorer` library.
#
# **Learning goals.** After this notebook you can
#
# 1. explain why the eigenvectors of a graph Laplacian are natural *positional encodings*
#    (PE) — the graph's Fourier basis, generalising the sinusoids of the Transformer;
# 2. name the two ambiguities of Laplacian PE (sign flips; rotations inside a repeated
#    eigenvalue) and exhibit them on the cycle $C_{16}$ and the hypercube $Q_4$;
# 3. measure the **instability** of raw eigenvectors: a change of $10^{-6}$ in one edge weight
#    moves them by $O(1)$;
# 4. build invariant features — eigenspace projectors, SignNet, SPE's soft partition
#    $V \operatorname{diag}(\varphi_\ell(\lambda)) V^\top$ — and say which ambiguity each
#    one removes and whether it is stable;
# 5. compute random-walk PE (RWPE), show that sinusoidal PE *are* cycle-graph eigenvectors,
#    and compute PE for many graphs at once;
# 6. train a GNN to count cycles with each encoding, live, and read the result.
#
# Everything runs on a laptop CPU. Set `SPECTRAL_EXPLORER_QUICK=1` before starting Jupyter
# for a small, fast version (the tests run the notebook that way). The paper-size tables come
# from `spectral-explorer reproduce positional-encodings`.

# %%
import math
import os
import time

import holoviews as hv
import ipywidgets as widgets
import networkx as nx
import numpy as np
import pandas as pd
import panel as pn
import torch
from IPython.display import display

import spectral_explorer
from spectral_explorer.eigen import eigenvalue_groups
from spectral_explorer.graphs import named_graph
from spectral_explorer.positional_encodings import (
    as_adjacency, batched_laplacian_pe, batched_random_walk_pe, eigenspace_projectors, laplacian_pe,
    laplacian_pe_eig, normalized_laplacian, pe_stability, random_walk_pe, signnet_features,
    sinusoidal_cycle_coefficients, sinusoidal_pe)
from spectral_explorer.reproduce.positional_encodings import run_stability, spe_encoder
from spectral_explorer.spe import ENCODINGS, SPE
from spectral_explorer.substructures import count_cycles, cycle_count_datasets, random_graphs, train
from spectral_explorer.explorers import notebook_setup

notebook_setup()  # HoloViews + Panel, every script and stylesheet inline (works offline)

QUICK = os.environ.get("SPECTRAL_EXPLORER_QUICK", "0") == "1"
# cycle-counting data and training (section 10); quick mode is a smoke run, not a result
N_TRAIN, N_TEST, N_OOD = (48, 16, 16) if QUICK else (300, 100, 100)
EPOCHS = 3 if QUICK else 12
N_BATCH = 64 if QUICK else 1000  # graphs in the batched-computation demo
print(f"spectral_explorer {spectral_explorer.__version__} on {spectral_explorer.default_device()}; QUICK={QUICK}")


def full_eig(G):
    """All eigenpairs of the normalized Laplacian of a networkx graph (ascending)."""
    return torch.linalg.eigh(normalized_laplacian(as_adjacency(G)))


# %% [markdown]
# ## 1. Laplacian eigenvectors as positional encodings
#
# A Transformer tells tokens apart by adding a *position* vector to each one. A graph has
# no left-to-right order, but it has a Laplacian. For the symmetric normalized Laplacian
#
# $$L = I - D^{-1/2} A D^{-1/2}, \qquad L v_j = \lambda_j v_j, \quad 0 = \lambda_0 \le \lambda_1 \le \dots \le 2,$$
#
# the eigenvectors with small $\lambda_j$ vary slowly along edges (low frequencies), the ones
# with large $\lambda_j$ oscillate fast. **Laplacian PE** (LapPE) gives node $i$ the vector
# $(v_1(i), \dots, v_k(i))$ — the first $k$ non-trivial eigenvectors, skipping the constant-like
# $v_0$. On a grid the first ones look like the cosine modes of a drum:

# %%
grid = named_graph("grid", rows=8, n=8)  # the dashboard's graph catalogue (spectral_explorer.graphs)
pe_grid = laplacian_pe(grid, 6)  # (64, 6), signs fixed: largest-magnitude entry positive
hv.Layout([hv.Image(pe_grid[:, j].reshape(8, 8).numpy(), bounds=(0, 0, 8, 8), label=f"v{j + 1}")
           .opts(cmap="RdBu_r", width=170, height=170, xaxis=None, yaxis=None, symmetric=True)
           for j in range(6)]).cols(6)

# %% [markdown]
# ## 2. Non-uniqueness: sign flips and rotations
#
# If $Lv = \lambda v$ then also $L(-v) = \lambda(-v)$: **every eigenvector has an arbitrary
# sign**. Worse, when an eigenvalue is repeated (multiplicity $m > 1$) only its eigenspace is
# determined: any orthonormal basis $V_\lambda Q$ with $Q$ an $m\times m$ orthogonal matrix
# is an equally valid answer. Symmetric graphs are full of repeated eigenvalues. The cycle
# $C_{16}$ has eigenvalues $1-\cos(2\pi m/16)$, each (but $0$ and $2$) twice; the hypercube
# $Q_4$ has $2j/4$ with multiplicity $\binom{4}{j}$:

# %%
C16, Q4 = named_graph("cycle", n=16), nx.convert_node_labels_to_integers(named_graph("hypercube", dim=4))
for name, G in (("C16", C16), ("Q4", Q4)):
    lam = full_eig(G)[0].numpy()
    groups = eigenvalue_groups(lam, tol=1e-8)  # [start, end) of each repeated eigenvalue
    print(f"{name}: " + ", ".join(f"{lam[a]:.3f}×{b - a}" for a, b in groups))

# %% [markdown]
# Rotate the first eigenspace of $C_{16}$ by an angle $\theta$: the result still satisfies
# the eigen-equation to machine precision, but the encoding of every node changes.

# %%
lam16, V16 = laplacian_pe_eig(C16, 2)  # λ_1 = λ_2: one 2-D eigenspace
L16 = normalized_laplacian(as_adjacency(C16))


def rotate(V, theta):
    c, s = math.cos(theta), math.sin(theta)
    return V @ torch.tensor([[c, -s], [s, c]], dtype=V.dtype)


for theta in (0.0, 0.3, 1.0):
    W = rotate(V16, theta)
    residual = float((L16 @ W - W * lam16).abs().max())
    print(f"θ = {theta:.1f}: max |L w − λ w| = {residual:.1e}, node 0 encoded as {W[0].numpy().round(3)}")

# %% [markdown]
# A second way to see it: relabel the nodes of $Q_4$ and recompute. A good encoding would
# simply be permuted along with the nodes (*equivariance*). The eigensolver instead returns a
# different basis of the repeated eigenspaces, so the encodings of the same node differ:

# %%
perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))
A_q4 = as_adjacency(Q4)
pe_q4 = laplacian_pe(A_q4, 4)
pe_q4_perm = laplacian_pe(A_q4[perm][:, perm], 4)  # node i of the new graph is node perm[i]
print("max |PE(permuted graph) − permuted PE| =", f"{float((pe_q4_perm - pe_q4[perm]).abs().max()):.3f}")
P_a = eigenspace_projectors(*laplacian_pe_eig(A_q4, 4))[0][1]
P_b = eigenspace_projectors(*laplacian_pe_eig(A_q4[perm][:, perm], 4))[0][1]
print("max |projector(permuted graph) − permuted projector| =", f"{float((P_b - P_a[perm][:, perm]).abs().max()):.1e}")

# %% [markdown]
# The second line already hints at the cure (section 4): the projector onto the eigenspace
# does not care which basis the solver picked.
#
# ## 3. Instability: a tiny edge change rotates an eigenspace
#
# Ambiguity is about *exactly* repeated eigenvalues; instability is its consequence for
# *nearly* repeated ones. Add $\varepsilon = 10^{-6}$ to the weight of one edge of $C_{16}$:
# each eigenvalue pair splits by about $10^{-6}$, and the solver must now pick the one basis
# that diagonalises the perturbed graph — which has nothing to do with the basis it picked
# before. Here is $V_0^\top V_1$ on the first eigenspace (identity = nothing moved):

# %%
eps = 1e-6
A1 = as_adjacency(C16).clone()
A1[0, 1] += eps
A1[1, 0] += eps
_, V_before = laplacian_pe_eig(as_adjacency(C16), 2)
lam_after, V_after = laplacian_pe_eig(A1, 2)
overlap = (V_before.T @ V_after).numpy()
angle = math.degrees(math.atan2(overlap[1, 0], overlap[0, 0]))
print("V_beforeᵀ V_after =\n", overlap.round(4))
print(f"λ_1, λ_2 after: {lam_after.numpy()}, split {float(lam_after[1] - lam_after[0]):.1e}; "
      f"the basis turned by about {abs(angle):.0f}°")

# %% [markdown]
# `pe_stability` turns this into a number: $\|\mathrm{PE}(G') - \mathrm{PE}(G)\|_F \,/\,
# \|L(G') - L(G)\|_F$, for the raw eigenvectors, the hard eigenspace projectors, the projector
# onto the span of all $k$ vectors, and an SPE network (here untrained, with fixed random
# weights). `run_stability` sweeps $\varepsilon$ (one edge weight) and adds random edge flips;
# it is the stability table of `spectral-explorer reproduce positional-encodings`.

# %%
stab = pd.DataFrame(run_stability(quick=True))
sweep = stab[stab["mode"] == "edge_weight"]
display(sweep[["eps", "delta_L", "raw", "projectors", "subspace", "spe", "eigengap"]])
hv.Overlay([hv.Curve((sweep["eps"], sweep[c]), "ε (edge weight change)", "‖ΔPE‖ / ‖ΔL‖", label=c)
            .opts(logx=True, logy=True) for c in ("raw", "projectors", "subspace", "spe")]
           ).opts(width=600, height=320, legend_position="right", title="C16, k = 8")

# %% [markdown]
# Read the plot:
#
# * **raw** eigenvectors: the ratio grows like $1/\varepsilon$ — the change of the PE stays
#   $O(1)$ however small the change of the graph. No Lipschitz constant exists.
# * **subspace**: the projector onto $\mathrm{span}(v_1..v_8)$ is stable, with a constant of
#   about $1/\text{eigengap}$ (Davis–Kahan): $\lambda_9 - \lambda_8 \approx 0.38$ is not small.
# * **projectors** per eigenspace: stable while the split stays below the grouping tolerance
#   ($10^{-6}$), then they jump — a rank-2 projector suddenly becomes two rank-1 ones.
# * **spe**: flat, small, independent of $\varepsilon$: stability by construction (section 6).
#
# Random edge flips (a bigger, discrete change) give moderate ratios for everyone:

# %%
stab[stab["mode"] == "edge_flip"].groupby("n_flips")[["delta_L", "raw", "projectors", "spe"]].mean()

# %% [markdown]
# ## 4. Projectors: invariant features
#
# For an eigenspace with orthonormal basis $V_\lambda$ (columns), the orthogonal projector
# $P_\lambda = V_\lambda V_\lambda^\top$ is the same for every basis: $(V_\lambda Q)(V_\lambda
# Q)^\top = V_\lambda Q Q^\top V_\lambda^\top = P_\lambda$. So projectors remove sign *and*
# basis ambiguity. Their weakness is the *hard* grouping: deciding which eigenvalues are
# "equal" needs a tolerance, and a cluster that splits makes the features jump (section 3).

# %%
projs = eigenspace_projectors(lam16, V16)
projs_rot = eigenspace_projectors(lam16, rotate(V16, 1.0))
print(f"{len(projs)} group(s); max |P(V) − P(VQ)| = {float((projs[0][1] - projs_rot[0][1]).abs().max()):.1e}")
hv.Image(projs[0][1].numpy(), bounds=(0, 0, 16, 16), label="P for λ₁ = λ₂ on C16: circulant, cos(2π(i−j)/16)/8"
         ).opts(cmap="RdBu_r", symmetric=True, width=330, height=300, colorbar=True)

# %% [markdown]
# ## 5. SignNet: invariance to signs (not to rotations)
#
# SignNet (Lim et al., 2022) feeds each eigenvector through a network $f$ twice, with both
# signs, and adds: $f(v) + f(-v)$ is unchanged when $v \to -v$. A second network $\rho$
# combines the $k$ results. It fixes the sign ambiguity but not the basis ambiguity of a
# repeated eigenvalue, and it is no more stable than the eigenvectors it reads.

# %%
torch.manual_seed(0)
f = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4)).double()


def signnet_demo(V):
    return signnet_features(V[..., None], f)  # f acts on each entry of each eigenvector: (n, k, 4)


with torch.no_grad():
    base = signnet_demo(V16)
    flipped = signnet_demo(V16 * torch.tensor([-1.0, 1.0], dtype=V16.dtype))
    rotated = signnet_demo(rotate(V16, 1.0))
print(f"after a sign flip : max change {float((base - flipped).abs().max()):.1e}")
print(f"after a rotation  : max change {float((base - rotated).abs().max()):.1e}")

# %% [markdown]
# ## 6. SPE: a *soft* partition of the spectrum
#
# SPE replaces the hard grouping of projectors by smooth weights. In words: pick $m$ smooth
# functions $\varphi_1..\varphi_m$ of the eigenvalue (a small MLP). For each one, weigh every
# eigenvector by $\varphi_\ell$ of its eigenvalue and sum the outer products:
#
# $$Z_\ell = V \operatorname{diag}(\varphi_\ell(\lambda)) V^\top = \sum_j \varphi_\ell(\lambda_j)\, v_j v_j^\top ,
# \qquad \mathrm{SPE}(V,\lambda) = \rho\big(Z_1, \dots, Z_m\big).$$
#
# * Equal eigenvalues get equal weights, so each $Z_\ell$ is a weighted sum of projectors:
#   **sign- and basis-invariant**.
# * Nearby eigenvalues get *nearly* equal weights (φ is Lipschitz), so when a pair splits by
#   $\varepsilon$ the $Z_\ell$ move by $O(\varepsilon)$: **stable** — no tolerance to choose.
# * $\rho$ is a permutation-equivariant network that reads the $m$ matrices as $m$ edge
#   channels of a complete graph and outputs one vector per node.
#
# The functions $\varphi_\ell$ of an untrained SPE, and the invariances checked numerically:

# %%
spe = SPE(m=4, d_out=4).double().eval()
lam_grid = torch.linspace(0, 2, 201, dtype=torch.float64)[:, None]
with torch.no_grad():
    phi = spe.phi(lam_grid)
display(hv.Overlay([hv.Curve((lam_grid[:, 0], phi[:, l]), "λ", "φ_ℓ(λ)", label=f"φ{l + 1}") for l in range(4)])
        .opts(width=500, height=260, legend_position="right", title="a soft partition of [0, 2]"))

w_all, V_all = full_eig(C16)
Vq = V_all.clone()
Vq[:, 1:3] = rotate(V_all[:, 1:3], 1.0)  # another basis of the first eigenspace
Vq[:, 3] *= -1  # and a sign flip
with torch.no_grad():
    out, out_q = spe(w_all, V_all), spe(w_all, Vq)
    pi = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    w_p, V_p = full_eig(nx.relabel_nodes(C16, {int(pi[i]): i for i in range(16)}))
    out_p = spe(w_p, V_p)
print(f"SPE, other basis + sign flip: max change {float((out - out_q).abs().max()):.1e}")
print(f"SPE, relabelled nodes       : max |SPE(πG) − π SPE(G)| = {float((out_p - out[pi]).abs().max()):.1e}")

# %% [markdown]
# ## 7. Random-walk PE
#
# RWPE skips eigenvectors altogether: node $i$ gets the probabilities that a random walk
# started at $i$ is back at $i$ after $1, 2, \dots, K$ steps, $\big[(D^{-1}A)^t\big]_{ii}$. No
# ambiguity (nothing to choose), stable, cheap — but weaker: on a vertex-transitive graph such
# as $C_{16}$ every node gets the same vector. Return probabilities also see short cycles
# (a triangle makes a 3-step return possible), which helps with counting them.

# %%
lollipop = nx.lollipop_graph(5, 6)
rw = random_walk_pe(lollipop, 8)
print("C16, all nodes equal:", bool(torch.allclose(random_walk_pe(C16, 8), random_walk_pe(C16, 8)[0].expand(16, 8))))
hv.HeatMap([(t + 1, i, float(rw[i, t])) for i in range(rw.shape[0]) for t in range(8)], ["step t", "node"], "P(return)"
           ).opts(cmap="viridis", width=420, height=300, colorbar=True, tools=["hover"],
                  title="RWPE of a lollipop graph (clique 0–4, tail 5–10)")

# %% [markdown]
# ## 8. Sinusoidal encodings are cycle-graph eigenvectors
#
# The Transformer's encodings $\sin(\omega t), \cos(\omega t)$ are the Fourier basis of a line
# of tokens. With the frequencies $\omega_m = 2\pi m/n$ they are *exactly* Laplacian
# eigenvectors of the cycle $C_n$, one sin/cos pair per 2-D eigenspace. The eigensolver returns
# some rotated basis of each pair; `sinusoidal_cycle_coefficients` finds the $2\times2$ matrices
# $C_m$ with $S_m = V_m C_m$ — each is $\sqrt{n/2}$ times a rotation or reflection.

# %%
coeffs, S, Vc, residual = sinusoidal_cycle_coefficients(16, 6)
print(f"max |S − V·blockdiag(C)| = {residual:.1e}")
for m, Cm in enumerate(coeffs, 1):
    print(f"m = {m}: Cmᵀ Cm / (n/2) = {(Cm.T @ Cm / 8).numpy().round(6).tolist()}, det sign {np.sign(float(torch.det(Cm))):+.0f}")
geo = sinusoidal_pe(64, 8)  # the usual geometric frequency ladder, for comparison
hv.Layout([
    hv.Overlay([hv.Curve((np.arange(16), S[:, j]), "node t", "value", label=f"channel {j}") for j in range(4)])
    .opts(width=380, height=250, title="sinusoids with ω = 2πm/16 (cycle eigenvectors)", show_legend=False),
    hv.Image(geo.T.numpy(), bounds=(0, 0, 64, 8), kdims=["position", "channel"]).opts(
        cmap="RdBu_r", width=380, height=250, title="Transformer PE, geometric ladder"),
])

# %% [markdown]
# ## 9. Many graphs at once
#
# A data set of small graphs needs one eigendecomposition per graph. Looping in Python costs
# an interpreter round-trip per graph; `batched_laplacian_pe` groups graphs by size and calls
# one batched `eigh` per group (and `batched_random_walk_pe` batches the matrix powers). The
# output is padded: `(B, N_max, k)` with a node mask.

# %%
graphs = random_graphs(N_BATCH, seed=0)
t0 = time.perf_counter()
loop = [laplacian_pe(G, 4) for G in graphs]
t_loop = time.perf_counter() - t0
t0 = time.perf_counter()
pe_b, mask_b, lam_b = batched_laplacian_pe(graphs, 4, return_evals=True)
t_batch = time.perf_counter() - t0
rw_b, _ = batched_random_walk_pe(graphs, 8)
same_rw = max(float((rw_b[b, :G.number_of_nodes()] - random_walk_pe(G, 8)).abs().max()) for b, G in enumerate(graphs))
subspace_err = max(float((pe_b[b, :len(p)] @ pe_b[b, :len(p)].T - p @ p.T).abs().max())
                   for b, p in enumerate(loop) if float(lam_b[b, 3] - lam_b[b, 2]) > 1e-6
                   and float(laplacian_pe_eig(graphs[b], 5)[0][4] - lam_b[b, 3]) > 1e-6)
print(f"{len(graphs)} graphs: loop {t_loop * 1e3:.0f} ms, batched {t_batch * 1e3:.0f} ms; shapes {tuple(pe_b.shape)}")
print(f"same span of v1..v4 as the loop (graphs with separated eigenvalues): max diff {subspace_err:.1e}; "
      f"RWPE max diff {same_rw:.1e}")

# %% [markdown]
# ## 10. Counting cycles, live
#
# Why care? A message-passing GNN without positional information cannot count cycles (it is
# bounded by the 1-WL test: a 6-cycle and two triangles look alike to it). Below, the same
# GIN is trained to predict the numbers of 3-, 4-, 5- and 6-cycles of random graphs with each
# encoding: `none`, `lappe` (eigenvectors, random sign flips while training), `rwpe`,
# `signnet` and `spe`. Errors are mean absolute errors on standardised counts, on a test set
# like the training set and on an **out-of-distribution** (OOD) set of larger, rewired
# graphs. The curve streams one point per epoch (`hv.streams.Buffer`).
#
# In quick mode the data and training are tiny (a smoke run): the numbers mean nothing. The
# full table is `spectral-explorer reproduce positional-encodings` (minutes on a CPU).

# %%
train_set, test_set, ood_set = cycle_count_datasets(quick=True, seed=0, n_train=N_TRAIN, n_test=N_TEST, n_ood=N_OOD)
print(f"train {len(train_set)}, test {len(test_set)}, OOD {len(ood_set)} graphs; "
      f"example counts {count_cycles(train_set.graphs[0])}")

buffer = hv.streams.Buffer(pd.DataFrame({"epoch": [], "test_mae": [], "ood_mae": [], "encoding": []}),
                           length=100_000, index=False)


def curves(data):
    groups = {enc: hv.Curve(data[data["encoding"] == enc], "epoch", "test_mae") for enc in ENCODINGS}
    return hv.NdOverlay(groups, kdims="encoding").opts(
        hv.opts.Curve(width=600, height=320, tools=["hover"]), hv.opts.NdOverlay(legend_position="right"))


live = hv.DynamicMap(curves, streams=[buffer]).opts(title="test MAE while training", framewise=True)
live

# %%
def stream_to(enc):
    """A training callback that appends each epoch's record to the plot's buffer."""
    def callback(rec):
        buffer.send(pd.DataFrame([{"epoch": rec["epoch"], "test_mae": rec["test_mae"], "ood_mae": rec["ood_mae"],
                                   "encoding": enc}]))
    return callback


histories = {}
for enc in ENCODINGS:
    histories[enc] = train(enc, train_set, test_set, ood_set, epochs=EPOCHS, seed=0, callback=stream_to(enc))
    last = histories[enc][-1]
    print(f"{enc:<8} test MAE {last['test_mae']:.3f}  OOD MAE {last['ood_mae']:.3f}  ({last['seconds']:.1f} s)")

# %%
results = pd.DataFrame([{"encoding": e, "test": h[-1]["test_mae"], "OOD": h[-1]["ood_mae"]}
                        for e, h in histories.items()])
hv.Bars(results.melt("encoding", var_name="set", value_name="MAE"), ["encoding", "set"], "MAE").opts(
    width=600, height=300, tools=["hover"], title="final errors (lower is better)")

# %% [markdown]
# ## 11. Interactive: how far does a perturbation move each encoding?
#
# Panel widgets: choose a graph, $k$ and the size $\varepsilon$ of the edge-weight change;
# the bars show $\|\Delta \mathrm{PE}\| / \|\Delta L\|$ on a log scale. (In a live notebook
# the controls work; try the cycle at $\varepsilon = 10^{-5}$, just past the projectors'
# tolerance.)

# %%
GRAPHS = {"cycle C16": C16, "hypercube Q4": Q4,
          "grid 5×5": nx.convert_node_labels_to_integers(named_graph("grid", rows=5, n=5)),
          "path P16": named_graph("path", n=16)}
graph_w = pn.widgets.Select(name="graph", options=list(GRAPHS), value="cycle C16")
k_w = pn.widgets.IntSlider(name="k", start=1, end=8, value=8)
eps_w = pn.widgets.DiscreteSlider(name="ε", options=[10.0 ** e for e in range(-9, 0)], value=1e-6)
spe_fn = spe_encoder(0)


def stability_bars(graph, k, eps):
    r = pe_stability(GRAPHS[graph], k, eps, spe_fn=spe_fn)
    data = [(c, max(r[c], 1e-12)) for c in ("raw", "projectors", "subspace", "spe")]
    return hv.Bars(data, "encoding", "‖ΔPE‖ / ‖ΔL‖").opts(
        logy=True, ylim=(1e-4, 1e10), width=480, height=300, tools=["hover"],
        title=f"{graph}, k={k}, ε={eps:.0e}, eigengap {r['eigengap']:.3f}")


stability_panel = pn.Column(pn.Row(graph_w, k_w, eps_w), pn.bind(stability_bars, graph_w, k_w, eps_w))
stability_panel

# %% [markdown]
# Widgets can be driven from code too:

# %%
eps_w.value = 1e-5
k_w.value = 2
print(stability_bars(graph_w.value, k_w.value, eps_w.value).opts.get().kwargs["title"])

# %% [markdown]
# ### 11b. A plain ipywidgets control next to a Panel view
#
# `pn.ipywidget(...)` turns a Panel/HoloViews object into an ipywidget, so it can sit beside
# plain `ipywidgets` controls (and work in front-ends that only speak ipywidgets). The slider
# turns the basis of the first eigenspace of $C_{16}$ by $\theta$: the two encodings change
# completely; the projector (right, a read-out of its change) does not move.

# %%
theta_w = widgets.FloatSlider(value=0.0, min=0.0, max=math.pi, step=0.05, description="θ", continuous_update=False)
readout = widgets.HTML()


def basis_view(theta):
    W = rotate(V16, theta)
    return hv.Overlay([hv.Curve((np.arange(16), W[:, j]), "node", "value", label=f"v{j + 1} rotated")
                       for j in range(2)]).opts(width=480, height=260, ylim=(-0.4, 0.4), legend_position="right")


def on_theta(change=None):
    theta = theta_w.value
    basis_pane.object = basis_view(theta)
    dP = float((eigenspace_projectors(lam16, rotate(V16, theta))[0][1] - projs[0][1]).abs().max())
    dV = float((rotate(V16, theta) - V16).norm())
    readout.value = f"θ = {theta:.2f}: ‖ΔV‖_F = <b>{dV:.3f}</b>, max |ΔP| = <b>{dP:.1e}</b>"


basis_pane = pn.pane.HoloViews(basis_view(0.0))
theta_w.observe(on_theta, names="value")
on_theta()
widgets.VBox([theta_w, readout, pn.ipywidget(basis_pane)])

# %%
theta_w.value = 1.0
print(readout.value)

# %% [markdown]
# ## 12. The interactive explorer
#
# `PositionalEncodingExplorer` packages the sections above — graph families, LapPE / RWPE /
# projectors / SPE on the graph, the sign flip and the rotation inside an eigenspace, the
# stability sweep, sinusoids versus cycle eigenvectors, live training (`ex.trainer`, a
# `CycleCountTrainer`) — as one explorer class with **staged caching**: turning the basis (`angle`) or choosing another eigenvector
# (`index`) recomputes only the encoding and projector stages, never the eigendecomposition.
# `ex.panel()` is the full dashboard (the one `panel serve` shows); in a live notebook every
# control works, and `pn.ipywidget(ex.panel())` embeds it among ipywidgets.

# %%
from spectral_explorer.explorers import PositionalEncodingExplorer

ex = PositionalEncodingExplorer(graph="cycle", n=16)
assert not ex.error, ex.error
ex.panel()

# %%
ex.angle = 45.0
print("stages recomputed after moving the angle:", sorted(k for k in ex.timings if k != "total"))
display(pn.pane.Markdown(ex.ambiguity_text()))
display(pn.pane.Markdown(ex.stability_text()))
ex.angle = 0.0

# %% [markdown]
# ## Exercises
#
# 1. **Multiplicities.** Compute the spectrum of the Petersen graph and of a $4\times4$ torus
#    (`nx.grid_2d_graph(4, 4, periodic=True)`). Predict from the multiplicities how many
#    real parameters the eigensolver is free to choose for $k = 4$ LapPE.
# 2. **Eigengap.** Rerun `pe_stability` on the path $P_{16}$ (simple eigenvalues) for
#    $\varepsilon = 10^{-6}$. Is the raw ratio still huge? Relate it to the smallest gap between
#    consecutive eigenvalues among $\lambda_1..\lambda_{k+1}$.
# 3. **Tolerance.** Sweep the `tol` argument of `pe_stability` for $C_{16}$ at
#    $\varepsilon = 10^{-4}$. For which `tol` are the hard projectors stable? What goes wrong
#    with a large `tol` on a graph whose eigenvalues are genuinely close but distinct?
# 4. **SignNet is not enough.** Using `SignNetPE` from `spectral_explorer.spe`, show that
#    rotating the first eigenspace of $C_{16}$ changes its output, while `SPE` does not.
# 5. **SPE's Lipschitz constant.** Train an SPE (section 10, full mode) and rerun the stability
#    sweep with its weights (`spe_fn=lambda w, V: model.pe(w[None], V[None])[0]`). Does
#    training make it less stable? Why could a large φ slope hurt?
# 6. **Which encoding generalises?** With the full settings, compare the OOD error of `lappe`
#    and `spe` over three seeds (`spectral_explorer.substructures.compare_encodings`). Is the
#    difference larger than the seed-to-seed spread?
