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
# library.
#
# **Learning goals.** After this notebook you can
#
# 1. explain heat diffusion on a graph, $H_t = e^{-tL}$, and read a heat kernel column as
#    "where the heat went";
# 2. state Varadhan's formula $-4t\log H_t(x,y) \to d(x,y)^2$ and use it to turn a heat
#    kernel into distances;
# 3. write down the Harnack-regularized heat-geodesic distance and say what its σ term does;
# 4. explain why entries of $H_t$ near 0 turn $\log H_t$ into noise, and measure it for the
#    exact eigendecomposition, a Chebyshev expansion and backward Euler;
# 5. use the library directly (`HeatGeodesicEmbedding`, `heat_kernel`, `select_t_entropy`,
#    `run_method`, `row_spearman`) and through the interactive explorer, from Panel and
#    from plain ipywidgets.
#
# Everything runs on a laptop CPU. Set the environment variable
# `SPECTRAL_EXPLORER_QUICK=1` before starting Jupyter for a small, fast version (the tests
# run the notebook that way).

# %%
import os
import time

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
import panel as pn
from IPython.display import display

import spectral_explorer
from spectral_explorer import HeatGeodesicEmbedding, data
from spectral_explorer.comparisons import METHODS, run_method
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat import heat_filter, heat_kernel
from spectral_explorer.heat_geodesic import heat_geodesic_distances, select_t_entropy
from spectral_explorer.laplacian import laplacian
from spectral_explorer.metrics import row_pearson, row_spearman
from spectral_explorer.explorers import notebook_setup

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
    hv.Points((ds.X[:, 0], ds.X[:, 2], ds.color), ["x", "z"], ["c"], label="roll seen from the side").opts(**opts),
    hv.Points((ds.X[:, 0], ds.X[:, 1], ds.color), ["x", "y"], ["c"], label="roll seen from above").opts(**opts),
    hv.Points((ds.latent[:, 0], ds.latent[:, 1], ds.color), ["arc length", "height"], ["c"],
              label="unrolled (ground truth)").opts(**opts),
]).cols(3)

# %% [markdown]
# ## 2. Heat diffusion on a graph
#
# We connect each point to its nearest neighbours (a PHATE-style *alpha-decay* affinity
# $W$), and form the symmetric normalized Laplacian $L = I - D^{-1/2} W D^{-1/2}$, whose
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
                  ["arc length", "height"], ["log10 heat"], label=f"t = {t:g}")
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
# "how much heat" into "how far". On a graph we cannot take $t \to 0$ (the graph has a
# smallest scale), so we pick a moderate $t$ and use $\sqrt{-4t\log H_t(x,y)}$ as a
# distance. Only the *ordering* of the distances matters for the embedding quality we
# measure below (Spearman rank correlation), so a global scale factor between graph units
# and true units is harmless.
#
# Check it on the roll: heat distance from our source against the true geodesic distance.

# %%
t_demo = 20.0
u = heat_kernel(L, t_demo, spike, method="euler").numpy().ravel()
heat_distance = np.sqrt(np.maximum(-4 * t_demo * np.log(u), 0.0))
hv.Points((truth[source], heat_distance), ["true geodesic distance", "sqrt(-4t log H_t)"]).opts(
    size=3, width=420, height=300, title=f"Varadhan at t = {t_demo:g}, source {source}")

# %% [markdown]
# ## 4. The Harnack-regularized heat-geodesic distance
#
# The paper adds a volume correction. The $(4\pi t)^{-d/2}$ prefactor, and more generally
# the local density of points, changes $H_t(i,i)$ from point to point; a Harnack inequality
# bounds $H_t(i,j)$ in terms of $H_t(i,i)$ and $H_t(j,j)$. The **heat-geodesic distance**
# is
#
# $$d_{ij}^2 = -4t\log H_t(i,j) \;+\; \sigma\cdot 4t\,\log\!\Big(\tfrac12\big(H_t(i,i)+H_t(j,j)\big)\Big),$$
#
# clipped at 0. With $\sigma = 0$ it is plain Varadhan; with $\sigma = 1$ the "self-heat"
# is subtracted, so that $d_{ii}^2 = -4t\log H_t(i,i) + 4t\log H_t(i,i) = 0$ exactly and
# points in densely sampled regions (large $H_t(i,i)$) are not pushed away from everyone;
# values in between trade the two. The library's pure function
# `heat_geodesic_distances(L, t, sigma, method)` computes it for all pairs (or from
# landmarks). Let's see how σ affects the distances against the truth: the row-wise
# Spearman correlation, averaged over points (the paper's benchmark, blind to any monotone
# rescaling), and the row-wise Pearson correlation (which does see the additive σ term).

