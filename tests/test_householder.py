"""Householder projector: orthonormal frames, exact re-parameterisation, gradients, non-uniqueness."""

import math

import pytest
import torch

from spectral_explorer import HouseholderProjector, householder_frame, rotate_frames
from spectral_explorer.householder import householder_vectors, orthogonality_error, rotation_matrix

SHAPES = [(1, 1), (5, 1), (7, 3), (13, 13), (40, 17), (3, 2)]


@pytest.mark.parametrize("n,r", SHAPES)
@pytest.mark.parametrize("method", ["loop", "lapack", "wy"])
def test_frame_orthonormal_and_methods_agree(n, r, method):
    g = torch.Generator().manual_seed(n * 31 + r)
    A = torch.randn(n, r, generator=g, dtype=torch.float64) * 3
    Q = householder_frame(A, method)
    assert Q.shape == (n, r)
    assert orthogonality_error(Q) <= 1e-12
    # the same frame as LAPACK's orgqr with τ = 2/‖v‖² (entries above the diagonal ignored)
    Y = torch.tril(A, -1) + torch.eye(n, r, dtype=A.dtype)
    ref = torch.linalg.householder_product(Y, 2 / (Y * Y).sum(0))
    torch.testing.assert_close(Q, ref, rtol=0, atol=1e-12)
    # and the product of dense reflections, the definition
    H = torch.eye(n, dtype=A.dtype)
    for i in range(r):
        v = Y[:, i:i + 1]
        H = H @ (torch.eye(n, dtype=A.dtype) - 2 * v @ v.T / (v.T @ v))
    torch.testing.assert_close(Q, H[:, :r], rtol=0, atol=1e-12)


@pytest.mark.parametrize("out_f,in_f,r", [(9, 4, 3), (5, 11, 5), (17, 17, 2), (30, 8, 8)])
@pytest.mark.parametrize("mode", ["equal", "fixed", "learned"])
def test_projector_rank_orthonormal_and_linear(out_f, in_f, r, mode):
    torch.manual_seed(0)
    layer = HouseholderProjector(in_f, out_f, r, singular_values=mode, dtype=torch.float64)
    W = layer.weight
    assert W.shape == (out_f, in_f)
    assert orthogonality_error(layer.frame_u()) <= 1e-12 and orthogonality_error(layer.frame_v()) <= 1e-12
    assert int(torch.linalg.matrix_rank(W)) == r
    sv = torch.linalg.svdvals(W)[:r]
    torch.testing.assert_close(sv, layer.singular_values.abs().sort(descending=True).values, rtol=1e-10, atol=1e-12)
    x = torch.randn(6, in_f, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ W.T, rtol=1e-10, atol=1e-12)
    assert (layer.s.requires_grad) == (mode == "learned")
    if mode == "equal":
        assert torch.all(layer.s == 1)


@pytest.mark.parametrize("out_f,in_f,r", [(37, 23, 1), (37, 23, 5), (37, 23, 23), (8, 30, 8), (12, 12, 12)])
def test_from_weight_is_the_best_rank_r_approximation(out_f, in_f, r):
    g = torch.Generator().manual_seed(r)
    W = torch.randn(out_f, in_f, generator=g, dtype=torch.float64)
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    best = (U[:, :r] * S[:r]) @ Vh[:r]
    for mode in ("fixed", "learned"):
        layer = HouseholderProjector.from_weight(W, r, singular_values=mode)
        torch.testing.assert_close(layer.weight, best, rtol=0, atol=1e-12 * float(S[0]) * 10)
        # the frames are the singular vectors (one sign per column pair, carried by ``signs``)
        cu = (layer.frame_u() * U[:, :r]).sum(0)
        cv = (layer.frame_v() * Vh[:r].T).sum(0)
        torch.testing.assert_close(cu.abs(), torch.ones(r, dtype=W.dtype), rtol=0, atol=1e-12)
        torch.testing.assert_close(cu * cv, layer.signs, rtol=0, atol=1e-12)
    eq = HouseholderProjector.from_weight(W, r, singular_values="equal")
    torch.testing.assert_close(eq.weight, (U[:, :r] * S[:r].mean()) @ Vh[:r], rtol=0, atol=1e-11)


def test_householder_vectors_round_trip_including_tau_zero_columns():
    Q = torch.eye(6, 3, dtype=torch.float64)[:, [2, 0, 1]]     # columns with nothing to reflect
    A, d = householder_vectors(Q)
    torch.testing.assert_close(householder_frame(A), Q * d, rtol=0, atol=1e-14)


def test_gradients_match_finite_differences():
    torch.manual_seed(1)
    x = torch.randn(4, 6, dtype=torch.float64)
    for method in ("loop", "lapack", "wy"):
        A = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda a: householder_frame(a, method), (A,))
    layer = HouseholderProjector(6, 5, 3, singular_values="learned", dtype=torch.float64)
    params = (layer.u_vectors, layer.v_vectors, layer.s)

    def f(u, v, s):
        return torch.func.functional_call(layer, {"u_vectors": u, "v_vectors": v, "s": s}, (x,))

    assert torch.autograd.gradcheck(f, params)


def test_rotation_keeps_the_map_and_turns_the_directions():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(20, 8, generator=g, dtype=torch.float64)
    eq = HouseholderProjector.from_weight(W, 4, singular_values="equal")
    R = rotation_matrix(4, math.pi / 5, (0, 1))
    rot = rotate_frames(eq, R)
    torch.testing.assert_close(rot.weight, eq.weight, rtol=0, atol=1e-12)
    assert orthogonality_error(rot.frame_v()) <= 1e-12
    cos = (rot.frame_v() * eq.frame_v()).sum(0).abs()
    torch.testing.assert_close(cos[:2], torch.full((2,), math.cos(math.pi / 5), dtype=W.dtype), rtol=0, atol=1e-12)
    torch.testing.assert_close(cos[2:], torch.ones(2, dtype=W.dtype), rtol=0, atol=1e-12)
    # with distinct singular values the same rotation changes the map
    fx = HouseholderProjector.from_weight(W, 4, singular_values="fixed")
    assert float((rotate_frames(fx, R).weight - fx.weight).detach().abs().max()) > 1e-3


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="rank"):
        HouseholderProjector(3, 4, 5)
    with pytest.raises(ValueError, match="singular_values"):
        HouseholderProjector(3, 4, 2, singular_values="big")
    with pytest.raises(ValueError, match="2 finite values"):
        HouseholderProjector(3, 4, 2, singular_values=[1.0, float("nan")])
    with pytest.raises(ValueError, match="features"):
        HouseholderProjector(3, 4, 2)(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        HouseholderProjector.from_weight(torch.full((3, 3), float("nan")), 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    W = torch.randn(64, 20, dtype=torch.float64)
    cpu = HouseholderProjector.from_weight(W, 6)
    gpu = HouseholderProjector.from_weight(W.cuda(), 6)
    torch.testing.assert_close(gpu.weight.cpu(), cpu.weight, rtol=0, atol=1e-10)
    assert orthogonality_error(gpu.frame_u()) <= 1e-12
    for method in ("loop", "lapack", "wy"):
        A = torch.randn(50, 7, dtype=torch.float64)
        torch.testing.assert_close(householder_frame(A.cuda(), method).cpu(), householder_frame(A, method),
                                   rtol=0, atol=1e-12)
