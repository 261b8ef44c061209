import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import torch

from spectral_explorer.data import swiss_roll
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat import chebyshev_coefficients, chebyshev_filter, heat_filter, heat_kernel
from spectral_explorer.laplacian import laplacian


def _small_graph(kind="normalized"):
    ds = swiss_roll(120, noise=0.1, seed=1)
    return laplacian(alpha_decay_graph(ds.X, knn=6), kind)


@pytest.mark.parametrize("kind", ["normalized", "combinatorial"])
@pytest.mark.parametrize("t", [0.3, 4.0])
def test_exact_heat_kernel_matches_expm(kind, t, device):
    L = _small_graph(kind)
    H = heat_kernel(L, t, method="exact", device=device, dtype=torch.float64).cpu().numpy()
    ref = scipy.linalg.expm(-t * L.toarray())
    np.testing.assert_allclose(H, ref, atol=1e-12)


def test_heat_on_a_block_equals_columns_of_full_kernel(rng):
    L = _small_graph()
    B = rng.normal(size=(L.shape[0], 3))
    ref = scipy.linalg.expm(-2.0 * L.toarray()) @ B
    for method, order in [("exact", None), ("chebyshev", 40)]:
        H = heat_kernel(L, 2.0, B, method=method, order=order).numpy()
        np.testing.assert_allclose(H, ref, atol=1e-10)


def test_chebyshev_error_shrinks_with_order():
    L = _small_graph()
    ref = scipy.linalg.expm(-5.0 * L.toarray())
    errors = [np.abs(heat_kernel(L, 5.0, method="chebyshev", order=K).numpy() - ref).max() for K in (4, 8, 16, 32)]
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-12


def test_euler_error_shrinks_with_steps():
    L = _small_graph()
    ref = scipy.linalg.expm(-3.0 * L.toarray())
    errors = [np.abs(heat_kernel(L, 3.0, method="euler", order=K).numpy() - ref).max() for K in (1, 4, 16, 64)]
    assert all(b < a for a, b in zip(errors, errors[1:]))
    # backward Euler is first order: error ~ 1/K
    assert errors[-1] < 1.5 * errors[-2] / 4


def test_euler_dense_and_sparse_paths_agree():
    L = _small_graph()
    n = L.shape[0]
    dense = heat_kernel(L, 10.0, None, method="euler", order=3).numpy()  # Cholesky path
    sparse = heat_kernel(L, 10.0, np.eye(n), method="euler", order=3).numpy()  # sparse LU path
    M = np.eye(n) + (10.0 / 3) * L.toarray()
    ref = np.linalg.matrix_power(np.linalg.inv(M), 3)
    np.testing.assert_allclose(dense, ref, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(sparse, ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("s", [0.1, 10.0])
def test_two_euler_steps_by_the_square_keep_tiny_entries_relatively_accurate(s):
    """order=2 factorizes M² = (I + sL)² instead of multiplying two inverses: on the default's
    metric graph, down to entries near 1e−20, log H agrees with the sparse-LU solves (M⁻¹ M⁻¹,
    positive arithmetic) to 1e−9 — the entries a distance reads."""
    from spectral_explorer.heat_geodesic import heat_graph, weighted_laplacian

    ds = swiss_roll(600, noise=0.1, seed=1)
    L = weighted_laplacian(*heat_graph(ds.X, 10)).L
    n = L.shape[0]
    dense = heat_kernel(L, 2 * s, None, method="euler", order=2).numpy()
    sparse = heat_kernel(L, 2 * s, np.eye(n), method="euler", order=2).numpy()
    assert (sparse > 0).all() and (s > 1 or sparse.min() < 1e-18)   # far below round-off of O(1)
    np.testing.assert_allclose(np.log(dense), np.log(sparse), rtol=0, atol=1e-9)


def test_euler_entries_stay_positive_where_exact_underflows():
    """The numerical point of the default: backward Euler keeps every entry resolvable."""
    ds = swiss_roll(400, noise=0.1, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=8), "normalized")
    H_exact = heat_kernel(L, 10.0, method="exact").numpy()
    H_euler = heat_kernel(L, 10.0, method="euler").numpy()
    assert (H_euler > 1e-15).all()
    assert (np.abs(H_exact) < 1e-15).mean() > 0.05  # a sizeable fraction is below round-off
    assert (H_exact <= 0).any()  # ... and some come out negative: log H is undefined there
    # a Chebyshev polynomial of order K reaches only K hops: entries beyond are exactly 0,
    # and the truncated series rings below zero near that front
    H_cheb = heat_kernel(L, 10.0, method="chebyshev", order=20).numpy()
    assert (H_cheb <= 0).mean() > 0.01


def test_chebyshev_coefficients_match_exponential():
    lam = np.linspace(0, 2, 101)
    for t in (0.5, 5.0, 30.0):
        c = chebyshev_coefficients(t, 2.0, 80)
        np.testing.assert_allclose(chebyshev_filter(lam, c, 2.0), np.exp(-t * lam), atol=1e-13)
    np.testing.assert_allclose(heat_filter(lam, 4.0, "euler", 2), (1 + 2.0 * lam) ** -2.0)


def test_path_graph_heat_against_closed_form_spectrum():
    # P_n combinatorial Laplacian: eigenvectors cos(πk(j+½)/n), eigenvalues 2−2cos(πk/n)
    n = 10
    L = laplacian(nx.to_scipy_sparse_array(nx.path_graph(n), dtype=float), "combinatorial")
    k = np.arange(n)
    V = np.cos(np.pi * np.outer(np.arange(n) + 0.5, k) / n)
    V /= np.linalg.norm(V, axis=0)
    lam = 2 - 2 * np.cos(np.pi * k / n)
    ref = V @ np.diag(np.exp(-1.5 * lam)) @ V.T
    np.testing.assert_allclose(heat_kernel(L, 1.5, method="exact").numpy(), ref, atol=1e-12)


def test_heat_kernel_input_errors():
    L = _small_graph()
    with pytest.raises(ValueError, match="t must be > 0"):
        heat_kernel(L, 0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        heat_kernel(L, 1.0, method="pade")
    with pytest.raises(ValueError, match=r"B must have shape \(120, m\)"):
        heat_kernel(L, 1.0, np.ones((3, 2)))
    with pytest.raises(ValueError, match="order must be >= 1"):
        heat_kernel(L, 1.0, method="euler", order=0)
    with pytest.raises(ValueError, match="square"):
        heat_kernel(sp.csr_matrix(np.ones((2, 3))), 1.0)


def test_kernel_counts():
    from spectral_explorer.heat import kernel_counts

    assert kernel_counts(np.array([[1.0, 1e-16], [0.0, -2.0]])) == {"entries": 4, "le_tiny": 3, "le_zero": 2,
                                                                   "min": -2.0}
