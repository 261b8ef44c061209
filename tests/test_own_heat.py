"""Own points in the heat-geodesics explorer (``from_points``, the upload path, the shipped example)
and its results out (``table``, ``as_code``): the same numbers as the built-in path, truth-free
scores that agree with scikit-learn, bad objects refused with a message, session privacy, and the
script of ``as_code`` run in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from spectral_explorer import data, uploads
from spectral_explorer.explorers import HeatGeodesicExplorer
from spectral_explorer.explorers import _heat_own as own
from spectral_explorer.explorers._common import SHARED_STAGES

REPO = Path(__file__).resolve().parents[1]


def _knn_kept(X, Y, k=10):
    a = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)
    b = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(return_distance=False)
    return np.mean([len(set(r) & set(s)) / k for r, s in zip(a, b)])


@pytest.fixture(scope="module")
def roll():
    return data.load("swiss_roll", n=400, noise=0.1, seed=3)


def test_from_points_gives_the_built_in_numbers_on_the_same_points(roll):
    built_in = HeatGeodesicExplorer(n=400, seed=3, knn=8)
    mine = HeatGeodesicExplorer.from_points(torch.tensor(roll.X), color=roll.color, name="roll.csv", knn=8,
                                            geodesic_distances=roll.geodesic_distances())
    assert mine.dataset == "upload" and mine.user_data and not built_in.user_data
    np.testing.assert_allclose(mine.embedding, built_in.embedding, rtol=1e-8, atol=1e-8)
    for key in ("heat_spearman", "embedding_spearman", "embedding_pearson", "residual_variance"):
        assert mine.metrics[key] == pytest.approx(built_in.metrics[key], rel=1e-8), key
    mine.t = built_in.t = 2.0   # the same stages rerun on both
    np.testing.assert_allclose(mine.embedding, built_in.embedding, rtol=1e-8, atol=1e-8)
    assert not mine.error and not built_in.error


def test_truth_free_scores_agree_with_scikit_learn(roll):
    ex = HeatGeodesicExplorer.from_points(roll.X)   # no ground truth
    m = ex.metrics
    assert "heat_spearman" not in m and "trustworthiness" in m
    Y = ex.embedding
    assert m["trustworthiness"] == pytest.approx(trustworthiness(roll.X, Y, n_neighbors=10), abs=1e-12)
    assert m["knn_preservation"] == pytest.approx(_knn_kept(roll.X, Y), abs=1e-12)
    assert m["truth_free_points"] == 400 and 0.0 <= m["residual_variance"] <= 1.0
    assert "no ground truth" in ex._metrics_markdown() and "trustworthiness" in ex._metrics_markdown()
    ex.t = 5.0   # a t move: only the t stages (the data's ranks are kept)
    assert "data" not in ex.timings
    assert ex.metrics["trustworthiness"] == pytest.approx(trustworthiness(roll.X, ex.embedding, n_neighbors=10),
                                                          abs=1e-12)


def test_large_clouds_use_landmarks_and_a_stated_subsample():
    X = data.load("s_curve", n=2300, noise=0.05, seed=0).X
    ex = HeatGeodesicExplorer.from_points(X, landmarks=64, compare=[])
    m = ex.metrics
    assert m["landmarks"] == 64 and ex.embedding.shape == (2300, 2)
    rows = own.sample_rows(2300)
    assert m["truth_free_points"] == rows.size == own.TRUST_ROWS
    assert m["trustworthiness"] == pytest.approx(trustworthiness(X[rows], ex.embedding[rows], n_neighbors=10),
                                                 abs=1e-12)
    assert f"on a random {own.TRUST_ROWS} of the 2300 points" in ex._metrics_markdown()


def test_colours_labels_categorical_numbers_continuous_default_first_principal_component(roll):
    labels = np.where(roll.color > np.median(roll.color), "outer", "inner")
    ex = HeatGeodesicExplorer.from_points(roll.X, color=labels)
    c, label = ex._color()
    assert set(np.unique(c)) == {0.0, 1.0} and "0=inner" in label and "1=outer" in label
    assert len(ex._copts()["cmap"]) == 2                        # one palette colour per category
    assert list(ex.table()["label"][:5]) == list(labels[:5])
    ex = HeatGeodesicExplorer.from_points(roll.X, color=roll.color)
    assert ex._copts() == {} and np.allclose(ex._color()[0], roll.color)
    ex = HeatGeodesicExplorer.from_points(roll.X)
    c, label = ex._color()
    Xc = roll.X - roll.X.mean(0)
    pc1 = Xc @ np.linalg.svd(Xc, full_matrices=False)[2][0]
    assert "principal component" in label and abs(np.corrcoef(c, pc1)[0, 1]) == pytest.approx(1.0)


def test_high_dimensional_points_are_drawn_on_their_first_three_principal_components():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 8)) * np.array([5, 3, 2, 0.1, 0.1, 0.1, 0.1, 0.1])
    ex = HeatGeodesicExplorer.from_points(X, name="eight.npy", compare=[])
    X3 = ex._data()["X3"]
    Xc = X - X.mean(0)
    np.testing.assert_allclose(np.abs(X3), np.abs(Xc @ np.linalg.svd(Xc)[2][:3].T), atol=1e-9)
    assert "first 3 principal components" in own.view_title(ex._user, 8)


@pytest.mark.parametrize("X, kw, words", [
    (np.full((30, 2), np.nan), {}, "NaN or infinite values in 30 row(s)"),
    (np.zeros(30), {}, "2-D array"),
    (np.zeros((30, 2, 2)), {}, "2-D array"),
    (np.random.default_rng(0).normal(size=(5, 2)), {}, "20 to 20,000 points"),
    (np.zeros((uploads.MAX_POINTS + 1, 2)), {}, "got 20001"),
    (np.array([["a", "b"]] * 30), {}, "must hold numbers"),
    (np.zeros((30, 2)), {}, "all points equal"),
    (np.random.default_rng(0).normal(size=(30, 2)), {"color": np.arange(29)}, "one entry per point (30)"),
    (np.random.default_rng(0).normal(size=(30, 2)), {"color": np.full(30, np.inf)}, "color holds NaN"),
    (np.random.default_rng(0).normal(size=(30, 2)), {"geodesic_distances": np.zeros((30, 29))}, "(30, 30)"),
    (np.random.default_rng(0).normal(size=(30, 2)), {"geodesic_distances": -np.ones((30, 30))}, "nonnegative"),
])
def test_bad_points_are_refused_with_what_is_wrong(X, kw, words):
    with pytest.raises(ValueError) as info:
        HeatGeodesicExplorer.from_points(X, **kw)
    assert words in str(info.value)


def test_a_user_explorer_never_writes_the_shared_cache(roll):
    HeatGeodesicExplorer(n=300)   # a built-in session fills the shared cache …
    before = set(SHARED_STAGES._values)
    assert before
    ex = HeatGeodesicExplorer.from_points(roll.X + 0.0, compare=["diffusion_map"])
    ex.t = 3.0
    ex.knn = 12
    ex._numerics()
    ex._spectrum()
    ex._heat_column()
    assert set(SHARED_STAGES._values) == before    # … the user's points never enter it
    assert not ex.shared_hits and ex.stage_counts["data"] == 1


def test_the_upload_path_and_the_example_file_use_the_same_parser(roll, tmp_path):
    text = "x,y,z,kind\n" + "".join(f"{float(a)!r},{float(b)!r},{float(c)!r},{'ab'[i % 2]}\n" for i, (a, b, c) in enumerate(roll.X))
    ex = HeatGeodesicExplorer(n=300)
    ex._on_upload(uploads.parse("points", "mine.csv", text.encode()), "mine.csv")
    ref = HeatGeodesicExplorer.from_points(roll.X, color=np.array(list("ab") * 200))
    np.testing.assert_allclose(ex.embedding, ref.embedding, rtol=1e-10, atol=1e-10)
    assert ex.dataset == "upload" and ex.example == "" and "mine.csv" in ex.as_code()
    assert ex.export_name() == "heat_geodesic_mine_t0.2"
    ex.dataset = "sphere"                       # back to a built-in data set …
    assert ex.embedding.shape == (300, 2) and not ex.error
    ex.dataset = "upload"                       # … and to the held points again
    np.testing.assert_allclose(ex.embedding, ref.embedding, rtol=1e-10, atol=1e-10)

    ex.load_example()
    X, color, _ = uploads.parse("points", own.EXAMPLE, open(uploads.example_path(own.EXAMPLE), "rb").read())
    assert ex.example == own.EXAMPLE and np.array_equal(ex._user["X"], X)
    assert ex.metrics["trustworthiness"] > 0.95   # the knot's heat geodesics: a circle


def test_the_shipped_example_is_regenerated_byte_for_byte():
    with open(uploads.example_path(own.EXAMPLE), encoding="utf-8") as f:
        assert f.read() == own.make_example()


def test_a_reload_with_dataset_upload_asks_for_the_file_and_keeps_a_working_view():
    ex = HeatGeodesicExplorer(n=300)
    ex.apply_url({"dataset": "upload"})
    assert ex.dataset == "swiss_roll" and "upload the file again" in ex.error
    assert ex.embedding.shape == (300, 2)
    ex.dataset = "sphere"                      # choosing a data set clears the message
    assert "upload" not in ex.error
    ex.apply_url({"dataset": "upload", "example": own.EXAMPLE})   # a shipped example reloads itself
    assert ex.dataset == "upload" and ex._npts() == 600 and not ex.error


def test_table_holds_the_embedding_with_its_colour_and_index():
    ex = HeatGeodesicExplorer(n=300)
    df = ex.table()
    assert list(df.columns) == ["index", "x", "y", "intrinsic_coordinate"] and df.shape == (300, 4)
    np.testing.assert_array_equal(df[["x", "y"]].to_numpy(), ex.embedding)
    assert ex.export_name() == "heat_geodesic_swiss_roll_t0.2"


def _run(fresh_python, code, tmp_path):
    """``code`` run in a fresh process (tests/_fresh.py): its ``result``."""
    return fresh_python.run(code, tmp_path)[0]


@pytest.mark.parametrize("params", [
    dict(n=300, t=3.0, knn=8),
    dict(n=1100, landmarks=40, weights="alpha", method="chebyshev", order=40, t=10.0, denoise=2.0, compare=[]),
    dict(n=200, method="exact", sigma=0.5, formula="varadhan", dataset="sphere"),
])
def test_as_code_run_in_a_fresh_interpreter_reproduces_the_embedding(params, tmp_path, fresh_python):
    ex = HeatGeodesicExplorer(**params)
    assert not ex.error
    code = ex.as_code()
    assert "result =" in code and "data.load(" in code
    np.testing.assert_allclose(_run(fresh_python, code, tmp_path), ex.embedding, rtol=1e-7, atol=1e-7)


def test_as_code_for_the_example_file_and_for_an_array(tmp_path, roll, fresh_python):
    ex = HeatGeodesicExplorer(n=300, t=1.0)
    ex.load_example()
    np.testing.assert_allclose(_run(fresh_python, ex.as_code(), tmp_path), ex.embedding, rtol=1e-7, atol=1e-7)
    mine = HeatGeodesicExplorer.from_points(roll.X)
    code = mine.as_code()
    assert "X = ...   # your (n, d) array" in code
    np.save(tmp_path / "X.npy", roll.X)
    code = code.replace("X = ...", f"X = np.load({str(tmp_path / 'X.npy')!r})")
    np.testing.assert_allclose(_run(fresh_python, code, tmp_path), mine.embedding, rtol=1e-7, atol=1e-7)


def test_json_of_metrics_is_plain(roll):
    ex = HeatGeodesicExplorer.from_points(roll.X)
    json.dumps(ex.metrics)


def test_a_pasted_300_digit_integer_reaches_the_range_check_in_value_and_value_throttled():
    """The careless class's paste into Knn: the page sends the number as a float in ``value`` and
    ``value_throttled``; both arrive as the exact int, so the explorer reports it against its range."""
    from spectral_explorer.explorers._widgets import SafeIntInput
    huge = float("2" + "0" * 299)
    msg = SafeIntInput(value=10)._process_property_change({"value": huge, "value_throttled": huge})
    assert msg["value"] == msg["value_throttled"] == int(huge) and isinstance(msg["value_throttled"], int)
    ex = HeatGeodesicExplorer(n=220)
    box = ex.int_input("knn")
    import param
    with param.edit_constant(box):   # as Panel applies a page's message
        box.param.update(**box._process_property_change({"value": huge, "value_throttled": huge}))
    assert ex.knn == 10 and "knn in 1…200" in ex.error and box.value == 10


def test_the_tour_step_uploads_the_shipped_example_and_its_quoted_numbers_hold(roll):
    ex = HeatGeodesicExplorer.from_points(roll.X, name="mine.csv")   # even over a user's own upload
    steps = ex.tour_steps()
    n = next(i for i, s in enumerate(steps, 1) if s.values.get("example") == own.EXAMPLE)
    ex.apply_tour_step(n)
    assert ex.dataset == "upload" and ex._user["example"] == own.EXAMPLE and not ex.error
    m, answer = ex.metrics, steps[n - 1].answer
    Y = ex.embedding - ex.embedding.mean(axis=0)
    r = np.hypot(Y[:, 0], Y[:, 1])
    assert f"Trustworthiness {m['trustworthiness']:.3f}" in answer
    assert f"{100 * m['knn_preservation']:.0f} %" in answer
    assert f"residual variance is {m['residual_variance']:.3f}" in answer
    assert f"radius varies by {100 * r.std() / r.mean():.1f} %" in answer


def test_an_uploaded_session_is_freed_when_its_page_closes(roll):
    """Nothing outside the session keeps the user's points: once Panel has cleaned the closed page
    (what a served session's end does), the explorer and its arrays are collected."""
    import gc
    import weakref

    import panel as pn
    from bokeh.document import Document

    ex = HeatGeodesicExplorer(n=300)
    layout = ex.panel()
    root = layout.get_root(Document())
    ex._on_upload(uploads.parse("points", "mine.npy", _npy_bytes(roll.X)), "mine.npy")
    assert ex._npts() == 400 and ex.user_data
    gone = weakref.ref(ex)
    layout._cleanup(root)
    pn.state._views.pop(root.ref["id"], None)
    del ex, layout, root
    gc.collect()
    assert gone() is None


def _npy_bytes(X):
    import io
    buf = io.BytesIO()
    np.save(buf, X)
    return buf.getvalue()
