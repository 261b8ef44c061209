"""``spectral-explorer reproduce heat-geodesics``: heat geodesics against their peers on five
manifolds, measuring shape as well as ranks.

Cases (n = 2000, seed 42; ``--quick``: the first and the third at n = 1000):

==================  =================================================================
``roll clean``      swiss roll, noise 0.1
``roll noise 1.0``  swiss roll, noise 1.0 (layers short-circuit)
``sphere cap``      the upper hemisphere of the unit sphere, noise 0.05
``roll 10-D``       swiss roll rotated into 10-D, noise 0.5
``branches``        a DLA-style tree of 5 branches in 10-D, noise 0.1
==================  =================================================================

Every method computes a distance matrix and a 2-D embedding (graph methods on one shared
alpha-decay graph, knn 8, decay 40; the heat estimators — ``heat_geodesic`` (the library
default, on its metric kNN graph), ``heat_paper`` (the paper's configuration,
:meth:`~spectral_explorer.HeatGeodesicEmbedding.paper`), ``heat_affinity`` (the alpha-decay
graph) and ``heat_denoised`` — build their own graphs from the points, ``heat_geodesic`` and
``heat_affinity`` replacing theirs by
a heat-smoothed one where it folds (the ``denoise`` column says which they kept), as do Isomap,
UMAP and t-SNE).  Each row holds,
for the distances and for the embedding's distances, against the ground-truth geodesics:
the row-mean Spearman ρ (ranks), the row-mean Pearson r and the log-log slope over the middle
60 % of pairs (shape: 1 = proportional), the precision of the 10 nearest neighbours, and the
wall time; on the swiss rolls also ``embedding_axis_r2_min``, the R² of the true axis (arc
length or height) that the embedding recovers worst (:func:`~spectral_explorer.metrics.axis_r2`:
ρ, r and the slope are averages over pairs dominated by the roll's length, so a band that has
lost the height still scores high on them).  The printed summary pivots the embedding's ρ, r,
slope and axis R² by case.

The authors' own package, ``heatgeo`` (an optional peer, not a dependency), is measured on
the same samples by ``benchmarks/heatgeo_peer.py``; docs/reproduce.md has its table.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import data
from ..comparisons import METHODS, run_method
from ..graphs import alpha_decay_graph, check_connected
from ..heat_geodesic import AFFINITY, DENOISING, PAPER, RANK_FAITHFUL
from ..metrics import axis_r2, distance_metrics, embedding_metrics
from ..progress import checkpoint, text_printer
from . import write_table

#: case -> (data set, keyword arguments)
CASES = {
    "roll clean": ("swiss_roll", dict(noise=0.1)),
    "roll noise 1.0": ("swiss_roll", dict(noise=1.0)),
    "sphere cap": ("sphere", dict(noise=0.05, cap=np.pi / 2)),
    "roll 10-D": ("swiss_roll", dict(noise=0.5, ambient_dim=10)),
    "branches": ("tree", dict(noise=0.1, dim=10)),
}
QUICK_CASES = ("roll clean", "sphere cap")
QUICK_METHODS = ("heat_geodesic", "heat_affinity", "heat_rank_faithful", "shortest_path", "isomap")
KNN, DECAY = 8, 40.0


def run(quick: bool = False, seed: int = 42, progress=None, cancel=None, n: int | None = None,
        cases=None, methods=None) -> list[dict]:
    """One row per (case, method).

    ``progress(fraction, text)`` receives one line per row (see
    :mod:`spectral_explorer.progress`; :func:`~spectral_explorer.progress.text_printer`
    prints them); ``cancel`` is checked between methods.
    """
    n = (1000 if quick else 2000) if n is None else n
    cases = (QUICK_CASES if quick else tuple(CASES)) if cases is None else tuple(cases)
    methods = (QUICK_METHODS if quick else METHODS) if methods is None else tuple(methods)
    rows = []
    total = len(cases) * len(methods)
    for case in cases:
        name, kwargs = CASES[case]
        ds = data.load(name, n=n, seed=seed, **kwargs)
        T = ds.geodesic_distances()
        W = alpha_decay_graph(ds.X, KNN, DECAY)
        check_connected(W)
        for method in methods:
            checkpoint(cancel)
            res = run_method(method, ds.X, W, knn=KNN, decay=DECAY, seed=seed)
            m = distance_metrics(res.distances, T, k=10)
            e = embedding_metrics(res.embedding, T)
            rows.append({
                "case": case, "method": method, "dataset": name, "noise": kwargs["noise"], "n": n,
                "spearman": round(m["spearman"], 4), "pearson": round(m["pearson"], 4),
                "slope": round(m["slope"], 3), "p@10": round(m["p@10"], 4),
                "embedding_spearman": round(e["spearman"], 4), "embedding_pearson": round(e["pearson"], 4),
                "embedding_slope": round(e["slope"], 3),
                # flat manifolds: R² of the worst-recovered true axis (a band that lost the
                # roll's height scores ≈ 0 here with a high ρ)
                "embedding_axis_r2_min": (round(float(axis_r2(res.embedding, ds.latent).min()), 4)
                                          if ds.flat_axes else None),
                "seconds": round(res.seconds, 3),
                # heat_geodesic: the smoothing time denoise="auto" kept (0 = the plain graph)
                "denoise": res.info.get("denoise", DENOISING["denoise"] if method == "heat_denoised" else None),
            })
            checkpoint(cancel, progress, len(rows) / total,
                       f"  {case:<15} {method:<19} distances ρ={m['spearman']:.4f} slope={m['slope']:.2f} · "
                       f"embedding ρ={e['spearman']:.4f} r={e['pearson']:.4f} ({res.seconds:.2f} s)")
    return rows


def summary(rows: list[dict]) -> dict[str, pd.DataFrame]:
    """Method × case tables of the embedding's ρ, r, slope and worst true-axis R² (flat
    manifolds only), the distances' ρ and slope, and the seconds (cases in :data:`CASES` order)."""
    df = pd.DataFrame(rows)
    order = [c for c in CASES if c in set(df["case"])]
    methods = [m for m in METHODS if m in set(df["method"])]
    out = {}
    for col in ("embedding_spearman", "embedding_pearson", "embedding_slope", "embedding_axis_r2_min", "spearman",
                "slope", "seconds"):
        out[col] = df.pivot(index="method", columns="case", values=col).reindex(index=methods, columns=order)
    return out


