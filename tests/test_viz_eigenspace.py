"""The eigenspace toy draws the input direction EoRA fits (Q Λ^½ v₁), not its covector row of A."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from spectral_explorer import eigenspace as es
from spectral_explorer.data import anisotropic_toy
from spectral_explorer.viz import eigenspace as vz

hv.extension("bokeh", logo=False)


def _angle(v):
    return float(np.degrees(np.arctan2(v[1], v[0])) % 180.0)


def _unit(v):
    v = np.asarray(v, float) / np.linalg.norm(v)
    return -v if v[0] < 0 else v


def _drawn(plot, label):
    curves = [el for el in plot if isinstance(el, hv.Curve) and el.label == label]
    assert len(curves) == 1, [el.label for el in plot]
    x, y = curves[0].dimension_values(0), curves[0].dimension_values(1)
    return np.array([x[1] - x[0], y[1] - y[0]])


@pytest.mark.parametrize("aniso, angle, seed, n", [(8.0, 30.0, 0, 300), (3.0, 120.0, 5, 50), (40.0, 75.0, 2, 2000)])
def test_drawn_eora_direction_is_q_lambda_half_v1(aniso, angle, seed, n):
    X, dW = anisotropic_toy(n, aniso, angle, seed)
    t = es.toy_compensation(X, dW, rank=1)
    # independent: numpy eigh of XᵀX, SVD of ΔW Q Λ^½
    lam, Q = np.linalg.eigh(X.T @ X)
    v1 = np.linalg.svd(dW @ Q @ np.diag(np.sqrt(lam)))[2][0]
    fitted = _unit(Q @ (np.sqrt(lam) * v1))
    plot = vz.toy_data_plot(t["X"], t["evals"], t["Q"], t["A"]["SVD"], t["A"]["EoRA"])
    drawn = _unit(_drawn(plot, "EoRA fits QΛ^½v₁"))
    np.testing.assert_allclose(drawn, fitted, atol=1e-6)
    np.testing.assert_allclose(vz.toy_kept_directions(t["evals"], t["Q"], t["A"]["SVD"], t["A"]["EoRA"])["EoRA"],
                               fitted, atol=1e-6)
    svd_drawn = _unit(_drawn(plot, "SVD fits v₁(ΔW)"))
    np.testing.assert_allclose(svd_drawn, _unit(np.linalg.svd(dW)[2][0]), atol=1e-6)


def test_default_toy_eora_direction_lies_near_the_data_axis():
    """Explorer defaults (anisotropy 8, 30°, seed 0, 300 samples): data axis 30.1°, the drawn EoRA
    line 30.8° (it was 69.0° when the covector row of A was drawn)."""
    X, dW = anisotropic_toy(300, 8.0, 30.0, 0)
    t = es.toy_compensation(X, dW, rank=1)
    plot = vz.toy_data_plot(t["X"], t["evals"], t["Q"], t["A"]["SVD"], t["A"]["EoRA"])
    axis = _angle(_unit(t["Q"][:, 0]))
    drawn = _angle(_unit(_drawn(plot, "EoRA fits QΛ^½v₁")))
    covector = _angle(_unit(t["A"]["EoRA"]))
    assert axis == pytest.approx(30.1, abs=0.05) and drawn == pytest.approx(30.8, abs=0.05)
    assert abs(drawn - axis) < 2.0 and abs(covector - axis) > 30.0
