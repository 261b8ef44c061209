"""``spectral-explorer reproduce latent-directions``: a tiny configuration writes sensible rows.

The quick run (5000 GANSpace samples × 3 seeds; per seed 64 digits × 5 h directions × 4 α at two
step lengths) takes minutes; here the same code runs on a thousand GANSpace samples, two seeds of
24 digits with four DDIM steps, and three h directions.
"""

from __future__ import annotations

import json

import pytest
import torch

from spectral_explorer import cli
from spectral_explorer.reproduce import latent_directions as rl
from spectral_explorer.reproduce import write_table


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    meta = {}
    calls = []
    rows = rl.gan_rows(n_samples=1000, n_lat=4, meta=meta, progress=lambda f, t: calls.append(f), seeds=(0, 1))
    rows += rl.diffusion_rows(n=24, n_jac=1, n_pcs=2, n_random=1, pairs=((1, 7), (0, 6)),
                              alphas=(-3.0, -1.0, 1.0, 3.0), n_steps=4, meta=meta,
                              progress=lambda f, t: calls.append(f), seeds=(0, 1))
    assert calls == sorted(calls) and calls[-1] == 1.0
    return rows, meta


def test_target_registered():
    assert cli.REPRODUCE_TARGETS["latent-directions"] == "latent_directions"
    args = cli.build_parser().parse_args(["reproduce", "latent-directions", "--quick", "--out", "x"])
    assert (args.target, args.quick) == ("latent-directions", True)


def test_rows_cover_every_measure(tiny):
    rows, meta = tiny
    measures = {r["measure"] for r in rows}
    assert {"sefa_vs_ganspace", "image_change", "ganspace_stability", "ganspace_step_length", "class_change",
            "class_change_equal_norm", "sigma_over_pc1", "asymmetric_effect", "slant_trend", "ink_trend",
            "supervised_success", "projection_slant_reduction"} <= measures
    assert {r["seed"] for r in rows} == {0, 1}
    by = {(r["measure"], r["direction"], r["alpha"], r["seed"]): r["value"] for r in rows}
    assert by[("sefa_vs_ganspace", "sefa1", None, 0)] > 0.9            # the leading directions agree
    for s in (0, 1):
        assert by[("image_change", "sefa1", 2.0, s)] > by[("image_change", "random", 2.0, s)]
        assert by[("image_change", "sefa_plain1", 2.0, s)] > by[("image_change", "random", 2.0, s)]
        # PC1 is the common length: its equal-norm edit is its own-σ edit
        for alpha in (1.0, 3.0):
            assert by[("class_change_equal_norm", "pc1", alpha, s)] == by[("class_change", "pc1", alpha, s)]
        # a random direction of h has a much smaller σ than PC1
        assert by[("sigma_over_pc1", "random1", None, s)] < 0.5 and by[("sigma_over_pc1", "pc1", None, s)] == 1.0
    for r in rows:
        if r["measure"] in ("class_change", "class_change_equal_norm", "supervised_success"):
            assert 0.0 <= r["value"] <= 1.0
        if r["measure"].endswith("_trend"):
            assert -1.0 <= r["value"] <= 1.0
        if r["measure"] == "ganspace_step_length":   # σ_j‖u_j‖ ≈ R_j ≤ 1 (R_j on fresh latents); from 1000
            R = float(r["extra"].rsplit("R_j ", 1)[1])  # samples the least-squares map overfits by O(d/N) = 0.1
            assert 0 < r["value"] < 1.1 and 0 < R <= 1 and abs(r["value"] - R) < 0.15, r
    assert meta["classifier_held_out_accuracy"] >= 0.95 and meta["sefa_ms"] > 0
    s = rl.summary(rows)
    assert s["seeds"] == [0, 1]
    for name in ("sefa", "sefa_plain"):
        for alpha in ("0.1", "2"):
            st = s[f"{name}_change_over_random_alpha{alpha}"]
            assert len(st) == 5 and all(x["n"] == 2 and x["min"] <= x["mean"] <= x["max"] for x in st)
    for key in ("own_sigma_1sigma", "equal_norm_1sigma", "own_sigma_3sigma", "equal_norm_3sigma"):
        assert set(s[f"pc_over_random_{key}"]) == {"pc1", "pc2"} and s[f"random_class_change_{key}"]["n"] == 2
    assert s["pc1_sigma_over_random_sigma"]["min"] > 2
    # with 4 DDIM steps the asymmetric reverse process makes no difference (at the 25 steps of the full
    # run asymmetric=False changes the image about a third to half as much; test_digits_diffusion: 10 steps)
    for alpha in (1, 3):
        st = s[f"asymmetric_false_over_asymmetric_rms_{alpha}sigma"]
        assert st["n"] == 4 and 0.95 < st["min"] <= st["max"] < 1.05, st


def test_write_table(tiny, tmp_path):
    rows, meta = tiny
    df = write_table(rows, rl.NAME, tmp_path, meta)
    assert len(df) == len(rows)
    # every target writes DIR/NAME.json with NAME the CLI's target name
    assert rl.NAME == "latent-directions" and cli.REPRODUCE_TARGETS[rl.NAME] == "latent_directions"
    doc = json.loads((tmp_path / "latent-directions.json").read_text())
    assert doc["meta"]["h_dim"] == 1536 and len(doc["rows"]) == len(rows)
    assert (tmp_path / "latent-directions.csv").read_text().startswith("model,measure,direction,alpha,value,extra,seed")


def test_main_writes_the_target_name(tmp_path, monkeypatch, capsys):
    """``main`` (the CLI's entry) writes ``DIR/latent-directions.json`` and says so."""
    monkeypatch.setattr(rl, "run", lambda quick, progress, meta, cancel=None: [
        {"model": "m", "measure": "x", "direction": "d", "alpha": None, "value": 1.0, "extra": "", "seed": 0}])
    monkeypatch.setattr(rl, "summary", lambda rows: {})
    rl.main(quick=True, out=tmp_path)
    assert (tmp_path / "latent-directions.json").is_file() and (tmp_path / "latent-directions.csv").is_file()
    assert "latent-directions.json" in capsys.readouterr().out
