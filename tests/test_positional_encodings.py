"""Positional encodings: eigen-equations, independent references, batching, stability."""

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import torch

from spectral_explorer.eigen import fix_signs
from spectral_explorer.positional_encodings import (
    PAD_EIGENVALUE,
    as_adjacency,
    batched_laplacian_eig,
    batched_laplacian_pe,
    batched_random_walk_pe,
    cycle_graph_eigvecs,
    eigenspace_projectors,
    laplacian_pe,
    laplacian_pe_eig,
    normalized_laplacian,
    pe_stability,
    random_walk_pe,
    signnet_features,
    sinusoid_cycle_comparison,
    sinusoidal_cycle_coefficients,
    sinusoidal_pe,
)

CUDA = pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available"))


# ----------------------------------------------------------------------------- helpers
def _random_graphs(count=50, seed=0):
    """Connected and not-so-connected graphs of 15-38 nodes from several generators."""
    rng = np.random.default_rng(seed)
    graphs = []
    for i in range(count):
        n = int(rng.integers(15, 39))
        s = int(rng.integers(1 << 30))
        kind = i % 5
        if kind == 0:
            g = nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=s)
        elif kind == 1:
            g = nx.random_labeled_tree(n, seed=s)
        elif kind == 2:
            g = nx.gnp_random_graph(n, 0.2, seed=s)           # may be disconnected / have isolated nodes
        elif kind == 3:
            g = nx.barabasi_albert_graph(n, 2, seed=s)
        else:
            g = nx.random_labeled_tree(n, seed=s)
            for u, v in rng.integers(0, n, (3, 2)):
                if u != v:
                    g.add_edge(int(u), int(v), weight=float(rng.uniform(0.5, 2.0)))   # weighted rings
        graphs.append(g)
    return graphs


def _scipy_spectrum(g):
    """Independent reference: scipy's dense solver on networkx's normalized Laplacian."""
    L = nx.normalized_laplacian_matrix(g, nodelist=list(g.nodes), weight="weight").toarray()
    return scipy.linalg.eigh(L)


def _determined(w, V, j, tol=1e-6):
    """Is eigenvector j fixed by the sign convention (simple eigenvalue, unique max entry)?"""
    gaps = [abs(w[j] - w[i]) for i in (j - 1, j + 1) if 0 <= i < len(w)]
    top = np.sort(np.abs(V[:, j]))[::-1]
    return min(gaps) > tol and (len(top) < 2 or top[0] - top[1] > tol)


def _assert_same_eigenspaces(w_ref, V_ref, pe, k, atol):
    """pe (n, k) spans, group by group, what V_ref's columns 1..k span (complete groups only)."""
    lam = w_ref[1:k + 1]
    j = 0
    while j < len(lam):
        e = j
        while e + 1 < len(lam) and lam[e + 1] - lam[e] <= 1e-6:
            e += 1
        # a group cut by the end of the window (λ_k ≈ λ_{k+1}) is not determined by k columns
        cut = e + 2 < len(w_ref) and e == len(lam) - 1 and w_ref[e + 2] - lam[e] <= 1e-6
        # likewise a group that continues below the skipped index 0 (a disconnected graph)
        cut = cut or (j == 0 and lam[0] - w_ref[0] <= 1e-6)
        if not cut:
            R, G = V_ref[:, 1 + j:2 + e], pe[:, j:e + 1]
            np.testing.assert_allclose(G @ G.T, R @ R.T, atol=atol)
        j = e + 1


# ----------------------------------------------------------------------------- LapPE
@pytest.mark.parametrize("dev", ["cpu", CUDA])
def test_lappe_eigen_equation_orthonormal_and_signs(dev):
    g = nx.connected_watts_strogatz_graph(30, 4, 0.3, seed=1)
    evals, pe = laplacian_pe_eig(g, 6, device=dev, dtype=torch.float64)
    assert pe.shape == (30, 6) and pe.device.type == dev and pe.dtype == torch.float64
    L = normalized_laplacian(as_adjacency(g)).to(dev)
    torch.testing.assert_close(L @ pe, pe * evals, atol=1e-10, rtol=0)
    torch.testing.assert_close(pe.T @ pe, torch.eye(6, dtype=torch.float64, device=dev), atol=1e-10, rtol=0)
    assert torch.all(evals[1:] >= evals[:-1]) and float(evals[0]) > 1e-8      # trivial one skipped
    idx = pe.abs().argmax(0)
    assert torch.all(pe[idx, torch.arange(6, device=dev)] > 0)
    torch.testing.assert_close(laplacian_pe(g, 6, device=dev, dtype=torch.float64), pe)


