"""Exact cycle counts, the cycle-counting data sets and the PE-GNN trainer."""

import math
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import torch

from spectral_explorer.substructures import (CycleDataset, count_cycles, make_cycle_dataset, random_graphs,
                                             train)


def _nx_counts(G, lengths=(3, 4, 5, 6)):
    c = Counter(len(cyc) for cyc in nx.simple_cycles(G, length_bound=max(lengths)))
    return {L: c.get(L, 0) for L in lengths}


@pytest.fixture(scope="module")
def tiny():
    graphs = random_graphs(72, (8, 14), seed=7)
    return (make_cycle_dataset(graphs[:48], name="train"), make_cycle_dataset(graphs[48:60], name="test"),
            make_cycle_dataset(random_graphs(12, (16, 20), seed=8, perturb=0.1), name="ood"))


def test_known_counts():
    assert count_cycles(nx.complete_graph(5)) == {3: 10, 4: 15, 5: 12, 6: 0}
    assert count_cycles(nx.petersen_graph()) == {3: 0, 4: 0, 5: 12, 6: 10}
    assert count_cycles(nx.complete_bipartite_graph(3, 3)) == {3: 0, 4: 9, 5: 0, 6: 6}
    assert count_cycles(nx.path_graph(6)) == {3: 0, 4: 0, 5: 0, 6: 0}
    assert count_cycles(nx.cycle_graph(5), lengths=(5,)) == {5: 1}


@pytest.mark.parametrize("seed", [0, 1])
def test_counts_match_networkx_on_random_graphs(seed):
    graphs = random_graphs(15, (8, 22), seed=seed) + random_graphs(5, (10, 16), seed=seed, perturb=0.2)
    graphs.append(nx.gnp_random_graph(12, 0.5, seed=seed))                   # a dense one
    for G in graphs:
        assert count_cycles(G) == _nx_counts(G)


def test_counts_accept_adjacency_and_ignore_self_loops():
    G = nx.gnp_random_graph(11, 0.4, seed=3)
    A = nx.to_numpy_array(G)
    np.fill_diagonal(A, 1.0)
    assert count_cycles(A) == count_cycles(G) == count_cycles(torch.as_tensor(A))
    H = nx.relabel_nodes(G, {i: f"v{i}" for i in G})
    assert count_cycles(H) == count_cycles(G)


def test_count_cycles_validation():
    with pytest.raises(TypeError, match="undirected"):
        count_cycles(nx.DiGraph([(0, 1), (1, 2), (2, 0)]))
    with pytest.raises(ValueError, match="lengths"):
        count_cycles(nx.cycle_graph(4), lengths=(2,))
    with pytest.raises(ValueError, match="symmetric"):
        count_cycles(np.triu(np.ones((4, 4)), 1))


def test_random_graphs_seeded_and_sized():
    a, b = random_graphs(10, (10, 30), seed=4), random_graphs(10, (10, 30), seed=4)
    assert all(nx.utils.graphs_equal(g, h) for g, h in zip(a, b))
    assert all(10 <= g.number_of_nodes() <= 30 for g in a)
    c = random_graphs(10, (10, 30), seed=5)
    assert not all(nx.utils.graphs_equal(g, h) for g, h in zip(a, c))
    with pytest.raises(ValueError, match="n_range"):
        random_graphs(3, (20, 10))
    with pytest.raises(ValueError, match="families"):
        random_graphs(3, families=("grid",))


def test_dataset_caches_eigenpairs_and_crops_batches(tiny):
    train_set = tiny[0]
    assert isinstance(train_set, CycleDataset) and len(train_set) == 48
    G, N = train_set.mask.shape
    assert train_set.evals.shape == (G, N) and train_set.evecs.shape == (G, N, N)
    assert train_set.y.shape == (G, 4)
    assert torch.equal(train_set.y[0], torch.tensor([float(v) for v in _nx_counts(train_set.graphs[0]).values()],
                                                    dtype=torch.float64))
    idx = [int(torch.argmin(train_set.n_nodes))]
    b = train_set.batch(idx, torch.device("cpu"), rw_steps=4)
    n = int(train_set.n_nodes[idx[0]])
    assert b["adj"].shape == (1, n, n) and b["evecs"].shape == (1, n, n) and b["rwpe"].shape == (1, n, 4)
    assert b["x"].shape == (1, n, 1) and b["mask"].all()


def test_tiny_training_decreases_loss_and_streams(tiny):
    records = []
    hist = train("spe", *tiny, epochs=4, batch_size=16, lr=5e-3, seed=0, callback=records.append,
                 model_kwargs=dict(hidden=16, layers=2, pe_dim=4, spe_m=4, spe_hidden=8))
    assert len(hist) == 4 and records == hist
    assert set(hist[0]) >= {"epoch", "loss", "test_mae", "ood_mae"}
    assert [r["epoch"] for r in hist] == [1, 2, 3, 4]
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert all(math.isfinite(r["test_mae"]) and math.isfinite(r["ood_mae"]) for r in hist)


@pytest.mark.parametrize("encoding", ["none", "lappe", "rwpe", "signnet"])
def test_train_every_encoding_deterministic(tiny, encoding):
    kw = dict(epochs=1, batch_size=16, seed=3, model_kwargs=dict(hidden=8, layers=1, pe_dim=4, k=4, rw_steps=4,
                                                                spe_hidden=8))
    h1 = train(encoding, *tiny, **kw)
    h2 = train(encoding, *tiny, **kw)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in h1]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in h2]


def test_train_validation(tiny):
    with pytest.raises(ValueError, match="encoding"):
        train("gcn", *tiny)
    with pytest.raises(TypeError, match="train_set"):
        train("none", [1, 2], tiny[1], tiny[2])
    with pytest.raises(ValueError, match="epochs"):
        train("none", *tiny, epochs=0)


def test_train_on_device(tiny, device):
    hist = train("lappe", tiny[0], tiny[1], None, epochs=1, device=device,
                 model_kwargs=dict(hidden=8, layers=1, pe_dim=4))
    assert math.isnan(hist[0]["ood_mae"]) and math.isfinite(hist[0]["test_mae"])


def test_train_progress_and_cancel_within_one_batch(tiny):
    """progress counts batches over all epochs (monotone, reaches 1); a cancel set from the
    progress callback stops before the next batch; the data set is untouched."""
    import threading

    from spectral_explorer.progress import Cancelled

    seen = []
    train("none", *tiny, epochs=2, batch_size=16, seed=0, progress=lambda f, t: seen.append(f), device="cpu")
    assert len(seen) == 2 * 3 and seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0]
    y_before = tiny[0].y.clone()
    stop, calls, records = threading.Event(), [], []

    def progress(f, t):
        calls.append(f)
        if len(calls) == 2:
            stop.set()

    with pytest.raises(Cancelled):
        train("spe", *tiny, epochs=3, batch_size=16, seed=0, progress=progress, cancel=stop,
              callback=records.append, device="cpu")
    assert len(calls) == 2 and records == [] and torch.equal(tiny[0].y, y_before)
