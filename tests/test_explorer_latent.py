"""LatentDirectionsExplorer: a slider re-renders only the face, the face equals the generator at the
edited latent, views render, the Jacobian and h-space stages compute on demand, bad input is
reported and the explorer keeps working."""

from __future__ import annotations

import holoviews as hv
import pytest
import torch

from spectral_explorer import latent_directions as ld
from spectral_explorer.explorers import LatentDirectionsExplorer
from spectral_explorer.face_dcgan import sample_latents

hv.extension("bokeh", logo=False)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ex():
    return LatentDirectionsExplorer(n_h_samples=40)


def test_a_slider_rerenders_only_the_face_and_the_face_is_the_edited_latent(ex):
    ex.param.update(method="sefa", seed=3, c1=0.0, c2=0.0)
    counts = dict(ex.stage_counts)
    ex.c2 = -1.5
    assert set(ex.timings) == {"face", "total"}
    assert ex.stage_counts["face"] == counts["face"] + 1 and ex.stage_counts["strip"] == counts["strip"]
    d, _ = ld.sefa_directions(ex._gan().sefa_weight, k=2)
    z = sample_latents(1, seed=3)[0] - 1.5 * d[1].float()
    with torch.no_grad():
        expected = ex._gan()(z[None])[0]
    torch.testing.assert_close(ex._face()["edited"], expected, rtol=1e-4, atol=1e-4)
    assert "c2 = -1.50σ" in ex.face_markdown()
    for view in (ex.view_face(), ex.view_strip(), ex.view_spectrum()):
        hv.render(view)
    assert ex.error == ""


def test_sefa_without_row_normalisation_uses_a_as_is(ex):
    ex.param.update(method="sefa", seed=3, c1=0.0, c2=0.0, c3=0.0, k=5)
    plain, ev = ld.sefa_directions(ex._gan().sefa_weight, k=8, normalize=False)
    ex.sefa_normalize = False
    try:
        torch.testing.assert_close(ex._directions()["directions"], plain.float())
        assert ex._directions()["spectrum"].tolist() == pytest.approx(ev.tolist())
        # the paper's objective: direction 1 maximises ‖A n‖ over unit n (eigenvalue = ‖A d₁‖²)
        A = ex._gan().sefa_weight.detach().double()
        assert float((A @ plain[0].double()).norm() ** 2) == pytest.approx(float(ev[0]), rel=1e-6)
        assert hv.render(ex.view_spectrum()).title.text == "SeFa: eigenvalues of AᵀA"
    finally:
        ex.sefa_normalize = True
    normed, _ = ld.sefa_directions(ex._gan().sefa_weight, k=8)
    torch.testing.assert_close(ex._directions()["directions"], normed.float())
    assert ex.error == ""


def _rendered(gan, z, dirs, coefs):
    with torch.no_grad():
        return gan((z + torch.as_tensor(coefs) @ dirs)[None])[0]


def test_the_face_and_the_grid_follow_the_sefa_normalisation_switch(ex):
    """Ticking ``sefa_normalize`` re-renders the face, its RMS figure and the traversal grid with
    the other variant's directions, not only the spectrum.  Seed 3, component 4 (directions 3 and 4
    of the two variants nearly exchange, so a stale face is far from the right one)."""
    ex.param.update(method="sefa", seed=3, c1=0.0, c2=0.0, c3=0.0, c4=2.0, c_random=0.0, k=5, strip_alpha=3.0)
    gan, z = ex._gan(), sample_latents(1, seed=3)[0]
    for normalize in (False, True, False):
        ex.sefa_normalize = normalize
        d, _ = ld.sefa_directions(gan.sefa_weight, k=5, normalize=normalize)
        edited = _rendered(gan, z, d.float(), [0.0, 0.0, 0.0, 2.0, 0.0])
        torch.testing.assert_close(ex._face()["edited"], edited, rtol=1e-4, atol=1e-4)
        rms = float((edited - _rendered(gan, z, d.float(), [0.0] * 5)).pow(2).mean().sqrt())
        assert f"RMS image change {rms:.4f}" in ex.face_markdown()
        grid = ex._strip()["images"]
        torch.testing.assert_close(grid[3, -1], _rendered(gan, z, d[3:4].float(), [3.0]), rtol=1e-4, atol=1e-4)
    # the two variants really give different faces here (else the test could not fail)
    plain, _ = ld.sefa_directions(gan.sefa_weight, k=5, normalize=False)
    normed, _ = ld.sefa_directions(gan.sefa_weight, k=5)
    gap = (_rendered(gan, z, plain[3:4].float(), [2.0]) - _rendered(gan, z, normed[3:4].float(), [2.0])).abs().max()
    assert gap > 0.1
    ex.sefa_normalize = True
    assert ex.error == ""


