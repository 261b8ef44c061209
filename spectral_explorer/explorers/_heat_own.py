"""Own points in the heat-geodesics explorer, and its results out (used by
:class:`~.heat_geodesics.HeatGeodesicExplorer`).

- :func:`check_points`: the boundary of ``HeatGeodesicExplorer.from_points`` and of the page's
  upload — an (n, d) array or tensor, an optional colour (numbers: a continuous colormap;
  labels: categories) and optional ground-truth geodesics (an (n, n) array), each checked with a
  ``ValueError`` that says what is wrong.
- :func:`user_dataset`: the checked points as the explorer's data stage holds them (a
  :class:`~spectral_explorer.data.Dataset` without ground truth, its 3-D view: the points
  themselves, or their first three principal components for d > 3).
- :func:`truth_free`: the scores that need no ground truth — scikit-learn's trustworthiness
  (10 neighbours) and the kNN preservation of the 2-D embedding against the points, on at most
  :data:`TRUST_ROWS` points (a fixed random subsample above that; the page says so).  The
  ranks of the points, which do not depend on ``t``, are computed once per data set
  (:func:`rank_table`), so a ``t`` move costs one kNN search in 2-D.
- :func:`table` / :func:`as_code`: the page's CSV and *Show code*.
- :data:`EXAMPLE`: the shipped example file, :func:`make_example` its generator.

The example file is regenerated, byte for byte, by::

    python -c "from spectral_explorer.explorers._heat_own import write_example; write_example()"
"""

from __future__ import annotations

import os

import numpy as np

from .. import data, uploads

__all__ = ["EXAMPLE", "TRUST_ROWS", "TRUST_K", "COMPARE_LIMIT", "MIN_POINTS", "check_points", "user_dataset",
           "rank_table", "truth_free", "make_example", "write_example", "table", "as_code", "metrics_markdown"]

#: the shipped example (``spectral_explorer/assets/examples``): a noisy trefoil knot in 3-D, labelled by arc
EXAMPLE = "trefoil_knot.csv"
#: the truth-free scores are computed on at most this many points (a fixed random subsample)
TRUST_ROWS = 2000
#: neighbours of the truth-free scores (scikit-learn's trustworthiness with ``n_neighbors=10``)
TRUST_K = 10
#: comparisons (shortest paths, Isomap, UMAP …, all-pairs methods) are offered up to this many points
COMPARE_LIMIT = 5000
#: fewest points the explorer takes
MIN_POINTS = 20
#: what a page reloaded with ``dataset=upload`` says (the points are not kept across page loads)
RELOAD = ("dataset=upload needs your points: upload a file with the box under Data and graph (an upload "
          "lives only as long as its page: after a reload, upload the file again) — the default data set "
          "is shown meanwhile")
#: parameters that change the view, not the embedding (the shown code ignores them)
_VIEW_ONLY = ("tour", "source", "azimuth", "elevation", "example")
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
            "#dbdb8d", "#9edae5"]


