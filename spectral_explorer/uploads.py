"""Files a user uploads, parsed into the objects the explorers' ``from_*`` classmethods take.

One module for every upload, so the formats, the limits and the safety rules live in one place:

- **points** (heat geodesics): CSV / TSV / TXT (comma, tab, semicolon or blank separated, with
  or without a header line; a last column that is mostly text, or whose header is ``label``,
  ``class``, ``color``, ``target`` …, is the colour/label column),
  ``.npy`` or ``.npz`` (the array named ``X`` or the only 2-D array; an optional 1-D ``color``);
- **graph** (positional encodings): an edge list CSV / TXT (two integer columns ``source target``
  and an optional weight, with or without a header) or a ``.npz`` scipy sparse adjacency
  (:func:`scipy.sparse.save_npz`);
- **weights** (a 2-D weight matrix): ``.npy`` or ``.safetensors`` (the first 2-D tensor, or the
  one named ``name``).

Safe by construction: ``np.load(..., allow_pickle=False)`` and safetensors only — nothing a user
uploads is unpickled; every limit is checked on the bytes and the parsed shape before any
computation.  Every rejection is a ``ValueError`` whose message names the file and what was
expected.  Nothing here imports Panel: the dashboards call :func:`parse`, scripts may too.

>>> X, color, cols = parse_points("pts.csv", b"x,y,label\\n0,1,a\\n1,2,b\\n2,0,a\\n")
>>> X.shape, color.tolist(), cols
((3, 2), ['a', 'b', 'a'], ['x', 'y'])
>>> parse_points("pts.csv", b"0,1\\n1,nan\\n2,2\\n")
Traceback (most recent call last):
...
ValueError: pts.csv: the points contain NaN or infinite values in 1 row(s); expected finite numbers
"""

from __future__ import annotations

import csv
import io
import os
import zipfile

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_UPLOAD_MB", "MAX_BYTES", "MAX_POINTS", "MAX_FEATURES", "MAX_NODES", "MAX_EDGES",
           "FORMATS", "parse", "parse_points", "parse_graph", "parse_weights", "describe_limits", "example_path"]

#: largest file a dashboard accepts (checked in the browser before the upload starts, and again here)
MAX_UPLOAD_MB = 25
MAX_BYTES = MAX_UPLOAD_MB * 2**20
#: largest point cloud (rows × columns); above the live size the heat page uses landmarks
MAX_POINTS = 20_000
MAX_FEATURES = 1_000
#: largest graph
MAX_NODES = 20_000
MAX_EDGES = 500_000
#: largest weight matrix (entries)
MAX_WEIGHT_ENTRIES = 4_000_000

#: a last column with one of these names is the colour/label column, also when it is numeric
LABEL_NAMES = ("label", "labels", "class", "color", "colour", "target", "y", "category")

#: the file name endings each kind accepts
FORMATS = {
    "points": (".csv", ".tsv", ".txt", ".npy", ".npz"),
    "graph": (".csv", ".tsv", ".txt", ".edgelist", ".npz"),
    "weights": (".npy", ".safetensors"),
}


def describe_limits(kind: str) -> str:
    """One line for the page beside an upload control: formats and limits."""
    size = f"up to {MAX_UPLOAD_MB} MB"
    if kind == "points":
        return (f"CSV/TSV/TXT (header optional; a text last column = labels), .npy or .npz · {size} · "
                f"n ≤ {MAX_POINTS:,} points, d ≤ {MAX_FEATURES:,} features")
    if kind == "graph":
        return (f"edge list CSV/TXT (`source target [weight]`, header optional) or scipy .npz · {size} · "
                f"≤ {MAX_NODES:,} nodes, ≤ {MAX_EDGES:,} edges")
    if kind == "weights":
        return f"a 2-D matrix as .npy or .safetensors · {size} · ≤ {MAX_WEIGHT_ENTRIES:,} entries"
    raise ValueError(f"kind must be one of {', '.join(FORMATS)}; got {kind!r}")


def example_path(filename: str) -> str:
    """Path of an example file shipped with the package (``spectral_explorer/assets/examples``)."""
    path = os.path.join(os.path.dirname(__file__), "assets", "examples", filename)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no shipped example named {filename!r}")
    return path


