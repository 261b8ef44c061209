"""Uploaded files (spectral_explorer.uploads): every format round-trips to the array or graph
it was written from, every bad file is refused with a message that names the file and what was
expected, nothing is unpickled, and the page's upload box never buffers more than the limit."""

from __future__ import annotations

import io
import types

import numpy as np
import pytest
import scipy.sparse as sp
from safetensors.numpy import save as st_save

from spectral_explorer import uploads


def _csv(X, header=None, delimiter=",", labels=None):
    buf = io.StringIO()
    if header:
        buf.write(delimiter.join(header) + "\n")
    for i, row in enumerate(X):
        cells = [repr(float(v)) for v in row] + ([str(labels[i])] if labels is not None else [])
        buf.write(delimiter.join(cells) + "\n")
    return buf.getvalue().encode()


def _npy(arr, **kw):
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5))


@pytest.mark.parametrize("name,data", [
    ("a.csv", _csv(X)),
    ("a.csv", _csv(X, header=[f"f{i}" for i in range(5)])),
    ("a.tsv", _csv(X, delimiter="\t")),
    ("a.txt", _csv(X, delimiter=" ")),
    ("a.txt", _csv(X, delimiter=";", header=list("abcde"))),
    ("a.npy", _npy(X)),
    ("a.npy", _npy(X.astype(np.float32))),
])
def test_points_round_trip_in_every_format(name, data):
    got, color, cols = uploads.parse_points(name, data)
    assert got.dtype == np.float64 and got.shape == X.shape and color is None and len(cols) == 5
    np.testing.assert_allclose(got, X, rtol=1e-6)


def test_points_label_column_and_npz_colour():
    labels = np.array(["ring", "disk"])[RNG.integers(0, 2, 40)]
    got, color, cols = uploads.parse_points("a.csv", _csv(X, header=list("abcde") + ["kind"], labels=labels))
    np.testing.assert_allclose(got, X)
    assert color.tolist() == labels.tolist() and cols == list("abcde")
    # a numeric column named "label" is the colour, as numbers
    got, color, _ = uploads.parse_points("a.csv", _csv(X, header=list("abcde") + ["label"], labels=np.arange(40)))
    assert got.shape == (40, 5) and color.dtype == np.float64 and color.tolist() == list(range(40))
    buf = io.BytesIO()
    np.savez(buf, X=X, color=np.arange(40.0))
    got, color, _ = uploads.parse_points("a.npz", buf.getvalue())
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(color, np.arange(40.0))


