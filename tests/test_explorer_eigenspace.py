"""EigenspaceExplorer: the 2-D toy (EoRA ≤ SVD, = the independent optimum), staged caching of
the MiniLM stages (rank changes never recollect Grams), views render, bad input is reported."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from spectral_explorer.explorers import EigenspaceExplorer
from spectral_explorer.explorers.eigenspace import LAYER_NAMES

hv.extension("bokeh", logo=False)


def _optimum(X, dW):
    """min over rank-1 M of ‖X(ΔW − M)ᵀ‖_F: the 2nd singular value of ΔW C^½ (numpy only)."""
    w, V = np.linalg.eigh(X.T @ X)
    half = V @ np.diag(np.sqrt(np.clip(w, 0, None))) @ V.T
    return np.linalg.svd(dW @ half, compute_uv=False)[1]


@pytest.mark.parametrize("anisotropy, angle, seed", [(1.0, 0.0, 0), (8.0, 30.0, 0), (50.0, 120.0, 3)])
def test_toy_eora_beats_svd_and_is_optimal(anisotropy, angle, seed):
    ex = EigenspaceExplorer(anisotropy=anisotropy, toy_angle=angle, toy_seed=seed)
    assert ex.error == ""
    e = ex.toy_errors
    t = ex.toy_result()
    assert e["EoRA"] <= e["SVD"] + 1e-9 <= e["none"] + 1e-9
    assert e["EoRA"] == pytest.approx(_optimum(t["X"], t["dW"]), rel=1e-9)
    direct = np.linalg.norm(t["residuals"]["EoRA"])  # ‖X(ΔW − BA)ᵀ‖_F from the residuals
    assert direct == pytest.approx(e["EoRA"], rel=1e-9)
    if anisotropy == 1.0:  # (nearly) isotropic samples: the weighting changes little
        assert e["EoRA"] == pytest.approx(e["SVD"], rel=0.05)
    else:
        assert e["EoRA"] < 0.9 * e["SVD"]
        assert t["plain"]["EoRA"] >= t["plain"]["SVD"] - 1e-12  # SVD is best in the plain norm


def test_toy_stage_and_views():
    ex = EigenspaceExplorer()
    hv.render(ex.view_toy())
    before = ex.toy_markdown()
    ex.anisotropy = 20.0
    assert ex.stage_counts["toy"] == 2 and ex.toy_markdown() != before
    ex.toy_seed = ex.toy_seed  # unchanged value: no recomputation
    assert ex.stage_counts["toy"] == 2
    assert "model" not in ex.stage_counts  # MiniLM is loaded only on demand
    ex.panel()


@pytest.fixture(scope="module")
def minilm_explorer():
    pytest.importorskip("transformers")
    ex = EigenspaceExplorer(minilm=True, n_calib=4, n_heldout=4, max_length=16, rank=8)
    if "not installed" in ex.error:  # pragma: no cover
        pytest.skip(ex.error)
    assert ex.error == ""
    return ex


def test_minilm_stages_and_rank_is_cheap(minilm_explorer):
    ex = minilm_explorer
    counts = dict(ex.stage_counts)
    assert counts["grams"] == 1 and counts["model"] == 1
    ex.rank = 32
    assert ex.stage_counts == counts, "changing the rank recomputed a stage"
    rc = ex._rank_curve()
    errs = rc["errors"]
    assert errs["SVD"][0] == pytest.approx(errs["EoRA"][0])  # rank 0: no correction either way
    assert errs["SVD"][-1] < 1e-6  # full rank: exact (EoRA only on the calibration span)
    assert all(np.diff(errs["SVD"]) <= 1e-12)
    ex.compression = "prune24"
    assert ex.stage_counts["grams"] == 1 and ex.stage_counts["delta"] == counts["delta"] + 1
    lay = ex._layer_errors()
    assert lay["EoRA"] <= lay["none"]
    ex.compression = "rtn3"


def test_layer_names_match_minilm_linears(minilm_explorer):
    from spectral_explorer.calibration import minilm_linear_names
    assert minilm_linear_names(minilm_explorer._model()[1]) == LAYER_NAMES


def test_minilm_views_render(minilm_explorer):
    ex = minilm_explorer
    for view in (ex.view_spectrum, ex.view_error_energy, ex.view_pissa):
        hv.render(view())
    assert "EoRA" in ex.layer_markdown() and "PiSSA" in ex.pissa_markdown()


def test_model_fidelity_vs_rank(minilm_explorer):
    """The fidelity curve covers MODEL_RANKS; a new rank only embeds (no new factorisation);
    another compression starts its own curve; the view renders."""
    from spectral_explorer.explorers.eigenspace import MODEL_RANKS
    ex = minilm_explorer
    ex.param.update(rank=8, compression="rtn3")
    assert ex.fidelity_table is None and ex.fidelity_curve is None
    table = ex.run_fidelity()
    assert ex.error == ""
    assert list(table.index) == ["none", "SVD", "EoRA"]
    curve = ex.fidelity_curve
    for m in ("SVD", "EoRA"):
        assert sorted(curve.loc[curve["method"] == m, "rank"]) == sorted(MODEL_RANKS)
    eora = curve[curve["method"] == "EoRA"].set_index("rank")["mean cosine"]
    none = float(curve.loc[curve["method"] == "none", "mean cosine"].iloc[0])
    assert eora[128] > none and eora[128] > eora[4]
    assert ((curve["mean cosine"] > -1) & (curve["mean cosine"] <= 1 + 1e-9)).all()
    factorised = {k for k in ex._fid_state["cache"] if k[0] == "factors"}
    ex.rank = 20
    assert ex.fidelity_table is None  # not computed yet
    ex.run_fidelity()
    assert list(ex.fidelity_table.index) == ["none", "SVD", "EoRA"]
    assert len(ex.fidelity_curve) == len(curve) + 2
    assert {k for k in ex._fid_state["cache"] if k[0] == "factors"} == factorised
    assert ex._fid_state["cache"][("factors", "rtn3", "eora", tuple(LAYER_NAMES))][0] == 128
    view = ex.fidelity_view()
    hv.render(view[0].object)
    ex.compression = "rtn4"
    assert ex.fidelity_curve is None
    ex.param.update(rank=8, compression="rtn3")


def test_bad_input_shows_error_and_recovers(minilm_explorer):
    ex = minilm_explorer
    alert = ex.error_alert()
    ex.param.update(n_calib=1500, n_heldout=1500)
    assert "exceeds" in ex.error and "3000" in ex.error
    assert alert.visible and "3000" in alert.object
    ex.param.update(n_calib=4, n_heldout=4)
    assert ex.error == "" and not alert.visible
    assert ex.stage_counts["grams"] == 1  # the old split's Grams are still cached


def test_shared_results_build_once_and_evict():
    """Sessions asking for the same key at once share one build; the LRU keeps maxsize values."""
    import threading
    import time

    from spectral_explorer.explorers._common import SharedResults
    shared = SharedResults(maxsize=2)
    calls = []

    def build(key):
        def fn():
            calls.append(key)
            time.sleep(0.2)
            return [key]
        return fn

    out = []
    threads = [threading.Thread(target=lambda: out.append(shared.get("a", build("a")))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"] and all(v is out[0] for v in out)
    shared.get("b", build("b"))
    shared.get("a", build("a"))      # a is now the most recent
    shared.get("c", build("c"))      # evicts b
    assert calls == ["a", "b", "c"]
    shared.get("a", build("a"))
    shared.get("b", build("b"))
    assert calls == ["a", "b", "c", "b"]
    with pytest.raises(RuntimeError):
        shared.get("d", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert shared.get("d", build("d")) == ["d"]  # a failed build leaves nothing behind


def test_sessions_share_grams(minilm_explorer):
    other = EigenspaceExplorer(minilm=True, n_calib=4, n_heldout=4, max_length=16, rank=8)
    assert other.error == ""
    assert other._grams() is minilm_explorer._grams()


def test_spectrum_plot_leaves_out_round_off():
    """A Gram from fewer samples than features has rank = samples; the rest is round-off and
    is not drawn (it would show as a cliff to 1e-30)."""
    from spectral_explorer import eigenspace as es
    from spectral_explorer.viz.eigenspace import gram_spectrum_plot
    X = np.random.default_rng(0).standard_normal((7, 20))
    evals, _ = es.gram_eigh(X.T @ X)
    spec = gram_spectrum_plot(evals.numpy(), es.energy_captured(evals).numpy()).Curve.I
    assert len(spec) == 7 and "7 of 20 non-zero" in spec.opts.get().kwargs["title"]
    np.testing.assert_allclose(spec.dimension_values(1), np.linalg.svd(X, compute_uv=False) ** 2, rtol=1e-10)
    hv.render(gram_spectrum_plot(evals.numpy(), es.energy_captured(evals).numpy(), k=3))


def test_cancelled_fidelity_job_stops_within_a_second_and_the_explorer_stays_usable(minilm_explorer):
    """The real fidelity computation in a worker thread: a cancel lands between layers or
    embedding batches, nothing half-computed is published, and the next run completes."""
    import time

    ex = minilm_explorer
    ex.param.update(rank=8, compression="rtn4")
    job = ex.run("fidelity", ex._compute_fidelity, background=True)
    time.sleep(1.0)
    assert not job.done.is_set(), "the job finished before it could be cancelled"
    t0 = time.perf_counter()
    ex.cancel("fidelity", wait=True)
    assert time.perf_counter() - t0 < 1.0 and job.done.is_set()
    ex.wait("fidelity")
    assert "stopped" in ex.status and ex.error == "" and not ex.busy
    assert ex.fidelity_table is None            # the cancelled run published no rows
    table = ex.run_fidelity()
    assert list(table.index) == ["none", "SVD", "EoRA"]
    ex.param.update(rank=8, compression="rtn3")


def test_tour_numbers_are_what_the_explorer_computes():
    """Every number of the eigenspace tour, recomputed by applying its steps; step 5's statements
    about scaling also on toys the tour does not show (other seeds and angles)."""
    from spectral_explorer import eigenspace as es
    from spectral_explorer.data import anisotropic_toy
    from spectral_explorer.explorers._tour import load_tour

    steps = load_tour("eigenspace")
    ex = EigenspaceExplorer(threaded=False)

    def errs(n):
        ex.apply_tour_step(n)
        t = ex.toy_result()
        return {k: float(v) for k, v in t["errors"].items()}, {k: float(v) for k, v in t["plain"].items()}, t

    e, p, _ = errs(1)
    assert all(s in steps[0].answer for s in (f"{p['SVD']:.2f}", f"{p['EoRA']:.2f}", f"{p['none']:.2f}",
                                              f"{e['EoRA']:.1f}", f"{e['SVD']:.1f}", f"{e['none']:.1f}"))
    e, _, t = errs(2)
    assert all(s in steps[1].answer for s in (f"{e['EoRA']:.3f}", f"{e['SVD']:.3f}", f"{e['none']:.1f}",
                                              f"{t['evals'][0]:.0f} and {t['evals'][1]:.0f}"))
    e, _, _ = errs(3)
    assert all(s in steps[2].answer for s in (f"{e['SVD']:.1f}", f"{e['EoRA']:.1f}", f"{e['SVD'] / e['EoRA']:.0f}"))
    e, _, _ = errs(4)
    assert all(s in steps[3].answer for s in (f"{e['EoRA']:.1f}", f"{e['SVD']:.1f}", f"{e['none']:.1f}"))
    errs(5)
    sw, ans = ex._toy_sweep()["errors"], steps[4].answer
    share = {a: sw[a]["EoRA"] / sw[a]["none"] for a in (1.0, 100.0)}
    assert f"{100 * share[1.0]:.0f} %" in ans and f"{100 * share[100.0]:.2f} %" in ans
    svd_share = [sw[a]["SVD"] / sw[a]["none"] for a in sw]
    assert f"{100 * min(svd_share):.0f}–{100 * max(svd_share):.0f} %" in ans
    assert all(f"{sw[a]['SVD'] / sw[a]['EoRA']:.1f} at {a:g}" in ans for a in (4.0, 8.0, 32.0, 100.0))
    assert f"from {sw[1.0]['EoRA']:.1f} to {sw[100.0]['EoRA']:.1f}" in ans
    assert f"from {sw[1.0]['none']:.0f} to {sw[100.0]['none']:.0f}" in ans
    # the short axis held at 1 (standard deviations a and 1): same shares, EoRA's error rises
    short1 = {a: es.toy_compensation(anisotropic_toy(300, a, 30.0, 0)[0] * np.sqrt(a), anisotropic_toy(300, a, 30.0, 0)[1])
              ["errors"] for a in (1.0, 100.0)}
    assert f"from {float(short1[1.0]['EoRA']):.1f} to {float(short1[100.0]['EoRA']):.1f}" in ans
    # on toys the tour does not show: the shares are scale-free, the rank-1 formula holds
    for seed, angle in ((1, 70.0), (5, 150.0)):
        for a in (3.0, 40.0):
            X, dW = anisotropic_toy(200, a, angle, seed)
            e1, e2 = (es.toy_compensation(Y, dW)["errors"] for Y in (X, 7.0 * X))
            assert float(e2["EoRA"] / e2["none"]) == pytest.approx(float(e1["EoRA"] / e1["none"]), rel=1e-9)
            C = X.T @ X
            w, V = np.linalg.eigh(C)
            s1 = np.linalg.svd(dW @ V @ np.diag(np.sqrt(w)) @ V.T, compute_uv=False)[0]
            assert float(e1["EoRA"]) == pytest.approx(abs(np.linalg.det(dW)) * np.sqrt(np.linalg.det(C)) / s1, rel=1e-9)
    assert type(ex.view_anisotropy()).__name__ == "Layout" and ex.error == ""