def test_lappe_agrees_with_scipy_up_to_sign():
    checked = 0
    for g in _random_graphs(10, seed=3):
        w, V = _scipy_spectrum(g)
        pe = laplacian_pe(g, 8, device="cpu").numpy()
        ref = fix_signs(V[:, 1:9])
        for j in range(8):
            if _determined(w, V, j + 1):
                np.testing.assert_allclose(pe[:, j], ref[:, j], atol=1e-9)
                checked += 1
            else:   # still an eigenvector, up to sign/rotation
                np.testing.assert_allclose(np.abs(pe[:, j]).sum() > 0, True)
        _assert_same_eigenspaces(w, V, pe, 8, atol=1e-9)
    assert checked > 40


@pytest.mark.parametrize("graph, k, mults", [
    (nx.cycle_graph(16), 8, [2, 2, 2, 2]),               # 1 − cos(2πm/16), m = 1..4, pairs
    (nx.hypercube_graph(4), 10, [4, 6]),                 # j/2 with multiplicity C(4, j)
])
def test_lappe_repeated_eigenspaces_match_scipy_through_projectors(graph, k, mults):
    w, V = _scipy_spectrum(graph)
    evals, pe = laplacian_pe_eig(graph, k, device="cpu")
    ours = eigenspace_projectors(evals, pe)
    assert [int(round(float(torch.trace(P)))) for _, P in ours] == mults
    start = 1
    for (lam, P), m in zip(ours, mults):
        R = V[:, start:start + m]
        np.testing.assert_allclose(lam, w[start], atol=1e-10)
        np.testing.assert_allclose(P.numpy(), R @ R.T, atol=1e-10)
        start += m


def test_lappe_tiny_graphs_are_zero_padded():
    for n in (1, 2, 3):
        evals, pe = laplacian_pe_eig(nx.path_graph(n), 4, device="cpu")
        assert pe.shape == (n, 4)
        assert torch.all(pe[:, n - 1:] == 0) and torch.all(evals[n - 1:] == PAD_EIGENVALUE)
    evals, pe = laplacian_pe_eig(nx.path_graph(3), 4, device="cpu")
    assert torch.all(pe[:, :2].abs().sum(0) > 0)
    # isolated nodes: Chung's convention, one zero eigenvalue per component, no NaN
    g = nx.Graph([(0, 1)])
    g.add_nodes_from([2, 3])
    evals, pe = laplacian_pe_eig(g, 3, device="cpu")
    assert torch.isfinite(pe).all()
    np.testing.assert_allclose(evals.numpy(), [0.0, 0.0, 2.0], atol=1e-12)


def test_sign_flip_is_random_but_reproducible():
    g = nx.connected_watts_strogatz_graph(20, 4, 0.2, seed=0)
    base = laplacian_pe(g, 5, device="cpu")
    a = laplacian_pe(g, 5, sign_flip=True, generator=torch.Generator().manual_seed(1), device="cpu")
    b = laplacian_pe(g, 5, sign_flip=True, generator=torch.Generator().manual_seed(1), device="cpu")
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a.abs(), base.abs())
    s = (a * base).sum(0)
    assert torch.allclose(s.abs(), torch.ones(5, dtype=s.dtype))
    flips = [laplacian_pe(g, 5, sign_flip=True, generator=torch.Generator().manual_seed(i), device="cpu")
             for i in range(8)]
    assert any(not torch.equal(f, base) for f in flips)