# %%
rows = []
for sigma in (0.0, 0.5, 1.0, 2.0):
    D = heat_geodesic_distances(L, t_demo, sigma=sigma, method="euler")
    rows.append({"sigma": sigma, "spearman": row_spearman(D, truth), "pearson": row_pearson(D, truth)})
pd.DataFrame(rows).round(4)

# %% [markdown]
# On this uniformly sampled roll σ barely changes the *ranking* of distances (Spearman),
# while the Pearson correlation shows the additive σ term bending the distances away from
# a straight line in the truth. The volume correction matters when the sampling density
# varies — exercise 4 builds such a data set.

# %% [markdown]
# ## 5. Why entries of $H_t$ near 0 make $\log H_t$ noise
#
# Varadhan wants *small* $t$. But for small $t$ the heat has not reached most of the graph:
# most true entries of $H_t$ are astronomically small ($e^{-100}$ and less). Double
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
#   approximation of $e^{-tL}$, but $\log H$ stays a smooth, monotone function of graph
#   distance — which is what geodesic recovery needs.
#
# First, the three filters as functions of the eigenvalue $\lambda$ (`heat_filter`):

# %%
lam = np.linspace(0, 2, 400)
t_num = 2.0  # small t, the regime Varadhan asks for
curves = [
    hv.Curve((lam, np.abs(heat_filter(lam, t_num, m)) + 1e-300), "λ", "|filter(λ)|", label=m)
    for m in ("exact", "chebyshev", "euler")
]
hv.Overlay(curves).opts(logy=True, width=500, height=300, legend_position="bottom_left",
                        title=f"exp(−tλ) and its approximations, t = {t_num:g}")

# %% [markdown]
# Now the whole kernel on our graph, three ways. We count the entries that are at the
# rounding floor ($\le 10^{-15}$) or not even positive ($\le 0$), and score the resulting
# distances against the truth.

# %%
eig = np.linalg.eigh(L.toarray())  # reused by every "exact" computation below

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
# method and they agree; as $t$ shrinks, exact and Chebyshev lose the far entries first.

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
    hv.opts.Overlay(legend_position="bottom_right", title="distance quality vs diffusion time"))

# %% [markdown]
# ## 6. Choosing $t$: the knee of the entropy curve
#
# `select_t_entropy(L)` normalizes heat columns to probability distributions and tracks
# their Shannon entropy as $t$ grows. Entropy rises while heat spreads locally and
# saturates once it covers the graph; the knee separates the two regimes. This is what
# `HeatGeodesicEmbedding(t="auto")` uses.

# %%
t_knee, t_entropy_grid, entropy = select_t_entropy(L)
(hv.Curve((t_entropy_grid, entropy), "t", "mean entropy").opts(logx=True, width=520, height=300)
 * hv.VLine(t_knee).opts(color="red", line_dash="dashed")).opts(title=f"knee at t ≈ {t_knee:.1f}")

# %% [markdown]
# ## 7. The estimator: `HeatGeodesicEmbedding`
#
# The estimator follows scikit-learn's conventions: `__init__` stores arguments, `fit`
# builds the graph, picks $t$, computes distances and embeds them with classical MDS, and
# sets attributes ending in `_`.

