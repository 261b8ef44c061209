"""The dashboard registry: the one list of dashboards that the index page, ``spectral-explorer
serve``, the ``apps/*.py`` entry points and the tests read.

Each :class:`Dashboard` names its URL slug, title, one-line description, gallery thumbnail (a
file in the packaged ``spectral_explorer/assets/`` folder) and a zero-argument ``factory``
that builds the servable page for one session.  The explorer classes are imported inside the
factories, so importing this module does not import the explorers.

>>> [d.name for d in DASHBOARDS]
['heat_geodesics', 'positional_encodings', 'eigenspace', 'latent_directions', 'householder']
>>> get("eigenspace").title
'Eigenspace projections'
>>> asset_path(get("eigenspace").thumbnail).is_file()
True
"""

from __future__ import annotations

import base64
import html
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import panel as pn

from ._common import dashboard_page, release_memory_soon, serve_styles_locally
from ._tour import load_tour

#: the packaged folder of screenshots and gallery thumbnails
ASSETS = Path(__file__).resolve().parents[1] / "assets"

#: gallery thumbnail size (width, height) in pixels: the top of a screenshot, scaled down
THUMBNAIL_SIZE = (480, 300)

INDEX_TITLE = "spectral_explorer dashboards"


@dataclass(frozen=True)
class Dashboard:
    """One served dashboard.

    Parameters
    ----------
    name : str
        URL slug (``/name``) and the name of its ``apps/name.py`` entry point.
    title : str
        Page and card title.
    description : str
        One line for the gallery card.
    thumbnail : str
        File name in the packaged assets folder (see :func:`asset_path`).
    factory : callable
        Zero-argument callable returning the servable page (a Panel template) for one session.
    warm : callable or None
        Zero-argument callable that computes what a session opened with the default parameters
        needs into the process-wide shared stages (see :func:`warm_shared_stages`).
    """

    name: str
    title: str
    description: str
    thumbnail: str
    factory: Callable[[], pn.template.BaseTemplate]
    warm: Callable[[], object] | None = None


def _session_setup(*extensions: str):
    """What every dashboard session sets up before it builds its explorer."""
    import holoviews as hv
    import threadpoolctl

    # one BLAS thread: the small dense steps (eigh, landmark MDS, ...) run 10-100x slower when
    # OpenBLAS threads compete with torch's and with other sessions for a few cores
    threadpoolctl.threadpool_limits(1, user_api="blas")
    # every page may offer an upload (the file dropper's scripts come from this server)
    pn.extension("filedropper", *extensions, notifications=False)
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        # once per process: re-running it rebuilds HoloViews' option builders (~20 ms a page)
        hv.extension("bokeh", logo=False)
    serve_styles_locally()
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:   # a closed class gives its memory back
        doc.on_session_destroyed(release_memory_soon)
        from ._closed_pages import install   # a page closed mid-update: one INFO line, no traceback
        install()


def _page(title: str, intro: str, explorer):
    """Wrap ``explorer`` in the dashboard template; its declared URL parameters follow the URL."""
    explorer.sync_url()
    return dashboard_page(title, intro, explorer.panel())


HEAT_INTRO = """
**Heat diffusion → geodesic distances → embedding** (Huguet et al., *A Heat Diffusion Perspective on
Geodesic Preserving Dimensionality Reduction*, NeurIPS 2023). Varadhan's formula
−4t·log H<sub>t</sub>(x, y) → d(x, y)² turns the heat kernel of a manifold into its geodesic distance;
its twin for backward-Euler steps, the resolvent (I + sL)<sup>−1</sup>, is the screened
law −√s·log R<sub>s</sub>(x, y) → d(x, y), used here. On a graph neither limit s, t → 0 is available,
so the default graph is *metric* (weights **length**: conductances calibrated so that the Laplacian
approximates the Laplace–Beltrami operator, with the graph's own screening factor divided out: the
distances come out in the units of the data); **alpha** is the paper's alpha-decay graph, whose heat
counts hops. Move **t** (or press play)
to watch heat spread and the embedding change; tap a point to move the heat source; compare with the
alpha-decay graph, the rank-faithful option, shortest paths, Isomap, UMAP, diffusion maps, PHATE or
t-SNE. Ground-truth geodesics give Spearman ρ (ranks), Pearson r and the log-log slope (shape).
"""

