"""Server-side latency of the heat-geodesics dashboard (prints JSON).

Measures what a served session does when a widget changes: the explorer's staged compute
plus the HoloViews → Bokeh update of every plot on the visible tab (the layout is rendered
into a Bokeh ``Document`` with Panel's ``get_root``, as ``panel serve`` does).  Browser
transfer and painting are not included.

    python benchmarks/app_latency.py [--n 2000] [--repeats 5]
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

from spectral_explorer.explorers import HeatGeodesicExplorer  # noqa: E402
from spectral_explorer.explorers.heat_geodesics import T_GRID  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--blas-threads", type=int, default=1, help="as apps/heat_geodesics.py sets (default 1)")
    args = p.parse_args(argv)
    threadpoolctl.threadpool_limits(args.blas_threads, user_api="blas")
    hv.extension("bokeh", logo=False)

    t0 = time.perf_counter()
    ex = HeatGeodesicExplorer(n=args.n, threaded=False)
    compute_first = time.perf_counter() - t0
    first_stages = dict(ex.timings)
    layout = ex.panel()
    t1 = time.perf_counter()
    layout.get_root(Document())
    render_first = time.perf_counter() - t1

    ts = [t for t in T_GRID if 5 <= t <= 200][: args.repeats + 1]
    samples, stages = [], []
    for t in ts[1:]:
        s = time.perf_counter()
        ex.t = t  # watchers: compute the t-dependent stages, then update the plots
        samples.append(time.perf_counter() - s)
        stages.append(dict(ex.timings))
    assert not ex.error, ex.error
    out = {
        "n": args.n,
        "landmarks": ex.metrics["landmarks"],
        "blas_threads": args.blas_threads,
        "first_compute_s": round(compute_first, 4),
        "first_render_s": round(render_first, 4),
        "first_total_s": round(compute_first + render_first, 4),
        "first_stages_s": {k: round(v, 4) for k, v in first_stages.items()},
        "t_change_ms_median": round(1000 * statistics.median(samples), 1),
        "t_change_ms_min": round(1000 * min(samples), 1),
        "t_change_ms_all": [round(1000 * s, 1) for s in samples],
        "t_change_compute_ms_median": round(1000 * statistics.median(s["total"] for s in stages), 1),
        "t_change_stages_ms_last": {k: round(1000 * v, 1) for k, v in stages[-1].items()},
        "target_ms": 250,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