def _array(x, what: str) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):   # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def check_points(X, color=None, geodesic_distances=None, name=None) -> dict:
    """The user's points, checked: ``{"X", "color", "label", "categories", "truth", "name"}``.

    ``X``: an (n, d) array or tensor of finite numbers, ``MIN_POINTS`` ≤ n ≤ ``uploads.MAX_POINTS``,
    1 ≤ d ≤ ``uploads.MAX_FEATURES``.  ``color``: n numbers (continuous colormap) or n labels
    (strings, booleans: categories); default the first principal component.
    ``geodesic_distances``: the ground truth as an (n, n) array of finite, nonnegative distances.

    >>> check_points(np.zeros((30, 2)) + np.arange(30)[:, None])["label"]
    'first principal component (PC 1)'
    >>> check_points(np.ones((30, 2, 1)))
    Traceback (most recent call last):
    ...
    ValueError: X must be a 2-D array (n points, d features); got shape (30, 2, 1)
    """
    X = _array(X, "X")
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X must hold numbers; got an array of {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n points, d features); got shape {X.shape}")
    n, d = X.shape
    if not MIN_POINTS <= n <= uploads.MAX_POINTS:
        raise ValueError(f"X must have {MIN_POINTS} to {uploads.MAX_POINTS:,} points (rows); got {n}")
    if not 1 <= d <= uploads.MAX_FEATURES:
        raise ValueError(f"X must have 1 to {uploads.MAX_FEATURES:,} features (columns); got {d}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(f"X holds NaN or infinite values in {int(bad.sum())} row(s) (first: row "
                         f"{int(np.flatnonzero(bad)[0])}); expected finite numbers")
    if np.ptp(X, axis=0).max() == 0:
        raise ValueError("X has all points equal; expected distinct points")
    out = {"X": X, "name": str(name) if name else "your points", "truth": None, "categories": None}
    if color is None:
        Xc = X - X.mean(axis=0)
        v = np.linalg.svd(Xc[: min(n, 5000)], full_matrices=False)[2][0]
        pc = Xc @ v
        out.update(color=pc * np.sign(pc[np.argmax(np.abs(pc))]), label="first principal component (PC 1)",
                   raw_color=None)
    else:
        c = _array(color, "color").reshape(-1) if np.ndim(_array(color, "color")) else None
        if c is None or c.shape[0] != n:
            raise ValueError(f"color must have one entry per point ({n}); got shape {np.shape(_array(color, 'color'))}")
        if np.issubdtype(c.dtype, np.number) and c.dtype != bool:
            c = c.astype(np.float64)
            if not np.isfinite(c).all():
                raise ValueError("color holds NaN or infinite values; expected finite numbers or labels")
            out.update(color=c, label="color", raw_color=c)
        else:
            labels = np.asarray([str(v) for v in c])
            cats, codes = np.unique(labels, return_inverse=True)
            legend = ", ".join(f"{i}={k}" for i, k in enumerate(cats[:8])) + (" …" if cats.size > 8 else "")
            out.update(color=codes.astype(np.float64), label=f"label ({legend})", raw_color=labels,
                       categories=tuple(cats))
    if geodesic_distances is not None:
        G = _array(geodesic_distances, "geodesic_distances")
        if G.shape != (n, n):
            raise ValueError(f"geodesic_distances must be an (n, n) = ({n}, {n}) array of distances between "
                             f"the points; got shape {G.shape}")
        G = np.asarray(G, dtype=np.float64)
        if not np.isfinite(G).all() or (G < 0).any():
            raise ValueError("geodesic_distances must hold finite, nonnegative distances")
        out["truth"] = G
    return out


def color_opts(user) -> dict:
    """Plot options for the colour: a categorical palette (one colour per label) for labels."""
    cats = None if user is None else user.get("categories")
    if not cats or len(cats) > len(_PALETTE):
        return {}
    return {"cmap": _PALETTE[: max(len(cats), 2)], "clim": (-0.5, max(len(cats), 2) - 0.5)}


def user_dataset(user) -> data.Dataset:
    """The user's points as the data stage holds them (no ground truth unless ``geodesic_distances``)."""
    G = user["truth"]
    truth = None if G is None else (lambda rows: G[np.asarray(rows, dtype=np.int64)])
    return data.Dataset(name=user["name"], X=user["X"], color=user["color"], _truth=truth,
                        params={"source": "user"})


def view_title(user, d: int) -> str:
    pca = ", first 3 principal components" if d > 3 else ""
    return f"{user['name']} (n={user['X'].shape[0]}, d={d}{pca})"


def sample_rows(n: int) -> np.ndarray:
    """The points the truth-free scores use: all, or a fixed random subsample of ``TRUST_ROWS``."""
    if n <= TRUST_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, TRUST_ROWS, replace=False))