def parse(kind: str, filename: str, data: bytes):
    """Parse ``data`` (the bytes of ``filename``) as ``kind`` (``"points"``, ``"graph"`` or
    ``"weights"``); see the module docstring for what each returns."""
    parser = {"points": parse_points, "graph": parse_graph, "weights": parse_weights}.get(kind)
    if parser is None:
        raise ValueError(f"kind must be one of {', '.join(FORMATS)}; got {kind!r}")
    return parser(filename, data)


# ---------------------------------------------------------------------- helpers
def _check_file(kind: str, filename: str, data) -> str:
    name = str(filename or "")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"{name or 'the file'}: expected the file's bytes, got {type(data).__name__}")
    ext = os.path.splitext(name.lower())[1]
    if ext not in FORMATS[kind]:
        raise ValueError(f"{name or 'the file'}: unsupported file type {ext or '(none)'}; expected one of "
                         f"{', '.join(FORMATS[kind])}")
    if len(data) > MAX_BYTES:
        raise ValueError(f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_MB} MB limit")
    if len(data) == 0:
        raise ValueError(f"{name}: the file is empty")
    return ext


def _npy(name: str, data: bytes) -> np.ndarray:
    if not bytes(data[:6]) == b"\x93NUMPY":
        raise ValueError(f"{name}: not a readable .npy array (no NumPy header); expected a file saved by numpy.save")
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(f"{name}: holds Python objects (pickled data), which are never loaded; "
                             "expected a numeric array") from None
        raise ValueError(f"{name}: not a readable .npy array ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file
        raise ValueError(f"{name}: not a readable .npy array ({type(exc).__name__})") from None


def _npz(name: str, data: bytes) -> dict:
    if not bytes(data[:4]) == b"PK\x03\x04":
        raise ValueError(f"{name}: not a readable .npz archive (not a zip file); expected a file saved by numpy.savez")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(f"{name}: holds Python objects (pickled data), which are never loaded; "
                             "expected numeric arrays") from None
        raise ValueError(f"{name}: not a readable .npz archive ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{name}: not a readable .npz archive ({type(exc).__name__})") from None


def _text(name: str, data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not a UTF-8 text file; expected CSV/TSV/TXT text") from None


def _rows(name: str, text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{name}: no data lines")
    sample = "\n".join(lines[:20])
    if "\t" in sample:
        delim = "\t"
    elif "," in sample:
        delim = ","
    elif ";" in sample:
        delim = ";"
    else:
        return [ln.split() for ln in lines]
    return [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delim)]


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _finite(name: str, arr: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr.reshape(arr.shape[0], -1))).any(axis=1).sum())
        raise ValueError(f"{name}: the {what} contain NaN or infinite values in {bad} row(s); expected finite numbers")
    return arr


