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
# # Heat geodesics: distances on a manifold from heat diffusion
#
# A classroom walkthrough of *"A Heat Diffusion Perspective on Geodesic Preserving
# Dimensionality Reduction"* (Huguet et al., NeurIPS 2023) with the `spectral_explorer`
# library. Terms such as heat kernel, resolvent, Varadhan's formula, screened law, Harnack
# σ and classical MDS are in the [glossary](GLOSSARY.md).
#
# **Learning goals.** After this notebook you can
#
# 1. explain heat diffusion on a graph, $H_t = e^{-tL}$, and read a heat kernel column as
#    "where the heat went";
# 2. state Varadhan's formula $-4t\log H_t(x,y) \to d(x,y)^2$, see on a graph where it holds
#    and where it bends, and state its twin for the resolvent (the *screened* law
#    $-\sqrt{s}\log R_s(x,y) \to d(x,y)$) that the library's default uses, on a graph whose
#    conductances are calibrated so that the heat measures length in the units of the data;
#    and run the paper's own configuration by name (`HeatGeodesicEmbedding.paper()`);
# 3. write down the Harnack-regularized heat-geodesic distance and say what its σ term does;
# 4. tell a distance with the right *ranks* (Spearman) from one with the right *shape*
#    (Pearson, log-log slope), and why backward Euler with one step read with the heat law
#    has only the former;
# 5. explain why entries of $H_t$ near 0 turn $\log H_t$ into noise, and measure it for the
#    exact eigendecomposition, a Chebyshev expansion and backward Euler;
# 6. use the library directly (`HeatGeodesicEmbedding`, `heat_kernel`, `select_t_entropy`,
#    `run_method`, `row_spearman`) and through the interactive explorer, from Panel and
#    from plain ipywidgets.
#
# Everything runs on a laptop CPU. Set the environment variable
# `SPECTRAL_EXPLORER_QUICK=1` before starting Jupyter for a small, fast version (the tests
# run the notebook that way). Slow cells say how long they take; the exercises at the end have
# check cells (`check_exercise`) and worked solutions.

# %%
import os
import time

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
import panel as pn
import scipy.sparse as sp
from scipy.special import gammaln

import spectral_explorer
from spectral_explorer import HeatGeodesicEmbedding, data
from spectral_explorer.comparisons import METHODS, run_method
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat import heat_filter, heat_kernel
from spectral_explorer.heat_geodesic import heat_geodesic_distances, select_t_entropy
from spectral_explorer.laplacian import laplacian
from spectral_explorer.mds import classical_mds
from spectral_explorer.metrics import (axis_r2, distance_ratio_by_range, loglog_slope, pairwise_distances,
                                       row_pearson, row_spearman)
from spectral_explorer.exercises import check_exercise
from spectral_explorer.explorers import ipywidget, notebook_setup

notebook_setup()  # HoloViews + Panel, every script and stylesheet inline (works offline)

QUICK = os.environ.get("SPECTRAL_EXPLORER_QUICK", "0") == "1"
N = 400 if QUICK else 1500  # points on the Swiss roll
KNN = 5 if QUICK else 8  # neighbours of the alpha-decay graph (fewer points need fewer)
NOISE = 0.1
SEED = 0
print(f"spectral_explorer {spectral_explorer.__version__} on {spectral_explorer.default_device()}; "
      f"QUICK={QUICK}, N={N}, KNN={KNN}")

# %% [markdown]
# ## 1. Data with a known geodesic distance
#
# The Swiss roll is a rectangle rolled up in 3-D. Points that are close in space
# (neighbouring layers of the roll) can be far apart along the surface, so Euclidean
# distances lie about the geometry. Because we generated the roll ourselves, the *true*
# geodesic distance is known: it is the Euclidean distance in the unrolled coordinates
# (arc length along the spiral, height). `data.swiss_roll` returns both.

# %%
ds = data.swiss_roll(N, noise=NOISE, seed=SEED)
truth = ds.geodesic_distances()  # (N, N) ground-truth geodesic distances
print(ds.X.shape, truth.shape, f"max geodesic distance {truth.max():.1f}")

opts = dict(color="c", cmap="viridis", size=4, width=300, height=300, tools=["hover"])
hv.Layout([
    hv.Points((ds.X[:, 0], ds.X[:, 2], ds.color), ["x (data units)", "z (data units)"], ["c"],
              label="roll seen from the side").opts(**opts),
    hv.Points((ds.X[:, 0], ds.X[:, 1], ds.color), ["x (data units)", "y (data units)"], ["c"],
              label="roll seen from above").opts(**opts),
    hv.Points((ds.latent[:, 0], ds.latent[:, 1], ds.color), ["arc length (data units)", "height (data units)"], ["c"],
              label="unrolled (ground truth)").opts(**opts),
]).cols(3)

# %% [markdown]
# ## 2. Heat diffusion on a graph
#
# We connect each point to its nearest neighbours with a PHATE-style **alpha-decay**
# affinity $W_{ij} = \tfrac12\big(e^{-(\|x_i-x_j\|/\sigma_i)^\alpha} + e^{-(\|x_i-x_j\|/\sigma_j)^\alpha}\big)$,
# where $\sigma_i$ is the distance from $x_i$ to its `knn`-th neighbour and the large
# exponent $\alpha$ (`decay=40`) makes the weight fall from 1 to 0 sharply just beyond that
# neighbour — a kNN graph with soft edges. Then we form the symmetric normalized Laplacian $L = I - D^{-1/2} W D^{-1/2}$, whose
# eigenvalues lie in $[0, 2]$. The heat equation on the graph,
#
# $$\frac{\partial u}{\partial t} = -L u, \qquad u(0) = \delta_x,$$
#
# has the solution $u(t) = H_t \delta_x$ with the **heat kernel**
#
# $$H_t = e^{-tL} = \sum_k e^{-t\lambda_k}\, \phi_k \phi_k^\top .$$
#
# Column $x$ of $H_t$ is the heat that started as a unit spike at $x$, after time $t$.
# Heat spreads *along the graph*, so it follows the surface of the roll instead of jumping
# between layers. Below: one source, three times (colour = $\log_{10}$ of the heat).

# %%
W = alpha_decay_graph(ds.X, knn=KNN, decay=40.0)
L = laplacian(W, "normalized")
source = int(np.argmin(ds.color))  # the innermost point of the roll
spike = np.zeros(N)
spike[source] = 1.0

heat_plots = []
for t in (2.0, 20.0, 200.0):
    u = heat_kernel(L, t, spike, method="euler").numpy().ravel()
    heat_plots.append(
        hv.Points((ds.latent[:, 0], ds.latent[:, 1], np.log10(np.maximum(u, 1e-300))),
                  ["arc length (data units)", "height (data units)"], ["log10 heat"], label=f"t = {t:g}")
        .opts(color="log10 heat", cmap="inferno", size=4, width=300, height=250, colorbar=True)
    )