def rank_table(X) -> dict:
    """What the truth-free scores need from the points (independent of t): the subsample and
    the rank of every sampled point in every sampled point's neighbour order (scikit-learn's
    ``inverted_index`` of :func:`sklearn.manifold.trustworthiness`)."""
    from sklearn.metrics import pairwise_distances
    rows = sample_rows(X.shape[0])
    Xs = X[rows]
    m = rows.size
    dist = pairwise_distances(Xs)
    np.fill_diagonal(dist, np.inf)
    ind = np.argsort(dist, axis=1)
    inv = np.zeros((m, m), dtype=np.int32)
    inv[np.arange(m)[:, None], ind] = np.arange(1, m + 1, dtype=np.int32)
    return {"rows": rows, "inverted": inv, "knn": ind[:, :TRUST_K].copy()}


def truth_free(ranks, Y) -> dict:
    """Trustworthiness (as :func:`sklearn.manifold.trustworthiness`, ``n_neighbors=10``) and kNN
    preservation (mean share of each point's 10 nearest neighbours in the data kept among its
    10 nearest in the embedding) of ``Y`` on the sampled points of ``ranks``."""
    from sklearn.neighbors import NearestNeighbors
    rows, inv, k = ranks["rows"], ranks["inverted"], TRUST_K
    m = rows.size
    nbr = NearestNeighbors(n_neighbors=k).fit(np.asarray(Y)[rows, :2]).kneighbors(return_distance=False)
    r = inv[np.arange(m)[:, None], nbr].astype(np.int64) - k
    tw = 1.0 - np.sum(r[r > 0]) * (2.0 / (m * k * (2.0 * m - 3.0 * k - 1.0)))
    kept = (np.sort(nbr, axis=1)[:, :, None] == ranks["knn"][:, None, :]).any(axis=2).sum(axis=1)
    return {"trustworthiness": float(tw), "knn_preservation": float(kept.mean() / k), "truth_free_points": int(m)}


