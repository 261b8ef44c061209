"""The heat-geodesic explorer: staged invalidation, errors in the page, views that render."""

import holoviews as hv
import numpy as np
import pytest

from spectral_explorer.explorers import HeatGeodesicExplorer

hv.extension("bokeh")


@pytest.fixture(scope="module")
def ex():
    return HeatGeodesicExplorer(n=300, knn=6, threaded=False)


def test_moving_t_recomputes_only_t_dependent_stages(ex):
    graph_before = ex._cache["graph"][1]
    data_before = ex._cache["data"][1]
    D_before = ex._cache["distances"][1]["D"].copy()
    ex.t = 12.0
    assert ex.error == ""
    assert "graph" not in ex.timings and "data" not in ex.timings
    assert {"distances", "embedding", "metrics"} <= set(ex.timings)
    assert ex._cache["graph"][1] is graph_before and ex._cache["data"][1] is data_before
    assert not np.allclose(ex._cache["distances"][1]["D"], D_before)


def test_changing_knn_rebuilds_graph_but_not_data(ex):
    data_before = ex._cache["data"][1]
    ex.knn = 7
    assert "graph" in ex.timings and "data" not in ex.timings
    assert ex._cache["data"][1] is data_before


def test_metrics_match_the_library(ex):
    from spectral_explorer import metrics

    m = ex.metrics
    dat = ex._cache["data"][1]
    rows = dat["eval_rows"]
    D = ex._cache["distances"][1]["D"]
    assert m["heat_spearman"] == pytest.approx(metrics.row_spearman(D[rows], dat["truth"], self_index=rows))
    assert -1.0 <= m["embedding_spearman"] <= 1.0


def test_bad_input_is_reported_and_recovers():
    ex = HeatGeodesicExplorer(n=150, knn=5, compare=[], threaded=False)
    ex.knn = 180
    assert "knn must be smaller than the number of points n=150, got knn=180" in ex.error
    ex.knn = 5
    assert ex.error == ""
    assert ex._cache["graph"][0][-3] == 5  # the graph was rebuilt for the good value
    assert np.isfinite(ex.metrics["heat_spearman"])


def test_views_render_to_bokeh(ex):
    for view in (ex.view_data, ex.view_embeddings, ex.view_heat, ex.view_spectrum, ex.view_distances,
                 ex.view_numerics):
        obj = view()
        assert hv.render(obj, backend="bokeh") is not None


def test_landmark_mode_above_threshold():
    ex = HeatGeodesicExplorer(n=1500, landmarks=64, compare=[], threaded=False)
    D = ex._cache["distances"][1]["D"]
    assert D.shape == (1500, 64)
    assert ex.metrics["heat_spearman"] > 0.95


def test_t_player_echo_of_the_nearest_frame_keeps_t():
    """t = 2 is shown by the player as its nearest frame, 1.99; the page's echo of that frame
    (late, from a notebook) must not set t to 1.99 — pressing 'next' does move it."""
    import param as _param

    from spectral_explorer.explorers.heat_geodesics import T_GRID

    ex = HeatGeodesicExplorer(n=120, knn=6, compare=[], threaded=False)
    player = ex._t_player()
    ex.t = 2.0
    assert T_GRID[player.value] == 1.99
    with _param.edit_constant(player):
        player.value = player.value        # the echo
    player.param.trigger("value")
    assert ex.t == 2.0
    player.value = player.value + 1        # the next frame
    assert ex.t == T_GRID[player.value] == 2.51