hv.Layout(heat_plots).cols(3)

# %% [markdown]
# ## 3. Varadhan's formula: from heat to distance
#
# On a Riemannian manifold the heat kernel behaves for small $t$ like a Gaussian in the
# geodesic distance, $H_t(x,y) \approx (4\pi t)^{-d/2} e^{-d(x,y)^2/4t}$. Taking logs,
# **Varadhan's formula** says
#
# $$\lim_{t\to 0} \; -4t \log H_t(x,y) = d(x,y)^2 .$$
#
# In words: *the less heat arrives, the farther away you are*, and the logarithm turns
# "how much heat" into "how far". So $-4t\log H_t$ plotted against $d^2$ should be a
# straight line: its slope is the conversion between graph units and true units squared,
# its intercept $-4t\log H_t(x,x)$ the "self-distance" that section 4 removes.
#
# Check it with a kernel that obeys the law: the exact $e^{-tL}$ at a moderate $t = 10$,
# one column (heat from one source), computed two ways:
#
# * by the eigendecomposition, $V e^{-t\Lambda}V^\top$ — accurate to about $10^{-16}$ in
#   *absolute* terms;
# * by the positive series $e^{-tL} = e^{-t}\sum_m \frac{t^m}{m!} A^m$ with
#   $A = I - L = D^{-1/2}WD^{-1/2} \ge 0$: every term is nonnegative, so nothing cancels and
#   every entry is accurate *relative to itself*, however small (we sum the terms in the log
#   domain).

# %%
t_v = 10.0
A_walk = (sp.eye(N) - L).tocsr()
A_walk.data = np.clip(A_walk.data, 0.0, None)  # I − L ≥ 0 up to round-off on its diagonal


def log_heat_column(t, src, n_terms=None):
    """log of column src of exp(−tL), summed as nonnegative terms (log-sum-exp over m)."""
    n_terms = n_terms or int(t + 40 * np.sqrt(t) + 300)
    v = np.zeros(N)
    v[src] = 1.0
    logs = []
    for m in range(n_terms + 1):
        if m:
            v = A_walk @ v
        logs.append(np.log(np.maximum(v, 1e-320)) + m * np.log(t) - gammaln(m + 1) - t)
    logs = np.array(logs)
    top = logs.max(axis=0)
    return top + np.log(np.exp(logs - top).sum(axis=0))


eig = np.linalg.eigh(L.toarray())  # reused by every "exact" computation below
log_h_series = log_heat_column(t_v, source)
h_eigh = heat_kernel(L, t_v, spike, method="exact", eig=eig).numpy().ravel()
d2 = truth[source] ** 2
y_series = -4 * t_v * log_h_series
y_eigh = -4 * t_v * np.log(np.clip(h_eigh, 1e-300, None))  # entries ≤ 0 floored, as the library does
near = h_eigh > 1e-8  # well resolved and close to the source: where the law should hold
slope_v, icept_v = np.polyfit(d2[near], y_series[near], 1)
print(f"line through the near pairs (H > 1e-8, {near.sum()} points): -4t log H ≈ {icept_v:.0f} + {slope_v:.2f}·d²")
print(f"eigendecomposition: {np.mean(h_eigh < 1e-15):.0%} of the column below 1e-15 (round-off), "
      f"{np.mean(h_eigh <= 0):.0%} ≤ 0; positive series: smallest entry 1e{log_h_series.min() / np.log(10):.0f}")
xs = np.linspace(0, d2.max(), 50)
(hv.Scatter((d2, y_eigh), "true geodesic distance²", "−4t log H_t(source, ·)", label="eigendecomposition")
 .opts(color="#d62728", size=3, alpha=0.5)
 * hv.Scatter((d2, y_series), "true geodesic distance²", "−4t log H_t(source, ·)", label="positive series")
 .opts(color="#1f77b4", size=3)
 * hv.Curve((xs, icept_v + slope_v * xs), "true geodesic distance²", "−4t log H_t(source, ·)",
            label="line fitted near the source").opts(color="black", line_dash="dashed")
 ).opts(width=560, height=340, ylim=(0, 1.3 * y_series.max()), legend_position="top_left",
        xlabel="true geodesic distance² (data units²)", ylabel="−4t log H_t(source, ·) (dimensionless)",
        title=f"Varadhan at t = {t_v:g}: exact kernel, one source")

# %% [markdown]
# Read the plot from left to right:
#
# * **near the source** the points follow the line: Varadhan's law holds;
# * **farther out the series bends below the line.** A graph is not a manifold: heat
#   reaches a node $k$ hops away only through walks of at least $k$ steps, and for
#   $k \gg t$ the Poisson weight $e^{-t}t^k/k!$ dominates, so $-\log H \approx
#   k\log(k/et)$ — growing like $d\log d$, not $d^2$ (the graph's *large-deviation* tail).
#   On a manifold the law is a limit $t \to 0$; on a graph that limit is not available (a node
#   $k$ hops away gets heat $\approx t^k/k!$, so $-4t\log H_t \to 0$ for *every* pair as
#   $t \to 0$): the law holds only for distances small against $t$ in steps of the walk, and
#   taking $t$ larger widens the straight part;
# * **the eigendecomposition jumps off** where $H_t$ falls below $\sim 10^{-16}$: those
#   entries are rounding noise (some negative, floored before the log), not heat.
#
# The library does not read $e^{-tL}$ this way by default (the paper does:
# `HeatGeodesicEmbedding.paper()`, §7). Its default kernel is backward Euler (one step on this
# graph, two on the metric graph of §7), and that kernel obeys a different law — section 3b.

# %% [markdown]
# ### 3b. What backward Euler with one step computes, and its own law
#
# One backward-Euler step of the heat equation, $(I + tL)u = u_0$, gives $u = R_t u_0$ with
# the **resolvent** $R_t = (I + tL)^{-1}$, not $e^{-tL}$. It is the Laplace transform of the
# heat kernel, $R_t = \int_0^\infty e^{-s} H_{ts}\,ds$, an average over all times, and its
# entries decay *exponentially* with distance ($\approx e^{-d/\sqrt t}$ on a manifold),
# not like a Gaussian. Read with the heat law, $-4t\log R_t \propto d$ and
# $\sqrt{-4t\log R_t} \propto \sqrt d$: the ranks are right (Spearman ≈ 0.99), the
# *shape* is not — classical MDS of $\sqrt d$-like distances bends the flat roll into an
# arc. The resolvent has its own Varadhan law (the elliptic, *screened Poisson* version): on a
# manifold
#
# $$\lim_{t\to 0}\; -\sqrt{t}\,\log R_t(x, y) = d(x, y),$$
#
# with no square root. On a graph $t \to 0$ is again the wrong limit — the walk needs whole
# edges, and on a chain of spacing $h$ the law reads $\sqrt t\,\mathrm{arccosh}(1 + h^2/2t)$
# per edge, $0.46h$ at $t = 0.01h^2$ — so it holds for $h^2 \ll t \ll$ diameter², and §7
# shows how the default divides the graph's factor out. Below: the same kernel read both ways,
# against the truth (log-log slope 1 = proportional to the geodesic, ½ = like $\sqrt d$).

