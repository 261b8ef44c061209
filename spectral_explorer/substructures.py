"""Substructure counting: exact cycle counts, a cycle-counting benchmark and its trainer.

Counting short cycles is the classic task on which positional encodings earn their keep: a
message-passing GNN without them is bounded by the 1-WL test and cannot count cycles,
while spectral encodings see them through the eigenpairs.  This module provides

* :func:`count_cycles` — the exact number of simple cycles of each length 3..6 of an
  undirected graph (depth-first enumeration rooted at the smallest vertex of every cycle);
* :func:`make_cycle_dataset` / :func:`cycle_count_datasets` — seeded random graphs
  (Erdős–Rényi, random regular, Watts–Strogatz; 10–30 nodes) with their cycle counts as
  targets, and an out-of-distribution (OOD) set of larger, perturbed graphs.  Laplacian
  eigenpairs are computed once per data set (batched) and kept with it;
* :func:`train` — trains a :class:`~spectral_explorer.spe.PEGNN` with one encoding and
  streams one record per epoch to a callback;
* :func:`compare_encodings` — the five encodings side by side.

Targets are standardised with the training set's mean and standard deviation, and the
errors reported (``loss``, ``test_mae``, ``ood_mae``) are mean absolute errors on that
standardised scale, averaged over the four targets.

Pure torch / numpy / networkx: no UI imports.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import torch

from ._validation import check_choice, check_float, check_int
from .device import resolve_device
from .progress import checkpoint, subrange
from .positional_encodings import as_adjacency, batched_laplacian_eig, batched_random_walk_pe
from .spe import ENCODINGS, PEGNN

__all__ = ["count_cycles", "CYCLE_LENGTHS", "GRAPH_FAMILIES", "CycleDataset", "random_graphs",
           "make_cycle_dataset", "cycle_count_datasets", "train", "compare_encodings"]

CYCLE_LENGTHS = (3, 4, 5, 6)
GRAPH_FAMILIES = ("er", "regular", "ws")


# ----------------------------------------------------------------------------- counting
def count_cycles(graph, lengths=CYCLE_LENGTHS) -> dict[int, int]:
    """Exact numbers of simple cycles of the given lengths in an undirected graph.

    Every cycle is enumerated once per direction from its smallest vertex ``s``: a
    depth-first search from ``s`` that only visits vertices larger than ``s`` and closes
    the walk when it returns to ``s`` after at least three vertices; the result is halved.
    The search depth is ``max(lengths)``, so the cost is the number of simple paths with at
    most ``max(lengths) − 1`` edges (milliseconds for sparse graphs of a few dozen nodes).

    Parameters
    ----------
    graph : networkx.Graph or array_like
        An undirected simple graph, or a symmetric 0/1 adjacency matrix.  Self-loops and
        edge weights are ignored.
    lengths : iterable of int, default (3, 4, 5, 6)
        Cycle lengths to count (each ≥ 3).

    Returns
    -------
    dict
        ``{length: count}``.

    Examples
    --------
    >>> import networkx as nx
    >>> count_cycles(nx.complete_graph(4))
    {3: 4, 4: 3, 5: 0, 6: 0}
    >>> count_cycles(nx.cycle_graph(6))
    {3: 0, 4: 0, 5: 0, 6: 1}
    """
    lengths = tuple(lengths)
    if not lengths:
        raise ValueError("lengths must name at least one cycle length, got an empty sequence")
    for L in lengths:
        check_int(L, "lengths", low=3)
    nbrs = _neighbour_lists(graph)
    n = len(nbrs)
    max_len = max(lengths)
    counts = [0] * (max_len + 1)
    for s in range(n):
        # stack of (vertex, path length in vertices, iterator position) — explicit DFS
        visited = [False] * n
        visited[s] = True
        path = [s]
        iters = [iter(nbrs[s])]
        while iters:
            u_iter = iters[-1]
            advanced = False
            depth = len(path)
            for w in u_iter:
                if w == s:
                    if depth >= 3:
                        counts[depth] += 1
                    continue
                if w < s or visited[w]:
                    continue
                if depth < max_len:
                    visited[w] = True
                    path.append(w)
                    iters.append(iter(nbrs[w]))
                    advanced = True
                    break
            if not advanced:
                iters.pop()
                visited[path.pop()] = False
    return {L: counts[L] // 2 for L in lengths}


def _neighbour_lists(graph) -> list[list[int]]:
    if isinstance(graph, nx.Graph):
        if graph.is_directed():
            raise TypeError("graph must be undirected; convert it with graph.to_undirected() first")
        index = {v: i for i, v in enumerate(graph.nodes())}
        out = [[] for _ in index]
        for u, v in graph.edges():
            if u != v:
                iu, iv = index[u], index[v]
                if iv not in out[iu]:
                    out[iu].append(iv)
                    out[iv].append(iu)
        return out
    A = as_adjacency(graph).cpu().numpy()  # validates shape, symmetry, values
    B = A != 0
    np.fill_diagonal(B, False)
    return [list(np.flatnonzero(row)) for row in B]


# ----------------------------------------------------------------------------- data
def random_graphs(n_graphs: int, n_range=(10, 30), families=GRAPH_FAMILIES, seed: int = 0,
                  perturb: float = 0.0) -> list[nx.Graph]:
    """Seeded random graphs from a mix of families, nodes labelled ``0..n-1``.

    ``"er"``: Erdős–Rényi with mean degree drawn in [2, 4]; ``"regular"``: random
    3- or 4-regular; ``"ws"``: Watts–Strogatz with ``k = 4`` and rewiring
    probability in [0.1, 0.4].  With ``perturb > 0`` a fraction ``perturb`` of the edges
    of every graph is removed and the same number of random non-edges added.

    Parameters
    ----------
    n_graphs : int
        Number of graphs.
    n_range : (int, int), default (10, 30)
        Inclusive range of node counts (uniform).
    families : sequence of str, default ("er", "regular", "ws")
        Families drawn uniformly.
    seed : int, default 0
        Everything is a function of the seed.
    perturb : float, default 0.0
        Fraction of edges rewired at random.
    """
    n_graphs = check_int(n_graphs, "n_graphs", low=1)
    try:
        lo, hi = (int(v) for v in n_range)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"n_range must be a pair of integers, got {n_range!r}") from exc
    if not 6 <= lo <= hi:
        raise ValueError(f"n_range must satisfy 6 <= low <= high, got {n_range!r}")
    families = tuple(families)
    if not families:
        raise ValueError("families must name at least one of " + ", ".join(GRAPH_FAMILIES))
    for f in families:
        check_choice(f, "families", GRAPH_FAMILIES)
    perturb = check_float(perturb, "perturb", low=0.0, high=1.0)
    check_int(seed, "seed")
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(n_graphs):
        fam = families[rng.integers(len(families))]
        n = int(rng.integers(lo, hi + 1))
        gseed = int(rng.integers(2**31 - 1))
        if fam == "er":
            d = rng.uniform(2.0, 4.0)
            G = nx.gnp_random_graph(n, min(1.0, d / (n - 1)), seed=gseed)
        elif fam == "regular":
            d = int(rng.choice([3, 4]))
            if (n * d) % 2:
                d = 4
            G = nx.random_regular_graph(d, n, seed=gseed)
        else:
            G = nx.watts_strogatz_graph(n, 4, rng.uniform(0.1, 0.4), seed=gseed)
        if perturb > 0 and G.number_of_edges():
            G = _rewire(G, perturb, rng)
        graphs.append(nx.convert_node_labels_to_integers(G))
    return graphs


def _rewire(G: nx.Graph, frac: float, rng: np.random.Generator) -> nx.Graph:
    G = G.copy()
    edges = list(G.edges())
    r = int(round(frac * len(edges)))
    if r == 0:
        return G
    for i in rng.choice(len(edges), size=r, replace=False):
        G.remove_edge(*edges[i])
    n = G.number_of_nodes()
    added = 0
    while added < r and G.number_of_edges() < n * (n - 1) // 2:
        u, v = (int(x) for x in rng.integers(n, size=2))
        if u != v and not G.has_edge(u, v):
            G.add_edge(u, v)
            added += 1
    return G


@dataclass
class CycleDataset:
    """Graphs, their dense padded adjacency, cached Laplacian eigenpairs and cycle counts.

    Attributes
    ----------
    graphs : list of networkx.Graph
    adj : torch.Tensor, (G, N, N) float64
    mask : torch.Tensor, (G, N) bool
    evals, evecs : torch.Tensor, (G, N) and (G, N, N) float64
        From :func:`spectral_explorer.positional_encodings.batched_laplacian_eig`,
        computed once when the data set is built.
    y : torch.Tensor, (G, len(lengths)) float64
        Raw cycle counts.
    lengths : tuple of int
    name : str
    """

    graphs: list
    adj: torch.Tensor
    mask: torch.Tensor
    evals: torch.Tensor
    evecs: torch.Tensor
    y: torch.Tensor
    lengths: tuple = CYCLE_LENGTHS
    name: str = ""
    _rwpe: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def n_nodes(self) -> torch.Tensor:
        """Number of nodes of every graph, ``(G,)``."""
        return self.mask.sum(1)

    def rwpe(self, K: int) -> torch.Tensor:
        """Random-walk return probabilities ``(G, N, K)`` (batched, computed once per ``K``)."""
        if K not in self._rwpe:

            pe, _ = batched_random_walk_pe(self.adj, K, self.mask, device="cpu", dtype=torch.float64)
            self._rwpe[K] = pe
        return self._rwpe[K]

    def batch(self, idx, device: torch.device, dtype: torch.dtype = torch.float32, rw_steps: int | None = None) -> dict:
        """Tensors of the graphs ``idx``, cropped to their largest node count, on ``device``."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        n = int(self.mask[idx].sum(1).max())
        out = dict(adj=self.adj[idx, :n, :n], mask=self.mask[idx, :n], evals=self.evals[idx, :n],
                   evecs=self.evecs[idx, :n, :n])
        if rw_steps:
            out["rwpe"] = self.rwpe(rw_steps)[idx, :n]
        out = {k: (v.to(device=device, dtype=dtype) if v.is_floating_point() else v.to(device)) for k, v in out.items()}
        out["x"] = torch.ones(*out["mask"].shape, 1, device=device, dtype=dtype)
        return out