PE_INTRO = """
**Laplacian eigenvectors as positional encodings, their ambiguity and instability, and stable alternatives**
(Huang et al., *On the Stability of Expressive Positional Encodings for Graphs*, ICLR 2024).
Colour a graph by an eigenvector (LapPE), a random-walk return probability (RWPE) or a sinusoid; flip its
sign or rotate it inside a repeated eigenspace and watch the encoding change while the eigenspace projector
does not; perturb an edge by ε and compare how far raw eigenvectors, projectors and SPE move; see why
sinusoids *are* the cycle's eigenvectors; train a GIN with each encoding on cycle counting.
"""

EIGENSPACE_INTRO = """
**Low-rank compensation of a compressed model in the activation eigenspace** (EoRA: *Training-free
Compensation for Compressed LLM with Eigenspace Low-Rank Approximation*; PiSSA). A compressed weight
Ŵ misses W by ΔW; a rank-r correction B A should minimise the error **on real inputs**,
‖X(ΔW − BA)ᵀ‖ = ‖(ΔW − BA) C^½‖ with C = XᵀX = QΛQᵀ, not ‖ΔW − BA‖. EoRA takes the SVD of ΔW Q Λ^½.
Start with the 2-D toy (move the anisotropy), then open the MiniLM tabs (all-MiniLM-L6-v2, loaded and
calibrated once on standard-library docstrings in a few seconds; the *Model fidelity* tab computes
all 36 layers at ranks 4–128 on demand, about half a minute).
"""


LATENT_INTRO = """
**Interpretable directions in a generator's latent space, found by eigendecompositions.** SeFa (Shen & Zhou,
CVPR 2021): the top eigenvectors of AᵀA of the layer that reads z. GANSpace (Härkönen et al., NeurIPS 2020):
PCA of a layer's activations over sampled latents, mapped back to z, sliders in σ units. Image-specific
directions: the top right singular vectors of the Jacobian ∂G/∂z at one face (power iteration). h-space (Haas
et al., FG 2024): PCA of a diffusion U-Net's bottleneck along DDIM trajectories, and supervised "turn a into b"
edits with a second attribute projected out. The faces come from a pretrained 64×64 DCGAN (package
gan-face-generate), the digits from a small diffusion model trained in this project; everything runs offline.
"""


def heat_geodesics_page():
    """The heat-geodesics dashboard for one session."""
    _session_setup()
    from .heat_geodesics import HeatGeodesicExplorer

    return _page("Heat geodesics", HEAT_INTRO, HeatGeodesicExplorer())


def positional_encodings_page():
    """The positional-encodings dashboard for one session."""
    _session_setup()
    from .positional_encodings import PositionalEncodingExplorer

    return _page("Positional encodings", PE_INTRO, PositionalEncodingExplorer())


def eigenspace_page():
    """The eigenspace-projections dashboard for one session (its state travels in the URL:
    ``?layer=…&compression=rtn4&rank=32&n_calib=128``, so a view can be bookmarked)."""
    _session_setup("tabulator")
    from .eigenspace import EigenspaceExplorer

    return _page("Eigenspace projections", EIGENSPACE_INTRO, EigenspaceExplorer())


def latent_directions_page():
    """The latent-directions dashboard for one session (``?method=ganspace&seed=7&c1=2``)."""
    _session_setup()
    from .latent_directions import LatentDirectionsExplorer

    return _page("Latent directions", LATENT_INTRO, LatentDirectionsExplorer())


def householder_page():
    """The Householder-projector dashboard for one session (``?m1=30&rank=3&singular_values=fixed``)."""
    _session_setup()
    from .householder import HouseholderExplorer, intro

    # the paper's idea, then what the study measured (from its recorded run) and the departures
    return _page("Householder projectors", intro(), HouseholderExplorer())


def _warm_heat_geodesics():
    from .heat_geodesics import HeatGeodesicExplorer

    HeatGeodesicExplorer()   # its first computation fills the shared stages


def _warm_positional_encodings():
    from .positional_encodings import PositionalEncodingExplorer

    PositionalEncodingExplorer()


def _warm_eigenspace():
    from .eigenspace import EigenspaceExplorer

    EigenspaceExplorer()


def _warm_latent_directions():
    from .latent_directions import LatentDirectionsExplorer

    LatentDirectionsExplorer()   # the face generator, SeFa and GANSpace directions


