#!/usr/bin/env python
"""Batched ``torch.linalg.eigh`` of many small symmetric matrices: on the GPU, or on the CPU
with the copies both ways (prints JSON).

Why: the batched positional encodings solve one ``(b, m, m)`` batch per graph size.  On CUDA,
torch's batched eigensolver covers small matrices only (a Jacobi batch up to 32 rows); larger
ones go matrix by matrix, and a GPU then loses to the CPU's LAPACK for molecule-sized graphs.
This measures where, to set the size above which :mod:`spectral_explorer.positional_encodings`
sends a CUDA batch's eigensolve to the CPU.

    python benchmarks/small_eigh.py [--batch 256] [--sizes 16,24,32,33,38,48,64,96,128,256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def timed(fn, repeats: int, sync) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--sizes", default="16,24,32,33,38,48,64,96,128,256")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("needs CUDA")
    dev, sync = torch.device("cuda"), torch.cuda.synchronize
    g = torch.Generator().manual_seed(0)
    rows = []
    for m in (int(s) for s in args.sizes.split(",")):
        for dtype in (torch.float32, torch.float64):
            X = torch.randn((args.batch, m, m), generator=g, dtype=dtype)
            L = (X + X.transpose(1, 2)).to(dev)
            gpu = timed(lambda: torch.linalg.eigh(L), args.repeats, sync)
            cpu = timed(lambda: [t.to(dev) for t in torch.linalg.eigh(L.cpu())], args.repeats, sync)
            rows.append({"m": m, "dtype": str(dtype).replace("torch.", ""), "batch": args.batch,
                         "gpu_ms": round(1e3 * gpu, 3), "cpu_with_copies_ms": round(1e3 * cpu, 3),
                         "cpu_faster": cpu < gpu})
    meta = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(), "cpu_threads": torch.get_num_threads()}
    print(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
