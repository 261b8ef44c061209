"""Latent directions: SeFa, GANSpace, Jacobian directions, traversals, and the face DCGAN.

Each method is checked against an independent computation (numpy's eigh, an explicit PCA of
materialised samples, the closed form of a linear generator, the exact SVD of a Jacobian)."""

import numpy as np
import pytest
import torch

from spectral_explorer import (face_dcgan, ganspace_directions, jacobian_directions, sefa_directions,
                               streaming_pca, traversal_strip)
from spectral_explorer.face_dcgan import sample_latents
from spectral_explorer.latent_directions import (image_change_per_unit, random_directions, remove_direction,
                                                 traversal_latents)

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return face_dcgan("cpu")


# ----------------------------------------------------------------------------- SeFa
@pytest.mark.parametrize("normalize", [True, False])
def test_sefa_matches_numpy_eigh(normalize, device):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(300, 20)) * np.linspace(3, 0.2, 20)
    d, ev = sefa_directions(torch.tensor(A, device=device), k=6, normalize=normalize)
    An = A / np.linalg.norm(A, axis=1, keepdims=True) if normalize else A
    w, V = np.linalg.eigh(An.T @ An)
    w, V = w[::-1][:6], V[:, ::-1][:, :6]
    assert d.shape == (6, 20) and ev.shape == (6,) and d.device.type == device.type
    np.testing.assert_allclose(ev.cpu().numpy(), w, rtol=1e-10)
    np.testing.assert_allclose(np.abs(d.cpu().numpy() @ V), np.eye(6), atol=1e-8)  # same vectors up to sign
    D = d.cpu().numpy()
    assert (np.abs(D).argmax(1) == D.argmax(1)).all()  # deterministic signs: largest entry positive
    # the eigen-equation on the normalised AᵀA
    np.testing.assert_allclose(D @ (An.T @ An), ev.cpu().numpy()[:, None] * D, atol=1e-8 * w[0])


def test_sefa_on_the_dcgan(gan):
    W = gan.main[0].weight
    A = W.reshape(100, -1).T
    assert torch.equal(gan.sefa_weight, A)
    d, ev = sefa_directions(A, k=5)
    assert (ev[:-1] >= ev[1:]).all()
    torch.testing.assert_close(d @ d.T, torch.eye(5), atol=1e-5, rtol=0)
    An = (A / A.norm(dim=1, keepdim=True)).double()
    torch.testing.assert_close((An @ d.double().T).pow(2).sum(0), ev.double(), rtol=1e-5, atol=0)


def test_sefa_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        sefa_directions(torch.ones(3))
    with pytest.raises(ValueError, match="k must be <= 2"):
        sefa_directions(torch.ones(4, 2), k=3)
    with pytest.raises(ValueError, match="all-zero"):
        sefa_directions(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), k=1)
    with pytest.raises(ValueError, match="NaN"):
        sefa_directions(torch.tensor([[1.0, float("nan")]]), k=1)


# ----------------------------------------------------------------------------- GANSpace
def _linear_generator(D=40, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    P = torch.linalg.qr(torch.randn(D, d, generator=g, dtype=F64))[0]
    R = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=F64))[0]
    s = torch.tensor([8.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.7, 0.5], dtype=F64)[:d]
    return P @ torch.diag(s) @ R.T, P, s, R


def test_ganspace_recovers_a_linear_generators_pca():
    A, P, s, R = _linear_generator()
    res = ganspace_directions(lambda z: z.double() @ A.T, n_samples=20000, k=4, latent_dim=8, seed=3,
                              batch_size=1500, n_iter=3, oversample=4, device="cpu")
    # population truth: covariance A Aᵀ has eigenvectors P and eigenvalues s²; σ_j u_j = r_j
    cos_pc = (res.components @ P[:, :4]).abs().diagonal()
    assert (cos_pc > 0.995).all(), cos_pc
    np.testing.assert_allclose(res.sigmas.numpy(), s[:4].numpy(), rtol=0.03)
    scaled = res.sigmas[:, None] * res.directions
    cos_lat = torch.nn.functional.cosine_similarity(scaled, R[:, :4].T * torch.sign((scaled * R[:, :4].T).sum(1))[:, None])
    assert (cos_lat > 0.995).all(), cos_lat
    np.testing.assert_allclose(scaled.norm(dim=1).numpy(), 1.0, rtol=0.03)
    assert res.explained_ratio.sum() == pytest.approx(float((s[:4] ** 2).sum() / (s ** 2).sum()), rel=0.03)


