"""Your own generator in the latent-directions and Householder explorers (issue 22): generators the
project never saw (a random nn.Sequential, a plain callable), checked against independent
computations; bad generators; session privacy; table() and as_code() (run in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from spectral_explorer.explorers._common import SHARED_STAGES
from spectral_explorer.explorers.householder import HouseholderExplorer
from spectral_explorer.explorers.latent_directions import LatentDirectionsExplorer
from spectral_explorer.generators import UserGenerator

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REPO = Path(__file__).resolve().parents[1]


def rgb16(latent=16, seed=0):
    """z (B, latent) → (B, 3, 16, 16) in [-1, 1]: Linear → Unflatten → ConvTranspose ×2 → Tanh."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(latent, 128 * 4 * 4), nn.Unflatten(1, (128, 4, 4)), nn.ReLU(),
                         nn.ConvTranspose2d(128, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 3, 4, 2, 1),
                         nn.Tanh()).eval()


def gray8_callable(latent=6, seed=1):
    """A plain callable (not a module): z (B, latent) → (B, 1, 8, 8) in [0, 1]."""
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(latent, 32 * 2 * 2), nn.Unflatten(1, (32, 2, 2)), nn.LeakyReLU(0.2),
                         nn.ConvTranspose2d(32, 1, 4, 4)).eval()

    def G(z):
        return torch.sigmoid(body(z))
    return G, body


def numpy_sefa(A, k, normalize):
    A = np.asarray(A, dtype=np.float64)
    if normalize:
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
    w, V = np.linalg.eigh(A.T @ A)
    V = V[:, np.argsort(w)[::-1][:k]].T
    idx = np.abs(V).argmax(1)
    return V * np.sign(V[np.arange(k), idx])[:, None], np.sort(w)[::-1][:k]


@pytest.mark.parametrize("normalize", [True, False])
def test_sefa_on_a_user_generator_is_the_top_eigenvectors_of_its_first_layer(normalize):
    G = rgb16()
    ex = LatentDirectionsExplorer.from_generator(G, 16, first_layer="0", sefa_normalize=normalize, k=6)
    D = ex.directions
    assert D.shape == (6, 16)
    ref, ev = numpy_sefa(G[0].weight.detach().numpy(), 6, normalize)
    np.testing.assert_allclose(D, ref, atol=1e-5)
    np.testing.assert_allclose(D @ D.T, np.eye(6), atol=1e-5)          # orthonormal rows
    t = ex.table()
    assert list(t.columns[:4]) == ["direction", "method", "eigenvalue", "sigma"]
    assert list(t.columns[4:]) == [f"d{j}" for j in range(16)] and t.shape == (6, 20)
    np.testing.assert_allclose(t["eigenvalue"], ev, rtol=1e-5)
    np.testing.assert_allclose(t[[f"d{j}" for j in range(16)]].to_numpy(), D)
    assert ex.error == ""


def test_the_first_layer_is_found_and_the_same_as_named():
    G = rgb16()
    found = LatentDirectionsExplorer.from_generator(G, 16)
    assert found._user.first_layer_name == "0" and found._user.features_name == "2"   # ReLU after the Linear
    np.testing.assert_array_equal(found.directions, LatentDirectionsExplorer.from_generator(G, 16, "0").directions)
    # the layer object itself works as a name too
    np.testing.assert_array_equal(found.directions,
                                  LatentDirectionsExplorer.from_generator(G, 16, first_layer=G[0]).directions)