# ----------------------------------------------------------------------------- RWPE
@pytest.mark.parametrize("dev", ["cpu", CUDA])
def test_rwpe_equals_diagonal_of_matrix_powers(dev):
    g = nx.connected_watts_strogatz_graph(25, 4, 0.3, seed=2)
    for u, v in g.edges:
        g[u][v]["weight"] = 1.0 + (u * 7 + v * 3) % 5
    g.add_node(25)                                      # isolated node
    A = nx.to_numpy_array(g)
    d = A.sum(1)
    P = np.divide(A, d[:, None], out=np.zeros_like(A), where=d[:, None] > 0)
    ref = np.stack([np.diag(np.linalg.matrix_power(P, j)) for j in range(1, 13)], 1)
    pe = random_walk_pe(g, 12, device=dev, dtype=torch.float64)
    assert pe.shape == (26, 12) and torch.isfinite(pe).all()
    np.testing.assert_allclose(pe.cpu().numpy(), ref, atol=1e-12)
    assert torch.all(pe[25] == 0)
    # permutation equivariance
    perm = np.random.default_rng(0).permutation(26)
    pe_p = random_walk_pe(A[np.ix_(perm, perm)], 12, device=dev, dtype=torch.float64)
    np.testing.assert_allclose(pe_p.cpu().numpy(), ref[perm], atol=1e-12)


def _rwpe_test_graphs():
    """Graphs the spectral form of RWPE was not derived on: random ER (isolated nodes),
    weighted trees with rings, Watts–Strogatz, Barabási–Albert, bipartite (λ = 2), SBM, a
    disconnected union with an isolated node and weighted edges."""
    graphs = _random_graphs(15, seed=11)
    graphs += [nx.complete_bipartite_graph(3, 5), nx.petersen_graph(),
               nx.stochastic_block_model([6, 7, 5], [[0.8, 0.1, 0.0], [0.1, 0.7, 0.1], [0.0, 0.1, 0.9]], seed=3)]
    g = nx.disjoint_union(nx.cycle_graph(7), nx.star_graph(4))
    for u, v in g.edges:
        g[u][v]["weight"] = 0.5 + (3 * u + v) % 4
    g.add_node(len(g))                                    # isolated
    return graphs + [g]


def test_rwpe_is_the_diagonal_of_a_fixed_spectral_function():
    """RWPE_t(i) = Σ_j (1 − λ_j)^t v_j(i)² with (λ_j, v_j) from scipy's solver on networkx's
    normalized Laplacian, at every node of positive degree; at an isolated node the sum is 1
    (its own eigenvector, λ = 0) and RWPE is 0 by convention."""
    K = 10
    for g in _rwpe_test_graphs():
        w, V = _scipy_spectrum(g)
        spectral = np.stack([((1 - w) ** t * V ** 2).sum(1) for t in range(1, K + 1)], 1)
        rw = random_walk_pe(g, K, device="cpu").numpy()
        iso = nx.to_numpy_array(g).sum(1) == 0
        np.testing.assert_allclose(rw[~iso], spectral[~iso], atol=1e-12)
        assert np.all(rw[iso] == 0) and np.allclose(spectral[iso], 1.0)
    # the batched version (matrix powers of S) agrees too
    graphs = _rwpe_test_graphs()
    rw_b, mask = batched_random_walk_pe(graphs, K, device="cpu")
    for b, g in enumerate(graphs):
        w, V = _scipy_spectrum(g)
        iso = nx.to_numpy_array(g).sum(1) == 0
        spectral = np.stack([((1 - w) ** t * V ** 2).sum(1) for t in range(1, K + 1)], 1)
        np.testing.assert_allclose(rw_b[b, :len(g)].numpy()[~iso], spectral[~iso], atol=1e-12)


def test_rwpe_moves_by_at_most_t_times_the_change_of_the_laplacian():
    """φ_t(λ) = (1 − λ)^t is t-Lipschitz on [0, 2], hence ‖ΔRWPE_t‖_2 ≤ ‖Δ(I − L)^t‖_F ≤ t‖ΔL‖_F
    (no isolated node before or after) — for small and large changes, weighted or flipped edges."""
    rng = np.random.default_rng(5)
    K, checked = 8, 0
    for g in _random_graphs(20, seed=13):
        A = nx.to_numpy_array(g)
        if (A.sum(1) == 0).any():
            continue
        for scale in (1e-6, 1e-2, 1.0):
            B = A.copy()
            iu = np.array(np.triu_indices(len(A), 1)).T
            for u, v in iu[rng.choice(len(iu), size=3, replace=False)]:
                B[u, v] = B[v, u] = max(B[u, v] + scale * rng.choice([-1.0, 1.0]) * (1 if B[u, v] else 0.5), 0.0)
            if (B.sum(1) == 0).any():
                continue
            dL = float(torch.linalg.norm(normalized_laplacian(torch.as_tensor(B)) - normalized_laplacian(torch.as_tensor(A))))
            d_rw = np.linalg.norm(random_walk_pe(B, K, device="cpu").numpy() - random_walk_pe(A, K, device="cpu").numpy(),
                                  axis=0)
            assert np.all(d_rw <= np.arange(1, K + 1) * dL * (1 + 1e-9) + 1e-13), (d_rw / dL, scale)
            checked += 1
    assert checked >= 30