class OwnPoints:
    """The own-points part of :class:`~.heat_geodesics.HeatGeodesicExplorer` (a mixin: ``from_points``,
    the upload and the example file, ``dataset="upload"``, the table and the code)."""

    def _showing_user(self) -> bool:
        return self.dataset == "upload" and self._user is not None

    def _npts(self) -> int:
        """The number of points shown (the user's, or ``n``)."""
        return self._user["X"].shape[0] if self._showing_user() else int(self.n)

    # ------------------------------------------------------------------ own points
    @classmethod
    def from_points(cls, X, color=None, name=None, geodesic_distances=None, **params):
        """The explorer on your own points; every view runs on them.

        ``X``: an (n, d) array or tensor (20 ≤ n ≤ 20,000, landmark mode above 1000 points;
        d ≤ 1000; the data view shows the first 3 principal components when d > 3).  ``color``:
        n numbers (continuous colormap) or n labels (categories); default the first principal
        component.  ``geodesic_distances``: an optional (n, n) array of true distances; without
        it the metrics are truth-free (``trustworthiness``, ``knn_preservation``,
        ``residual_variance``).  A bad object raises ``ValueError`` saying what is wrong.
        ``params`` are the explorer's (``t``, ``knn`` …).

        >>> from spectral_explorer.explorers import HeatGeodesicExplorer
        >>> ex = HeatGeodesicExplorer.from_points(np.random.default_rng(0).normal(size=(200, 3)), name="blob")
        >>> ex.dataset, ex.embedding.shape, 0 < ex.metrics["trustworthiness"] <= 1
        ('upload', (200, 2), True)
        """
        return cls(_user=check_points(X, color, geodesic_distances, name), **{**params, "dataset": "upload"})

    def _take_user(self, user):
        """Hold ``user`` (checked points) as the data stage: it stays in this session.  (Its key is a
        new counter, so no stage of earlier data is ever reused; the views clamp ``source``.)"""
        if self._lock.acquire(timeout=0.5):   # not while a running job walks the cache
            try:
                self._hold_user_data()
            finally:
                self._lock.release()
        else:
            self._private = True   # what _hold_user_data marks; the stale stages are keyed apart
        self._user_count += 1
        self._user = {"file": None, "example": "", **user, "token": self._user_count}

    def _on_upload(self, obj, filename, example=""):
        """An upload (or the example file) was parsed by :func:`uploads.parse`: show its points."""
        X, color, _ = obj
        try:
            user = check_points(X, color, None, filename)
        except ValueError as exc:   # the page names the file
            raise ValueError(f"{filename}: {exc}") from None
        self._take_user({**user, "file": None if example else filename, "example": example})
        self._quietly("example", example)
        self.set_error("upload", None)
        if self.dataset == "upload":
            self._on_change()
        else:
            self.dataset = "upload"

    def load_example(self):
        """Load the shipped example file through the upload's parser (as if it were uploaded)."""
        name, raw = read_example()
        return self.run("upload", lambda job: uploads.parse("points", name, raw),
                        lambda obj: self._on_upload(obj, name, example=name), text=f"reading {name} …")

    def _quietly(self, name, value):
        self._reverting = True
        try:
            setattr(self, name, value)
        finally:
            self._reverting = False

    def _on_example(self, *events):
        if not self._reverting and self.example:
            self.load_example()

    def _on_dataset(self, *events):
        """``upload`` shows the held points; without any (a reloaded page) a message and the default data."""
        if self._reverting:
            return
        if self.dataset != "upload":
            self.set_error("upload", None)
            self._quietly("example", "")
        elif self.example and self.example != (self._user or {}).get("example"):
            return   # a URL or tour step with example=…: it is loading
        elif self._user is not None:
            self._quietly("example", self._user["example"])
        else:
            self.set_error("upload", RELOAD)
            old = events[0].old if events and events[0].old != "upload" else "swiss_roll"
            self._quietly("dataset", old)

    def _copts(self):
        return color_opts(self._user if self._showing_user() else None)

    def table(self):
        """The heat-geodesic embedding as a table: ``index, x, y`` and the colour column."""
        return table(self)

    def as_code(self) -> str:
        """The script (library functions, the calls of the stages) that rebuilds the embedding
        with the current parameters; ``result`` = the (n, 2) embedding."""
        return as_code(self)

    def export_name(self) -> str:
        return export_name(self)

    def code_params(self):
        return tuple(p for p in self.url_params if p not in _VIEW_ONLY) + ("_data_version",)


# ---------------------------------------------------------------------- the shipped example
def make_example(n: int = 600, noise: float = 0.05, seed: int = 0) -> str:
    """The CSV text of :data:`EXAMPLE`: ``n`` points of a trefoil knot (x = sin s + 2 sin 2s,
    y = cos s − 2 cos 2s, z = −sin 3s, s uniform in [0, 2π)) with Gaussian noise, and a label
    column ``arc`` (which third of the knot).  A closed curve: its heat geodesics are a circle's."""
    rng = np.random.default_rng(seed)
    s = np.sort(rng.uniform(0.0, 2 * np.pi, n))
    P = np.stack([np.sin(s) + 2 * np.sin(2 * s), np.cos(s) - 2 * np.cos(2 * s), -np.sin(3 * s)], axis=1)
    P += noise * rng.normal(size=P.shape)
    arc = np.array(["first", "second", "third"])[np.minimum((3 * s / (2 * np.pi)).astype(int), 2)]
    lines = ["x,y,z,arc"] + [f"{a:.5f},{b:.5f},{c:.5f},{lab}" for (a, b, c), lab in zip(P, arc)]
    return "\n".join(lines) + "\n"


def write_example(path: str | None = None) -> str:
    path = path or os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets", "examples", EXAMPLE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(make_example())
    return path


def read_example() -> tuple[str, bytes]:
    with open(uploads.example_path(EXAMPLE), "rb") as f:
        return EXAMPLE, f.read()


