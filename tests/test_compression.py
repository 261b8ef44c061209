"""Invariants of quantization, pruning, low-rank adapters and model surgery."""

import pytest
import torch
from torch import nn

from spectral_explorer.compression import (LowRankAdapter, RTNResult, compress_linears, iter_linears,
                                           prune_2_4, prune_magnitude, prune_n_m, quantize_rtn, replace_module,
                                           restore_linears)
from spectral_explorer.eigenspace import eora_compensation, svd_compensation

F64 = torch.float64


def _w(seed=0, out=16, inp=40, dtype=F64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out, inp, generator=g, dtype=F64).to(device=device, dtype=dtype)


@pytest.mark.parametrize("group_size", [None, 8, 16, 7])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_rtn_levels_and_range(bits, group_size, device):
    W = _w(device=device, dtype=torch.float32)
    Q = quantize_rtn(W, bits, group_size=group_size)
    assert Q.shape == W.shape and Q.dtype == W.dtype and Q.device == W.device
    g = W.shape[1] if group_size is None else group_size
    res = quantize_rtn(W, bits, group_size=group_size, return_codes=True)
    assert isinstance(res, RTNResult) and res.codes.dtype == torch.uint8
    assert int(res.codes.max()) <= 2 ** bits - 1
    torch.testing.assert_close(res.weight, Q)
    for gi, start in enumerate(range(0, W.shape[1], g)):
        Wg, Qg = W[:, start:start + g], Q[:, start:start + g]
        for row in range(W.shape[0]):
            assert torch.unique(Qg[row]).numel() <= 2 ** bits
            half = 0.5 * float(res.scale[row, gi]) + 1e-6
            assert Qg[row].min() >= Wg[row].min() - half and Qg[row].max() <= Wg[row].max() + half
            # the levels are integer multiples of the step: zero is represented exactly
            k = Qg[row].double() / float(res.scale[row, gi])
            torch.testing.assert_close(k, k.round(), rtol=0, atol=1e-4)
    # error per entry at most half a step
    step = res.scale.repeat_interleave(g, dim=1)[:, :W.shape[1]]
    assert ((W - Q).abs() <= 0.5 * step + 1e-6).all()
    # dequantization formula
    zp = res.zero_point.repeat_interleave(g, dim=1)[:, :W.shape[1]]
    torch.testing.assert_close(Q.double(), (res.codes.double() - zp) * step.double(), rtol=0, atol=1e-6)