# ----------------------------------------------------------------------------- sinusoids and cycles
def test_sinusoidal_pe_formula():
    pe = sinusoidal_pe(50, 16, device="cpu")
    t = np.arange(50)[:, None]
    w = 10000.0 ** (-np.arange(0, 16, 2) / 16)
    np.testing.assert_allclose(pe[:, 0::2].numpy(), np.sin(t * w), atol=1e-12)
    np.testing.assert_allclose(pe[:, 1::2].numpy(), np.cos(t * w), atol=1e-12)
    assert sinusoidal_pe(5, 3, device="cpu").shape == (5, 3)


def test_sinusoid_cycle_comparison_rebuilds_the_sinusoids_and_projects_the_transformer_ladder():
    n, d = 24, 8
    c = sinusoid_cycle_comparison(n, d, base=100.0)
    np.testing.assert_allclose(c["recon"], c["S"], atol=1e-12)           # S = V blockdiag(C), block by block
    V = c["V"]
    np.testing.assert_allclose(V.T @ V, np.eye(d), atol=1e-12)
    # the least-squares fit in span(V) is the orthogonal projection V Vᵀ T; what is left is ⟂ V
    T = sinusoidal_pe(n, d, base=100.0, device="cpu", dtype=torch.float64).numpy()
    np.testing.assert_allclose(c["T"], T, atol=0)
    np.testing.assert_allclose(c["T_fit"], V @ V.T @ T, atol=1e-12)
    np.testing.assert_allclose(V.T @ (T - c["T_fit"]), 0, atol=1e-12)
    assert c["T_rel"] == pytest.approx(np.linalg.norm(T - V @ V.T @ T) / np.linalg.norm(T), rel=1e-10)
    assert c["T_rel"] > 0.01                                              # the ladder is not the cycle's Fourier basis
    # with v_0: the fit in the span of scipy's first d + 1 eigenvectors of the cycle
    w, U = scipy.linalg.eigh(nx.normalized_laplacian_matrix(nx.cycle_graph(n)).toarray())
    U = U[:, :d + 1]
    res0 = T - U @ np.linalg.lstsq(U, T, rcond=None)[0]
    assert c["T_rel_v0"] == pytest.approx(np.linalg.norm(res0) / np.linalg.norm(T), rel=1e-9)
    np.testing.assert_allclose(c["T_share_v0"], (res0 ** 2).sum(0) / (res0 ** 2).sum(), atol=1e-9)
    np.testing.assert_allclose(c["omega"][0::2], 100.0 ** (-np.arange(0, d, 2) / d), rtol=1e-12)


