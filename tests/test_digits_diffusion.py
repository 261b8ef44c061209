"""The digits diffusion model, its shipped checkpoint, h-space tools and the attribute classifier."""

import numpy as np
import pytest
import torch

from spectral_explorer import digits_diffusion as dd
from spectral_explorer import latent_directions as ld


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    return dd.load_digits_diffusion(device="cpu")


@pytest.fixture(scope="module")
def capture(model):
    return ld.hspace_capture(model, n=48, seed=0, n_steps=10, batch_size=24)


def test_checkpoint_is_small_and_records_how_it_was_made():
    assert dd.CHECKPOINT.is_file() and dd.CHECKPOINT.stat().st_size <= 5 * 2 ** 20
    info = dd.checkpoint_info()
    for key in ("seed", "steps", "batch_size", "final_loss", "seconds", "torch", "command", "loss_curve"):
        assert key in info, key
    assert info["final_loss"] < 0.5 * info["loss_curve"][0]
    assert "spectral_explorer.digits_diffusion" in info["command"]


def test_checkpoint_loads_offline_and_samples_deterministically(model):
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    a = dd.ddim_sample(model, n=4, n_steps=25, seed=3)["x0"]
    b = dd.ddim_sample(model, n=4, n_steps=25, seed=3)["x0"]
    assert a.shape == (4, 1, 16, 16) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, dd.ddim_sample(model, n=4, n_steps=25, seed=4)["x0"])


def test_sampling_on_cuda_matches_cpu(model):
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    gpu = dd.load_digits_diffusion(device="cuda")
    # PyTorch runs cuDNN convolutions in TF32 by default (10-bit mantissa), which over 10 DDIM
    # steps moves pixels by up to ~0.1: the CUDA path itself is compared in full float32
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        a = dd.ddim_sample(gpu, n=4, n_steps=10, seed=2)["x0"].cpu()
    torch.testing.assert_close(a, dd.ddim_sample(model, n=4, n_steps=10, seed=2)["x0"], rtol=0, atol=2e-3)
    cap = ld.hspace_capture(gpu, n=8, seed=0, n_steps=5)
    assert cap["h"].device.type == "cpu" and cap["h"].shape[:2] == (5, 8)


def test_samples_look_like_digits(model):
    """The classifier, trained on real digits, is fairly confident on the samples (median top
    probability 0.93 on real held-out digits, about 0.7 on samples of this small model), several
    classes occur and the ink matches the data's."""
    predict, acc = dd.digit_classifier()
    assert acc >= 0.95
    x = dd.ddim_sample(model, n=48, n_steps=25, seed=0)["x0"]
    labels, p = predict(x)
    assert np.median(p.max(1)) > 0.5
    assert len(set(labels.tolist())) >= 6
    real_ink = dd.ink(dd.digits_images()[0]).mean()
    assert abs(float(dd.ink(x).mean() - real_ink)) < 0.1


