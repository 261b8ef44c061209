"""The comparison methods beside the heat-geodesic embedding: each checked against an
independent computation or a property of the geometry."""

import numpy as np
import pytest
from _geometry import flat_sheet

from spectral_explorer import HeatGeodesicEmbedding
from spectral_explorer.comparisons import METHODS, run_method
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.metrics import loglog_slope, pairwise_distances, row_pearson


@pytest.fixture(scope="module")
def sheet():
    return flat_sheet(np.random.default_rng(7), 500, 3.0, 1.0)


def test_isomap_recovers_a_flat_sheet(sheet):
    X, T = sheet
    r = run_method("isomap", X)
    assert r.distances.shape == (500, 500) and r.embedding.shape == (500, 2)
    assert loglog_slope(r.distances, T) == pytest.approx(1.0, abs=0.05)
    assert row_pearson(pairwise_distances(r.embedding), T) > 0.99


def test_heat_methods_match_the_estimator(sheet):
    X, _ = sheet
    W = alpha_decay_graph(X, 8, 40.0)
    shape = run_method("heat_geodesic", X, W)
    rank = run_method("heat_rank_faithful", X, W)
    np.testing.assert_allclose(shape.distances, HeatGeodesicEmbedding().fit(X).distances_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rank.distances, HeatGeodesicEmbedding.rank_faithful().fit(X).distances_,
                               rtol=1e-9, atol=1e-9)
    assert shape.info["denoise"] == 0.0 and shape.info["residual_variance"] < 0.02   # a clean sheet
    plain = run_method("heat_geodesic", X, W, denoise=0)
    np.testing.assert_allclose(plain.distances, shape.distances, rtol=1e-9, atol=1e-9)
    denoised = run_method("heat_denoised", X, W)
    np.testing.assert_allclose(denoised.distances, HeatGeodesicEmbedding.denoising().fit(X).distances_,
                               rtol=1e-9, atol=1e-9)


def test_methods_listed():
    assert {"heat_geodesic", "heat_rank_faithful", "heat_denoised", "isomap", "umap", "shortest_path", "tsne"} <= set(METHODS)
