"""The progress / cancel convention and the shared input checks."""

import threading

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from spectral_explorer._validation import check_bool, check_symmetric, check_tensor
from spectral_explorer.progress import Cancelled, checkpoint, is_cancelled, subrange, text_printer


def test_is_cancelled_accepts_none_events_and_callables():
    ev = threading.Event()
    assert not is_cancelled(None) and not is_cancelled(ev) and not is_cancelled(lambda: False)
    ev.set()
    assert is_cancelled(ev) and is_cancelled(lambda: True)
    with pytest.raises(TypeError, match="cancel must be"):
        is_cancelled(3)


def test_checkpoint_reports_then_raises():
    seen, ev = [], threading.Event()
    checkpoint(ev, lambda f, t: seen.append((f, t)), 1.5, "x")    # clamped into [0, 1]
    checkpoint(ev, None, 0.5, "no progress callable")
    checkpoint(ev, lambda f, t: seen.append((f, t)))               # no fraction: nothing reported
    assert seen == [(1.0, "x")]
    ev.set()
    with pytest.raises(Cancelled):
        checkpoint(ev, lambda f, t: seen.append((f, t)), 0.25, "y")
    assert seen[-1] == (0.25, "y")


def test_subrange_nests(capsys):
    seen = []
    outer = subrange(lambda f, t: seen.append(f), 0.2, 0.6)
    inner = subrange(outer, 0.5, 1.0)
    for f in (0.0, 0.5, 1.0, 2.0):
        inner(f, "")
    assert seen == pytest.approx([0.4, 0.5, 0.6, 0.6])
    text_printer()(0.3, "a line")
    text_printer()(0.4, "")
    assert capsys.readouterr().out == "a line\n"


def test_check_tensor():
    t = check_tensor(np.arange(6).reshape(2, 3), "X")
    assert t.dtype == torch.float64 and t.shape == (2, 3)
    assert check_tensor(torch.ones(2, 2, dtype=torch.float32), "X", dtype=None).dtype == torch.float32
    assert check_tensor([1.0, 2.0], "v", ndim=1).tolist() == [1.0, 2.0]
    for bad, exc, match in [
        ("abc", TypeError, "X must be a torch.Tensor or numpy array"),
        ([[1.0, 2.0], [3.0]], TypeError, "X must be a numeric tensor or array"),
        (torch.ones(2, 2, dtype=torch.complex64), TypeError, "real-valued"),
        (torch.ones(3), ValueError, r"X must be 2-D with shape \(rows, cols\), got shape \(3,\)"),
        (torch.ones(0, 3), ValueError, "must not be empty"),
        (torch.tensor([[1.0, float("nan")]]), ValueError, "NaN or infinite"),
    ]:
        with pytest.raises(exc, match=match):
            check_tensor(bad, "X")
    with pytest.raises(TypeError, match="W must be a torch.Tensor of shape"):
        check_tensor([[1.0]], "W", lists=False, shape="(out, in)")
    with pytest.raises(TypeError, match="W must have a floating dtype"):
        check_tensor(torch.ones(2, 2, dtype=torch.int64), "W", integers=False)
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match="flag must be True or False, got 1"):
        check_bool(1, "flag")


def test_check_symmetric_dense_sparse_and_batched():
    A = np.array([[0.0, 1.0], [1.0 + 1e-12, 0.0]])
    S = check_symmetric(A, "A")
    assert isinstance(S, np.ndarray) and np.array_equal(S, S.T)
    assert abs(check_symmetric(sp.csr_matrix(A), "W") - S).max() == 0
    bad = np.array([[0.0, 1.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match=r"W must be symmetric \(undirected\); max \|W - Wᵀ\| = 0.5"):
        check_symmetric(sp.csr_matrix(bad), "W", why=" (undirected)")
    batch = torch.stack([torch.as_tensor(S), torch.as_tensor(bad)])
    with pytest.raises(ValueError, match=r"adjs\[7\] must be symmetric"):
        check_symmetric(batch, "adjs", labels=[3, 7])
    # relative to the matrix's own scale when floor is tiny (Gram matrices)
    small = torch.tensor([[1e-6, 1e-9], [0.0, 1e-6]], dtype=torch.float64)
    check_symmetric(small, "gram", tol=1e-8)                        # absolute scale 1: passes
    with pytest.raises(ValueError, match="gram must be symmetric"):
        check_symmetric(small, "gram", tol=1e-8, floor=1e-300)
