"""Invariants of the SPE encoder and its baselines (spectral_explorer.spe)."""

import networkx as nx
import pytest
import torch

from spectral_explorer.positional_encodings import batched_laplacian_eig
from spectral_explorer.spe import GIN, PEGNN, SPE, LapPEEncoder, SignNetPE, spectral_matrices


def _adj(G):
    return torch.as_tensor(nx.to_numpy_array(G, nodelist=sorted(G.nodes())), dtype=torch.float64)


def _eig(G_or_adj):
    A = G_or_adj if isinstance(G_or_adj, torch.Tensor) else _adj(G_or_adj)
    return batched_laplacian_eig(A[None])


def _spe(seed=0, **kw):
    torch.manual_seed(seed)
    return SPE(**kw).double().eval()


def _laplacian_from_eig(evals, evecs, mask):
    """L restricted to the real nodes, rebuilt from the eigenpairs (independent of the Laplacian kind)."""
    n = int(mask[0].sum())
    V, lam = evecs[0, :n, :n], evals[0, :n]
    return V @ torch.diag(lam) @ V.T


def _clusters(evals, tol=1e-8):
    groups, start = [], 0
    for i in range(1, len(evals) + 1):
        if i == len(evals) or evals[i] - evals[i - 1] > tol:
            groups.append((start, i))
            start = i
    return groups


def _rotate_within_eigenspaces(evals, evecs, gen):
    V = evecs.clone()
    for a, b in _clusters(evals):
        Q, _ = torch.linalg.qr(torch.randn(b - a, b - a, generator=gen, dtype=torch.float64))
        V[:, a:b] = V[:, a:b] @ Q
    return V


def test_spe_permutation_equivariant():
    G = nx.gnp_random_graph(12, 0.35, seed=3)
    A = _adj(G)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    spe = _spe()
    out = spe(*_eig(A))[0]
    out_p = spe(*_eig(A[perm][:, perm]))[0]
    assert torch.allclose(out_p, out[perm], atol=1e-9)


def test_spe_sign_flip_invariant():
    evals, evecs, mask = _eig(nx.gnp_random_graph(14, 0.3, seed=5))
    signs = torch.where(torch.rand(14, generator=torch.Generator().manual_seed(0)) < 0.5, -1.0, 1.0).double()
    spe = _spe()
    assert torch.allclose(spe(evals, evecs * signs, mask), spe(evals, evecs, mask), atol=1e-10)


@pytest.mark.parametrize("G", [nx.cycle_graph(16), nx.hypercube_graph(4)], ids=["C16", "Q4"])
def test_spe_basis_invariant_in_repeated_eigenspaces(G):
    evals, evecs, mask = _eig(nx.convert_node_labels_to_integers(G))
    assert any(b - a > 1 for a, b in _clusters(evals[0])), "the test graph must have repeated eigenvalues"
    gen = torch.Generator().manual_seed(0)
    V2 = _rotate_within_eigenspaces(evals[0], evecs[0], gen)[None]
    assert not torch.allclose(V2, evecs, atol=1e-3)          # the basis really changed
    spe = _spe()
    assert torch.allclose(spe(evals, V2, mask), spe(evals, evecs, mask), atol=1e-9)
    # LapPE (no invariance) does see the rotation
    torch.manual_seed(0)
    lap = LapPEEncoder(k=8).double().eval()
    assert not torch.allclose(lap(evals, V2, mask), lap(evals, evecs, mask), atol=1e-3)


def test_signnet_sign_invariant_and_padding():
    evals, evecs, mask = _eig(nx.gnp_random_graph(6, 0.5, seed=1))   # fewer nodes than k
    torch.manual_seed(0)
    net = SignNetPE(k=8, d_out=5).double()
    out = net(evals, evecs, mask)
    assert out.shape == (1, 6, 5)
    assert torch.allclose(net(evals, -evecs, mask), out, atol=1e-12)


def test_lappe_sign_flips_only_in_training():
    evals, evecs, mask = _eig(nx.cycle_graph(10))
    torch.manual_seed(0)
    lap = LapPEEncoder(k=4, d_out=3).double()
    lap.eval()
    assert torch.equal(lap(evals, evecs, mask), lap(evals, evecs, mask))
    lap.train()
    outs = {tuple(lap(evals, evecs, mask).flatten().round(decimals=8).tolist()) for _ in range(10)}
    assert len(outs) > 1