@pytest.mark.parametrize("n, d", [(16, 8), (17, 16), (40, 10)])
def test_sinusoids_are_exact_combinations_of_cycle_eigenvectors(n, d):
    coeffs, S, V, residual = sinusoidal_cycle_coefficients(n, d, device="cpu")
    assert residual < 1e-12
    Vb = V.reshape(n, d // 2, 2).permute(1, 0, 2)
    Sb = S.reshape(n, d // 2, 2).permute(1, 0, 2)
    torch.testing.assert_close(Vb @ coeffs, Sb, atol=1e-12, rtol=0)
    # C_m = sqrt(n/2) x orthogonal: the solver's basis is a rotation/reflection of the sinusoids
    eye = torch.eye(2, dtype=coeffs.dtype).expand(d // 2, 2, 2)
    torch.testing.assert_close(coeffs.mT @ coeffs, n / 2 * eye, atol=1e-10, rtol=0)
    # and the sinusoids themselves satisfy the cycle's eigen-equation
    evals, _ = cycle_graph_eigvecs(n, d, device="cpu")
    L = normalized_laplacian(as_adjacency(nx.cycle_graph(n)))
    torch.testing.assert_close(L @ S, S * evals, atol=1e-12, rtol=0)
    m = np.repeat(np.arange(1, d // 2 + 1), 2)
    np.testing.assert_allclose(evals.numpy(), 1 - np.cos(2 * np.pi * m / n), atol=1e-12)


# ----------------------------------------------------------------------------- projectors, SignNet
def test_eigenspace_projectors_are_basis_invariant():
    g = nx.hypercube_graph(3)
    A = as_adjacency(g)
    w, V = torch.linalg.eigh(normalized_laplacian(A))
    groups = eigenspace_projectors(w, V)
    np.testing.assert_allclose([lam for lam, _ in groups], [0.0, 2 / 3, 4 / 3, 2.0], atol=1e-12)
    assert [int(round(float(torch.trace(P)))) for _, P in groups] == [1, 3, 3, 1]
    torch.testing.assert_close(sum(P for _, P in groups), torch.eye(8, dtype=w.dtype), atol=1e-12, rtol=0)
    for _, P in groups:
        torch.testing.assert_close(P @ P, P, atol=1e-12, rtol=0)
    Q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=w.dtype, generator=torch.Generator().manual_seed(0)))
    V2 = V.clone()
    V2[:, 1:4] = V[:, 1:4] @ Q                         # another basis of the same eigenspace
    for (_, P), (_, P2) in zip(groups, eigenspace_projectors(w, V2)):
        torch.testing.assert_close(P, P2, atol=1e-12, rtol=0)
    assert len(eigenspace_projectors(w, V, tol=1.0)) == 1


def test_signnet_features_are_sign_invariant():
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)).double()
    pe = laplacian_pe(nx.cycle_graph(10), 4, device="cpu")
    feat = lambda V: f(V.unsqueeze(-1))                # noqa: E731 - per-eigenvector network
    flips = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=pe.dtype)
    torch.testing.assert_close(signnet_features(pe, feat), signnet_features(pe * flips, feat))
    with pytest.raises(TypeError, match="f must be a callable"):
        signnet_features(pe, 3)


# ----------------------------------------------------------------------------- batched
def test_batched_equals_per_graph_on_random_graphs():
    graphs = _random_graphs(50, seed=0)
    adjs = [as_adjacency(g) for g in graphs]
    pe, mask, lam = batched_laplacian_pe(adjs, 8, return_evals=True, device="cpu")
    rw, mask2 = batched_random_walk_pe(adjs, 16, device="cpu")
    evals_all, evecs_all, mask3 = batched_laplacian_eig(adjs, device="cpu")
    assert torch.equal(mask, mask2) and torch.equal(mask, mask3)
    assert pe.shape == (50, 38, 8) and rw.shape == (50, 38, 16)
    determined = 0
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        assert int(mask[b].sum()) == n and not mask[b, n:].any()
        w_ref, V_ref = _scipy_spectrum(g)
        ref_l, ref = laplacian_pe_eig(g, 8, device="cpu")
        torch.testing.assert_close(lam[b], ref_l, atol=1e-10, rtol=0)
        np.testing.assert_allclose(evals_all[b, :n].numpy(), np.clip(w_ref, 0, 2), atol=1e-10)
        got = pe[b, :n].numpy()
        for j in range(8):
            if _determined(w_ref, V_ref, j + 1):
                np.testing.assert_allclose(got[:, j], ref[:, j].numpy(), atol=1e-9)
                determined += 1
        _assert_same_eigenspaces(w_ref, V_ref, got, 8, atol=1e-9)
        assert torch.all(pe[b, n:] == 0) and torch.all(rw[b, n:] == 0)
        torch.testing.assert_close(rw[b, :n], random_walk_pe(g, 16, device="cpu"), atol=1e-12, rtol=0)
    assert determined > 200
    # the unbucketed path and a single thread give the same answer
    pe_nb, _ = batched_laplacian_pe(adjs[:10], 8, bucket=False, n_threads=1, device="cpu")
    _, V_nb, _ = batched_laplacian_eig(adjs[:10], bucket=False, device="cpu")
    torch.testing.assert_close(batched_random_walk_pe(adjs[:10], 16, bucket=False, device="cpu")[0],
                               rw[:10, :pe_nb.shape[1]], atol=1e-12, rtol=0)
    for b in range(10):
        n = graphs[b].number_of_nodes()
        R, G = evecs_all[b, :n, :n], V_nb[b, :n, :n]
        torch.testing.assert_close(G @ G.T, R @ R.T, atol=1e-10, rtol=0)


