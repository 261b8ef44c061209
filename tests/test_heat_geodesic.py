import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from _geometry import flat_sheet

from spectral_explorer import HeatGeodesicEmbedding, data, heat_geodesic_distances
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat import heat_kernel
from spectral_explorer.heat_geodesic import (AUTO_DENOISE_TIMES, AUTO_FLOOR, AUTO_GAIN, AUTO_SCOUT_GAIN, DENOISING,
                                             estimate_heat_diagonal, farthest_point_landmarks,
                                             heat_denoise, heat_graph, select_t_entropy, weighted_laplacian)
from spectral_explorer.laplacian import laplacian
from spectral_explorer.metrics import (axis_r2, distance_ratio_by_range, embedding_metrics, loglog_slope,
                                       pairwise_distances, row_pearson, row_spearman)


def test_flat_manifold_distances_follow_the_truth(rng):
    X, T = flat_sheet(rng, 1500, 4.0, 2.0)
    est = HeatGeodesicEmbedding(knn=8).fit(X)
    assert row_spearman(est.distances_, T) > 0.99
    assert row_spearman(pairwise_distances(est.embedding_), T) > 0.95


def test_swiss_roll_is_unrolled():
    ds = data.swiss_roll(700, noise=0.1, seed=42)
    est = HeatGeodesicEmbedding(knn=8).fit(ds.X)
    T = ds.geodesic_distances()
    assert row_spearman(est.distances_, T) > 0.985
    assert row_spearman(pairwise_distances(est.embedding_), T) > 0.95