def _warm_householder():
    from .householder import HouseholderExplorer

    # its default page computes only per-session 2-D frames (instant); its Faces tab reads the
    # shared face generator (the same stage as latent directions')
    HouseholderExplorer()._gan()


DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard(
        "heat_geodesics", "Heat geodesics",
        "Watch heat diffuse on a point cloud; turn the heat kernel into geodesic distances and an "
        "embedding (Huguet et al., NeurIPS 2023), against shortest paths, diffusion maps, PHATE and t-SNE.",
        "thumb_heat_geodesics.png", heat_geodesics_page, _warm_heat_geodesics),
    Dashboard(
        "positional_encodings", "Positional encodings",
        "Colour graphs by Laplacian eigenvectors, RWPE and sinusoids; flip signs and rotate repeated "
        "eigenspaces; measure stability against SPE (Huang et al., ICLR 2024); train a GIN with each encoding.",
        "thumb_positional_encodings.png", positional_encodings_page, _warm_positional_encodings),
    Dashboard(
        "eigenspace", "Eigenspace projections",
        "Compensate a compressed weight with a low-rank correction: plain SVD vs EoRA's activation-eigenspace "
        "weighting, on a 2-D toy and on MiniLM's layers (spectra, error vs rank, embedding fidelity); PiSSA's split.",
        "thumb_eigenspace.png", eigenspace_page, _warm_eigenspace),
    Dashboard(
        "latent_directions", "Latent directions",
        "Slide a real GAN face along SeFa and GANSpace directions in σ units; find the Jacobian directions of "
        "one image; explore the h-space of a small diffusion model of digits (PCs, supervised edits, projection).",
        "thumb_latent_directions.png", latent_directions_page, _warm_latent_directions),
    Dashboard(
        "householder", "Householder projectors",
        "Build orthogonal frames mirror by mirror; train a generator live with a low-rank Householder projector "
        "on a world of ellipses with known factors; rotate its frames (same map, other directions); compress "
        "the face DCGAN's first layer.",
        "thumb_householder.png", householder_page, _warm_householder),
)


def warm_shared_stages(dashboards=None, freeze: bool = False) -> threading.Thread | None:
    """Compute every dashboard's default stages into the shared cache in a background thread
    (``spectral-explorer serve`` calls it in each server process at start): the first student of
    a class then opens a page built from shared results instead of computing them on the
    server's event loop, where every other session would wait.  A session that asks for a stage
    while it is being warmed waits for it rather than computing it twice.  Returns the thread,
    or None when the shared cache is off (``SPECTRAL_EXPLORER_SHARED_CACHE=0``).  Failures are
    logged, never raised: a session then computes (and reports) for itself.  ``freeze``: then
    move everything the process holds out of the garbage collector's full passes (a server
    process, not a test run)."""
    import gc
    import logging

    from ._common import shared_cache_enabled

    if not shared_cache_enabled():
        return None
    todo = [d for d in (dashboards or DASHBOARDS) if d.warm is not None]

    def work():
        import threadpoolctl

        threadpoolctl.threadpool_limits(1, user_api="blas")   # as the sessions run
        for d in todo:
            try:
                d.warm()
            except Exception:  # noqa: BLE001 - a session will report it in its page
                logging.getLogger(__name__).warning("warming %s failed", d.name, exc_info=True)
        # what the process holds now (libraries, shared results) stays: keep it out of the
        # garbage collector's full passes, which otherwise pause the event loop for ~0.5 s
        # each time a class's sessions have grown the heap by a quarter
        if freeze:
            gc.collect()
            gc.freeze()

    thread = threading.Thread(target=work, name="warm-shared-stages", daemon=True)
    thread.start()
    return thread


def names() -> list[str]:
    """The URL slugs of every dashboard, in gallery order."""
    return [d.name for d in DASHBOARDS]


def get(name: str) -> Dashboard:
    """The dashboard called ``name``; a ``KeyError`` naming the allowed names otherwise.

    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "no dashboard named 'nope'; one of heat_geodesics, positional_encodings, eigenspace, latent_directions, householder"
    """
    for d in DASHBOARDS:
        if d.name == name:
            return d
    raise KeyError(f"no dashboard named {name!r}; one of {', '.join(names())}")


