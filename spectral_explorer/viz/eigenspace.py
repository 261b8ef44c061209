"""HoloViews builders for the eigenspace-projection family (EoRA, PiSSA).

Arrays in, HoloViews elements out; no Panel.

=============================  ==============================================================
:func:`toy_data_plot`          2-D activations, the principal axes of XᵀX and the input
                               direction each rank-1 correction fits (SVD: v₁; EoRA: QΛ^½v₁)
:func:`toy_kept_directions`    those two unit directions (EoRA's = C·(row of A), not the row)
:func:`toy_residual_plot`      output residuals (ΔW − BA)x per sample with 2σ error ellipses
:func:`error_bars`             output error per method as bars
:func:`gram_spectrum_plot`     activation eigenvalues (log; round-off zeros left out) and energy captured vs k
:func:`delta_energy_plot`      singular values of ΔW vs of ΔW Q Λ^½ (cumulative energy)
:func:`rank_error_plot`        layer error (or model fidelity) vs rank per method, chosen rank marked
:func:`pissa_plot`             singular values of W split into principal part and residual
=============================  ==============================================================
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

__all__ = ["TOY_CAPTION", "toy_kept_directions", "toy_data_plot", "toy_residual_plot", "error_bars",
           "gram_spectrum_plot", "delta_energy_plot",
           "rank_error_plot", "pissa_plot", "METHOD_COLORS"]

#: Okabe–Ito colours (no red/green pair); SVD is also dashed
METHOD_COLORS = {"none": "#7f7f7f", "SVD": "#d55e00", "EoRA": "#0072b2"}


def _ellipse(cov, scale=2.0, n=100):
    w, V = np.linalg.eigh(0.5 * (cov + cov.T))
    w = np.clip(w, 0, None)
    t = np.linspace(0, 2 * np.pi, n)
    circ = np.stack([np.cos(t), np.sin(t)])
    pts = V @ (scale * np.sqrt(w)[:, None] * circ)
    return pts[0], pts[1]


TOY_CAPTION = (
    "A rank-1 correction **B A** of a 2×2 weight error ΔW reproduces ΔW exactly on one input direction "
    "and reads every input through the row of A. Plain SVD (dashed red) fits the direction v₁ where **ΔW** "
    "is largest; EoRA (solid blue) fits the input direction **Q Λ^½ v₁**, with v₁ the top right singular "
    "vector of ΔW Q Λ^½ (the SVD of ΔW in the eigenbasis of XᵀX, scaled by the data's energy): the direction "
    "where **ΔW x is largest on the data**, close to the data's long axis. (EoRA's row of A itself is "
    "∝ Q Λ^{−½} v₁, a covector, and is not drawn.) With anisotropic activations EoRA's residual cloud "
    "(middle panel) is much tighter, although its plain ‖ΔW − BA‖_F is larger; the bars (right) compare "
    "the output errors.")


def toy_kept_directions(evals, Q, a_svd, a_eora):
    """Unit input directions the rank-1 corrections fit exactly: ``{"SVD": v, "EoRA": u}``.

    Plain SVD's row of A is the top right singular vector v₁ of ΔW, an input direction.
    EoRA's row of A is ``a ∝ Q Λ^{-1/2} v₁`` (v₁ now of ``ΔW Q Λ^{1/2}``): a covector, the
    functional that reads the input. The input direction EoRA fits (``B A u = ΔW u``) is
    ``u ∝ Q Λ^{1/2} v₁ = C a`` with ``C = Q Λ Qᵀ``. Signs are fixed so the first non-zero
    coordinate is positive.
    """
    Q = np.asarray(Q, float)
    lam = np.asarray(evals, float)
    out = {}
    for name, vec in (("SVD", np.asarray(a_svd, float)), ("EoRA", Q @ (lam * (Q.T @ np.asarray(a_eora, float))))):
        nrm = np.linalg.norm(vec)
        v = vec / nrm if nrm > 0 else vec
        nz = np.flatnonzero(np.abs(v) > 1e-12)
        out[name] = -v if nz.size and v[nz[0]] < 0 else v
    return out


def toy_data_plot(X, evals, Q, a_svd, a_eora, size=380):
    """Scatter of the 2-D inputs X with the principal axes of XᵀX (length 2σ) and the
    input direction each rank-1 correction fits exactly (:func:`toy_kept_directions`):
    v₁ of ΔW for plain SVD, Q Λ^½ v₁ for EoRA."""
    X = np.asarray(X, float)
    n = X.shape[0]
    sd = np.sqrt(np.asarray(evals, float) / n)
    lim = float(np.abs(X).max()) * 1.05
    kx, ky = "x₁ (input units)", "x₂ (input units)"
    pts = hv.Scatter((X[:, 0], X[:, 1]), kx, ky, label="activations x").opts(
        color="#999999", alpha=0.45, size=4)
    ax = [2 * sd[i] * Q[:, i] for i in range(2)]
    axes = hv.Curve(([-ax[0][0], ax[0][0], np.nan, -ax[1][0], ax[1][0]],
                     [-ax[0][1], ax[0][1], np.nan, -ax[1][1], ax[1][1]]), kx, ky,
                    label="eigenvectors of XᵀX (±2σ, σ² = λ/n)").opts(color="black", line_width=2)
    out = pts * axes
    kept = toy_kept_directions(evals, Q, a_svd, a_eora)
    labels = {"SVD": "SVD fits v₁(ΔW)", "EoRA": "EoRA fits QΛ^½v₁"}
    for name, vec in kept.items():
        v = vec * lim * 0.9
        out = out * hv.Curve(([-v[0], v[0]], [-v[1], v[1]]), kx, ky, label=labels[name]).opts(
            color=METHOD_COLORS[name], line_width=3, line_dash="dashed" if name == "SVD" else "solid")
    return out.opts(hv.opts.Overlay(width=size, height=size, xlim=(-lim, lim), ylim=(-lim, lim),
                                    title="inputs X, eigenbasis of XᵀX", legend_position="bottom_left",
                                    show_grid=True))


def toy_residual_plot(residuals: dict, size=380):
    """Output residuals ``(ΔW − BA) x`` of every sample, per method, with a 2σ ellipse each."""
    lim = max(float(np.abs(r).max()) for r in residuals.values()) * 1.05 or 1.0
    layers = []
    ky1, ky2 = "y₁ (output units)", "y₂ (output units)"
    for name, R in residuals.items():
        R = np.asarray(R, float)
        c = METHOD_COLORS.get(name, "#009e73")
        ex, ey = _ellipse(R.T @ R / R.shape[0])
        layers.append(hv.Scatter((R[:, 0], R[:, 1]), ky1, ky2, label=f"{name} residual").opts(
            color=c, alpha=0.35, size=3))
        layers.append(hv.Curve((ex, ey), ky1, ky2, label=f"{name} 2σ ellipse").opts(color=c, line_width=2))
    return hv.Overlay(layers).opts(hv.opts.Overlay(width=size, height=size, xlim=(-lim, lim), ylim=(-lim, lim),
                                                   title="output error (ΔW − BA)x per sample",
                                                   legend_position="bottom_left", show_grid=True))


def error_bars(errors: dict, title="output error ‖X(ΔW − BA)ᵀ‖_F",
               ylabel="Frobenius norm over all samples (output units)", width=300, height=380):
    """Bars of one error value per method."""
    data = [(k, float(v)) for k, v in errors.items()]
    return hv.Bars(data, "method", ylabel).opts(
        color="method", cmap=METHOD_COLORS, width=width, height=height, title=title, tools=["hover"],
        show_legend=False)


def gram_spectrum_plot(evals, energy, k=None, width=430, height=300):
    """Activation eigenvalues (log scale) and energy captured by the top k (linear)."""
    ev = np.asarray(evals, float)
    idx = np.arange(1, ev.size + 1)
    # eigenvalues below n·eps·λ_max are round-off (XᵀX has rank ≤ number of tokens): not drawn
    tol = (ev.max() if ev.size else 0.0) * ev.size * np.finfo(float).eps
    keep = ev > tol
    title = "activation spectrum" if keep.all() else \
        f"activation spectrum ({int(keep.sum())} of {ev.size} non-zero)"
    spec = hv.Curve((idx[keep], ev[keep]), "index k (descending)", "eigenvalue λ_k of XᵀX (Σ over tokens)").opts(
        logy=True, width=width, height=height, color="#1f77b4", title=title, tools=["hover"],
        show_grid=True, xlim=(0, ev.size + 1))
    en = hv.Curve((idx, np.asarray(energy, float)), "index k (descending)",
                  "energy captured Σ_{i≤k}λ_i / Σλ").opts(
        width=width, height=height, color="#ff7f0e", title="energy captured by top-k eigenvectors",
        tools=["hover"], show_grid=True, ylim=(0, 1.02))
    if k is not None:
        en = en * hv.VLine(float(k)).opts(color="black", line_dash="dotted")
    return spec + en


def delta_energy_plot(s_plain, s_eig, k=None, width=430, height=300):
    """Cumulative energy of ΔW's singular values in plain coordinates vs in the activation
    eigenspace (singular values of ΔW Q Λ^½): the latter concentrates in fewer directions."""
    curves = []
    for s, lab, c in ((s_plain, "ΔW (plain, SVD)", METHOD_COLORS["SVD"]),
                      (s_eig, "ΔW Q Λ^½ (eigenspace, EoRA)", METHOD_COLORS["EoRA"])):
        s2 = np.asarray(s, float) ** 2
        cum = np.cumsum(s2) / max(s2.sum(), 1e-300)
        curves.append(hv.Curve((np.arange(1, cum.size + 1), cum), "rank (number of singular values)",
                               "fraction of error energy Σσ²", label=lab)
                      .opts(color=c, line_width=2))
    out = hv.Overlay(curves)
    if k is not None:
        out = out * hv.VLine(float(k)).opts(color="black", line_dash="dotted")
    return out.opts(hv.opts.Overlay(width=width, height=height, logx=True, legend_position="bottom_right",
                                    title="where the compression error lives", show_grid=True))


def rank_error_plot(ranks, errors: dict, rank=None, width=430, height=300, ylabel="relative layer error",
                    title="held-out layer error vs rank", legend_position="top_right"):
    """Error (or any metric) vs rank (log-x) per method; the chosen rank marked."""
    ranks = np.asarray(ranks, float)
    els = []
    for name, err in errors.items():
        c = METHOD_COLORS.get(name, "#009e73")
        els.append(hv.Curve((ranks, np.asarray(err, float)), "rank r of BA", ylabel, label=name).opts(
            color=c, line_width=2))
        els.append(hv.Scatter((ranks, np.asarray(err, float)), "rank r of BA", ylabel, label=name).opts(color=c, size=6,
                                                                                            tools=["hover"]))
    out = hv.Overlay(els)
    if rank is not None:
        out = out * hv.VLine(float(rank)).opts(color="black", line_dash="dotted")
    ticks = [(float(r), str(int(r))) for r in np.unique(ranks)]
    lo, hi = float(np.min(ranks)), float(np.max(ranks))
    return out.opts(hv.opts.Overlay(width=width, height=height, logx=True, legend_position=legend_position,
                                    title=title, show_grid=True, xticks=ticks, xlim=(lo / 1.2, hi * 1.2)))


def pissa_plot(s, rank, width=430, height=300):
    """Singular values of W: the top ``rank`` go to PiSSA's trainable B A, the rest stay in W_res."""
    s = np.asarray(s, float)
    idx = np.arange(1, s.size + 1)
    r = int(rank)
    a = hv.Scatter((idx[:r], s[:r]), "index i", "singular value σᵢ(W)", label=f"principal part B A (top {r})").opts(
        color="#9467bd", size=5)
    b = hv.Scatter((idx[r:], s[r:]), "index i", "singular value σᵢ(W)", label="residual W_res (frozen)").opts(
        color="#bbbbbb", size=4)
    return (a * b).opts(hv.opts.Overlay(width=width, height=height, legend_position="top_right", show_grid=True,
                                        title="PiSSA: spectrum of W split at the rank"))
