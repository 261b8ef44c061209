"""``spectral-explorer reproduce eigenspace``: a tiny configuration writes the table and EoRA helps.

The full sweep (3 compressions x 6 ranks x 3 methods on all 36 layers) takes minutes; here
24 calibration + 24 held-out texts, 3-bit RTN, one rank and the five 384-input layers of the
first encoder block.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from spectral_explorer import cli
from spectral_explorer.reproduce import eigenspace as reig
from spectral_explorer.reproduce import write_table

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny():
    layers = [f"encoder.layer.0.{s}" for s in ("attention.self.query", "attention.self.key",
                                               "attention.self.value", "attention.output.dense",
                                               "intermediate.dense")]  # 384 inputs each: cheap eigh
    meta = {}
    calls = []
    rows = reig.run(n_calib=24, n_heldout=24, ranks=(16,), compressions=("rtn3",), layers=layers,
                    progress=lambda f, t: calls.append((f, t)), meta=meta)
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0.0 <= fractions[0]
    return rows, meta, [t for _, t in calls]


def test_target_registered():
    assert cli.REPRODUCE_TARGETS["eigenspace"] == "eigenspace"
    args = cli.build_parser().parse_args(["reproduce", "eigenspace", "--quick", "--out", "x"])
    assert (args.target, args.quick, args.out) == ("eigenspace", True, "x")


def test_rows_columns_and_ranges(tiny):
    rows, meta, lines = tiny
    assert [(r["compression"], r["rank"], r["method"]) for r in rows] == [
        ("rtn3", 16, "none"), ("rtn3", 16, "svd"), ("rtn3", 16, "eora")]
    for r in rows:
        assert tuple(r) == reig.COLUMNS
        assert -1.0 <= r["mean_cosine"] <= 1.0
        assert -1.0 <= r["spearman"] <= 1.0
        assert 0.0 <= r["top1_nn_agreement"] <= 1.0
        assert r["seconds"] >= 0
    assert meta["n_calib"] == 24 and meta["n_heldout"] == 24 and meta["layers"] == 5
    assert len(lines) == 5 and "Grams collected once" in lines[0] and "factorising" in lines[1]
    assert set(meta["factorisation_s"]["rtn3"]) == {"factors_svd_s", "factors_eora_s"}


def test_eora_beats_none_and_svd(tiny):
    rows, _, _ = tiny
    by = {r["method"]: r for r in rows}
    assert by["eora"]["mean_cosine"] >= by["none"]["mean_cosine"]
    assert by["eora"]["spearman"] >= by["none"]["spearman"] - 1e-3
    assert by["eora"]["mean_cosine"] >= by["svd"]["mean_cosine"] - 1e-3


def test_files_written(tiny, tmp_path):
    rows, meta, _ = tiny
    write_table(rows, "eigenspace", tmp_path, meta)
    doc = json.loads((tmp_path / "eigenspace.json").read_text())
    assert doc["rows"] == rows and doc["meta"]["layers"] == 5
    df = pd.read_csv(tmp_path / "eigenspace.csv")
    assert tuple(df.columns) == reig.COLUMNS and len(df) == 3