def test_batched_float32_is_close_to_float64():
    graphs = _random_graphs(20, seed=5)
    p64, _ = batched_laplacian_pe(graphs, 8, device="cpu", dtype=torch.float64)
    p32, _ = batched_laplacian_pe(graphs, 8, device="cpu", dtype=torch.float32)
    assert p32.dtype == torch.float32
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        w, V = _scipy_spectrum(g)
        for j in range(8):
            if _determined(w, V, j + 1, tol=1e-3):
                np.testing.assert_allclose(p32[b, :n, j].double(), p64[b, :n, j], atol=1e-4)
    r64, _ = batched_random_walk_pe(graphs, 16, device="cpu", dtype=torch.float64)
    r32, _ = batched_random_walk_pe(graphs, 16, device="cpu", dtype=torch.float32)
    torch.testing.assert_close(r32.double(), r64, atol=1e-5, rtol=0)


def test_batched_eig_padding_contract():
    # a bipartite path (eigenvalue exactly 2) next to a larger graph: padding must not mix
    graphs = [nx.path_graph(4), nx.complete_graph(7), nx.path_graph(1), nx.cycle_graph(6)]
    evals, evecs, mask = batched_laplacian_eig([as_adjacency(g) for g in graphs], device="cpu")
    assert evals.shape == (4, 7) and evecs.shape == (4, 7, 7) and mask.dtype == torch.bool
    assert torch.all(evals[:, 1:] >= evals[:, :-1])
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        assert torch.all(evals[b, n:] == PAD_EIGENVALUE)
        assert torch.all(evecs[b, n:, :] == 0) and torch.all(evecs[b, :, n:] == 0)
        V = evecs[b, :n, :n]
        torch.testing.assert_close(V.T @ V, torch.eye(n, dtype=V.dtype), atol=1e-12, rtol=0)
        L = normalized_laplacian(as_adjacency(g))
        torch.testing.assert_close(L @ V, V * evals[b, :n], atol=1e-12, rtol=0)
    np.testing.assert_allclose(evals[0, 3].item(), 2.0, atol=1e-12)      # the path's own λ = 2
    ev_k, V_k, _ = batched_laplacian_eig([as_adjacency(g) for g in graphs], k=3, device="cpu")
    torch.testing.assert_close(ev_k, evals[:, :3])
    torch.testing.assert_close(V_k, evecs[:, :, :3])


def test_batched_padded_tensor_with_arbitrary_mask_matches_list():
    graphs = _random_graphs(6, seed=9)
    N = 40
    A = torch.zeros(6, N, N, dtype=torch.float64)
    mask = torch.zeros(6, N, dtype=torch.bool)
    rng = np.random.default_rng(0)
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        pos = torch.as_tensor(np.sort(rng.choice(N, n, replace=False)))
        A[b][pos[:, None], pos[None, :]] = as_adjacency(g)
        mask[b, pos] = True
        A[b, ~mask[b]] = 5.0                               # garbage on padding: ignored
        A[b, :, ~mask[b]] = 5.0
    pe_t, m_t = batched_laplacian_pe(A, 8, mask=mask)
    rw_t, _ = batched_random_walk_pe(A, 16, mask=mask)
    ev_t, _, _ = batched_laplacian_eig(A, mask)
    assert torch.equal(m_t, mask)
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        torch.testing.assert_close(rw_t[b][mask[b]], random_walk_pe(g, 16, device="cpu"), atol=1e-12, rtol=0)
        assert torch.all(rw_t[b][~mask[b]] == 0) and torch.all(pe_t[b][~mask[b]] == 0)
        w, V = _scipy_spectrum(g)
        np.testing.assert_allclose(ev_t[b, :n].numpy(), np.clip(w, 0, 2), atol=1e-10)
        assert torch.all(ev_t[b, n:] == PAD_EIGENVALUE)
        _assert_same_eigenspaces(w, V, pe_t[b][mask[b]].numpy(), 8, atol=1e-9)