def make_cycle_dataset(graphs, lengths=CYCLE_LENGTHS, name: str = "") -> CycleDataset:
    """Count the cycles of ``graphs`` and compute their Laplacian eigenpairs (batched, once)."""

    graphs = list(graphs)
    if not graphs:
        raise ValueError("graphs must contain at least one graph")
    lengths = tuple(lengths)
    N = max(G.number_of_nodes() for G in graphs)
    adj = torch.zeros(len(graphs), N, N, dtype=torch.float64)
    mask = torch.zeros(len(graphs), N, dtype=torch.bool)
    for i, G in enumerate(graphs):
        n = G.number_of_nodes()
        adj[i, :n, :n] = torch.as_tensor(nx.to_numpy_array(G, nodelist=list(G.nodes()), weight=None))
        mask[i, :n] = True
    adj.diagonal(dim1=1, dim2=2).zero_()
    evals, evecs, emask = batched_laplacian_eig(adj, mask, device="cpu", dtype=torch.float64)
    evals = evals.to(torch.float64).cpu()
    evecs = evecs.to(torch.float64).cpu()
    emask = emask.cpu().to(torch.bool)
    if not torch.equal(emask, mask):  # pragma: no cover - guards the layout contract
        raise RuntimeError("batched_laplacian_eig returned a mask that differs from the input mask")
    y = torch.tensor([[count_cycles(G, lengths)[L] for L in lengths] for G in graphs], dtype=torch.float64)
    return CycleDataset(graphs, adj, mask, evals, evecs, y, lengths, name)