def test_the_grid_has_a_row_per_component_and_the_random_control(ex):
    ex.param.update(k=2, strip_alpha=2.0)
    s = ex._strip()
    assert s["images"].shape == (3, 7, 3, 64, 64)
    assert s["alphas"][0] == -2.0 and s["alphas"][-1] == 2.0
    ex.c_random = 1.0
    assert "random = +1.00σ" in ex.face_markdown()


def test_bad_url_values_are_reported_with_the_allowed_range(ex):
    ex.apply_url({"k": 99, "seed": 5, "method": "<b>x</b>"})
    assert "k in 1…8" in ex.error and "method one of sefa, ganspace" in ex.error
    assert ex.seed == 5 and "seed" not in ex.error.split("allowed")[1]
    ex.apply_url({"k": 3})
    assert ex.error == ""


def test_jacobian_tab(ex):
    ex.compute_jacobian()
    j = ex._jacobian()
    assert j["info"]["converged"] and len(j["singular_values"]) == 3
    assert (j["singular_values"][:-1] >= j["singular_values"][1:]).all()
    assert "singular values" in ex.jacobian_markdown()
    hv.render(ex.view_jacobian())


def test_hspace_tab_and_a_bad_window(ex):
    ex.open_hspace()
    assert ex.error == "", ex.error
    assert "classified as" in ex.supervised_markdown()
    for view in (ex.view_digit(), ex.view_h_variance(), ex.view_class_scores(), ex.view_supervised()):
        hv.render(view)
    before = ex._digit()["edited"].clone()
    ex.h1 = 2.0
    assert not torch.equal(ex._digit()["edited"], before)
    ex.param.update(window_start=20, window_end=10)
    assert "window_start (20) must be <= window_end (10)" in ex.error
    ex.window_end = 24
    assert ex.error == ""


def test_hspace_random_control_at_pc1s_length_and_at_its_own_sigma(ex):
    """The random control of h: a unit direction r; "pc1" steps it by PC 1's σ_t (the same ‖Δh_t‖
    as PC 1 at the same α), "own" by its own σ_t, std over the sampled digits of h_t·r — both
    recomputed here from the capture, and the edited digit is the sampler's with that Δh."""
    ex.open_hspace()
    ex.param.update(h1=0.0, h2=0.0, h3=0.0, h_random=0.0, window_start=0, window_end=24, h_mode="per_timestep")
    H, pca = ex._capture()["h"], ex._hpca()
    r = ld.random_directions(1, H.shape[2], seed=11)[0]
    own = torch.stack([(H[s] @ r).std() for s in range(H.shape[0])])
    pc1 = pca["sigmas"][:, 0]
    assert float((own / pc1).max()) < 0.5            # a random direction of h has a much smaller σ
    ex.h1 = 1.5
    d_pc1 = ex._digit()
    assert d_pc1["delta_norm"] == pytest.approx(1.5 * float(pc1.mean()), rel=1e-5)
    for length, steps in (("pc1", pc1), ("own", own)):
        ex.param.update(h1=0.0, h_random=1.5, h_random_length=length)
        d = ex._digit()
        assert d["delta_norm"] == pytest.approx(1.5 * float(steps.mean()), rel=1e-5)
        g = torch.Generator().manual_seed(int(ex.digit_seed))
        xT = torch.randn((1, 1, 16, 16), generator=g)
        expected = ld.hspace_edit(ex._diffusion(), xT, 1.5 * steps[:, None] * r[None])[0]
        torch.testing.assert_close(d["edited"], expected, rtol=1e-5, atol=1e-5)
        text = ex.digit_markdown()
        assert f"RMS image change {d['change']:.4f}" in text and "classified" in text
    assert "its own σ" in text
    ex.param.update(h_random=0.0, h_random_length="pc1")
    assert ex.error == ""