# %%
t_r = 10.0
R_col = heat_kernel(L, t_r, spike, method="euler").numpy().ravel()
mask = truth[source] > 0
read = {
    "heat law √(−4t log R)": np.sqrt(np.maximum(-4 * t_r * np.log(R_col), 0.0)),
    "screened law −√t log(R / R_ss)": -np.sqrt(t_r) * np.log(R_col / R_col[source]),
}
plots = []
for name, dist in read.items():
    s_ = np.polyfit(np.log(truth[source][mask]), np.log(dist[mask]), 1)[0]
    plots.append(hv.Scatter((truth[source], dist), "true geodesic distance (data units)", "estimate (graph units)")
                 .opts(size=3, width=330, height=280, title=f"{name}\nlog-log slope {s_:.2f}"))
hv.Layout(plots).cols(2)

# %% [markdown]
# That is how the library reads its kernels: `method="euler"`, `formula="screened"` (chosen by
# `formula="auto"` for Euler kernels), $\sigma = 1$. On this alpha-decay graph with one step and
# $t = 10$ it is `HeatGeodesicEmbedding.affinity()`; the default runs the same law on a metric
# graph (§7). The older default — the same kernel read with the heat law at $t = 50$, σ = 0 — is
# kept as `HeatGeodesicEmbedding.rank_faithful()`: "rank-faithful, fastest"; section 7 puts the
# embeddings side by side.

# %% [markdown]
# ## 4. The Harnack-regularized heat-geodesic distance
#
# The paper adds a volume correction. The $(4\pi t)^{-d/2}$ prefactor, and more generally
# the local geometry, changes $H_t(i,i)$ from point to point: by the Harnack inequality
# (Li–Yau), $H_t(x,x) \approx 1/V(x,\sqrt t)$, the inverse volume of the ball of radius
# $\sqrt t$ around $x$. The **heat-geodesic distance** is
#
# $$d_{ij}^2 = -4t\log H_t(i,j) \;+\; \sigma\cdot 4t\,\log\!\Big(\tfrac12\big(H_t(i,i)+H_t(j,j)\big)\Big),$$
#
# clipped at 0. With $\sigma = 0$ it is plain Varadhan, and every point sits at distance
# $\sqrt{-4t\log H_t(i,i)}$ from itself — largest where the self-heat $H_t(i,i)$ is
# *small*, i.e. where the ball $V(i,\sqrt t)$ is large — an offset that is added to all of
# its distances. With $\sigma = 1$ that self-heat is subtracted, so
# $d_{ii}^2 = -4t\log H_t(i,i) + 4t\log H_t(i,i) = 0$ exactly; values in between trade the
# two. The screened law takes the same term, $d_{ij} = \sqrt{t}\,(-\log R_{ij} + \sigma\log
# \tfrac12(R_{ii}+R_{jj}))$. The library's pure function
# `heat_geodesic_distances(L, t, sigma, method, formula=...)` computes either for all pairs
# (or from landmarks). Let's see how σ affects the distances against the truth: the row-wise
# Spearman correlation, averaged over points (the paper's benchmark, blind to any monotone
# rescaling), the row-wise Pearson correlation and the log-log slope (which see the shape).

# %%
rows = []
for sigma in (0.0, 0.5, 1.0, 2.0):
    D = heat_geodesic_distances(L, 10.0, sigma=sigma, method="euler")  # formula "auto" → screened
    rows.append({"sigma": sigma, "spearman": row_spearman(D, truth), "pearson": row_pearson(D, truth),
                 "log-log slope": loglog_slope(D, truth)})
pd.DataFrame(rows).round(4)

# %% [markdown]
# On this uniformly sampled roll σ barely changes the *ranking* of distances (Spearman);
# the slope shows the offset: without the self term every distance carries the point's
# self-distance, which flattens the growth (slope well below 1). The volume correction
# matters even more when the sampling density varies — project (a) at the end builds such a
# data set.

# %% [markdown]
# ## 5. Why entries of $H_t$ near 0 make $\log H_t$ noise
#
# Reading distances off $\log H_t$ means reading entries where little heat arrived. At small
# $t$ the heat has not reached most of the graph: most true entries of $H_t$ are
# astronomically small ($e^{-100}$ and less). Double
# precision resolves numbers relative to the *largest* entries it adds up, about
# $10^{-16}$ of them. So:
#
# * **exact** — `eigh` then $V e^{-t\Lambda} V^\top$: mathematically exact, but every entry
#   carries an absolute rounding error of about $10^{-16}$. True entries below that come
#   out as random numbers of size $10^{-17}$, half of them **negative**. $\log$ of those
#   is noise (or undefined).
# * **chebyshev** — a degree-$K$ polynomial in $L$: the truncated series rings around zero,
#   so small entries again come out tiny or negative; and a polynomial of degree $K$ in a
#   sparse $L$ has **exactly zero** entries between nodes more than $K$ hops apart.
# * **euler** — backward Euler, $(I + \tfrac{t}{K}L)^{-K}$: its filter
#   $(1+t\lambda/K)^{-K}$ decays only *polynomially*. It is an M-matrix inverse, so every
#   entry is positive, and distant entries stay above the rounding floor. It is a worse
#   approximation of $e^{-tL}$ — with one step it is the resolvent of section 3b — but
#   $\log H$ stays a smooth, monotone function of graph distance, read with its own law.
#
# First, the three filters as functions of the eigenvalue $\lambda$ (`heat_filter`):

# %%
lam = np.linspace(0, 2, 400)
t_num = 2.0  # a small t: most far entries of exp(−tL) are tiny
curves = [
    hv.Curve((lam, np.abs(heat_filter(lam, t_num, m)) + 1e-300), "eigenvalue λ of L (0…2)", "|filter(λ)| (gain)",
             label=m)
    for m in ("exact", "chebyshev", "euler")
]
hv.Overlay(curves).opts(logy=True, width=500, height=300, legend_position="bottom_left",
                        title=f"exp(−tλ) and its approximations, t = {t_num:g}")

# %% [markdown]
# *Timing: the next cell takes 2–8 s in quick mode, about 2 s in full mode (quiet machine, 2 cores; 5 s on cores
# busy with other work).*
#
# Now the whole kernel on our graph, three ways. We count the entries that are at the
# rounding floor ($\le 10^{-15}$) or not even positive ($\le 0$), and score the resulting
# distances against the truth (each kernel read with its own law: `formula="auto"`).

