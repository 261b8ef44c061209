"""The Householder study: the ellipse world's factors read back in closed form, the scores on known
effect matrices, one tiny seed of the protocol, the verdict's logic, the face projector."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

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
    cfg = dict(hs.STUDY_CONFIGS["quick"], pretrain=30, finetune=5, bases=4)
    rows = hs.run_seed(0, cfg)
    by = {r["variant"]: r for r in rows}
    assert set(by) == {"pretrained linear", "rank-4 SVD, no fine-tune", "linear (fine-tuned)",
                       "householder equal S", "householder equal S, rotated", "householder fixed S",
                       "householder learned S"}
    rot, eq = by["householder equal S, rotated"], by["householder equal S"]
    assert rot["rel_weight_change"] < 1e-5 and rot["mse"] == eq["mse"]
    assert rot["mean_abs_cos_to_unrotated"] < 0.999
    for r in rows:
        assert np.asarray(r["E"]).shape == (4, 4) and 0.25 - 1e-9 <= r["purity"] <= 1.0
        if r["orth_error"] is not None:
            assert r["orth_error"] < 1e-5          # float32 frames


def test_verdict_names_what_the_numbers_say():
    from spectral_explorer.reproduce.householder import verdict

    def row(v, p, s=0.01):
        return {"variant": v, "purity": p, "purity_std": s}
    base = [row("linear (fine-tuned)", 0.40), row("householder fixed S", 0.46), row("householder learned S", 0.46),
            row("householder equal S, rotated", 0.42)]
    up = verdict(base + [row("householder equal S", 0.46)])
    assert up.startswith("Purity higher") and "not equal singular values" in up
    assert "make no difference" in verdict(base + [row("householder equal S", 0.45, 0.05)])
    flat = verdict(base + [row("householder equal S", 0.41)])
    assert flat.startswith("Not reproduced")


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
