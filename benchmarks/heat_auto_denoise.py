#!/usr/bin/env python
"""How ``denoise="auto"`` (the default of :class:`spectral_explorer.HeatGeodesicEmbedding`)
chooses its graph, measured against the truth it never sees — on the manifolds its rule was
tuned on and, separately, on held-out ones (issues 10 and 21; prints JSON).

The rule: fit the plain graph; if its layout (``max(2, n_components)`` dimensions) leaves more
than ``AUTO_FLOOR`` of its distances' variance unexplained (Isomap's residual variance,
:func:`spectral_explorer.metrics.residual_variance`), probe the heavy-noise graph (points
heat-smoothed for time ``s``, mutual graph) for ``s`` in ``AUTO_DENOISE_TIMES``: each graph —
the plain one too — is embedded from ``AUTO_PROBES`` landmarks, and the smoothed graph with the
smallest residual variance is fitted in full if it divides the plain graph's by ``AUTO_GAIN``.

``--set tune`` (default) runs the 15 cases the floor, the gain and the times were chosen on
(swiss rolls at noise 0.1–1.3, two sphere caps, the roll in 10-D at noise 0.5 and 1.0, branches,
two s-curves); ``--set held-out`` runs 11 cases the rule never saw: a 10×10×10 cube (2 and 3
components), a 10×10×2 slab (3 components; also in 10-D with noise 0.2), sphere caps to 2π/3 and
0.83π, a flat torus, a square sampled 20× denser at one end, two Gaussian clusters joined by a
neck, an S-curve in 5-D at noise 0.4 and a swiss roll in 5-D at noise 0.8 (the last two fold).

For every case and seed this script fits the plain graph and each smoothed graph explicitly (all
pairs), scores every embedding against the true geodesics (row-mean Spearman ρ of the
embedding; on flat manifolds also the worst true axis's R²), and runs the default estimator.
Record fields:

``plain`` / ``auto``       ρ of the plain graph / of the default (``denoise="auto"``)
``kept``                   the ``s`` the default kept (0 = plain)
``best_s``, ``best``       the graph with the highest ρ among plain and every ``s`` (an oracle)
``rv``                     residual variance of each graph's full fit, ``{s: value}`` (0 = plain)
``probes``                 the default's ``denoise_report_`` (probe residual variances)
``rho_s``                  ρ of each graph
``axis_r2_plain/auto``     worst true axis's R² (flat manifolds)
``seconds_plain/auto``     wall time of the plain fit and of the default

The summary, per set, counts the cases where the default is within 0.005 of the plain graph or
better, where it kept a smoothed graph, its largest loss against the plain graph and shortfall
against the oracle, and the default's fit times (median and largest; where the plain graph was
kept with and without probes, and where a smoothed graph was kept).

    python benchmarks/heat_auto_denoise.py [--set tune|held-out|all] [--quick] [--n 2000] [--seeds 42,0,2]
                                           [--affinity]

``--affinity`` runs every fit on the alpha-decay graph (``HeatGeodesicEmbedding.affinity()``)
instead of the default metric graph.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from spectral_explorer import HeatGeodesicEmbedding, data
from spectral_explorer.heat_geodesic import AFFINITY, AUTO_DENOISE_TIMES, AUTO_FLOOR, AUTO_GAIN, AUTO_PROBES
from spectral_explorer.metrics import axis_r2, embedding_metrics

#: the cases the rule was tuned on: name -> (data set, keyword arguments, n_components)
CASES = {
    "roll clean": ("swiss_roll", dict(noise=0.1), 2),
    "roll 0.3": ("swiss_roll", dict(noise=0.3), 2),
    "roll 0.5": ("swiss_roll", dict(noise=0.5), 2),
    "roll 0.6": ("swiss_roll", dict(noise=0.6), 2),
    "roll 0.7": ("swiss_roll", dict(noise=0.7), 2),
    "roll 0.85": ("swiss_roll", dict(noise=0.85), 2),
    "roll noise 1.0": ("swiss_roll", dict(noise=1.0), 2),
    "roll 1.3": ("swiss_roll", dict(noise=1.3), 2),
    "sphere cap": ("sphere", dict(noise=0.05, cap=np.pi / 2), 2),
    "sphere cap 0.15": ("sphere", dict(noise=0.15, cap=np.pi / 2), 2),
    "roll 10-D": ("swiss_roll", dict(noise=0.5, ambient_dim=10), 2),
    "roll 10-D 1.0": ("swiss_roll", dict(noise=1.0, ambient_dim=10), 2),
    "branches": ("tree", dict(noise=0.1, dim=10), 2),
    "s-curve 0.1": ("s_curve", dict(noise=0.1), 2),
    "s-curve 0.3": ("s_curve", dict(noise=0.3), 2),
}
#: cases the rule never saw (issue 21): 3-D, curved, a torus, uneven density, two clusters, two folds
HELD_OUT = {
    "cube": ("box", dict(sides=(10.0, 10.0, 10.0)), 2),
    "cube, 3 components": ("box", dict(sides=(10.0, 10.0, 10.0)), 3),
    "slab, 3 components": ("box", dict(sides=(10.0, 10.0, 2.0)), 3),
    "slab 10-D noise 0.2, 3 components": ("box", dict(sides=(10.0, 10.0, 2.0), ambient_dim=10, noise=0.2), 3),
    "cap 2π/3": ("sphere", dict(noise=0.05, cap=2 * np.pi / 3), 2),
    "cap 0.83π": ("sphere", dict(noise=0.05, cap=0.83 * np.pi), 2),
    "flat torus": ("flat_torus", dict(noise=0.05), 2),
    "uneven square": ("box", dict(sides=(20.0, 20.0), ambient_dim=3, density=3.0, noise=0.05), 2),
    "two clusters": ("two_blobs", dict(separation=4.0, noise=0.05), 2),
    "s-curve 5-D 0.4": ("s_curve", dict(noise=0.4, ambient_dim=5), 2),
    "roll 5-D 0.8": ("swiss_roll", dict(noise=0.8, ambient_dim=5), 2),
}
SETS = {"tune": CASES, "held-out": HELD_OUT}
QUICK_CASES = ("roll clean", "roll noise 1.0", "sphere cap", "branches")


def run_case(case: str, n: int, seed: int, preset: dict | None = None) -> dict:
    name, kwargs, k = {**CASES, **HELD_OUT}[case]
    ds = data.load(name, n=n, seed=seed, **kwargs)
    T = ds.geodesic_distances()
    rec = {"case": case, "n": n, "seed": seed, "n_components": k, "rv": {}, "rho_s": {}}

    def score(Y):
        return round(embedding_metrics(Y, T)["spearman"], 4)

    preset = {**(preset or {}), "n_components": k}
    t0 = time.perf_counter()
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
    rec["probes"] = {str(a): round(b, 5) for a, b in auto.denoise_report_.items()}
    rec["best_s"] = max(rec["rho_s"], key=rec["rho_s"].get)
    rec["best"] = rec["rho_s"][rec["best_s"]]
    if ds.flat_axes:
        rec["axis_r2_plain"] = round(float(axis_r2(plain.embedding_, ds.latent).min()), 4)
        rec["axis_r2_auto"] = round(float(axis_r2(auto.embedding_, ds.latent).min()), 4)
    rec["rv"] = {str(k): v for k, v in rec["rv"].items()}
    rec["rho_s"] = {str(k): v for k, v in rec["rho_s"].items()}
    return rec


def summarize(records: list[dict]) -> dict:
    """The rule's record on a set of cases (see the module docs)."""
    if not records:
        return {}
    smoothed = [r for r in records if r["kept"] > 0]
    plain_only = [r for r in records if r["kept"] == 0 and len(r["probes"]) == 1]
    probed_plain = [r for r in records if r["kept"] == 0 and len(r["probes"]) > 1]

    def times(rs):
        return {"cases": len(rs), "median_s": round(float(np.median([r["seconds_auto"] for r in rs])), 3),
                "max_s": round(max(r["seconds_auto"] for r in rs), 3)} if rs else {"cases": 0}

    return {
        "cases": len(records),
        "auto_within_0.005_of_plain_or_better": sum(r["auto"] >= r["plain"] - 0.005 for r in records),
        "kept_a_smoothed_graph": len(smoothed),
        "largest_loss_vs_plain": round(max(r["plain"] - r["auto"] for r in records), 4),
        "largest_shortfall_vs_oracle": round(max(r["best"] - r["auto"] for r in records), 4),
        "mean_gain_where_smoothed": round(float(np.mean([r["auto"] - r["plain"] for r in smoothed])), 4)
        if smoothed else 0.0,
        "seconds_plain_kept_no_probes": times(plain_only),
        "seconds_plain_kept_after_probes": times(probed_plain),
        "seconds_smoothed_kept": times(smoothed),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="tune", choices=("tune", "held-out", "all"))
    ap.add_argument("--quick", action="store_true", help="four tuning cases, n = 1000, seed 42")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seeds", default="42,0,2")
    ap.add_argument("--cases", default=None, help="comma-separated case names (default: the set's)")
    ap.add_argument("--affinity", action="store_true", help="the alpha-decay graph instead of the metric one")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    n = 1000 if args.quick else args.n
    seeds = [42] if args.quick else [int(s) for s in args.seeds.split(",")]
    sets = ("tune", "held-out") if args.set == "all" else (args.set,)
    if args.quick:
        cases = QUICK_CASES
    elif args.cases:
        cases = tuple(args.cases.split(","))
    else:
        cases = tuple(c for name in sets for c in SETS[name])
    records = []
    for seed in seeds:
        for case in cases:
            rec = run_case(case, n, seed, AFFINITY if args.affinity else None)
            rec["set"] = "tune" if case in CASES else "held-out"
            print(f"{case:<34} seed {seed:>2}: plain ρ {rec['plain']:.3f}, auto ρ {rec['auto']:.3f} (kept s = "
                  f"{rec['kept']:g}, {rec['seconds_auto']:.2f} s), best {rec['best']:.3f} (s = {rec['best_s']:g})",
                  file=sys.stderr, flush=True)
            records.append(rec)
    summary = {
        "rule": {"floor": AUTO_FLOOR, "gain": AUTO_GAIN, "times": list(AUTO_DENOISE_TIMES), "probes": AUTO_PROBES},
        "graph": "alpha-decay (affinity())" if args.affinity else "metric (the default)",
        "n": n, "seeds": seeds,
        **{name: summarize([r for r in records if r["set"] == name]) for name in ("tune", "held-out")},
    }
    json.dump({"summary": summary, "records": records}, sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
