"""Heat-geodesic explorer: watch heat diffuse on a point cloud, and see how the diffusion
time ``t``, the graph and the heat-kernel approximation shape the embedding.

Staged computation with PHATE-style invalidation (each stage keyed on parameter values,
never on tensors; each explorer keeps its current values, and every stage below is deterministic
and read-only, so it is shared across sessions with the same parameters — ``shared=True``)::

    data       (dataset, n, noise, seed)
    landmarks  data + (landmarks, n > LANDMARK_ABOVE)
    graph      data + (weights, knn, decay, denoise) -> W, L, λ_max
    spectrum   graph                                 -> eigenvalues (lazy)
    distances  graph + landmarks + (t, sigma, method, order, formula)
    embedding  distances                             -> MDS / landmark MDS
    compare    graph + method name                   -> other methods (independent of t)

Moving ``t`` recomputes only the distances, the embedding and the metrics.  Your own points
(:meth:`from_points`, the page's upload box: ``dataset="upload"``) fill the data stage under a
per-explorer counter, and then no stage enters the cross-session cache (:attr:`user_data`).

Examples
--------
>>> ex = HeatGeodesicExplorer(n=200)
>>> sorted(ex.metrics)[:4]   # axis_r2: the swiss roll's true axes read back from the embedding
['axis_r2', 'embedding_pearson', 'embedding_slope', 'embedding_spearman']
>>> ex.t = 20.0
>>> sorted(ex.timings)  # only the t-dependent stages ran again
['distances', 'embedding', 'metrics', 'total']
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from .. import comparisons, data, heat, heat_geodesic, mds, metrics, uploads
from .. import eigen
from .. import viz
from . import _heat_own as own, _heat_texts as texts
from ._base import Explorer, log_slider
from ._widgets import grid_player
from ._tour import tour_param

__all__ = ["HeatGeodesicExplorer", "T_GRID", "LANDMARK_ABOVE", "MULTIPLE_TS", "MULTIPLE_METHODS"]

#: landmark mode (heat from ``landmarks`` sources + landmark MDS) above this many points
LANDMARK_ABOVE = 1000
#: values offered by the (log-scale) t slider and the player
T_GRID = [float(f"{v:.3g}") for v in np.geomspace(0.05, 500.0, 41)]
#: rows (farthest-point sources) on which metrics and the distance scatter are evaluated
N_EVAL_ROWS = 32
#: dense eigendecomposition (method="exact", numerics view) is offered up to this size
EXACT_LIMIT = 2000
#: the small multiples: embeddings for each of these diffusion times × kernel methods
MULTIPLE_TS = texts.MULTIPLE_TS
MULTIPLE_METHODS = ("euler", "chebyshev", "exact")

_COMPARE = tuple(m for m in comparisons.METHODS if m != "heat_geodesic")
_CORE = ("dataset", "n", "noise", "seed", "weights", "knn", "decay", "denoise", "t", "sigma", "method", "order", "formula",
         "landmarks", "compare")


class HeatGeodesicExplorer(own.OwnPoints, Explorer):
    """Heat diffusion, heat-geodesic distances and embeddings, interactively."""

    url_params = _CORE + ("example", "source", "azimuth", "elevation", "tour")
    tour_name = "heat_geodesics"
    tour = tour_param(tour_name)

    dataset = param.ObjectSelector(default="swiss_roll", objects=list(data.DATASETS) + ["upload"], doc="""
        Point cloud: swiss_roll, s_curve, sphere, tree (with ground-truth geodesics),
        digits (real 64-D data, no ground truth, n ≤ 1797) or upload (your own points: the upload
        box, the example file or ``from_points``; n, noise and seed then do not apply).""")
    n = param.Integer(default=1000, bounds=(100, 5000), doc="""
        Number of points. Above 1000 the explorer uses landmark mode (heat from `landmarks`
        farthest-point sources, landmark MDS) so that moving t stays interactive.""")
    noise = param.Number(default=0.1, bounds=(0.0, 2.0), step=0.05, doc="Standard deviation of the Gaussian noise.")
    seed = param.Integer(default=42, bounds=(0, 100_000), doc="Random seed of the data set.")
    weights = param.ObjectSelector(default="length", objects=list(heat_geodesic.WEIGHTS), doc="""
        Edge weights of the graph the heat runs on. 'length' (the library default): the kNN
        edges with calibrated conductances 2m̂/((ℓ/ℓ̄)²·degree) and the combinatorial Laplacian
        (≈ −ℓ̄²Δ, the Laplace–Beltrami operator), so heat spreads at the speed the geometry sets
        and the screened law measures length in the units of the data (t in units of the median
        edge length squared; two Euler steps). 'alpha': the alpha-decay affinities with the
        normalized Laplacian, so heat moves one hop per unit of time and the distances count
        hops (the graph of the paper and of PHATE; the tour's steps use it). Changing it resets
        the Euler order (2 / 1) and t (0.2 / 10) while they are still at their defaults.""")
    knn = param.Integer(default=10, bounds=(1, 200), doc="""
        Neighbours of the alpha-decay graph (the bandwidth is the distance to the knn-th).
        Must be smaller than n; too small a value can disconnect the graph.""")
    decay = param.Number(default=40.0, bounds=(1.0, 100.0), step=1.0, doc="Alpha-decay exponent of the kernel.")
    denoise = param.Number(default=0.0, bounds=(0.0, 20.0), step=0.5, doc="""
        Heat smoothing s of the points before the graph is built (the heavy-noise option,
        HeatGeodesicEmbedding.denoising): 0 = off; s > 0 moves every point to its heat average
        (I + sL_rw)⁻¹X on the kNN graph and keeps only the mutual edges of the graph rebuilt on
        the smoothed points. On a roll whose sheets the noise has joined (noise ≈ 1) it restores
        the order along the roll, not its height; on clean data it costs shape (the roll's
        height: R² 0.38 against 0.97 at n = 2000). s ≈ 3 suits n ≈ 1000–2000. The comparisons
        run on the same neighbourhood (shortest paths measure its edges on the original points;
        heat_affinity and heat_denoised rebuild their own graphs with the same knn). The
        library's default, HeatGeodesicEmbedding(denoise='auto'), smooths only where the plain
        graph's residual variance (metrics line) exceeds 0.02 and smoothing cuts it, choosing s.""")
    t = param.Number(default=0.2, bounds=(0.05, 500.0), doc="""
        Diffusion time t: of H_t = exp(−tL) ('exact', 'chebyshev'), or of the K backward-Euler
        steps (I + (t/K)L)^−K ('euler'). On the metric graph in units of the median edge length
        squared (default 0.2: a screening length √(t/K) of 0.32 edge lengths); on the alpha-decay
        graph in steps of the walk (default 10). Log-scale slider.""")
    sigma = param.Number(default=1.0, bounds=(0.0, 2.0), step=0.05, doc="""
        Harnack (volume) regularization σ of the heat-geodesic distance (1: every point at
        distance 0 from itself).""")
    method = param.ObjectSelector(default="euler", objects=list(heat.HEAT_METHODS), doc="""
        Kernel: backward Euler (I + (t/K)L)^−K (positive, default), Chebyshev polynomial of
        exp(−tL), or exact eigendecomposition (n ≤ 2000). Changing it resets `order`.""")
    order = param.Integer(default=2, bounds=(1, 200), doc="""
        Backward-Euler steps K (method='euler', default 2 on the metric graph, 1 on the
        alpha-decay graph) or Chebyshev order K (method='chebyshev', default 30; the metric
        graph needs far more); ignored by 'exact'.""")
    formula = param.ObjectSelector(default="auto", objects=list(heat_geodesic.FORMULAS), doc="""
        Distance from the kernel: 'screened' = √(t/K)·(−log H + σ log ½(H_ii+H_jj)), Varadhan's
        law for a resolvent (Euler); 'varadhan' = √(−4t log H + …), the heat kernel's law;
        'auto' = screened for Euler, varadhan otherwise; 'paper' = varadhan as the paper's code
        computes it, log(H + 1e−16). Euler K=1 with 'varadhan' at t=50, σ=0 is the former default:
        right ranks, distances growing like √d at best (slope 0.28), a bent embedding.""")
    landmarks = param.Integer(default=200, bounds=(16, 1000), doc="""
        Landmarks (farthest-point sources) used in landmark mode, i.e. when n > 1000.""")
    compare = param.ListSelector(default=["shortest_path"], objects=list(_COMPARE), doc="""
        Methods shown beside the heat-geodesic embedding: diffusion maps, PHATE and shortest paths
        on the same alpha-decay graph; heat_affinity and heat_denoised with the same knn; Isomap,
        UMAP and t-SNE on the points.""")
    example = param.ObjectSelector(default="", objects=["", own.EXAMPLE], doc="""
        A shipped example file loaded as an upload (through the same parser); '' = none.""")
    source = param.Integer(default=0, bounds=(0, uploads.MAX_POINTS - 1), doc="""
        Node from which heat diffuses in the heat view (tap a point to choose it).""")
    azimuth = param.Number(default=-70.0, bounds=(-180.0, 180.0), step=5.0, doc="View azimuth (degrees).")
    elevation = param.Number(default=15.0, bounds=(-90.0, 90.0), step=5.0, doc="View elevation (degrees).")
    _version = param.Integer(default=0, precedence=-1, doc="Bumped after each successful computation.")
    _data_version = param.Integer(default=0, precedence=-1, doc="Bumped when the data set changes.")
    _compare_version = param.Integer(default=0, precedence=-1, doc="Bumped when comparisons change.")
    _multiples_version = param.Integer(default=0, precedence=-1, doc="Bumped when the small multiples are computed.")

    def __init__(self, _user=None, **params):
        super().__init__(**params)
        self._last_compare_key = None
        self._multiples_on = False     # the small multiples are computed once their tab is opened
        self._user, self._user_count, self._reverting = None, 0, False
        if _user is not None:   # from_points: the user's points are the data stage
            self._take_user(_user)
        elif self.example:
            self._on_example()
        elif self.dataset == "upload":
            self._on_dataset()
        self.param.watch(self._on_dataset, ["dataset"])
        self.param.watch(self._on_example, ["example"])
        self.param.watch(self._on_method, ["method", "weights"])
        self.param.watch(self._on_change, list(_CORE))
        # the first computation runs at once, also in a served page (the page opens with plots)
        self.run("compute", self._compute, self._publish, background=False)

    # ------------------------------------------------------------------ caching

    def _data_key(self):
        if self._showing_user():   # a counter, never the array (the stages stay in the session)
            return ("upload", self._user["token"])
        return (self.dataset, int(self.n), float(self.noise), int(self.seed))

    def _graph_key(self):
        return self._data_key() + (self.weights, int(self.knn), float(self.decay), float(self.denoise))

    def _landmark_key(self):
        m = int(self.landmarks) if self._npts() > LANDMARK_ABOVE else None
        return self._data_key() + (m,)

    def _dist_key(self):
        order = None if self.method == "exact" else int(self.order)
        return self._graph_key() + self._landmark_key()[-1:] + (float(self.t), float(self.sigma), self.method, order,
                                                                heat_geodesic.resolve_formula(self.formula, self.method))

    # ------------------------------------------------------------------ stages
    def _data(self):
        def build():
            if self.dataset == "upload":
                if self._user is None:
                    raise ValueError(own.RELOAD)
                ds = own.user_dataset(self._user)
            else:
                if self.dataset == "digits" and self.n > 1797:
                    raise ValueError(f"n must be ≤ 1797 for the digits data set, got n={self.n}")
                ds = data.load(self.dataset, n=int(self.n), noise=float(self.noise), seed=int(self.seed))
            X3 = viz.to_3d(ds.X)
            m = min(N_EVAL_ROWS, ds.n)
            rows = heat_geodesic.farthest_point_landmarks(ds.X, m, seed=0)
            truth = ds.geodesic_distances(rows) if ds.has_truth else None
            ranks = own.rank_table(ds.X) if truth is None or self.dataset == "upload" else None
            return dict(ds=ds, X3=X3, eval_rows=rows, truth=truth, ranks=ranks)
        return self._stage("data", self._data_key(), build, shared=True)

    def _landmarks(self):
        def build():
            m = self._landmark_key()[-1]
            if m is None:
                return None
            X = self._data()["ds"].X
            m = min(m, X.shape[0])
            lm = heat_geodesic.farthest_point_landmarks(X, m, seed=0)
            return lm
        return self._stage("landmarks", self._landmark_key(), build, shared=True)

    def _graph(self):
        def build():
            X = self._data()["ds"].X
            n = X.shape[0]
            if self.knn >= n:
                raise ValueError(f"knn must be smaller than the number of points n={n}, got knn={self.knn}")
            s = float(self.denoise)
            W_alpha, P = heat_geodesic.heat_graph(X, int(self.knn), float(self.decay), mutual=s > 0, denoise=s)
            hg = heat_geodesic.weighted_laplacian(W_alpha, P, self.weights, knn=int(self.knn))
            return dict(W=hg.C, W_alpha=W_alpha, L=hg.L, lmax=eigen.largest_eigenvalue(hg.L), hg=hg)
        return self._stage("graph", self._graph_key(), build, shared=True)

    def _eig(self):
        """Full eigendecomposition (for method='exact' and the numerics view), n ≤ EXACT_LIMIT."""
        def build():
            n = self._npts()
            if n > EXACT_LIMIT:
                raise ValueError(f"the exact heat kernel needs a dense eigendecomposition, offered for "
                                 f"n ≤ {EXACT_LIMIT}; got n={n}. Use method='euler' or 'chebyshev'.")
            return eigen.smallest_eigenpairs(self._graph()["L"], n, method="dense")
        return self._stage("eig", self._graph_key(), build, shared=True)

    def _spectrum(self):
        def build():
            g = self._graph()
            n = g["L"].shape[0]
            if "eig" in self._cache and self._cache["eig"][0] == self._graph_key():
                return self._cache["eig"][1][0]
            if n <= 1200:
                return np.linalg.eigvalsh(g["L"].toarray())
            return eigen.smallest_eigenpairs(g["L"], 150, method="sparse")[0]
        return self._stage("spectrum", self._graph_key(), build, shared=True)

    def _heat_args(self):
        g = self._graph()
        order = None if self.method == "exact" else int(self.order)
        eig = self._eig() if self.method == "exact" else None
        return g, order, eig

    def _distances(self):
        def build():
            g, order, eig = self._heat_args()
            lm = self._landmarks()
            res = g["hg"].distances(float(self.t), float(self.sigma), self.method, order, self.formula, sources=lm,
                                    lmax=g["lmax"], eig=eig)   # t raised only if far entries underflow
            if not np.isfinite(res["D"]).all():
                raise ValueError("heat-geodesic distances are not finite; try a larger t or another method")
            return dict(D=res["D"], info=res["info"], landmarks=lm, t=res["t"])
        return self._stage("distances", self._dist_key(), build, shared=True)

    def _embedding(self):
        def build():
            d = self._distances()
            if d["landmarks"] is None:
                return mds.classical_mds(d["D"], 2)
            return mds.landmark_mds(d["D"], d["landmarks"], 2)
        return self._stage("embedding", self._dist_key(), build, shared=True)

    def _eval_distances(self):
        """Heat-geodesic and embedding distances from the evaluation rows to every point."""
        dat, d, Y = self._data(), self._distances(), self._embedding()
        rows = dat["eval_rows"]
        if d["landmarks"] is None:
            Dh = d["D"][rows]
        else:  # the evaluation rows are the first farthest-point landmarks (same seed)
            Dh = d["D"][:, : rows.size].T
        De = metrics.pairwise_distances(Y, rows=rows)
        return rows, Dh, De

    def _metrics(self):
        def build():
            dat = self._data()
            info = self._distances()["info"]
            out = {"n": self._npts(), "landmarks": self._landmark_key()[-1], "t": self._distances()["t"],
                   "nonpositive_entries": int(info["nonpositive_entries"]), "min_entry": float(info["min_entry"])}
            if dat["truth"] is not None:
                rows, Dh, De = self._eval_distances()
                T = dat["truth"]
                out.update(heat_spearman=metrics.row_spearman(Dh, T, self_index=rows),
                           heat_pearson=metrics.row_pearson(Dh, T, self_index=rows),
                           heat_slope=metrics.loglog_slope(Dh, T, self_index=rows),
                           embedding_spearman=metrics.row_spearman(De, T, self_index=rows),
                           embedding_pearson=metrics.row_pearson(De, T, self_index=rows),
                           embedding_slope=metrics.loglog_slope(De, T, self_index=rows))
            # no ground truth needed: how much of the distances the 2-D layout cannot draw
            rows, Dh, _ = self._eval_distances()
            out["residual_variance"] = metrics.residual_variance(Dh, self._embedding(), rows=rows)
            if dat.get("ranks") is not None:   # no ground truth needed: trustworthiness, kNN kept
                out.update(own.truth_free(dat["ranks"], self._embedding()))
            ds = dat["ds"]
            if ds.flat_axes:   # a flat manifold: does the embedding map back to each true axis?
                r2 = metrics.axis_r2(self._embedding(), ds.latent)
                out["axis_r2"] = {name: float(v) for name, v in zip(ds.flat_axes, r2)}
            return out
        return self._stage("metrics", self._dist_key(), build, shared=True)

    def _compare_result(self, name):
        def build():
            dat, g = self._data(), self._graph()
            if dat["ds"].n > own.COMPARE_LIMIT:
                raise ValueError(f"the comparisons are offered up to n = {own.COMPARE_LIMIT:,} points; "
                                 f"these are {dat['ds'].n:,}")
            res = comparisons.run_method(name, dat["ds"].X, g["W_alpha"], knn=int(self.knn), decay=float(self.decay))
            out = {"result": res}
            if dat["truth"] is not None:
                rows = dat["eval_rows"]
                De = metrics.pairwise_distances(res.embedding, rows=rows)
                out["embedding_spearman"] = metrics.row_spearman(De, dat["truth"], self_index=rows)
                out["distance_spearman"] = metrics.row_spearman(res.distances[rows], dat["truth"], self_index=rows)
            return out
        return self._stage(f"compare:{name}", self._graph_key(), build, shared=True)

    def _heat_column(self):
        def build():
            g, order, eig = self._heat_args()
            n = self._npts()
            src = min(int(self.source), n - 1)
            h = heat.heat_kernel(g["L"], float(self.t), np.eye(1, n, src).T, self.method, order,
                                 lmax=g["lmax"], eig=eig).cpu().numpy()[:, 0]
            return h
        key = self._dist_key() + (int(self.source),)
        return self._stage("heat", key, build, shared=True)

    def _multiples_key(self):
        return self._graph_key() + self._landmark_key()[-1:] + (float(self.sigma), self.formula)

    def _multiples(self, job=None):
        """Embeddings for every ``MULTIPLE_TS`` × ``MULTIPLE_METHODS`` (each method at its default
        order, Euler with the graph's: 2 steps on the metric graph; 'exact' only up to
        ``EXACT_LIMIT`` points) on the current graph, with their Spearman ρ against the ground truth: ``{(method, t): (Y, ρ or None)}``.  Deterministic, so
        shared across sessions; the graph and eigenpairs are taken under the lock, the dozen
        distance matrices are computed outside it (the other tabs stay responsive)."""
        with self._lock:
            key = self._multiples_key()
            hit = self._cache.get("multiples")
            if hit is not None and hit[0] == key:
                return hit[1]
            dat, g, lm = self._data(), self._graph(), self._landmarks()
            methods = [m for m in MULTIPLE_METHODS if m != "exact" or self._npts() <= EXACT_LIMIT]
            eig = self._eig() if "exact" in methods else None
            sigma, formula, weights = float(self.sigma), self.formula, self.weights

        def build():
            out = {}
            cells = [(m, t) for m in methods for t in MULTIPLE_TS]
            for i, (method, t) in enumerate(cells):
                if job is not None:
                    job.checkpoint(i / len(cells), f"small multiples: {method}, t = {t:g} ({i + 1}/{len(cells)})")
                D = g["hg"].distances(t, sigma, method, heat_geodesic.default_order(method, weights), formula,
                                      sources=lm, lmax=g["lmax"], eig=eig if method == "exact" else None)["D"]
                if not np.isfinite(D).all():
                    out[(method, t)] = (None, None)
                    continue
                Y = mds.classical_mds(D, 2) if lm is None else mds.landmark_mds(D, lm, 2)
                rho = None
                if dat["truth"] is not None:
                    rows = dat["eval_rows"]
                    rho = metrics.row_spearman(metrics.pairwise_distances(Y, rows=rows), dat["truth"], self_index=rows)
                out[(method, t)] = (Y, rho)
            return out
        return self._stage("multiples", key, build, shared=True)

    def compute_multiples(self):
        """Compute the small multiples (a job: in a served page off the event loop, with progress)."""
        return self.run("multiples", lambda job: self._multiples(job),
                        lambda _: setattr(self, "_multiples_version", self._multiples_version + 1),
                        text="small multiples …")

    def _compute(self, job=None):
        """Run every stage the current parameters need (cheap when cached)."""
        compare = [lambda name=name: self._compare_result(name) for name in self.compare
                   if self._npts() <= own.COMPARE_LIMIT]
        return self._run_stages(self._data, self._graph, self._distances, self._embedding, self._metrics,
                                *compare, job=job)

    # ------------------------------------------------------------------ reactions
    def _on_method(self, *events):
        """A new kernel or graph resets ``order`` to its default (two Euler steps on the metric
        graph), and a new graph resets ``t`` (0.2 on the metric graph, 10 on the alpha-decay
        graph), unless the value was no longer the previous setting's default: a value set in
        the same batch (a URL or tour step giving weights and t together) stays."""
        old = {"method": self.method, "weights": self.weights, **{e.name: e.old for e in events}}
        new = heat_geodesic.default_order(self.method, self.weights)
        if new is not None and int(self.order) == heat_geodesic.default_order(old["method"], old["weights"]):
            self.order = new
        if old["weights"] != self.weights and float(self.t) == heat_geodesic.DEFAULT_T[old["weights"]]:
            self.t = heat_geodesic.DEFAULT_T[self.weights]

    def _publish(self, changed):
        ckey = tuple(self.compare) + self._graph_key()
        with param.parameterized.batch_call_watchers(self):
            if "data" in changed:
                self._data_version += 1
            if ckey != self._last_compare_key:
                self._last_compare_key = ckey
                self._compare_version += 1
            self._version += 1
            self.status = self._timing_text()

    def _on_change(self, *events):
        self.run("compute", self._compute, self._publish, text="computing …")
        if self._multiples_on and self._multiples_key() != (self._cache.get("multiples") or (None,))[0]:
            self.compute_multiples()

    # ------------------------------------------------------------------ public results
    @property
    def metrics(self) -> dict:
        """Row-mean Spearman / Pearson of the heat-geodesic distances and of the embedding's
        distances against the ground truth (on farthest-point evaluation rows), and kernel
        diagnostics; without ground truth (digits, your own points) ``trustworthiness`` and
        ``knn_preservation`` instead (see :mod:`._heat_own`); ``residual_variance`` always."""
        with self._lock:
            return dict(self._metrics())

    @property
    def embedding(self) -> np.ndarray:
        """The current heat-geodesic embedding (n, 2)."""
        with self._lock:
            return self._embedding()

    # ------------------------------------------------------------------ views
    def _color(self):
        if self._showing_user():
            return self._user["color"], self._user["label"]
        ds = self._data()["ds"]
        label = "label" if ds.name == "digits" else ("distance from root" if ds.name == "tree" else "intrinsic coordinate")
        return ds.color, label

    @param.depends("_data_version", "azimuth", "elevation")
    def _data_plot(self):
        def fn():
            c, label = self._color()
            ds = self._data()
            d = ds["ds"].X.shape[1]
            name = own.view_title(self._user, d) if self._showing_user() else \
                f"{self.dataset} (n={self.n}{', first 3 principal components' if d > 3 else ''})"
            el = viz.manifold_scatter(ds["X3"], c, self.azimuth, self.elevation, label=label,
                                      title=f"{name}, drag az/el to rotate", **self._copts())
            return el.get(0)
        return self._guard(fn, "data")

    def view_data(self):
        """The point cloud (3-D seen from azimuth/elevation), coloured by the intrinsic
        coordinate; a tap picks the heat source."""
        dm = hv.DynamicMap(self._data_plot)
        self._tap(dm, "data")
        return dm.opts(width=360, height=330)

    @param.depends("_version", "source", "azimuth", "elevation")
    def _heat_plot(self):
        def fn():
            h = self._heat_column()
            ds = self._data()
            src = min(int(self.source), self._npts() - 1)
            logh = np.log10(np.clip(h, 1e-30, None))
            return viz.manifold_scatter(ds["X3"], logh, self.azimuth, self.elevation, label="log10 heat",
                                        title=f"heat from node {src}, t = {self.t:g}", highlight=src,
                                        cmap="inferno", colorbar=True, clim=(max(float(logh.min()), -20.0),
                                                                             float(logh.max())))
        return self._guard(fn, "heat")

    def view_heat(self):
        """Heat diffusing from ``source`` after time ``t`` (log10 of H_t e_source)."""
        dm = hv.DynamicMap(self._heat_plot)
        self._tap(dm, "data")
        return dm.opts(width=400, height=330)

    @param.depends("_version", "source")
    def _embedding_plot(self):
        def fn():
            c, label = self._color()
            Y = self._embedding()
            m = self._metrics()
            sp = m.get("embedding_spearman")
            mode = f", {self._landmark_key()[-1]} landmarks" if self._npts() > LANDMARK_ABOVE else ""
            title = f"heat geodesic t={self.t:g}{mode}" + (f" · ρ={sp:.3f}" if sp is not None else "")
            return viz.embedding_scatter(Y, c, label=label, title=title, highlight=min(self.source, Y.shape[0] - 1),
                                         **self._copts())
        return self._guard(fn, "heat geodesic")

    def _compare_plot(self, name):
        @param.depends(self.param._compare_version, self.param.source)
        def plot(*_, **__):
            def fn():
                if name not in self.compare:   # a view left over from before compare changed
                    return self._last_good.get(name) or hv.Overlay([hv.Points([], ["u", "v"])]).opts(title=name)
                if self._npts() > own.COMPARE_LIMIT:   # all-pairs methods: not on a 20,000-point upload
                    return hv.Overlay([hv.Points([], ["u", "v"])]).opts(
                        title=f"{name}: offered up to n = {own.COMPARE_LIMIT:,}")
                c, label = self._color()
                r = self._compare_result(name)
                sp = r.get("embedding_spearman")
                title = f"{name} ({r['result'].seconds:.1f} s)" + (f" · ρ={sp:.3f}" if sp is not None else "")
                return viz.embedding_scatter(r["result"].embedding, c, label=label, title=title,
                                             highlight=min(self.source, self._npts() - 1), **self._copts())
            return self._guard(fn, name)
        return plot

    def view_embeddings(self):
        """The heat-geodesic embedding beside each ``compare`` method's embedding
        (ρ = row-mean Spearman of embedding distances against ground truth)."""
        return hv.Layout(self._embedding_maps()).opts(shared_axes=False)

    def _embedding_maps(self):
        heat_dm = hv.DynamicMap(self._embedding_plot).opts(width=360, height=330)
        self._tap(heat_dm, "embedding")
        return [heat_dm] + [hv.DynamicMap(self._compare_plot(m)).opts(width=360, height=330) for m in self.compare]

    @param.depends("_version")
    def _distance_plot(self):
        def fn():
            dat = self._data()
            if dat["truth"] is None:   # an Overlay like the scatter pair: one type per DynamicMap
                empty = hv.Scatter([], "ground truth / max", "distance / max")
                name = self._user["name"] if self._showing_user() else self.dataset
                return (empty * empty).opts(title=f"{name} has no ground-truth geodesics (from_points takes them)")
            rows, Dh, De = self._eval_distances()
            m = self._metrics()
            T = dat["truth"]
            pairs = viz.sample_pairs(T.shape, 2500)
            a = viz.distance_scatter(T, Dh, label="heat-geodesic distance", pairs=pairs, color="#d62728")
            b = viz.distance_scatter(T, De, label="embedding distance", pairs=pairs, color="#1f77b4")
            title = (f"vs ground truth (each / its max) · heat ρ={m['heat_spearman']:.3f} "
                     f"r={m['heat_pearson']:.3f} slope={m['heat_slope']:.2f} · embedding "
                     f"ρ={m['embedding_spearman']:.3f} r={m['embedding_pearson']:.3f}")
            return (a * b).opts(title=title, legend_position="top_left")
        return self._guard(fn, "distances")

    def view_distances(self):
        """Heat-geodesic and embedding distances against ground-truth geodesics (subsampled
        pairs, each scaled by its maximum), with row-mean Spearman ρ (ranks), Pearson r and the
        log-log slope of the distances (shape: 1 = proportional)."""
        return hv.DynamicMap(self._distance_plot).opts(width=760, height=330)

    @param.depends("_version")
    def _spectrum_plot(self):
        def fn():
            g = self._graph()
            order = int(self.order) if self.method == "chebyshev" else 30
            steps = int(self.order) if self.method == "euler" else 1
            return viz.spectrum_plot(self._spectrum(), float(self.t), order, g["lmax"], steps).redim.label(
                **{"λ": ("eigenvalue λ of the normalized Laplacian (0…2)" if self.weights == "alpha" else
                         f"eigenvalue λ of the metric graph's Laplacian (0…{g['lmax']:.0f})"),
                   "filter": "filter value (1 at λ = 0)",
                   "abs error": "|approximation − exp(−tλ)|"})
        return self._guard(fn, "spectrum")

    def view_spectrum(self):
        """The graph's eigenvalues on the heat filter exp(−tλ), the Chebyshev approximation
        of order K (``order`` when method='chebyshev', else 30), backward Euler, and errors."""
        return hv.DynamicMap(self._spectrum_plot)

    def _numerics(self):
        def build():
            g = self._graph()
            rows = self._data()["eval_rows"][:32]
            B = np.zeros((self._npts(), rows.size))
            B[rows, np.arange(rows.size)] = 1.0
            t = float(self.t)
            cheb_k = int(self.order) if self.method == "chebyshev" else 30
            euler_k = int(self.order) if self.method == "euler" else heat_geodesic.default_order("euler", self.weights)
            out = {}
            if self._npts() <= EXACT_LIMIT:
                out["exact"] = heat.heat_kernel(g["L"], t, B, "exact", eig=self._eig()).cpu().numpy()
            out["chebyshev"] = heat.heat_kernel(g["L"], t, B, "chebyshev", cheb_k, lmax=g["lmax"]).cpu().numpy()
            out["euler"] = heat.heat_kernel(g["L"], t, B, "euler", euler_k).cpu().numpy()
            return out, cheb_k, euler_k
        key = self._graph_key() + (float(self.t), self.method, int(self.order))
        return self._stage("numerics", key, build, shared=True)

    @param.depends("_version")
    def _numerics_plot(self):
        def fn():
            kernels, ck, ek = self._numerics()
            counts = {k: heat.kernel_counts(v) for k, v in kernels.items()}
            dat = self._data()
            src = dat["eval_rows"][:32]
            rows = []
            for k, c in counts.items():
                rho = float("nan")
                if dat["truth"] is not None:  # what the lost entries do to the geodesics (each kernel's own law)
                    law = heat_geodesic.resolve_formula(self.formula, k)
                    D, _ = heat_geodesic.distances_from_kernel(kernels[k], float(self.t), formula=law,
                                                               order=ek if k == "euler" else 1)
                    rho = metrics.row_spearman(D.numpy().T, dat["truth"][: src.size], self_index=src)
                rows.append((k, c["entries"], c["le_tiny"], c["le_zero"], f"{c['min']:.2e}", round(rho, 4)))
            table = hv.Table(rows, ["method"], ["entries", "≤ 1e-15", "≤ 0", "min entry", "Spearman ρ"]).opts(
                width=620, height=120)
            title = f"log10 H_t, 32 source columns, t = {self.t:g} (Chebyshev K={ck}, Euler K={ek})"
            hist = viz.kernel_histogram(kernels, title=title).redim.label(
                **{"log10 H": "log10 H_t(i, j) (kernel entry, dimensionless)",
                   "entries": f"entries per bin (32 columns × {self._npts()})"})
            return (hist + table).cols(1)
        return self._guard(fn, "numerics")

    def view_numerics(self):
        """What ~0 kernel entries do: histograms of log10 H for the exact eigendecomposition,
        Chebyshev and Euler, with counts of entries ≤ 1e-15 and ≤ 0."""
        return hv.DynamicMap(self._numerics_plot)

    @param.depends("_multiples_version")
    def _multiples_plot(self):
        def fn():
            hit = self._cache.get("multiples")
            if hit is None or hit[0] != self._multiples_key():
                return None
            c, label = self._color()
            plots = []
            for (method, t), (Y, rho) in hit[1].items():
                title = f"{method}, t = {t:g}" + (f" · ρ={rho:.3f}" if rho is not None else "")
                if Y is None:
                    plots.append(hv.Points([], ["u", "v"]).opts(title=f"{method}, t = {t:g}: not finite",
                                                                 width=230, height=210))
                    continue
                plots.append(viz.embedding_scatter(Y, c, label=label, title=title, **self._copts()).opts(
                    hv.opts.Points(width=230, height=210, colorbar=False, size=2, toolbar=None, fontsize={"labels": 8}),
                    hv.opts.Overlay(xlabel="MDS 1 (distance units)", ylabel="MDS 2")))
            return hv.Layout(plots).cols(len(MULTIPLE_TS)).opts(shared_axes=False)
        out = self._guard(fn, "small multiples")
        if out is None:
            return pn.pane.Markdown("*computing the small multiples …*" if self.running("multiples") else "")
        return pn.pane.HoloViews(out, linked_axes=False)

    def open_multiples(self):
        """The small-multiples tab was opened: compute them (and keep them current from now on)."""
        self._multiples_on = True
        self.compute_multiples()

    def _tap(self, dm, which):
        tap = hv.streams.Tap(source=dm, x=None, y=None)

        def pick(x=None, y=None):
            if x is None or y is None:
                return
            try:
                with self._lock:
                    if which == "data":
                        P, _ = viz.project_points(self._data()["X3"], self.azimuth, self.elevation)
                    else:
                        P = self._embedding()[:, :2]
            except Exception:
                return
            self.source = int(np.argmin((P[:, 0] - x) ** 2 + (P[:, 1] - y) ** 2))

        tap.add_subscriber(pick)
        return tap

    # ------------------------------------------------------------------ dashboard
    def _timing_text(self):
        tim = " · ".join(f"{k} {1000 * v:.0f} ms" for k, v in self.timings.items() if k != "total")
        return f"last update: {tim or 'cached'}"

    def _metrics_markdown(self):
        if "compute" in self._errors:
            return ""
        try:
            m = self.metrics
        except Exception:
            return ""
        return own.metrics_markdown(self, m)

    def _t_player(self):   # play t through T_GRID (and follow t when it is set elsewhere)
        return grid_player(self, "t", T_GRID, "animate t")

    def controls(self):
        """Data and graph, heat kernel (log-t slider and player), view."""
        sw = {"sizing_mode": "stretch_width"}
        widgets = {
            "dataset": {"type": pn.widgets.Select, "css_classes": ["w-dataset"]},
            "noise": {"type": pn.widgets.FloatSlider, "throttled": True},
            "decay": {"type": pn.widgets.FloatSlider, "throttled": True},
            "denoise": {"type": pn.widgets.FloatSlider, "throttled": True, "name": "denoise s (heat-smooth the points; 0 = off)"},
            "sigma": {"type": pn.widgets.FloatSlider, "throttled": True},
            "order": {"type": pn.widgets.IntSlider, "throttled": True},
            "azimuth": {"type": pn.widgets.FloatSlider, "throttled": True},
            "elevation": {"type": pn.widgets.FloatSlider, "throttled": True},
            "method": pn.widgets.RadioButtonGroup,
            "weights": pn.widgets.RadioButtonGroup,
            "formula": pn.widgets.RadioButtonGroup,
            "compare": pn.widgets.CheckBoxGroup,
        }

        def params(names):
            return pn.Param(self.param, parameters=names, widgets=widgets, show_name=False, **sw)
        t_slider = log_slider(self, "t", "t (diffusion time, log scale)", "t-slider")
        builtin = pn.Column(self.int_input("n", step=100), params(["noise"]), self.int_input("seed"), **sw)
        return pn.Column(
            pn.pane.Markdown("### Data and graph"), params(["dataset"]), builtin, own.controls(self, builtin),
            pn.pane.Markdown("Graph weights (**length**: metric · **alpha**: hops)", margin=(0, 10)),
            params(["weights"]), self.int_input("knn"),
            params(["decay", "denoise"]),
            self.int_input("landmarks"),
            pn.pane.Markdown("### Heat kernel"), t_slider, self._t_player(),
            params(["sigma", "method", "order", "formula", "compare"]),
            pn.pane.Markdown("### View"), self.int_input("source"), params(["azimuth", "elevation"]), **sw)

    def main(self):
        """Scores, then tabs: diffusion and embeddings, distances against the truth, spectrum,
        numerics (a tab's plots are built when it is first opened: a page costs the server less)."""
        metrics = pn.pane.Markdown(self._metrics_markdown(), css_classes=["explorer-metrics"],
                                   sizing_mode="stretch_width", margin=(0, 10))
        self.param.watch(lambda *_: setattr(metrics, "object", self._metrics_markdown()), ["_version", "error"])

        def embedding_row(compare):
            return pn.Row(*[pn.pane.HoloViews(dm, linked_axes=False) for dm in self._embedding_maps()])
        embeddings = pn.panel(pn.bind(embedding_row, self.param.compare))
        tabs = pn.Tabs(
            ("Diffusion & embeddings", pn.Column(
                pn.Row(self.view_data(), self.view_heat()),
                embeddings,
            )),
            ("Distances", pn.Column(pn.pane.Markdown(texts.DISTANCES), self.view_distances())),
            ("Spectrum", pn.Column(pn.pane.Markdown(texts.SPECTRUM), self.view_spectrum())),
            ("Numerics", pn.Column(pn.pane.Markdown(texts.NUMERICS), self.view_numerics())),
            ("t × method", pn.Column(pn.pane.Markdown(texts.MULTIPLES, css_classes=["heat-multiples-text"]),
                pn.param.ParamMethod(self._multiples_plot, lazy=True, css_classes=["heat-multiples"]))),
            dynamic=True, sizing_mode="stretch_width",
        )

        def on_tab(event):
            if tabs._names[event.new] == "t × method":
                self.open_multiples()
        tabs.param.watch(on_tab, "active")
        return pn.Column(metrics, tabs, sizing_mode="stretch_width")