# %%
hge = HeatGeodesicEmbedding(n_components=2, knn=KNN, t="auto", sigma=0.0, method="euler")
hge.fit(ds.X)
print("t_ =", round(hge.t_, 2), "| distances_", hge.distances_.shape, "| embedding_", hge.embedding_.shape)
print("heat diagnostics:", hge.heat_info_)
print("seconds per stage:", {k: round(v, 3) for k, v in hge.timings_.items()})
print("row Spearman vs truth:", round(row_spearman(hge.distances_, truth), 4))
hv.Points((hge.embedding_[:, 0], hge.embedding_[:, 1], ds.color), ["dim 1", "dim 2"], ["c"]).opts(
    color="c", cmap="viridis", size=4, width=420, height=320, title="heat-geodesic embedding (colour = roll angle)")

# %% [markdown]
# ## 8. Comparison with other methods on the same graph
#
# `run_method(name, X, W)` runs each method of `METHODS` on the same alpha-decay graph and
# returns a `MethodResult` with distances, a 2-D embedding and the wall time.

# %%
# t-SNE is the slowest by far on two CPU cores; the quick mode skips it
methods = [m for m in METHODS if not (QUICK and m == "tsne")]
results = {}
for name in methods:
    results[name] = run_method(name, ds.X, W if name != "tsne" else None, knn=KNN, t=hge.t_, seed=SEED)
