"""HoloViews builders for the latent-directions explorer: image grids, spectra, curves."""

from __future__ import annotations

import holoviews as hv
import numpy as np
from ._toolbar import SAVE_ONLY

__all__ = ["to_rgb", "image_grid", "spectrum_bars", "curves", "grouped_bars"]


def to_rgb(images, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Images (..., C, H, W) in [lo, hi] (torch or numpy, C = 1 or 3) → uint8 (..., H, W, 3)."""
    x = images.detach().cpu().float().numpy() if hasattr(images, "detach") else np.asarray(images, dtype=np.float32)
    x = np.clip((x - lo) / (hi - lo), 0, 1)
    x = np.moveaxis(x, -3, -1)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return (x * 255 + 0.5).astype(np.uint8)


def image_grid(images, title: str = "", pad: int = 2, scale: int = 1, width: int | None = None,
               row_labels=None, col_labels=None, lo: float = -1.0, hi: float = 1.0) -> hv.RGB:
    """A grid of images (rows, cols, C, H, W) (or (n, C, H, W): one row) as one ``hv.RGB``."""
    rgb = to_rgb(images, lo, hi)
    if rgb.ndim == 4:
        rgb = rgb[None]
    r, c, h, w, _ = rgb.shape
    if scale > 1:
        rgb = rgb.repeat(scale, axis=2).repeat(scale, axis=3)
        h, w = h * scale, w * scale
    canvas = np.full((r * (h + pad) + pad, c * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(r):
        for j in range(c):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            canvas[y:y + h, x:x + w] = rgb[i, j]
    H, W = canvas.shape[:2]
    el = hv.RGB(canvas, bounds=(0, 0, W, H))
    plot_w = width or min(900, W * 2)
    opts = dict(title=title, xaxis=None, yaxis=None, width=plot_w, height=int(plot_w * H / W), **SAVE_ONLY)
    el = el.opts(**opts)
    overlays = [el]
    if col_labels is not None:
        xs = [pad + j * (w + pad) + w / 2 for j in range(c)]
        overlays.append(hv.Labels((xs, [H - 1] * c, [str(s) for s in col_labels])).opts(
            text_font_size="8pt", text_color="black", text_baseline="top"))
    if row_labels is not None:
        ys = [H - (pad + i * (h + pad)) - 8 for i in range(r)]
        overlays.append(hv.Labels(([4] * r, ys, [str(s) for s in row_labels])).opts(
            text_font_size="8pt", text_color="white", text_align="left"))
    return hv.Overlay(overlays).opts(title=title, **SAVE_ONLY) if len(overlays) > 1 else el


def spectrum_bars(values, title: str, ylabel: str, selected: int | None = None, width: int = 360,
                  height: int = 240, color: str = "#4c78a8") -> hv.Bars:
    """Bars of a spectrum (eigenvalues, explained variance, singular values), 1-based."""
    v = np.asarray(values, dtype=float)
    data = [(str(i + 1), float(x)) for i, x in enumerate(v)]
    bars = hv.Bars(data, "component", ylabel).opts(title=title, width=width, height=height, color=color,
                                                     tools=["hover"], **SAVE_ONLY)
    return bars


def curves(series: dict, x=None, title: str = "", xlabel: str = "x", ylabel: str = "y", logy: bool = False,
           width: int = 420, height: int = 260) -> hv.Overlay:
    """Several named curves (dict name → values) over a shared x."""
    out = []
    for name, y in series.items():
        y = np.asarray(y, dtype=float)
        xs = np.arange(1, len(y) + 1) if x is None else np.asarray(x)
        out.append(hv.Curve((xs, y), xlabel, ylabel, label=str(name)).opts(tools=["hover"]))
    return hv.Overlay(out).opts(title=title, width=width, height=height, logy=logy, legend_position="right",
                                **SAVE_ONLY)


def grouped_bars(table: np.ndarray, groups, categories, title: str = "", ylabel: str = "value",
                 width: int = 520, height: int = 260) -> hv.Bars:
    """Grouped bars: ``table[i, j]`` for group ``groups[i]`` and category ``categories[j]``."""
    data = [(str(g), str(c), float(table[i, j])) for i, g in enumerate(groups) for j, c in enumerate(categories)]
    return hv.Bars(data, ["group", "category"], ylabel).opts(title=title, width=width, height=height,
                                                              tools=["hover"], **SAVE_ONLY, xlabel="")