@functools.lru_cache(maxsize=8)
def cycle_count_datasets(quick: bool = True, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                         n_ood: int | None = None, n_range=(10, 30), ood_n_range=(35, 50),
                         ood_perturb: float = 0.1) -> tuple[CycleDataset, CycleDataset, CycleDataset]:
    """The train, test and OOD sets of the cycle-counting benchmark (cached per arguments).

    Train and test: :func:`random_graphs` with ``n_range`` nodes.  OOD: larger graphs
    (``ood_n_range``) from the same families with a fraction ``ood_perturb`` of their edges
    rewired.  Sizes default to 600/150/150 graphs (quick) or 1200/300/300.
    """
    n_train = n_train if n_train is not None else (600 if quick else 1200)
    n_test = n_test if n_test is not None else (150 if quick else 300)
    n_ood = n_ood if n_ood is not None else (150 if quick else 300)
    ss = np.random.SeedSequence(check_int(seed, "seed", low=0)).generate_state(3)
    train_set = make_cycle_dataset(random_graphs(n_train, n_range, seed=int(ss[0])), name="train")
    test_set = make_cycle_dataset(random_graphs(n_test, n_range, seed=int(ss[1])), name="test")
    ood_set = make_cycle_dataset(random_graphs(n_ood, ood_n_range, seed=int(ss[2]), perturb=ood_perturb), name="ood")
    return train_set, test_set, ood_set


