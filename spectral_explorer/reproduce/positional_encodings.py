"""``spectral-explorer reproduce positional-encodings``: stability and cycle counting (SPE paper).

Two tables, after Huang et al., "On the Stability of Expressive Positional Encodings for
Graph Neural Networks" (ICLR 2024):

* **stability** — on the cycle graph ``C_16`` (every non-trivial eigenvalue but the last has
  multiplicity two), ``‖PE(G') − PE(G)‖_F / ‖L(G') − L(G)‖_F`` for raw Laplacian
  eigenvectors, hard eigenspace projectors, the span projector and a randomly initialised
  (fixed seed) :class:`~spectral_explorer.spe.SPE`, with the eigengap, for an ``ε`` sweep of
  one edge weight and for random edge flips
  (:func:`~spectral_explorer.positional_encodings.pe_stability`);
* **training** — test and out-of-distribution MAE of a GIN with each encoding (``none``,
  ``lappe``, ``rwpe``, ``signnet``, ``spe``) on cycle counting
  (:func:`~spectral_explorer.substructures.compare_encodings`; quick: one seed, 25 epochs,
  600 training graphs; full: three seeds, 60 epochs, 1200 graphs, about 20 minutes on 2 cores).

Output: ``DIR/positional-encodings.json`` (``meta`` and every row, each with a ``table``
field) and ``DIR/positional-encodings.csv`` (the same rows, a ``table`` column), plus one
CSV per table, ``positional-encodings-stability.csv`` and ``positional-encodings-training.csv``.
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


def spe_encoder(seed: int = 0, m: int = 8, d_out: int = 8):
    """A randomly initialised SPE (float64, eval mode) as ``spe_fn(evals, evecs) -> (n, d_out)``.

    The weights are a function of ``seed``; the caller's global RNG state is left untouched.
    The network is untrained: the stability bound of SPE holds for *every* choice of weights
    (φ and ρ Lipschitz), so a random one shows it as well as a trained one.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = SPE(m=m, d_out=d_out).double().eval()

    def spe_fn(evals, evecs):
        with torch.no_grad():
            return enc(torch.as_tensor(evals, dtype=torch.float64).cpu(),
                       torch.as_tensor(evecs, dtype=torch.float64).cpu())

    return spe_fn


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
    n_runs = len(tuple(kwargs.get("encodings", substructures.ENCODINGS))) * \
        len(tuple(kwargs.get("seeds") or ((0,) if quick else (0, 1, 2))))
    done = [0]

    def cb(rec):
        done[0] += 1
        if rec["epoch"] % every == 0 or rec["epoch"] in (1, epochs):
            checkpoint(None, progress, done[0] / max(n_runs * epochs, 1),
                       f"  {rec['encoding']:<8} seed={rec['seed']} epoch {rec['epoch']:>3}/{epochs} "
                       f"loss={rec['loss']:.4f} test={rec['test_mae']:.4f} ood={rec['ood_mae']:.4f} "
                       f"({rec['seconds']:.1f} s)")

    rows = substructures.compare_encodings(quick=quick, callback=cb, cancel=cancel, **kwargs)
    return [{c: (round(r[c], 4) if isinstance(r[c], float) else r[c]) for c in TRAINING_COLUMNS} for r in rows]


def stability_frame(rows: list[dict]) -> pd.DataFrame:
    """The stability rows as a frame, integer columns kept integer (missing: ``<NA>``)."""
    return pd.DataFrame(rows, columns=list(STABILITY_COLUMNS)).astype({"n_flips": "Int64", "seed": "Int64"})


def write_results(stability: list[dict], training: list[dict], out: Path, meta: dict | None = None) -> pd.DataFrame:
    """Write ``out/positional-encodings.{json,csv}`` (a ``table`` column) and one CSV per table."""
    out = Path(out)
    rows = ([{"table": "stability", **r} for r in stability] + [{"table": "training", **r} for r in training])
    # JSON has no NaN: store missing values as null
    rows = [{c: (None if isinstance(v, float) and not math.isfinite(v) else v) for c, v in r.items()} for r in rows]
    df = write_table(rows, NAME, out, meta)
    stability_frame(stability).to_csv(out / f"{NAME}-stability.csv", index=False)
    pd.DataFrame(training, columns=list(TRAINING_COLUMNS)).to_csv(out / f"{NAME}-training.csv", index=False)
    return df


def main(quick: bool = False, out: Path = Path("results")) -> None:
    start = time.perf_counter()
    mode = "quick" if quick else "full"
    print(f"positional-encodings ({mode}): stability on C16 ...", flush=True)
    stability = run_stability(quick=quick, progress=text_printer())
    t_stab = time.perf_counter() - start
    print(f"positional-encodings ({mode}): cycle counting, 5 encodings ...", flush=True)
    training = run_training(quick=quick, progress=text_printer())
    meta = {"quick": quick, "seconds": round(time.perf_counter() - start, 1), "stability_seconds": round(t_stab, 2),
            "python": sys.version.split()[0], "torch": torch.__version__, "machine": platform.machine(),
            "graph": "cycle_graph(16)", "k": 8, "spe_seed": 0,
            "training": {"seeds": 1 if quick else 3, "epochs": 25 if quick else 60,
                         "n_train": 600 if quick else 1200, "errors": "MAE on standardised cycle counts"}}
    write_results(stability, training, out, meta)
    with pd.option_context("display.width", 160):
        print("\nstability (‖ΔPE‖_F / ‖ΔL‖_F):")
        print(stability_frame(stability).to_string(index=False))
        print("\ntraining (cycle counts 3..6, MAE on the standardised scale):")
        print(pd.DataFrame(training, columns=list(TRAINING_COLUMNS)).to_string(index=False))
    print(f"wrote {Path(out) / (NAME + '.json')} and .csv (+ {NAME}-stability.csv, {NAME}-training.csv) "
          f"in {meta['seconds']} s")
