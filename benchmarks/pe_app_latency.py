"""Server-side latency of the positional-encodings dashboard (prints JSON).

Measures what a served session does when the eigenvector ``index`` (or the rotation angle)
changes: the explorer's cheap stages (the eigendecomposition is cached) plus the HoloViews →
Bokeh update of every plot on the visible tab (the layout is rendered into a Bokeh
``Document`` with Panel's ``get_root``, as ``panel serve`` does).  Browser transfer and
painting are not included.

    python benchmarks/pe_app_latency.py [--graphs cycle karate_club les_miserables grid] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("SPECTRAL_EXPLORER_DEVICE", "cpu")

import holoviews as hv  # noqa: E402
import threadpoolctl  # noqa: E402
from bokeh.document import Document  # noqa: E402

from spectral_explorer.explorers import PositionalEncodingExplorer  # noqa: E402


def _measure(ex, name, values):
    samples = []
    for v in values:
        s = time.perf_counter()
        setattr(ex, name, v)  # watchers: cheap stages, then the plots update
        samples.append(time.perf_counter() - s)
    return samples


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", nargs="+", default=["cycle", "karate_club", "les_miserables", "grid"])
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args(argv)
    threadpoolctl.threadpool_limits(1, user_api="blas")
    hv.extension("bokeh", logo=False)

    t0 = time.perf_counter()
    ex = PositionalEncodingExplorer()
    layout = ex.panel()
    layout.get_root(Document())
    first = time.perf_counter() - t0
    out = {"first_render_s": round(first, 3), "graphs": {}}
    for g in args.graphs:
        t = time.perf_counter()
        ex.graph = g
        switch = time.perf_counter() - t
        eig_before = ex.stage_counts.get("eig", 0)
        n = ex.eigenpairs[0].size
        idx = [1 + (i % max(1, min(n - 1, 12))) for i in range(1, args.repeats + 1)]
        idx = [i if i != ex.index else (i % (n - 1)) + 1 for i in idx]
        samples = _measure(ex, "index", idx)
        angles = _measure(ex, "angle", [float(15 * (i + 1)) for i in range(args.repeats)])
        assert not ex.error, ex.error
        out["graphs"][g] = {
            "n": int(n),
            "graph_switch_ms": round(1000 * switch, 1),
            "index_change_ms_median": round(1000 * statistics.median(samples), 1),
            "index_change_ms_max": round(1000 * max(samples), 1),
            "angle_change_ms_median": round(1000 * statistics.median(angles), 1),
            "eig_recomputed_on_index_change": ex.stage_counts.get("eig", 0) - eig_before,
        }
        ex.angle = 0.0
    out["index_change_ms_median_worst_graph"] = max(v["index_change_ms_median"] for v in out["graphs"].values())
    out["target_ms"] = 100
    out["cpu_count"] = os.cpu_count()
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