def test_a_plain_callable_generator_gray_8x8():
    G, body = gray8_callable()
    ex = LatentDirectionsExplorer.from_generator(G, 6)
    u = ex._user
    assert u.image_shape == (1, 8, 8) and u.value_range == (0.0, 1.0)     # sigmoid: shown as [0, 1]
    assert u.first_layer_name == "body.0" and u.features_name == "body.2"
    ref, _ = numpy_sefa(body[0].weight.detach().numpy(), 5, True)
    np.testing.assert_allclose(ex.directions, ref, atol=1e-5)
    ex.n_samples = 1000
    ex.method = "ganspace"
    assert ex.error == "" and ex.directions.shape == (5, 6)
    # GANSpace PCA of the first block: its components are the eigenvectors of the features' covariance
    z = torch.randn(20000, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        F = torch.nn.functional.leaky_relu(body[0](z), 0.2).double().numpy()
    w, V = np.linalg.eigh(np.cov(F.T))
    res = ex._directions()
    ratio = np.sort(w)[::-1][:3] / w.sum()
    np.testing.assert_allclose(res["spectrum"][:3], ratio, rtol=0.1)
    for view in ("view_face", "view_strip", "view_spectrum"):
        getattr(ex, view)()
    assert ex.error == ""
    assert ex.k == 5 and ex.param.k.bounds == (1, 6)


def test_a_callable_with_no_module_in_reach_works_with_ganspace_on_the_images():
    W = torch.randn(6, 64, generator=torch.Generator().manual_seed(0))

    def G(z):
        return torch.tanh(z @ W).reshape(-1, 1, 8, 8)
    with pytest.raises(ValueError, match="no nn.Linear or nn.ConvTranspose2d of G reads z"):
        LatentDirectionsExplorer.from_generator(G, 6)
    ex = LatentDirectionsExplorer.from_generator(G, 6, method="ganspace", n_samples=1000, k=3)
    assert ex.param.method.objects == ["ganspace"] and ex._user.features_name == "images"
    assert ex.error == "" and ex.directions.shape == (3, 6)


def test_jacobian_directions_agree_with_an_independent_full_jacobian():
    G = rgb16(latent=8, seed=2)
    ex = LatentDirectionsExplorer.from_generator(G, 8, seed=5)
    ex.view = "jacobian"
    ex.compute_jacobian()
    V = ex.directions
    z = ex._z()
    J = torch.autograd.functional.jacobian(lambda v: G(v[None])[0].reshape(-1), z).detach().double().numpy()
    _, S, Vh = np.linalg.svd(J, full_matrices=False)
    cos = np.abs(np.sum(V * Vh[:3], axis=1))
    assert np.all(cos > 0.999), cos
    np.testing.assert_allclose(ex._jacobian()["singular_values"], S[:3], rtol=1e-3)
    t = ex.table()
    assert list(t.columns[:4]) == ["direction", "method", "seed", "singular_value"] and t.shape == (3, 12)
    assert all(p.grad is None for p in G.parameters())      # nothing written into the user's model
    ex.view_jacobian()
    assert ex.error == "" and "singular values of ∂G/∂z" in ex.jacobian_markdown()


def test_the_page_of_a_user_generator_says_the_h_space_tab_is_the_digits_model():
    import panel as pn

    G = rgb16().double()                     # a float64 generator works too
    ex = LatentDirectionsExplorer.from_generator(G, 16)
    page = ex.panel()
    texts = " ".join(str(m.object) for m in page.select(pn.pane.Markdown))
    assert "not your generator" in texts
    md = ex.face_markdown()
    assert "your generator" in md and "3 × 16 × 16" in md and "\\[\\-1, 1\\]" in md
    tabs = page.select(pn.Tabs)[0]
    tabs.active = 1
    assert ex.view == "jacobian" and ex.error == "" and ex.directions.shape == (3, 16)
    assert "not your generator" not in " ".join(str(m.object) for m in LatentDirectionsExplorer().panel()
                                                .select(pn.pane.Markdown))


def _nan_G(z):
    return torch.full((z.shape[0], 3, 4, 4), float("nan"))


@pytest.mark.parametrize("G, dim, kw, match", [
    (lambda z: z.reshape(z.shape[0], -1), 6, {}, r"must return images \(B, C, H, W\); got shape \(16, 6\)"),
    (lambda z: z.reshape(-1, 2, 3, 1), 6, {}, "1 or 3 channels"),
    (_nan_G, 6, {}, "NaN or infinite"),
    (rgb16(), 12, {}, r"G failed on latents of shape \(16, 12\) \(latent_dim=12\)"),
    (rgb16(), 16, {"first_layer": "3"}, r"first_layer '3' \(ConvTranspose2d, weight \(128, 32, 4, 4\)\) reads 128 "
                                       "inputs, but latent_dim is 16"),
    (rgb16(), 16, {"first_layer": "2"}, "must be an nn.Linear or nn.ConvTranspose2d; got ReLU"),
    (rgb16(), 16, {"first_layer": "nope"}, "'nope' is not a module of G"),
    (nn.Sequential(nn.Linear(4, 48), nn.Dropout(0.5), nn.Unflatten(1, (3, 4, 4))), 4, {}, r"call G.eval\(\)"),
    ("not callable", 4, {}, "must be a torch.nn.Module or a callable"),
])
def test_bad_generators_are_refused_with_a_message(G, dim, kw, match):
    for cls in (LatentDirectionsExplorer, HouseholderExplorer):
        with pytest.raises(ValueError, match=match):
            cls.from_generator(G, dim, **kw)


def test_householder_needs_a_layer_reading_z():
    with pytest.raises(ValueError, match="reads z"):
        HouseholderExplorer.from_generator(lambda z: torch.tanh(z).reshape(-1, 1, 2, 2), 4)


def test_a_user_generator_never_enters_the_cross_session_cache():
    LatentDirectionsExplorer()            # the shipped DCGAN: its stages are shared
    keys = set(SHARED_STAGES._values)
    assert any(k[0] == "LatentDirectionsExplorer" for k in keys)
    ex = LatentDirectionsExplorer.from_generator(rgb16(), 16, n_samples=1000)
    ex.method = "ganspace"
    ex.compute_jacobian()
    hh = HouseholderExplorer.from_generator(rgb16(), 16, face_steps=2)
    hh.open_faces()
    hh.compute_sweep()
    assert ex.user_data and hh.user_data and ex.error == "" and hh.error == ""
    assert set(SHARED_STAGES._values) == keys


def test_the_shipped_dcgan_through_from_generator_gives_the_built_in_numbers():
    from spectral_explorer.face_dcgan import face_dcgan
    built = LatentDirectionsExplorer(n_samples=1000, k=4)
    mine = LatentDirectionsExplorer.from_generator(face_dcgan("cpu"), 100, n_samples=1000, k=4)
    assert mine._user.first_layer_name == "main.0" and mine._user.features_name == "main.2"
    np.testing.assert_allclose(mine.directions, built.directions, atol=1e-5)
    built.method = mine.method = "ganspace"
    np.testing.assert_allclose(mine.directions, built.directions, atol=2e-4)
    np.testing.assert_allclose(mine.table()["explained_variance_ratio"], built.table()["explained_variance_ratio"],
                               rtol=1e-4)


def test_householder_faces_on_a_user_generator():
    G = rgb16(latent=8, seed=4)
    state = {k: v.clone() for k, v in G.state_dict().items()}
    hh = HouseholderExplorer.from_generator(G, 8, face_steps=5, face_sv="learned")
    assert hh.param.face_rank.objects == [1, 2, 4, 5, 8] and hh.face_rank == 8
    hh.open_faces()
    f = hh._face()
    assert f["before"]["rmse"] < 1e-5          # full rank, the layer's own singular values: the same generator
    hh.face_rank = 2
    f = hh._face()
    assert f["before"]["rmse"] > 1e-3 and len(f["losses"]) == 5
    hh.view = "faces"
    t = hh.table()
    assert list(t.columns) == ["rank", "singular_values", "steps", "rmse_before", "psnr_before", "rmse_after",
                               "psnr_after"] and t.shape == (1, 7)
    hh.view_faces()
    assert hh.error == ""
    assert all(p.grad is None for p in G.parameters())
    assert all(torch.equal(state[k], v) for k, v in G.state_dict().items())


def _run(fresh_python, *codes: str):
    """Run each script in a fresh process of its own (tests/_fresh.py), in the repository's folder;
    their ``result``s (a dict as it is, anything else as an array)."""
    res = []
    for code in codes:
        r = fresh_python.run(code, REPO)[0]
        res.append(r if isinstance(r, dict) else np.asarray(r))
    return res if len(codes) > 1 else res[0]


def test_latent_as_code_reproduces_the_shipped_dcgan_directions(fresh_python):
    ex = LatentDirectionsExplorer(k=3, sefa_normalize=False, n_samples=1000, gs_seed=2, seed=9)
    codes, want = [ex.as_code()], [ex.directions]
    ex.method = "ganspace"
    codes.append(ex.as_code())
    want.append(ex.directions)
    ex.view = "jacobian"
    ex.compute_jacobian()
    codes.append(ex.as_code())
    want.append(ex.directions)
    ex.n_h_samples = 32
    ex.view = "hspace"
    ex.open_hspace()
    t = ex.table()
    assert list(t.columns) == ["step", "pc1", "pc2", "pc3"] and t.shape == (25, 4)
    codes.append(ex.as_code())
    want.append(t[["pc1", "pc2", "pc3"]].to_numpy())
    for got, w, tol in zip(_run(fresh_python, *codes), want, (1e-5, 1e-5, 1e-4, 1e-5)):
        np.testing.assert_allclose(got, w, atol=tol)


def test_latent_as_code_for_a_user_generator_says_where_G_comes_from_and_runs_with_it(fresh_python):
    ex = LatentDirectionsExplorer.from_generator(rgb16(), 16, k=4)
    code = ex.as_code()
    assert "G = ...  # your generator" in code and "first_layer='0'" in code
    make = ("import torch\nfrom torch import nn\ntorch.manual_seed(0)\nG = nn.Sequential(nn.Linear(16, 2048), "
            "nn.Unflatten(1, (128, 4, 4)), nn.ReLU(), nn.ConvTranspose2d(128, 32, 4, 2, 1), nn.ReLU(), "
            "nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.Tanh()).eval()")
    lines = [make if ln.startswith("G = ...") else ln for ln in code.splitlines()]
    np.testing.assert_allclose(_run(fresh_python, "\n".join(lines)), ex.directions, atol=1e-5)


def test_householder_table_and_as_code_per_view(fresh_python):
    hh = HouseholderExplorer(m1=12.0, m2=-50.0, s1=2.0, rank=3, pretrain_steps=20, finetune_steps=5, train_seed=3,
                             face_rank=5, face_steps=3)
    mirrors = hh.table()                                  # the mirrors view
    assert list(mirrors.columns) == ["matrix", "m11", "m12", "m21", "m22"]
    assert list(mirrors.matrix) == ["H1", "H1H2", "P"]
    codes = [hh.as_code()]

    hh.view = "train"
    hh.start(block=True)
    t = hh.table()
    assert list(t.columns) == ["phase", "step", "loss", "orth", "s1", "s2", "s3"]
    assert set(t.phase) == {"pretrain", "finetune"} and t.step.is_monotonic_increasing
    assert t[t.phase == "finetune"].orth.notna().all()
    codes.append(hh.as_code())

    hh.view = "faces"
    hh.open_faces()
    faces = hh.table()
    codes.append(hh.as_code())
    r, d, got = _run(fresh_python, *codes)
    r = np.asarray(r)
    np.testing.assert_allclose(r[0], mirrors.iloc[1, 1:].to_numpy(float).reshape(2, 2), atol=1e-12)
    np.testing.assert_allclose(r[1], mirrors.iloc[2, 1:].to_numpy(float).reshape(2, 2), atol=1e-12)
    np.testing.assert_allclose(d, hh._after()["directions"].numpy(), atol=1e-5)
    for k in ("rmse_before", "psnr_before", "rmse_after", "psnr_after"):
        assert got[k] == pytest.approx(float(faces[k].iloc[0]), rel=1e-5)
