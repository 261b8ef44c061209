"""``spectral-explorer reproduce positional-encodings``: stability and cycle counting (SPE paper).

Two tables, after Huang et al., "On the Stability of Expressive Positional Encodings for
Graphs" (ICLR 2024):

* **stability** — on the cycle graph ``C_16`` (every eigenvalue except 0 and 2 has
  multiplicity two), ``‖PE(G') − PE(G)‖_F / ‖L(G') − L(G)‖_F`` for raw Laplacian
  eigenvectors, hard eigenspace projectors and the span projector (all read from
  ``v_1..v_8``) and a randomly initialised (fixed seed), untrained
  :class:`~spectral_explorer.spe.SPE` that reads all 16 eigenpairs, with the eigengap, for an
  ``ε`` sweep of one edge weight and for random edge flips
  (:func:`~spectral_explorer.positional_encodings.pe_stability`).  The random SPE's φ is
  nearly flat (its largest slope on ``[0, 2]`` is in the metadata, ``spe_phi_max_slope``),
  one reason why its ratios are small (its random ρ is another): they measure this network,
  not SPE in general;
* **training** — test and out-of-distribution MAE of a GIN with each encoding (``none``,
  ``lappe``, ``rwpe``, ``signnet``, ``spe``) on cycle counting, as the mean and sample
  standard deviation over three training seeds (0, 1, 2), with every seed's run in a third
  table, ``training_runs`` (:func:`~spectral_explorer.substructures.compare_encodings`; quick:
  25 epochs, 600 training graphs; full: 60 epochs, 1200 graphs).  One seed's ranking is not a
  result: the runs table shows how it changes from seed to seed.

Output: ``DIR/positional-encodings.json`` (``meta`` and every row, each with a ``table``
field) and ``DIR/positional-encodings.csv`` (the same rows, a ``table`` column), plus one
CSV per table, ``positional-encodings-stability.csv``, ``positional-encodings-training.csv``
and ``positional-encodings-training-runs.csv``.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd
import torch

from .. import substructures
from ..positional_encodings import pe_stability
from ..progress import checkpoint, text_printer
from ..spe import SPE
from . import write_table

NAME = "positional-encodings"
#: ε values of the one-edge-weight sweep
EPS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
STABILITY_COLUMNS = ("mode", "eps", "n_flips", "seed", "delta_L", "raw", "projectors", "subspace", "spe",
                     "eigengap")
TRAINING_COLUMNS = ("encoding", "test_mae", "ood_mae", "test_mae_std", "ood_mae_std", "n_seeds", "seconds")
RUN_COLUMNS = ("encoding", "seed", "test_mae", "ood_mae")
#: training seeds of both modes
SEEDS = (0, 1, 2)


def spe_encoder(seed: int = 0, m: int = 8, d_out: int = 8):
    """A randomly initialised SPE (float64, eval mode) as ``spe_fn(evals, evecs) -> (n, d_out)``.

    The weights are a function of ``seed``; the caller's global RNG state is left untouched;
    the network is ``spe_fn.model``.  It is untrained, and its random φ is nearly flat
    (:func:`phi_max_slope`, 0.16–0.37 for seeds 0–9): its small ratios ‖ΔSPE‖/‖ΔL‖ show
    that SPE does not jump, not how much an SPE with a steeper φ or ρ moves.  SPE's stability
    theorem holds for every choice of Lipschitz φ and ρ, with constants that grow with
    their Lipschitz constants.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = SPE(m=m, d_out=d_out).double().eval()

    def spe_fn(evals, evecs):
        with torch.no_grad():
            return enc(torch.as_tensor(evals, dtype=torch.float64).cpu(),
                       torch.as_tensor(evecs, dtype=torch.float64).cpu())

    spe_fn.model = enc
    return spe_fn


def phi_max_slope(model: SPE, points: int = 2001) -> float:
    """The largest ``|Δφ_ℓ| / Δλ`` of ``model.phi`` over all channels and the steps of a grid of
    ``points`` values on ``[0, 2]`` (the normalized Laplacian's spectrum): a lower bound of φ's
    Lipschitz constant, exact once the grid resolves φ's linear pieces."""
    p = next(model.parameters())
    lam = torch.linspace(0.0, 2.0, points, dtype=torch.float64)[:, None]
    with torch.no_grad():
        phi = model.phi(lam.to(p.dtype)).double()
    return float((phi.diff(dim=0).abs() / (2.0 / (points - 1))).max())


def _row(r: dict, n_flips=None, seed=None) -> dict:
    return {"mode": r["mode"], "eps": r["eps"], "n_flips": n_flips, "seed": seed,
            "delta_L": float(f"{r['delta_L']:.4g}"),
            **{c: float(f"{r[c]:.4g}") for c in ("raw", "projectors", "subspace", "spe")},
            "eigengap": round(r["eigengap"], 6)}


