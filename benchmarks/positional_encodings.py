#!/usr/bin/env python
"""Throughput of the batched positional encodings on ZINC-sized molecular-like graphs.

Graphs: ``n`` uniform in [15, 38] nodes, a random labelled tree plus 0–3 ring-closing edges
(between nodes 4–6 bonds apart, keeping degrees <= 4), seeded — close to ZINC's molecules
(23 heavy atoms on average, mostly trees with a few 5/6-rings).

Cases (targets in brackets, CPU)
--------------------------------
lappe_batched   :func:`batched_laplacian_pe`, k=8                  [>= 17,000 graphs/s]
rwpe_batched    :func:`batched_random_walk_pe`, K=16               [>= 28,000 graphs/s]
lappe_pergraph  :func:`laplacian_pe` in a Python loop (baseline)
rwpe_pergraph   :func:`random_walk_pe` in a Python loop (baseline)

The input of every timed call is a list of dense ``(n, n)`` adjacency tensors (what a data
loader yields); padding, validation, Laplacian, eigensolver / matrix powers and the sign fix
are all inside the timing.  Both float64 (the library's CPU default) and float32 are timed;
each batched record also carries the largest deviation from the float64 per-graph reference
(LapPE compared where the eigenvector is determined: simple eigenvalue, gap > 1e-6, and a
unique largest-magnitude entry; elsewhere through the eigenspace projectors).

Output: one JSON document on stdout, ``{"meta": {...}, "records": [...]}``; progress on stderr.

Usage::

    python benchmarks/positional_encodings.py                  # defaults: 8192 graphs, batch 2048
    python benchmarks/positional_encodings.py --quick          # 2048 graphs, 1 repeat
    python benchmarks/positional_encodings.py --batch 4096 --threads 2 --device cpu
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import networkx as nx
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spectral_explorer.positional_encodings import (  # noqa: E402
    batched_laplacian_pe,
    batched_random_walk_pe,
    laplacian_pe,
    laplacian_pe_eig,
    normalized_laplacian,
    random_walk_pe,
)

TARGETS = {"lappe_batched": 17_000, "rwpe_batched": 28_000}


def molecular_graph(n: int, rng: np.random.Generator) -> nx.Graph:
    """A random tree on ``n`` nodes with a few ring-closing edges (max degree 4)."""
    while True:
        g = nx.random_labeled_tree(n, seed=int(rng.integers(2**31)))
        if max(d for _, d in g.degree) <= 4:
            break
    n_rings = int(rng.integers(0, 4))
    dist = dict(nx.all_pairs_shortest_path_length(g, cutoff=5))
    cand = [(u, v) for u in g for v, d in dist[u].items() if u < v and d in (4, 5)]
    rng.shuffle(cand)
    for u, v in cand:
        if n_rings == 0:
            break
        if g.degree[u] < 4 and g.degree[v] < 4 and not g.has_edge(u, v):
            g.add_edge(u, v)
            n_rings -= 1
    return g


def make_dataset(n_graphs: int, seed: int = 0) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(15, 39, n_graphs)
    return [torch.as_tensor(nx.to_numpy_array(molecular_graph(int(n), rng))) for n in sizes]


def _timeit(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _lappe_error(pe_b, adjs, k):
    """Max deviation from the float64 per-graph reference, wherever the answer is determined.

    A column is compared directly when its eigenvalue is simple (gaps > 1e-6) and its
    largest-magnitude entry unique (the sign convention then fixes it); every complete group
    of equal eigenvalues inside λ_1..λ_k is compared through its projector.
    """
    worst = 0.0
    for b, a in enumerate(adjs):
        n = a.shape[0]
        w_all = torch.linalg.eigvalsh(normalized_laplacian(a.double())).tolist()
        _, ref = laplacian_pe_eig(a, k, dtype=torch.float64, device="cpu")
        got = pe_b[b, :n].double()
        m = min(k, n - 1)
        j = 0
        while j < m:
            e = j
            while e + 1 < n - 1 and w_all[e + 2] - w_all[e + 1] <= 1e-6:
                e += 1
            complete = e < m and w_all[j + 1] - w_all[j] > 1e-6
            if complete:
                G, R = got[:, j:e + 1], ref[:, j:e + 1]
                worst = max(worst, float((G @ G.T - R @ R.T).abs().max()))
                if e == j:
                    top = ref[:, j].abs().sort(descending=True).values
                    if n < 2 or float(top[0] - top[1]) > 1e-6:
                        worst = max(worst, float((got[:, j] - ref[:, j]).abs().max()))
            j = e + 1
    return worst


def run(args) -> list[dict]:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    adjs_cpu = make_dataset(args.graphs, seed=args.seed)
    adjs = [a.to(device) for a in adjs_cpu]
    sizes = np.array([a.shape[0] for a in adjs])
    batches = [adjs[i:i + args.batch] for i in range(0, len(adjs), args.batch)]
    common = dict(device=str(device), threads=args.threads, graphs=len(adjs), batch=args.batch,
                  mean_nodes=float(sizes.mean()), min_nodes=int(sizes.min()), max_nodes=int(sizes.max()))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    records = []
    check = adjs_cpu[: args.check]
    for dtype in (torch.float64, torch.float32):
        dname = str(dtype).replace("torch.", "")

        def lap():
            for b in batches:
                batched_laplacian_pe(b, 8, dtype=dtype)
            sync()

        def rw():
            for b in batches:
                batched_random_walk_pe(b, 16, dtype=dtype)
            sync()

        print(f"[{dname}] batched LapPE ...", file=sys.stderr)
        t = _timeit(lap, args.repeats)
        pe, mask = batched_laplacian_pe([a.to(device) for a in check], 8, dtype=dtype)
        err = _lappe_error(pe.cpu(), check, 8)
        records.append(dict(case="lappe_batched", dtype=dname, k=8, seconds=t, graphs_per_s=len(adjs) / t,
                            target_graphs_per_s=TARGETS["lappe_batched"],
                            meets_target=len(adjs) / t >= TARGETS["lappe_batched"],
                            max_abs_error_vs_float64_pergraph=err, **common))
        print(f"[{dname}] batched RWPE ...", file=sys.stderr)
        t = _timeit(rw, args.repeats)
        rwb, _ = batched_random_walk_pe([a.to(device) for a in check], 16, dtype=dtype)
        err = max(float((rwb[b, :a.shape[0]].cpu().double() - random_walk_pe(a, 16, device="cpu")).abs().max())
                  for b, a in enumerate(check))
        records.append(dict(case="rwpe_batched", dtype=dname, K=16, seconds=t, graphs_per_s=len(adjs) / t,
                            target_graphs_per_s=TARGETS["rwpe_batched"],
                            meets_target=len(adjs) / t >= TARGETS["rwpe_batched"],
                            max_abs_error_vs_float64_pergraph=err, **common))
    # per-graph baselines on a subset (slow)
    sub = adjs[: args.pergraph]
    for case, fn in (("lappe_pergraph", lambda a: laplacian_pe(a, 8)), ("rwpe_pergraph", lambda a: random_walk_pe(a, 16))):
        print(f"{case} ...", file=sys.stderr)
        t = _timeit(lambda: ([fn(a) for a in sub], sync()), 1)
        records.append(dict(case=case, dtype="float64", seconds=t, graphs_per_s=len(sub) / t,
                            **{**common, "graphs": len(sub), "batch": 1}))
    return records


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--graphs", type=int, default=8192)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pergraph", type=int, default=1000, help="graphs in the per-graph baseline")
    p.add_argument("--check", type=int, default=300, help="graphs checked against the float64 reference")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.graphs, args.repeats, args.pergraph, args.check = 2048, 1, 300, 100
    records = run(args)
    meta = dict(python=platform.python_version(), torch=torch.__version__, machine=platform.machine(),
                cpu_count=os.cpu_count())
    print(json.dumps({"meta": meta, "records": records}, indent=2))


if __name__ == "__main__":
    main()
