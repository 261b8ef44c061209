#!/usr/bin/env python
"""How ``denoise="auto"`` (the default of :class:`spectral_explorer.HeatGeodesicEmbedding`)
chooses its graph, measured against the truth it never sees (issue 10; prints JSON).

The rule: fit the plain graph; if the 2-D layout leaves more than
``AUTO_FLOOR`` = 0.02 of its distances' variance unexplained (Isomap's residual variance,
:func:`spectral_explorer.metrics.residual_variance`), fit the heavy-noise graph (points
heat-smoothed for time ``s``, mutual graph) for ``s`` in ``AUTO_DENOISE_TIMES`` and keep the
one with the smallest residual variance if it divides the plain graph's by ``AUTO_GAIN`` = 3.

For every case and seed this script fits the plain graph and each smoothed graph explicitly,
scores every embedding against the true geodesics (row-mean Spearman ρ; on flat manifolds
also the worst true axis's R²), and runs the default estimator.  Record fields:

``plain`` / ``auto``       ρ of the plain graph / of the default (``denoise="auto"``)
``kept``                   the ``s`` the default kept (0 = plain)
``best_s``, ``best``       the graph with the highest ρ among plain and every ``s`` (an oracle)
``rv``                     residual variance of each graph, ``{s: value}`` (0 = plain)
``rho_s``                  ρ of each graph
``axis_r2_plain/auto``     worst true axis's R² (swiss rolls, s-curve)
``seconds_plain/auto``     wall time of the plain fit and of the default

The summary counts the cases where the default is within 0.005 of the plain graph or better,
where it kept a smoothed graph, and its largest shortfall against the oracle.

    python benchmarks/heat_auto_denoise.py [--quick] [--n 2000] [--seeds 42,0,2] [--affinity]

``--affinity`` runs every fit on the alpha-decay graph (``HeatGeodesicEmbedding.affinity()``)
instead of the default metric graph.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from spectral_explorer import HeatGeodesicEmbedding, data
from spectral_explorer.heat_geodesic import AFFINITY, AUTO_DENOISE_TIMES, AUTO_FLOOR, AUTO_GAIN
from spectral_explorer.metrics import axis_r2, embedding_metrics

CASES = {
    "roll clean": ("swiss_roll", dict(noise=0.1)),
    "roll 0.3": ("swiss_roll", dict(noise=0.3)),
    "roll 0.5": ("swiss_roll", dict(noise=0.5)),
    "roll 0.6": ("swiss_roll", dict(noise=0.6)),
    "roll 0.7": ("swiss_roll", dict(noise=0.7)),
    "roll 0.85": ("swiss_roll", dict(noise=0.85)),
    "roll noise 1.0": ("swiss_roll", dict(noise=1.0)),
    "roll 1.3": ("swiss_roll", dict(noise=1.3)),
    "sphere cap": ("sphere", dict(noise=0.05, cap=np.pi / 2)),
    "sphere cap 0.15": ("sphere", dict(noise=0.15, cap=np.pi / 2)),
    "roll 10-D": ("swiss_roll", dict(noise=0.5, ambient_dim=10)),
    "roll 10-D 1.0": ("swiss_roll", dict(noise=1.0, ambient_dim=10)),
    "branches": ("tree", dict(noise=0.1, dim=10)),
    "s-curve 0.1": ("s_curve", dict(noise=0.1)),
    "s-curve 0.3": ("s_curve", dict(noise=0.3)),
}
QUICK_CASES = ("roll clean", "roll noise 1.0", "sphere cap", "branches")


def run_case(case: str, n: int, seed: int, preset: dict | None = None) -> dict:
    name, kwargs = CASES[case]
    ds = data.load(name, n=n, seed=seed, **kwargs)
    T = ds.geodesic_distances()
    rec = {"case": case, "n": n, "seed": seed, "rv": {}, "rho_s": {}}

    def score(Y):
        return round(embedding_metrics(Y, T)["spearman"], 4)

    t0 = time.perf_counter()
    preset = preset or {}
    plain = HeatGeodesicEmbedding(**{**preset, "denoise": 0}).fit(ds.X)
    rec["seconds_plain"] = round(time.perf_counter() - t0, 3)
    rec["plain"] = rec["rho_s"][0.0] = score(plain.embedding_)
    rec["rv"][0.0] = round(plain.residual_variance_, 5)
    for s in AUTO_DENOISE_TIMES:
        try:
            est = HeatGeodesicEmbedding(**{**preset, "denoise": s, "mutual": True}).fit(ds.X)
        except ValueError:            # the mutual graph fell apart
            continue
        rec["rho_s"][s], rec["rv"][s] = score(est.embedding_), round(est.residual_variance_, 5)
    t0 = time.perf_counter()
    auto = HeatGeodesicEmbedding(**preset).fit(ds.X)
    rec["seconds_auto"] = round(time.perf_counter() - t0, 3)
    rec["auto"], rec["kept"] = score(auto.embedding_), auto.denoise_
    rec["best_s"] = max(rec["rho_s"], key=rec["rho_s"].get)
    rec["best"] = rec["rho_s"][rec["best_s"]]
    if ds.flat_axes:
        rec["axis_r2_plain"] = round(float(axis_r2(plain.embedding_, ds.latent).min()), 4)
        rec["axis_r2_auto"] = round(float(axis_r2(auto.embedding_, ds.latent).min()), 4)
    rec["rv"] = {str(k): v for k, v in rec["rv"].items()}
    rec["rho_s"] = {str(k): v for k, v in rec["rho_s"].items()}
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="four cases, n = 1000, seed 42")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seeds", default="42,0,2")
    ap.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    ap.add_argument("--affinity", action="store_true", help="the alpha-decay graph instead of the metric one")
    args = ap.parse_args(argv)
    n = 1000 if args.quick else args.n
    seeds = [42] if args.quick else [int(s) for s in args.seeds.split(",")]
    cases = QUICK_CASES if args.quick else (args.cases.split(",") if args.cases else tuple(CASES))
    records = []
    for seed in seeds:
        for case in cases:
            rec = run_case(case, n, seed, AFFINITY if args.affinity else None)
            print(f"{case:<16} seed {seed:>2}: plain ρ {rec['plain']:.3f}, auto ρ {rec['auto']:.3f} (kept s = "
                  f"{rec['kept']:g}), best {rec['best']:.3f} (s = {rec['best_s']:g})", file=sys.stderr, flush=True)
            records.append(rec)
    summary = {
        "rule": {"floor": AUTO_FLOOR, "gain": AUTO_GAIN, "times": list(AUTO_DENOISE_TIMES)},
        "graph": "alpha-decay (affinity())" if args.affinity else "metric (the default)",
        "cases": len(records),
        "auto_within_0.005_of_plain_or_better": sum(r["auto"] >= r["plain"] - 0.005 for r in records),
        "kept_a_smoothed_graph": sum(r["kept"] > 0 for r in records),
        "largest_loss_vs_plain": round(max(r["plain"] - r["auto"] for r in records), 4),
        "largest_shortfall_vs_oracle": round(max(r["best"] - r["auto"] for r in records), 4),
        "mean_gain_where_smoothed": round(float(np.mean([r["auto"] - r["plain"] for r in records if r["kept"] > 0]))
                                          if any(r["kept"] > 0 for r in records) else 0.0, 4),
    }
    json.dump({"summary": summary, "records": records}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