def test_a_few_training_steps_lower_the_loss():
    torch.manual_seed(0)
    net = dd.DigitsUNet(channels=8)
    x, _ = dd.digits_images()
    g = torch.Generator().manual_seed(1)

    def held_out():
        return dd.diffusion_loss(net, x[:256], generator=torch.Generator().manual_seed(99)).item()

    before = held_out()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(25):
        loss = dd.diffusion_loss(net, x[torch.randint(0, len(x), (64,), generator=g)], generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert held_out() < 0.7 * before


def test_training_function_reports_its_record():
    net, rec = dd.train_digits_diffusion(steps=3, batch_size=8, channels=8, log_every=1)
    assert rec["steps"] == 3 and len(rec["loss_curve"]) == 3 and rec["final_loss"] == rec["loss_curve"][-1]
    assert not net.training


def test_checkpoint_round_trip(tmp_path):
    net = dd.DigitsUNet(channels=8)
    path = dd.save_checkpoint(net, {"seed": 5, "channels": 8, "final_loss": 0.1}, tmp_path / "m.safetensors")
    assert dd.checkpoint_info(path) == {"seed": 5, "channels": 8, "final_loss": 0.1}
    back = dd.load_digits_diffusion(path)
    t = torch.tensor([500])
    x = torch.randn(1, 1, 16, 16)
    torch.testing.assert_close(back(x, t), net.eval()(x, t))


def test_capture_holds_the_bottleneck_of_every_step(model, capture):
    H = capture["h"]
    assert model.h_shape == (96, 4, 4)          # the shipped checkpoint's h, as the module docstring says
    assert H.shape == (10, 48, int(np.prod(model.h_shape)))
    # the captured h is what the encoder gives at that step: re-run step 0 by hand
    t0 = capture["timesteps"][0]
    h0 = model.encode(capture["x_T"][:3], torch.full((3,), t0))[0].flatten(1)
    torch.testing.assert_close(H[0, :3], h0, rtol=1e-5, atol=1e-5)


def test_hspace_pca_per_timestep_and_trajectory(capture):
    H = capture["h"]
    pca = ld.hspace_pca(H, k=3, mode="per_timestep")
    assert pca["components"].shape == (10, 3, H.shape[2])
    for s in (0, 9):
        X = (H[s] - H[s].mean(0)).double().numpy()
        _, sv, Vt = np.linalg.svd(X, full_matrices=False)   # covariance eigenpairs: σ²/(n−1), rows of Vt
        np.testing.assert_allclose(pca["sigmas"][s].numpy() ** 2, sv[:3] ** 2 / (len(X) - 1), rtol=1e-4)
        np.testing.assert_allclose(np.abs(pca["components"][s].numpy() @ Vt[:3].T), np.eye(3), atol=1e-3)
    # signs aligned along the trajectory
    dots = (pca["components"][1:] * pca["components"][:-1]).sum(-1)
    assert (dots >= 0).all()
    traj = ld.hspace_pca(H, k=2, mode="trajectory")
    flat = traj["components"].permute(1, 0, 2).reshape(2, -1)
    torch.testing.assert_close(flat @ flat.T, torch.eye(2), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="mode"):
        ld.hspace_pca(H, mode="global")


def test_h_edits_windows_and_zero_edits(model, capture):
    xT = capture["x_T"][:4]
    base = dd.ddim_sample(model, x_T=xT, n_steps=10)["x0"]
    zero = ld.hspace_edit(model, xT, torch.zeros(capture["h"].shape[2]), n_steps=10)
    torch.testing.assert_close(zero, base)
    pca = ld.hspace_pca(capture["h"], k=1)
    delta = 3 * pca["sigmas"][:, :1] * pca["components"][:, 0]
    full = ld.hspace_edit(model, xT, delta, n_steps=10)
    late = ld.hspace_edit(model, xT, delta, n_steps=10, window=(8, 9))
    assert (full - base).abs().mean() > (late - base).abs().mean() > 0
    # the asymmetric reverse process (default) moves the image more than editing both DDIM terms
    both = ld.hspace_edit(model, xT, delta, n_steps=10, asymmetric=False)
    assert (full - base).abs().mean() > (both - base).abs().mean()
    with pytest.raises(ValueError, match="window"):
        ld.hspace_edit(model, xT, delta, n_steps=10, window=(5, 12))


def test_eps_h_jacobian_power_iteration_matches_exact(model, capture):
    xT = capture["x_T"][:1]
    V, S, info = ld.eps_h_jacobian(model, xT, step=5, n_steps=10, k=3, tol=1e-8, n_iter=200)
    Ve, Se, _ = ld.eps_h_jacobian(model, xT, step=5, n_steps=10, k=4, method="exact")
    assert (Se[:3] / Se[1:4] > 1.01).all(), Se   # separated
    torch.testing.assert_close(S, Se[:3], rtol=1e-4, atol=0)
    assert ((V @ Ve[:3].T).abs().diagonal() > 0.999).all()


def test_supervised_direction_and_projection(capture):
    H = capture["h"]
    labels = np.arange(H.shape[1]) % 2
    d = ld.supervised_direction(H, labels, 0, 1)
    torch.testing.assert_close(d, H[:, 1::2].mean(1) - H[:, 0::2].mean(1), rtol=1e-5, atol=1e-5)
    other = ld.supervised_direction(H, (np.arange(H.shape[1]) // 2) % 2, 0, 1)
    p = ld.remove_direction(d, other)
    assert (p * other).sum(-1).abs().max() < 1e-3 * d.norm(dim=-1).max() * other.norm(dim=-1).max()
    with pytest.raises(ValueError, match="both classes"):
        ld.supervised_direction(H, labels, 0, 5)


def test_slant_and_ink_measure_what_they_say():
    img = -torch.ones(1, 1, 16, 16)
    for r in range(16):   # a stroke leaning right: top on the right
        img[0, 0, r, 11 - r // 2] = 1
    assert float(dd.slant(img)) > 0.3
    assert float(dd.slant(img.flip(-1))) < -0.3
    # the value is the least-squares slope of the column against the height (rows count downward)
    rows, cols = np.nonzero(img[0, 0].numpy() > 0)
    assert float(dd.slant(img)) == pytest.approx(np.polyfit(-rows, cols, 1)[0], rel=1e-5)
    assert float(dd.ink(img)) == pytest.approx(16 / 256)
