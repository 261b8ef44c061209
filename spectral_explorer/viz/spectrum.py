"""The heat filter ``exp(−tλ)`` on a Laplacian spectrum and its approximations."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..heat import chebyshev_coefficients, chebyshev_filter

__all__ = ["spectrum_plot"]

_FLOOR = 1e-18


def spectrum_plot(evals, t: float, order: int = 30, lmax: float = 2.0, euler_steps: int = 1,
                  n_grid: int = 400) -> hv.Layout:
    """Left: ``exp(−tλ)`` over ``[0, λ_max]`` (log scale), its Chebyshev approximation of order
    ``order`` and the backward-Euler filter ``(1 + tλ/K)^{−K}``, with the graph's eigenvalues
    ``evals`` marked on the curve.  Right: absolute error of each approximation.

    >>> lay = spectrum_plot(np.linspace(0, 2, 10), t=5.0)
    >>> len(lay)
    2
    """
    lam = np.linspace(0.0, float(lmax), n_grid)
    exact = np.exp(-t * lam)
    cheb = chebyshev_filter(lam, chebyshev_coefficients(t, lmax, int(order)), lmax)
    euler = (1.0 + (t / euler_steps) * lam) ** (-float(euler_steps))
    ev = np.asarray(evals, dtype=np.float64)
    ev = ev[(ev >= 0) & (ev <= lmax)]
    common = dict(logy=True, width=430, height=300, show_grid=True, legend_position="bottom_left",
                  tools=["hover"], ylim=(_FLOOR, 2.0), framewise=True, xlabel="eigenvalue λ of L")
    neg = cheb <= 0
    curves = (
        hv.Curve((lam, exact), "λ", "filter", label="exp(−tλ)").opts(color="black", line_width=2.5)
        * hv.Curve((lam, np.clip(np.abs(cheb), _FLOOR, None)), "λ", "filter",
                   label=f"|Chebyshev K={order}|").opts(color="#d62728", line_dash="dashed")
        * hv.Scatter((lam[neg], np.clip(np.abs(cheb[neg]), _FLOOR, None)), "λ", "filter",
                     label="Chebyshev < 0").opts(color="#d62728", marker="x", size=5)
        * hv.Curve((lam, euler), "λ", "filter", label=f"Euler K={euler_steps}").opts(color="#1f77b4")
        * hv.Scatter((ev, np.clip(np.exp(-t * ev), _FLOOR, None)), "λ", "filter",
                     label=f"eigenvalues ({ev.size})").opts(color="black", size=4, alpha=0.6)
    ).opts(title=f"heat filter, t = {t:g}", ylabel="filter value g(λ) (gain, log)", **common)
    err = (
        hv.Curve((lam, np.clip(np.abs(cheb - exact), _FLOOR, None)), "λ", "abs error",
                 label="Chebyshev").opts(color="#d62728")
        * hv.Curve((lam, np.clip(np.abs(euler - exact), _FLOOR, None)), "λ", "abs error",
                   label="Euler").opts(color="#1f77b4")
        * hv.HLine(np.finfo(np.float64).eps).opts(color="gray", line_dash="dotted")
    ).opts(title="approximation error (dotted: machine ε)", ylabel="|g(λ) − exp(−tλ)| (absolute, log)",
           **{**common, "ylim": (_FLOOR, 10.0)})
    return (curves + err).opts(shared_axes=False)