def run_stability(quick: bool = False, n: int = 16, k: int = 8, eps_values=EPS, flips=None, seeds=None,
                  spe_seed: int = 0, progress=None, cancel=None) -> list[dict]:
    """The stability table on the cycle graph ``C_n`` (fast: well under a second).

    Parameters
    ----------
    quick : bool
        Fewer random seeds for the edge flips (3 instead of 10).
    n, k : int
        Cycle length and number of non-trivial eigenvectors (``k`` even, so that the
        first ``k`` eigenvalues fill whole eigenspaces and the eigengap is positive).
    eps_values : sequence of float
        Perturbations of the weight of edge (0, 1).
    flips : sequence of int, optional
        Numbers of random node pairs flipped (default ``(1, 2, 4)``).
    seeds : sequence of int, optional
        Seeds of the random flips (default ``range(3)`` quick, ``range(10)`` full).
    spe_seed : int
        Seed of the random SPE's weights.
    progress : callable, optional
        ``progress(fraction, text)``, one line per row (see :mod:`spectral_explorer.progress`;
        :func:`~spectral_explorer.progress.text_printer` prints them).
    cancel : threading.Event or callable, optional
        Checked between rows; raises :class:`~spectral_explorer.progress.Cancelled`.

    Returns
    -------
    list of dict
        Columns :data:`STABILITY_COLUMNS`; ``eps`` is None for flips, ``n_flips``/``seed``
        None for the ε sweep.
    """
    G = nx.cycle_graph(n)
    spe_fn = spe_encoder(spe_seed)
    flips = (1, 2, 4) if flips is None else tuple(flips)
    seeds = (range(3) if quick else range(10)) if seeds is None else seeds
    rows = []
    eps_values = tuple(eps_values)
    seeds = tuple(seeds)
    total = max(len(eps_values) + len(flips) * len(seeds), 1)
    for eps in eps_values:
        checkpoint(cancel)
        r = _row(pe_stability(G, k, eps, mode="edge_weight", spe_fn=spe_fn))
        rows.append(r)
        checkpoint(cancel, progress, len(rows) / total, f"  C{n} edge_weight eps={eps:<7.0e} raw={r['raw']:<10.4g} projectors={r['projectors']:<10.4g} "
                   f"spe={r['spe']:<8.4g} eigengap={r['eigengap']:.4f}")
    for nf in flips:
        for s in seeds:
            checkpoint(cancel)
            r = _row(pe_stability(G, k, mode="edge_flip", n_flips=nf, seed=int(s), spe_fn=spe_fn), nf, int(s))
            rows.append(r)
            checkpoint(cancel, progress, len(rows) / total,
                       f"  C{n} edge_flip  flips={nf} seed={s:<2} ‖ΔL‖={r['delta_L']:<8.4g} raw={r['raw']:<8.4g} "
                       f"projectors={r['projectors']:<8.4g} spe={r['spe']:.4g}")
    return rows


def run_training(quick: bool = False, progress=None, every: int = 5, cancel=None, **kwargs) -> list[dict]:
    """The training table from :func:`~spectral_explorer.substructures.compare_encodings`.

    ``kwargs`` go to ``compare_encodings`` (``encodings``, ``seeds``, ``epochs``, ...);
    ``progress(fraction, text)`` receives a line every ``every`` epochs and at each run's
    first and last epoch (``fraction``: epochs done over all runs); ``cancel`` stops within
    one training batch (see :mod:`spectral_explorer.progress`).
    """
    epochs = kwargs.get("epochs") or (25 if quick else 60)
    kwargs.setdefault("seeds", SEEDS)
    n_runs = len(tuple(kwargs.get("encodings", substructures.ENCODINGS))) * len(tuple(kwargs["seeds"]))
    done = [0]

    def cb(rec):
        done[0] += 1
        if rec["epoch"] % every == 0 or rec["epoch"] in (1, epochs):
            checkpoint(None, progress, done[0] / max(n_runs * epochs, 1),
                       f"  {rec['encoding']:<8} seed={rec['seed']} epoch {rec['epoch']:>3}/{epochs} "
                       f"loss={rec['loss']:.4f} test={rec['test_mae']:.4f} ood={rec['ood_mae']:.4f} "
                       f"({rec['seconds']:.1f} s)")

    rows = substructures.compare_encodings(quick=quick, callback=cb, cancel=cancel, **kwargs)
    return [{c: (round(r[c], 4) if isinstance(r[c], float) else r[c]) for c in TRAINING_COLUMNS}
            | {"seeds": r["seeds"], "test_maes": [round(v, 4) for v in r["test_maes"]],
               "ood_maes": [round(v, 4) for v in r["ood_maes"]]} for r in rows]


