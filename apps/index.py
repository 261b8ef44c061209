"""Index page listing every dashboard (``spectral-explorer serve`` shows it at ``/``)."""

import panel as pn

from spectral_explorer.explorers import dashboard_page

pn.extension(notifications=False)

#: (app name = URL path, title, one-line description); add one row per dashboard in apps/
DASHBOARDS = [
    ("heat_geodesics", "Heat geodesics",
     "Watch heat diffuse on a point cloud; turn the heat kernel into geodesic distances and an "
     "embedding (Huguet et al., NeurIPS 2023), against shortest paths, diffusion maps, PHATE and t-SNE."),
    ("positional_encodings", "Positional encodings",
     "Colour graphs by Laplacian eigenvectors, RWPE and sinusoids; flip signs and rotate repeated eigenspaces; "
     "measure stability against SPE (Huang et al., ICLR 2024); train a GIN with each encoding."),
    ("eigenspace", "Eigenspace projections",
     "Compensate a compressed weight with a low-rank correction: plain SVD vs EoRA's activation-eigenspace "
     "weighting, on a 2-D toy and on MiniLM's layers (spectra, error vs rank, embedding fidelity); PiSSA's split."),
]


def _available():
    from pathlib import Path

    here = Path(__file__).resolve().parent
    listed = {name for name, _, _ in DASHBOARDS}
    extra = [(p.stem, p.stem.replace("_", " ").capitalize(), "")
             for p in sorted(here.glob("*.py")) if p.stem not in listed | {"index"} and not p.stem.startswith("_")]
    return [d for d in DASHBOARDS if (here / f"{d[0]}.py").exists()] + extra


def _card(name, title, description):
    return pn.pane.HTML(
        f'<div class="app-card"><h3><a href="./{name}" id="link-{name}">{title}</a></h3>'
        f"<p>{description}</p></div>",
        sizing_mode="stretch_width",
        stylesheets=[".app-card{border:1px solid #ddd;border-radius:6px;padding:4px 16px;margin:6px 0}"
                     ".app-card h3 a{text-decoration:none;color:#234a6b}"],
    )


template = dashboard_page("spectral_explorer dashboards", "Visualizable spectral algorithms. Pick a dashboard:",
                          pn.Column(*[_card(*d) for d in _available()], sizing_mode="stretch_width"),
                          max_width="900px")
template.servable(title="spectral_explorer")