# %%
rows = []
log_hist = {}
for m in ("exact", "chebyshev", "euler"):
    start = time.perf_counter()
    H = heat_kernel(L, t_num, method=m, eig=eig if m == "exact" else None).numpy()
    D = heat_geodesic_distances(L, t_num, method=m, eig=eig if m == "exact" else None)
    rows.append({
        "method": m,
        "entries <= 1e-15": f"{(H <= 1e-15).mean():.1%}",
        "entries <= 0": f"{(H <= 0).mean():.1%}",
        "smallest entry": f"{H.min():.1e}",
        "spearman": round(row_spearman(D, truth), 4),
        "seconds": round(time.perf_counter() - start, 2),
    })
    log_hist[m] = np.log10(np.abs(H[H != 0]))
numerics = pd.DataFrame(rows).set_index("method")
numerics

# %% [markdown]
# Read the table: a large share of the exact kernel sits at the rounding floor, and about
# half of those entries come out $\le 0$ — pure sign noise, which the library has to floor
# before taking the log, and the Spearman drops. Chebyshev's entries $\le 0$ are mostly its
# exact zeros beyond $K$ hops (all tied at the largest distance). Euler has none.
#
# The histogram of $\log_{10}|H_t(i,j)|$ (zeros left out) shows it: exact and Chebyshev
# pile up at the rounding floor ($10^{-16}$ to $10^{-20}$), where sign and size are noise;
# Euler's entries spread smoothly down to much smaller values, all of them positive.

# %%
hists = []
for m, v in log_hist.items():
    freq, edges = np.histogram(v, bins=60, range=(-40, 0))
    hists.append(hv.Histogram((edges, freq), kdims="log10 |H_t(i,j)|", vdims="count", label=m).opts(alpha=0.5))
hv.Overlay(hists).opts(width=520, height=300, legend_position="top_left")

# %% [markdown]
# How does this play out over $t$? For large $t$ the kernel is well resolved for every
# method; as $t$ shrinks, exact and Chebyshev lose the far entries first. *Timing (2 shared CPU cores): 3–12 s in quick mode (N = 400, 5 times);
# about 13 s in full mode (N = 1500, 8 times; measured on a quiet machine, 29 s at load 6–7).*

# %%
t_grid = np.geomspace(1.0, 200.0, 5 if QUICK else 8)
sweep = []
for t in t_grid:
    for m in ("exact", "chebyshev", "euler"):
        D = heat_geodesic_distances(L, t, method=m, eig=eig if m == "exact" else None)
        sweep.append({"t": t, "method": m, "spearman": row_spearman(D, truth)})
sweep = pd.DataFrame(sweep)
hv.Overlay([hv.Curve(g, "t", "spearman", label=m) * hv.Scatter(g, "t", "spearman")
            for m, g in sweep.groupby("method")]).opts(
    hv.opts.Curve(logx=True, width=520, height=300), hv.opts.Scatter(logx=True, size=6),
    hv.opts.Overlay(legend_position="bottom_right", title="distance quality vs diffusion time",
                    xlabel="diffusion time t", ylabel="row-mean Spearman ρ vs truth"))

# %% [markdown]
# ## 6. Choosing $t$: the knee of the entropy curve
#
# `select_t_entropy(L)` normalizes heat columns to probability distributions and tracks
# their Shannon entropy as $t$ grows. Entropy rises while heat spreads locally and
# saturates once it covers the graph. The **entropy knee** is the $t$ where the curve,
# drawn against $\log t$, lies farthest above the straight chord joining its two ends: the
# bend between "still spreading" and "already everywhere". This is what
# `HeatGeodesicEmbedding(t="auto")` uses (the default is a fixed $t$: 0.2 on the estimator's metric graph of §7;
# the alpha-decay graph of these sections uses $t = 10$). `t="paper"` is the paper's rule: the knee among 10 times
# evenly spaced from 0.05 to 200, on a linear axis.

# %%
t_knee, t_entropy_grid, entropy = select_t_entropy(L)
(hv.Curve((t_entropy_grid, entropy), "diffusion time t", "mean entropy of the heat columns").opts(
    logx=True, width=520, height=300)
 * hv.VLine(t_knee).opts(color="red", line_dash="dashed")).opts(title=f"knee at t ≈ {t_knee:.1f}")

# %% [markdown]
# ## 7. The estimator: `HeatGeodesicEmbedding`
#
# The estimator follows scikit-learn's conventions: `__init__` stores arguments, `fit`
# builds the graph, picks $t$, computes distances and embeds them with classical MDS, and
# sets attributes ending in `_`. Above 5000 points it switches to **landmark MDS** (de Silva
# & Tenenbaum): heat only from $m$ farthest-point *landmarks*, classical MDS of the
# $m \times m$ landmark distances, then every other point placed by triangulation from its
# distances to the landmarks — $n \times m$ work instead of $n \times n$.
#
# **The default graph is metric.** Sections 2–6 used the alpha-decay graph with the normalized
# Laplacian: its heat moves one *hop* per unit of time, whatever the hop's length, so the distances
# count hops. The estimator's default keeps the kNN edges but gives them **conductances**
# $c_{ij} = 2\hat m / \big((\ell_{ij}/\bar\ell)^2\,\overline{\deg}_{ij}\big)$ ($\ell_{ij}$ the edge's length, $\bar\ell$ the
# median edge length, $\overline{\deg}_{ij}$ the mean number of edges at its two ends, $\hat m$ the intrinsic
# dimension) and uses the combinatorial Laplacian $D - C$. Why these: on a smooth $f$,
# $(Lf)_i \approx -\tfrac12\sum_j c_{ij}\,(x_j - x_i)^\top \nabla^2 f\,(x_j - x_i)$, and when a node's neighbour
# directions spread evenly over $m$ dimensions, $\sum_j c_{ij}(x_j-x_i)(x_j-x_i)^\top$ is
# $\tfrac1m\sum_j c_{ij}\ell_{ij}^2$ times the identity on the tangent space. The calibration makes
# $\sum_j c_{ij}\ell_{ij}^2 = 2\hat m\,\bar\ell^2$ at every node, so $L \approx -\bar\ell^2\Delta$, the Laplace–Beltrami
# operator, whatever `knn` and the dimension. ($\hat m = 1/\overline{\cos^2\theta}$ over pairs of neighbour
# directions, `graphs.intrinsic_dimension`: $\mathbb E\cos^2\theta = 1/m$ in $m$ dimensions.) Plain conductances
# $(\bar\ell/\ell_{ij})^2$ give $L \approx (\deg/2m)(-\bar\ell^2\Delta)$ instead: distances shrink by $\sqrt{\deg/2m}$, about
# 0.55 at knn 10 in 2-D, and the factor moves with knn.
#
# One more factor is the graph's own: the screened law misreads a length by $\sqrt s\,\mu$ (below 1 at small $s$), where $\mu$ is the
# decay rate of the graph's resolvent (on a chain of spacing $h$, $\sqrt s\,\mathrm{arccosh}(1+h^2/2s)/h$). The
# estimator measures $\mu$ on its graph (`graphs.screening_decay`) and divides it out, so `distances_` are in the
# units of the data at every $t$ ($t$ in units of $\bar\ell^2$, default 0.2 with two Euler steps;
# `distance_scale_` is the factor applied). `python benchmarks/heat_units.py` measures estimate / truth per range of
# the true distance on flat 2-D and 3-D samples at knn 5, 10 and 20. What is left is the Green function's power-law
# prefactor, $((m+1)/2 - K)\sqrt s\log d$, small at this $s$.
#
# Below, four estimators on the same points: the default; `affinity()` (the alpha-decay graph, the default before);
# `rank_faithful()` (the older one); and `paper()`, the heat-geodesic paper's own configuration (alpha-decay graph,
# knn 10, a Chebyshev heat kernel read with the heat law, σ = 0, the paper's τ knee, metric MDS weighted by
# $D^{-2}$; its distances agree with the authors' `heatgeo` package, `benchmarks/heatgeo_peer.py`). The scores:
# row-mean Spearman (ranks) and Pearson (shape) of the embedding's distances against the truth, the log-log slope of
# the distances, and the median of distance / truth over the middle pairs (1 = the units of the data).

