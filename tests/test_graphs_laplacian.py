import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from spectral_explorer import graphs
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


# ----------------------------------------------------------------------------- named graphs
@pytest.mark.parametrize("name", list(graphs.NAMED_GRAPHS))
def test_every_named_graph_builds_with_a_layout(name):
    import networkx as nx

    G = graphs.named_graph(name)
    assert type(G) is nx.Graph and 3 <= G.number_of_nodes() <= graphs.MAX_NAMED_NODES
    assert not any(u == v for u, v in G.edges) or name in ("les_miserables",)
    P = graphs.named_graph_layout(name, G)
    assert P.shape == (G.number_of_nodes(), 2) and np.isfinite(P).all()
    assert np.array_equal(P, graphs.named_graph_layout(name, graphs.named_graph(name)))  # deterministic


@pytest.mark.parametrize("name, params, n_nodes", [
    ("path", dict(n=7), 7), ("cycle", dict(n=9), 9), ("grid", dict(rows=3, n=5), 15), ("ladder", dict(n=6), 12),
    ("hypercube", dict(dim=3), 8), ("balanced_tree", dict(branching=3, height=2), 13),
    ("balanced_tree", dict(branching=1, height=4), 5), ("random_regular", dict(n=10, degree=3), 10),
    ("erdos_renyi", dict(n=30, p=0.3), 30), ("stochastic_block_model", dict(n=31, blocks=4), 31),
    ("watts_strogatz", dict(n=20, degree=4, rewire=0.5), 20), ("karate_club", dict(n=99), 34),
])
def test_named_graph_parameters_reach_the_graph(name, params, n_nodes):
    assert graphs.named_graph(name, **params).number_of_nodes() == n_nodes


def test_named_graph_seed_and_probabilities_matter():
    a = graphs.named_graph("erdos_renyi", n=40, p=0.2, seed=1)
    assert set(a.edges) == set(graphs.named_graph("erdos_renyi", n=40, p=0.2, seed=1).edges)
    assert set(a.edges) != set(graphs.named_graph("erdos_renyi", n=40, p=0.2, seed=2).edges)
    assert graphs.named_graph("erdos_renyi", n=40, p=0.0).number_of_edges() == 0
    assert graphs.named_graph("watts_strogatz", n=20, degree=4, rewire=0.0).number_of_edges() == 40
    assert graphs.named_graph("random_regular", n=12, degree=5, seed=3).number_of_edges() == 30


@pytest.mark.parametrize("name, params, exc, match", [
    ("star", {}, ValueError, "graph must be one of"),
    ("grid", dict(rows=30, n=20), ValueError, r"rows·n = 30·20 = 600 nodes; at most 500"),
    ("ladder", dict(n=300), ValueError, r"2·n = 600 nodes"),
    ("balanced_tree", dict(branching=6, height=6), ValueError, "branching=6 and height=6 has 55987 nodes"),
    ("random_regular", dict(n=9, degree=3), ValueError, r"n·degree even; got degree=3, n=9"),
    ("random_regular", dict(n=5, degree=5), ValueError, "degree < n"),
    ("stochastic_block_model", dict(n=4, blocks=5), ValueError, "blocks=5 > n=4"),
    ("watts_strogatz", dict(n=10, degree=1), ValueError, "2 ≤ degree"),
    ("hypercube", dict(dim=1), ValueError, "at least 3 nodes, got 2"),
    ("hypercube", dict(dim=9), ValueError, "2\\^dim = 512 nodes"),
    ("path", dict(n=501), ValueError, "501 nodes; at most 500"),
    ("path", dict(n=2), ValueError, "at least 3 nodes"),
    ("path", dict(n=0), ValueError, "n must be >= 1, got 0"),
    ("path", dict(n=3.5), TypeError, "n must be an integer"),
    ("erdos_renyi", dict(p=1.5), ValueError, "p must be <= 1.0, got 1.5"),
    ("cycle", dict(size=3), TypeError, "unknown parameter"),
])
def test_named_graph_errors(name, params, exc, match):
    with pytest.raises(exc, match=match):
        graphs.named_graph(name, **params)


def test_named_graph_max_nodes():
    assert graphs.named_graph("path", n=600, max_nodes=600).number_of_nodes() == 600
    with pytest.raises(ValueError, match="at most 10"):
        graphs.named_graph("karate_club", max_nodes=10)
