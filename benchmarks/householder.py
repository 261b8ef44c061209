#!/usr/bin/env python
"""Householder projector: frame speed (forward + backward) and the study's run time.

Cases
-----
frame_<in>x<out>_r<r>   forward+backward of ``U_r`` and ``V_r`` (one HouseholderProjector weight,
                        ``(W * G).sum().backward()``) with each frame method: the rank-1 loop,
                        ``torch.linalg.householder_product`` ("lapack"), compact WY, and "auto" —
                        target: auto <= min(loop, lapack) at every shape
                        shapes (100 → 8192, r=10), (512 → 512, r=10), (512 → 512, r=512)
study_quick             ``spectral-explorer reproduce householder --quick`` in process  [<= 120 s]
                        (``--full`` also times the full run                            [<= 600 s])

Timings are medians of repeats on one thread.  Output: one JSON document on stdout.

Usage::

    python benchmarks/householder.py            # frames + quick study
    python benchmarks/householder.py --no-study # frames only
    python benchmarks/householder.py --full     # frames + quick + full study
    python benchmarks/householder.py --device cuda --no-study   # frames on the GPU (synchronised)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

SHAPES = ((100, 8192, 10), (512, 512, 10), (512, 512, 512))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def time_frames(in_f: int, out_f: int, r: int, method: str, repeats: int, device="cpu") -> float:
    from spectral_explorer import HouseholderProjector

    device = torch.device(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    layer = HouseholderProjector(in_f, out_f, r, singular_values="learned", method=method).to(device)
    G = torch.randn(out_f, in_f).to(device)
    times = []
    for _ in range(repeats + 1):
        sync()
        t = time.perf_counter()
        (layer.weight * G).sum().backward()
        sync()
        times.append(time.perf_counter() - t)
        layer.zero_grad()
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-study", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", help="torch device of the frame cases (the study runs on the CPU)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    records = []
    for in_f, out_f, r in SHAPES:
        rec = {"case": f"frame_{in_f}x{out_f}_r{r}", "in": in_f, "out": out_f, "rank": r}
        for method in ("loop", "lapack", "wy", "auto"):
            # householder_product's backward takes seconds on the tall frame: fewer repeats there
            reps = 1 if (method == "lapack" and out_f > 4 * r * 50) else args.repeats
            rec[f"{method}_ms"] = round(1e3 * time_frames(in_f, out_f, r, method, reps, args.device), 3)
        best = min(rec["loop_ms"], rec["lapack_ms"])
        rec["auto_over_best_of_loop_lapack"] = round(rec["auto_ms"] / best, 3)
        rec["meets_target"] = rec["auto_ms"] <= best * 1.05   # 5 % timing noise on a shared machine
        log(json.dumps(rec))
        records.append(rec)
    if not args.no_study:
        from spectral_explorer.reproduce import householder as rh

        for quick in ((True, False) if args.full else (True,)):
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                with contextlib.redirect_stdout(sys.stderr):      # stdout is the JSON document
                    rh.main(quick=quick, out=Path(tmp))
                sec = time.perf_counter() - t
            limit = 120 if quick else 600
            rec = {"case": f"study_{'quick' if quick else 'full'}", "seconds": round(sec, 1), "target": limit,
                   "meets_target": sec <= limit}
            log(json.dumps(rec))
            records.append(rec)
    meta = {"python": sys.version.split()[0], "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "processor": platform.processor(), "device": args.device,
            "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None}
    print(json.dumps({"meta": meta, "records": records}, indent=2))


if __name__ == "__main__":
    main()