# ---------------------------------------------------------------------- points
def parse_points(filename: str, data: bytes):
    """``(X, color, columns)``: ``X`` float64 (n, d); ``color`` a 1-D array (numbers or labels)
    or None; ``columns`` the names of X's columns (from the header, else ``x0, x1, …``)."""
    ext = _check_file("points", filename, data)
    color = None
    if ext == ".npy":
        X = _npy(filename, data)
        columns = None
    elif ext == ".npz":
        arrays = _npz(filename, data)
        if "X" in arrays:
            X = arrays["X"]
        else:
            two_d = [k for k, v in arrays.items() if v.ndim == 2]
            if len(two_d) != 1:
                raise ValueError(f"{filename}: expected an array named 'X' or exactly one 2-D array; "
                                 f"found {', '.join(f'{k} {v.shape}' for k, v in arrays.items()) or 'none'}")
            X = arrays[two_d[0]]
        color = arrays.get("color", arrays.get("labels"))
        columns = None
    else:
        rows = _rows(filename, _text(filename, data))
        header = None
        if not all(_is_number(c) for c in rows[0][:-1] if c) or (
                not _is_number(rows[0][-1]) and len(rows) > 1 and _is_number(rows[1][-1])):
            header, rows = rows[0], rows[1:]
        if not rows:
            raise ValueError(f"{filename}: a header line but no data lines")
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            bad = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
            raise ValueError(f"{filename}: rows have different numbers of columns ({len(rows[0])} in the first, "
                             f"{len(rows[bad])} in data row {bad + 1}); expected a table")
        labels = None
        named = header is not None and header[-1].strip().lower() in LABEL_NAMES
        text = sum(not _is_number(r[-1]) for r in rows)
        if len(rows[0]) > 1 and (named or text > len(rows) / 2):   # a label column (named, or mostly text)
            labels = np.array([r[-1] for r in rows])
            if all(_is_number(v) for v in labels):
                labels = labels.astype(np.float64)
            rows = [r[:-1] for r in rows]
            if header is not None:
                header = header[:-1]
        try:
            X = np.array([[float(c) for c in r] for r in rows], dtype=np.float64)
        except ValueError:
            bad = next(i for i, r in enumerate(rows) if not all(_is_number(c) for c in r))
            raise ValueError(f"{filename}: data row {bad + 1} has a value that is not a number "
                             f"({', '.join(rows[bad][:6])}); expected numeric columns") from None
        color = labels
        columns = [h or f"x{i}" for i, h in enumerate(header)] if header is not None else None
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{filename}: expected a numeric array, got dtype {X.dtype}")
    if X.ndim == 1:
        raise ValueError(f"{filename}: expected a 2-D array (n points, d features), got shape {X.shape}")
    if X.ndim != 2:
        raise ValueError(f"{filename}: expected a 2-D array (n points, d features), got shape {X.shape}")
    n, d = X.shape
    if n < 3 or d < 1:
        raise ValueError(f"{filename}: expected at least 3 points with at least 1 feature, got shape {X.shape}")
    if n > MAX_POINTS or d > MAX_FEATURES:
        raise ValueError(f"{filename}: {n:,} points × {d:,} features is over the limit "
                         f"(n ≤ {MAX_POINTS:,}, d ≤ {MAX_FEATURES:,})")
    X = _finite(filename, X.astype(np.float64), "points")
    if color is not None:
        color = np.asarray(color)
        if color.shape != (n,):
            raise ValueError(f"{filename}: the colour column has shape {color.shape}; expected ({n},)")
    columns = columns if columns and len(columns) == d else [f"x{i}" for i in range(d)]
    return np.ascontiguousarray(X), color, columns


# ---------------------------------------------------------------------- graphs
def parse_graph(filename: str, data: bytes) -> sp.csr_matrix:
    """A symmetric scipy CSR adjacency (float64, zero diagonal) from an edge list or a .npz.

    Edge lists name nodes by non-negative integers; nodes ``0 … max id`` all exist (an id that
    appears in no edge is an isolated node).  Weights must be positive; an edge listed in both
    directions is one edge."""
    ext = _check_file("graph", filename, data)
    if ext == ".npz":
        if not bytes(data[:4]) == b"PK\x03\x04":
            raise ValueError(f"{filename}: not a scipy sparse .npz (not a zip file); expected a file saved by "
                             "scipy.sparse.save_npz")
        try:
            A = sp.load_npz(io.BytesIO(data))   # scipy loads with allow_pickle=False
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise ValueError(f"{filename}: holds Python objects (pickled data), which are never loaded; "
                                 "expected a scipy sparse matrix saved by scipy.sparse.save_npz") from None
            raise ValueError(f"{filename}: not a scipy sparse .npz ({exc}); expected a file saved by "
                             "scipy.sparse.save_npz") from None
        except Exception as exc:  # noqa: BLE001 - a corrupt file or a plain npz
            raise ValueError(f"{filename}: not a scipy sparse .npz ({type(exc).__name__}); expected a file "
                             "saved by scipy.sparse.save_npz") from None
        A = sp.csr_matrix(A, dtype=np.float64)
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{filename}: the adjacency must be square, got shape {A.shape}")
        if A.shape[0] > MAX_NODES:
            raise ValueError(f"{filename}: {A.shape[0]:,} nodes is over the limit of {MAX_NODES:,}")
        if A.nnz and not np.isfinite(A.data).all():
            raise ValueError(f"{filename}: the adjacency contains NaN or infinite entries; expected finite weights")
        if (A.data < 0).any():
            raise ValueError(f"{filename}: the adjacency has negative weights; expected weights > 0")
        A = A.maximum(A.T).tocsr()
    else:
        rows = _rows(filename, _text(filename, data))
        if rows and not all(_is_number(c) for c in rows[0]):
            rows = rows[1:]   # a header line
        if not rows:
            raise ValueError(f"{filename}: no edges; expected lines `source target [weight]`")
        if len(rows) > MAX_EDGES:
            raise ValueError(f"{filename}: {len(rows):,} edges is over the limit of {MAX_EDGES:,}")
        widths = {len(r) for r in rows}
        if not widths <= {2, 3} or len(widths) != 1:
            raise ValueError(f"{filename}: expected 2 columns (source target) or 3 (source target weight) on "
                             f"every line; found lines with {', '.join(map(str, sorted(widths)))} columns")
        try:
            E = np.array([[float(c) for c in r] for r in rows])
        except ValueError:
            bad = next(i for i, r in enumerate(rows) if not all(_is_number(c) for c in r))
            raise ValueError(f"{filename}: line {bad + 1} ({' '.join(rows[bad])}) is not numeric; expected "
                             "integer node ids and an optional weight") from None
        ids = E[:, :2]
        if not np.isfinite(E[:, 2:]).all():
            bad = int((~np.isfinite(E[:, 2])).sum())
            raise ValueError(f"{filename}: {bad} edge weight(s) are NaN or infinite; expected finite weights > 0")
        if not np.isfinite(ids).all() or (ids != np.round(ids)).any() or (ids < 0).any():
            raise ValueError(f"{filename}: node ids must be non-negative integers (0, 1, 2, …)")
        ids = ids.astype(np.int64)
        n = int(ids.max()) + 1
        if n > MAX_NODES:
            raise ValueError(f"{filename}: node id {n - 1:,} means {n:,} nodes, over the limit of {MAX_NODES:,}")
        w = E[:, 2] if E.shape[1] == 3 else np.ones(len(E))
        if (w <= 0).any():
            raise ValueError(f"{filename}: edge weights must be > 0; found {int((w <= 0).sum())} that are not")
        A = sp.coo_matrix((w, (ids[:, 0], ids[:, 1])), shape=(n, n)).tocsr()
        A.sum_duplicates()
        A.data[:] = np.minimum(A.data, w.max())    # repeated lines do not add up
        A = A.maximum(A.T).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    if A.nnz == 0:
        raise ValueError(f"{filename}: the graph has no edges (self-loops are dropped); expected at least one edge")
    return A


