#!/usr/bin/env python
"""Are the default heat-geodesic distances in the units of the data?  (issue 21; prints JSON)

For flat samples (a 30 × 30 square and a 10 × 10 × 10 cube, rotated into 4-D), curved ones (a
clean swiss roll, the upper hemisphere) and knn 5, 10 and 20, the median of estimate / true
geodesic over the pairs in four ranges of the true distance (the shortest 5 %, 5–50 %,
50–95 %, the longest 5 %: :func:`spectral_explorer.metrics.distance_ratio_by_range`), and the
intrinsic dimension ``m̂`` the calibration used.  Then the thin-direction test: a
10 × 10 × 2 slab embedded with ``n_components=3``, R² of each true axis read back from the
embedding (:func:`~spectral_explorer.metrics.axis_r2`), beside Isomap's.

``--plain`` also runs the plain conductances ``(ℓ̄/ℓ)²`` with two Euler steps at t = 2 (the
default before the calibration; :func:`plain_distances`), to show what the calibration changed.

    python benchmarks/heat_units.py [--n 2000] [--seed 42] [--plain]

The targets (issue 21): within ±15 % over the middle, long and farthest pairs and ±30 % over
the shortest 5 % on the flat samples at every knn; the slab's worst axis R² ≥ 0.8.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from spectral_explorer import HeatGeodesicEmbedding, data
from spectral_explorer.comparisons import run_method
from spectral_explorer.graphs import alpha_decay_graph, edge_lengths
from spectral_explorer.heat_geodesic import heat_geodesic_distances
from spectral_explorer.laplacian import laplacian
from spectral_explorer.metrics import axis_r2, distance_ratio_by_range

SAMPLES = {
    "square 30×30 (2-D)": ("box", dict(sides=(30.0, 30.0), ambient_dim=4)),
    "cube 10×10×10 (3-D)": ("box", dict(sides=(10.0, 10.0, 10.0), ambient_dim=4)),
    "swiss roll, noise 0.1": ("swiss_roll", dict(noise=0.1)),
    "hemisphere": ("sphere", dict(cap=np.pi / 2)),
}
KNNS = (5, 10, 20)


def plain_distances(X, knn):
    """The former default: conductances (ℓ̄/ℓ)², two Euler steps at t = 2, screened law, σ = 1, ×ℓ̄."""
    E = edge_lengths(alpha_decay_graph(X, knn, 40.0), X)
    lbar = float(np.median(E.data))
    E.data = (lbar / E.data) ** 2
    return lbar * heat_geodesic_distances(laplacian(E, "combinatorial"), 2.0, 1.0, "euler", 2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--plain", action="store_true", help="also the plain (ℓ̄/ℓ)² conductances, t = 2")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for sample, (name, kwargs) in SAMPLES.items():
        ds = data.load(name, n=args.n, seed=args.seed, **kwargs)
        T = ds.geodesic_distances()
        for knn in KNNS:
            start = time.perf_counter()
            est = HeatGeodesicEmbedding(knn=knn, denoise=0).fit(ds.X)
            row = {"sample": sample, "knn": knn, "graph": "default", "dim": round(est.intrinsic_dim_, 2),
                   "seconds": round(time.perf_counter() - start, 2),
                   **{k: round(v, 3) for k, v in distance_ratio_by_range(est.distances_, T).items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.plain:
                row = {"sample": sample, "knn": knn, "graph": "plain (ℓ̄/ℓ)², t = 2",
                       **{k: round(v, 3) for k, v in distance_ratio_by_range(plain_distances(ds.X, knn), T).items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    ds = data.box(args.n, sides=(10.0, 10.0, 2.0), seed=args.seed)
    slab = {"sample": "slab 10×10×2, n_components=3"}
    est = HeatGeodesicEmbedding(n_components=3, denoise=0).fit(ds.X)
    slab["default_axis_r2"] = np.round(axis_r2(est.embedding_, ds.latent), 3).tolist()
    if args.plain:
        from spectral_explorer.mds import classical_mds
        slab["plain_axis_r2"] = np.round(axis_r2(classical_mds(plain_distances(ds.X, 10), 3), ds.latent), 3).tolist()
    iso = run_method("isomap", ds.X, None, knn=10, n_components=3)
    slab["isomap_axis_r2"] = np.round(axis_r2(iso.embedding, ds.latent), 3).tolist()
    print(json.dumps({"n": args.n, "seed": args.seed, "ratios": rows, "slab": slab}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