def test_every_number_of_the_tour_is_what_the_dashboard_computes():
    """Each step of the latent tour, applied as a class clicks through: the numbers its claim,
    question and answer quote are recomputed here (face RMS changes, eigenvalue ratios, GANSpace's
    spectrum and step lengths, the digit's classes, RMS changes and ‖Δh‖), and the per-face claims
    are checked on faces the tour was not written on."""
    ex = LatentDirectionsExplorer(threaded=False)
    steps = ex.tour_steps()
    text = [f"{s.claim} {s.question} {s.answer}" for s in steps]

    def face(n):
        ex.apply_tour_step(n)
        assert ex.error == "", (n, ex.error)
        return ex._face()["change"]

    gan = ex._gan()
    A = gan.sefa_weight.detach().double()
    d, ev = ld.sefa_directions(A, k=5)
    s1, rnd, minus, s5 = face(1), face(2), face(3), face(4)
    assert f"{s1:.3f}" in text[0] and f"{s1:.3f}" in text[1] and f"{s1:.3f}" in text[3]
    plain, _ = ld.sefa_directions(A, k=1, normalize=False)
    assert f"|cos| {float((d[0] @ plain[0]).abs()):.3f}" in text[0]
    assert f"RMS {rnd:.3f}" in text[1] and rnd < 0.5 * s1             # "less than half"
    assert f"{minus:.3f} at −3σ" in text[2]
    assert f"{s5:.3f}" in text[3] and s5 > s1                          # "slightly more than direction 1"
    assert f"from {ev[0]:.0f}" in text[3] and f"to {ev[4]:.0f}" in text[3]
    assert f"√({ev[4]:.0f}/{ev[0]:.0f}) = {float((ev[4] / ev[0]).sqrt()):.2f}" in text[3]
    assert f"‖A d₅‖/‖A d₁‖ = {float((A @ d[4]).norm() / (A @ d[0]).norm()):.2f}" in text[3]
    # the control and the asymmetry on other faces: a random direction changes less than SeFa 1
    for seed in (1, 2, 3, 4):
        ex.seed = seed
        ex.param.update(c1=3.0, c5=0.0, c_random=0.0)
        top = ex._face()["change"]
        ex.param.update(c1=0.0, c_random=3.0)
        assert ex._face()["change"] < top, seed

    gs_change = face(5)
    g = ex._directions()
    steps_len = (g["sigmas"] * g["directions"].norm(dim=1)).tolist()
    ratio = [f"{100 * r:.1f} %" for r in g["spectrum"][:3]]
    assert f"About a tenth: {ratio[0]}, then {ratio[1]} and {ratio[2]}" in text[4]
    assert f"σ₁ = {float(g['sigmas'][0]):.2f}" in text[4]
    assert f"‖u₁‖ = {float(g['directions'][0].norm()):.3f}" in text[4]
    assert ", ".join(f"{v:.2f}" for v in steps_len[:2]) + f" and {steps_len[2]:.2f}" in text[4]
    assert f"RMS {gs_change:.3f}" in text[4]

    ex.apply_tour_step(6)
    ex.open_hspace()
    digits = []
    for n in (6, 7, 8):
        ex.apply_tour_step(n)
        assert ex.error == "", (n, ex.error)
        digits.append(ex._digit())
    (c0, c_pc1), own, fair = digits[0]["classes"], digits[1], digits[2]
    assert c0 == 2 and f"reads a {c_pc1}" in text[5] and c_pc1 != c0
    assert f"RMS image change {digits[0]['change']:.3f}" in text[5]
    assert f"‖Δhₜ‖ = {digits[0]['delta_norm']:.2f}" in text[5]
    assert own["classes"] == (2, 2) and fair["classes"] == (2, 2)
    assert f"RMS {own['change']:.3f}" in text[6] and f"‖Δhₜ‖ = {own['delta_norm']:.2f}" in text[6]
    assert f"about {round(digits[0]['change'] / own['change'], -1):.0f} times less" in text[6]
    r = ex._h_random_direction()["length"]
    lo, hi = float((r["own"] / r["pc1"]).min()), float((r["own"] / r["pc1"]).max())
    assert f"{lo:.2f}–{hi:.2f} of PC 1's" in text[6]
    assert round(digits[0]["delta_norm"] / own["delta_norm"]) == 12 and "twelve times longer" in text[6]
    assert fair["delta_norm"] == pytest.approx(digits[0]["delta_norm"])
    assert f"RMS {fair['change']:.3f} against {digits[0]['change']:.3f}" in text[7]