def test_padded_batch_matches_unpadded():
    graphs = [nx.gnp_random_graph(8, 0.4, seed=2), nx.gnp_random_graph(13, 0.3, seed=4), nx.cycle_graph(16)]
    evals, evecs, mask = batched_laplacian_eig([_adj(G) for G in graphs])
    assert evals.shape == (3, 16)
    models = [_spe(), SignNetPE(k=8).double().eval(), LapPEEncoder(k=8).double().eval()]
    for model in models:
        batched = model(evals, evecs, mask)
        for b, G in enumerate(graphs):
            n = G.number_of_nodes()
            single = model(*_eig(G))[0]
            assert torch.allclose(batched[b, :n], single, atol=1e-9), type(model).__name__
            assert torch.all(batched[b, n:] == 0)
    # the m matrices vanish on padded rows/columns
    Z = _spe().matrices(evals, evecs, mask)
    assert Z.shape[:3] == (3, 16, 16) and torch.all(Z[0, 8:] == 0) and torch.all(Z[0, :, 8:] == 0)


def test_spectral_matrices_reconstruct_laplacian():
    evals, evecs, mask = _eig(nx.petersen_graph())
    Z = spectral_matrices(evals, evecs, evals[..., None], mask)[0, ..., 0]     # φ(λ) = λ
    assert torch.allclose(Z, _laplacian_from_eig(evals, evecs, mask), atol=1e-12)


def test_spe_stable_under_small_edge_perturbation():
    A = _adj(nx.cycle_graph(16))
    A2 = A.clone()
    A2[0, 1] = A2[1, 0] = 1 + 1e-6
    e1, e2 = _eig(A), _eig(A2)
    dL = (_laplacian_from_eig(*e2) - _laplacian_from_eig(*e1)).norm()
    assert dL > 1e-8
    for seed in range(3):
        spe = _spe(seed)
        ratio = (spe(*e2) - spe(*e1)).norm() / dL
        assert ratio < 5, float(ratio)
    # LapPE is not stable there: the degenerate eigenvectors rotate by O(1)
    torch.manual_seed(0)
    lap = LapPEEncoder(k=16).double().eval()
    assert (lap(*e2) - lap(*e1)).norm() / dL > 5


def test_rwpe_is_the_diagonal_of_spectral_matrices_with_a_fixed_phi():
    """RWPE_t = diag(V diag((1 − λ)^t) Vᵀ): SPE's matrices with a fixed φ, on a padded batch."""
    from spectral_explorer.positional_encodings import random_walk_pe

    graphs = [nx.petersen_graph(), nx.connected_watts_strogatz_graph(11, 4, 0.3, seed=1), nx.path_graph(6)]
    evals, evecs, mask = batched_laplacian_eig([_adj(G) for G in graphs])
    real = torch.arange(evals.shape[1])[None, :] < mask.sum(1, keepdim=True)
    t = torch.arange(1, 7, dtype=torch.float64)
    phi = (1 - evals)[..., None] ** t * real[..., None]                      # (B, N, 6); padding zero
    Z = spectral_matrices(evals, evecs, phi, mask)
    for b, G in enumerate(graphs):
        n = G.number_of_nodes()
        diag = torch.diagonal(Z[b, :n, :n], dim1=0, dim2=1).T                  # (n, 6)
        assert torch.allclose(diag, random_walk_pe(_adj(G), 6), atol=1e-12)


def _phi_lipschitz_bounds(spe):
    """Upper bounds on Lip(φ_ℓ), one per channel: the product of the spectral norms of φ's
    weight matrices, the last one's row ℓ (ReLU is 1-Lipschitz)."""
    lins = [m for m in spe.phi if isinstance(m, torch.nn.Linear)]
    inner = torch.prod(torch.stack([torch.linalg.matrix_norm(m.weight, 2) for m in lins[:-1]]))
    return lins[-1].weight.norm(dim=1) * inner