def test_harnack_term_matches_formula():
    ds = data.swiss_roll(200, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    t, sigma = 5.0, 0.7
    H = heat_kernel(L, t, method="euler").numpy()
    H = (H + H.T) / 2
    d = np.diag(H)
    D2 = -4 * t * np.log(H) + sigma * 4 * t * np.log(0.5 * (d[:, None] + d[None]))
    ref = np.sqrt(np.clip(D2, 0, None))
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(heat_geodesic_distances(L, t, sigma, formula="varadhan"), ref, rtol=1e-10, atol=1e-10)


def test_screened_formula_is_scaled_log_of_self_normalised_resolvent():
    ds = data.swiss_roll(200, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    t = 5.0
    # an independent resolvent: dense solve of (I + tL) R = I
    R = np.linalg.solve(np.eye(200) + t * L.toarray(), np.eye(200))
    R = (R + R.T) / 2
    d = np.diag(R)
    ref = np.sqrt(t) * np.clip(-np.log(R) + np.log(0.5 * (d[:, None] + d[None])), 0, None)
    D = heat_geodesic_distances(L, t, sigma=1.0)  # method="euler", formula="auto" -> screened
    np.testing.assert_allclose(D, ref, rtol=1e-9, atol=1e-9)
    assert np.all(np.diag(D) == 0)
    # K Euler steps: the screened law uses s = t/K
    R2 = np.linalg.matrix_power(np.linalg.solve(np.eye(200) + (t / 2) * L.toarray(), np.eye(200)), 2)
    R2 = (R2 + R2.T) / 2
    ref2 = np.sqrt(t / 2) * np.clip(-np.log(R2), 0, None)
    np.fill_diagonal(ref2, 0)
    np.testing.assert_allclose(heat_geodesic_distances(L, t, 0.0, order=2), ref2, rtol=1e-8, atol=1e-8)


def test_default_distances_grow_in_proportion_on_a_flat_sheet(rng):
    # a flat 3 x 1 rectangle in 3-D: the default's distances have log-log slope near 1, the
    # rank-faithful option's near 1/2 (sqrt of the geodesic), with the same ranks
    X, T = flat_sheet(rng, 900, 3.0, 1.0)
    shape = HeatGeodesicEmbedding(knn=8).fit(X)
    rank = HeatGeodesicEmbedding.rank_faithful(knn=8).fit(X)
    assert 0.8 <= loglog_slope(shape.distances_, T) <= 1.2
    assert loglog_slope(rank.distances_, T) < 0.6
    assert row_spearman(rank.distances_, T) > 0.98 and row_spearman(shape.distances_, T) > 0.98
    # the shape shows in the embedding: the rectangle comes back, not an arc
    assert row_pearson(pairwise_distances(shape.embedding_), T) > 0.98
    assert row_pearson(pairwise_distances(shape.embedding_), T) > row_pearson(pairwise_distances(rank.embedding_), T) + 0.01


def test_rank_faithful_option_equals_the_resolvent_read_by_the_heat_law():
    ds = data.swiss_roll(150, noise=0.1, seed=3)
    est = HeatGeodesicEmbedding.rank_faithful(knn=6).fit(ds.X)
    R = np.linalg.inv(np.eye(150) + est.t_ * est.laplacian_.toarray())
    ref = np.sqrt(np.clip(-4 * est.t_ * np.log((R + R.T) / 2), 0, None))
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(est.distances_, ref, rtol=1e-9, atol=1e-9)


def test_landmark_distances_are_columns_of_all_pairs():
    ds = data.swiss_roll(300, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    full = heat_geodesic_distances(L, 20.0)
    lm = np.array([3, 50, 120, 299])
    part = heat_geodesic_distances(L, 20.0, sources=lm)
    np.testing.assert_allclose(part, full[:, lm], rtol=1e-8, atol=1e-9)


def test_diagonal_probe_estimate_is_close():
    ds = data.swiss_roll(300, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    exact = np.diag(heat_kernel(L, 20.0).numpy())
    est = estimate_heat_diagonal(L, 20.0, n_probes=256)
    assert np.median(np.abs(est - exact) / exact) < 0.1


def test_landmark_mode_estimator():
    ds = data.swiss_roll(1200, noise=0.1, seed=42)
    allp = HeatGeodesicEmbedding(landmarks=None, sigma=0.0).fit(ds.X)
    lm = HeatGeodesicEmbedding(landmarks=128, sigma=0.0).fit(ds.X)
    assert lm.distances_.shape == (1200, 128)
    assert lm.embedding_.shape == (1200, 2)
    cols = lm.landmarks_
    assert len(np.unique(cols)) == 128
    T = ds.geodesic_distances(cols=cols)
    no_self = -np.ones(1200, dtype=int)
    sl = row_spearman(lm.distances_, T, self_index=no_self)
    sa = row_spearman(allp.distances_[:, cols], T, self_index=no_self)
    assert abs(sl - sa) < 1e-8  # the same distances, only fewer columns
    # with the default σ = 1 landmark mode estimates diag(H) by probing: nearly the same
    lm1 = HeatGeodesicEmbedding(landmarks=128).fit(ds.X)
    all1 = HeatGeodesicEmbedding(landmarks=None).fit(ds.X)
    assert abs(row_spearman(lm1.distances_, T, self_index=no_self)
               - row_spearman(all1.distances_[:, cols], T, self_index=no_self)) < 1e-3
    # embedding quality close to all-pairs
    rows = np.arange(0, 1200, 4)
    Tfull = ds.geodesic_distances(rows=rows)
    e_l = row_spearman(pairwise_distances(lm1.embedding_, rows=rows), Tfull, self_index=rows)
    e_a = row_spearman(pairwise_distances(all1.embedding_, rows=rows), Tfull, self_index=rows)
    assert e_l > e_a - 0.02


def test_select_t_entropy_returns_knee_in_grid():
    ds = data.swiss_roll(500, noise=0.1, seed=1)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    t, grid, ent = select_t_entropy(L)
    assert t in grid
    assert grid[0] < t < grid[-1]
    assert np.all(np.diff(ent) > -1e-9)  # heat spreads: entropy grows with t


def test_auto_t_estimator():
    ds = data.swiss_roll(500, noise=0.1, seed=1)
    est = HeatGeodesicEmbedding(knn=5, t="auto").fit(ds.X)
    assert est.t_ in est.t_grid_


def test_paper_configuration_by_name():
    """paper(): the heatgeo configuration; τ is the knee of the entropy among the paper's 10 times
    on a linear axis — the grid point farthest above the chord of the normalized curve — and the
    distances are the heat law on the Chebyshev kernel with σ = 0 (recomputed here)."""
    from spectral_explorer.heat_geodesic import PAPER, PAPER_T_GRID

    ds = data.swiss_roll(400, noise=0.1, seed=1)
    est = HeatGeodesicEmbedding.paper(knn=6).fit(ds.X)
    assert {k: est.get_params()[k] for k in PAPER if k != "knn"} == {k: v for k, v in PAPER.items() if k != "knn"}
    grid, ent = np.asarray(est.t_grid_), np.asarray(est.entropy_)
    np.testing.assert_allclose(grid, PAPER_T_GRID)
    x = (grid - grid[0]) / (grid[-1] - grid[0])
    y = (ent - ent.min()) / np.ptp(ent)
    assert est.t_ == grid[np.argmax(y - (y[0] + (y[-1] - y[0]) * x))]
    L = laplacian(alpha_decay_graph(ds.X, 6, 40.0), "normalized")
    H = heat_kernel(L, est.t_, None, "chebyshev", 30, dtype=torch.float64).numpy()
    H = 0.5 * (H + H.T)
    D = np.sqrt(np.clip(-4 * est.t_ * np.log(np.clip(H, 0, None) + 1e-16), 0, None))   # heatgeo's log(H + 1e-16)
    np.fill_diagonal(D, 0.0)
    np.testing.assert_allclose(est.distances_, D, rtol=1e-8, atol=1e-8)
    # metric MDS weighted by D^-2 improves on its classical start in the stress it minimises
    from spectral_explorer.mds import classical_mds
    W = np.where(D > 0, 1.0 / np.where(D > 0, D, 1.0) ** 2, 0.0)

    def wstress(Y):
        return float((W * (D - pairwise_distances(Y)) ** 2).sum())

    assert wstress(est.embedding_) < wstress(classical_mds(D, 2))


def test_farthest_point_landmarks_are_spread(rng):
    X = rng.uniform(size=(2000, 2))
    lm = farthest_point_landmarks(X, 50, seed=0)
    d = np.linalg.norm(X[:, None] - X[lm][None], axis=-1).min(axis=1)
    rnd = rng.choice(2000, 50, replace=False)
    d_rnd = np.linalg.norm(X[:, None] - X[rnd][None], axis=-1).min(axis=1)
    assert d.max() < d_rnd.max()


def test_estimator_conventions():
    params = dict(n_components=3, knn=6, t=10.0, sigma=0.5)
    est = HeatGeodesicEmbedding(**params)
    assert {k: est.get_params()[k] for k in params} == params
    assert not [a for a in vars(est) if a.endswith("_")]  # nothing learned before fit
    ds = data.s_curve(300, noise=0.05, seed=0)
    assert est.fit(ds.X) is est
    assert est.embedding_.shape == (300, 3) and est.distances_.shape == (300, 300)
    assert {k: est.get_params()[k] for k in params} == params  # fit does not change parameters
    np.testing.assert_allclose(est.distances_, est.distances_.T, atol=1e-10)
    assert np.all(np.diag(est.distances_) == 0)
    Y = HeatGeodesicEmbedding(**params).fit_transform(ds.X)
    np.testing.assert_array_equal(Y, est.embedding_)  # deterministic
    assert est.set_params(t=20.0) is est and est.t == 20.0
    with pytest.raises(ValueError, match="invalid parameter 'k'"):
        est.set_params(k=3)


@pytest.mark.parametrize("method", ["exact", "chebyshev"])
def test_other_heat_methods_run_and_report_underflow(method):
    ds = data.swiss_roll(300, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6), "normalized")
    D, info = heat_geodesic_distances(L, 2.0, method=method, order=20, return_info=True)
    assert np.isfinite(D).all() and (D >= 0).all()
    # both lose entries to round-off / truncation; the default Euler method loses none
    assert info["tiny_entries"] > 0
    _, euler = heat_geodesic_distances(L, 2.0, return_info=True)
    assert euler["tiny_entries"] == 0 and euler["nonpositive_entries"] == 0


@pytest.mark.parametrize("bad, match", [
    (dict(X=np.array([[0.0, np.nan, 1.0]] * 20)), "NaN or infinite"),
    (dict(X=np.array([[0.0, np.inf, 1.0]] * 20)), "NaN or infinite"),
    (dict(X=np.arange(20.0)), "2-D"),
    (dict(X=np.zeros((2, 3))), "at least 3 samples"),
    (dict(knn=30), "knn must be smaller than the number of samples"),
    (dict(t=0.0), "t must be > 0"),
    (dict(t=-1.0), "t must be > 0"),
    (dict(t="soon"), "t must be a positive number, 'auto' or 'paper'"),
    (dict(sigma=-0.1), "sigma must be >= 0"),
    (dict(method="magic"), "method must be one of"),
    (dict(formula="gauss"), "formula must be one of"),
    (dict(mds="umap"), "mds must be one of"),
    (dict(landmarks=1), "landmarks must be >= 3"),
    (dict(n_components=0), "n_components must be >= 1"),
])
def test_bad_input_raises_clear_errors(bad, match):
    X = bad.pop("X", np.random.default_rng(0).normal(size=(25, 3)))
    with pytest.raises((ValueError, TypeError), match=match):
        HeatGeodesicEmbedding(**bad).fit(X)


def test_disconnected_data_raises(rng):
    X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 50])
    with pytest.raises(ValueError, match="disconnected.*increase knn"):
        HeatGeodesicEmbedding(knn=5).fit(X)


def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    ds = data.swiss_roll(500, noise=0.1, seed=0)
    a = HeatGeodesicEmbedding(knn=6, device="cpu").fit(ds.X)
    b = HeatGeodesicEmbedding(knn=6, device="cuda").fit(ds.X)
    np.testing.assert_allclose(a.distances_, b.distances_, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- heavy noise
def _cross_layer_edges(W, ds):
    """Edges between points more than half a turn apart along the roll (different sheets)."""
    C = sp.triu(W, 1).tocoo()
    return int((np.abs(ds.color[C.row] - ds.color[C.col]) > np.pi).sum())


@pytest.fixture(scope="module")
def noisy_roll():
    return data.swiss_roll(600, noise=1.0, seed=0)


def test_heat_denoise_is_the_random_walk_resolvent_applied_to_the_points(rng):
    X = rng.normal(size=(150, 3))
    W = alpha_decay_graph(X, 6)
    d = np.asarray(W.sum(axis=1)).ravel()
    L_rw = np.eye(150) - W.toarray() / d[:, None]
    R = np.linalg.inv(np.eye(150) + 2.5 * L_rw)
    np.testing.assert_allclose(heat_denoise(X, W, 2.5), R @ X, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(R.sum(axis=1), 1.0, atol=1e-12)   # rows are probability vectors
    assert R.min() > -1e-12
    np.testing.assert_array_equal(heat_denoise(X, W, 0.0), X)


def test_heat_denoise_removes_noise_across_a_plane_and_keeps_it_in_place(rng):
    n = 1500
    P = rng.uniform(0, 30, size=(n, 2))
    X = np.column_stack([P, rng.normal(scale=1.0, size=n)])
    Y = heat_denoise(X, alpha_decay_graph(X, 8), 3.0)
    assert Y[:, 2].std() < 0.6 * X[:, 2].std()   # 0.52 measured; the self-weight ≥ 1/(1+s) bounds it
    inner = ((P > 5) & (P < 25)).all(axis=1)   # away from the border, the sheet does not move
    assert np.abs(Y[inner, :2] - P[inner]).mean() < 0.5


def test_denoised_mutual_graph_drops_the_edges_between_sheets(noisy_roll):
    ds = noisy_roll
    default = HeatGeodesicEmbedding(denoise=0).fit(ds.X)     # the plain graph
    mutual = alpha_decay_graph(ds.X, 8, 40.0, mutual=True)
    denoised = HeatGeodesicEmbedding.denoising().fit(ds.X)
    before = _cross_layer_edges(default.graph_, ds)
    assert before > 30
    assert _cross_layer_edges(mutual, ds) < before
    assert _cross_layer_edges(denoised.graph_, ds) <= 0.1 * before
    T = ds.geodesic_distances()
    e0, e1 = (embedding_metrics(est.embedding_, T) for est in (default, denoised))
    assert e0["spearman"] < 0.5 and e1["spearman"] > 0.9 and e1["pearson"] > 0.9


def test_auto_denoise_keeps_the_plain_graph_on_clean_data(rng):
    ds = data.swiss_roll(600, noise=0.1, seed=0)
    auto = HeatGeodesicEmbedding().fit(ds.X)
    plain = HeatGeodesicEmbedding(denoise=0).fit(ds.X)
    assert auto.get_params()["denoise"] == "auto"
    assert auto.denoise_ == 0.0 and auto.mutual_ is False
    # only the plain graph's probe ran: it is below the floor
    assert list(auto.denoise_report_) == [0.0] and auto.denoise_report_[0.0] < AUTO_FLOOR
    np.testing.assert_array_equal(auto.embedding_, plain.embedding_)
    assert plain.denoise_report_ is None and plain.residual_variance_ == auto.residual_variance_


def test_auto_denoise_repairs_a_roll_folded_by_noise(noisy_roll):
    ds = noisy_roll
    auto = HeatGeodesicEmbedding().fit(ds.X)
    rep = auto.denoise_report_
    assert rep[0.0] > 0.1                                   # the plain graph asks for a fold
    assert list(rep)[1] == AUTO_DENOISE_TIMES[-1]           # the strongest smoothing is the scout
    assert auto.denoise_ in AUTO_DENOISE_TIMES and auto.mutual_ is True
    assert rep[auto.denoise_] * AUTO_GAIN <= rep[0.0]
    assert rep[auto.denoise_] == min(v for v in rep.values() if np.isfinite(v))
    assert auto.residual_variance_ * AUTO_GAIN <= rep[0.0]  # the full fit of the graph kept agrees
    assert "denoise_auto" in auto.timings_
    # the same as asking for that graph by hand
    same = HeatGeodesicEmbedding(denoise=auto.denoise_, mutual=True).fit(ds.X)
    np.testing.assert_allclose(auto.embedding_, same.embedding_)
    # and against the truth: the fold is gone
    T = ds.geodesic_distances()
    plain = HeatGeodesicEmbedding(denoise=0).fit(ds.X)
    assert embedding_metrics(plain.embedding_, T)["spearman"] < 0.5
    assert embedding_metrics(auto.embedding_, T)["spearman"] > 0.9
    with pytest.raises(ValueError, match="'auto'"):
        HeatGeodesicEmbedding(denoise="yes").fit(ds.X)


@pytest.mark.parametrize("k", [2, 3])
def test_auto_denoise_scores_the_layout_asked_for_and_leaves_a_cube_alone(k):
    """A cube is no fold: in 3 components its layout explains the distances (no probe); in 2 it
    does not, but the strongest smoothing (the scout) does not help either, so the plain graph
    is kept after one probe (a manifold the rule was not tuned on)."""
    ds = data.box(800, sides=(10.0, 10.0, 10.0), seed=5)
    auto = HeatGeodesicEmbedding(n_components=k, knn=8).fit(ds.X)
    assert auto.denoise_ == 0.0 and auto.embedding_.shape == (800, k)
    if k == 3:
        assert list(auto.denoise_report_) == [0.0] and auto.residual_variance_ < AUTO_FLOOR
    else:
        assert list(auto.denoise_report_) == [0.0, AUTO_DENOISE_TIMES[-1]] and auto.residual_variance_ > 0.1
        assert auto.denoise_report_[AUTO_DENOISE_TIMES[-1]] * AUTO_SCOUT_GAIN > auto.denoise_report_[0.0]


def test_auto_denoise_in_landmark_mode():
    ds = data.swiss_roll(1500, noise=1.0, seed=0)
    auto = HeatGeodesicEmbedding(landmarks=128).fit(ds.X)
    assert auto.landmarks_ is not None and auto.denoise_ > 0
    assert auto.denoise_report_[0.0] > AUTO_GAIN * auto.residual_variance_
    rows = np.arange(0, 1500, 7)
    T = ds.geodesic_distances(rows)
    assert embedding_metrics(auto.embedding_, T, rows=rows)["spearman"] > 0.9


def test_mutual_graph_is_the_minimum_of_the_kernel_and_connected(rng):
    X = rng.normal(size=(300, 3))
    W = alpha_decay_graph(X, 6, 40.0)
    M = alpha_decay_graph(X, 6, 40.0, mutual=True)
    assert abs(M - M.T).max() < 1e-15 and M.diagonal().max() == 0
    assert connected_components(M, directed=False)[0] == 1
    # every mutual edge, except the few that join components, is an edge of the mean graph,
    # with weight min(K_ij, K_ji) ≤ (K_ij + K_ji)/2
    C = M.tocoo()
    w_mean = np.asarray(W[C.row, C.col]).ravel()
    assert (C.data <= w_mean + 1e-15).mean() > 0.97
    assert M.nnz < W.nnz


def test_denoising_option_params_and_validation(rng):
    est = HeatGeodesicEmbedding.denoising(knn=6)
    assert est.get_params()["denoise"] == DENOISING["denoise"] and est.mutual is True
    X = rng.normal(size=(80, 3))
    with pytest.raises(ValueError, match="denoise"):
        HeatGeodesicEmbedding(denoise=-1.0).fit(X)
    with pytest.raises(ValueError, match="mutual=True needs"):
        HeatGeodesicEmbedding(decay=None, mutual=True).fit(X)
    est = HeatGeodesicEmbedding(knn=6, denoise=2.0).fit(X)
    np.testing.assert_allclose(est.points_, heat_denoise(X, alpha_decay_graph(X, 6), 2.0))


def test_metric_graph_on_a_uniform_chain_gives_the_screened_closed_form():
    """On a chain of spacing h the calibrated conductances are 2m̂/deg = 1 inside (m̂ = 1, ℓ = ℓ̄ = h)
    and (I + tL)⁻¹ decays by e^{−a} per edge with cosh a = 1 + 1/(2t) (the recurrence
    u_{j-1} + u_{j+1} = (2 + 1/t) u_j): the screened distance grows by √t·a per edge.  The
    distance scale divides out exactly that factor (the graph's decay rate), so the distances
    grow by h per edge at every t."""
    from spectral_explorer.graphs import metric_conductances, screening_decay

    n, h = 160, 0.37
    X = (h * np.arange(n))[:, None]
    C, lbar, m = metric_conductances(knn_graph_path(n), X)
    assert lbar == pytest.approx(h) and m == pytest.approx(1.0)
    assert np.allclose(C[1:-1, 1:-1].data, 1.0)
    g = weighted_laplacian(knn_graph_path(n), X)
    for t in (0.2, 0.5, 4.0, 40.0):
        D = heat_geodesic_distances(g.L, t, 0.0, "euler", 1, sources=np.array([0]))
        step = np.diff(D[:, 0])[10:60]            # interior, far from the chain's other end
        a = np.arccosh(1 + 1 / (2 * t))
        np.testing.assert_allclose(step, np.sqrt(t) * a, rtol=1e-9)
        assert screening_decay(g.C, X, t, 1.0, lbar) == pytest.approx(a, rel=0.02)   # two end nodes of 160
        np.testing.assert_allclose(step * g.distance_scale(t, "euler", 1), h, rtol=0.02)


def _flat_sample(rng, n, sides, ambient=4):
    """A uniform box with the given side lengths, rotated into ``ambient`` dimensions: (X, T, U)."""
    U = rng.uniform(size=(n, len(sides))) * np.asarray(sides, dtype=float)
    Q, _ = np.linalg.qr(rng.normal(size=(ambient, ambient)))
    X = np.column_stack([U, np.zeros((n, ambient - len(sides)))]) @ Q.T
    return X, np.linalg.norm(U[:, None] - U[None], axis=-1), U


@pytest.mark.parametrize("knn", [5, 10, 20])
@pytest.mark.parametrize("sides", [(30.0, 30.0), (10.0, 10.0, 10.0)], ids=["square", "cube"])
def test_default_distances_are_in_the_units_of_the_data_in_every_range(sides, knn):
    """The calibrated metric graph: on flat 2-D and 3-D samples at knn 5, 10 and 20 the default's
    distances over the truth stay within 15 % over the middle, long and farthest pairs and 30 %
    over the shortest 5 % (plain (ℓ̄/ℓ)² conductances gave 0.31–0.99, moving with knn)."""
    X, T, _ = _flat_sample(np.random.default_rng(7), 1000, sides)
    est = HeatGeodesicEmbedding(knn=knn, denoise=0).fit(X)
    ratio = distance_ratio_by_range(est.distances_, T)
    assert 0.7 <= ratio["short"] <= 1.3, ratio
    assert all(0.85 <= ratio[r] <= 1.15 for r in ("middle", "long", "farthest")), ratio
    assert est.intrinsic_dim_ == pytest.approx(len(sides), abs=0.1)


@pytest.mark.parametrize("name,kwargs", [("swiss_roll", dict(noise=0.1)), ("sphere", dict(cap=np.pi / 2)),
                                         ("s_curve", dict(noise=0.0))])
def test_default_distances_are_in_the_units_of_the_data_on_curved_manifolds(name, kwargs):
    """Derived on flat samples, checked on curved ones (other seeds, knn 5 and 10)."""
    ds = data.load(name, n=1000, seed=3, **kwargs)
    for knn in (5, 10):
        est = HeatGeodesicEmbedding(knn=knn, denoise=0).fit(ds.X)
        ratio = distance_ratio_by_range(est.distances_, ds.geodesic_distances())
        assert 0.7 <= ratio["short"] <= 1.3 and all(0.85 <= ratio[r] <= 1.15 for r in ("middle", "long")), ratio


def test_t_is_raised_where_the_farthest_kernel_entries_would_underflow():
    """A long chain (1500 points over 1500 units, about 300 median edges end to end): at the
    default t the resolvent between its ends underflows (entries 0, the far distances clipped);
    the estimator raises t (HeatGraph.safe_t), says so in t_, and the far pairs keep their length."""
    x = np.sort(np.random.default_rng(0).uniform(0, 1500, 1500))
    X = np.column_stack([x, np.zeros_like(x)])
    T = np.abs(x[:, None] - x[None])
    g = weighted_laplacian(*heat_graph(X, 10))
    D, info = heat_geodesic_distances(g.L, 0.2, 1.0, "euler", 2, return_info=True)
    assert info["nonpositive_entries"] > 0                                  # underflow at t = 0.2
    assert distance_ratio_by_range(D * g.distance_scale(0.2, "euler", 2), T)["farthest"] < 0.85
    est = HeatGeodesicEmbedding(denoise=0).fit(X)
    assert est.t_ > 0.2 and est.t_ == g.safe_t(0.2, "euler", 2) and est.heat_info_["nonpositive_entries"] == 0
    ratio = distance_ratio_by_range(est.distances_, T)
    assert all(0.85 <= ratio[r] <= 1.15 for r in ("middle", "long", "farthest")), ratio


def test_a_thin_direction_survives_in_three_components():
    """A 10 × 10 × 2 slab embedded in 3-D keeps its thickness (plain conductances: R² 0.03)."""
    X, _, U = _flat_sample(np.random.default_rng(42), 2000, (10.0, 10.0, 2.0), ambient=3)
    est = HeatGeodesicEmbedding(n_components=3, denoise=0).fit(X)
    assert axis_r2(est.embedding_, U).min() >= 0.8


def knn_graph_path(n):
    return sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")


def test_metric_default_distances_are_in_the_units_of_the_data(rng):
    X = data.swiss_roll(500, noise=0.1, seed=3).X
    a = HeatGeodesicEmbedding().fit(X)
    b = HeatGeodesicEmbedding().fit(7.5 * X)
    assert a.get_params()["weights"] == "length" and a.laplacian_.diagonal().max() > 2   # combinatorial
    assert b.length_scale_ == pytest.approx(7.5 * a.length_scale_)
    np.testing.assert_allclose(b.distances_, 7.5 * a.distances_, rtol=1e-8, atol=1e-8)
    # the affinity graph counts hops: its distances do not change with the units
    c, d = HeatGeodesicEmbedding.affinity().fit(X), HeatGeodesicEmbedding.affinity().fit(7.5 * X)
    assert c.length_scale_ == 1.0 and c.get_params()["knn"] == 8
    np.testing.assert_allclose(d.distances_, c.distances_, rtol=1e-8, atol=1e-8)


def test_auto_denoise_scores_a_2d_layout_and_stays_off_where_its_test_does_not_apply():
    ds = data.swiss_roll(600, noise=0.1, seed=0)
    one = HeatGeodesicEmbedding(n_components=1).fit(ds.X)
    assert one.embedding_.shape == (600, 1)
    assert one.denoise_ == 0.0 and one.residual_variance_ < AUTO_FLOOR     # scored in 2-D, not 1-D
    rank = HeatGeodesicEmbedding.rank_faithful().fit(ds.X)    # the heat law: √d never fits a plane
    assert rank.denoise_ == 0.0 and rank.denoise_report_ is None
    hop = HeatGeodesicEmbedding(decay=None, knn=8).fit(ds.X)  # the mutual graph needs alpha-decay
    assert hop.denoise_report_ is None and hop.denoise_ == 0.0


def test_entropy_knee_on_the_metric_graph_is_quick_and_sensible():
    ds = data.swiss_roll(1000, noise=0.1, seed=42)
    est = HeatGeodesicEmbedding(t="auto").fit(ds.X)
    # the stiff metric Laplacian: the grid is scaled by the median degree, not by λ_max
    assert est.t_grid_[0] < est.t_ < est.t_grid_[-1] and 0.05 < est.t_ < 20
    assert embedding_metrics(est.embedding_, ds.geodesic_distances())["spearman"] > 0.99
