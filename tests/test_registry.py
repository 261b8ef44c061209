"""The dashboard registry is the one list of dashboards: apps/, the index page and serve read it."""

from __future__ import annotations

from pathlib import Path

import pytest

import panel as pn

from spectral_explorer.explorers import registry
from spectral_explorer.explorers.registry import DASHBOARDS, Dashboard, asset_path, get

REPO = Path(__file__).resolve().parents[1]


def test_names_are_unique_slugs_with_title_description_and_thumbnail():
    names = [d.name for d in DASHBOARDS]
    assert len(set(names)) == len(names) >= 3
    for d in DASHBOARDS:
        assert isinstance(d, Dashboard)
        assert d.name.isidentifier() and d.name == d.name.lower()
        assert d.title and d.description and "\n" not in d.description
        assert callable(d.factory)
        assert asset_path(d.thumbnail).is_file()
    with pytest.raises(Exception):
        DASHBOARDS[0].name = "other"  # frozen


def test_apps_folder_holds_one_entry_point_per_registered_dashboard_and_the_index():
    apps = {p.stem for p in (REPO / "apps").glob("*.py") if not p.name.startswith("_")}
    assert apps == {*registry.names(), "index", "glossary"}
    for d in DASHBOARDS:
        text = (REPO / "apps" / f"{d.name}.py").read_text()
        assert f'get("{d.name}")' in text and ".servable(" in text


def test_get_names_the_allowed_dashboards():
    assert get("heat_geodesics").title == "Heat geodesics"
    with pytest.raises(KeyError, match="one of heat_geodesics, positional_encodings, eigenspace, latent_directions"):
        get("nope")


def test_asset_path_stays_in_the_assets_folder():
    with pytest.raises(ValueError, match="plain file name"):
        asset_path("../cli.py")
    with pytest.raises(FileNotFoundError, match="assets"):
        asset_path("missing.png")


def test_thumbnails_are_small_pngs_of_the_gallery_size():
    from PIL import Image

    for d in DASHBOARDS:
        path = asset_path(d.thumbnail)
        assert path.stat().st_size < 80_000
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size == registry.THUMBNAIL_SIZE


def test_make_thumbnail_crops_the_views_and_scales(tmp_path):
    """The thumbnail shows the views (right of the controls, below the intro), not the page's top."""
    from PIL import Image

    src = tmp_path / "shot.png"
    shot = Image.new("RGB", (1600, 1200), "white")
    x0, y0 = registry.VIEW_ORIGIN
    shot.paste((200, 0, 0), (0, 0, 1600, y0))          # title bar and intro: red
    shot.paste((0, 0, 200), (0, 0, x0, 1200))          # control column: blue
    shot.paste((0, 160, 0), (x0, y0, 1600, 1200))      # views: green
    shot.save(src)
    out = registry.make_thumbnail(src, tmp_path / "thumb.png")
    with Image.open(out) as im:
        assert im.size == registry.THUMBNAIL_SIZE
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert all(g > 100 and r < 60 and b < 60 for r, g, b in colours), colours
    small = tmp_path / "small.png"
    Image.new("RGB", (500, 400), "white").save(small)     # too small for the origin: from the corner
    with Image.open(registry.make_thumbnail(small, tmp_path / "t2.png")) as im:
        assert im.size == registry.THUMBNAIL_SIZE


def test_gallery_cards_escape_text_and_embed_thumbnails(monkeypatch):
    evil = Dashboard("x", "<b>T</b>", 'say "hi" <script>alert(1)</script>', "thumb_eigenspace.png", lambda: None)
    card = registry._card(evil)
    assert "<script>" not in card and "&lt;script&gt;" in card and "&lt;b&gt;T&lt;/b&gt;" in card
    assert 'src="data:image/png;base64,' in card and 'id="link-x"' in card
    html = registry._card(DASHBOARDS[0])
    assert "http" not in html  # nothing requested from another host


def test_index_page_has_a_card_per_dashboard():
    page = registry.index_page()
    html = page.main[1].object
    for d in DASHBOARDS:
        assert f'id="link-{d.name}"' in html and f'href="./{d.name}"' in html
    assert html.count('class="app-card"') == len(DASHBOARDS)


def test_teachers_guide_lists_every_dashboards_url_parameters():
    """The teachers' guide's URL table names exactly the parameters each explorer keeps in the URL."""
    import re
    from pathlib import Path

    from spectral_explorer.explorers import (EigenspaceExplorer, HeatGeodesicExplorer, HouseholderExplorer,
                                             LatentDirectionsExplorer, PositionalEncodingExplorer)
    from spectral_explorer.explorers.training import CycleCountTrainer

    readme = (Path(__file__).resolve().parents[1] / "docs" / "guides" / "teachers.md").read_text()
    expected = {"heat_geodesics": set(HeatGeodesicExplorer.url_params),
                "positional_encodings": set(PositionalEncodingExplorer.url_params) | set(CycleCountTrainer.url_params),
                "eigenspace": set(EigenspaceExplorer.url_params),
                "latent_directions": set(LatentDirectionsExplorer.url_params),
                "householder": set(HouseholderExplorer.url_params)}
    for name, params in expected.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `/{name}` |"))
        listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
        assert listed == params, (name, listed ^ params)


def test_the_glossary_served_and_the_notebooks_glossary_are_the_same_text():
    """The dashboards serve the packaged glossary at /glossary; JupyterLab opens only files below
    notebooks/, so the notebooks link an identical copy (after editing one: copy it over the other)."""
    assert registry.GLOSSARY.read_text(encoding="utf-8") == (REPO / "notebooks" / "GLOSSARY.md").read_text(encoding="utf-8")
    intro = registry.dashboard_page("t", "An intro.", pn.pane.Markdown("x")).main[0].object
    assert intro.endswith("[glossary](./glossary).")