# ---------------------------------------------------------------------- results out
_BUILTIN_COLOR = {"digits": "label", "tree": "distance_from_root"}


def table(ex):
    """The heat-geodesic embedding: ``index, x, y`` and the colour column."""
    import pandas as pd
    Y = ex.embedding
    user = ex._user if ex._showing_user() else None
    if user is None:
        col, values = _BUILTIN_COLOR.get(ex.dataset, "intrinsic_coordinate"), ex._data()["ds"].color
    elif user["raw_color"] is None:
        col, values = "pc1", user["color"]
    else:
        col, values = ("label" if user["categories"] else "color"), user["raw_color"]
    return pd.DataFrame({"index": np.arange(Y.shape[0]), "x": Y[:, 0], "y": Y[:, 1], col: values})


def as_code(ex) -> str:
    """The script that rebuilds the heat-geodesic embedding with the library's functions (the
    calls the explorer's stages make), ``result`` = the (n, 2) embedding."""
    from .heat_geodesics import LANDMARK_ABOVE
    n = ex._npts()
    m = min(int(ex.landmarks), n) if n > LANDMARK_ABOVE else None
    order = None if ex.method == "exact" else int(ex.order)
    user = ex._user if ex._showing_user() else None
    lines = ["import numpy as np", "from spectral_explorer import data, eigen, heat_geodesic, mds, uploads", ""]
    if user is None:
        lines.append(f"X = data.load({ex.dataset!r}, n={int(ex.n)}, noise={float(ex.noise)!r}, seed={int(ex.seed)}).X")
    elif user.get("example"):
        lines += [f"path = uploads.example_path({user['example']!r})   # the shipped example file",
                  "with open(path, 'rb') as f:",
                  f"    X, color, columns = uploads.parse('points', {user['example']!r}, f.read())"]
    elif user.get("file"):
        lines += [f"with open({user['file']!r}, 'rb') as f:   # your uploaded file",
                  f"    X, color, columns = uploads.parse('points', {user['file']!r}, f.read())"]
    else:
        lines.append("X = ...   # your (n, d) array of points (np.float64), as given to from_points")
    s = float(ex.denoise)
    lines += [f"W, P = heat_geodesic.heat_graph(X, knn={int(ex.knn)}, decay={float(ex.decay)!r}, "
              f"mutual={s > 0}, denoise={s!r})",
              f"hg = heat_geodesic.weighted_laplacian(W, P, {ex.weights!r}, knn={int(ex.knn)})",
              f"sources = heat_geodesic.farthest_point_landmarks(X, {m}, seed=0)   # landmark mode (n > "
              f"{LANDMARK_ABOVE})" if m else "sources = None   # all pairs",
              "eig = eigen.smallest_eigenpairs(hg.L, hg.L.shape[0], method='dense')" if ex.method == "exact"
              else "eig = None",
              f"res = hg.distances({float(ex.t)!r}, {float(ex.sigma)!r}, {ex.method!r}, {order!r}, {ex.formula!r}, "
              "sources=sources, lmax=eigen.largest_eigenvalue(hg.L), eig=eig)",
              "D = res['D']   # heat-geodesic distances (sources × n, or n × n)",
              "result = mds.landmark_mds(D, sources, 2) if sources is not None else mds.classical_mds(D, 2)",
              "print(result.shape)"]
    return "\n".join(lines) + "\n"


