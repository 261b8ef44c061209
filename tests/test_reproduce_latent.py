"""``spectral-explorer reproduce latent-directions``: a tiny configuration writes sensible rows.

The quick run (5000 GANSpace samples × 3 seeds, 128 digits × 11 directions × 6 α) takes a few
minutes; here the same code runs on a few hundred samples and three h directions.
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
    rows = rl.gan_rows(n_samples=1000, n_lat=4, meta=meta, progress=lambda f, t: calls.append(f))
    rows += rl.diffusion_rows(n=40, n_jac=1, n_pcs=1, n_random=1, pairs=((1, 7),), alphas=(-3.0, -1.0, 1.0, 3.0),
                              n_steps=6, meta=meta, progress=lambda f, t: calls.append(f))
    assert calls == sorted(calls) and calls[-1] == 1.0
    return rows, meta


def test_target_registered():
    assert cli.REPRODUCE_TARGETS["latent-directions"] == "latent_directions"
    args = cli.build_parser().parse_args(["reproduce", "latent-directions", "--quick", "--out", "x"])
    assert (args.target, args.quick) == ("latent-directions", True)


def test_rows_cover_every_measure(tiny):
    rows, meta = tiny
    measures = {r["measure"] for r in rows}
    assert {"sefa_vs_ganspace", "image_change", "ganspace_stability", "class_change", "slant_trend", "ink_trend",
            "supervised_success", "projection_slant_reduction"} <= measures
    by = {(r["measure"], r["direction"], r["alpha"]): r["value"] for r in rows}
    assert by[("sefa_vs_ganspace", "sefa1", None)] > 0.9            # the leading directions agree
    assert by[("image_change", "sefa1", 2.0)] > by[("image_change", "random", 2.0)]
    for r in rows:
        if r["measure"] in ("class_change", "supervised_success"):
            assert 0.0 <= r["value"] <= 1.0
        if r["measure"].endswith("_trend"):
            assert -1.0 <= r["value"] <= 1.0
    assert meta["classifier_held_out_accuracy"] >= 0.95 and meta["sefa_ms"] > 0
    s = rl.summary(rows)
    assert len(s["sefa_top3_change_over_random_alpha0.1"]) == 3 == len(s["sefa_top3_change_over_random_alpha2"])
    assert len(s["sefa_plain_top3_change_over_random_alpha0.1"]) == 3
    assert by[("image_change", "sefa_plain1", 2.0)] > by[("image_change", "random", 2.0)]


def test_write_table(tiny, tmp_path):
    rows, meta = tiny
    df = write_table(rows, "latent_directions", tmp_path, meta)
    assert len(df) == len(rows)
    doc = json.loads((tmp_path / "latent_directions.json").read_text())
    assert doc["meta"]["h_dim"] == 1536 and len(doc["rows"]) == len(rows)
    assert (tmp_path / "latent_directions.csv").read_text().startswith("model,measure,direction,alpha,value,extra")
