import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import pearsonr, spearmanr

from spectral_explorer import data
from spectral_explorer.metrics import knn_precision, loglog_slope, row_pearson, row_spearman


def test_swiss_roll_arc_length_formula():
    for t in (1.5 * np.pi, 3.0, 4.5 * np.pi):
        numeric, _ = quad(lambda s: np.sqrt(1 + s * s), 0, t)
        assert data.swiss_roll_arc_length(t) == pytest.approx(numeric, rel=1e-10)


def test_swiss_roll_ground_truth_is_arc_length_and_height():
    ds = data.swiss_roll(200, noise=0.0, seed=1)
    t = ds.color
    # points really lie on the spiral r = t
    np.testing.assert_allclose(np.hypot(ds.X[:, 0], ds.X[:, 2]), t)
    D = ds.geodesic_distances()
    i, j = 3, 17
    ds_arc = abs(data.swiss_roll_arc_length(t[i]) - data.swiss_roll_arc_length(t[j]))
    dh = abs(ds.X[i, 1] - ds.X[j, 1])
    assert D[i, j] == pytest.approx(np.hypot(ds_arc, dh))
    # geodesic is never shorter than the straight line in space
    E = np.linalg.norm(ds.X[:, None] - ds.X[None], axis=-1)
    assert (D >= E - 1e-9).all()


def test_s_curve_geodesic_is_curve_length():
    ds = data.s_curve(300, noise=0.0, seed=0)
    t = ds.latent[:, 0]
    # chord sums along a fine polyline of the S approach the parameter difference
    ts = np.linspace(t.min(), t.max(), 20001)
    pts = np.column_stack([np.sin(ts), np.sign(ts) * (np.cos(ts) - 1)])
    length = np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()
    assert length == pytest.approx(t.max() - t.min(), rel=1e-6)


def test_sphere_great_circle():
    ds = data.sphere(100, seed=0)
    D = ds.geodesic_distances()
    assert D.max() <= np.pi + 1e-12
    E = np.linalg.norm(ds.X[:, None] - ds.X[None], axis=-1)
    np.testing.assert_allclose(E, 2 * np.sin(D / 2), atol=1e-12)  # chord = 2 sin(θ/2)


def test_tree_truth_is_a_tree_metric():
    ds = data.tree(200, seed=0, n_branches=4)
    D = ds.geodesic_distances()
    np.testing.assert_allclose(D, D.T, atol=1e-12)
    E = np.linalg.norm(ds.clean[:, None] - ds.clean[None], axis=-1)
    assert (D >= E - 1e-9).all()
    # four-point condition of tree metrics on random quadruples
    rng = np.random.default_rng(0)
    for a, b, c, d in rng.choice(200, size=(200, 4)):
        s = sorted([D[a, b] + D[c, d], D[a, c] + D[b, d], D[a, d] + D[b, c]])
        assert s[2] - s[1] < 1e-9


def test_rotation_to_ambient_dimension_preserves_geometry():
    a = data.swiss_roll(150, noise=0.0, seed=4)
    b = data.swiss_roll(150, noise=0.0, seed=4, ambient_dim=10)
    assert b.X.shape == (150, 10)
    Ea = np.linalg.norm(a.X[:, None] - a.X[None], axis=-1)
    Eb = np.linalg.norm(b.X[:, None] - b.X[None], axis=-1)
    np.testing.assert_allclose(Ea, Eb, atol=1e-10)


def test_digits_is_real_data_without_truth():
    ds = data.digits(n=300)
    assert ds.X.shape == (300, 64) and not ds.has_truth
    with pytest.raises(ValueError, match="no ground-truth"):
        ds.geodesic_distances()


def test_generators_validate():
    with pytest.raises(ValueError, match="n must be >= 10"):
        data.swiss_roll(5)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        data.sphere(100, noise=-1)
    with pytest.raises(ValueError, match="name must be one of"):
        data.load("moons")


def test_row_metrics_against_scipy(rng):
    D = rng.uniform(size=(30, 30))
    T = D + 0.3 * rng.uniform(size=(30, 30))
    exp_s = np.mean([spearmanr(np.delete(D[i], i), np.delete(T[i], i))[0] for i in range(30)])
    exp_p = np.mean([pearsonr(np.delete(D[i], i), np.delete(T[i], i))[0] for i in range(30)])
    assert row_spearman(D, T) == pytest.approx(exp_s)
    assert row_pearson(D, T) == pytest.approx(exp_p)
    # invariance of Spearman to monotone transforms, and P@k = 1 for the same ranking
    assert row_spearman(np.exp(3 * D), D) == pytest.approx(1.0)
    assert knn_precision(D ** 2, D, k=5) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        row_spearman(D, T[:, :5])


def test_sphere_cap_stays_in_its_cap_and_is_uniform():
    ds = data.sphere(4000, cap=np.pi / 3, seed=2)
    z = ds.X[:, 2]
    assert z.min() >= np.cos(np.pi / 3) - 1e-12
    # uniform on the cap (Archimedes): z is uniform on [cos cap, 1]
    assert abs(np.mean(z) - (1 + np.cos(np.pi / 3)) / 2) < 0.01
    D = ds.geodesic_distances(rows=[0])
    assert D.max() <= 2 * np.pi / 3 + 1e-9  # no two points farther apart than the cap's diameter
    with pytest.raises(ValueError, match="cap must be"):
        data.sphere(100, cap=4.0)