def test_batched_tiny_graphs_and_graph_likes():
    graphs = [nx.path_graph(1), nx.path_graph(2), np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]),
              torch.ones(1, 1) * 0]
    pe, mask = batched_laplacian_pe(graphs, 5, device="cpu")
    assert pe.shape == (4, 3, 5) and mask.sum(1).tolist() == [1, 2, 3, 1]
    for b, g in enumerate(graphs):
        n = int(mask[b].sum())
        torch.testing.assert_close(pe[b, :n], laplacian_pe(g, 5, device="cpu"), atol=1e-12, rtol=0)
        assert torch.all(pe[b, :, max(n - 1, 0):] == 0)
    rw, _ = batched_random_walk_pe(graphs, 3, device="cpu")
    assert torch.isfinite(rw).all() and torch.all(rw[0] == 0)
    flip, _ = batched_laplacian_pe(graphs, 5, sign_flip=True, generator=torch.Generator().manual_seed(0), device="cpu")
    torch.testing.assert_close(flip.abs(), pe.abs())


@pytest.mark.parametrize("dev", ["cpu", CUDA])
def test_batched_on_device(dev):
    # plus two graphs each of 34 and 40 nodes: size buckets above 32 rows, whose eigensolve a
    # CUDA batch hands to the CPU
    graphs = _random_graphs(12, seed=2) + [nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=s)
                                           for n, s in ((34, 0), (34, 1), (40, 2), (40, 3))]
    adjs = [as_adjacency(g).to(dev) for g in graphs]
    pe, mask = batched_laplacian_pe(adjs, 6, dtype=torch.float64)
    rw, _ = batched_random_walk_pe(adjs, 8, dtype=torch.float64)
    assert pe.device.type == dev and rw.device.type == dev and mask.device.type == dev
    ref_pe, _ = batched_laplacian_pe([a.cpu() for a in adjs], 6, dtype=torch.float64)
    ref_rw, _ = batched_random_walk_pe([a.cpu() for a in adjs], 8, dtype=torch.float64)
    torch.testing.assert_close(rw.cpu(), ref_rw, atol=1e-10, rtol=0)
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        w, V = _scipy_spectrum(g)
        _assert_same_eigenspaces(w, V, pe[b, :n].cpu().numpy(), 6, atol=1e-8)