def test_spe_matrices_move_by_at_most_lip_phi_times_the_change_of_l():
    """Over the full spectrum Z_ℓ = φ_ℓ(L), and ‖φ(L') − φ(L)‖_F ≤ Lip(φ)·‖L' − L‖_F for symmetric
    matrices: a Lipschitz bound on SPE's matrices, with no eigengap, on random graphs (repeated
    eigenvalues included) under small and large changes. The ratio is checked against the
    bound; Huang et al.'s theorem for SPE's output is a Hölder bound (a √‖ΔL‖ term)."""
    torch.manual_seed(0)
    spe = _spe(1, m=4)
    bound = _phi_lipschitz_bounds(spe).detach()
    gen = torch.Generator().manual_seed(2)
    graphs = [nx.cycle_graph(16), nx.hypercube_graph(4), nx.petersen_graph()] + \
        [nx.connected_watts_strogatz_graph(14, 4, 0.3, seed=s) for s in range(3)]
    ratios = []
    for G in graphs:
        A = _adj(G)
        Z0 = spe.matrices(*_eig(A))
        for scale in (1e-6, 1e-2, 0.5):
            B = A.clone()
            i, j = (int(x) for x in torch.randint(0, len(A), (2,), generator=gen))
            u, v = (i, j) if i != j else (0, 1)
            B[u, v] = B[v, u] = A[u, v] + scale
            e1 = _eig(B)
            dL = (_laplacian_from_eig(*e1) - _laplacian_from_eig(*_eig(A))).norm()
            dZ = (spe.matrices(*e1) - Z0).norm(dim=(1, 2))[0]                 # per channel
            assert torch.all(dZ <= bound * dL * (1 + 1e-6) + 1e-12), (dZ / dL, bound)
            # a φ whose Lipschitz constant is known exactly: sin(5λ), Lip 5 (reached near λ = 0)
            z = [spectral_matrices(e[0], e[1], torch.sin(5 * e[0])[..., None], e[2])[0, ..., 0] for e in (_eig(A), e1)]
            ratios.append(float((z[1] - z[0]).norm() / dL))
    assert max(ratios) <= 5 * (1 + 1e-6) and max(ratios) > 2.5, max(ratios)   # the bound holds and is not loose


def test_input_validation_names_parameter():
    spe = SPE()
    with pytest.raises(ValueError, match="evecs"):
        spe(torch.zeros(2, 5), torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="mask"):
        spe(torch.zeros(2, 5), torch.zeros(2, 5, 5), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="evals"):
        spe([0.0, 1.0], torch.zeros(2, 2))
    with pytest.raises(ValueError, match="m must be"):
        SPE(m=0)
    with pytest.raises(ValueError, match="encoding"):
        PEGNN("wavelets")
    with pytest.raises(ValueError, match="pe"):
        GIN(in_dim=1, pe_dim=4)(torch.zeros(1, 3, 3), torch.ones(1, 3, 1))


@pytest.mark.parametrize("encoding", ["none", "lappe", "rwpe", "signnet", "spe"])
def test_pegnn_runs_on_device(encoding, device):
    graphs = [nx.cycle_graph(7), nx.path_graph(5)]
    adj = torch.zeros(2, 7, 7)
    adj[0] = _adj(graphs[0]).float()
    adj[1, :5, :5] = _adj(graphs[1]).float()
    evals, evecs, mask = batched_laplacian_eig(adj.double(), torch.tensor([[True] * 7, [True] * 5 + [False] * 2]))
    torch.manual_seed(0)
    net = PEGNN(encoding, out_dim=3, hidden=16, layers=2, pe_dim=4, k=4).to(device)
    out = net(adj.to(device), torch.ones(2, 7, 1, device=device), mask.to(device),
              evals.float().to(device), evecs.float().to(device))
    assert out.shape == (2, 3) and out.device.type == device.type and torch.isfinite(out).all()
    # padding does not change the prediction of the smaller graph
    net.eval()
    alone = net(adj[1:, :5, :5].to(device), torch.ones(1, 5, 1, device=device), mask[1:, :5].to(device),
                evals[1:, :5].float().to(device), evecs[1:, :5, :5].float().to(device))
    full = net(adj.to(device), torch.ones(2, 7, 1, device=device), mask.to(device),
               evals.float().to(device), evecs.float().to(device))
    assert torch.allclose(alone[0], full[1], atol=1e-4)