table = pd.DataFrame(
    [{"method": r.name, "spearman": round(row_spearman(r.distances, truth), 4), "seconds": round(r.seconds, 2)}
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
# ## 9. Interactive cells
#
# ### 9a. A Panel widget bound to a function
#
# `pn.bind` ties widgets to a plotting function; in a live notebook, moving the slider
# re-runs only that function. Here the slider sets σ and the view shows the embedding of
# the Harnack-regularized distances (the graph and eigendecomposition are reused).

# %%
sigma_slider = pn.widgets.FloatSlider(name="σ (Harnack)", start=0.0, end=2.0, step=0.25, value=0.0)


def sigma_view(sigma):
    from spectral_explorer.mds import classical_mds

    D = heat_geodesic_distances(L, hge.t_, sigma=sigma, method="euler")
    Y = classical_mds(D, 2)
    return hv.Points((Y[:, 0], Y[:, 1], ds.color), ["dim 1", "dim 2"], ["c"]).opts(
        color="c", cmap="viridis", size=3, width=380, height=300,
        title=f"σ = {sigma:g}: Spearman {row_spearman(D, truth):.3f}")


pn.Column(sigma_slider, pn.bind(sigma_view, sigma_slider))

# %% [markdown]
# ### 9b. Plain ipywidgets driving a Panel view
#
# Some front-ends only speak ipywidgets (VS Code, Colab, Voilà). `pn.ipywidget(obj)` wraps
# any Panel object as an ipywidget (this needs `jupyter_bokeh`), so it can sit in an
# `ipywidgets.VBox` next to ordinary controls. Below, an `ipywidgets.FloatLogSlider` sets
# the diffusion time; its observer updates a Panel HoloViews pane and an
# `ipywidgets.HTML` read-out. One Euler solve per move keeps it snappy.

# %%
t_slider = widgets.FloatLogSlider(value=20.0, base=10, min=0, max=2.5, step=0.05, description="t",
                                  continuous_update=False)
readout = widgets.HTML()


def heat_view(t):
    u = heat_kernel(L, t, spike, method="euler").numpy().ravel()
    d = np.sqrt(np.maximum(-4 * t * np.log(u), 0.0))
    rho = pd.Series(d).corr(pd.Series(truth[source]), method="spearman")
    readout.value = f"<b>t = {t:.3g}</b>: Spearman of one heat column vs the truth = {rho:.4f}"
    return hv.Points((ds.latent[:, 0], ds.latent[:, 1], np.log10(np.maximum(u, 1e-300))),
                     ["arc length", "height"], ["log10 heat"]).opts(
        color="log10 heat", cmap="inferno", size=4, width=420, height=280, colorbar=True, title=f"heat at t = {t:.3g}")


heat_pane = pn.pane.HoloViews(heat_view(t_slider.value))
t_slider.observe(lambda change: setattr(heat_pane, "object", heat_view(change["new"])), names="value")
widgets.VBox([t_slider, readout, pn.ipywidget(heat_pane)])

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
# every control works. Above 1000 points it switches to landmark mode to stay interactive.

# %%
from spectral_explorer.explorers import HeatGeodesicExplorer

EX_N = 300 if QUICK else 1000
ex = HeatGeodesicExplorer(dataset="swiss_roll", n=EX_N, noise=NOISE, seed=SEED, knn=KNN, t=20.0,
                          compare=["shortest_path"] if QUICK else ["shortest_path", "diffusion_map"])
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
ex.param.update(knn=KNN, t=20.0);  # back to where we were

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
# `pn.ipywidget(...)` turns Panel/HoloViews objects into an ipywidget. Plain
# `ipywidgets` controls below set the explorer's parameters; the views (a Panel object,
# embedded) and an `ipywidgets.HTML` metric read-out follow. This is how the explorer
# lives in a front-end that only speaks ipywidgets.

# %%
ipy_t = widgets.SelectionSlider(options=[v for v in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)], value=20,
                                description="t", continuous_update=False)
ipy_method = widgets.ToggleButtons(options=["euler", "chebyshev", "exact"], value=ex.method, description="method")
ipy_sigma = widgets.FloatSlider(value=ex.sigma, min=0.0, max=2.0, step=0.25, description="σ",
                                continuous_update=False)
ipy_metrics = widgets.HTML()


def show_metrics(*_):
    m = ex.metrics
    ipy_metrics.value = (f"t = {ex.t:g}, method = {ex.method}, σ = {ex.sigma:g} → "
                         f"Spearman heat <b>{m['heat_spearman']:.4f}</b>, embedding "
                         f"<b>{m['embedding_spearman']:.4f}</b>, kernel entries ≤ 0: {m['nonpositive_entries']}")


ipy_t.observe(lambda c: setattr(ex, "t", float(c["new"])), names="value")
ipy_method.observe(lambda c: setattr(ex, "method", c["new"]), names="value")
ipy_sigma.observe(lambda c: setattr(ex, "sigma", float(c["new"])), names="value")
ex.param.watch(show_metrics, ["t", "method", "sigma"])  # runs after the explorer recomputes
show_metrics()

explorer_widget = pn.ipywidget(pn.Column(pn.Row(ex.view_heat(), ex.view_distances()), ex.view_embeddings()))
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
# ## Exercises
#
# 1. **Varadhan's limit.** In section 3, repeat the scatter plot for
#    `t_demo` ∈ {2, 20, 200}. For which $t$ is $\sqrt{-4t\log H_t}$ closest to a straight
#    line in the true distance? Why does it bend for large $t$ (hint: the heat has
#    reached the whole roll, and $H_t \to$ the stationary distribution)?
# 2. **Precision.** Recompute the table of section 5 with `t_num = 0.5` and `t_num = 50`.
#    Then compute the exact kernel in `float32` (`heat_kernel(..., dtype=torch.float32)`):
#    at what level do entries become noise now, and what happens to the Spearman?
# 3. **Euler steps.** Backward Euler with $K$ steps is `heat_kernel(L, t, method="euler",
#    order=K)`. Plot the filter `heat_filter(lam, t, "euler", order=K)` for
#    $K$ = 1, 4, 16 against $e^{-t\lambda}$, and measure the Spearman of
#    `heat_geodesic_distances(L, t, method="euler", order=K)`. Is a more accurate heat
#    kernel a better geodesic estimator? Explain with section 5.
# 4. **Harnack σ under uneven sampling.** Build a Swiss roll whose density varies (e.g.
#    keep each point with probability proportional to its angle `ds.color`, using index
#    selection on `ds.X` and on `truth`). Compare σ = 0 and σ = 1 with `row_spearman`.
#    Where does the volume correction help?
# 5. **Noise and shortcuts.** With the explorer (`ex.noise`, `ex.knn`), find the smallest
#    noise level at which the Swiss roll's layers short-circuit for `knn=8`. Which method
#    in `METHODS` degrades most gracefully? Back your answer with `run_method` and
#    `row_spearman` on two noise levels.
# 6. **Another manifold.** Switch to `data.sphere` or `data.tree` (both have ground truth)
#    and rerun sections 6–8. Does the entropy knee from `select_t_entropy` still give a
#    good $t$? Compare with the best $t$ of a sweep like the one in section 5.
