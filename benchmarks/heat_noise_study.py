#!/usr/bin/env python
"""Heat-based remedies for heavy noise, measured on the five manifolds (issue 10; prints JSON).

At noise 1.0 the swiss roll's sheets (2π apart) are joined by ~100 kNN edges between points
that the noise pushed toward each other; every graph distance then folds the roll (heat
geodesics ρ 0.32, Isomap 0.34).  Removing exactly those edges (an oracle that knows the
roll's coordinate) gives ρ 0.986, so the question is which *heat-based* graph removes them
without harming clean data.  Candidates (each followed by the default heat geodesics, t = 10,
σ = 1, screened law, classical MDS):

=====================  ====================================================================
``default``            alpha-decay graph (knn 8, decay 40), the library default when this study was
                       made (``HeatGeodesicEmbedding.affinity(denoise=0)`` since: the names below
                       keep the study's labels; the default is now the calibrated metric graph)
``mutual``             mutual alpha-decay graph (``min(K, Kᵀ)``)
``heat s`` + alpha     coordinates heat-smoothed, ``X ← (I + sL_rw)^{-1} X``, then the default graph
``walk 3`` + alpha     ``X ← P³X`` (MAGIC-style, random walk ``P = D⁻¹W``)
``local PCA 30``       each point projected on the plane of its 30 neighbours
``tangent s`` + mutual heat-smoothed across the manifold only: the smoothed point plus the raw
                       offset projected on the tangent plane of the smoothed cloud (64 neighbours)
``twicing s`` + mutual ``(2S − S²)X`` with ``S = (I + sL_rw)^{-1}`` (less border shrinkage)
``heat s`` + mutual    the library's ``HeatGeodesicEmbedding.denoising()`` for s = 3
``kept if mutual k'``  the default graph with its own weights, minus the edges whose endpoints are
                       not mutual k'-neighbours once the points are heat-smoothed (s = 3): the
                       option's pruning without its coordinates.  On the seed-42 roll at noise 1.0
                       (n = 2000) k' = 12, 13, 14, 15 give ρ 0.74, 0.59, 0.48, 0.47, at a cost of
                       up to 0.005 on the other cases: all-or-nothing again, so not adopted
``oracle``             the default graph minus its true cross-sheet edges (rolls only; a ceiling)
=====================  ====================================================================

Also printed: how well a diffusion-profile test separates cross-sheet edges from the rest on
the noisy roll (AUC; cross-sheet edges left after pruning the 5 % least similar true edges)
and the option against the default on three more seeds.  Columns: ``cross`` = edges joining
points more than half a turn apart (swiss rolls), embedding row-mean Spearman ``rho`` /
Pearson ``r`` / log-log ``slope`` against the true geodesics, ``seconds`` (graph to embedding).

    python benchmarks/heat_noise_study.py [--n 2000] [--cases "roll noise 1.0,roll clean"]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import roc_auc_score

from spectral_explorer import HeatGeodesicEmbedding, data, graphs, mds
from spectral_explorer import laplacian as lap
from spectral_explorer.comparisons import diffusion_map
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat_geodesic import heat_denoise, heat_geodesic_distances
from spectral_explorer.metrics import embedding_metrics
from spectral_explorer.reproduce.heat_geodesics import CASES

KNN, DECAY = 8, 40.0


def cross_sheet(W, ds) -> np.ndarray:
    """Mask of the upper-triangle edges of ``W`` joining two sheets (more than half a turn)."""
    C = sp.triu(W, 1).tocoo()
    return C, np.abs(ds.color[C.row] - ds.color[C.col]) > np.pi


def walk_smooth(X, W, k):
    P = sp.diags(1.0 / lap.degrees(W)) @ W
    for _ in range(k):
        X = P @ X
    return X


def local_pca(X, k, dim=2):
    _, idx = graphs._neighbors(X, k)
    N = X[idx]
    mu = N.mean(axis=1)
    _, _, Vt = np.linalg.svd(N - mu[:, None, :], full_matrices=False)
    V = Vt[:, :dim, :]
    return mu + np.einsum("nkd,nk->nd", V, np.einsum("nkd,nd->nk", V, X - mu))


def tangent_smooth(X, W, s, k=64, dim=2):
    M = heat_denoise(X, W, s)
    _, idx = graphs._neighbors(M, k)
    _, _, Vt = np.linalg.svd(M[idx] - M[:, None, :], full_matrices=False)
    V = Vt[:, :dim, :]
    return M + np.einsum("nkd,nk->nd", V, np.einsum("nkd,nd->nk", V, X - M))


def twicing(X, W, s):
    d = lap.degrees(W)
    lu = spla.splu((sp.diags(d * (1.0 + s)) - s * W).tocsc())
    Y = lu.solve(d[:, None] * X)
    return 2.0 * Y - lu.solve(d[:, None] * Y)


def candidates(ds):
    """name -> function returning the graph the heat geodesics run on."""
    X = ds.X

    def base():
        return alpha_decay_graph(X, KNN, DECAY)

    def smoothed(fn, mutual):
        return lambda: alpha_decay_graph(fn(X, base()), KNN, DECAY, mutual=mutual)

    def kept_if_mutual(W, k):
        mutual = alpha_decay_graph(heat_denoise(X, W, 3.0), k, DECAY, mutual=True)
        return W.multiply(mutual > 0).tocsr()

    out = {
        "default": base,
        "mutual": lambda: alpha_decay_graph(X, KNN, DECAY, mutual=True),
        "heat s=3 + alpha": smoothed(lambda X, W: heat_denoise(X, W, 3.0), False),
        "heat s=10 + alpha": smoothed(lambda X, W: heat_denoise(X, W, 10.0), False),
        "walk 3 + alpha": smoothed(lambda X, W: walk_smooth(X, W, 3), False),
        "local PCA 30 + alpha": lambda: alpha_decay_graph(local_pca(X, 30), KNN, DECAY),
        "tangent s=3 + mutual": smoothed(lambda X, W: tangent_smooth(X, W, 3.0), True),
        "tangent s=10 + mutual": smoothed(lambda X, W: tangent_smooth(X, W, 10.0), True),
        "twicing s=3 + mutual": smoothed(lambda X, W: twicing(X, W, 3.0), True),
        "heat s=3 + mutual (denoising())": smoothed(lambda X, W: heat_denoise(X, W, 3.0), True),
        "heat s=10 + mutual": smoothed(lambda X, W: heat_denoise(X, W, 10.0), True),
        **{f"kept if mutual k'={k} after heat s=3": (lambda k=k: kept_if_mutual(base(), k)) for k in (12, 13, 14, 15)},
    }
    if ds.name == "swiss_roll":
        def oracle():
            W = base().tocoo()
            keep = np.abs(ds.color[W.row] - ds.color[W.col]) <= np.pi
            return sp.csr_matrix((W.data[keep], (W.row[keep], W.col[keep])), shape=W.shape)
        out["oracle (true cross-sheet edges removed)"] = oracle
    return out


def evaluate(W, ds, T):
    n_comp, labels = connected_components(W, directed=False)
    keep = labels == np.bincount(labels).argmax()   # the oracle can isolate a few points
    Wk = W[keep][:, keep]
    D = heat_geodesic_distances(lap.laplacian(Wk, "normalized"), 10.0, 1.0)
    e = embedding_metrics(mds.classical_mds(D, 2), T[keep][:, keep])
    rec = {"rho": round(e["spearman"], 4), "r": round(e["pearson"], 4), "slope": round(e["slope"], 3)}
    if n_comp > 1:
        rec["points_left_out"] = int((~keep).sum())
    if ds.name == "swiss_roll":
        rec["cross"] = int(cross_sheet(W, ds)[1].sum())
    return rec


def separability(ds):
    """Can a diffusion-profile dissimilarity find the cross-sheet edges of the default graph?"""
    W = alpha_decay_graph(ds.X, KNN, DECAY)
    C, bad = cross_sheet(W, ds)
    n = W.shape[0]
    scores = {}
    H = spla.splu((sp.eye(n) + 30.0 * lap.laplacian(W, "normalized")).tocsc()).solve(np.eye(n))
    lH = np.log(np.clip(H, 1e-300, None))
    scores["resolvent t=30 log-profile L1"] = np.abs(lH[C.row] - lH[C.col]).mean(axis=1)
    Cd, _ = diffusion_map(W, 50.0, n_evecs=100)
    scores["diffusion distance tau=50"] = np.linalg.norm(Cd[C.row] - Cd[C.col], axis=1)
    _, idx = graphs._neighbors(ds.X, 30)
    B = sp.csr_matrix((np.ones(idx.size), (np.repeat(np.arange(n), 30), idx.ravel())), shape=(n, n))
    shared = np.asarray((B @ B.T)[C.row, C.col]).ravel()
    scores["1 - shared 30-NN fraction"] = 1.0 - shared / 30.0
    out = {}
    for name, s in scores.items():
        thr = np.quantile(s[~bad], 0.95)
        out[name] = {"auc": round(float(roc_auc_score(bad, s)), 4), "cross_edges": int(bad.sum()),
                     "cross_left_after_pruning_5pct_true": int((s[bad] <= thr).sum())}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--seeds", default="0,1,7", help="extra seeds for the option against the default")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    records = []
    for case in args.cases.split(","):
        name, kwargs = CASES[case]
        ds = data.load(name, n=args.n, seed=42, **kwargs)
        T = ds.geodesic_distances()
        for cand, build in candidates(ds).items():
            t0 = time.perf_counter()
            W = build()
            rec = {"case": case, "candidate": cand, **evaluate(W, ds, T),
                   "seconds": round(time.perf_counter() - t0, 2)}
            records.append(rec)
            print(f"{case:<15} {cand:<40} " + " ".join(f"{k}={v}" for k, v in rec.items()
                                                        if k not in ("case", "candidate")), flush=True)
    out = {"n": args.n, "records": records}
    if "roll noise 1.0" in args.cases.split(","):
        ds = data.load("swiss_roll", n=args.n, seed=42, noise=1.0)
        out["separability_roll_noise_1.0"] = separability(ds)
        print(json.dumps(out["separability_roll_noise_1.0"]), flush=True)
        seeds = []
        for seed in (int(s) for s in args.seeds.split(",") if s):
            ds = data.swiss_roll(args.n, noise=1.0, seed=seed)
            T = ds.geodesic_distances()
            for label, est in (("default", HeatGeodesicEmbedding.affinity(denoise=0)),
                               ("denoising()", HeatGeodesicEmbedding.denoising())):
                e = embedding_metrics(est.fit_transform(ds.X), T)
                seeds.append({"seed": seed, "candidate": label, "rho": round(e["spearman"], 4),
                              "r": round(e["pearson"], 4), "cross": int(cross_sheet(est.graph_, ds)[1].sum())})
                print(json.dumps(seeds[-1]), flush=True)
        out["roll_noise_1.0_other_seeds"] = seeds
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