# %%
shape_est = HeatGeodesicEmbedding(n_components=2, knn=KNN).fit(ds.X)   # knn 10 suits 1000+ points; fewer here
hop_est = HeatGeodesicEmbedding.affinity(n_components=2, knn=KNN).fit(ds.X)
rank_est = HeatGeodesicEmbedding.rank_faithful(n_components=2, knn=KNN).fit(ds.X)
paper_est = HeatGeodesicEmbedding.paper(n_components=2).fit(ds.X)      # the paper's knn 10
hge = shape_est
print("t_ =", round(hge.t_, 2), "| distances_", hge.distances_.shape, "| embedding_", hge.embedding_.shape)
print("heat diagnostics:", hge.heat_info_)
print("seconds per stage:", {k: round(v, 3) for k, v in hge.timings_.items()})
panels = []
for title, est in (("default (metric graph)", shape_est), ("affinity() (alpha graph: hops)", hop_est),
                   ("rank_faithful() (heat law on Euler K=1)", rank_est), ("paper() (the paper's configuration)", paper_est)):
    E = pairwise_distances(est.embedding_)
    units = distance_ratio_by_range(est.distances_, truth)["middle"]
    score = (f"ρ {row_spearman(E, truth):.3f} · r {row_pearson(E, truth):.3f} · "
             f"slope {loglog_slope(est.distances_, truth):.2f} · D/true {units:.2f}")
    panels.append(hv.Points((est.embedding_[:, 0], est.embedding_[:, 1], ds.color),
                            ["MDS dim 1 (distance units)", "MDS dim 2 (distance units)"], ["c"]).opts(
        color="c", cmap="viridis", size=4, width=300, height=270, title=f"{title}\n{score}"))
hv.Layout(panels).cols(2)

# %% [markdown]
# ## 8. Comparison with other methods on the same graph
#
# `run_method(name, X, W)` runs each method of `METHODS` — the graph methods on the same
# alpha-decay graph; Isomap, UMAP and t-SNE build their own neighbourhoods from the points —
# and returns a `MethodResult` with distances, a 2-D embedding and the wall time.
# *Timing (2 CPU cores): 3–7 s in quick mode (no t-SNE, no UMAP); 30 s in full mode on a quiet machine,
# 2.4 minutes at load 6–7 (then t-SNE 79 s, UMAP 31 s, the paper's configuration 13 s).*

# %%
# t-SNE and UMAP are the slowest on two CPU cores; the quick mode skips them
methods = [m for m in METHODS if not (QUICK and m in ("tsne", "umap"))]
results = {}
for name in methods:
    results[name] = run_method(name, ds.X, W, knn=KNN, seed=SEED)
table = pd.DataFrame(
    [{"method": r.name, "spearman": round(row_spearman(r.distances, truth), 4),
      "slope": round(loglog_slope(r.distances, truth), 3),
      "embedding pearson": round(row_pearson(pairwise_distances(r.embedding), truth), 4),
      "seconds": round(r.seconds, 2)}
     for r in results.values()]
).set_index("method")
table

# %%
hv.Layout([
    hv.Points((r.embedding[:, 0], r.embedding[:, 1], ds.color), ["dim 1", "dim 2"], ["c"], label=r.name).opts(
        color="c", cmap="viridis", size=3, width=250, height=230, xaxis=None, yaxis=None)
    for r in results.values()
]).cols(3)

# %% [markdown]
# ### 8b. Heavy noise: the graph decides, and a high ρ is not the right shape
#
# At noise 1.0 the roll's sheets, which are $2\pi$ apart, are joined by a few dozen kNN edges between points that the
# noise pushed toward each other. Every graph distance then takes the shortcut and folds the roll: heat geodesics,
# shortest paths and Isomap alike. No $t$ repairs that, because the kernel only reads the graph.
#
# The heavy-noise option `HeatGeodesicEmbedding.denoising()` changes the graph instead, in two steps:
# 1. It moves every point to its heat average $X \leftarrow (I + sL_{rw})^{-1}X$ on the kNN graph, with $s = 3$.
# 2. It keeps only the **mutual** edges of the graph rebuilt on the smoothed points.
#
# On clean data it costs shape (below), so it cannot always be on. The default, `denoise="auto"`, decides without
# any ground truth, from the **residual variance** (Isomap's criterion, `metrics.residual_variance`): $1 - r^2$
# between the distances and the layout's own distances (the layout asked for, never fewer than 2 dimensions). A
# folded graph asks for distances that no plane can draw, so its residual variance is large (0.2–0.3 on the
# folded rolls of `benchmarks/heat_auto_denoise.py`, 0.002–0.004 on clean ones). Each graph is judged by a cheap
# *probe* — its distances from 64 landmarks — and only the graph kept is fitted in full. Above 0.02 the default
# probes the strongest smoothing ($s = 24$) first: if that does not halve the residual variance, the manifold is
# curved or higher-dimensional rather than folded, and the plain graph stays. Otherwise it probes $s$ = 3, 6, 12
# (stopping below 0.02) and keeps the smoothed graph with the smallest residual variance, if it cuts the plain
# graph's by at least 3×. `denoise_report_` lists what each probe scored; `denoise=0` holds the estimator to the
# plain graph. The rule was tuned on 15 cases and checked on 11 others it never saw (the benchmark's
# `--set held-out`).
#
# Below, the three are run on the same noisy roll and scored three ways:
# - row-mean Spearman ρ (ranks);
# - row-mean Pearson r (shape of the distances);
# - `axis_r2`: for each true axis of the flat roll (arc length, height), the share of its variance that the
#   best affine map of the 2-D embedding explains. An embedding that keeps the shape scores 1 on both.
#
# *What to expect (full mode, 1500 points; measured with this code):* the plain graph folds (ρ 0.35, residual
# variance 0.24). The option (on the alpha-decay graph, ρ 0.98) and the default (probes 0.25 plain, 0.02 at
# $s = 24$, 0.007 at $s = 3$: it keeps $s = 3$; ρ 0.985) bring the order along the roll back, but recover only part
# of the height (R² 0.43 and 0.67). ρ and r stay high anyway, because the roll's length (89) dominates its height
# (21) in every average over pairs. With the quick mode's 400 points the strongest smoothing's probe cuts the
# residual variance only from 0.21 to 0.15, less than half, so the default keeps the plain graph after that one
# probe and says so in `denoise_report_` (fitted in full, the best smoothing, $s = 24$, would reach ρ 0.45); the
# option's fixed $s = 3$ leaves the roll folded. *Timing: 4 s in full mode on a quiet machine (40 s on two busy
# cores, load 6); about 5 s in quick mode.*

