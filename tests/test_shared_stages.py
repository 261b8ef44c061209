"""Stages shared across sessions: built once per parameters, bounded, never mutated, and
never keeping a closed session alive."""

from __future__ import annotations

import gc
import hashlib
import threading
import time
import weakref

import holoviews as hv
import numpy as np

from spectral_explorer.explorers import HeatGeodesicExplorer, PositionalEncodingExplorer
from spectral_explorer.explorers._common import SHARED_STAGES, SharedResults, nbytes
from spectral_explorer.explorers.eigenspace import EigenspaceExplorer

hv.extension("bokeh", logo=False)

HEAT = dict(n=200, knn=6, compare=["shortest_path"], threaded=False)


def test_a_second_session_with_the_same_parameters_builds_nothing():
    a = HeatGeodesicExplorer(**HEAT)
    b = HeatGeodesicExplorer(**HEAT)
    assert {"data", "graph", "distances", "embedding", "metrics", "compare:shortest_path"} <= set(a.stage_counts)
    assert b.stage_counts == {} and {"data", "graph", "distances"} <= set(b.shared_hits) <= set(a.stage_counts)
    assert b._cache["distances"][1] is a._cache["distances"][1]
    # per-session state stays per session: moving t in one leaves the other alone
    b.t = 12.0
    assert b.stage_counts == {"distances": 1, "embedding": 1, "metrics": 1}
    assert a.t == HeatGeodesicExplorer.param.t.default and a._cache["distances"][0] != b._cache["distances"][0]
    a.t = 12.0   # now a hit for a: the t stages are touched (timings) but not rebuilt
    assert "distances" in a.timings and a.stage_counts["distances"] == 1
    assert a.embedding is b.embedding


def test_pe_and_eigenspace_share_their_stages():
    a, b = PositionalEncodingExplorer(graph="cycle", n=12), PositionalEncodingExplorer(graph="cycle", n=12)
    assert a.stage_counts["eig"] == 1 and "eig" not in b.stage_counts and b.shared_hits["eig"] == 1
    a.index = 3
    b.index = 3
    assert "encoding" not in b.stage_counts and b.shared_hits["encoding"] == 2
    assert b._cache["encoding"][1] is a._cache["encoding"][1]
    e1, e2 = EigenspaceExplorer(), EigenspaceExplorer()
    assert e1.stage_counts["toy"] == 1 and "toy" not in e2.stage_counts
    assert e2.toy_errors == e1.toy_errors


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("SPECTRAL_EXPLORER_SHARED_CACHE", "0")
    a = PositionalEncodingExplorer(graph="cycle", n=12)
    b = PositionalEncodingExplorer(graph="cycle", n=12)
    assert a.stage_counts == b.stage_counts and b.stage_counts["eig"] == 1 and b.shared_hits == {}
    assert len(SHARED_STAGES) == 0


def _digest(value, out=None, path=""):
    out = {} if out is None else out
    if isinstance(value, np.ndarray):
        out[path] = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()
    elif isinstance(value, dict):
        for k, v in value.items():
            _digest(v, out, f"{path}/{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _digest(v, out, f"{path}/{i}")
    elif hasattr(value, "__dict__") and not callable(value):
        _digest(vars(value), out, path)
    return out


def test_views_never_mutate_shared_values():
    ex = HeatGeodesicExplorer(**HEAT)
    pe = PositionalEncodingExplorer(graph="cycle", n=12, index=2, angle=30.0, flip_sign=True)
    for v in (ex.view_data, ex.view_embeddings, ex.view_heat, ex.view_spectrum, ex.view_distances,
              ex.view_numerics):
        hv.render(v(), backend="bokeh")
    before = {k: _digest(v) for k, v in SHARED_STAGES._values.items()}
    for v in (ex.view_data, ex.view_embeddings, ex.view_heat, ex.view_spectrum, ex.view_distances,
              ex.view_numerics, pe.view_graph, pe.view_spectrum, pe.view_projector, pe.view_sinusoidal):
        hv.render(v(), backend="bokeh")
    ex.source = 7
    pe.index = 3
    _ = ex.metrics, pe.projector, pe.cycle_comparison
    after = {k: _digest(SHARED_STAGES._values[k]) for k in before if k in SHARED_STAGES}
    assert after == {k: before[k] for k in after} and len(after) > 10


def test_a_closed_session_is_not_kept_alive_by_the_cache():
    ex = HeatGeodesicExplorer(**HEAT)
    plot = hv.renderer("bokeh").get_plot(ex.view_heat())
    ex.panel()
    plot.cleanup()   # what a served page does when its session closes (frees the tap callbacks)
    ref = weakref.ref(ex)
    del ex, plot
    gc.collect()
    assert ref() is None and len(SHARED_STAGES) > 0


def test_lru_bounds_per_group_and_by_bytes():
    cache = SharedResults(maxsize=2, max_bytes=3 * 8000, group=lambda k: k[0])
    for i in range(3):
        cache.get(("a", i), lambda: np.zeros(1000))
    assert [k for k in cache._values] == [("a", 1), ("a", 2)]
    cache.get(("b", 0), lambda: np.zeros(1000))
    cache.get(("b", 1), lambda: np.zeros(1000))   # 4 arrays > 3 x 8000 bytes: the oldest goes
    assert list(cache._values) == [("a", 2), ("b", 0), ("b", 1)] and cache.bytes == 24000
    big = cache.get(("c", 0), lambda: np.zeros(10_000))   # larger than the budget: returned, not kept
    assert big.size == 10_000 and ("c", 0) not in cache
    assert nbytes({"x": [np.zeros(10), (np.zeros(5, dtype=np.float32),)]}) == 100


def test_concurrent_sessions_build_once():
    cache = SharedResults(maxsize=4)
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.2)
        return object()
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", build))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1 and cache.hits == 5


def test_a_failed_build_is_not_cached_and_reports_in_each_session():
    a = HeatGeodesicExplorer(n=150, knn=5, compare=[], threaded=False)
    b = HeatGeodesicExplorer(n=150, knn=5, compare=[], threaded=False)
    a.knn = 180
    b.knn = 180
    assert "knn must be smaller" in a.error and "knn must be smaller" in b.error


def test_warming_at_server_start_leaves_the_first_session_nothing_to_build(monkeypatch, caplog):
    from spectral_explorer.explorers import registry

    def failing():
        raise ValueError("no data")

    dashboards = [registry.Dashboard("broken", "Broken", "", "none.png", lambda: None, failing),
                  registry.Dashboard("heat", "Heat", "", "none.png", lambda: None,
                                     lambda: HeatGeodesicExplorer(**HEAT))]
    thread = registry.warm_shared_stages(dashboards)
    thread.join(120)
    assert not thread.is_alive()
    assert "warming broken failed" in caplog.text   # logged, not raised: the next one still warmed
    first = HeatGeodesicExplorer(**HEAT)
    assert first.stage_counts == {}
    assert {"data", "graph", "distances", "embedding", "metrics", "compare:shortest_path"} <= set(first.shared_hits)
    # every registered dashboard warms its defaults; none when the shared cache is off
    assert all(d.warm is not None for d in registry.DASHBOARDS)
    monkeypatch.setenv("SPECTRAL_EXPLORER_SHARED_CACHE", "0")
    assert registry.warm_shared_stages(dashboards) is None
