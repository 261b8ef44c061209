"""The Householder study: the ellipse world's factors read back in closed form, the scores on known
effect matrices, one tiny seed of the protocol, the verdict's logic, the face projector."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spectral_explorer import householder as hh
from spectral_explorer import householder_study as hs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_factors_are_read_back_from_the_images():
    g = torch.Generator().manual_seed(5)
    F = hs.sample_factors(300, g)
    err = (hs.read_factors(hs.render_ellipses(F)) - F).abs().max(0).values / hs.factor_std()
    assert (err < torch.tensor([0.03, 0.03, 0.1, 0.08], dtype=err.dtype)).all(), err
    # a hand-made ellipse: centre, size and angle as drawn
    f = torch.tensor([[0.4, 0.6, 0.2, math.pi / 6]], dtype=torch.float64)
    got = hs.read_factors(hs.render_ellipses(f, size=96))[0]
    torch.testing.assert_close(got, f[0], atol=5e-3, rtol=0)


def test_scores_of_known_effect_matrices():
    ideal = hs.disentanglement_scores(np.eye(4))
    assert ideal["purity"] == pytest.approx(1.0) and ideal["dci_d"] == pytest.approx(1.0)
    assert ideal["dci_c"] == pytest.approx(1.0) and ideal["coverage"] == 1.0
    flat = hs.disentanglement_scores(np.ones((4, 4)))
    assert flat["purity"] == pytest.approx(0.25) and flat["dci_d"] == pytest.approx(0.0, abs=1e-9)
    same = hs.disentanglement_scores(np.array([[1.0, 0, 0, 0]] * 4))   # pure but all on one factor
    assert same["purity"] == pytest.approx(1.0) and same["coverage"] == 0.25
    assert same["dci_c"] == pytest.approx(0.25 * 0.0 + 0.0, abs=1e-6)


def test_one_tiny_seed_of_the_protocol():
    cfg = dict(hs.STUDY_CONFIGS["quick"], pretrain=30, finetune=5, paper_finetune=2, bases=4)
    rows = hs.run_seed(0, cfg)
    by = {r["variant"]: r for r in rows}
    assert set(by) == {"pretrained linear", "rank-4 SVD, no fine-tune", "linear (fine-tuned)",
                       "householder equal S", "householder equal S, rotated", "householder fixed S",
                       "householder learned S", "householder equal S, SVD-read (reference code)",
                       "linear, 1 % fine-tune", hs.PAPER["variant"]}
    assert set(hs.CONTROLS) <= set(by) and set(hs.CONTROLS.values()) <= set(by)
    rot, eq = by["householder equal S, rotated"], by["householder equal S"]
    assert rot["rel_weight_change"] < 1e-5 and rot["mse"] == eq["mse"]
    assert rot["mean_abs_cos_to_unrotated"] < 0.999
    svd = by["householder equal S, SVD-read (reference code)"]      # the same model, read another way
    assert svd["mse"] == eq["mse"] and 0 <= svd["mean_abs_cos_to_frame"] <= 1 + 1e-6
    for r in rows:
        assert np.asarray(r["E"]).shape == (4, 4) and 0.25 - 1e-9 <= r["purity"] <= 1.0
        if r["orth_error"] is not None:
            assert r["orth_error"] < 1e-5          # float32 frames


def test_svd_directions_are_a_basis_of_the_equal_s_row_space():
    """The reference code's reading, torch.svd(weight).V: for exactly equal S some orthonormal basis of
    the row space of P = s U Vᵀ (the frame's span), for distinct S the frame's columns up to sign."""
    W = torch.randn(30, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    eq = hh.HouseholderProjector.from_weight(W, 4, singular_values="equal")
    d = hs.svd_directions(eq.double(), 4).double()
    V = eq.frame_v().detach()
    assert torch.allclose(d @ d.T, torch.eye(4, dtype=d.dtype), atol=1e-6)          # float32 rows
    assert float((d - (d @ V) @ V.T).norm()) < 1e-5                                 # inside span(V_r)
    fixed = hh.HouseholderProjector.from_weight(W, 4, singular_values="fixed")
    cos = (hs.svd_directions(fixed, 4).double() @ fixed.frame_v().detach()).abs()
    assert torch.allclose(torch.diagonal(cos), torch.ones(4, dtype=cos.dtype), atol=1e-5)


def test_paired_differences_and_the_noise_rule():
    rows = [{"seed": s, "variant": v, "purity": p} for s, ps in enumerate(
        [(0.40, 0.45, 0.41), (0.50, 0.56, 0.49), (0.30, 0.34, 0.33)]) for v, p in zip(
        ("linear (fine-tuned)", "householder equal S", "householder fixed S"), ps)]
    out = hs.paired_differences(rows)
    eq = out["householder equal S"]
    assert eq["control"] == "linear (fine-tuned)" and eq["diffs"] == [0.05, 0.06, 0.04]
    assert eq["mean"] == pytest.approx(0.05) and eq["std"] == pytest.approx(0.01)
    assert not eq["within_noise"]                       # every seed up, mean 0.05 > 2 · 0.01/√3
    fx = out["householder fixed S"]                     # +0.01, −0.01, +0.03: not all the same sign
    assert fx["within_noise"]
    assert hs.within_noise([0.05]) and hs.within_noise([0.1, -0.1]) and not hs.within_noise([0.1, 0.12])
    assert hs.within_noise([0.1, 0.12, 0.14]) is False and hs.within_noise([0.01, 0.2, 0.4]) is True   # 2·se = 0.23
    summary = {r["variant"]: r for r in hs.summarise([dict(r, dci_d=0, dci_c=0, coverage=0, mse=0, factor_rmse=0)
                                                      for r in rows])}
    assert summary["householder equal S"]["purity_diff"] == pytest.approx(0.05)
    assert summary["householder equal S"]["purity_diff_within_noise"] is False
    assert "control" not in summary["linear (fine-tuned)"]


def test_verdict_names_what_the_numbers_say():
    from spectral_explorer.reproduce.householder import verdict

    variants = ("linear (fine-tuned)", "householder equal S", "householder fixed S", "householder learned S",
                "householder equal S, rotated")

    def seeds(*per_variant):
        return [{"seed": s, "variant": v, "purity": p} for v, ps in zip(variants, per_variant)
                for s, p in enumerate(ps)]

    def run(rows):
        return verdict(hs.summarise([dict(r, dci_d=0, dci_c=0, coverage=0, mse=0, factor_rmse=0) for r in rows]), rows)

    up = run(seeds((0.40, 0.50, 0.30), (0.45, 0.56, 0.34), (0.455, 0.566, 0.344), (0.455, 0.566, 0.344),
                   (0.40, 0.58, 0.30)))
    assert "both fine-tuned the same steps: higher (paired difference +0.050" in up
    assert "against equal S: both the same to within 0.01" in up        # +0.005 on every seed: real but tiny
    assert "rotated scores 0.427 ± 0.142 at identical fidelity: the same within the seeds' noise" in up
    down = run(seeds((0.40, 0.50, 0.30), (0.35, 0.44, 0.26), (0.36, 0.45, 0.27), (0.35, 0.44, 0.26),
                     (0.35, 0.44, 0.26)))
    assert "fine-tuned the same steps: lower" in down
    noise = run(seeds((0.40, 0.50, 0.30), (0.45, 0.44, 0.33), (0.45, 0.44, 0.33), (0.45, 0.44, 0.33),
                      (0.45, 0.44, 0.33)))
    assert "fine-tuned the same steps: the same within the seeds' noise" in noise
    # from the summary alone (no per-seed rows) a gap under two standard deviations is noise
    summary_only = verdict(hs.summarise([dict(r, dci_d=0, dci_c=0, coverage=0, mse=0, factor_rmse=0)
                                         for r in seeds((0.40, 0.50, 0.30), (0.45, 0.56, 0.34), (0.45, 0.56, 0.34),
                                                        (0.45, 0.56, 0.34), (0.40, 0.58, 0.30))]))
    assert "fine-tuned the same steps: the same within the seeds' noise." in summary_only


def test_face_projector_at_full_rank_reproduces_the_generator():
    from spectral_explorer.face_dcgan import face_dcgan, sample_latents

    gan = face_dcgan("cpu")
    z = sample_latents(2, seed=1)
    exact = hs.image_fidelity(gan, hs.face_projector(gan, 100, "learned"), z)
    assert exact["psnr_db"] > 60
    low = hs.image_fidelity(gan, hs.face_projector(gan, 5, "learned"), z)
    assert low["psnr_db"] < exact["psnr_db"]


def test_reproduce_target_is_registered():
    from spectral_explorer import cli

    assert cli.REPRODUCE_TARGETS["householder"] == "householder"