# ---------------------------------------------------------------------- weights
def _safetensors_order(data: bytes, tensors: dict) -> list[str]:
    """The tensor names in file order (their data offsets in the header): safetensors' loader
    returns them in an order that changes from one process to the next."""
    import json
    n = int.from_bytes(bytes(data[:8]), "little")
    header = json.loads(bytes(data[8:8 + n]))
    return sorted(tensors, key=lambda k: (header[k]["data_offsets"][0], k))


def parse_weights(filename: str, data: bytes, name: str | None = None) -> np.ndarray:
    """A float64 2-D weight matrix from ``.npy`` or ``.safetensors`` (the tensor ``name``, or the
    first 2-D one in file order)."""
    ext = _check_file("weights", filename, data)
    if ext == ".npy":
        W = _npy(filename, data)
    else:
        try:
            from safetensors.numpy import load as st_load
            tensors = st_load(bytes(data))
            tensors = {k: tensors[k] for k in _safetensors_order(data, tensors)}
        except Exception as exc:  # noqa: BLE001 - a corrupt header or an unsupported dtype
            raise ValueError(f"{filename}: not a readable .safetensors file ({type(exc).__name__}: {exc})") from None
        if name is not None:
            if name not in tensors:
                raise ValueError(f"{filename}: no tensor named {name!r}; it holds {', '.join(tensors) or 'none'}")
            W = tensors[name]
        else:
            two_d = [k for k, v in tensors.items() if v.ndim == 2]
            if not two_d:
                raise ValueError(f"{filename}: no 2-D tensor; found "
                                 f"{', '.join(f'{k} {v.shape}' for k, v in tensors.items()) or 'none'}")
            W = tensors[two_d[0]]
    W = np.asarray(W)
    if W.dtype.kind not in "biuf":
        raise ValueError(f"{filename}: expected a numeric matrix, got dtype {W.dtype}")
    if W.ndim != 2 or min(W.shape) < 1:
        raise ValueError(f"{filename}: expected a 2-D matrix (rows, cols), got shape {W.shape}")
    if W.size > MAX_WEIGHT_ENTRIES:
        raise ValueError(f"{filename}: {W.shape[0]:,} × {W.shape[1]:,} is over the limit of "
                         f"{MAX_WEIGHT_ENTRIES:,} entries")
    return _finite(filename, W.astype(np.float64), "weights")
