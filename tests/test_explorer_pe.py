"""PositionalEncodingExplorer: staged caching, ambiguity invariants, stability, views."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pytest

from spectral_explorer.explorers import PositionalEncodingExplorer
from spectral_explorer.explorers.positional_encodings import GRAPHS

hv.extension("bokeh", logo=False)


@pytest.fixture
def ex():
    return PositionalEncodingExplorer(graph="cycle", n=16)


def test_index_change_reuses_eigendecomposition(ex):
    assert ex.stage_counts["eig"] == 1
    v1 = ex.encoding_values
    for i in (2, 5, 9, 15):
        ex.index = i
        assert not ex.error
        assert sorted(k for k in ex.timings if k != "total") == ["encoding", "projector"]
    assert ex.stage_counts["eig"] == 1 and ex.stage_counts["graph"] == 1
    ex.index = 1
    np.testing.assert_allclose(ex.encoding_values, v1)
    evals, V = ex.eigenpairs
    np.testing.assert_allclose(v1, V[:, 1])
    ex.n = 20  # a new graph recomputes it
    assert ex.stage_counts["eig"] == 2


def test_rotation_in_repeated_eigenspace_keeps_projector(ex):
    ex.index = 3
    pr0 = ex.projector
    a, b = pr0["group"]
    assert b - a == 2 and pr0["partner"] is not None     # λ_3 of C_16 is repeated
    v0 = ex.encoding_values
    ex.angle = 60.0
    pr = ex.projector
    v = ex.encoding_values
    assert np.linalg.norm(v - v0) > 0.5                   # the encoding changes ...
    assert pr["dP"] < 1e-12                               # ... the projector does not
    np.testing.assert_allclose(pr["P_rot"], pr0["P"], atol=1e-12)
    evals, V = ex.eigenpairs
    np.testing.assert_allclose(v, math.cos(math.pi / 3) * V[:, 3] + math.sin(math.pi / 3) * V[:, 4], atol=1e-12)
    ex.flip_sign = True
    np.testing.assert_allclose(ex.encoding_values, -v, atol=1e-12)
    assert ex.projector["dP"] < 1e-12
    assert "multiplicity **2**" in ex.ambiguity_text()


def test_simple_eigenvalue_only_sign(ex):
    ex.graph = "karate_club"
    ex.index = 1
    assert ex.projector["partner"] is None
    v = ex.encoding_values
    ex.angle = 90.0                                       # no eigenspace to rotate in
    np.testing.assert_allclose(ex.encoding_values, v)


def test_stability_ratios_finite_and_spe_stable(ex):
    ex.stab_k = 4
    ex.eps = 1e-6
    s = ex.stability
    for k in ("raw", "projectors", "subspace", "spe", "eigengap"):
        assert np.isfinite(s[k]), k
    assert s["eigengap"] > 0.05
    assert s["raw"] > 1e3 * s["spe"]
    assert s["raw"] > 1e4
    assert "SPE" in ex.stability_text()


def test_bad_parameters_set_error_and_recover(ex):
    ex.graph = "balanced_tree"
    ex.branching, ex.height = 5, 6
    assert "balanced tree" in ex.error and "19531" in ex.error
    ex.height = 2
    assert ex.error == ""
    ex.graph = "random_regular"
    ex.n, ex.degree = 15, 3
    assert "even" in ex.error
    ex.n = 16
    assert ex.error == ""
    ex.stab_k = 20
    assert "stab_k" in ex.stability_text()


def test_index_clamped_per_encoding(ex):
    ex.index = 15
    ex.encoding = "rwpe"
    assert 1 <= ex.index <= ex.rw_steps
    ex.encoding = "sinusoidal"
    assert 0 <= ex.index < ex.sin_dim
    ex.encoding = "lappe"
    ex.graph = "florentine_families"
    ex.index = 14
    ex.graph = "hypercube"
    ex.dim = 2
    assert ex.index == 3 and not ex.error


@pytest.mark.parametrize("graph", GRAPHS)
def test_every_graph_builds(graph):
    ex = PositionalEncodingExplorer(graph=graph, n=12, rows=3)
    assert not ex.error, ex.error
    assert ex.eigenpairs[0].size >= 3


def test_views_render(ex):
    ex.index = 3
    for view in (ex.view_graph(), ex.view_spectrum(), ex.view_projector(), ex.view_stability(),
                 ex.view_sinusoidal(), ex.trainer.view_training()):
        hv.render(view)
    assert not ex.error
    assert ex.cycle_comparison["residual"] < 1e-10


def test_training_streams_and_cancels():
    import time

    tr = PositionalEncodingExplorer().trainer
    tr.param.update(train_encodings=["lappe", "spe"], epochs=2, train_graphs=32, hidden=8)
    buf = tr.buffer()
    tr.start(block=True)
    assert len(tr.history) == 4 and len(buf.data) == 4
    assert list(tr.results_frame()["encoding"]) == ["lappe", "spe"]
    assert tr.progress == 1.0 and not tr.training and tr.status.startswith("done")
    tr.epochs = 50
    tr.start(block=False)
    time.sleep(1.0)
    t0 = time.perf_counter()
    tr.stop(wait=True)
    assert time.perf_counter() - t0 < 1.0, "the stop did not land within a second"
    assert not tr.training and "stopped" in tr.status and not tr.busy
    assert tr.error == ""
    tr.epochs = 1
    tr.start(block=True)   # still usable after a stop
    assert len(tr.history) == 2 and tr.status.startswith("done")
