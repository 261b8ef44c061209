"""Guided tours: the step files parse, every step's parameters are URL parameters with allowed
values, applying every step leaves its explorer without errors and with the step's values, a bad
``tour`` value is reported with the allowed range, and the index lists the steps as escaped links."""

from __future__ import annotations

import json

import pytest

from spectral_explorer.explorers import _tour, registry
from spectral_explorer.explorers._tour import MAX_STEPS, MIN_STEPS, check_steps, load_tour, parse_steps

STEP = {"title": "t", "claim": "c", "question": "q?", "params": {"t": 2.0}, "answer": "a"}


def _classes():
    """Dashboard name -> the explorer class whose tour it is (every registered dashboard needs
    one: a new family adds ``tour_name``, ``tour`` and its steps file)."""
    import spectral_explorer.explorers  # noqa: F401 - imports every family explorer
    from spectral_explorer.explorers import Explorer

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    found = {c.tour_name: c for c in subclasses(Explorer)
             if c.tour_name and c.__module__.startswith("spectral_explorer.")}
    missing = [d.name for d in registry.DASHBOARDS if d.name not in found]
    assert not missing, f"dashboards without an explorer that takes their tour: {missing}"
    return found


@pytest.mark.parametrize("bad, words", [
    ([], "non-empty list"),
    ({"title": "x"}, "non-empty list"),
    ([dict(STEP, title="  ")], "step 1: title must be non-empty"),
    ([STEP, {k: v for k, v in STEP.items() if k != "answer"}], "step 2: missing answer"),
    ([dict(STEP, extra=1)], "unknown keys extra"),
    ([dict(STEP, params={})], "params must be a non-empty object"),
    ([dict(STEP, params=[["t", 2]])], "params must be a non-empty object"),
    ([dict(STEP, tab=3)], "tab must be a tab title"),
    ([STEP] * (MAX_STEPS + 1), f"at most {MAX_STEPS} steps"),
])
def test_malformed_tours_are_refused_with_the_step_named(bad, words):
    with pytest.raises(ValueError, match=words):
        parse_steps(bad, "demo.json")


def test_steps_keep_their_parameter_order():
    (step,) = parse_steps([dict(STEP, params={"method": "chebyshev", "order": 30, "t": 1.0}, tab="Numerics")])
    assert step.params == (("method", "chebyshev"), ("order", 30), ("t", 1.0))
    assert step.values == {"method": "chebyshev", "order": 30, "t": 1.0} and step.tab == "Numerics"


def test_check_steps_names_unknown_parameters_and_values_out_of_bounds():
    from spectral_explorer.explorers import EigenspaceExplorer

    steps = parse_steps([dict(STEP, params={"anisotropy": 500.0, "nope": 1, "tour": 1, "rank": 16})])
    problems = check_steps(EigenspaceExplorer, steps)
    assert len(problems) == 3, problems
    assert any("anisotropy=500.0" in p for p in problems)
    assert any("nope is not a URL parameter" in p for p in problems)
    assert any("tour is not a URL parameter" in p for p in problems)


@pytest.mark.parametrize("name", [d.name for d in registry.DASHBOARDS])
def test_every_dashboard_has_a_valid_tour(name):
    """4–8 steps; each step sets only URL parameters, to values their bounds / choices allow; the
    ``tour`` parameter's range is 0…M and it is in the URL state."""
    cls = _classes()[name]
    steps = load_tour(name)
    assert MIN_STEPS <= len(steps) <= MAX_STEPS
    assert check_steps(cls, steps) == []
    assert cls.tour_name == name and "tour" in cls.url_params
    assert cls.param.tour.bounds == (0, len(steps)) and cls.param.tour.default == 0
    assert len({s.title for s in steps}) == len(steps)
    # the file on disk is what was loaded (no silent drop)
    assert len(json.loads((_tour.TOURS / f"{name}.json").read_text(encoding="utf-8"))) == len(steps)


def _heat_page_numbers(ex):
    """The numbers a heat-tour answer quotes for the state its step sets, as the page shows them
    (metrics on the page's evaluation rows, comparisons, the kernel's entries ≤ 0)."""
    m = ex.metrics
    out = {"rho": m["embedding_spearman"], "heat_rho": m["heat_spearman"], "heat_slope": m["heat_slope"],
           "slope": m["embedding_slope"], "nonpositive": m["nonpositive_entries"]}
    if "shortest_path" in ex.compare:
        out["sp_rho"] = ex._compare_result("shortest_path")["embedding_spearman"]
    if "axis_r2" in m:
        out.update({f"r2 {k}": v for k, v in m["axis_r2"].items()})
    return out