# ----------------------------------------------------------------------------- stability
def test_c16_raw_eigenvectors_are_unstable_projectors_report():
    r = pe_stability(nx.cycle_graph(16), 8, eps=1e-6)
    assert r["raw"] > 1e5                                # an eigenspace rotates arbitrarily
    assert r["subspace"] < 10                            # span(v_1..v_8): eigengap λ_9 − λ_8 ≈ 0.38
    np.testing.assert_allclose(r["eigengap"], np.cos(2 * np.pi * 4 / 16) - np.cos(2 * np.pi * 5 / 16), atol=1e-12)
    assert r["projectors"] < 10                          # clusters split by ~ε < tol: groups intact
    # a split larger than tol makes the hard projectors jump as well
    r2 = pe_stability(nx.cycle_graph(16), 8, eps=1e-3, tol=1e-6)
    assert r2["projectors"] > 1e3 and r2["subspace"] < 10
    # k cutting through an eigenvalue pair: no gap, even the subspace is unstable
    r3 = pe_stability(nx.cycle_graph(16), 7, eps=1e-6)
    assert r3["eigengap"] < 1e-12 and r3["subspace"] > 1e5
    # a smooth spectral function (SPE-like) of the full spectrum is stable
    spe = lambda lam, V: V @ torch.diag(torch.exp(-2 * lam)) @ V.T   # noqa: E731
    r4 = pe_stability(nx.cycle_graph(16), 8, eps=1e-6, spe_fn=spe)
    assert r4["spe"] < 10
    r5 = pe_stability(nx.cycle_graph(16), 8, mode="edge_flip", n_flips=2, seed=1)
    assert r5["delta_L"] > 0.1 and np.isfinite(r5["raw"]) and r5["eps"] is None


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad, exc, msg", [
    (nx.DiGraph([(0, 1)]), ValueError, "undirected"),
    (np.array([[0, 1.0], [0, 0]]), ValueError, "symmetric"),
    (np.array([[0, -1.0], [-1.0, 0]]), ValueError, "non-negative"),
    (np.array([[0, np.nan], [np.nan, 0]]), ValueError, "NaN"),
    (np.ones((2, 3)), ValueError, "square"),
    (np.zeros((0, 0)), ValueError, "at least one node"),
    ("graph", TypeError, "networkx graph"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "numeric"),
    (torch.ones(2, 2, dtype=torch.complex64), TypeError, "real-valued"),
])
def test_as_adjacency_rejects_bad_input(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        as_adjacency(bad)


def test_bad_parameters_name_themselves():
    g = nx.cycle_graph(6)
    with pytest.raises(ValueError, match="k must be >= 1"):
        laplacian_pe(g, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        laplacian_pe(g, 2.5)
    with pytest.raises(TypeError, match="sign_flip"):
        laplacian_pe(g, 2, sign_flip="yes")
    with pytest.raises(TypeError, match="generator"):
        laplacian_pe(g, 2, sign_flip=True, generator=3)
    with pytest.raises(ValueError, match="K must be >= 1"):
        random_walk_pe(g, 0)
    with pytest.raises(ValueError, match="d must be even"):
        sinusoidal_cycle_coefficients(10, 3)
    with pytest.raises(ValueError, match="d must be <= n - 1"):
        cycle_graph_eigvecs(8, 8)
    with pytest.raises(ValueError, match="frequencies"):
        sinusoidal_pe(5, 4, frequencies=[1.0])
    with pytest.raises(ValueError, match="tol must be >= 0"):
        eigenspace_projectors(torch.zeros(2), torch.eye(2), tol=-1)
    with pytest.raises(ValueError, match="evecs must be"):
        eigenspace_projectors(torch.zeros(2), torch.eye(3))
    with pytest.raises(ValueError, match="mode must be one of"):
        pe_stability(g, 2, mode="rotate")
    with pytest.raises(ValueError, match="k must be <= n - 2"):
        pe_stability(g, 5)
    with pytest.raises(ValueError, match="eps must be > 0"):
        pe_stability(g, 2, eps=0.0)
    with pytest.raises(ValueError, match="edge must be"):
        pe_stability(g, 2, edge=(0, 0))


def test_batched_bad_inputs():
    good = as_adjacency(nx.path_graph(3))
    with pytest.raises(ValueError, match="at least one graph"):
        batched_laplacian_eig([])
    with pytest.raises(ValueError, match=r"adjs\[1\] must be symmetric"):
        batched_laplacian_eig([good, torch.tensor([[0.0, 1.0], [0.0, 0.0]])])
    with pytest.raises(ValueError, match=r"adjs\[0\] must have non-negative"):
        batched_laplacian_eig([-good])
    with pytest.raises(ValueError, match=r"graphs\[1\] contains NaN"):
        batched_random_walk_pe([good, torch.full((2, 2), float("nan"))], 3)
    with pytest.raises(ValueError, match=r"adjs\[1\].*square"):
        batched_laplacian_eig([good, np.ones((2, 3))])
    with pytest.raises(ValueError, match="padded"):
        batched_laplacian_eig(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="mask must be a bool"):
        batched_laplacian_eig(torch.zeros(2, 3, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="mask must have shape"):
        batched_laplacian_eig(torch.zeros(2, 3, 3), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be None"):
        batched_laplacian_eig([good], torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="adjs must be a list"):
        batched_laplacian_eig("graphs")
    with pytest.raises(ValueError, match="k must be <= 3"):
        batched_laplacian_eig([good], k=4)
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        batched_laplacian_pe([good], 2, n_threads=0)


def test_top_level_api_accepts_every_graph_kind():
    import networkx as nx
    import scipy.sparse as sp

    import spectral_explorer as se

    G = nx.karate_club_graph()
    A = nx.to_numpy_array(G, weight=None)
    ref = se.laplacian_pe(G, 4)
    assert ref.shape == (34, 4)
    for graph in (sp.csr_matrix(A), A, torch.as_tensor(A)):
        torch.testing.assert_close(se.laplacian_pe(graph, 4), se.laplacian_pe(nx.from_numpy_array(A), 4))
    rw = se.random_walk_pe(A, 5)
    assert rw.shape == (34, 5)
    evals, evecs, mask = se.positional_encodings.batched_laplacian_eig([torch.as_tensor(A)])
    out = se.SPE(m=4, d_out=3)(evals, evecs, mask)
    assert out.shape == (1, 34, 3)