def main(quick: bool = False, out: Path = Path("results")) -> None:
    start = time.perf_counter()
    print(f"heat-geodesics benchmark ({'quick' if quick else 'full'}) ...", flush=True)
    rows = run(quick=quick, progress=text_printer())
    meta = {"quick": quick, "seconds": round(time.perf_counter() - start, 1), "python": sys.version.split()[0],
            "torch": torch.__version__, "machine": platform.machine(), "knn": KNN, "decay": DECAY,
            "heat_geodesic": ("library defaults (metric graph: knn 10, conductances 2m/((length/median)^2 mean degree), "
                              "combinatorial Laplacian; 2 Euler steps, t=0.2, screened law with the graph's screening "
                              "factor divided out, sigma=1, classical MDS; denoise='auto': the heat-smoothed graph "
                              "where the plain one folds)"),
            "heat_paper": PAPER,
            "heat_affinity": AFFINITY,
            "heat_rank_faithful": RANK_FAITHFUL, "heat_denoised": DENOISING,
            "cases": {k: {"dataset": v[0], **{a: (round(b, 6) if isinstance(b, float) else b) for a, b in v[1].items()}}
                      for k, v in CASES.items()}}
    df = write_table(rows, "heat-geodesics", out, meta)
    print(df.to_string(index=False))
    for col, table in summary(rows).items():
        print(f"\n{col} (method × case)")
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {Path(out) / 'heat-geodesics.json'} and .csv")