# %%
noisy = data.swiss_roll(N, noise=1.0, seed=SEED)
noisy_truth = noisy.geodesic_distances()
panels, rows = [], []
for title, est in (("plain graph (denoise=0)", HeatGeodesicEmbedding(knn=KNN, denoise=0)),
                   ("denoising() (heat-smoothed points, mutual graph)", HeatGeodesicEmbedding.denoising(knn=KNN)),
                   ("default (denoise='auto')", HeatGeodesicEmbedding(knn=KNN))):
    Y = est.fit_transform(noisy.X)
    E = pairwise_distances(Y)
    r2 = axis_r2(Y, noisy.latent)   # one R² per true axis: arc length, height
    rows.append({"graph": title, "ρ": round(row_spearman(E, noisy_truth), 3), "r": round(row_pearson(E, noisy_truth), 3),
                 "R² arc length": round(r2[0], 2), "R² height": round(r2[1], 2),
                 "residual variance": round(est.residual_variance_, 3), "s in effect": est.denoise_})
    panels.append(hv.Points((Y[:, 0], Y[:, 1], noisy.color), ["MDS dim 1 (distance units)", "MDS dim 2 (distance units)"],
                            ["c"]).opts(color="c", cmap="viridis", size=3, width=300, height=260,
                                        title=f"{title.split(' (')[0]}: ρ {rows[-1]['ρ']:.2f}, "
                                              f"R² height {rows[-1]['R² height']:.2f}"))
display(pd.DataFrame(rows).set_index("graph"))
print("denoise='auto' tried {s: residual variance}:", {s: round(v, 3) for s, v in est.denoise_report_.items()})
hv.Layout(panels).cols(3)

# %% [markdown]
# Read the table against the pictures. The plain graph folds the roll: ρ is about 0.4, and neither axis can be
# read off the embedding. In full mode the smoothed, mutual graphs unfold the roll's length, but not all of its
# height: the pictures are bands, wider for the default, rather than the rectangle of §7. (In quick mode the roll stays
# folded, as said above.)
#
# So ρ and r (averages over pairs dominated by the roll's length) call it a success, and only the per-axis R² and
# the picture show the missing height. On clean data the option *costs* shape: diffusion also pulls the
# sample's border inward, and on the clean roll of §7 the height's R² falls from about 0.97 (the default; 0.93 on
# the alpha-decay graph) to about 0.33 with the option (full mode).
# That is why the default uses it only where the residual variance says the plain graph folds; on the clean roll
# of §7 the plain graph's probe scores 0.002 and nothing else is tried (full mode).
#
# The dashboard has it as the **denoise** slider, and step 7 of its guided tour walks through this case.

# %% [markdown]
# ## 9. Interactive cells
#
# ### 9a. A Panel widget bound to a function
#
# `pn.bind` ties widgets to a plotting function; in a live notebook, moving the slider
# re-runs only that function. Here the slider sets σ and the view shows the embedding of
# the Harnack-regularized distances (the graph and eigendecomposition are reused).

# %%
sigma_slider = pn.widgets.FloatSlider(name="σ (Harnack)", start=0.0, end=2.0, step=0.25, value=1.0)


def sigma_view(sigma):
    D = heat_geodesic_distances(L, 10.0, sigma=sigma, method="euler")   # the alpha graph of §2–6, t = 10
    Y = classical_mds(D, 2)
    return hv.Points((Y[:, 0], Y[:, 1], ds.color), ["dim 1", "dim 2"], ["c"]).opts(
        color="c", cmap="viridis", size=3, width=380, height=300, xlabel="MDS dim 1 (distance units)",
        ylabel="MDS dim 2 (distance units)",
        title=f"σ = {sigma:g}: Spearman {row_spearman(D, truth):.3f}")


pn.Column(sigma_slider, pn.bind(sigma_view, sigma_slider))

# %% [markdown]
# ### 9b. Plain ipywidgets driving a Panel view
#
# Some front-ends only speak ipywidgets (VS Code, Colab, Voilà). `pn.ipywidget(obj)` wraps
# any Panel object as an ipywidget (this needs `jupyter_bokeh`), so it can sit in an
# `ipywidgets.VBox` next to ordinary controls. Below, an `ipywidgets.FloatLogSlider` sets
# the diffusion time; its observer sends the new `t` to a HoloViews stream, and the
# `DynamicMap` it drives redraws the heat plot *in place* (Bokeh sends the page new data and a
# new title for the plot it already shows) and updates an `ipywidgets.HTML` read-out (the
# resolvent column read with the screened law). One Euler solve per move keeps it snappy.
#
# Two details make this right in every front-end, the classic notebook included. Update in place
# rather than replacing the pane's object: a new plot per move leaves the browser talking about
# the old one, which the kernel has dropped (`UnknownReferenceError`). And embed with
# `spectral_explorer.explorers.ipywidget`, which is `pn.ipywidget` plus one fix: under Run All
# the classic notebook draws the widget only after the next cells have moved the slider, and
# jupyter_bokeh's view would miss those updates (or catch one halfway and read every later one
# wrongly); this one sends updates only once a view exists and gives a new view the current
# figure.

# %%
t_slider = widgets.FloatLogSlider(value=10.0, base=10, min=0, max=2.5, step=0.05, description="t",
                                  continuous_update=False)
readout = widgets.HTML()