def test_loglog_slope_reads_the_power_and_ignores_scale(rng):
    X = rng.uniform(size=(300, 2))
    T = np.linalg.norm(X[:, None] - X[None], axis=-1)
    for p in (0.5, 1.0, 2.0):
        assert loglog_slope(7.0 * T**p, T) == pytest.approx(p, abs=1e-9)
    # an additive offset flattens it; a monotone distortion keeps Spearman at 1
    assert loglog_slope(T + 1.0, T) < 0.5
    assert row_spearman(np.sqrt(T), T) == pytest.approx(1.0)
    # rows against landmark columns (self index -1 when the row is not a column)
    cols = np.array([5, 50, 120])
    self_index = np.full(300, -1)
    self_index[cols] = np.arange(3)
    assert loglog_slope(T[:, cols] ** 0.5, T[:, cols], self_index=self_index) == pytest.approx(0.5, abs=1e-9)


def test_axis_r2_matches_scikit_learn_and_sees_a_lost_axis():
    """``axis_r2`` equals scikit-learn's R² of a linear regression per true axis; on the swiss
    roll the default heat embedding recovers both axes, while an embedding made from the arc
    length alone scores ≈ 1 on it and ≈ 0 on the height, with a high row-mean ρ all the same."""
    from sklearn.linear_model import LinearRegression

    from spectral_explorer import HeatGeodesicEmbedding
    from spectral_explorer.metrics import axis_r2, embedding_metrics

    rng = np.random.default_rng(3)
    Y, U = rng.normal(size=(300, 3)), rng.normal(size=(300, 2))
    U[:, 0] += Y @ [1.0, -2.0, 0.5]
    expected = [LinearRegression().fit(Y, U[:, j]).score(Y, U[:, j]) for j in range(2)]
    np.testing.assert_allclose(axis_r2(Y, U), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="same number of rows"):
        axis_r2(Y[:10], U)
    with pytest.raises(ValueError, match="latent has 1 non-finite"):
        axis_r2(Y, np.where(np.arange(600).reshape(300, 2) == 7, np.nan, U))

    ds = data.swiss_roll(600, noise=0.1, seed=1)
    assert ds.flat_axes == ("arc length", "height") and data.sphere(200).flat_axes == ()
    r = axis_r2(HeatGeodesicEmbedding(knn=7).fit_transform(ds.X), ds.latent)
    assert r.min() > 0.9
    band = np.column_stack([ds.latent[:, 0], rng.normal(scale=0.1, size=ds.n)])
    r = axis_r2(band, ds.latent)
    assert r[0] > 0.999 and r[1] < 0.05
    assert embedding_metrics(band, ds.geodesic_distances(np.arange(0, 600, 20)), rows=np.arange(0, 600, 20))["spearman"] > 0.85


def test_residual_variance_against_scipy_and_on_a_folded_roll():
    """``residual_variance`` is ``1 − r²`` of scipy's Pearson r over the pairs (self pairs left
    out), for a row block and for a landmark block; it ignores scale, and it is large for the
    distances of a graph that short-circuits a noisy swiss roll — a fold no 2-D layout draws —
    and small for a clean roll's."""
    from scipy.spatial.distance import pdist, squareform

    from spectral_explorer import HeatGeodesicEmbedding
    from spectral_explorer.metrics import residual_variance

    rng = np.random.default_rng(4)
    Y = rng.normal(size=(120, 2))
    D = squareform(pdist(Y)) ** 1.3 + rng.random((120, 120))
    rows, cols = np.arange(0, 120, 5), np.arange(3, 120, 11)
    E = squareform(pdist(Y))
    for r_idx, c_idx in ((rows, None), (None, cols), (rows, cols)):
        ri = np.arange(120) if r_idx is None else r_idx
        ci = np.arange(120) if c_idx is None else c_idx
        keep = ri[:, None] != ci[None, :]
        expected = 1.0 - pearsonr(D[np.ix_(ri, ci)][keep], E[np.ix_(ri, ci)][keep])[0] ** 2
        got = residual_variance(D[np.ix_(ri, ci)], Y, rows=r_idx, cols=c_idx)
        assert got == pytest.approx(expected, rel=1e-10)
        assert residual_variance(7.0 * D[np.ix_(ri, ci)], Y, rows=r_idx, cols=c_idx) == pytest.approx(got, rel=1e-10)
    assert residual_variance(E, Y) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="24 × 120"):
        residual_variance(D, Y, rows=rows)

    for noise, low, high in ((0.1, 0.0, 0.01), (1.0, 0.1, 1.0)):
        ds = data.swiss_roll(600, noise=noise, seed=0)
        est = HeatGeodesicEmbedding(denoise=0).fit(ds.X)
        assert low <= residual_variance(est.distances_, est.embedding_) < high