#: heat tour: step -> the page numbers its answer quotes at the step's own parameters, and how
#: the answer writes them (a text that quotes a number the code no longer gives fails here)
HEAT_QUOTES = {
    2: lambda n: [f"{n['rho']:.3f} at t = 200", f"to {n['slope']:.2f} (t = 200)"],
    3: lambda n: [f"ρ stays {n['heat_rho']:.3f}", f"falls to {n['heat_slope']:.2f}", f"drops to {n['rho']:.3f}"],
    4: lambda n: [f"{n['nonpositive']:,}".replace(",", " ") + " of the 10⁶", f"falls to {n['rho']:.3f}"],
    5: lambda n: [f"ρ is {n['rho']:.2f} for heat geodesics and {n['sp_rho']:.2f} for shortest paths"],
    7: lambda n: [f"ρ {n['rho']:.2f} for heat geodesics and {n['sp_rho']:.2f} for shortest paths",
                  f"arc length R² {n['r2 arc length']:.2f}, height {n['r2 height']:.2f}"],
}


@pytest.mark.parametrize("name", [d.name for d in registry.DASHBOARDS])
def test_applying_every_step_leaves_the_explorer_without_errors(name):
    """Each step, applied in turn (as a class clicks through), sets exactly its values and the
    explorer computes without an error; an out-of-range step number is refused.  On the heat
    tour the numbers an answer quotes for its own state are recomputed (HEAT_QUOTES)."""
    ex = _classes()[name](threaded=False)
    steps = ex.tour_steps()
    for i, step in enumerate(steps, 1):
        ex.apply_tour_step(i)
        assert ex.error == "", (name, i, ex.error)
        for k, v in step.params:
            assert getattr(ex, k) == v, (name, i, k, getattr(ex, k), v)
        if name == "heat_geodesics" and i in HEAT_QUOTES:
            for quote in HEAT_QUOTES[i](_heat_page_numbers(ex)):
                assert quote in step.answer, (i, quote, step.answer)
    with pytest.raises(ValueError, match=f"1…{len(steps)}"):
        ex.apply_tour_step(len(steps) + 1)


def test_a_bad_tour_value_in_the_url_is_reported_with_the_range():
    from spectral_explorer.explorers import EigenspaceExplorer

    ex = EigenspaceExplorer(threaded=False)
    m = len(ex.tour_steps())
    for bad in (99, "abc", -1):
        ex.apply_url({"tour": bad, "anisotropy": 3.0})
        assert f"tour in 0…{m}" in ex.error and "could not apply" in ex.error
        assert ex.tour == 0 and ex.anisotropy == 3.0     # the valid value still applied
    ex.apply_url({"tour": 2})
    assert ex.tour == 2 and ex.error == ""


def test_the_tour_panel_shows_step_n_of_m_and_reveals_the_answer():
    from spectral_explorer.explorers import EigenspaceExplorer

    ex = EigenspaceExplorer(threaded=False)
    panel = _tour.tour_panel(ex)
    header, body, buttons, answer = panel.objects
    prev, nxt, reveal = buttons.objects
    m = len(ex.tour_steps())
    assert f"{m} steps" in header.object and not prev.visible and not reveal.visible
    nxt.clicks += 1
    nxt.clicks += 1
    step = ex.tour_steps()[1]
    assert ex.tour == 2 and f"Step 2 of {m}" in header.object and step.question in body.object
    assert not answer.visible and ex.anisotropy == 8.0
    before = ex.toy_errors
    reveal.clicks += 1
    assert answer.visible and step.answer.split(":")[0] in answer.object
    assert ex.anisotropy == step.values["anisotropy"] and ex.toy_errors != before
    prev.clicks += 1
    assert ex.tour == 1 and not answer.visible


def test_a_step_that_cannot_be_applied_is_reported_in_the_page_not_raised(monkeypatch):
    from spectral_explorer.explorers import EigenspaceExplorer

    ex = EigenspaceExplorer(threaded=False)
    bad = parse_steps([dict(STEP, params={"anisotropy": 500.0})] * 4)
    monkeypatch.setattr(ex, "tour_steps", lambda: bad)
    panel = _tour.tour_panel(ex)
    ex.tour = 1
    panel.objects[2].objects[2].clicks += 1            # the reveal button
    assert "anisotropy" in ex.error and not panel.objects[3].visible and ex.anisotropy == 8.0


