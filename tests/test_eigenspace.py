"""Invariants of the eigenspace tools: EoRA optimality, PiSSA exactness, spectra, angles."""

import math

import numpy as np
import pytest
import torch

from spectral_explorer.eigenspace import (compensation_error, energy_captured, eora_compensation, gram_eigh,
                                          pissa_split, principal_angles, project_topk, svd_compensation)

F64 = torch.float64


def _problem(seed=0, out=24, inp=32, n=200, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    dW = torch.randn(out, inp, generator=g, dtype=F64)
    # anisotropic inputs, so EoRA and plain SVD differ
    X = torch.randn(n, inp, generator=g, dtype=F64) * torch.logspace(0, -2, inp, dtype=F64)
    return dW.to(device), X.to(device)


def _optimum(dW, X, r):
    """Independent optimum: Eckart-Young on Y = X dW^T, mapped back through X^+."""
    Xn, dWn = X.cpu().numpy(), dW.cpu().numpy()
    Y = Xn @ dWn.T
    U, S, Vt = np.linalg.svd(Y, full_matrices=False)
    Yr = (U[:, :r] * S[:r]) @ Vt[:r]
    M = (np.linalg.pinv(Xn) @ Yr).T          # (out, in), rank <= r
    return M, np.linalg.norm(Y - Xn @ M.T), np.linalg.norm(Y - Yr)


@pytest.mark.parametrize("r", [1, 4, 10, 24])
def test_eora_is_optimal(r, device):
    dW, X = _problem(device=device)
    gram = X.T @ X
    B, A = eora_compensation(dW, gram, r)
    assert B.shape == (24, r) and A.shape == (r, 32)
    assert B.device.type == device.type
    err = torch.linalg.matrix_norm(X @ (dW - B @ A).T).item()
    M, err_opt, err_ey = _optimum(dW, X, r)
    assert err_opt == pytest.approx(err_ey, rel=1e-10)
    total = np.linalg.norm(X.cpu().numpy() @ dW.cpu().numpy().T)
    assert abs(err - err_opt) <= 1e-8 * err_opt + 1e-12 * total  # ~1e-8 relative (r = 24 gives err ~ 0)
    assert compensation_error(dW, B, A, gram) == pytest.approx(err, rel=1e-8, abs=1e-9)
    if r < 24:  # unique optimum when sigma_r > sigma_{r+1}
        np.testing.assert_allclose((B @ A).cpu().numpy(), M, atol=1e-8 * np.abs(M).max())
    Bs, As = svd_compensation(dW, r)
    err_svd = torch.linalg.matrix_norm(X @ (dW - Bs @ As).T).item()
    assert err <= err_svd * (1 + 1e-12)
    if 1 < r < 24:
        assert err < 0.99 * err_svd


def test_eora_with_identity_gram_is_plain_svd():
    dW, _ = _problem(1)
    for r in (1, 5, 24):
        B, A = eora_compensation(dW, torch.eye(32, dtype=F64), r)
        Bs, As = svd_compensation(dW, r)
        torch.testing.assert_close(B @ A, Bs @ As, rtol=0, atol=1e-12)
        # the SVD product is the truncated SVD
        U, S, Vh = torch.linalg.svd(dW, full_matrices=False)
        torch.testing.assert_close(Bs @ As, (U[:, :r] * S[:r]) @ Vh[:r], rtol=0, atol=1e-12)
        torch.testing.assert_close(Bs.T @ Bs, As @ As.T, rtol=0, atol=1e-10)  # balanced factors


def test_eora_with_precomputed_eigendecomposition():
    """Passing gram_eigh(gram) gives the same factors as letting EoRA solve; wrong shapes are refused."""
    dW, X = _problem(4)
    gram = X.T @ X
    B, A = eora_compensation(dW, gram, 6)
    B2, A2 = eora_compensation(dW, gram, 6, eig=gram_eigh(gram))
    torch.testing.assert_close(B2, B, rtol=0, atol=1e-12)
    torch.testing.assert_close(A2, A, rtol=0, atol=1e-12)
    evals, Q = gram_eigh(gram)
    with pytest.raises(ValueError, match="eig must be"):
        eora_compensation(dW, gram, 6, eig=(evals[:5], Q))


def test_eora_singular_gram_and_rank_deficient_delta():
    dW, X = _problem(2, n=10)           # 10 samples < 32 inputs: gram is singular
    gram = X.T @ X
    B, A = eora_compensation(dW, gram, 10)
    assert torch.isfinite(B).all() and torch.isfinite(A).all()
    assert torch.linalg.matrix_norm(X @ (dW - B @ A).T).item() < 1e-8 * torch.linalg.matrix_norm(X @ dW.T).item()
    low = dW[:, :2] @ dW[:2, :]          # rank 2, ask for rank 5
    B, A = eora_compensation(low, torch.eye(32, dtype=F64) * 3, 5)
    torch.testing.assert_close(B @ A, low, rtol=0, atol=1e-10)
    assert torch.isfinite(A).all()
    B, A = eora_compensation(dW, gram, 0)
    assert B.shape == (24, 0) and A.shape == (0, 32)


def test_float32_inputs_keep_dtype():
    dW, X = _problem(3)
    B, A = eora_compensation(dW.float(), (X.T @ X).float(), 4)
    assert B.dtype == A.dtype == torch.float32
    B64, A64 = eora_compensation(dW, X.T @ X, 4)
    torch.testing.assert_close((B @ A).double(), B64 @ A64, rtol=1e-3, atol=1e-4)


def test_pissa_reconstructs_exactly(device):
    g = torch.Generator().manual_seed(4)
    W = torch.randn(20, 12, generator=g, dtype=F64).to(device)
    for r in (0, 3, 12):
        B, A, W_res = pissa_split(W, r)
        assert (W - (B @ A + W_res)).abs().max().item() < 1e-12
        assert torch.linalg.matrix_rank(B @ A).item() == r
    B, A, W_res = pissa_split(W, 3)
    S = torch.linalg.svdvals(W)
    torch.testing.assert_close(torch.linalg.svdvals(W_res)[:9], S[3:], rtol=0, atol=1e-10)
    torch.testing.assert_close(torch.linalg.svdvals(B @ A)[:3], S[:3], rtol=0, atol=1e-10)


def test_gram_eigh(device):
    g = torch.Generator().manual_seed(5)
    X = torch.randn(6, 10, generator=g, dtype=F64).to(device)
    C = X.T @ X                          # rank 6, so some eigenvalues round below 0
    evals, Q = gram_eigh(C)
    assert (evals >= 0).all() and (evals[:-1] >= evals[1:]).all()
    torch.testing.assert_close(Q.T @ Q, torch.eye(10, dtype=F64, device=device), rtol=0, atol=1e-12)
    torch.testing.assert_close((Q * evals) @ Q.T, C, rtol=0, atol=1e-10)
    idx = Q.abs().argmax(0)
    assert (Q[idx, torch.arange(10, device=device)] > 0).all()
    np.testing.assert_allclose(evals[:6].cpu().numpy(), np.sort(np.linalg.svd(X.cpu().numpy())[1] ** 2)[::-1],
                               rtol=1e-10)


def test_project_and_energy():
    g = torch.Generator().manual_seed(6)
    X = torch.randn(50, 5, generator=g, dtype=F64) * torch.tensor([5.0, 3, 1, 0.5, 0.1], dtype=F64)
    evals, Q = gram_eigh(X.T @ X)
    Z = project_topk(X, Q, 2)
    assert Z.shape == (50, 2)
    frac = energy_captured(evals)
    assert frac.shape == (5,) and frac[-1].item() == 1.0 and (frac[1:] >= frac[:-1]).all()
    # energy of the top-2 projection equals the captured fraction
    assert (Z ** 2).sum().item() / (X ** 2).sum().item() == pytest.approx(frac[1].item(), rel=1e-10)
    full = project_topk(X, Q, 5, reconstruct=True)
    torch.testing.assert_close(full, X, rtol=0, atol=1e-12)
    torch.testing.assert_close(energy_captured(np.array([1.0, 3.0])), torch.tensor([0.75, 1.0], dtype=F64))


def test_principal_angles(device):
    g = torch.Generator().manual_seed(7)
    U = torch.randn(10, 3, generator=g, dtype=F64).to(device)
    assert principal_angles(U, U).abs().max().item() < 1e-10
    assert principal_angles(U, U @ torch.randn(3, 3, generator=g, dtype=F64).to(device)).abs().max().item() < 1e-10
    Qf, _ = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=F64).to(device))
    ang = principal_angles(Qf[:, :3], Qf[:, 3:7])
    assert ang.shape == (3,)
    torch.testing.assert_close(ang, torch.full((3,), math.pi / 2, dtype=F64, device=device), rtol=0, atol=1e-12)
    # a known angle in the plane
    t = 0.3
    a = torch.tensor([[1.0], [0.0]], dtype=F64)
    b = torch.tensor([[math.cos(t)], [math.sin(t)]], dtype=F64)
    assert principal_angles(a, b).item() == pytest.approx(t, abs=1e-14)
    assert principal_angles(a, torch.tensor([[1.0], [1e-9]], dtype=F64)).item() == pytest.approx(1e-9, rel=1e-6)
    # agreement with scipy
    scipy_linalg = pytest.importorskip("scipy.linalg")
    V = torch.randn(10, 4, generator=g, dtype=F64)
    ours = principal_angles(U.cpu(), V).numpy()
    ref = np.sort(scipy_linalg.subspace_angles(U.cpu().numpy(), V.numpy()))
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: svd_compensation(torch.ones(3, 4), 5), ValueError, "rank must be <= 3"),
    (lambda: svd_compensation(torch.ones(3, 4), -1), ValueError, "rank must be >= 0"),
    (lambda: svd_compensation(torch.ones(3, 4), 1.5), TypeError, "rank must be an integer"),
    (lambda: svd_compensation(torch.ones(3), 1), ValueError, "delta_w must be 2-D"),
    (lambda: svd_compensation("abc", 1), TypeError, "delta_w must be a torch.Tensor"),
    (lambda: svd_compensation(torch.tensor([[1.0, float("nan")]]), 1), ValueError, "delta_w contains NaN"),
    (lambda: eora_compensation(torch.ones(3, 4), torch.eye(3), 1), ValueError, r"gram must have shape \(4, 4\)"),
    (lambda: eora_compensation(torch.ones(3, 4), torch.ones(4, 3), 1), ValueError, "gram must be square"),
    (lambda: eora_compensation(torch.ones(3, 4), torch.triu(torch.ones(4, 4)), 1), ValueError,
     "gram must be symmetric"),
    (lambda: gram_eigh(torch.ones(2, 3)), ValueError, "gram must be square"),
    (lambda: pissa_split(torch.ones(2, 2), 3), ValueError, "rank must be <= 2"),
    (lambda: project_topk(torch.ones(5, 3), torch.eye(3), 4), ValueError, "k must be <= 3"),
    (lambda: project_topk(torch.ones(5, 3), torch.eye(4), 1), ValueError, "Q must have 3 rows"),
    (lambda: energy_captured(torch.tensor([1.0, -1.0])), ValueError, "evals must be non-negative"),
    (lambda: energy_captured(torch.zeros(3)), ValueError, "positive sum"),
    (lambda: principal_angles(torch.ones(3, 1), torch.ones(4, 1)), ValueError, "same number of rows"),
    (lambda: principal_angles(torch.zeros(3, 1), torch.ones(3, 1)), ValueError, "U spans no subspace"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_anisotropic_toy_and_toy_compensation_match_the_inline_build():
    """data.anisotropic_toy + toy_compensation give the numbers the explorer's toy stage
    computed inline (same generator draws, same factorisations)."""
    import torch

    from spectral_explorer import eigenspace as es
    from spectral_explorer.data import anisotropic_toy

    n, a, angle, seed = 300, 8.0, 25.0, 4
    rng = np.random.default_rng(seed)
    th = np.deg2rad(angle)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    X_ref = (rng.standard_normal((n, 2)) * np.array([np.sqrt(a), 1.0 / np.sqrt(a)])) @ R.T
    dW_ref = rng.standard_normal((2, 2))
    X, dW = anisotropic_toy(n, a, angle, seed)
    assert X.dtype == np.float64 and np.array_equal(X, X_ref) and np.array_equal(dW, dW_ref)

    out = es.toy_compensation(X, dW)
    Xt, D = torch.from_numpy(X_ref), torch.from_numpy(dW_ref)
    C = Xt.T @ Xt
    B, A = es.eora_compensation(D, C, 1)
    assert np.array_equal(out["C"], C.numpy()) and np.array_equal(out["A"]["EoRA"], A.numpy()[0])
    assert out["errors"]["EoRA"] == es.compensation_error(D, B, A, C)
    assert out["plain"]["SVD"] == es.compensation_error(D, *es.svd_compensation(D, 1))
    assert out["errors"]["EoRA"] <= out["errors"]["SVD"] <= out["errors"]["none"]
    np.testing.assert_array_equal(out["residuals"]["EoRA"], (Xt @ (D - B @ A).T).numpy())
    np.testing.assert_allclose(out["evals"], np.linalg.eigvalsh(C.numpy())[::-1])
    with pytest.raises(ValueError, match="anisotropy must be > 0"):
        anisotropic_toy(10, 0.0)
    with pytest.raises(ValueError, match="dW must have 2 input columns"):
        es.toy_compensation(X, np.ones((2, 3)))