def test_ganspace_one_sigma_step_has_the_length_of_the_scores_linear_correlation():
    """GANSpace's one-σ step σ_j u_j has length R_j: the correlation between component j's score
    and its best linear prediction from z (≤ 1; = 1 for a linear layer).  Derived for the DCGAN's
    first block, checked here on another nonlinear map, with R_j fitted on fresh latents."""
    g = torch.Generator().manual_seed(11)
    W = torch.randn(40, 6, generator=g, dtype=F64) * torch.linspace(2.0, 0.5, 6, dtype=F64)
    b = torch.randn(40, generator=g, dtype=F64)
    f = lambda z: torch.relu(z.double() @ W.T + b) ** 2   # noqa: E731  (strongly nonlinear)
    res = ganspace_directions(f, n_samples=20000, k=4, latent_dim=6, seed=2, batch_size=2000, n_iter=4,
                              oversample=6, device="cpu")
    step = (res.sigmas * res.directions.norm(dim=1)).numpy()
    Z = torch.randn(20000, 6, generator=torch.Generator().manual_seed(99), dtype=F64)
    X = ((f(Z) - res.mean) @ res.components.T).numpy()
    Z1 = np.column_stack([Z.numpy(), np.ones(len(Z))])
    fit = Z1 @ np.linalg.lstsq(Z1, X, rcond=None)[0]
    R = np.array([np.corrcoef(fit[:, j], X[:, j])[0, 1] for j in range(4)])
    np.testing.assert_allclose(step, R, atol=0.02)
    assert step.max() < 1.01 and step.min() < 0.9     # some component is far from linear in z


def test_streaming_pca_equals_the_pca_of_the_materialised_samples(device):
    g = torch.Generator().manual_seed(5)
    X = torch.randn(3000, 30, generator=g, dtype=F64) * torch.logspace(0.5, -1, 30, dtype=F64) + 2.0
    X = X.to(device)
    chunks = list(torch.split(X, 700))
    Z = torch.randn(3000, 4, generator=g, dtype=F64).to(device)
    zchunks = list(torch.split(Z, 700))
    out = streaming_pca(lambda i: chunks[i], len(chunks), k=5, oversample=10, n_iter=6,
                        targets=lambda i: zchunks[i])
    Xc = (X - X.mean(0)).cpu().numpy()
    w, V = np.linalg.eigh(Xc.T @ Xc / len(Xc))
    w, V = w[::-1][:5], V[:, ::-1][:, :5]
    np.testing.assert_allclose(out["variances"].cpu().numpy(), w, rtol=1e-6)
    np.testing.assert_allclose(np.abs(out["components"].cpu().numpy() @ V), np.eye(5), atol=1e-5)
    assert out["total_variance"] == pytest.approx(float(np.trace(Xc.T @ Xc / len(Xc))), rel=1e-10)
    assert max(out["residuals"]) < 1e-5
    scores = Xc @ out["components"].cpu().numpy().T
    coef = np.linalg.lstsq(scores, Z.cpu().numpy(), rcond=None)[0]
    np.testing.assert_allclose(out["coef"].cpu().numpy(), coef, atol=1e-8)


def test_ganspace_on_the_dcgan_agrees_with_sefa(gan):
    res = ganspace_directions(gan.first_block, n_samples=3000, k=5, seed=0, batch_size=500, device="cpu")
    d, _ = sefa_directions(gan.sefa_weight, k=5)
    U = res.directions / res.directions.norm(dim=1, keepdim=True)
    cos = (d.double() @ U.T).abs()
    assert cos[0, 0] > 0.95 and cos[1, 1] > 0.9, cos  # the two leading directions are the same
    assert (res.explained_ratio[:-1] >= res.explained_ratio[1:]).all()


# ----------------------------------------------------------------------------- Jacobian
def _mlp(seed=0, n_in=12, n_out=30):
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(25, n_in, generator=g, dtype=F64) * torch.linspace(2.0, 0.1, n_in, dtype=F64)
    W2 = torch.randn(n_out, 25, generator=g, dtype=F64) / 5
    return lambda x: W2 @ torch.tanh(W1 @ x)


def test_power_iteration_matches_exact_svd():
    fn = _mlp()
    x = torch.linspace(-0.3, 0.4, 12, dtype=F64)
    V, S, info = jacobian_directions(fn, x, k=3, n_iter=300, tol=1e-12, return_info=True)
    J = torch.func.jacrev(fn)(x).numpy()
    U_, Se, Vh = np.linalg.svd(J)
    assert Se[2] / Se[3] > 1.05 and Se[0] / Se[1] > 1.05 and Se[1] / Se[2] > 1.05  # separated
    np.testing.assert_allclose(S.numpy(), Se[:3], rtol=1e-8)
    cos = np.abs((V.numpy() @ Vh[:3].T).diagonal())
    assert (cos > 0.999).all(), cos
    assert info["converged"] and info["iterations"] < 300 and max(info["residuals"]) < 1e-6
    Vx, Sx = jacobian_directions(fn, x, k=3, method="exact")
    np.testing.assert_allclose(Sx.numpy(), Se[:3], rtol=1e-12)
    assert (np.abs((Vx.numpy() @ Vh[:3].T).diagonal()) > 1 - 1e-12).all()
    np.testing.assert_allclose(V.numpy(), Vx.numpy(), atol=1e-6)  # same deterministic signs


