"""Server-side cost of opening a dashboard page (prints JSON).

For each registered dashboard: build the page for one session with its registry factory and
render it into a Bokeh ``Document`` (what ``panel serve`` does when a browser opens the page),
after one warm-up build (so the shared stages are filled, as on a warmed class server).  Reports
the median wall and CPU time of ``--repeats`` builds per dashboard (CPU time is the steadier
figure on a machine shared with other work).  Browser transfer and painting are not included.

    python benchmarks/page_build.py [--repeats 3] [--only heat_geodesics,eigenspace]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("SPECTRAL_EXPLORER_DEVICE", "cpu")

from bokeh.document import Document  # noqa: E402

from spectral_explorer.explorers import registry  # noqa: E402


def build_seconds(d) -> tuple[float, float]:
    """(wall, CPU) seconds of one page build: CPU time is the steadier figure on a shared machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    page = d.factory()
    page.server_doc(Document())
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", default="", help="comma-separated dashboard names (default: all)")
    args = p.parse_args(argv)
    import threadpoolctl

    threadpoolctl.threadpool_limits(1, user_api="blas")
    only = [s for s in args.only.split(",") if s]
    out = {}
    for d in registry.DASHBOARDS:
        if only and d.name not in only:
            continue
        first = build_seconds(d)
        runs = [build_seconds(d) for _ in range(args.repeats)]
        out[d.name] = {"first_s": round(first[0], 3), "median_s": round(statistics.median(r[0] for r in runs), 3),
                       "median_cpu_s": round(statistics.median(r[1] for r in runs), 3),
                       "runs_s": [round(r[0], 3) for r in runs]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
