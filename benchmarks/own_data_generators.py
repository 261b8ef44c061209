#!/usr/bin/env python
"""Your own generator in the latent-directions explorer: time to first directions (issue 22).

A user generator the project never saw — a DCGAN-shaped random network, z (B, L) → Linear(L, 512·4·4)
→ Unflatten → BatchNorm → ReLU → ConvTranspose ×4 (with BatchNorm/ReLU) → Tanh, (B, 3, 64, 64), in
eval mode — for latent sizes L (default 128 and 512).  For each L:

- ``probe_s``: ``UserGenerator(G, L)`` (one probe call of 16 latents with hooks, a determinism
  check, the first layer and the GANSpace layer found);
- ``sefa_s``: ``LatentDirectionsExplorer.from_generator(G, L)`` until ``explorer.directions``
  (SeFa: the probe, A read off the first layer, eigh of AᵀA, and the first face and traversal grid
  rendered);
- ``ganspace_s``: ``method="ganspace"`` until ``explorer.directions`` (streaming PCA of the first
  block over ``n_samples`` latents, 3 passes, the forward pass stopped at the first block);
- ``jacobian_s``: ``compute_jacobian()`` until ``explorer.directions`` (top-3 right singular
  vectors of ∂G/∂z at the face's z, power iteration).

Output: one JSON document on stdout.  Usage::

    python benchmarks/own_data_generators.py [--latents 128 512] [--n-samples 20000] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
from torch import nn


def generator(latent: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)

    def up(cin, cout):
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(nn.Linear(latent, 512 * 4 * 4), nn.Unflatten(1, (512, 4, 4)), nn.BatchNorm2d(512), nn.ReLU(),
                         *up(512, 256), *up(256, 128), *up(128, 64), nn.ConvTranspose2d(64, 3, 4, 2, 1),
                         nn.Tanh()).eval()


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latents", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--n-samples", type=int, default=20_000)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    os.environ["SPECTRAL_EXPLORER_DEVICE"] = args.device
    from spectral_explorer.explorers.latent_directions import LatentDirectionsExplorer
    from spectral_explorer.generators import UserGenerator

    records = []
    for L in args.latents:
        G = generator(L).to(args.device)
        rec = {"latent_dim": L, "image": [3, 64, 64], "device": args.device, "n_samples": args.n_samples,
               "parameters": sum(p.numel() for p in G.parameters())}
        t = time.perf_counter()
        UserGenerator(G, L)
        sync(args.device)
        rec["probe_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        ex = LatentDirectionsExplorer.from_generator(G, L, n_samples=args.n_samples)
        d = ex.directions
        sync(args.device)
        rec["sefa_s"] = round(time.perf_counter() - t, 3)
        assert ex.error == "" and d.shape == (ex.k, L), ex.error
        t = time.perf_counter()
        ex.method = "ganspace"
        d = ex.directions
        sync(args.device)
        rec["ganspace_s"] = round(time.perf_counter() - t, 3)
        assert ex.error == "", ex.error
        t = time.perf_counter()
        ex.view = "jacobian"
        ex.compute_jacobian()
        d = ex.directions
        sync(args.device)
        rec["jacobian_s"] = round(time.perf_counter() - t, 3)
        info = ex._jacobian()["info"]
        rec["jacobian_iterations"], rec["jacobian_converged"] = info["iterations"], info["converged"]
        rec["first_layer"], rec["ganspace_layer"] = ex._user.first_layer_name, ex._user.features_name
        rec["ganspace_features"] = ex._user.n_features
        assert ex.error == "" and d.shape == (3, L), ex.error
        records.append(rec)
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None}
    print(json.dumps({"meta": meta, "records": records}, indent=1))


if __name__ == "__main__":
    main()
