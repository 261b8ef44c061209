"""Own points on the heat-geodesics dashboard (prints JSON): issue 22's heat targets.

(a) **large upload**: a 20,000 × 50 CSV (a 2-D manifold — random Fourier features of a unit
    square — in 50-D with noise, 8 significant digits; generated here with seed 0) is parsed by
    :func:`spectral_explorer.uploads.parse` (the page's upload parser) and handed to a rendered
    page's explorer, which embeds it with landmarks; target ≤ 30 s from bytes to updated plots.
(b) **t change on a 1,000-point upload**: the staged compute plus the HoloViews → Bokeh update
    of the visible plots (as ``benchmarks/app_latency.py`` measures the built-in data; the
    built-in swiss roll, n = 1000, is measured beside it); target ≤ 250 ms.
(c) **memory**: ``--sessions`` sessions (default 30) each build the page (rendered into a Bokeh
    ``Document``), upload a ~5 MB CSV (1,200 × 400) through the same parser, then close (Panel's
    cleanup of the rendered page, the explorer dropped, ``gc``, ``malloc_trim``); the process's
    RSS after the last close against the RSS after a warm-up session; target within 10 %.

    python benchmarks/own_data_heat.py [--sessions 30] [--skip-large]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import time

os.environ.setdefault("SPECTRAL_EXPLORER_DEVICE", "cpu")

import holoviews as hv  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import threadpoolctl  # noqa: E402
from bokeh.document import Document  # noqa: E402

from spectral_explorer import uploads  # noqa: E402
from spectral_explorer.explorers import HeatGeodesicExplorer  # noqa: E402
from spectral_explorer.explorers._common import _release_memory  # noqa: E402
from spectral_explorer.explorers.heat_geodesics import T_GRID  # noqa: E402


def manifold_csv(n: int, d: int, noise: float = 0.01, seed: int = 0) -> bytes:
    """A 2-D manifold in ``d`` dimensions: cos(W z + b) of z uniform in the unit square (random
    Fourier features, W ~ N(0, 2²)), plus Gaussian noise; CSV with a header, 8 significant digits."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.0, 1.0, (n, 2))
    W, b = rng.normal(0.0, 2.0, (2, d)), rng.uniform(0.0, 2 * np.pi, d)
    X = np.cos(z @ W + b) + noise * rng.normal(size=(n, d))
    buf = io.StringIO()
    np.savetxt(buf, X, fmt="%.8g", delimiter=",", header=",".join(f"f{i}" for i in range(d)), comments="")
    return buf.getvalue().encode()


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def page(ex):
    layout = ex.panel()
    root = layout.get_root(Document())
    return layout, root


def close(layout, root):
    """What Panel does when a served session closes: clean the rendered page, forget the view."""
    import panel as pn
    layout._cleanup(root)
    pn.state._views.pop(root.ref["id"], None)


def large(path=None):
    raw = manifold_csv(20_000, 50)
    if path:
        with open(path, "wb") as f:
            f.write(raw)
    ex = HeatGeodesicExplorer(threaded=False)
    layout, root = page(ex)
    t0 = time.perf_counter()
    obj = uploads.parse("points", "manifold_20000x50.csv", raw)
    parse_s = time.perf_counter() - t0
    ex._on_upload(obj, "manifold_20000x50.csv")
    total = time.perf_counter() - t0
    assert not ex.error, ex.error
    m = ex.metrics
    out = {"rows": 20_000, "features": 50, "file_mb": round(len(raw) / 2**20, 2), "parse_s": round(parse_s, 2),
           "embed_and_render_s": round(total - parse_s, 2), "total_s": round(total, 2), "target_s": 30,
           "landmarks": m["landmarks"], "stages_s": {k: round(v, 2) for k, v in ex.timings.items()},
           "trustworthiness": round(m["trustworthiness"], 4), "knn_preservation": round(m["knn_preservation"], 4),
           "truth_free_points": m["truth_free_points"], "residual_variance": round(m["residual_variance"], 4)}
    close(layout, root)
    return out


def t_change(ex, repeats):
    ts = [t for t in T_GRID if 5 <= t <= 200][: repeats + 1]
    samples, computes = [], []
    for t in ts[1:]:
        s = time.perf_counter()
        ex.t = t
        samples.append(time.perf_counter() - s)
        computes.append(ex.timings.get("total", 0.0))
    assert not ex.error, ex.error
    return {"t_change_ms_median": round(1000 * statistics.median(samples), 1),
            "t_change_ms_all": [round(1000 * s, 1) for s in samples],
            "t_change_compute_ms_median": round(1000 * statistics.median(computes), 1),
            "stages_ms_last": {k: round(1000 * v, 1) for k, v in ex.timings.items()}}


def small(repeats):
    raw = manifold_csv(1000, 10, seed=1)
    ex = HeatGeodesicExplorer(threaded=False)
    layout, root = page(ex)
    ex._on_upload(uploads.parse("points", "manifold_1000x10.csv", raw), "manifold_1000x10.csv")
    upload = t_change(ex, repeats)
    close(layout, root)
    ref = HeatGeodesicExplorer(n=1000, threaded=False)
    layout, root = page(ref)
    built_in = t_change(ref, repeats)
    close(layout, root)
    return {"upload_1000x10": upload, "built_in_swiss_roll_1000": built_in, "target_ms": 250}


def memory(sessions):
    raw = manifold_csv(1200, 400, seed=2)

    def session():
        ex = HeatGeodesicExplorer(threaded=False)
        layout, root = page(ex)
        ex._on_upload(uploads.parse("points", "session.csv", raw), "session.csv")
        assert not ex.error, ex.error
        close(layout, root)
        del ex, layout, root
        gc.collect()
        _release_memory()

    start = rss_mb()
    session()                               # warm-up: imports, Bokeh models, the shared built-in stages
    warm = rss_mb()
    trace = []
    for _ in range(sessions):
        session()
        trace.append(round(rss_mb(), 1))
    end = rss_mb()
    return {"sessions": sessions, "file_mb": round(len(raw) / 2**20, 2), "rows": 1200, "features": 400,
            "rss_before_warmup_mb": round(start, 1), "rss_after_warmup_mb": round(warm, 1),
            "rss_end_mb": round(end, 1), "rss_peak_trace_mb": max(trace),
            "rss_change_pct": round(100 * (end - warm) / warm, 1), "target_pct": 10,
            "rss_trace_mb": trace}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--blas-threads", type=int, default=1, help="as apps/heat_geodesics.py sets (default 1)")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--write-csv", default=None, help="also write the 20,000 × 50 CSV to this path")
    args = p.parse_args(argv)
    threadpoolctl.threadpool_limits(args.blas_threads, user_api="blas")
    hv.extension("bokeh", logo=False)
    out = {"cpu_count": os.cpu_count(), "blas_threads": args.blas_threads}
    out["memory"] = memory(args.sessions)      # first: the process is still small
    print(json.dumps(out["memory"]), file=sys.stderr, flush=True)
    out["t_change"] = small(args.repeats)
    print(json.dumps(out["t_change"]), file=sys.stderr, flush=True)
    if not args.skip_large:
        out["large_upload"] = large(args.write_csv)
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