def metrics_markdown(ex, m: dict) -> str:
    """The metrics line: ground-truth scores when there is a truth, truth-free scores otherwise."""
    from .. import heat_geodesic
    rv = m["residual_variance"]
    fold = ""
    if rv > heat_geodesic.AUTO_FLOOR and float(ex.denoise) == 0:
        fold = (f" — above {heat_geodesic.AUTO_FLOOR:g}: no plane draws these distances, as when noise "
                f"short-circuits a roll; the library default, denoise='auto', then tries heat-smoothed "
                f"graphs (s = 3–24) and keeps one if it cuts this by {heat_geodesic.AUTO_GAIN:g}×: "
                f"try the **denoise** slider")
    rv_text = f" · **residual variance** {rv:.3f} (share of the distances the 2-D layout leaves out){fold}"
    if m["t"] != float(ex.t):   # HeatGraph.safe_t: the farthest kernel entries would underflow
        rv_text += f" · **t in effect {m['t']:.3g}** (at t = {float(ex.t):g} the farthest entries underflow)"
    free = ""
    if "trustworthiness" in m:
        sub = (f" on a random {m['truth_free_points']} of the {m['n']} points"
               if m["truth_free_points"] < m["n"] else "")
        free = (f" · **trustworthiness** {m['trustworthiness']:.3f} (10 neighbours{sub}) · "
                f"**kNN preserved** {m['knn_preservation']:.3f} (share of each point's 10 nearest kept)")
    if "heat_spearman" not in m:
        from ._base import escape_markdown
        name = escape_markdown(ex._user["name"]) if ex._showing_user() else ex.dataset
        return (f"**no ground truth** for {name}" + free + f" · kernel entries ≤ 0: {m['nonpositive_entries']}"
                + rv_text)
    return (f"**Spearman ρ** (ranks) heat-geodesic **{m['heat_spearman']:.4f}**, embedding "
            f"**{m['embedding_spearman']:.4f}** · **Pearson r** (shape) heat {m['heat_pearson']:.4f}, "
            f"embedding {m['embedding_pearson']:.4f} · **log-log slope** of the distances "
            f"{m['heat_slope']:.2f} (1 = proportional)"
            + (" · **true axes** in the embedding (R², 1 = kept): "
               + ", ".join(f"{k} {v:.2f}" for k, v in m["axis_r2"].items()) if "axis_r2" in m else "")
            + free + f" · entries ≤ 0: {m['nonpositive_entries']}" + rv_text)


def export_name(ex) -> str:
    """``heat_geodesic_<data>_t<t>`` (the uploaded file's stem for user data)."""
    import re
    name = os.path.splitext(ex._user["name"])[0] if ex._showing_user() else ex.dataset
    return "heat_geodesic_" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "points") + f"_t{float(ex.t):g}"


def controls(ex, builtin):
    """The own-data part of the side column: the upload box, *load the example file*, and a line
    about the points shown (``builtin``, the n/noise/seed boxes, is hidden while they are)."""
    import panel as pn
    from ._base import escape_markdown
    from .heat_geodesics import LANDMARK_ABOVE
    upload = ex.upload_control("points", ex._on_upload, "Your own points", notebook_hint=(
        "`HeatGeodesicExplorer.from_points(X, color=None, name=None, geodesic_distances=None)` "
        "(an (n, d) array or tensor)"))
    button = pn.widgets.Button(name=f"load the example file ({EXAMPLE})", button_type="light",
                               css_classes=["heat-example"], sizing_mode="stretch_width",
                               description="A noisy trefoil knot (3-D, a label column 'arc'), read by the "
                                           "same parser as an upload")
    button.on_click(lambda *_: ex.load_example())
    info = pn.pane.Markdown("", css_classes=["heat-user-data"], margin=(0, 10), sizing_mode="stretch_width")

    def show(*_):
        on = ex._showing_user()
        builtin.visible, info.visible = not on, on
        if on:
            u = ex._user
            n, d = u["X"].shape
            more = (f"; landmark mode (n > {LANDMARK_ABOVE})" if n > LANDMARK_ABOVE else "") + \
                   ("; comparisons off above 5,000 points" if n > COMPARE_LIMIT else "")
            info.object = ("**shown:** " + escape_markdown(f"{u['name']}: n = {n:,} points, d = {d}; colour: "
                                                          f"{u['label']}{more}"))
    ex.param.watch(show, ["dataset", "_data_version"])
    show()
    return pn.Column(upload, button, info, sizing_mode="stretch_width")
