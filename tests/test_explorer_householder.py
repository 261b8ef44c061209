"""HouseholderExplorer: the mirror stage alone reruns on a slider, its frames are the products of the
reflections, a short live training streams records and keeps the frames orthonormal, the rotation
leaves the map unchanged, bad input is rejected and views render."""

from __future__ import annotations

import math
import re

import holoviews as hv
import numpy as np
import pytest
import torch

from spectral_explorer import householder_study as hs
from spectral_explorer.explorers import HouseholderExplorer
from spectral_explorer.householder import orthogonality_error

hv.extension("bokeh", logo=False)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ex():
    return HouseholderExplorer(pretrain_steps=40, finetune_steps=10, rank=3)


def test_mirror_sliders_rerun_only_their_stage_and_frames_are_reflection_products(ex):
    ex.param.update(n_mirrors=2, m1=10.0, m2=55.0)
    ex.m2 = 70.0
    assert set(ex.timings) - {"total"} == {"mirrors"}
    m = ex._mirrors()
    # two mirrors at 10° and 70°: a rotation by twice the angle between them (-120° applied to e1 … )
    assert m["det"] == pytest.approx(1.0)
    assert abs(abs(m["angle"]) - 120.0) < 1e-9
    ex.n_mirrors = 1
    assert ex._mirrors()["det"] == pytest.approx(-1.0)
    assert "reflection" in ex.mirror_markdown()
    ex.s2 = 0.0
    assert ex._rsr()["rank"] == 1 and "rank 1" in ex.mirror_markdown()
    for view in (ex.view_mirrors(), ex.view_rsr()):
        hv.render(view)


def test_the_orthogonality_readout_is_orthogonality_error():
    """The page prints ‖QᵀQ − I‖₂ as orthogonality_error computes it (spectral norm), not the largest
    entry of QᵀQ − I (which the page printed before, and which differs at these angles)."""
    differ = 0
    for n, m1, m2 in ((1, 20.0, 65.0), (2, 10.0, 70.0), (1, 30.0, 65.0), (2, 30.0, 75.0)):
        ex = HouseholderExplorer(n_mirrors=n, m1=m1, m2=m2)
        m = ex._mirrors()
        Q = m["frames"][-1]
        assert m["orth"] == orthogonality_error(torch.from_numpy(Q))
        assert f"‖QᵀQ − I‖₂ = {m['orth']:.1e}" in ex.mirror_markdown()
        differ += f"{m['orth']:.1e}" != f"{np.abs(Q.T @ Q - np.eye(2)).max():.1e}"
    assert differ >= 1


#: the other settings a tour answer quotes, per step (step 6 compares distinct singular values)
_ALSO = {6: [dict(s1=1.5, s2=0.5), dict(s1=1.5, s2=0.5, u_angle=30.0, v_angle=-40.0)]}


def test_the_tours_answers_quote_what_the_page_prints():
    """Every matrix, angle, determinant and orthogonality error a Mirrors-tab step's answer quotes is
    what the page prints for that step's parameters (or for the settings it names)."""
    ex = HouseholderExplorer(threaded=False)
    checked = 0
    for i, step in enumerate(ex.tour_steps(), 1):
        if step.tab != "Mirrors and frames":
            continue
        ex.apply_tour_step(i)
        shown = [ex.mirror_markdown()]
        for extra in _ALSO.get(i, []):
            ex.param.update(**extra)
            shown.append(ex.mirror_markdown())
        shown = " ".join(shown).replace("-", "−")
        quoted = (re.findall(r"\[\[[^\]]+\], \[[^\]]+\]\]", step.answer)
                  + [f"angle of q₁ {a}.0°" for a in re.findall(r"(?:lands at|sits at) (−?\d+)°", step.answer)]
                  + [f"det {d}" for d in re.findall(r"det ([−+]1)", step.answer)])
        for q in quoted:
            assert q in shown, (i, q, shown)
        for bound in re.findall(r"prints round-off, under (1e[−-]?\d+)", step.answer):
            assert ex._mirrors()["orth"] < float(bound.replace("−", "-")), (i, ex.mirror_markdown())
            quoted.append(bound)
        checked += len(quoted)
    assert checked >= 10


