"""HoloViews builders for the Householder explorer: mirrors and frames in the plane, a rank-r map
as rotate / scale / rotate, effect matrices."""

from __future__ import annotations

import holoviews as hv
import numpy as np
from ._toolbar import SAVE_ONLY

__all__ = ["mirror_plot", "rotate_scale_rotate", "effect_heatmap"]

_COLORS = ("#d55e00", "#0072b2", "#009e73")   # Okabe–Ito: no red/green pair


def _arrows(vectors, colors, labels, width=3.0):
    segs = [hv.Segments([(0, 0, float(v[0]), float(v[1]))]).opts(color=c, line_width=width)
            for v, c in zip(vectors, colors)]
    tips = hv.Labels({"x": [1.12 * float(v[0]) for v in vectors], "y": [1.12 * float(v[1]) for v in vectors],
                      "text": list(labels)}, ["x", "y"], "text").opts(text_font_size="10pt")
    return hv.Overlay(segs + [tips])


def mirror_plot(normals, frames, title: str = "", size: int = 330) -> hv.Overlay:
    """Mirrors (lines orthogonal to each 2-D normal, dashed, with the normal as a thin arrow) and
    the frames after each reflection (``frames[i]`` is a 2 × 2 matrix whose columns are drawn;
    the last is thick)."""
    t = np.linspace(0, 2 * np.pi, 200)
    layers = [hv.Curve((np.cos(t), np.sin(t))).opts(color="#cccccc", line_width=1)]
    for i, v in enumerate(normals):
        v = np.asarray(v, dtype=float) / (np.linalg.norm(v) or 1.0)
        m = np.array([-v[1], v[0]]) * 1.4
        layers.append(hv.Curve(([-m[0], m[0]], [-m[1], m[1]])).opts(color="#555555", line_dash="dashed",
                                                                      line_width=1.5))
        layers.append(hv.Segments([(0, 0, 0.5 * v[0], 0.5 * v[1])]).opts(color="#888888", line_width=1.5))
    for j, Q in enumerate(frames):
        Q = np.asarray(Q, dtype=float)
        last = j == len(frames) - 1
        alpha = 1.0 if last else 0.25
        for c in range(Q.shape[1]):
            layers.append(hv.Segments([(0, 0, Q[0, c], Q[1, c])]).opts(color=_COLORS[c], alpha=alpha,
                                                                         line_width=4 if last else 2))
    Q = np.asarray(frames[-1], dtype=float)
    layers.append(hv.Labels({"x": list(1.15 * Q[0]), "y": list(1.15 * Q[1]),
                             "text": [f"q{c + 1}" for c in range(Q.shape[1])]}, ["x", "y"], "text"))
    return hv.Overlay(layers).opts(title=title, width=size, height=size, xlim=(-1.5, 1.5), ylim=(-1.5, 1.5),
                                   xaxis=None, yaxis=None, **SAVE_ONLY, show_legend=False)


def rotate_scale_rotate(X, steps: dict, size: int = 220) -> hv.Overlay:
    """Points ``X`` (n, 2) and their images after each step (``{title: (n, 2)}``), coloured by
    the angle of the original point, drawn side by side on equal axes in one plot."""
    X = np.asarray(X, dtype=float)
    hue = np.arctan2(X[:, 1], X[:, 0])
    panels = {"x": X, **{k: np.asarray(v, dtype=float) for k, v in steps.items()}}
    lim = max(1.2, max(float(np.abs(Y).max()) for Y in panels.values()) * 1.1)
    gap = 2.4 * lim
    xs, ys, cs = [], [], []
    frames = []
    for i, (title, Y) in enumerate(panels.items()):
        xs.append(Y[:, 0] + i * gap)
        ys.append(Y[:, 1])
        cs.append(hue)
        x0 = i * gap
        frames.append(hv.Bounds((x0 - lim, -lim, x0 + lim, lim)).opts(color="#dddddd"))
    pts = hv.Points({"x": np.concatenate(xs), "y": np.concatenate(ys), "angle": np.concatenate(cs)},
                    ["x", "y"], "angle").opts(color="angle", cmap="colorwheel", size=5)
    titles = hv.Labels({"x": [i * gap for i in range(len(panels))], "y": [lim * 1.1] * len(panels),
                        "text": list(panels)}, ["x", "y"], "text").opts(text_font_size="10pt", text_baseline="bottom")
    n = len(panels)
    return hv.Overlay(frames + [pts, titles]).opts(
        width=int(size * n * 1.1), height=int(size * 1.15), xlim=(-lim, (n - 1) * gap + lim), ylim=(-lim, lim * 1.3),
        xaxis=None, yaxis=None, **SAVE_ONLY, show_legend=False, data_aspect=1)


def effect_heatmap(E, factors, title: str = "", width: int = 330, height: int = 240) -> hv.HeatMap:
    """A direction × factor effect matrix as a heat map (each row normalised to sum 1, the value
    shown on hover is the raw effect)."""
    E = np.asarray(E, dtype=float)
    P = E / np.maximum(E.sum(1, keepdims=True), 1e-12)
    data = [(str(f), f"d{i + 1}", float(P[i, j]), float(E[i, j])) for i in range(E.shape[0])
            for j, f in enumerate(factors)]
    hm = hv.HeatMap(data, ["factor", "direction"], ["share", "effect"])
    labels = hv.Labels(hm).opts(text_font_size="9pt", text_color="black")
    return (hm.opts(cmap="Blues", clim=(0, 1), colorbar=True, tools=["hover"], invert_yaxis=True)
            * labels).opts(title=title, width=width, height=height, **SAVE_ONLY)
