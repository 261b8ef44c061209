import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from spectral_explorer.data import swiss_roll
from spectral_explorer.eigen import fix_signs, largest_eigenvalue, smallest_eigenpairs
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.laplacian import laplacian


def _graph_laplacian(n=300):
    ds = swiss_roll(n, noise=0.1, seed=3)
    return laplacian(alpha_decay_graph(ds.X, knn=10), "normalized")


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_eigenpairs_satisfy_eigen_equation(method):
    L = _graph_laplacian()
    lam, V = smallest_eigenpairs(L, 8, method=method)
    A = L.toarray()
    np.testing.assert_allclose(A @ V, V * lam, atol=1e-8)
    np.testing.assert_allclose(V.T @ V, np.eye(8), atol=1e-8)
    assert np.all(np.diff(lam) >= -1e-12)
    # deterministic signs: the largest-magnitude entry of each vector is positive
    idx = np.abs(V).argmax(axis=0)
    assert np.all(V[idx, np.arange(8)] > 0)
    # agreement with scipy's dense solver
    ref = scipy.linalg.eigh(A, subset_by_index=[0, 7], eigvals_only=True)
    np.testing.assert_allclose(lam, ref, atol=1e-9)


def test_dense_and_sparse_agree_up_to_sign_convention():
    L = _graph_laplacian()
    lam_d, V_d = smallest_eigenpairs(L, 6, method="dense")
    lam_s, V_s = smallest_eigenpairs(L, 6, method="sparse")
    np.testing.assert_allclose(lam_d, lam_s, atol=1e-9)
    # eigenvalues here are simple, so the sign convention makes the vectors identical
    np.testing.assert_allclose(V_d, V_s, atol=1e-6)


def test_path_graph_closed_form():
    n = 12
    L = laplacian(nx.to_scipy_sparse_array(nx.path_graph(n), dtype=float), "combinatorial")
    lam, _ = smallest_eigenpairs(L, n)
    np.testing.assert_allclose(lam, 2 - 2 * np.cos(np.pi * np.arange(n) / n), atol=1e-12)


def test_runs_are_deterministic():
    L = _graph_laplacian(200)
    a = smallest_eigenpairs(L, 5, method="sparse")[1]
    b = smallest_eigenpairs(L, 5, method="sparse")[1]
    np.testing.assert_array_equal(a, b)


def test_fix_signs_numpy_and_torch():
    import torch

    V = np.array([[0.1, -2.0], [-0.5, 1.0]])
    out = fix_signs(V)
    np.testing.assert_array_equal(out, [[-0.1, 2.0], [0.5, -1.0]])
    np.testing.assert_array_equal(fix_signs(torch.as_tensor(V)).numpy(), out)


def test_largest_eigenvalue_is_upper_bound():
    L = _graph_laplacian()
    lmax = largest_eigenvalue(L)
    true = np.linalg.eigvalsh(L.toarray()).max()
    assert true <= lmax <= 1.02 * true


def test_bad_k():
    L = _graph_laplacian(50)
    with pytest.raises(ValueError, match="k must be <= 50"):
        smallest_eigenpairs(L, 51)
    with pytest.raises(ValueError, match="method must be one of"):
        smallest_eigenpairs(L, 2, method="qr")


def test_eigenvalue_groups_and_svd_fixed_signs():
    import torch

    from spectral_explorer.eigen import eigenvalue_groups, svd_fixed_signs

    assert eigenvalue_groups([0.0, 1.0, 1.0, 1.0 + 1e-3], tol=1e-2) == [(0, 1), (1, 4)]
    assert eigenvalue_groups([]) == []
    M = torch.randn(7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    U, S, Vh = svd_fixed_signs(M)
    torch.testing.assert_close(U @ torch.diag(S) @ Vh, M)
    U2, _, Vh2 = svd_fixed_signs(-M)       # flipping the input flips V, never the fixed U
    torch.testing.assert_close(U2, U)
    torch.testing.assert_close(Vh2, -Vh)
    rows = torch.arange(U.shape[1])
    assert bool((U[U.abs().argmax(0), rows] > 0).all())