def asset_path(filename: str) -> Path:
    """Path of ``filename`` in the packaged assets folder (a ``ValueError`` for names that would
    leave it, a ``FileNotFoundError`` naming the folder when the file is missing)."""
    path = ASSETS / filename
    if Path(filename).name != filename:
        raise ValueError(f"asset filename must be a plain file name, got {filename!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no asset {filename!r} in {ASSETS}")
    return path


#: where the views are in a 1600-px-wide dashboard screenshot: right of the 300-px control
#: column, below the title bar, introduction and status row
VIEW_ORIGIN = (310, 235)


def make_thumbnail(screenshot: str | Path, out: str | Path, size: tuple[int, int] = THUMBNAIL_SIZE,
                   origin: tuple[int, int] = VIEW_ORIGIN) -> Path:
    """Write a gallery thumbnail: the region of ``screenshot`` that starts at ``origin`` (the
    views, so the plots are large enough to read), at ``size``'s aspect ratio, scaled to
    ``size`` and reduced to a 256-colour palette (a few tens of KB; Pillow, which Bokeh
    depends on).  An image too small for ``origin`` is taken from its top-left corner.
    Returns ``out``."""
    from PIL import Image

    w, h = size
    with Image.open(screenshot) as im:
        im = im.convert("RGB")
        x0, y0 = origin if im.width > origin[0] + w and im.height > origin[1] + h else (0, 0)
        crop_w = min(im.width - x0, 1020)
        crop_h = min(im.height - y0, round(crop_w * h / w))
        crop_w = round(crop_h * w / h)
        thumb = im.crop((x0, y0, x0 + crop_w, y0 + crop_h)).resize(size, Image.LANCZOS)
    out = Path(out)
    thumb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def refresh_thumbnail(name: str, origin: tuple[int, int] = VIEW_ORIGIN) -> Path:
    """Regenerate dashboard ``name``'s thumbnail from its screenshot ``assets/NAME.png``, the
    views taken from ``origin`` (x, y) in the screenshot."""
    d = get(name)
    return make_thumbnail(ASSETS / f"{d.name}.png", ASSETS / d.thumbnail, origin=origin)


