import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from spectral_explorer.graphs import alpha_decay_graph, check_connected, knn_graph
from spectral_explorer.laplacian import laplacian


def test_alpha_decay_matches_formula(rng):
    X = rng.normal(size=(60, 3))
    knn, decay = 5, 10.0
    W = alpha_decay_graph(X, knn=knn, decay=decay, thresh=1e-4)
    assert abs(W - W.T).max() < 1e-15
    assert W.diagonal().max() == 0
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    np.fill_diagonal(D, np.inf)
    sigma = np.sort(D, axis=1)[:, knn - 1]
    K = np.exp(-((D / sigma[:, None]) ** decay))
    K[K < 1e-4] = 0
    # the knn nearest neighbours are always kept
    order = np.argsort(D, axis=1)[:, :knn]
    for i in range(len(X)):
        K[i, order[i]] = np.maximum(K[i, order[i]], 1e-4)
    np.fill_diagonal(K, 0)
    expected = (K + K.T) / 2
    np.testing.assert_allclose(W.toarray(), expected, rtol=1e-10, atol=1e-12)


def test_knn_graph_is_symmetric_and_contains_neighbours(rng):
    X = rng.normal(size=(40, 2))
    W = knn_graph(X, knn=4)
    assert abs(W - W.T).max() == 0
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    np.fill_diagonal(D, np.inf)
    nn = np.argsort(D, axis=1)[:, :4]
    A = W.toarray()
    assert all(A[i, j] > 0 for i in range(40) for j in nn[i])


@pytest.mark.parametrize("kind", ["combinatorial", "normalized", "random_walk"])
def test_laplacian_kinds(kind, rng):
    G = nx.connected_watts_strogatz_graph(30, 4, 0.3, seed=1)
    for u, v in G.edges:
        G[u][v]["weight"] = rng.uniform(0.5, 2.0)
    W = nx.to_scipy_sparse_array(G, weight="weight", format="csr")
    L = laplacian(W, kind).toarray()
    A = W.toarray()
    d = A.sum(1)
    if kind == "combinatorial":
        np.testing.assert_allclose(L, np.diag(d) - A)
        np.testing.assert_allclose(L.sum(1), 0, atol=1e-12)
    elif kind == "normalized":
        np.testing.assert_allclose(L, np.eye(30) - A / np.sqrt(np.outer(d, d)), atol=1e-14)
        lam = np.linalg.eigvalsh(L)
        assert lam.min() > -1e-12 and lam.max() < 2 + 1e-12
    else:
        np.testing.assert_allclose(L, np.eye(30) - A / d[:, None], atol=1e-14)
        # same spectrum as the normalized Laplacian
        lam_rw = np.sort(np.linalg.eigvals(L).real)
        lam_n = np.linalg.eigvalsh(laplacian(W, "normalized").toarray())
        np.testing.assert_allclose(lam_rw, lam_n, atol=1e-10)
    # networkx's combinatorial / normalized Laplacians as an independent computation
    if kind == "combinatorial":
        np.testing.assert_allclose(L, nx.laplacian_matrix(G).toarray(), atol=1e-12)
    if kind == "normalized":
        np.testing.assert_allclose(L, nx.normalized_laplacian_matrix(G).toarray(), atol=1e-12)


def test_laplacian_rejects_bad_graphs():
    with pytest.raises(ValueError, match="symmetric"):
        laplacian(sp.csr_matrix(np.array([[0, 1.0], [0, 0]])))
    with pytest.raises(ValueError, match="non-negative"):
        laplacian(sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]])))
    with pytest.raises(ValueError, match="isolated"):
        laplacian(sp.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]])), "normalized")
    with pytest.raises(ValueError, match="kind must be one of"):
        laplacian(sp.eye(3), "signless")
    with pytest.raises(ValueError, match="square"):
        laplacian(np.ones((2, 3)))


def test_disconnected_graph_is_reported(rng):
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 100])
    W = alpha_decay_graph(X, knn=5)
    with pytest.raises(ValueError, match="disconnected: 2 components"):
        check_connected(W)


def test_graph_input_validation():
    with pytest.raises(ValueError, match="NaN or infinite"):
        alpha_decay_graph(np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]), knn=1)
    with pytest.raises(ValueError, match="knn must be <= 2"):
        alpha_decay_graph(np.zeros((3, 2)) + np.arange(3)[:, None], knn=5)
    with pytest.raises(ValueError, match="2-D"):
        knn_graph(np.arange(10.0), knn=2)
    with pytest.raises(TypeError, match="knn must be an integer"):
        knn_graph(np.zeros((5, 2)), knn=2.5)
