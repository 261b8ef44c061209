"""Your own graph in the positional-encoding explorer (issue 22): ``from_graph`` on graphs the project
never uses, agreement with an independent Laplacian (scipy's csgraph + numpy's eigh), the three input
forms, bad inputs, large graphs (sparse path), uploads (the parser path and the shipped example), the
reload message, session privacy, ``table()`` and ``as_code()`` run in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import holoviews as hv
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import laplacian as csgraph_laplacian

from spectral_explorer import eigen, graphs, uploads
from spectral_explorer import positional_encodings as pe
from spectral_explorer.explorers import PositionalEncodingExplorer as PEX
from spectral_explorer.explorers import _pe_own as own
from spectral_explorer.explorers._common import SHARED_STAGES

hv.extension("bokeh", logo=False)
REPO = Path(__file__).resolve().parents[1]


def _reference(A, k=None):
    """Independent eigenpairs: scipy's normalized Laplacian, numpy's dense eigh, signs fixed."""
    L = csgraph_laplacian(sp.csr_matrix(A, dtype=float), normed=True)
    w, V = np.linalg.eigh(L.toarray())
    if k is not None:
        w, V = w[:k], V[:, :k]
    return w, eigen.fix_signs(V)


def _assert_same_eigenspaces(w, V, w_ref, V_ref, tol=1e-6, atol=1e-8):
    """Same eigenvalues; for each eigenvalue group the same projector (bases may differ inside)."""
    np.testing.assert_allclose(w, w_ref[: w.size], atol=atol)
    for a, b in eigen.eigenvalue_groups(w_ref[: w.size], tol):
        np.testing.assert_allclose(V[:, a:b] @ V[:, a:b].T, V_ref[:, a:b] @ V_ref[:, a:b].T, atol=1e-7)
        if b - a == 1:
            np.testing.assert_allclose(V[:, a], V_ref[:, a], atol=1e-7)   # the sign convention too


def _relabelled_grid():
    G = nx.grid_2d_graph(5, 7)
    return nx.relabel_nodes(G, {v: f"r{v[0]}c{v[1]}" for v in G.nodes})


def _render_every_view(ex):
    for enc in ("lappe", "rwpe", "sinusoidal"):
        ex.encoding = enc
        assert not ex.error, ex.error
        hv.render(ex.view_graph())
    ex.encoding = "lappe"
    ex.index = 2
    ex.open_stability()
    for view in (ex.view_graph(), ex.view_spectrum(), ex.view_projector(), ex.view_stability()):
        hv.render(view)
    assert ex.stability["spe"] is not None and np.isfinite(ex.stability["raw"])
    assert "multiplicity" in ex.ambiguity_text()
    assert not ex.error, ex.error


@pytest.mark.parametrize("make", [
    lambda: nx.les_miserables_graph(),                                  # string labels, weighted
    lambda: nx.random_geometric_graph(120, 0.2, seed=3),                 # not in the catalogue
    _relabelled_grid,                                                    # repeated eigenvalues, str labels
], ids=["les_miserables_weighted", "random_geometric", "relabelled_grid"])
def test_from_graph_every_view_and_independent_laplacian(make):
    G = make()
    ex = PEX.from_graph(G, name="mine")
    assert ex.graph == "upload" and ex.user_data and not ex.error
    w, V = ex.eigenpairs
    assert w.shape == (G.number_of_nodes(),) and V.shape == (G.number_of_nodes(),) * 2
    A = nx.to_scipy_sparse_array(G, nodelist=list(G.nodes), weight="weight", format="csr")
    _assert_same_eigenspaces(w, V, *_reference(A))
    assert list(ex.table()["label"]) == [str(v) for v in G.nodes]
    _render_every_view(ex)


def test_unweighted_les_miserables_equals_the_built_in_graph():
    mine = PEX.from_graph(nx.les_miserables_graph(), weight=None)
    built_in = PEX(graph="les_miserables")
    for a, b in zip(mine.eigenpairs, built_in.eigenpairs):
        np.testing.assert_array_equal(a, b)
    mine.encoding = built_in.encoding = "rwpe"
    np.testing.assert_allclose(mine.table().iloc[:, 2:].to_numpy(), built_in.table().iloc[:, 2:].to_numpy())
    assert mine.table()["label"][0] == "Napoleon"


def test_three_input_forms_give_identical_results():
    G = nx.random_geometric_graph(80, 0.25, seed=7)
    A = nx.to_scipy_sparse_array(G, format="csr", weight=None)
    E = np.array(list(G.edges)).T
    forms = [PEX.from_graph(G, weight=None), PEX.from_graph(sp.coo_matrix(A)), PEX.from_graph(E),
             PEX.from_graph(torch.as_tensor(E[::-1].copy())),          # reversed direction: same graph
             PEX.from_graph(np.concatenate([E, E[::-1]], 1))]          # both directions listed
    w0, V0 = forms[0].eigenpairs
    for ex in forms[1:]:
        w, V = ex.eigenpairs
        np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(V, V0)
        np.testing.assert_array_equal(ex.table().iloc[:, 2:].to_numpy(), forms[0].table().iloc[:, 2:].to_numpy())


@pytest.mark.parametrize("bad, words", [
    (nx.empty_graph(5), "no edges"),
    (nx.Graph([(0, 0), (1, 1)]), "only self-loops"),
    (sp.csr_matrix(np.ones((3, 4))), "square"),
    (sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]])), "negative"),
    (sp.csr_matrix(np.array([[0, np.nan], [np.nan, 0]])), "NaN"),
    (np.array([[0, 1, 2]]), "shape (2, E)"),
    (np.zeros((3, 4), dtype=int), "shape (2, E)"),
    (np.array([[0, -1], [1, 2]]), "non-negative"),
    (np.zeros((2, 0), dtype=int), "no edges"),
    (np.array([[0.5, 1.0], [1.0, 2.0]]), "integer"),
    (np.array([[0, uploads.MAX_NODES], [1, 2]]), "over the limit"),
    (nx.DiGraph([(0, 1)]), "undirected"),
    ("0 1\n1 2", "expected a networkx graph"),
])
def test_bad_graphs_are_refused_with_the_reason(bad, words):
    with pytest.raises(ValueError, match=None) as info:
        PEX.from_graph(bad)
    assert words in str(info.value), str(info.value)


def test_too_many_nodes_in_a_networkx_graph():
    with pytest.raises(ValueError, match="over the limit"):
        graphs.adjacency_from_graph(nx.path_graph(50), max_nodes=10)


def test_disconnected_graph_is_handled_like_a_built_in_one():
    G = nx.disjoint_union(nx.cycle_graph(8), nx.path_graph(5))
    ex = PEX.from_graph(G)
    w, _ = ex.eigenpairs
    assert np.sum(w < 1e-10) == 2 and not ex.error          # one zero eigenvalue per component
    assert "2 connected components" in own.summary_markdown(ex)
    built_in = PEX(graph="erdos_renyi", n=30, p=0.05, seed=1)   # the built-in path: the same convention
    comps = nx.number_connected_components(graphs.named_graph("erdos_renyi", n=30, p=0.05, seed=1))
    assert comps > 1 and np.sum(built_in.eigenpairs[0] < 1e-10) == comps


def test_large_graph_uses_the_sparse_path_and_says_what_it_does_not_offer():
    G = nx.random_geometric_graph(1500, 0.06, seed=1)
    ex = PEX.from_graph(G)
    w, V = ex.eigenpairs
    assert 20 <= w.size <= pe.PARTIAL_K and V.shape == (1500, w.size)
    A = nx.to_scipy_sparse_array(G, format="csr")
    _assert_same_eigenspaces(w, V, *_reference(A, w.size))
    ex.index = 3
    pr = ex.projector
    assert pr["P"] is None and pr["bins"] == 3 and pr["image"].shape == (500, 500) and pr["dP"] < 1e-10
    ex.encoding = "rwpe"
    np.testing.assert_allclose(ex.table().iloc[:, 2:].to_numpy(), pe.random_walk_pe(A.toarray(), 16).numpy(),
                               atol=1e-12)
    assert ex._layout().shape == (1500, 2) and np.isfinite(ex._layout()).all()
    ex.encoding = "lappe"
    ex.open_stability()
    assert "offered on graphs of up to 1,000 nodes" in ex.error
    hv.render(ex.view_graph())
    hv.render(ex.view_projector())


def test_upload_parser_path_and_example_file_match_the_built_in_karate_club(tmp_path):
    path = uploads.example_path(own.EXAMPLE_FILE)
    with open(path) as f:
        assert f.read() == Path(own.write_example(str(tmp_path / "k.csv"))).read_text()   # reproducible
    ex = PEX()
    with open(path, "rb") as f:
        A = uploads.parse("graph", own.EXAMPLE_FILE, f.read())
    own.load_user(ex, A, own.EXAMPLE_FILE, ("upload", own.EXAMPLE_FILE, True))
    assert ex.graph == "upload" and ex.user_data
    for a, b in zip(ex.eigenpairs, PEX(graph="karate_club").eigenpairs):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert "uploads.example_path('karate_club_edges.csv')" in ex.as_code()


def test_example_button_loads_through_the_parser():
    import panel as pn

    ex = PEX()
    panel = ex.panel()
    button = next(w for w in panel.select(pn.widgets.Button) if "example" in w.name)
    button.clicks += 1
    assert ex.graph == "upload" and ex._graph()["n"] == 34 and not ex.error
    assert ex.export_name() == "pe_lappe_karate_club_edges"


def test_reload_with_graph_upload_says_upload_again_and_shows_the_cycle():
    ex = PEX(graph="upload")
    assert ex.graph == "cycle" and "upload the file again" in ex.error
    assert ex.eigenpairs[0].size == ex.n
    ex.graph = "upload"                                    # chosen in the menu with nothing uploaded
    assert ex.graph == "cycle" and "upload the file again" in ex.error
    ex.graph = "path"                                      # moving on clears the message
    assert not ex.error


def test_a_user_graph_never_enters_the_shared_cache():
    before = (SHARED_STAGES.hits, SHARED_STAGES.misses, set(SHARED_STAGES._values))
    ex = PEX.from_graph(nx.random_geometric_graph(60, 0.3, seed=11))
    for enc in ("lappe", "rwpe", "sinusoidal"):
        ex.encoding = enc
        ex.table()
    ex.encoding = "lappe"
    ex.index = 4
    ex.open_stability()
    ex.graph = "cycle"                                     # even built-in graphs stay in the session now
    ex.graph = "upload"
    after = (SHARED_STAGES.hits, SHARED_STAGES.misses, set(SHARED_STAGES._values))
    assert after == before
    assert not any("upload" in str(k) for k in SHARED_STAGES._values)


def test_table_columns_and_shape():
    ex = PEX(graph="cycle", n=40, index=35)
    t = ex.table()
    a, b = ex.projector["group"]                       # λ_35 of C_40 is a repeated pair: both columns shown
    assert list(t.columns[:3]) == ["node", "label", "v_0 (λ=0.000000)"] and t.shape == (40, 2 + b) and b >= 36
    ex.index = 3
    assert ex.table().shape == (40, 2 + 32)
    ex.encoding = "rwpe"
    assert list(ex.table().columns[2:4]) == ["RW_1", "RW_2"] and ex.table().shape == (40, 2 + ex.rw_steps)
    ex.encoding = "sinusoidal"
    assert ex.table().shape == (40, 2 + ex.sin_dim) and ex.table().columns[-1] == f"PE_{ex.sin_dim - 1}"


def _run_codes(fresh_python, codes, cwd) -> list[np.ndarray]:
    """Run each script in a fresh process of its own (tests/_fresh.py); their ``result``s."""
    return [np.asarray(fresh_python.run(code, cwd)[0]) for code in codes]


def test_as_code_reproduces_the_shown_encoding_in_a_fresh_interpreter(tmp_path, fresh_python):
    cases = []
    ex = PEX(graph="cycle", n=16, index=3, angle=60.0, flip_sign=True)    # rotated inside a repeated pair
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    ex = PEX(graph="grid", rows=3, n=5, encoding="rwpe", index=2, rw_steps=5)
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    ex = PEX(graph="karate_club", encoding="sinusoidal", sin_dim=6)
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    ex = PEX()
    with open(uploads.example_path(own.EXAMPLE_FILE), "rb") as f:
        own.load_user(ex, uploads.parse("graph", own.EXAMPLE_FILE, f.read()), own.EXAMPLE_FILE,
                      ("upload", own.EXAMPLE_FILE, True))
    ex.index = 5
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    # a large uploaded graph (the sparse path), the file in the script's folder
    G = nx.random_geometric_graph(1200, 0.07, seed=5)
    data = "".join(f"{u} {v}\n" for u, v in G.edges).encode()
    (tmp_path / "mine.txt").write_bytes(data)
    ex = PEX()
    own.load_user(ex, uploads.parse("graph", "mine.txt", data), "mine.txt", ("upload", "mine.txt", False))
    ex.index = 4
    assert ex.eigenpairs[0].size < 1200
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    ex.encoding = "rwpe"
    cases.append((ex.as_code(), ex.table().iloc[:, 2:].to_numpy()))
    assert "np.radians(60.0)" in cases[0][0] and "*= -1.0" in cases[0][0]
    assert "open('mine.txt', 'rb')" in cases[-1][0]
    code = PEX.from_graph(nx.les_miserables_graph()).as_code()
    assert "G = ...  # your networkx graph" in code and "weight='weight'" in code
    results = _run_codes(fresh_python, [c for c, _ in cases], tmp_path)
    for got, (_, expected) in zip(results, cases):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_weighted_npz_upload_keeps_its_weights(tmp_path):
    import io

    rng = np.random.default_rng(0)
    G = nx.random_geometric_graph(50, 0.35, seed=2)
    A = nx.to_scipy_sparse_array(G, format="csr", dtype=float)
    A.data = rng.uniform(0.5, 3.0, A.nnz)
    A = sp.csr_matrix(A.maximum(A.T))
    buf = io.BytesIO()
    sp.save_npz(buf, A)
    ex = PEX()
    own.load_user(ex, uploads.parse("graph", "w.npz", buf.getvalue()), "w.npz", ("upload", "w.npz", False))
    assert "weighted" in own.summary_markdown(ex)
    _assert_same_eigenspaces(*ex.eigenpairs, *_reference(A))


def test_the_example_file_is_packaged():
    import fnmatch
    import tomllib

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    rel = f"assets/examples/{own.EXAMPLE_FILE}"
    assert any(fnmatch.fnmatch(rel, p) for p in patterns["spectral_explorer"]), patterns
    assert (REPO / "spectral_explorer" / rel).stat().st_size < 2000          # small