def _r2(Y, y):
    """Share of the variance of ``y`` explained by an affine function of the embedding ``Y``."""
    A = np.column_stack([Y, np.ones(len(Y))])
    resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    return 1.0 - (resid ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_tour_heavy_noise_step_restores_the_order_not_the_shape():
    """The tour's heavy-noise step, as its answer states it: at noise 1.0 the default graph folds
    the roll; ``denoise = 3`` (heat-smoothed points, mutual graph) restores the order along the
    roll, for heat geodesics and for shortest paths on the same graph, but not its height (the
    embedding is a band: the roll's arc length is read off it linearly, its height is not); the
    graph is the library's ``heat_graph``."""
    from spectral_explorer import data
    from spectral_explorer.heat_geodesic import heat_graph

    e = HeatGeodesicExplorer(threaded=False)
    steps = e.tour_steps()
    n = next(i for i, s in enumerate(steps, 1) if s.values.get("denoise", 0) > 0)
    e.apply_tour_step(n)
    assert e.error == "" and e.noise == 1.0 and e.denoise == 3.0
    smoothed = e.metrics["embedding_spearman"]
    sp_smoothed = e._compare_result("shortest_path")["embedding_spearman"]
    ds = data.swiss_roll(1000, noise=1.0, seed=42)
    W, _ = heat_graph(ds.X, 8, 40.0, mutual=True, denoise=3.0)
    assert (e._graph()["W"] != W).nnz == 0
    length, height = ds.latent.T
    assert _r2(e.embedding, length) > 0.9 and _r2(e.embedding, height) < 0.5
    # the page's "true axes" score is that fit
    axes = e.metrics["axis_r2"]
    assert axes["arc length"] == pytest.approx(_r2(e.embedding, length)) and axes["height"] < 0.5
    assert f"arc length {axes['arc length']:.2f}, height {axes['height']:.2f}" in e._metrics_markdown()
    e.denoise = 0.0
    folded = e.metrics["embedding_spearman"]
    sp_folded = e._compare_result("shortest_path")["embedding_spearman"]
    assert folded < 0.5 and sp_folded < 0.5
    assert smoothed > 0.9 and sp_smoothed > 0.9
    # every other step sets denoise back to 0, so going back through the tour is faithful
    assert all(s.values["denoise"] == 0.0 for s in steps if s is not steps[n - 1])


def test_default_graph_is_the_librarys_metric_graph_and_the_switch_resets_the_euler_order():
    """At its defaults (n = 1000, all pairs) the page computes what the library's default does on
    the plain graph: the same distances, in the units of the data.  Switching ``weights``
    resets the Euler order (2 steps on the metric graph, 1 on the alpha-decay graph)."""
    from spectral_explorer import HeatGeodesicEmbedding, data

    e = HeatGeodesicExplorer(threaded=False, compare=[])
    assert (e.weights, e.knn, e.t, e.order) == ("length", 10, 0.2, 2)
    ds = data.swiss_roll(1000, noise=0.1, seed=42)
    est = HeatGeodesicEmbedding(denoise=0, landmarks=None).fit(ds.X)
    np.testing.assert_allclose(e._distances()["D"], est.distances_, rtol=1e-8, atol=1e-8)
    assert e.metrics["embedding_spearman"] > 0.99
    e.weights = "alpha"
    assert e.order == 1 and e.t == 10.0 and e.error == ""      # the alpha-decay graph's defaults
    hop = HeatGeodesicEmbedding.affinity(knn=10, denoise=0, landmarks=None).fit(ds.X)
    np.testing.assert_allclose(e._distances()["D"], hop.distances_, rtol=1e-8, atol=1e-8)
    e.method = "chebyshev"
    e.weights = "length"
    assert e.order == 30       # Chebyshev keeps its own default


def test_an_order_given_with_the_method_in_one_batch_stays():
    """A served page applies the URL's values in one batch; the method watcher then runs after
    ``order`` was set, and must not reset it (``?method=chebyshev&order=50``)."""
    e = HeatGeodesicExplorer(n=200, knn=6, threaded=False, compare=[])
    e.param.update(method="chebyshev", order=50)
    assert e.order == 50
    e.param.update(weights="alpha", method="euler", order=3)
    assert e.order == 3
    e.method = "chebyshev"            # a chosen order stays when the kernel changes
    assert e.order == 3
    e.order = 1                       # back at the alpha graph's Euler default: a new kernel resets it
    e.method = "exact"
    assert e.order == 1               # 'exact' has no order
    e.method = "euler"
    e.weights = "length"
    assert e.order == 2
