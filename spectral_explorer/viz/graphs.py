"""Graphs, their spectra and positional encodings as HoloViews elements (no Panel here).

==============================  ===========================================================
:func:`graph_edges`             the edges of a drawn graph (``hv.Segments``)
:func:`graph_nodes`             its nodes coloured by a value, e.g. an encoding channel
:func:`graph_plot`              both, overlaid
:func:`eigenvalue_plot`         the spectrum, repeated eigenvalues highlighted, one marked
:func:`projector_image`         an ``(n, n)`` matrix, e.g. an eigenspace projector
:func:`stability_plot`          ‖ΔPE‖/‖ΔL‖ against the perturbation size (log–log)
:func:`channels_image`          ``(n, d)`` encodings as a heat map (node × channel)
:func:`channel_curves`          a few signals over the nodes as curves
:func:`training_curves`         per-epoch errors of several runs, one colour per run
==============================  ===========================================================
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..eigen import eigenvalue_groups

__all__ = ["graph_edges", "graph_nodes", "graph_plot", "eigenvalue_plot", "projector_image", "stability_plot",
           "stability_grid",
           "channels_image", "channel_curves", "training_curves", "ENCODING_COLORS"]

#: one colour per encoding kind (stable across plots and runs)
#: Okabe–Ito colours (told apart with the common colour-vision deficiencies: no red/green pair)
ENCODING_COLORS = {"none": "#7f7f7f", "lappe": "#d55e00", "rwpe": "#009e73", "signnet": "#e69f00",
                   "spe": "#0072b2", "raw": "#d55e00", "projectors": "#e69f00", "subspace": "#cc79a7"}
_PLAIN = dict(xaxis=None, yaxis=None, toolbar="above", default_tools=["pan", "wheel_zoom", "reset", "save"])


def graph_edges(pos, edges, color: str = "#9a9a9a", alpha: float = 0.6, line_width: float = 1.2) -> hv.Segments:
    """Edges ``(m, 2)`` (node indices) of a graph drawn at ``pos`` ``(n, 2)``.

    >>> graph_edges(np.eye(2), np.array([[0, 1]])).data.shape
    (1, 4)
    """
    pos = np.asarray(pos, dtype=np.float64)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    seg = np.hstack([pos[e[:, 0]], pos[e[:, 1]]]) if e.size else np.zeros((0, 4))
    import pandas as pd

    df = pd.DataFrame(seg, columns=["x0", "y0", "x1", "y1"])
    return hv.Segments(df, ["x0", "y0", "x1", "y1"]).opts(color=color, alpha=alpha, line_width=line_width)


def graph_nodes(pos, values, labels=None, *, label: str = "value", cmap: str = "RdBu_r", symmetric: bool = True,
                size: float = 11, title: str = "", clim=None, highlight=None) -> hv.Overlay:
    """Nodes at ``pos`` coloured by ``values`` (hover shows node, label and value).

    With ``symmetric`` the colour range is centred on zero (eigenvectors: the sign is the
    message).  ``highlight`` rings one node.
    """
    pos = np.asarray(pos, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).ravel()
    n = pos.shape[0]
    names = [str(x) for x in (labels if labels is not None else range(n))]
    if clim is None:
        finite = v[np.isfinite(v)]
        if symmetric:
            m = float(np.abs(finite).max()) if finite.size else 1.0
            m = m if m > 1e-12 else 1.0
            clim = (-m, m)
        else:
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            clim = (lo, hi if hi > lo + 1e-12 else lo + 1.0)
    data = {"x": pos[:, 0], "y": pos[:, 1], label: v, "node": np.arange(n), "name": names}
    pts = hv.Points(data, ["x", "y"], [label, "node", "name"]).opts(
        color=label, cmap=cmap, clim=tuple(clim), size=size, line_color="#333333", line_width=0.6,
        colorbar=True, tools=["hover"], title=title, **_PLAIN)
    if highlight is None:
        return hv.Overlay([pts])
    h = int(highlight)
    ring = hv.Points((pos[h:h + 1, 0], pos[h:h + 1, 1]), ["x", "y"]).opts(
        size=size + 8, fill_alpha=0, line_color="black", line_width=2)
    return pts * ring


def graph_plot(pos, edges, values, labels=None, **kw) -> hv.Overlay:
    """:func:`graph_edges` under :func:`graph_nodes`.

    >>> pos = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> el = graph_plot(pos, [[0, 1], [1, 2]], [-1.0, 0.0, 1.0])
    >>> isinstance(el, hv.Overlay)
    True
    """
    return graph_edges(pos, edges) * graph_nodes(pos, values, labels, **kw)


def eigenvalue_plot(evals, groups=None, selected=None, *, tol: float = 1e-6, title: str = "spectrum",
                    width: int = 420, height: int = 330) -> hv.Overlay:
    """Eigenvalues ``λ_0 ≤ … ≤ λ_{n−1}`` against their index; eigenvalues in a group of
    size ≥ 2 (repeated within ``tol``) are drawn larger, in orange, with their multiplicity
    on hover; ``selected`` (an index) is ringed and its group shaded.

    >>> el = eigenvalue_plot([0.0, 1.0, 1.0, 2.0], selected=1)
    >>> len(el)
    4
    """
    lam = np.asarray(evals, dtype=np.float64).ravel()
    groups = eigenvalue_groups(lam, tol) if groups is None else groups
    mult = np.empty(lam.size, dtype=np.int64)
    for a, b in groups:
        mult[a:b] = b - a
    idx = np.arange(lam.size)
    rep = mult >= 2
    kdims, vdims = ["index"], ["λ", "multiplicity"]
    simple = hv.Scatter((idx[~rep], lam[~rep], mult[~rep]), kdims, vdims, label="simple").opts(
        color="#1f77b4", size=6, tools=["hover"])
    repeated = hv.Scatter((idx[rep], lam[rep], mult[rep]), kdims, vdims, label="repeated (mult ≥ 2)").opts(
        color="#ff7f0e", size=9, marker="diamond", tools=["hover"])
    layers = [simple, repeated]
    if selected is not None and 0 <= int(selected) < lam.size:
        s = int(selected)
        a, b = next((g for g in groups if g[0] <= s < g[1]), (s, s + 1))
        layers.insert(0, hv.VSpan(a - 0.5, b - 0.5).opts(color="#ffd27f", alpha=0.45))
        layers.append(hv.Scatter(([s], [lam[s]], [mult[s]]), kdims, vdims, label=f"λ_{s}").opts(
            color="black", size=16, fill_alpha=0, line_width=2, marker="circle"))
    pad = 0.04 * max(1.0, float(lam.max() - lam.min()) if lam.size else 1.0)
    return hv.Overlay(layers).opts(
        title=title, width=width, height=height, show_grid=True, legend_position="top_left",
        xlabel="index i (ascending)", ylabel="eigenvalue λ_i of the normalized Laplacian (0…2)",
        ylim=(float(lam.min()) - pad if lam.size else 0, float(lam.max()) + pad if lam.size else 2),
        xlim=(-0.5, lam.size - 0.5), toolbar="above")


def projector_image(P, title: str = "projector", cmap: str = "RdBu_r", size: int = 330) -> hv.Image:
    """An ``(n, n)`` matrix as an image (row 0 at the top), colour range centred on zero.

    >>> projector_image(np.eye(3)).dimension_values(2, flat=False).shape
    (3, 3)
    """
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[0]
    m = float(np.abs(P).max()) or 1.0
    img = hv.Image((np.arange(n), np.arange(n), P), ["column j", "row i"], "P_ij")
    return img.opts(cmap=cmap, clim=(-m, m), colorbar=True, invert_yaxis=True, tools=["hover"], title=title,
                    width=size + 60, height=size, toolbar="above", xaxis=None, yaxis=None)


def stability_plot(eps, ratios: dict, current=None, *, title: str = "‖ΔPE‖ / ‖ΔL‖", width: int = 560,
                   height: int = 360) -> hv.Overlay:
    """Log–log curves ``ratio(ε)`` per encoding (``ratios[name]`` aligned with ``eps``), with
    the current ``ε`` as a vertical line.

    >>> el = stability_plot([1e-6, 1e-4], {"raw": [1e5, 1e3], "spe": [1.0, 1.0]}, current=1e-5)
    >>> len(el)
    5
    """
    eps = np.asarray(eps, dtype=np.float64)
    layers = []
    for name, r in ratios.items():
        r = np.clip(np.asarray(r, dtype=np.float64), 1e-12, None)
        color = ENCODING_COLORS.get(name, None)
        c = hv.Curve((eps, r), "ε", "‖ΔPE‖/‖ΔL‖", label=name).opts(color=color, line_width=2.5)
        s = hv.Scatter((eps, r), "ε", "‖ΔPE‖/‖ΔL‖", label=name).opts(color=color, size=6, tools=["hover"])
        layers += [c, s]
    if current is not None:
        layers.append(hv.VLine(float(current)).opts(color="black", line_dash="dashed", line_width=1.5))
    return hv.Overlay(layers).opts(logx=True, logy=True, width=width, height=height, show_grid=True, title=title,
                                   legend_position="right", toolbar="above",
                                   xlabel="ε (change of one edge weight)", ylabel="‖ΔPE‖_F / ‖ΔL‖_F (ratio)")


def stability_grid(eps, curves: dict, *, cols: int = 3, width: int = 300, height: int = 260) -> hv.Layout:
    """Small multiples: one :func:`stability_plot` per graph, side by side.  ``curves[name]`` is a
    dict of ratio arrays (``raw``, ``projectors``, ``subspace``, ``spe``) with the graph's ``n``
    and ``eigengap`` — or a message (str) shown as the empty panel's title; only the first
    panel shows the legend.

    >>> c = {"raw": [1e5, 1e3], "projectors": [1.0, 1.0], "subspace": [1.0, 1.0], "spe": [1.0, 1.0],
    ...      "n": 16, "eigengap": 0.15}
    >>> len(stability_grid([1e-6, 1e-4], {"cycle": c, "path": "stab_k too large"}))
    2
    """
    plots = []
    for i, (name, c) in enumerate(curves.items()):
        if isinstance(c, str):
            plots.append(hv.Curve([], "ε", "‖ΔPE‖/‖ΔL‖").opts(title=f"{name}: {c}", width=width, height=height))
            continue
        el = stability_plot(eps, {k: c[k] for k in ("raw", "projectors", "subspace", "spe")}, width=width,
                            height=height, title=f"{name} (n = {c['n']}, gap {c['eigengap']:.2g})")
        plots.append(el.opts(show_legend=(i == 0), legend_position="bottom_left"))
    return hv.Layout(plots).cols(cols).opts(shared_axes=False)


def channels_image(M, title: str = "", xlabel: str = "channel", cmap: str = "RdBu_r", width: int = 300,
                   height: int = 330) -> hv.Image:
    """``(n, d)`` encodings as an image: one row per node (node 0 at the top), one column per
    channel, colour range centred on zero.

    >>> channels_image(np.ones((5, 2))).dimension_values(2, flat=False).shape
    (5, 2)
    """
    M = np.asarray(M, dtype=np.float64)
    n, d = M.shape
    m = float(np.abs(M).max()) or 1.0
    img = hv.Image((np.arange(d), np.arange(n), M), [xlabel, "node"], "value")
    return img.opts(cmap=cmap, clim=(-m, m), colorbar=True, invert_yaxis=True, tools=["hover"], title=title,
                    width=width, height=height, toolbar="above")


def channel_curves(curves: dict, *, x=None, title: str = "", xlabel: str = "node", ylabel: str = "value",
                   width: int = 520, height: int = 330, styles: dict | None = None) -> hv.Overlay:
    """Signals over the nodes (``curves[label] = values``), one curve each.

    >>> len(channel_curves({"a": [0, 1], "b": [1, 0]}))
    2
    """
    styles = styles or {}
    layers = []
    for name, y in curves.items():
        y = np.asarray(y, dtype=np.float64)
        xs = np.arange(y.size) if x is None else np.asarray(x)
        layers.append(hv.Curve((xs, y), xlabel, ylabel, label=name).opts(**{"line_width": 2, **styles.get(name, {})}))
    return hv.Overlay(layers).opts(title=title, width=width, height=height, show_grid=True,
                                   legend_position="bottom_left", toolbar="above")


#: the sinusoid figure's axis labels with units / normalisation (by the dimension names above)
_CYCLE_UNITS = {"λ": "eigenvalue λ_i (normalized Laplacian, 0…2)", "index": "index i",
                "value": "value (sinusoids in [−1, 1]; eigenvectors of unit norm)"}


def sinusoid_cycle_figure(c: dict, n: int, channel: int, base: float) -> hv.Layout:
    """A :func:`~spectral_explorer.positional_encodings.sinusoid_cycle_comparison` ``c`` of an
    ``n``-cycle: the sinusoids and the cycle eigenvectors as images, and one ``channel`` as
    curves — the sinusoid, its rebuild ``V_m C_m`` from the 2-D eigenspace, the eigenvector
    (scaled by √(n/2)), the Transformer channel and its best fit in span(V)."""
    d = c["S"].shape[1]
    ch = min(int(channel), d - 1)
    m = ch // 2
    left = channels_image(c["S"], title=f"sinusoids, ω = 2πm/{n}", width=260)
    mid = channels_image(c["V"], title="cycle eigenvectors v_1..v_d", xlabel="eigenvector", width=260)
    rebuilt, transformer = f"V_{m} C_{m} (eigenvectors × 2×2)", f"Transformer ch. {ch} (base {base:g})"
    curves = channel_curves(
        {f"sinusoid channel {ch}": c["S"][:, ch], rebuilt: c["recon"][:, ch],
         f"eigenvector {ch + 1}": c["V"][:, ch] * np.sqrt(n / 2), transformer: c["T"][:, ch],
         "its best fit in span(V)": c["T_fit"][:, ch]},
        title=f"channel {ch}: residual {c['residual']:.1e} (cycle freq.), "
              f"{np.abs(c['T'][:, ch] - c['T_fit'][:, ch]).max():.2f} (Transformer)",
        styles={rebuilt: dict(line_dash="dashed", color="black"),
                f"sinusoid channel {ch}": dict(color="#1f77b4", line_width=4, alpha=0.6),
                f"eigenvector {ch + 1}": dict(color="#ff7f0e"),
                transformer: dict(color="#009e73", alpha=0.8),
                "its best fit in span(V)": dict(color="#009e73", line_dash="dotted")},
        width=640, height=330).opts(legend_position="right")
    return (left + mid + curves).redim.label(**_CYCLE_UNITS).opts(shared_axes=False)


def training_curves(df, metric: str = "test_mae", *, encodings=None, title: str = "", logy: bool = True,
                    width: int = 480, height: int = 320) -> hv.Overlay:
    """One curve of ``metric`` per ``encoding`` over ``epoch`` (a DataFrame with those columns).

    With ``encodings`` the overlay always has one curve per listed encoding, empty until its
    data arrive: a fixed structure, so a streaming plot updates its data in place instead of
    being rebuilt (which loses the legend) whenever a new encoding starts.

    >>> import pandas as pd
    >>> df = pd.DataFrame(dict(epoch=[1, 2], test_mae=[0.5, 0.4], encoding=["spe", "spe"]))
    >>> len(training_curves(df)), len(training_curves(df, encodings=["none", "spe"]))
    (1, 2)
    """
    have = df is not None and len(df) > 0
    names = list(encodings) if encodings is not None else (list(dict.fromkeys(df["encoding"])) if have else [])
    layers = []
    for enc in names:
        d = df[df["encoding"] == enc].sort_values("epoch") if have else None
        xy = (d["epoch"].to_numpy(), d[metric].to_numpy()) if d is not None and len(d) else ([], [])
        layers.append(hv.Curve(xy, "epoch", metric, label=str(enc))
                      .opts(color=ENCODING_COLORS.get(str(enc)), line_width=2.5, tools=["hover"]))
    if not layers:
        layers = [hv.Curve([], "epoch", metric)]
    unit = " (standardised cycle counts)" if "mae" in str(metric) else ""
    return hv.Overlay(layers).opts(title=title or metric, width=width, height=height, ylabel=f"{metric}{unit}",
                                   logy=logy and (have or encodings is not None),
                                   show_grid=True, legend_position="top_right", toolbar="above", framewise=True)