def test_the_index_lists_each_dashboards_tour_steps_as_escaped_links(monkeypatch):
    page_html = registry.index_page().main[1].object
    for d in registry.DASHBOARDS:
        for i, s in enumerate(load_tour(d.name), 1):
            link = f'<a href="./{d.name}?tour={i}" id="tour-{d.name}-{i}" class="tour-link">'
            assert link in page_html
    evil = parse_steps([dict(STEP, title='<img src=x onerror="alert(1)">')] * 4)
    monkeypatch.setattr(registry, "load_tour", lambda name: evil)
    page_html = registry.index_page().main[1].object
    assert "<img src=x" not in page_html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page_html


# ---------------------------------------------------------------- small multiples

@pytest.fixture
def bokeh():
    import holoviews as hv

    hv.extension("bokeh", logo=False)    # the views' plot options need the backend, as in a page


def test_heat_small_multiples_agree_with_the_main_pipeline(bokeh):
    """Each cell of 't × method' is the embedding the explorer itself computes at that t and
    kernel (same graph, formula and σ), with the same Spearman ρ."""
    import numpy as np

    from spectral_explorer.explorers import HeatGeodesicExplorer
    from spectral_explorer.explorers.heat_geodesics import MULTIPLE_METHODS, MULTIPLE_TS

    ex = HeatGeodesicExplorer(n=200, threaded=False)
    ex.open_multiples()
    cells = ex._cache["multiples"][1]
    assert set(cells) == {(m, t) for m in MULTIPLE_METHODS for t in MULTIPLE_TS} and ex.error == ""
    for method, t in (("euler", 10.0), ("chebyshev", 50.0)):
        ex.param.update(method=method, t=t)
        Y, rho = cells[(method, t)]
        assert np.allclose(np.abs(Y), np.abs(ex.embedding), atol=1e-8)     # MDS axes are defined up to sign
        assert rho == pytest.approx(ex.metrics["embedding_spearman"], abs=1e-12)
    pane = ex._multiples_plot()
    assert type(pane.object).__name__ == "Layout" and len(pane.object) == len(cells) and ex.error == ""


def test_eigenspace_anisotropy_sweep_agrees_with_the_toy(bokeh):
    from spectral_explorer.explorers import EigenspaceExplorer
    from spectral_explorer.explorers.eigenspace import ANISOTROPY_GRID

    ex = EigenspaceExplorer(threaded=False, toy_seed=3, toy_angle=70.0)
    sweep = ex._toy_sweep()["errors"]
    for a in (1.0, 16.0):
        ex.anisotropy = a
        assert sweep[a] == pytest.approx({k: float(v) for k, v in ex.toy_errors.items()}, rel=1e-12)
    e = [sweep[a] for a in ANISOTROPY_GRID]
    assert all(x["EoRA"] <= x["SVD"] + 1e-9 <= x["none"] + 1e-9 for x in e)
    assert type(ex.view_anisotropy()).__name__ == "Layout" and ex.error == ""


def test_pe_stability_across_graphs_agrees_with_the_single_graph_sweep(bokeh):
    import numpy as np

    from spectral_explorer.explorers import PositionalEncodingExplorer
    from spectral_explorer.explorers.positional_encodings import STABILITY_GRAPHS

    ex = PositionalEncodingExplorer(threaded=False, rows=2, stab_k=3)
    ex.open_stability_graphs()
    curves = ex._cache["stability_graphs"][1]
    assert list(curves) == list(STABILITY_GRAPHS) and ex.error == ""
    own = ex._stability_curve()                       # the Stability tab's sweep, graph = cycle
    for k in ("raw", "projectors", "spe"):
        assert np.allclose(curves["cycle"][k], own[k], rtol=1e-10)
    ex.stab_k = 30                                    # > n − 2 on the 16-node hypercube: reported per graph
    assert "stab_k=30" in ex._cache["stability_graphs"][1]["hypercube"]
    view = ex.view_stability_graphs()
    assert type(view).__name__ == "Layout" and len(view) == len(STABILITY_GRAPHS) and ex.error == ""


def test_teachers_guide_lists_every_tour_step_by_its_title():
    """The teachers' guide's table of tours names each dashboard's steps, in order, as the step files do."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "guides" / "teachers.md").read_text()
    for d in registry.DASHBOARDS:
        row = re.search(rf"^\| `/{d.name}` \| (1\. .*) \|$", text, re.M)
        assert row, f"docs/guides/teachers.md: no row of tour steps for /{d.name}"
        listed = re.split(r" · (?=\d+\. )", row.group(1))
        assert listed == [f"{i}. {s.title}" for i, s in enumerate(load_tour(d.name), 1)], d.name