@pytest.mark.parametrize("name,data,expected", [
    ("a.xlsx", b"PK..", "unsupported file type .xlsx"),
    ("a.csv", b"", "the file is empty"),
    ("a.csv", b"a,b\n1,2\n3,x\n4,5\n", "data row 2 has a value that is not a number"),
    ("a.csv", b"1,2\n3\n4,5\n", "rows have different numbers of columns"),
    ("a.csv", b"1,2\n3,nan\n4,5\n", "NaN or infinite values in 1 row"),
    ("a.csv", b"1,2\n3,4\n", "at least 3 points"),
    ("a.csv", b"x,y\n", "a header line but no data lines"),
    ("a.csv", b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
    ("a.npy", _npy(np.arange(10.0)), "expected a 2-D array"),
    ("a.npy", _npy(np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True), "pickled data"),
    ("a.npy", b"\x93NUMPY garbage", "not a readable .npy"),
    ("a.npy", _npy(np.array([["a", "b"]] * 3)), "expected a numeric array"),
    ("a.npy", _npy(np.zeros((uploads.MAX_POINTS + 1, 1))), "over the limit"),
    ("a.npy", _npy(np.zeros((3, uploads.MAX_FEATURES + 1))), "over the limit"),
    ("a.npz", b"not a zip", "not a readable .npz"),
])
def test_bad_point_files_are_refused_with_the_file_name_and_what_was_expected(name, data, expected):
    with pytest.raises(ValueError) as err:
        uploads.parse("points", name, data)
    assert str(err.value).startswith(name + ":") and expected in str(err.value)


def test_an_npz_with_pickled_objects_is_never_unpickled():
    buf = io.BytesIO()
    np.savez(buf, X=np.array([object()] * 3, dtype=object))
    with pytest.raises(ValueError, match="pickled data"):
        uploads.parse_points("evil.npz", buf.getvalue())


def test_a_file_over_the_limit_is_refused_before_parsing():
    with pytest.raises(ValueError, match=f"over the {uploads.MAX_UPLOAD_MB} MB limit"):
        uploads.parse_points("big.csv", b"1,2\n" * (uploads.MAX_BYTES // 4 + 1))


def test_edge_lists_and_npz_give_the_same_symmetric_adjacency():
    import networkx as nx

    G = nx.les_miserables_graph()   # string labels: written with integer ids
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    A = nx.to_scipy_sparse_array(G, nodelist=range(len(G)), weight=None, format="csr").astype(float)
    lines = "source,target\n" + "\n".join(f"{u},{v}" for u, v in G.edges())
    got = uploads.parse_graph("les_mis.csv", lines.encode())
    assert (got != got.T).nnz == 0 and got.diagonal().sum() == 0
    np.testing.assert_array_equal(got.toarray(), A.toarray())
    # both directions and a repeated line are one edge; a self-loop is dropped
    got = uploads.parse_graph("g.txt", b"0 1\n1 0\n0 1\n1 2\n2 2\n")
    np.testing.assert_array_equal(got.toarray(), [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(A))
    np.testing.assert_array_equal(uploads.parse_graph("g.npz", buf.getvalue()).toarray(), A.toarray())
    weighted = uploads.parse_graph("w.csv", b"0,1,2.5\n1,2,0.5\n")
    assert weighted[0, 1] == weighted[1, 0] == 2.5


@pytest.mark.parametrize("name,data,expected", [
    ("g.csv", b"0,1\n1,x\n", "line 2 (1 x) is not numeric"),
    ("g.csv", b"0,1,2,3\n", "expected 2 columns"),
    ("g.csv", b"0,-1\n", "non-negative integers"),
    ("g.csv", b"0,1.5\n", "non-negative integers"),
    ("g.csv", b"0,1,-2\n", "weights must be > 0"),
    ("g.csv", b"0,1,nan\n1,2,1\n", "1 edge weight(s) are NaN or infinite"),
    ("g.csv", b"0,0\n1,1\n", "no edges"),
    ("g.csv", b"source,target\n", "no edges"),
    ("g.csv", f"0,{uploads.MAX_NODES}\n".encode(), "over the limit"),
    ("g.npz", b"nope", "not a scipy sparse .npz"),
    ("g.json", b"{}", "unsupported file type .json"),
])
def test_bad_graph_files_are_refused(name, data, expected):
    with pytest.raises(ValueError) as err:
        uploads.parse("graph", name, data)
    assert str(err.value).startswith(name + ":") and expected in str(err.value)


def test_a_non_square_npz_adjacency_is_refused():
    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(np.ones((3, 4))))
    with pytest.raises(ValueError, match="must be square"):
        uploads.parse_graph("rect.npz", buf.getvalue())


def test_weights_from_npy_and_safetensors():
    W = RNG.normal(size=(16, 8)).astype(np.float32)
    np.testing.assert_array_equal(uploads.parse_weights("w.npy", _npy(W)), W)
    data = st_save({"bias": np.zeros(8, np.float32), "layer.weight": W, "other.weight": W.T.copy()})
    got = uploads.parse_weights("m.safetensors", data)
    assert got.shape in {(16, 8), (8, 16)}
    np.testing.assert_array_equal(uploads.parse_weights("m.safetensors", data, name="other.weight"), W.T)
    with pytest.raises(ValueError, match="no tensor named 'x'"):
        uploads.parse_weights("m.safetensors", data, name="x")
    with pytest.raises(ValueError, match="no 2-D tensor"):
        uploads.parse_weights("b.safetensors", st_save({"b": np.zeros(3, np.float32)}))
    with pytest.raises(ValueError, match="not a readable .safetensors"):
        uploads.parse_weights("x.safetensors", b"\x00" * 20)
    with pytest.raises(ValueError, match="w.npy: the weights contain NaN"):
        uploads.parse_weights("w.npy", _npy(np.array([[1.0, np.nan]])))


def test_the_upload_box_drops_an_oversized_file_at_its_first_chunk_and_hands_over_a_good_one():
    from spectral_explorer.explorers._export import Upload

    got = []
    box = Upload(on_file=lambda name, data: got.append((name, data)))
    chunks = uploads.MAX_BYTES // box.chunk_size + 2

    def event(chunk, total, data=b"x", name="big.csv", kind="text/csv"):
        return types.SimpleNamespace(event_name="upload_event",
                                     data=dict(name=name, chunk=chunk, total_chunks=total, data=data, type=kind))
    box._process_event(event(1, chunks))
    box._process_event(event(2, chunks))
    assert got == [("big.csv", None)] and box._file_buffer == {}
    box._process_event(event(1, 2, b"1,2\n", "ok.csv"))
    box._process_event(event(2, 2, b"3,4\n", "ok.csv"))
    assert got[-1] == ("ok.csv", b"1,2\n3,4\n")    # text comes back as bytes
    assert box.value == {} and box._file_buffer == {}   # the widget keeps nothing