# ----------------------------------------------------------------------------- training
def _evaluate(model: PEGNN, ds: CycleDataset, mean, std, device, dtype, batch_size: int, cancel=None) -> float:
    model.eval()
    err, count = 0.0, 0
    rw = model.rw_steps if model.encoding == "rwpe" else None
    with torch.no_grad():
        for start in range(0, len(ds), batch_size):
            checkpoint(cancel)
            idx = torch.arange(start, min(start + batch_size, len(ds)))
            b = ds.batch(idx, device, dtype, rw)
            pred = model(b["adj"], b["x"], b["mask"], b["evals"], b["evecs"], b.get("rwpe"))
            target = ((ds.y[idx].to(device=device, dtype=dtype)) - mean) / std
            err += float((pred - target).abs().mean(1).sum())
            count += len(idx)
    return err / count


def train(encoding: str, train_set: CycleDataset, test_set: CycleDataset, ood_set: CycleDataset | None = None,
          epochs: int = 40, batch_size: int = 32, lr: float = 2e-3, seed: int = 0, callback=None, device=None,
          model_kwargs: dict | None = None, return_model: bool = False, progress=None, cancel=None):
    """Train a :class:`~spectral_explorer.spe.PEGNN` on cycle counting.

    Parameters
    ----------
    encoding : {"none", "lappe", "rwpe", "signnet", "spe"}
    train_set, test_set, ood_set : CycleDataset
        From :func:`cycle_count_datasets`; ``ood_set`` may be ``None``.
    epochs : int, default 40
    batch_size : int, default 32
    lr : float, default 2e-3
        Adam learning rate (cosine-annealed to zero).
    seed : int, default 0
        Seeds the initialisation, the shuffling and the sign flips (the caller's global
        RNG state is left untouched): the history is a function of the seed.
    callback : callable, optional
        Called after every epoch with the epoch's record.
    device : str or torch.device, optional
        Default :func:`spectral_explorer.device.default_device`.
    model_kwargs : dict, optional
        Extra arguments for :class:`PEGNN` (``hidden``, ``layers``, ``pe_dim``, ``k`` ...).
    return_model : bool, default False
        Also return the trained model.
    progress : callable, optional
        ``progress(fraction, text)`` after every training batch (``fraction`` counts the
        batches of all epochs) — see :mod:`spectral_explorer.progress`.
    cancel : threading.Event or callable, optional
        Checked before every training and evaluation batch; when set, training stops and
        :class:`~spectral_explorer.progress.Cancelled` is raised (the data sets are untouched;
        the records already streamed to ``callback`` stay valid).

    Returns
    -------
    list of dict or (list of dict, PEGNN)
        One record per epoch: ``epoch`` (1-based), ``loss`` (mean training L1 on the
        standardised scale), ``test_mae``, ``ood_mae`` (``nan`` without an OOD set),
        ``seconds`` (since the start).
    """
    check_choice(encoding, "encoding", ENCODINGS)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    for nm, ds in (("train_set", train_set), ("test_set", test_set), ("ood_set", ood_set)):
        if ds is None and nm == "ood_set":
            continue
        if not isinstance(ds, CycleDataset):
            raise TypeError(f"{nm} must be a CycleDataset (see make_cycle_dataset), got {type(ds).__name__}")
    dev = resolve_device(device)
    dtype = torch.float32
    t0 = time.perf_counter()
    mean = train_set.y.mean(0).to(device=dev, dtype=dtype)
    std = train_set.y.std(0).clamp_min(1e-6).to(device=dev, dtype=dtype)
    history = []
    cuda_ids = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_ids):
        torch.manual_seed(seed)
        kw = dict(hidden=64, layers=4, pe_dim=16)
        kw.update(model_kwargs or {})
        model = PEGNN(encoding, in_dim=1, out_dim=train_set.y.shape[1], **kw).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps_per_epoch = -(-len(train_set) // batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
        gen = torch.Generator().manual_seed(seed)
        rw = model.rw_steps if encoding == "rwpe" else None
        for epoch in range(1, epochs + 1):
            model.train()
            perm = torch.randperm(len(train_set), generator=gen)
            total, seen = 0.0, 0
            for i_batch, start in enumerate(range(0, len(train_set), batch_size), start=1):
                checkpoint(cancel)
                idx = perm[start:start + batch_size]
                b = train_set.batch(idx, dev, dtype, rw)
                target = (train_set.y[idx].to(device=dev, dtype=dtype) - mean) / std
                pred = model(b["adj"], b["x"], b["mask"], b["evals"], b["evecs"], b.get("rwpe"))
                loss = (pred - target).abs().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                if progress is not None:
                    done = (epoch - 1) * steps_per_epoch + i_batch
                    progress(done / (epochs * steps_per_epoch),
                             f"{encoding}: epoch {epoch}/{epochs}, batch {i_batch}/{steps_per_epoch}")
            rec = dict(epoch=epoch, loss=total / seen,
                       test_mae=_evaluate(model, test_set, mean, std, dev, dtype, 128, cancel),
                       ood_mae=(_evaluate(model, ood_set, mean, std, dev, dtype, 128, cancel) if ood_set is not None
                                else float("nan")),
                       seconds=time.perf_counter() - t0)
            history.append(rec)
            if callback is not None:
                callback(dict(rec))
    return (history, model) if return_model else history


def compare_encodings(quick: bool = True, encodings=ENCODINGS, seeds=None, epochs: int | None = None,
                      batch_size: int = 32, lr: float = 2e-3, data_seed: int = 0, callback=None, device=None,
                      model_kwargs: dict | None = None, progress=None, cancel=None) -> list[dict]:
    """Train every encoding on the cycle-counting benchmark and tabulate the errors.

    Parameters
    ----------
    quick : bool, default True
        Small data sets and few epochs (600 training graphs, 25 epochs); ``False`` for the
        full run (1200 graphs, 60 epochs).
    encodings : sequence of str, default all five
    seeds : sequence of int, optional
        Training seeds averaged per encoding (default ``(0, 1, 2)``): one run's error moves
        with the seed by as much as the encodings differ (and a ranking read off one seed
        can flip), so the rows report the mean and the spread.
    epochs : int, optional
        Default 25 (quick) or 60.
    batch_size, lr : see :func:`train`
    data_seed : int, default 0
        Seed of the data sets.
    callback : callable, optional
        Receives every epoch record of :func:`train` with ``encoding`` and ``seed`` added.
    device, model_kwargs : see :func:`train`
    progress, cancel : see :func:`train`
        ``progress(fraction, text)`` spans all runs (each encoding and seed gets an equal
        share); ``cancel`` stops within one batch, raising
        :class:`~spectral_explorer.progress.Cancelled`.

    Returns
    -------
    list of dict
        One row per encoding: ``encoding``, ``test_mae``, ``ood_mae`` (means over seeds,
        final epoch), ``test_mae_std``, ``ood_mae_std`` (sample standard deviations over
        the seeds, ``ddof=1``; NaN for a single seed), ``seconds`` (training time, summed
        over seeds), ``n_seeds``, and per seed ``seeds``, ``test_maes``, ``ood_maes``
        (lists in seed order).
    """
    encodings = tuple(encodings)
    for e in encodings:
        check_choice(e, "encodings", ENCODINGS)
    seeds = tuple(seeds) if seeds is not None else (0, 1, 2)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    epochs = epochs if epochs is not None else (25 if quick else 60)
    train_set, test_set, ood_set = cycle_count_datasets(quick=bool(quick), seed=data_seed)
    rows = []
    n_runs = len(encodings) * len(seeds)
    run = 0
    for enc in encodings:
        tests, oods, secs = [], [], 0.0
        for s in seeds:
            checkpoint(cancel)
            def cb(rec, _enc=enc, _s=s):
                callback(dict(rec, encoding=_enc, seed=_s))
            t0 = time.perf_counter()
            hist = train(enc, train_set, test_set, ood_set, epochs=epochs, batch_size=batch_size, lr=lr, seed=s,
                         callback=cb if callback is not None else None, device=device, model_kwargs=model_kwargs,
                         progress=subrange(progress, run / n_runs, (run + 1) / n_runs), cancel=cancel)
            run += 1
            secs += time.perf_counter() - t0
            tests.append(hist[-1]["test_mae"])
            oods.append(hist[-1]["ood_mae"])
        def std(v):
            return float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
        rows.append(dict(encoding=enc, test_mae=float(np.mean(tests)), ood_mae=float(np.mean(oods)),
                         test_mae_std=std(tests), ood_mae_std=std(oods), seconds=secs, n_seeds=len(seeds),
                         seeds=[int(x) for x in seeds], test_maes=[float(x) for x in tests],
                         ood_maes=[float(x) for x in oods]))
    return rows
