"""``spectral-explorer reproduce heat-geodesics``: the heat-geodesic paper's distance benchmark.

For every data set with ground truth and several noise levels, each method computes a
distance matrix on the same alpha-decay graph; the table reports, as the paper does, the
row-mean Spearman and Pearson correlation with the ground-truth geodesic distances, the
precision of the 10 nearest neighbours, the same Spearman for the 2-D embedding, and the
wall time.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import torch

from .. import data
from ..comparisons import METHODS, run_method
from ..graphs import alpha_decay_graph, check_connected
from ..metrics import distance_metrics, pairwise_distances, row_spearman
from ..progress import checkpoint, text_printer
from . import write_table

NOISE = {
    "swiss_roll": (0.1, 0.5, 1.0),
    "s_curve": (0.05, 0.1, 0.2),
    "sphere": (0.05, 0.1, 0.2),
    "tree": (0.05, 0.1, 0.2),
}


def run(quick: bool = False, seed: int = 42, progress=None, cancel=None) -> list[dict]:
    """One row per (data set, noise, method).

    ``progress(fraction, text)`` receives one line per row (see
    :mod:`spectral_explorer.progress`; :func:`~spectral_explorer.progress.text_printer`
    prints them); ``cancel`` is checked between methods.
    """
    # quick mode: fewer points, so a smaller neighbourhood keeps the roll from short-circuiting
    n, knn = (500, 5) if quick else (1000, 8)
    datasets = ("swiss_roll", "sphere") if quick else tuple(NOISE)
    methods = tuple(m for m in METHODS if m != "tsne") if quick else METHODS
    rows = []
    cases = [(name, noise) for name in datasets for noise in (NOISE[name][::2] if quick else NOISE[name])]
    total = len(cases) * len(methods)
    for name, noise in cases:
        ds = data.load(name, n=n, noise=noise, seed=seed)
        T = ds.geodesic_distances()
        W = alpha_decay_graph(ds.X, knn, 40.0)
        check_connected(W)
        for method in methods:
            checkpoint(cancel)
            res = run_method(method, ds.X, W, seed=seed)
            m = distance_metrics(res.distances, T, k=10)
            rows.append({
                "method": method, "dataset": name, "noise": noise, "n": n, "knn": knn,
                "spearman": round(m["spearman"], 4), "pearson": round(m["pearson"], 4),
                "p@10": round(m["p@10"], 4),
                "embedding_spearman": round(row_spearman(pairwise_distances(res.embedding), T), 4),
                "seconds": round(res.seconds, 3),
            })
            checkpoint(cancel, progress, len(rows) / total,
                       f"  {name:<10} noise={noise:<5} {method:<14} spearman={m['spearman']:.4f} "
                       f"({res.seconds:.2f} s)")
    return rows


def main(quick: bool = False, out: Path = Path("results")) -> None:
    start = time.perf_counter()
    print(f"heat-geodesics benchmark ({'quick' if quick else 'full'}) ...", flush=True)
    rows = run(quick=quick, progress=text_printer())
    meta = {"quick": quick, "seconds": round(time.perf_counter() - start, 1), "python": sys.version.split()[0],
            "torch": torch.__version__, "machine": platform.machine(), "decay": 40.0, "t": 50.0}
    df = write_table(rows, "heat-geodesics", out, meta)
    print(df.to_string(index=False))
    print(f"wrote {Path(out) / 'heat-geodesics.json'} and .csv")