def heat_view(t):
    u = heat_kernel(L, t, spike, method="euler").numpy().ravel()
    d = -np.sqrt(t) * np.log(u / u[source])
    rho = pd.Series(d).corr(pd.Series(truth[source]), method="spearman")
    readout.value = f"<b>t = {t:.3g}</b>: Spearman of one heat column vs the truth = {rho:.4f}"
    return hv.Points((ds.latent[:, 0], ds.latent[:, 1], np.log10(np.maximum(u, 1e-300))),
                     ["arc length (data units)", "height (data units)"], ["log10 heat"]).opts(
        color="log10 heat", cmap="inferno", size=4, width=420, height=280, colorbar=True, framewise=True,
        title=f"heat at t = {t:.3g}")


t_stream = hv.streams.Stream.define("DiffusionTime", t=t_slider.value)()
heat_plot = hv.DynamicMap(heat_view, streams=[t_stream])   # one plot, redrawn in place
t_slider.observe(lambda change: t_stream.event(t=change["new"]), names="value")
widgets.VBox([t_slider, readout, ipywidget(heat_plot)])

# %% [markdown]
# Drag the slider — or let code drive it, which is also how you script a widget:

# %%
t_slider.value = 100.0
print(readout.value)

# %% [markdown]
# ## 10. The interactive explorer
#
# `HeatGeodesicExplorer` packages everything above — data, graph, heat kernel, distances,
# embedding, comparisons, numerics — as one `param` class with **staged caching**: each
# stage is keyed on the parameters it depends on, so moving `t` recomputes only the
# distances, the embedding and the metrics, while changing `knn` rebuilds the graph too.
# `ex.panel()` is the full dashboard (the same one `panel serve` shows); in a live notebook
# every control works. Above 1000 points it switches to landmark mode (landmark MDS, as in
# section 7) to stay interactive.

# %%
from spectral_explorer.explorers import HeatGeodesicExplorer

EX_N = 300 if QUICK else 1000
ex = HeatGeodesicExplorer(dataset="swiss_roll", n=EX_N, noise=NOISE, seed=SEED, knn=KNN,
                          compare=["heat_rank_faithful"] if QUICK else ["heat_rank_faithful", "isomap"])
assert not ex.error, ex.error
pd.Series(ex.metrics).to_frame("value")

# %%
ex.panel()

# %% [markdown]
# The staged invalidation is visible in `ex.timings` (the stages that actually ran on the
# last change):

# %%
ex.t = 5.0
print("after t  :", sorted(ex.timings))
ex.knn = KNN + 2
print("after knn:", sorted(ex.timings))
ex.param.update(knn=KNN, t=10.0);  # back to where we were

# %% [markdown]
# Each view is also available on its own, as a HoloViews `DynamicMap` that follows the
# explorer's parameters. Here is the numerics view — the section 5 story for 32 source
# columns at the explorer's current `t` — and the spectrum view, which places the graph's
# eigenvalues on the three filters.

# %%
ex.view_numerics()

# %%
ex.view_spectrum()

# %% [markdown]
# ### 10b. The explorer as an ipywidget, beside plain ipywidgets controls
#
# `ipywidget(...)` (section 9b) turns Panel/HoloViews objects into an ipywidget. Plain
# `ipywidgets` controls below set the explorer's parameters; the views (a Panel object,
# embedded) and an `ipywidgets.HTML` metric read-out follow. This is how the explorer
# lives in a front-end that only speaks ipywidgets.

# %%
ipy_t = widgets.SelectionSlider(options=[v for v in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)], value=10,
                                description="t", continuous_update=False)
ipy_method = widgets.ToggleButtons(options=["euler", "chebyshev", "exact"], value=ex.method, description="method")
ipy_sigma = widgets.FloatSlider(value=ex.sigma, min=0.0, max=2.0, step=0.25, description="σ",
                                continuous_update=False)
ipy_metrics = widgets.HTML()


def show_metrics(*_):
    m = ex.metrics
    ipy_metrics.value = (f"t = {ex.t:g}, method = {ex.method}, σ = {ex.sigma:g} → "
                         f"Spearman heat <b>{m['heat_spearman']:.4f}</b>, embedding "
                         f"<b>{m['embedding_spearman']:.4f}</b>, Pearson embedding {m['embedding_pearson']:.4f}, "
                         f"slope {m['heat_slope']:.2f}, kernel entries ≤ 0: {m['nonpositive_entries']}")


ipy_t.observe(lambda c: setattr(ex, "t", float(c["new"])), names="value")
ipy_method.observe(lambda c: setattr(ex, "method", c["new"]), names="value")
ipy_sigma.observe(lambda c: setattr(ex, "sigma", float(c["new"])), names="value")
ex.param.watch(show_metrics, ["t", "method", "sigma"])  # runs after the explorer recomputes
show_metrics()

explorer_widget = ipywidget(pn.Column(pn.Row(ex.view_heat(), ex.view_distances()), ex.view_embeddings()))
widgets.VBox([widgets.HBox([ipy_t, ipy_sigma]), ipy_method, ipy_metrics, explorer_widget])

# %% [markdown]
# Drive it from code: switch to the exact eigendecomposition at a small `t` and watch the
# kernel entries ≤ 0 appear and the Spearman drop (then switch back).

# %%
ipy_t.value = 2
ipy_method.value = "exact"
print(ipy_metrics.value)
ipy_method.value = "euler"
print(ipy_metrics.value)

# %% [markdown]
# ### 10c. Your own points
#
# `HeatGeodesicExplorer.from_points(X, color=None, name=None, geodesic_distances=None)` puts
# any (n, d) array or tensor in the same explorer (every view; landmarks above 1000 points).
# Without ground truth the metrics are truth-free: trustworthiness and kNN preservation of the
# 2-D embedding against the points, and the residual variance. Here the file the dashboard ships
# as its example (a noisy trefoil knot with a label column), read by the page's upload parser;
# `table()` is the embedding the page downloads as CSV, `as_code()` the script that rebuilds it.

# %%
from spectral_explorer import uploads

with open(uploads.example_path("trefoil_knot.csv"), "rb") as f:
    X_knot, arc, _ = uploads.parse("points", "trefoil_knot.csv", f.read())
mine = HeatGeodesicExplorer.from_points(X_knot, color=arc, name="trefoil_knot.csv", compare=[])
print({k: round(mine.metrics[k], 3) for k in ("trustworthiness", "knn_preservation", "residual_variance")})
mine.table().head()

# %%
print(mine.as_code())