def test_jacobian_directions_on_the_dcgan(gan):
    z = sample_latents(1, seed=4)[0]
    V, S, info = jacobian_directions(lambda v: gan(v[None])[0], z, k=3, tol=1e-5, n_iter=60, return_info=True)
    Ve, Se = jacobian_directions(lambda v: gan(v[None])[0], z, k=3, method="exact")
    assert info["converged"]
    torch.testing.assert_close(S, Se, rtol=1e-3, atol=0)
    assert ((V @ Ve.T).abs().diagonal() > 0.999).all()


def test_jacobian_directions_reject_bad_input():
    with pytest.raises(TypeError, match="torch tensor"):
        jacobian_directions(lambda v: v, [1.0, 2.0])
    with pytest.raises(ValueError, match="method"):
        jacobian_directions(lambda v: v, torch.ones(3), k=1, method="lanczos")
    with pytest.raises(ValueError, match="k must be <= 3"):
        jacobian_directions(lambda v: v, torch.ones(3), k=4)


# ----------------------------------------------------------------------------- DCGAN, traversals
def test_face_dcgan_loads_offline_and_samples_deterministically(gan):
    z = sample_latents(4, seed=11)
    torch.testing.assert_close(z, sample_latents(4, seed=11), rtol=0, atol=0)
    x = gan(z)
    assert x.shape == (4, 3, 64, 64) and not gan.training
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.1
    torch.testing.assert_close(face_dcgan("cpu")(z), x, rtol=0, atol=0)
    # independent check of our architecture: the package's own Generator class, same weights
    from gan_face_generate.models import Generator

    from spectral_explorer.face_dcgan import face_dcgan_weights
    ref = Generator(0, 3, 100, 64)
    ref.load_state_dict(torch.load(face_dcgan_weights(), map_location="cpu", weights_only=True)["netG_state_dict"])
    torch.testing.assert_close(ref.eval()(z[:, :, None, None]), x, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gan.from_first_block(gan.first_block(z)), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, 100\)"):
        gan(torch.zeros(2, 99))


def test_face_dcgan_on_cuda_matches_cpu(gan):
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    z = sample_latents(3, seed=2)
    torch.testing.assert_close(face_dcgan("cuda")(z.cuda()).cpu(), gan(z), rtol=1e-3, atol=1e-3)


def test_traversal_strip_is_batched_and_deterministic(gan):
    z = sample_latents(1, seed=7)[0]
    d, _ = sefa_directions(gan.sefa_weight, k=3)
    alphas = [-3, -1, 0, 1, 3]
    L = traversal_latents(z, d, alphas, sigmas=[1.0, 2.0, 0.5])
    assert L.shape == (3, 5, 100)
    torch.testing.assert_close(L[1, 4] - z, 6.0 * d[1])
    strip = traversal_strip(gan, z, d, alphas)
    assert strip.shape == (3, 5, 3, 64, 64)
    torch.testing.assert_close(strip[:, 2], gan(z[None]).expand(3, -1, -1, -1), rtol=1e-5, atol=1e-5)  # α = 0
    torch.testing.assert_close(strip, traversal_strip(gan, z, d, alphas), rtol=0, atol=0)
    with pytest.raises(ValueError, match="one entry per direction"):
        traversal_latents(z, d, alphas, sigmas=[1.0])


def test_sefa_directions_change_faces_more_than_random_ones(gan):
    Z = sample_latents(8, seed=3)
    d, _ = sefa_directions(gan.sefa_weight, k=2)
    R = random_directions(4, 100, seed=1)
    top = image_change_per_unit(gan, Z, d, alpha=2.0)
    rand = image_change_per_unit(gan, Z, R, alpha=2.0)
    assert top.min() > 1.5 * rand.mean(), (top, rand)


def test_remove_direction_is_an_orthogonal_projection():
    g = torch.Generator().manual_seed(0)
    d, o = torch.randn(4, 9, generator=g, dtype=F64), torch.randn(4, 9, generator=g, dtype=F64)
    p = remove_direction(d, o)
    torch.testing.assert_close((p * o).sum(-1), torch.zeros(4, dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(remove_direction(p, o), p)
    torch.testing.assert_close(d - p, ((d * o).sum(-1) / (o * o).sum(-1))[:, None] * o)
