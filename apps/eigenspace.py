"""Eigenspace projections dashboard: ``panel serve apps/eigenspace.py`` (or ``spectral-explorer serve``)."""

import holoviews as hv
import panel as pn
import threadpoolctl

from spectral_explorer.explorers import EigenspaceExplorer, dashboard_page

# one BLAS thread: small dense eigendecompositions are slower with competing OpenBLAS threads
threadpoolctl.threadpool_limits(1, user_api="blas")
pn.extension("tabulator", notifications=False)
hv.extension("bokeh", logo=False)

TITLE = "Eigenspace projections"
INTRO = """
**Low-rank compensation of a compressed model in the activation eigenspace** (EoRA: *Training-free
Compensation for Compressed LLM with Eigenspace Low-Rank Approximation*; PiSSA). A compressed weight
Ŵ misses W by ΔW; a rank-r correction B A should minimise the error **on real inputs**,
‖X(ΔW − BA)ᵀ‖ = ‖(ΔW − BA) C^½‖ with C = XᵀX = QΛQᵀ, not ‖ΔW − BA‖. EoRA takes the SVD of ΔW Q Λ^½.
Start with the 2-D toy (move the anisotropy), then open the MiniLM tabs (all-MiniLM-L6-v2, loaded and
calibrated once on standard-library docstrings in a few seconds; the *Model fidelity* tab computes
all 36 layers at ranks 4–128 on demand, about half a minute).
"""

explorer = EigenspaceExplorer()
dashboard = explorer.panel()

# the state travels in the URL (?layer=…&compression=rtn4&rank=32&n_calib=128): bookmark or share a view
URL_PARAMS = ("anisotropy", "toy_angle", "toy_seed", "layer", "compression", "rank", "n_calib", "n_heldout",
              "text_seed", "max_length")


def _allowed(name):
    p = explorer.param[name]
    if getattr(p, "objects", None):
        return f"{name} one of {', '.join(map(str, p.objects))}"
    if getattr(p, "bounds", None):
        return f"{name} in {p.bounds[0]}…{p.bounds[1]}"
    return name


def _bad_url(values):
    """Apply the valid URL values one by one; report only the ones that are not allowed."""
    bad = {}
    for k, v in values.items():
        try:
            explorer.param.update({k: v})
        except Exception:
            bad[k] = v
    if bad:
        explorer.error = (f"could not apply the URL parameters {bad}; allowed: "
                          + "; ".join(_allowed(k) for k in sorted(bad) if k in URL_PARAMS))


if pn.state.location:
    pn.state.location.sync(explorer, {k: k for k in URL_PARAMS}, on_error=_bad_url)

template = dashboard_page(TITLE, INTRO, dashboard)
template.servable(title=TITLE)
