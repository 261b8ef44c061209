"""``spectral-explorer reproduce positional-encodings``: the stability table's properties and the files.

The full training table takes minutes; here it runs with a tiny configuration (a few
graphs, two epochs, two encodings) by shrinking the data sets that
:func:`~spectral_explorer.substructures.compare_encodings` builds.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from spectral_explorer import cli, substructures
from spectral_explorer.reproduce import positional_encodings as rpe


@pytest.fixture(scope="module")
def stability():
    seen = []
    rows = rpe.run_stability(quick=True, progress=lambda f, t: seen.append(f))
    assert len(seen) == len(rows) and seen == sorted(seen) and seen[-1] == 1.0
    return rows


def _at(rows, eps):
    (r,) = [r for r in rows if r["mode"] == "edge_weight" and r["eps"] == eps]
    return r


def test_target_registered():
    assert cli.REPRODUCE_TARGETS["positional-encodings"] == "positional_encodings"
    args = cli.build_parser().parse_args(["reproduce", "positional-encodings", "--quick", "--out", "x"])
    assert (args.target, args.quick, args.out) == ("positional-encodings", True, "x")


def test_stability_raw_eigenvectors_blow_up_on_c16(stability):
    r = _at(stability, 1e-6)
    # C16: λ_1 = λ_2 (multiplicity two); a 1e-6 edge change rotates the eigenspace by O(1)
    assert r["raw"] > 1e5
    assert r["delta_L"] < 1e-5
    # Davis–Kahan: the span of v_1..v_8 moves by at most ~ ‖ΔL‖ / eigengap
    assert r["subspace"] < 2 * math.sqrt(2) / r["eigengap"]
    assert r["eigengap"] == pytest.approx(math.cos(2 * math.pi * 4 / 16) - math.cos(2 * math.pi * 5 / 16), abs=1e-6)


def test_stability_spe_is_bounded_across_eps(stability):
    sweep = [r for r in stability if r["mode"] == "edge_weight"]
    assert [r["eps"] for r in sweep] == list(rpe.EPS)
    assert _at(stability, 1e-6)["spe"] < 5
    assert max(r["spe"] for r in sweep) < 5
    # the raw ratio grows like 1/ε, SPE's does not move
    assert _at(stability, 1e-8)["raw"] > 1e4 * _at(stability, 1e-2)["raw"]
    spe = [r["spe"] for r in sweep]
    assert max(spe) / min(spe) < 1.5


def test_stability_hard_projectors_jump_when_a_pair_splits_past_tol(stability):
    # below tol = 1e-6 the pairs stay grouped (basis-invariant, bounded); above it a rank-2
    # projector becomes two rank-1 ones, discontinuously
    assert _at(stability, 1e-7)["projectors"] < 10
    assert _at(stability, 1e-4)["projectors"] > 1e3


def test_stability_edge_flips(stability):
    flips = [r for r in stability if r["mode"] == "edge_flip"]
    assert {r["n_flips"] for r in flips} == {1, 2, 4} and {r["seed"] for r in flips} == {0, 1, 2}
    assert all(r["eps"] is None and r["delta_L"] > 0.1 for r in flips)
    assert all(r["spe"] < 5 for r in flips)


def test_spe_encoder_is_seeded_and_sign_invariant():
    w, V = torch.linalg.eigh(torch.tensor([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]],
                                          dtype=torch.float64))
    state = torch.random.get_rng_state()
    a = rpe.spe_encoder(3)(w, V)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = rpe.spe_encoder(3)(w, -V)
    assert torch.allclose(a, b, atol=1e-12)


def test_tiny_training_and_files(stability, tmp_path, monkeypatch):
    tiny = functools.partial(substructures.cycle_count_datasets.__wrapped__, n_train=24, n_test=8, n_ood=8)
    monkeypatch.setattr(substructures, "cycle_count_datasets", tiny)
    calls = []
    training = rpe.run_training(quick=True, progress=lambda f, t: calls.append((f, t)), encodings=("none", "spe"),
                                epochs=2, seeds=(0, 1), model_kwargs=dict(hidden=16, layers=2, pe_dim=4))
    lines = [t for _, t in calls]
    assert [f for f, _ in calls] == [k / 8 for k in range(1, 9)]
    assert [r["encoding"] for r in training] == ["none", "spe"]
    assert all(math.isfinite(r["test_mae"]) and math.isfinite(r["ood_mae"]) for r in training)
    assert any("spe" in ln and "seed=1" in ln and "epoch   2/2" in ln for ln in lines)
    # mean and sample standard deviation (ddof=1) of the per-seed runs, which are kept
    for r in training:
        assert r["seeds"] == [0, 1] and r["n_seeds"] == 2
        o = np.array(r["ood_maes"])
        assert r["ood_mae"] == pytest.approx(o.mean(), abs=1e-4) and r["ood_mae_std"] == pytest.approx(o.std(ddof=1), abs=1e-4)
    ranks = rpe.ood_ranking(training)
    assert set(ranks) == {"mean", "seed 0", "seed 1"} and all(sorted(v) == ["none", "spe"] for v in ranks.values())

    rpe.write_results(stability, training, tmp_path, {"quick": True})
    both = pd.read_csv(tmp_path / "positional-encodings.csv")
    assert set(both["table"]) == {"stability", "training", "training_runs"}
    st = pd.read_csv(tmp_path / "positional-encodings-stability.csv")
    tr = pd.read_csv(tmp_path / "positional-encodings-training.csv")
    runs = pd.read_csv(tmp_path / "positional-encodings-training-runs.csv")
    assert list(st.columns) == list(rpe.STABILITY_COLUMNS)
    assert list(tr.columns) == list(rpe.TRAINING_COLUMNS)
    assert list(runs.columns) == list(rpe.RUN_COLUMNS) and len(runs) == 4
    assert runs.groupby("encoding")["ood_mae"].mean().to_dict() == pytest.approx(
        tr.set_index("encoding")["ood_mae"].to_dict(), abs=1e-4)
    assert len(st) == len(stability) and len(tr) == 2
    assert float(st.loc[(st["mode"] == "edge_weight") & (st["eps"] == 1e-6), "raw"].iloc[0]) > 1e5
    doc = json.loads((tmp_path / "positional-encodings.json").read_text())
    assert doc["meta"] == {"quick": True}
    assert {r["table"] for r in doc["rows"]} == {"stability", "training", "training_runs"}
    assert {"raw", "projectors", "spe", "eigengap"} <= set(doc["rows"][0])


def test_the_random_spe_phi_is_nearly_flat():
    """What the texts say about the untrained SPE of the stability table: its φ's largest slope
    on [0, 2] is small (0.16–0.37 for seeds 0–9), far below a trained φ's."""
    slopes = [rpe.phi_max_slope(rpe.spe_encoder(s).model) for s in range(10)]
    assert 0.15 < min(slopes) and max(slopes) < 0.38, slopes
    assert rpe.phi_max_slope(rpe.spe_encoder(0).model) == pytest.approx(0.158, abs=1e-3)
    # on C16 at ε = 1e-6 the matrices Z_ℓ move by at most φ's slope times ‖ΔL‖, and the random ρ
    # shrinks that change further: the reason for the table's small SPE ratio
    import networkx as nx

    from spectral_explorer.positional_encodings import as_adjacency, normalized_laplacian
    A = as_adjacency(nx.cycle_graph(16))
    B = A.clone()
    B[0, 1] = B[1, 0] = 1 + 1e-6
    (w0, V0), (w1, V1) = (torch.linalg.eigh(normalized_laplacian(M)) for M in (A, B))
    dL = float(torch.linalg.norm(normalized_laplacian(B) - normalized_laplacian(A)))
    model = rpe.spe_encoder(0).model
    with torch.no_grad():
        dZ = float((model.matrices(w1, V1) - model.matrices(w0, V0)).norm()) / dL
        dout = float((model(w1, V1) - model(w0, V0)).norm()) / dL
    assert dZ <= 1.01 * slopes[0] * math.sqrt(model.m) and dout < dZ / 10, (dZ, dout)


def test_stability_cancel_between_rows():
    import threading

    from spectral_explorer.progress import Cancelled

    stop, seen = threading.Event(), []

    def progress(f, t):
        seen.append(t)
        stop.set()

    with pytest.raises(Cancelled):
        rpe.run_stability(quick=True, progress=progress, cancel=stop)
    assert len(seen) == 1 and "edge_weight" in seen[0]
