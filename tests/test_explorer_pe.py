"""PositionalEncodingExplorer: staged caching, ambiguity invariants, stability, views."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pytest

from spectral_explorer.explorers import PositionalEncodingExplorer
from spectral_explorer.explorers.positional_encodings import EPS_GRID, GRAPHS

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


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sci(x: float) -> str:
    """4.6·10⁶, as the tour's answers write numbers."""
    e = math.floor(math.log10(abs(x)))
    return f"{x / 10 ** e:.1f}·10{str(e).translate(_SUP)}"


def test_tour_numbers_are_what_the_explorer_computes():
    """Every number the positional-encodings tour states, recomputed by applying its steps; the
    general claims (cycle multiplicities, RWPE's spectral form) also on cases the steps do not show."""
    from spectral_explorer.eigen import eigenvalue_groups
    from spectral_explorer.explorers._tour import load_tour
    from spectral_explorer.reproduce.positional_encodings import phi_max_slope

    steps = load_tour("positional_encodings")
    ex = PositionalEncodingExplorer(threaded=False)
    ex.apply_tour_step(1)
    assert f"{ex.projector['dv']:.3f}" == "2.000" and ex.projector["dP"] == 0 and "2.000" in steps[0].answer
    ex.apply_tour_step(2)
    assert f"{ex.projector['dv']:.3f}" in steps[1].answer and ex.projector["dP"] < 1e-15
    for n in (24, 25, 7, 16):                       # step 2's claim, even and odd n
        ex2 = PositionalEncodingExplorer(threaded=False, graph="cycle", n=n)
        w = ex2.eigenpairs[0]
        mult = [b - a for a, b in eigenvalue_groups(w, 1e-8)]
        assert mult == [1] + [2] * ((n - 1) // 2) + ([1] if n % 2 == 0 else []), (n, mult)
        assert (abs(w[-1] - 2) < 1e-12) == (n % 2 == 0)
    ex.apply_tour_step(3)
    w = ex.eigenpairs[0]
    assert [(round(float(w[a]), 6), b - a) for a, b in eigenvalue_groups(w, 1e-8)] == \
        [(0.0, 1), (0.5, 4), (1.0, 6), (1.5, 4), (2.0, 1)] and "1, 4, 6, 4, 1" in steps[2].answer
    ex.apply_tour_step(4)
    s, curve = ex.stability, ex._stability_curve()
    at = {e: {k: curve[k][i] for k in ("raw", "projectors", "spe")} for i, e in enumerate(EPS_GRID)}
    ans = steps[3].answer
    assert _sci(s["raw"]) in ans and f"{s['projectors']:.1f}" in ans and _sci(at[1e-4]["projectors"]) in ans
    assert f"{s['spe']:.2g}" in ans and max(curve["spe"]) / min(curve["spe"]) < 1.01
    assert f"{phi_max_slope(ex._spe_model()):.2f}" in ans and "k = 4" in steps[3].claim and "all 24" in steps[3].claim
    ex.apply_tour_step(5)
    rw = ex._rwpe()
    assert np.allclose(ex.encoding_values, 0.5) and np.allclose(rw[:, 0::2], 0)      # odd walk lengths: 0
    w, V = ex.eigenpairs
    np.testing.assert_allclose(rw, np.stack([((1 - w) ** t * V ** 2).sum(1) for t in range(1, rw.shape[1] + 1)], 1),
                               atol=1e-12)                                           # the claim's formula
    ex.apply_tour_step(6)
    c, ans = ex.cycle_comparison, steps[5].answer
    fast = c["omega"] > 2 * math.pi * (ex.sin_dim // 2) / ex.cycle_n
    assert _sci(c["residual"]) in ans and f"{100 * c['T_rel']:.0f} %" in ans and f"{100 * c['T_rel_v0']:.0f} %" in ans
    assert f"{100 * c['T_share_v0'][fast].sum():.0f} %" in ans and list(np.flatnonzero(fast)) == [0, 1]