def training_runs(training: list[dict]) -> list[dict]:
    """One row per encoding and seed (:data:`RUN_COLUMNS`) from :func:`run_training`'s rows."""
    return [{"encoding": r["encoding"], "seed": s, "test_mae": t, "ood_mae": o}
            for r in training for s, t, o in zip(r["seeds"], r["test_maes"], r["ood_maes"])]


def ood_ranking(training: list[dict]) -> dict:
    """The encodings from lowest to highest OOD MAE: by the mean (``"mean"``) and for each seed."""
    out = {"mean": [r["encoding"] for r in sorted(training, key=lambda r: r["ood_mae"])]}
    for run in sorted({s for r in training for s in r["seeds"]}):
        per = {r["encoding"]: o for r in training for s, o in zip(r["seeds"], r["ood_maes"]) if s == run}
        out[f"seed {run}"] = sorted(per, key=per.get)
    return out


def stability_frame(rows: list[dict]) -> pd.DataFrame:
    """The stability rows as a frame, integer columns kept integer (missing: ``<NA>``)."""
    return pd.DataFrame(rows, columns=list(STABILITY_COLUMNS)).astype({"n_flips": "Int64", "seed": "Int64"})


def write_results(stability: list[dict], training: list[dict], out: Path, meta: dict | None = None) -> pd.DataFrame:
    """Write ``out/positional-encodings.{json,csv}`` (a ``table`` column) and one CSV per table."""
    out = Path(out)
    runs = training_runs(training) if all("seeds" in r for r in training) else []
    rows = ([{"table": "stability", **r} for r in stability]
            + [{"table": "training", **{c: r[c] for c in TRAINING_COLUMNS}} for r in training]
            + [{"table": "training_runs", **r} for r in runs])
    # JSON has no NaN: store missing values as null
    rows = [{c: (None if isinstance(v, float) and not math.isfinite(v) else v) for c, v in r.items()} for r in rows]
    df = write_table(rows, NAME, out, meta)
    stability_frame(stability).to_csv(out / f"{NAME}-stability.csv", index=False)
    pd.DataFrame(training, columns=list(TRAINING_COLUMNS)).to_csv(out / f"{NAME}-training.csv", index=False)
    pd.DataFrame(runs, columns=list(RUN_COLUMNS)).to_csv(out / f"{NAME}-training-runs.csv", index=False)
    return df


def main(quick: bool = False, out: Path = Path("results")) -> None:
    start = time.perf_counter()
    mode = "quick" if quick else "full"
    print(f"positional-encodings ({mode}): stability on C16 ...", flush=True)
    stability = run_stability(quick=quick, progress=text_printer())
    t_stab = time.perf_counter() - start
    print(f"positional-encodings ({mode}): cycle counting, 5 encodings × {len(SEEDS)} seeds ...", flush=True)
    training = run_training(quick=quick, progress=text_printer())
    slope = phi_max_slope(spe_encoder(0).model)
    meta = {"quick": quick, "seconds": round(time.perf_counter() - start, 1), "stability_seconds": round(t_stab, 2),
            "python": sys.version.split()[0], "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "graph": "cycle_graph(16)", "k": 8, "spe_seed": 0,
            "spe_phi_max_slope": round(slope, 4),
            "training": {"seeds": list(SEEDS), "epochs": 25 if quick else 60, "n_train": 600 if quick else 1200,
                         "errors": "MAE on standardised cycle counts; mean and sample std (ddof=1) over the seeds"}}
    write_results(stability, training, out, meta)
    with pd.option_context("display.width", 160):
        print("\nstability (‖ΔPE‖_F / ‖ΔL‖_F; raw, projectors, subspace read v_1..v_8, the untrained SPE all "
              f"16 eigenpairs; its φ's largest slope on [0, 2]: {slope:.3g}):")
        print(stability_frame(stability).to_string(index=False))
        print(f"\ntraining (cycle counts 3..6, MAE on the standardised scale; mean and sample std over seeds "
              f"{', '.join(map(str, SEEDS))}):")
        print(pd.DataFrame(training, columns=list(TRAINING_COLUMNS)).to_string(index=False))
        print("\nOOD MAE by seed:")
        print(pd.DataFrame(training_runs(training)).pivot(index="encoding", columns="seed", values="ood_mae")
              .to_string())
    for key, order in ood_ranking(training).items():
        print(f"  lowest to highest OOD MAE, {key:<6}: " + " < ".join(order))
    print(f"wrote {Path(out) / (NAME + '.json')} and .csv (+ {NAME}-stability.csv, {NAME}-training.csv, "
          f"{NAME}-training-runs.csv) in {meta['seconds']} s")