# %% [markdown]
# ## Exercises
#
# Each exercise ends with a check: `check_exercise("heat_geodesics", n, answer, ...)`
# recomputes the reference independently (scipy's `expm`/`expm_multiply` or a dense numpy
# solve, not the library's kernels), prints ✓ or ✗ with a hint, and returns `True`/`False`.
# Worked solutions are in the last section — try first.
#
# 1. **Varadhan's limit.** In section 3, redo the fit for `t_v` ∈ {2, 10, 50}: the slope of the
#    line through the near pairs ($H > 10^{-8}$) of $-4t\log H_t$ against $d^2$. Answer
#    `{2.0: ..., 10.0: ..., 50.0: ...}`; check with `L=L, truth_row=truth[source],
#    source=source`. How far from the source does the straight part reach each time? Explain
#    the trend with the graph's Poisson tail.
# 2. **Precision.** Compute the exact kernel in `float32`: `import torch`, then
#    `H32 = heat_kernel(L, t_num, method="exact", eig=None, dtype=torch.float32).numpy()`.
#    Below which level are its entries noise? Answer the level (a number; its order of magnitude
#    counts); check with `H32=H32`. What happens to the Spearman?
# 3. **Euler steps and laws.** Backward Euler with $K$ steps is `heat_kernel(L, t,
#    method="euler", order=K)`. For $K$ = 1 and 16 measure `loglog_slope` of
#    `heat_geodesic_distances(L, 10.0, 1.0, method="euler", order=K, formula=f)` against the
#    truth for `f` = "screened" and "varadhan". Answer `{1: {"screened": ..., "varadhan": ...},
#    16: {...}}`; check with `L=L, truth=truth`. Which way does each slope move from $K = 1$ to
#    16, and why (hint: the filter $(1+t\lambda/K)^{-K}$ tends to $e^{-t\lambda}$ as $K$
#    grows)?
# 4. **The self-distance σ removes.** With σ = 0 every point sits at distance
#    $\sqrt{-4t\log H_t(i,i)}$ from itself (section 4). Answer the mean of that self-distance
#    over all points for the exact kernel at $t = 10$; check with `L=L`. Compare it with the
#    median true geodesic distance: is the offset negligible?
#
# **Projects (open, no check).** (a) *Harnack σ under uneven sampling*: build a Swiss roll whose
# density varies (keep each point with probability proportional to `ds.color`) and compare
# σ = 0 and σ = 1 with `row_spearman` and `loglog_slope`. (b) *Noise and shortcuts*: find the
# smallest noise at which `run_method("shortest_path", X)` short-circuits the roll (Spearman
# below 0.95) for `knn=8`, and which method in `METHODS` then keeps the highest embedding
# Pearson (full mode: about a minute per noise level without t-SNE and UMAP). (c) *Another
# manifold*: `data.sphere(N, cap=np.pi / 2)` or `data.tree`, rerun sections 6–8: does the
# entropy knee still give a good $t$?

# %%
# your answers here, e.g.
# check_exercise("heat_geodesics", 4, 1.0, L=L)

# %% [markdown]
# ## Solutions
#
# Each solution computes its answer with the notebook's tools, then runs the check (which must
# pass). *Timing: under 1 s in quick mode (N = 400), about 5 s in full mode (N = 1500) on a quiet machine.
# The whole notebook, cell by cell (`python benchmarks/notebook_timing.py notebooks/heat_geodesics.ipynb`, 2 cores,
# load about 1.4): 19 s in quick mode, 84 s in full mode. On cores busy with other work it is several times slower
# (full mode: 360 s at load 6–7, the third exercise alone 63 s).*

# %%
# 1. the slope of −4t log H against d² near the source, for three times
t0 = time.perf_counter()
ans1, reach1 = {}, {}
for t_ex in (2.0, 10.0, 50.0):
    lh = log_heat_column(t_ex, source)
    near_ex = lh > np.log(1e-8)
    ans1[t_ex] = float(np.polyfit(d2[near_ex], -4 * t_ex * lh[near_ex], 1)[0])
    reach1[t_ex] = float(truth[source][near_ex].max())
print("slopes", {t: round(v, 3) for t, v in ans1.items()}, "| farthest pair with H > 1e-8:",
      {t: round(v, 1) for t, v in reach1.items()}, f"of {truth[source].max():.1f} ({time.perf_counter() - t0:.1f} s)")
assert check_exercise("heat_geodesics", 1, ans1, L=L, truth_row=truth[source], source=source)

# %% [markdown]
# The region the fit uses ($H > 10^{-8}$, printed) grows with $t$: in time $t$ heat travels
# about $t$ hops, and beyond $k \approx t$ hops the Poisson tail $k\log(k/et)$ takes over.
# The slope is not the same for the three $t$: the conversion between graph units and true
# units still depends on $t$ — Varadhan's formula is a limit, not an identity at finite $t$,
# and on a graph the limit $t \to 0$ itself is out of reach (every $-4t\log H_t$ goes to 0).

# %%
# 2. float32: the rounding floor moves up to ~1e-7 of the largest entries
import torch  # noqa: E402

H32 = heat_kernel(L, t_num, method="exact", dtype=torch.float32).numpy()
ans2 = float(np.finfo(np.float32).eps * np.abs(H32).max())
print(f"noise level ≈ {ans2:.1e}; entries ≤ 0: {(H32 <= 0).mean():.1%} "
      f"(float64: {numerics.loc['exact', 'entries <= 0']})")
assert check_exercise("heat_geodesics", 2, ans2, H32=H32)

# %%
# 3. the log-log slopes of both readings, one and sixteen Euler steps
t0 = time.perf_counter()
ans3 = {K: {f: loglog_slope(heat_geodesic_distances(L, 10.0, 1.0, method="euler", order=K, formula=f), truth)
            for f in ("screened", "varadhan")} for K in (1, 16)}
print({K: {f: round(v, 2) for f, v in s_.items()} for K, s_ in ans3.items()}, f"({time.perf_counter() - t0:.1f} s)")
assert check_exercise("heat_geodesics", 3, ans3, L=L, truth=truth)

# %% [markdown]
# With one step (the resolvent) the screened reading has a slope near 1 and the heat-law
# reading about half of it ($\sqrt d$-like). With 16 steps the kernel approaches $e^{-tL}$,
# whose $-\log H$ grows faster than $d$ (like $d^2$ near the source): the screened reading
# now over-shoots (slope above 1) and the heat-law reading rises towards 1 — at $t = 10$ it
# does not reach it: on a graph the heat law holds only for distances small against $t$
# (section 3), and a larger $t$ meets the Poisson tail later but blurs more. Neither reading is
# "right" for every kernel; the printed slopes tell which one is closer for this graph and $t$.

# %%
# 4. the self-distance that σ = 1 removes
h_diag = np.clip(np.diag(heat_kernel(L, 10.0, method="exact", eig=eig).numpy()), 1e-300, None)
ans4 = float(np.mean(np.sqrt(np.maximum(-4 * 10.0 * np.log(h_diag), 0.0))))
print(f"mean self-distance {ans4:.2f} (graph units) vs median true distance {np.median(truth):.2f} (data units)")
assert check_exercise("heat_geodesics", 4, ans4, L=L)