_CARD_CSS = """
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:18px;margin:8px 0}
.app-card{border:1px solid #ddd;border-radius:6px;overflow:hidden;background:#fff;display:flex;flex-direction:column}
.app-card img{width:100%;height:auto;display:block;border-bottom:1px solid #eee}
.app-card h2{margin:10px 14px 4px;font-size:1.15em}
.app-card h2 a{text-decoration:none;color:#234a6b}
.app-card p{margin:0 14px 12px;color:#333;font-size:0.92em;line-height:1.35}
.app-card details{margin:0 14px 12px;font-size:0.9em}
.app-card summary{cursor:pointer;color:#234a6b}
.app-card ol{margin:6px 0 0 0;padding-left:22px}
.app-card ol a{color:#234a6b}
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _card(d: Dashboard) -> str:
    name, title, text = (html.escape(s, quote=True) for s in (d.name, d.title, d.description))
    try:
        img = (f'<a href="./{name}" tabindex="-1"><img src="{_data_uri(asset_path(d.thumbnail))}" '
               f'alt="{title}" width="{THUMBNAIL_SIZE[0]}" height="{THUMBNAIL_SIZE[1]}"></a>')
    except (FileNotFoundError, ValueError):
        img = ""
    return (f'<div class="app-card">{img}<h2><a href="./{name}" id="link-{name}">{title}</a></h2>'
            f"<p>{text}</p>{_tour_links(d)}</div>")


def _tour_links(d: Dashboard) -> str:
    """The teacher's view of a card: the dashboard's guided-tour steps, each a link to
    ``./NAME?tour=N`` titled with the step (for slides); empty when it has no tour."""
    steps = load_tour(d.name)
    if not steps:
        return ""
    name = html.escape(d.name, quote=True)
    items = "".join(f'<li><a href="./{name}?tour={i}" id="tour-{name}-{i}" class="tour-link">'
                    f"{html.escape(s.title, quote=True)}</a></li>" for i, s in enumerate(steps, 1))
    return (f'<details class="tour-steps" open><summary>Guided tour: {len(steps)} steps</summary>'
            f"<ol>{items}</ol></details>")


def index_page():
    """The gallery page served at ``/``: one card per dashboard (thumbnail embedded in the page,
    title linking to ``./NAME``, description, and the teacher's view: its guided-tour steps as
    links ``./NAME?tour=N``)."""
    pn.extension(notifications=False)
    cards = pn.pane.HTML('<div class="gallery">' + "".join(_card(d) for d in DASHBOARDS) + "</div>",
                         sizing_mode="stretch_width", stylesheets=[_CARD_CSS])
    return dashboard_page(INDEX_TITLE, "Visualizable spectral algorithms. Pick a dashboard:", cards,
                          max_width="1100px")


#: the glossary shared by the dashboards (``/glossary``) and the notebooks (``notebooks/GLOSSARY.md``,
#: an identical copy, since JupyterLab opens only files below its notebook folder)
GLOSSARY = ASSETS / "glossary.md"


def markdown_with_math(text: str) -> str:
    r"""Markdown with ``$…$`` / ``$$…$$`` formulas as HTML whose formulas KaTeX's auto-render
    typesets (what JupyterLab does with the same file): the formulas are set aside before the
    Markdown is parsed — so ``_``, ``*`` and table pipes inside them stay TeX — and put back
    HTML-escaped.

    >>> out = markdown_with_math("| a | $\|v\|_2 * x_1 < y$ |\n|---|---|\n| **b** | c |")
    >>> "<th>$\|v\|_2 * x_1 &lt; y$</th>" in out and "<td><strong>b</strong></td>" in out
    True
    """
    import re

    from markdown_it import MarkdownIt

    formulas: list[str] = []

    def set_aside(m):
        formulas.append(html.escape(m.group(0), quote=False))
        return f"@@math{len(formulas) - 1}@@"   # text Markdown leaves alone
    protected = re.sub(r"\$\$.+?\$\$|\$[^$\n]+?\$", set_aside, text, flags=re.S)
    out = MarkdownIt("commonmark", {"html": False}).enable("table").render(protected)
    return re.sub(r"@@math(\d+)@@", lambda m: formulas[int(m.group(1))], out)


def glossary_page():
    """The glossary served at ``/glossary`` (every dashboard's introduction links it): the
    packaged Markdown as HTML, its formulas typeset by KaTeX (bundled with Panel, served
    locally)."""
    pn.extension("katex", notifications=False)
    import re

    # the page's title bar is its one h1 ("Glossary"): the file's own title goes, its sections stay h2
    source = re.sub(r"\A# [^\n]*\n", "", GLOSSARY.read_text(encoding="utf-8"))
    text = markdown_with_math(source)
    body = pn.pane.LaTeX(text, renderer="katex", sizing_mode="stretch_width", css_classes=["glossary"],
                         stylesheets=["table {border-collapse: collapse; margin: 0.5em 0 1em}"
                                      " th, td {border-bottom: 1px solid #ddd; padding: 4px 8px;"
                                      " text-align: left; vertical-align: top}"])
    return dashboard_page("Glossary", "Terms used across the dashboards and the notebooks "
                          "([all dashboards](./)).", body, max_width="1100px", glossary=False)


def load_model_classes():
    """Import every Bokeh model class a served page may contain (Panel's and HoloViews'), so a
    Bokeh client (``bokeh.client.pull_session``: load tests, scripted checks) can read the
    documents the dashboards send."""
    import importlib
    import pkgutil

    import holoviews.plotting.bokeh  # noqa: F401
    import panel.models

    for mod in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{mod.name}")
        except Exception:  # noqa: BLE001 - optional models (e.g. missing extras)
            pass


def outside_urls(doc, local_hosts=("127.0.0.1", "localhost")) -> list[str]:
    """The stylesheet, script and image URLs in a served document ``doc`` (its models'
    properties) that point at another host than this machine — what an offline page could
    not load.  Relative URLs are local."""
    from urllib.parse import urlparse

    from bokeh.models import ImportedStyleSheet

    found = []
    for m in doc.models:
        urls = [str(m.url)] if isinstance(m, ImportedStyleSheet) else []
        for name in ("css", "js_files", "stylesheets"):
            value = getattr(m, name, None)
            if isinstance(value, (list, tuple)):
                urls += [v for v in value if isinstance(v, str) and "//" in v[:12]]
        for url in urls:
            host = urlparse(url).hostname
            if url.startswith(("http:", "https:", "//")) and host not in local_hosts:
                found.append(url)
    return sorted(set(found))

