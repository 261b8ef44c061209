#!/usr/bin/env python
"""Latent directions: speed and quality targets (face DCGAN, digits diffusion model).

Cases (targets in brackets, CPU)
--------------------------------
sefa                 SeFa on the DCGAN's first layer (100 × 8192)              [<= 20 ms]
ganspace_20k         GANSpace streaming PCA over 20k samples, + latent map      [<= 10 s]
face_slider          one face re-rendered after a slider move (explorer stage) [<= 100 ms]
traversal_strip      a 7-image traversal strip (one direction, 7 α)            [<= 300 ms]
ddim25_one_digit     DDIM, 25 steps, one digit                                  [<= 0.1 s]
jacobian_top3        top-3 Jacobian directions of G at one z, power iteration  [<= 1 s]
                     (first call, with torch.func's one-time set-up, and warm)
sefa_vs_random       image change per unit α of SeFa 1-3 / random directions    [>= 2x each]
sefa_plain_vs_random the same for SeFa without row normalisation (A as is)     [>= 2x each]
pc_class_change      class changes at ±1σ of h-space PCs 1-3 / random dirs      [>= 3x]

Timings are medians of repeats (the first call of each is reported separately where it
differs).  Output: one JSON document on stdout, ``{"meta": {...}, "records": [...]}``.

Usage::

    python benchmarks/latent_directions.py            # quality cases at full size (a few minutes)
    python benchmarks/latent_directions.py --quick    # smaller samples for the quality cases
    python benchmarks/latent_directions.py --device cuda --skip-quality   # GPU timings

With ``--device cuda`` every timed call ends with ``torch.cuda.synchronize()`` (the time until
the result exists, not until the kernels are queued); the targets were set for the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch


def log(*a):
    print(*a, file=sys.stderr, flush=True)


_sync = lambda: None  # noqa: E731  (torch.cuda.synchronize under --device cuda)


def timed(fn, repeats=5):
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        _sync()
        times.append(time.perf_counter() - t)
    return out, times


def rec(case, seconds=None, target=None, ok=None, **extra):
    r = {"case": case}
    if seconds is not None:
        r["seconds"] = round(seconds, 5)
    if target is not None:
        r["target"] = target
    if ok is not None:
        r["meets_target"] = bool(ok)
    r.update(extra)
    log(json.dumps(r))
    return r


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--device", default="cpu", help="torch device of the timed cases (default: cpu)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    # the explorer (face_slider) renders on the library's default device: make it this one
    os.environ["SPECTRAL_EXPLORER_DEVICE"] = str(dev)
    if dev.type == "cuda":
        global _sync
        _sync = torch.cuda.synchronize

    from spectral_explorer import latent_directions as ld
    from spectral_explorer.digits_diffusion import ddim_sample, load_digits_diffusion
    from spectral_explorer.explorers.latent_directions import LatentDirectionsExplorer
    from spectral_explorer.face_dcgan import face_dcgan, sample_latents

    records = []
    gan = face_dcgan(dev)
    _, t = timed(lambda: ld.sefa_directions(gan.sefa_weight, k=5), 20)
    records.append(rec("sefa", statistics.median(t), "<= 0.020 s", statistics.median(t) <= 0.020,
                       first_call_s=round(t[0], 5)))

    res, t = timed(lambda: ld.ganspace_directions(gan.first_block, n_samples=20000, k=10, device=dev), 2)
    records.append(rec("ganspace_20k", min(t), "<= 10 s", min(t) <= 10, all_s=[round(x, 2) for x in t],
                       samples=20000, k=10, passes=3, max_residual_top5=round(max(res.residuals[:5]), 4)))

    ex = LatentDirectionsExplorer()
    times = []
    for i in range(10):
        ex.c1 = 0.5 * (i + 1) * (-1) ** i
        _sync()
        times.append(ex.timings["face"])
    records.append(rec("face_slider", statistics.median(times), "<= 0.100 s", statistics.median(times) <= 0.1,
                       max_s=round(max(times), 4), note="the explorer's face stage after a slider move"))

    z = sample_latents(1, seed=3, device=dev)[0]
    d, _ = ld.sefa_directions(gan.sefa_weight, k=1)
    alphas = np.linspace(-3, 3, 7)
    _, t = timed(lambda: ld.traversal_strip(gan, z, d.float(), alphas), 7)
    records.append(rec("traversal_strip", statistics.median(t), "<= 0.300 s", statistics.median(t) <= 0.3,
                       images=7))

    model = load_digits_diffusion(device=dev)
    with torch.no_grad():
        _, t = timed(lambda: ddim_sample(model, n=1, n_steps=25, seed=1, device=dev), 10)
    records.append(rec("ddim25_one_digit", statistics.median(t), "<= 0.1 s", statistics.median(t) <= 0.1))

    f = lambda v: gan(v[None])[0]  # noqa: E731
    first = None
    times, iters = [], []
    for s in range(6):
        zz = sample_latents(1, seed=100 + s, device=dev)[0]
        t0 = time.perf_counter()
        _, _, info = ld.jacobian_directions(f, zz, k=3, tol=1e-4, n_iter=60, return_info=True)
        _sync()
        dt = time.perf_counter() - t0
        if first is None:
            first = dt
        else:
            times.append(dt)
        iters.append(info["iterations"])
    records.append(rec("jacobian_top3", statistics.median(times), "<= 1 s", statistics.median(times) <= 1.0,
                       first_call_s=round(first, 3), iterations=iters, tol=1e-4))

    meta = {"quick": args.quick, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": sys.version.split()[0], "machine": platform.machine(), "device": str(dev),
            "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None}
    if not args.skip_quality:
        from spectral_explorer.reproduce import latent_directions as rl
        qmeta = {}
        rows = rl.run(quick=args.quick, meta=qmeta)
        s = qmeta["summary"]
        local = s.get("sefa_top3_change_over_random_alpha0.1", [])
        ratios = s.get("sefa_top3_change_over_random_alpha2", [])
        records.append(rec("sefa_vs_random", None, ">= 2x each", bool(local) and min(local) >= 2,
                           ratios_alpha_0_1=local, ratios_alpha_2=ratios,
                           note="sefa_directions' default: rows of A normalised, as the reference code does"))
        plain = s.get("sefa_plain_top3_change_over_random_alpha0.1", [])
        records.append(rec("sefa_plain_vs_random", None, ">= 2x each", bool(plain) and min(plain) >= 2,
                           ratios_alpha_0_1=plain, ratios_alpha_2=s.get("sefa_plain_top3_change_over_random_alpha2", []),
                           note="normalize=False: A as is, the paper's max ‖A n‖ (directions 3 and 4 of the "
                                "normalised variant nearly exchange)"))
        pc = s.get("pc_over_random_1sigma", [])
        records.append(rec("pc_class_change", None, ">= 3x", bool(pc) and min(pc) >= 3, ratios=pc,
                           pc_rates=s.get("pc_class_change_1sigma"), random_rate=s.get("random_class_change_1sigma")))
        meta["reproduce_meta"] = {k: v for k, v in qmeta.items() if k != "summary"}
        meta["rows"] = len(rows)
    print(json.dumps({"meta": meta, "records": records}, indent=1))


if __name__ == "__main__":
    main()