def test_rtn_error_decreases_with_bits():
    W = _w(1)
    errs = [torch.linalg.matrix_norm(W - quantize_rtn(W, b)).item() for b in range(2, 9)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    # smaller groups are more accurate
    assert (torch.linalg.matrix_norm(W - quantize_rtn(W, 3, group_size=8))
            < torch.linalg.matrix_norm(W - quantize_rtn(W, 3)))


def test_rtn_constant_rows_exact():
    W = torch.tensor([[2.0, 2.0, 2.0], [0.0, 0.9, 2.0]], dtype=F64)
    Q = quantize_rtn(W, 2)
    torch.testing.assert_close(Q[0], W[0], rtol=0, atol=0)
    torch.testing.assert_close(Q[1], torch.tensor([0.0, 2 / 3, 2.0], dtype=F64))


def test_prune_2_4(device):
    W = _w(2, device=device)
    P, mask = prune_2_4(W, return_mask=True)
    G, Wg = P.reshape(16, 10, 4), W.reshape(16, 10, 4)
    assert ((G != 0).sum(-1) <= 2).all()
    kept_min = torch.where(G != 0, Wg.abs(), torch.full_like(Wg, float("inf"))).amin(-1)
    dropped_max = torch.where(G == 0, Wg.abs(), torch.zeros_like(Wg)).amax(-1)
    assert (kept_min >= dropped_max).all()
    torch.testing.assert_close(P[mask], W[mask], rtol=0, atol=0)
    # the kept ones are exactly the two largest by magnitude
    top2 = Wg.abs().topk(2, dim=-1).indices
    expect = torch.zeros_like(Wg, dtype=torch.bool).scatter_(-1, top2, True).reshape(16, 40)
    assert torch.equal(mask, expect)
    assert torch.equal(prune_n_m(W, 2, 4), P)


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_prune_magnitude(sparsity, device):
    W = _w(3, device=device)
    P, mask = prune_magnitude(W, sparsity, return_mask=True)
    n_zero = int((P == 0).sum())
    assert n_zero == round(sparsity * W.numel())
    if 0 < sparsity < 1:
        assert W[~mask].abs().max() <= W[mask].abs().min()
    torch.testing.assert_close(P[mask], W[mask], rtol=0, atol=0)


def test_adapter_identity_and_exact_recovery(device):
    torch.manual_seed(0)
    lin = nn.Linear(12, 6).to(device=device, dtype=F64)
    x = torch.randn(5, 3, 12, dtype=F64, device=device)
    W = lin.weight.detach()
    ad = LowRankAdapter.from_linear(lin, W, torch.zeros(6, 2, dtype=F64), torch.zeros(2, 12, dtype=F64))
    assert torch.equal(ad(x), lin(x))
    Wc = quantize_rtn(W, 2)
    dW = W - Wc
    # BA = dW exactly (full rank factors), so the adapter reproduces the original layer
    ad = LowRankAdapter.from_linear(lin, Wc, dW, torch.eye(12, dtype=F64))
    torch.testing.assert_close(ad(x), lin(x), rtol=0, atol=1e-12)
    B, A = svd_compensation(dW, 6)
    ad = LowRankAdapter.from_linear(lin, Wc, B, A)
    torch.testing.assert_close(ad(x), lin(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(ad.merged_weight(), W, rtol=0, atol=1e-12)
    # parameters vs buffers
    assert {n for n, _ in ad.named_parameters()} == {"A", "B", "bias"}
    assert "weight" in dict(ad.named_buffers())
    assert ad.rank == 6
    # gradients reach A and B only through the low-rank path
    ad(x).sum().backward()
    assert ad.A.grad is not None and ad.B.grad is not None


def test_adapter_eora_reduces_output_error():
    torch.manual_seed(1)
    lin = nn.Linear(32, 16, bias=False).double()
    X = torch.randn(256, 32, dtype=F64) * torch.logspace(0, -1.5, 32, dtype=F64)
    W = lin.weight.detach()
    Wc = quantize_rtn(W, 3)
    errs = []
    for B, A in [(torch.zeros(16, 0, dtype=F64), torch.zeros(0, 32, dtype=F64)),
                 svd_compensation(W - Wc, 4), eora_compensation(W - Wc, X.T @ X, 4)]:
        ad = LowRankAdapter.from_linear(lin, Wc, B, A)
        errs.append(torch.linalg.matrix_norm(ad(X) - lin(X)).item())
    assert errs[0] > errs[1] > errs[2]


def test_model_surgery():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 4)))
    assert [n for n, _ in iter_linears(model)] == ["0", "2.0", "2.1"]
    assert [n for n, _ in iter_linears(model, include="2.*")] == ["2.0", "2.1"]
    assert [n for n, _ in iter_linears(model, include=["0"])] == ["0", "2.0"]  # substring match
    assert [n for n, _ in iter_linears(model, include=lambda n, m: m.out_features == 4)] == ["2.0", "2.1"]
    before = {n: m.weight.detach().clone() for n, m in iter_linears(model)}
    originals = compress_linears(model, ["0", "2.0"], lambda W: quantize_rtn(W, 2))
    assert set(originals) == {"0", "2.0"}
    assert torch.equal(originals["0"], before["0"])
    assert not torch.equal(model[0].weight, before["0"])
    assert torch.equal(model[2][1].weight, before["2.1"])
    assert torch.unique(model[0].weight[0]).numel() <= 4
    restore_linears(model, originals)
    assert torch.equal(model[0].weight, before["0"])
    old = replace_module(model, "2.0", LowRankAdapter.from_linear(model[2][0]))
    assert isinstance(old, nn.Linear) and isinstance(model[2][0], LowRankAdapter)
    assert [n for n, _ in iter_linears(model)] == ["0", "2.1"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda: quantize_rtn(torch.ones(2, 4), 1), ValueError, "bits must be >= 2"),
    (lambda: quantize_rtn(torch.ones(2, 4), 9), ValueError, "bits must be <= 8"),
    (lambda: quantize_rtn(torch.ones(2, 4), 4.0), TypeError, "bits must be an integer"),
    (lambda: quantize_rtn(torch.ones(2, 4), 4, group_size=0), ValueError, "group_size must be >= 1"),
    (lambda: quantize_rtn(torch.ones(4), 4), ValueError, "W must be 2-D"),
    (lambda: quantize_rtn(torch.ones(2, 4, dtype=torch.int64), 4), TypeError, "W must have a floating dtype"),
    (lambda: quantize_rtn([[1.0]], 4), TypeError, "W must be a torch.Tensor"),
    (lambda: quantize_rtn(torch.tensor([[float("inf")]]), 4), ValueError, "W contains NaN"),
    (lambda: prune_magnitude(torch.ones(2, 4), 1.5), ValueError, "sparsity must be <= 1"),
    (lambda: prune_magnitude(torch.ones(2, 4), -0.1), ValueError, "sparsity must be >= 0"),
    (lambda: prune_2_4(torch.ones(2, 6)), ValueError, "divisible by m=4"),
    (lambda: LowRankAdapter.from_linear(nn.Linear(3, 2), torch.ones(2, 3), torch.ones(2, 1), torch.ones(2, 3)),
     ValueError, "B and A must have shapes"),
    (lambda: LowRankAdapter.from_linear(nn.Linear(3, 2), torch.ones(3, 2), None, None), ValueError,
     "compressed_weight must have"),
    (lambda: LowRankAdapter.from_linear(nn.ReLU(), torch.ones(3, 2), None, None), TypeError,
     "linear must be a torch.nn.Linear"),
    (lambda: compress_linears(nn.Sequential(nn.Linear(2, 2)), ["1"], lambda W: W), ValueError,
     "module '1' does not exist"),
    (lambda: compress_linears(nn.Sequential(nn.ReLU()), ["0"], lambda W: W), ValueError,
     "is not an nn.Linear"),
    (lambda: compress_linears(nn.Sequential(nn.Linear(2, 2)), ["0"], lambda W: W[:1]), ValueError,
     "fn must return a tensor of shape"),
    (lambda: compress_linears(nn.Sequential(nn.Linear(2, 2)), ["0"], 3), TypeError, "fn must be callable"),
    (lambda: iter_linears(nn.Linear(2, 2), include=3), TypeError, "include must be"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
