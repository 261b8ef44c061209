"""``spectral-explorer reproduce eigenspace``: EoRA vs SVD compensation of a compressed MiniLM.

all-MiniLM-L6-v2 (packaged, offline) has its 36 encoder ``nn.Linear`` layers compressed
(3-bit / 4-bit per-channel round-to-nearest, or 2:4 pruning) and each compression error
``ΔW`` compensated by a rank-``r`` correction ``B A``: none, the plain truncated SVD of
``ΔW``, or EoRA (SVD in the eigenspace of the calibration Gram ``XᵀX``).  Texts are first
paragraphs of standard-library docstrings, split into calibration and held-out sets; the
table reports, on the held-out texts against the uncompressed model's embeddings, the mean
cosine, the Spearman correlation of the pairwise similarities and the top-1 nearest
neighbour agreement (:func:`spectral_explorer.calibration.fidelity`), plus the seconds spent
building that compensated model and embedding.

The Gram matrices are collected once, on the uncompressed model, and reused by every EoRA
run; each compression's SVD and EoRA corrections are factorised once, at the largest rank, and
sliced for the smaller ranks (:func:`spectral_explorer.calibration.fidelity_vs_rank`; the
per-compression factorisation seconds are in the metadata).  ``method="none"`` does not depend on the rank: it is computed once per compression and
its row is repeated for every rank (``seconds`` is that single run's), so that the table can
be read rank by rank.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import torch

from ..progress import checkpoint, text_printer
from . import write_table

COMPRESSIONS = ("rtn3", "rtn4", "prune24")
RANKS = (4, 8, 16, 32, 64, 128)
QUICK_RANKS = (8, 32)
METHODS = ("none", "svd", "eora")
COLUMNS = ("compression", "rank", "method", "mean_cosine", "spearman", "top1_nn_agreement", "seconds")


def run(quick: bool = False, seed: int = 0, progress=None, n_calib: int | None = None,
        n_heldout: int | None = None, ranks=None, compressions=COMPRESSIONS, methods=METHODS,
        layers=None, meta: dict | None = None, cancel=None) -> list[dict]:
    """Rows ``{compression, rank, method, mean_cosine, spearman, top1_nn_agreement, seconds}``.

    Defaults: 256 calibration + 256 held-out texts and ranks 4..128; ``quick``: 64 + 64 and
    ranks 8, 32.  ``layers`` (names of ``nn.Linear`` modules) restricts the compression to
    those layers (default: all 36 encoder layers).  When ``meta`` is a dict it receives the
    run's sizes and the Gram-collection time.  ``progress(fraction, text)`` receives the lines
    of the log (:func:`~spectral_explorer.progress.text_printer` prints them); ``cancel`` is
    checked between layers and batches (see :mod:`spectral_explorer.progress`).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from ..calibration import collect_grams, fidelity_vs_rank, minilm_linear_names
    from ..minilm import calibration_split, embed, load_minilm, stdlib_docstrings, tokenize_batches

    n_calib = n_calib if n_calib is not None else (64 if quick else 256)
    n_heldout = n_heldout if n_heldout is not None else (64 if quick else 256)
    ranks = tuple(ranks) if ranks is not None else (QUICK_RANKS if quick else RANKS)

    t0 = time.perf_counter()
    tok, model = load_minilm(device="cpu")
    model.eval()
    t_load = time.perf_counter() - t0
    calib, held = calibration_split(stdlib_docstrings(), n_calib, n_heldout, seed=seed)
    names = minilm_linear_names(model) if layers is None else list(layers)
    ref = embed(held, tok, model, cancel=cancel)

    t = time.perf_counter()
    grams = {}
    if "eora" in methods:
        grams, _ = collect_grams(model, names, tokenize_batches(calib, tok), cancel=cancel)
    t_grams = time.perf_counter() - t
    n_comp = max(len(compressions), 1)
    checkpoint(cancel, progress, 0.1, f"  loaded MiniLM in {t_load:.1f} s; {len(names)} layers, {len(calib)} "
               f"calibration + {len(held)} held-out texts; Grams collected once in {t_grams:.1f} s")

    rows = []
    factor_s = {}
    cache = {}   # the Grams' eigenbases are shared by the compressions' EoRA factorisations
    for i_comp, comp in enumerate(compressions):
        checkpoint(cancel, progress, 0.1 + 0.9 * i_comp / n_comp,
                   f"  {comp}: compressing, factorising each correction once at rank {max(ranks)}, sweeping ranks …")
        timings = {}
        sweep = fidelity_vs_rank(model, tok, calib, held, comp, ranks=ranks, methods=methods, layers=names,
                                 grams=grams, reference=ref, timings=timings, cache=cache, cancel=cancel)
        factor_s[comp] = {k: round(v, 2) for k, v in timings.items()}
        by = {(r["method"], r["rank"]): r for r in sweep}
        for r in sweep:
            label = "-" if r["method"] == "none" else r["rank"]
            checkpoint(cancel, progress, 0.1 + 0.9 * (i_comp + 1) / n_comp,
                       f"  {comp:<8} rank={label:<4} {r['method']:<5} mean_cos={r['mean_cosine']:.4f} "
                       f"spearman={r['spearman']:.4f} top1={r['top1_nn_agreement']:.3f} ({r['seconds']:.2f} s)")
        for rank in ranks:
            for method in methods:
                r = by[(method, 0 if method == "none" else rank)]
                rows.append({"compression": comp, "rank": rank, "method": method,
                             **{k: round(r[k], 4) for k in ("mean_cosine", "spearman", "top1_nn_agreement")},
                             "seconds": round(r["seconds"], 3)})
    if meta is not None:
        meta.update({"n_calib": len(calib), "n_heldout": len(held), "layers": len(names), "seed": seed,
                     "ranks": list(ranks), "compressions": list(compressions), "load_s": round(t_load, 2),
                     "gram_collection_s": round(t_grams, 2), "factorisation_s": factor_s})
    return rows


def main(quick: bool = False, out: Path = Path("results")) -> None:
    start = time.perf_counter()
    print(f"eigenspace (EoRA) benchmark ({'quick' if quick else 'full'}) ...", flush=True)
    meta = {"quick": quick, "model": "all-MiniLM-L6-v2"}
    rows = run(quick=quick, progress=text_printer(), meta=meta)
    meta.update({"seconds": round(time.perf_counter() - start, 1), "python": sys.version.split()[0],
                 "torch": torch.__version__, "threads": torch.get_num_threads(),
                 "machine": platform.machine()})
    df = write_table(rows, "eigenspace", out, meta)
    print(df.to_string(index=False))
    print(f"wrote {Path(out) / 'eigenspace.json'} and .csv")
