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
    assert ex._cache["graph"][0][-2] == 5  # the graph was rebuilt for the good value
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