def test_live_training_streams_keeps_orthonormal_frames_and_rotation_keeps_the_map(ex):
    ex.singular_values = "equal"
    ex.start(block=True)
    assert ex.error == ""
    phases = {r["phase"] for r in ex.history}
    assert phases == {"pretrain", "finetune"}
    fine = [r for r in ex.history if r["phase"] == "finetune"]
    assert all(r["orth"] < 1e-5 for r in fine) and all(len(r["s"]) == 3 for r in fine)
    t = ex.trained
    assert t["after"]["E"].shape == (3, 4) and t["after"]["grid"].shape == (3, 7, 1, 32, 32)
    for s in (t["before"]["scores"], t["after"]["scores"]):
        assert 0.25 <= s["purity"] <= 1.0
    ex.rotation = 40.0
    r = ex._rotated()
    assert r["dP"] < 1e-5                                   # same map …
    assert r["cos"] == pytest.approx(math.cos(math.radians(40.0)), abs=1e-4)   # … other first direction
    assert "the same map" in ex.rotation_markdown()
    for view in (ex.view_loss(), ex.view_orth(), ex.view_before_after(), ex.view_rotated()):
        hv.render(view)
    # the reference code's reading of the same map: another orthonormal basis of the frame's span
    d_svd, V = t["after_svd"]["directions"].double(), t["new"].first.frame_v().detach().double()
    assert float((d_svd - (d_svd @ V) @ V.T).norm()) < 1e-4
    ex.directions = "svd"
    assert ex._after() is t["after_svd"] and "directions read: svd" in ex.rotation_markdown()
    r = ex._rotated()
    assert r["dP"] < 1e-5 and r["scores"] == hs.disentanglement_scores(r["E"])
    hv.render(ex.view_before_after())
    ex.directions = "frame"


def test_rotation_with_distinct_s_changes_the_map():
    ex = HouseholderExplorer(pretrain_steps=30, finetune_steps=5, rank=2, singular_values="fixed")
    ex.start(block=True)
    ex.rotation = 60.0
    assert ex._rotated()["dP"] > 1e-3
    assert "a different map" in ex.rotation_markdown()


def test_bad_input_is_rejected_and_the_explorer_keeps_working(ex):
    ex.apply_url({"rank": 99, "m1": 45.0})
    assert "rank" in ex.error and ex.rank == 3
    assert ex.m1 == 45.0
    with pytest.raises(ValueError):
        ex.rank = 0


def test_faces_projector_fidelity_and_traversals():
    ex = HouseholderExplorer(face_rank=5, face_steps=3, face_sv="learned")
    ex.open_faces()
    assert ex.error == ""
    f = ex._face()
    assert f["proj"].rank == 5 and np.isfinite(f["after"]["psnr_db"])
    s = ex._face_strip()
    assert s["before"].shape == (3, 5, 3, 64, 64) and s["after"].shape == (3, 5, 3, 64, 64)
    # the projector's top directions start as the original layer's top singular vectors
    d = ex._face_strip()
    assert torch.isfinite(d["after"]).all()
    assert "PSNR" in ex.face_markdown()
    hv.render(ex.view_faces())


def test_fidelity_against_rank_sweep():
    ex = HouseholderExplorer(face_steps=1, face_sv="learned")
    ex.compute_sweep()
    assert ex.error == ""
    rows = ex.sweep_rows
    assert [r["rank"] for r in rows] == [5, 10, 20, 50, 100]
    before = [r["psnr_before"] for r in rows]
    assert before == sorted(before) and before[-1] > 60      # learned S from_weight: truncated SVD, exact at r = 100
    hv.render(ex.view_sweep())
