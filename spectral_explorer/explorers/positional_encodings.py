"""Positional-encoding explorer: Laplacian eigenvectors on graphs, their sign/basis ambiguity
and instability, and the stable alternatives (Huang et al., "On the Stability of Expressive
Positional Encodings for Graphs", ICLR 2024).

Staged computation (each stage keyed on parameter values, never on tensors; the cache
lives on the instance, i.e. per session)::

    graph       (graph, its size/seed parameters)            -> networkx graph, adjacency, edges
    layout      graph                                        -> fixed node positions
    eig         graph                                        -> full eigendecomposition (fixed signs)
    rwpe        graph + rw_steps                             -> (n, K) return probabilities
    sinusoidal  n + sin_dim + sin_base                       -> (n, d)
    encoding    graph + (encoding, index, flip_sign, angle, tol) -> the coloured channel
    projector   graph + (tol, eigenspace of index, angle)   -> P, P_rotated
    stability   graph + (stab_k, spe_seed, tol) [+ eps]      -> ‖ΔPE‖/‖ΔL‖ curves (lazy)
    cycle       (cycle_n, sin_dim)                           -> sinusoids in the cycle eigenbasis (lazy)

Moving ``index``, ``flip_sign`` or ``angle`` recomputes only the encoding and projector
stages; the eigendecomposition is reused.  Your own graph (:meth:`~PositionalEncodingExplorer.from_graph`
or an upload) is ``graph="upload"`` with the same stages and views (see :mod:`._pe_own`).

Examples
--------
>>> ex = PositionalEncodingExplorer(graph="cycle", n=12)
>>> ex.index = 3
>>> sorted(k for k in ex.timings if k != "total")
['encoding', 'projector']
"""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import networkx as nx
import panel as pn
import param
import torch

from .. import eigen, graphs
from .. import positional_encodings as pe
from .. import spe as spe_mod
from .. import viz
from ._tour import tour_param
from ._base import Explorer, log_slider, message
from . import _pe_own as own
from .training import CycleCountTrainer

__all__ = ["PositionalEncodingExplorer", "GRAPHS", "GRAPH_PARAMS", "EPS_GRID", "MAX_NODES"]

#: graph name -> the parameters that shape it (shown in the dashboard only for that graph); "upload": a user's
GRAPH_PARAMS = {**graphs.NAMED_GRAPHS, own.UPLOAD: ()}
GRAPHS = tuple(graphs.NAMED_GRAPHS)
#: largest graph offered (a dense eigendecomposition per change)
MAX_NODES = graphs.MAX_NAMED_NODES
#: perturbation sizes of the stability curves
EPS_GRID = [float(f"{v:.3g}") for v in np.geomspace(1e-8, 1e-1, 8)]
ENCODING_KINDS = ("lappe", "rwpe", "sinusoidal")
#: graphs whose stability curves the "Six graphs (ε sweep)" tab shows side by side
STABILITY_GRAPHS = ("cycle", "path", "grid", "hypercube", "karate_club", "random_regular")
_GRAPH_CORE = ("graph", "n", "rows", "dim", "branching", "height", "degree", "p", "p_out", "blocks", "rewire", "seed")
_ALL = _GRAPH_CORE + ("encoding", "index", "flip_sign", "angle", "tol", "rw_steps", "sin_dim", "sin_base")


class PositionalEncodingExplorer(Explorer):
    """Laplacian / random-walk / sinusoidal positional encodings on graphs, interactively; the
    Training tab is a :class:`~spectral_explorer.explorers.training.CycleCountTrainer`
    (:attr:`trainer`)."""

    url_params = _ALL + ("eps", "stab_k", "spe_seed", "cycle_n", "channel") + ("tour",)
    tour_name = "positional_encodings"
    tour = tour_param(tour_name)
    _ERROR_ORDER = ("url", "compute", "stability")

    # ------------------------------------------------------------------ graph
    graph = param.ObjectSelector(default="cycle", objects=list(GRAPHS) + [own.UPLOAD], doc="""
        Graph: four real social networks shipped with networkx (karate club, Les Misérables,
        Florentine families, Davis southern women), a generator (path, cycle, grid, ladder,
        hypercube, balanced tree, random regular, Erdős–Rényi, stochastic block model,
        Watts–Strogatz) or ``"upload"``: your graph (:meth:`from_graph` or a file uploaded in the page).""")
    n = param.Integer(default=24, bounds=(3, MAX_NODES), doc="""
        Nodes of path, cycle, random regular, Erdős–Rényi, SBM and Watts–Strogatz graphs;
        columns of the grid; rungs of the ladder.""")
    rows = param.Integer(default=6, bounds=(1, 40), doc="Rows of the grid graph.")
    dim = param.Integer(default=4, bounds=(1, 8), doc="Dimension of the hypercube (2^dim nodes).")
    branching = param.Integer(default=2, bounds=(1, 6), doc="Children per node of the balanced tree.")
    height = param.Integer(default=4, bounds=(1, 10), doc="Height of the balanced tree.")
    degree = param.Integer(default=3, bounds=(1, 20), doc="""
        Degree of the random regular graph (n·degree must be even, degree < n); neighbours k of
        the Watts–Strogatz ring.""")
    p = param.Number(default=0.15, bounds=(0.0, 1.0), step=0.01, doc="Edge probability of Erdős–Rényi; within-block probability of the SBM.")
    p_out = param.Number(default=0.02, bounds=(0.0, 1.0), step=0.01, doc="Between-block edge probability of the SBM.")
    blocks = param.Integer(default=3, bounds=(1, 10), doc="Number of (equal) blocks of the SBM.")
    rewire = param.Number(default=0.1, bounds=(0.0, 1.0), step=0.01, doc="Rewiring probability of Watts–Strogatz.")
    seed = param.Integer(default=0, bounds=(0, 100_000), doc="Seed of the random graph generators.")

    # ------------------------------------------------------------------ encoding
    encoding = param.ObjectSelector(default="lappe", objects=list(ENCODING_KINDS), doc="""
        Encoding shown on the nodes: Laplacian eigenvector (LapPE), random-walk return
        probability (RWPE) or Transformer sinusoid over the node order.""")
    index = param.Integer(default=1, bounds=(0, MAX_NODES - 1), doc="""
        Channel: LapPE eigenvector i (0 = the trivial one, 0..n−1), RWPE walk length j
        (1..rw_steps) or sinusoidal channel (0..sin_dim−1). Clamped to the valid range when
        the graph or the encoding changes.""")
    flip_sign = param.Boolean(default=False, doc="Multiply the shown eigenvector by −1 (sign ambiguity).")
    angle = param.Number(default=0.0, bounds=(0.0, 360.0), step=1.0, doc="""
        Rotation angle (degrees) inside the eigenspace of the shown eigenvector, when its
        eigenvalue is repeated (multiplicity ≥ 2): v ← cos θ v + sin θ w with w the next basis
        vector of the same eigenspace (basis ambiguity).""")
    tol = param.Number(default=1e-6, bounds=(1e-12, 1e-1), doc="""
        Eigenvalues closer than this are grouped into one eigenspace (repeated eigenvalues,
        hard projectors).""")
    rw_steps = param.Integer(default=16, bounds=(1, 64), doc="Number K of random-walk lengths of RWPE.")
    sin_dim = param.Integer(default=8, bounds=(2, 64), doc="""
        Channels d of the sinusoidal encodings (even for the cycle comparison, d ≤ cycle_n − 1).""")
    sin_base = param.Number(default=10000.0, bounds=(2.0, 1e6), doc="Base of the Transformer frequency ladder.")

    # ------------------------------------------------------------------ stability
    eps = param.Number(default=1e-4, bounds=(1e-8, 1e-1), doc="""
        Perturbation: amount ε added to the weight of the first edge (log-scale slider).""")
    stab_k = param.Integer(default=4, bounds=(1, 64), doc="""
        Eigenvectors λ_1..λ_k entering the raw and projector encodings (k ≤ n − 2).""")
    spe_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the fixed, randomly initialised SPE network.")

    # ------------------------------------------------------------------ sinusoids vs cycle
    cycle_n = param.Integer(default=32, bounds=(3, 256), doc="Nodes of the cycle compared with the sinusoids.")
    channel = param.Integer(default=0, bounds=(0, 63), doc="Sinusoidal channel shown as a curve (0..sin_dim−1).")

    _stab_version = param.Integer(default=0, precedence=-1, doc="Bumped when the stability sweep is computed.")
    _graphs_version = param.Integer(default=0, precedence=-1, doc="Bumped when the sweeps across graphs are computed.")
    _graph_version = param.Integer(default=0, precedence=-1, doc="Bumped when the graph changes.")
    _enc_version = param.Integer(default=0, precedence=-1, doc="Bumped when the shown encoding changes.")
    _proj_version = param.Integer(default=0, precedence=-1, doc="Bumped when the projector stage changes.")
    _space_version = param.Integer(default=0, precedence=-1, doc="""
        Bumped when the shown eigenspace changes (graph, tolerance or eigenvalue group): the
        projector image redraws only then — a new basis of the same space leaves it unchanged.""")

    def __init__(self, **params):
        user = params.pop("_user_graph", None)
        super().__init__(**params)
        self._user, self._user_token = user, 0
        if user is not None:
            self._hold_user_data()
        own.check_reload(self)
        self.param.watch(lambda e: own.on_graph(self, e), "graph", precedence=0)
        self._last_space = None
        self._stability_on = False     # the ε sweep runs once its tab has been opened
        self._graphs_on = False        # so do the sweeps across graphs
        self.trainer = CycleCountTrainer()
        self.param.watch(self._on_graph_or_encoding, list(_GRAPH_CORE) + ["encoding", "rw_steps", "sin_dim"],
                         precedence=1)
        self.param.watch(self._on_change, list(_ALL), precedence=2)
        self.param.watch(self._on_stability, list(_GRAPH_CORE) + ["eps", "stab_k", "spe_seed", "tol"], precedence=3)
        self.param.watch(self._on_stability_graphs, list(_GRAPH_CORE) + ["stab_k", "spe_seed", "tol"], precedence=4)
        self._clamp_index()
        self.run("compute", self._compute, self._publish, background=False)

    # ------------------------------------------------------------------ caching

    @classmethod
    def from_graph(cls, G, name: str | None = None, weight: str | None = "weight", **params):
        """The explorer on your graph ``G``: a networkx graph (nodes numbered in ``G.nodes`` order, labels
        kept; ``weight``: the edge attribute, None = unweighted), a scipy sparse adjacency (weights kept, read
        as ``max(A, Aᵀ)``) or an edge index ``(2, E)`` (numpy / torch); self-loops dropped; ``params``: the
        explorer's parameters.  Every view as for built-in graphs (``graph == "upload"``); above
        ``positional_encodings.FULL_SPECTRUM_MAX`` nodes ``eigenpairs`` holds the first ``PARTIAL_K`` (sparse)
        and the ε sweep says it is not offered (see :mod:`._pe_own`).  Bad input raises ``ValueError``.

        >>> import networkx as nx
        >>> ex = PositionalEncodingExplorer.from_graph(nx.les_miserables_graph(), weight=None)
        >>> ex.graph, ex.eigenpairs[0].shape, ex.table()["label"][0]
        ('upload', (77,), 'Napoleon')
        """
        return own.from_graph(cls, G, name=name, weight=weight, **params)

    def _graph_key(self):
        if self.graph == own.UPLOAD:
            return (own.UPLOAD, self._user_token)
        return (self.graph,) + tuple(getattr(self, p) for p in GRAPH_PARAMS[self.graph])

    def _enc_key(self):
        if self.encoding == "lappe":
            extra = (int(self.index), bool(self.flip_sign), float(self.angle), float(self.tol))
        elif self.encoding == "rwpe":
            extra = (int(self.index), int(self.rw_steps))
        else:
            extra = (int(self.index), int(self.sin_dim), float(self.sin_base))
        return self._graph_key() + (self.encoding,) + extra

    # ------------------------------------------------------------------ stages
    def _build_graph(self):
        if self.graph == own.UPLOAD:
            return own.build_graph(self)
        params = {k: getattr(self, k) for k in GRAPH_PARAMS[self.graph]}
        G = graphs.named_graph(self.graph, max_nodes=MAX_NODES, **params)
        nodes = list(G.nodes)
        index = {v: i for i, v in enumerate(nodes)}
        edges = np.array([(index[u], index[v]) for u, v in G.edges], dtype=np.int64).reshape(-1, 2)
        A = nx.to_numpy_array(G, nodelist=nodes, weight=None)
        return dict(G=G, A=A, edges=edges, n=len(nodes), labels=[str(v) for v in nodes], nodes=nodes,
                    components=nx.number_connected_components(G))

    def _graph(self):
        return self._stage("graph", self._graph_key(), self._build_graph, shared=True)

    def _layout(self):
        return self._stage("layout", self._graph_key(), lambda: own.layout(self), shared=True)

    def _eig(self):
        def build():   # every eigenpair (dense), or the first ones of a large user graph (sparse)
            return pe.laplacian_eigenpairs(self._graph()["A"])
        return self._stage("eig", self._graph_key(), build, shared=True)

    def _rwpe(self):
        def build():
            return pe.random_walk_pe(self._graph()["A"], int(self.rw_steps), device="cpu",
                                     dtype=torch.float64).numpy()
        return self._stage("rwpe", self._graph_key() + (int(self.rw_steps),), build, shared=True)

    def _sinusoidal(self):
        def build():
            n = self._graph()["n"]
            return pe.sinusoidal_pe(n, int(self.sin_dim), base=float(self.sin_base), device="cpu",
                                    dtype=torch.float64).numpy()
        return self._stage("sinusoidal", self._graph_key() + (int(self.sin_dim), float(self.sin_base)), build, shared=True)

    def _groups(self):
        evals, _ = self._eig()
        return self._stage("groups", self._graph_key() + (float(self.tol),),
                           lambda: eigen.eigenvalue_groups(evals, float(self.tol)), shared=True)

    def _group_of(self, i):
        return next(g for g in self._groups() if g[0] <= i < g[1])

    def _partner(self, i):
        """The basis vector rotated with eigenvector ``i`` (same eigenspace), or None."""
        a, b = self._group_of(i)
        if b - a < 2:
            return None
        return i + 1 if i + 1 < b else a

    def _rotated_basis(self, i):
        """Eigenvectors of the eigenspace of ``i`` after the rotation by ``angle`` (and flip)."""
        _, V = self._eig()
        a, b = self._group_of(i)
        B = V[:, a:b].copy()
        j = self._partner(i)
        if j is not None:
            th = math.radians(float(self.angle))
            vi, vj = B[:, i - a].copy(), B[:, j - a].copy()
            B[:, i - a] = math.cos(th) * vi + math.sin(th) * vj
            B[:, j - a] = -math.sin(th) * vi + math.cos(th) * vj
        if self.flip_sign:
            B[:, i - a] *= -1.0
        return B, (a, b), j

    def _encoding(self):
        def build():
            n = self._graph()["n"]
            i = int(self.index)
            if self.encoding == "lappe":
                evals, _ = self._eig()
                if not 0 <= i < evals.size:
                    raise ValueError(f"index must be in 0..{evals.size - 1} for LapPE on this graph (n={n}"
                                     f"{'' if evals.size == n else f', {evals.size} eigenvectors computed'}), got {i}")
                B, (a, b), j = self._rotated_basis(i)
                return dict(values=B[:, i - a], label=f"v_{i}", title=f"LapPE v_{i}, λ = {evals[i]:.4f}",
                            symmetric=True, cmap="RdBu_r")
            if self.encoding == "rwpe":
                K = int(self.rw_steps)
                if not 1 <= i <= K:
                    raise ValueError(f"index must be a walk length in 1..rw_steps={K} for RWPE, got {i}")
                return dict(values=self._rwpe()[:, i - 1], label=f"RW_{i}",
                            title=f"RWPE: return probability after {i} steps", symmetric=False, cmap="viridis")
            d = int(self.sin_dim)
            if not 0 <= i < d:
                raise ValueError(f"index must be a channel in 0..sin_dim−1={d - 1} for sinusoidal, got {i}")
            kind = "sin" if i % 2 == 0 else "cos"
            om = float(self.sin_base) ** (-2.0 * (i // 2) / d)
            return dict(values=self._sinusoidal()[:, i], label=f"PE_{i}",
                        title=f"sinusoidal channel {i}: {kind}({om:.3g}·node)", symmetric=True, cmap="RdBu_r")
        return self._stage("encoding", self._enc_key(), build, shared=True)

    def _projector(self):
        i = int(self.index)
        if self.encoding != "lappe" or not 0 <= i < self._eig()[0].size:
            return None

        def build():
            B, (a, b), j = self._rotated_basis(i)
            return own.projector(self._eig()[1], B, (a, b), i, j)
        a, b = self._group_of(i)
        key = self._graph_key() + (float(self.tol), a, b, i, float(self.angle), bool(self.flip_sign))
        return self._stage("projector", key, build, shared=True)

    def _spe_model(self):
        def build():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.spe_seed))
                model = spe_mod.SPE(m=8, d_out=8, phi_hidden=16, phi_layers=2, rho_hidden=16, rho_layers=1)
            return model.double().eval()
        return self._stage("spe_model", (int(self.spe_seed),), build, shared=True)

    def _spe_fn(self):
        """The shared SPE network as ``spe_fn(evals, evecs)`` for the stability measures."""
        model = self._spe_model()

        def spe_fn(w, V):
            with torch.no_grad():
                return model(w, V)
        return spe_fn

    def _stab_k(self, n=None):
        """``stab_k``, checked against this graph (or one of ``n`` nodes): λ_(k+1) − λ_k must exist."""
        n, k = self._graph()["n"] if n is None else n, int(self.stab_k)
        own.check_stability_size(n)
        if k > n - 2:
            raise ValueError(f"stab_k must be ≤ n − 2 = {n - 2} on this graph (the eigengap λ_(k+1) − λ_k must "
                             f"exist), got stab_k={k}")
        return k

    def _stability_at(self, eps):
        k = self._stab_k()
        return pe.pe_stability(torch.as_tensor(self._graph()["A"]), k, float(eps), tol=float(self.tol),
                               spe_fn=self._spe_fn())

    def _stab_key(self):
        return self._graph_key() + (int(self.stab_k), int(self.spe_seed), float(self.tol))

    def _stability_curve(self, job=None):
        def build():
            k = self._stab_k()
            return pe.pe_stability_curve(torch.as_tensor(self._graph()["A"]), k, EPS_GRID,
                                         tol=float(self.tol), spe_fn=self._spe_fn(),
                                         progress=job.progress if job else None, cancel=job.cancel if job else None)
        return self._stage("stability_curve", self._stab_key(), build, shared=True)

    def _graphs_key(self):
        return tuple((g,) + tuple(getattr(self, p) for p in GRAPH_PARAMS[g]) for g in STABILITY_GRAPHS) + (
            int(self.stab_k), int(self.spe_seed), float(self.tol))

    def _stability_graphs(self, job=None):
        """The ε sweep (``EPS_GRID``) on each of ``STABILITY_GRAPHS``, built with the current graph
        parameters, ``stab_k``, ``tol`` and SPE network: ``{graph: curves dict}`` or, for a graph the
        sweep does not apply to (e.g. ``stab_k`` > n − 2), ``{graph: error message}``.  Shared."""
        def build():
            return own.stability_graphs(self, job)
        return self._stage("stability_graphs", self._graphs_key(), build, shared=True)

    def _on_stability_graphs(self, *events):
        if self._graphs_on:
            self.run("stability_graphs", self._stability_graphs, lambda _: self._bump_graphs(),
                     text="ε sweeps across graphs …")

    def _bump_graphs(self):
        self._graphs_version += 1

    def open_stability_graphs(self):
        """Start the sweeps across graphs (the dashboard calls it when their tab opens)."""
        self._graphs_on = True
        self._on_stability_graphs()

    @param.depends("_graphs_version")
    def view_stability_graphs(self):
        """Small multiples: ‖ΔPE‖/‖ΔL‖ against ε for each of ``STABILITY_GRAPHS``, side by side."""
        def fn():
            hit = self._cache.get("stability_graphs")
            if hit is None or hit[0] != self._graphs_key():
                return hv.Layout([hv.Curve([], "ε", "‖ΔPE‖/‖ΔL‖").opts(
                    title="computing the ε sweeps …" if self.running("stability_graphs") else "", width=300, height=260)])
            return viz.stability_grid(EPS_GRID, hit[1])
        return self._guard(fn, "stability across graphs", width=300, height=260)

    def _stability(self):
        return self._stage("stability", self._stab_key() + (float(self.eps),), lambda: self._stability_at(self.eps), shared=True)

    def _cycle(self):
        def build():
            return pe.sinusoid_cycle_comparison(int(self.cycle_n), int(self.sin_dim), float(self.sin_base))
        return self._stage("cycle", (int(self.cycle_n), int(self.sin_dim), float(self.sin_base)), build, shared=True)

    def _compute(self, job=None):
        """The stages every change needs: graph, layout, eigenpairs, encoding, projector."""
        return self._run_stages(self._graph, self._layout, self._eig, self._encoding, self._projector, job=job)

    # ------------------------------------------------------------------ reactions
    def _index_range(self):
        try:
            n = self._graph()["n"]
        except Exception:
            n = int(self.n)
        if self.encoding == "lappe":
            return 0, own.lappe_count(self, n) - 1
        if self.encoding == "rwpe":
            return 1, int(self.rw_steps)
        return 0, int(self.sin_dim) - 1

    def _clamp_index(self):
        lo, hi = self._index_range()
        if not lo <= self.index <= hi:
            self.index = min(max(int(self.index), lo), hi)

    def _on_graph_or_encoding(self, *events):
        self._clamp_index()

    def _publish(self, changed):
        with param.parameterized.batch_call_watchers(self):
            if changed & {"graph", "layout", "eig"}:
                self._graph_version += 1
            if changed & {"encoding", "graph"}:
                self._enc_version += 1
            if changed & {"projector", "graph", "groups"}:
                self._proj_version += 1
            space = self._space_key()
            if space != self._last_space:
                self._last_space = space
                self._space_version += 1

    def _space_key(self):
        pr = self._cache.get("projector")
        if self.encoding != "lappe" or pr is None or pr[1] is None:
            return None
        return self._graph_key() + (float(self.tol),) + tuple(pr[1]["group"])

    def _on_change(self, *events):
        self.run("compute", self._compute, self._publish, text="computing …")

    # ------------------------------------------------------------------ the ε sweep (a job)
    def _stability_job(self, job):
        with self._lock:
            self._graph()
            if job is not None:
                job.progress(0.0, "ε sweep …")
            self._stability_curve(job)
            return self._stability()

    def _on_stability(self, *events):
        if self._stability_on:
            self.run("stability", self._stability_job, lambda _: self._bump_stability(), text="ε sweep …")

    def _bump_stability(self):
        self._stab_version += 1

    def open_stability(self):
        """Start the ε sweep (the dashboard calls it when the Stability tab opens)."""
        self._stability_on = True
        self._on_stability()

    # ------------------------------------------------------------------ public results
    @property
    def eigenpairs(self) -> tuple[np.ndarray, np.ndarray]:
        """All eigenvalues ``(n,)`` and eigenvectors ``(n, n)`` of the normalized Laplacian."""
        with self._lock:
            return self._eig()

    @property
    def encoding_values(self) -> np.ndarray:
        """The channel currently shown on the nodes ``(n,)`` (after flip and rotation)."""
        with self._lock:
            return np.array(self._encoding()["values"])

    @property
    def projector(self) -> dict | None:
        """``P`` (eigenspace projector from the solver's basis), ``P_rot`` (from the rotated,
        flipped basis), ``dP`` = ‖P_rot − P‖_F, ``dv`` = ‖v_rot − v‖, ``group`` ``(a, b)``;
        None unless the LapPE encoding is shown."""
        with self._lock:
            return self._projector()

    @property
    def stability(self) -> dict:
        """:func:`~spectral_explorer.positional_encodings.pe_stability` at the current ``eps``
        (``raw``, ``projectors``, ``subspace``, ``spe`` ratios, ``eigengap`` ...)."""
        with self._lock:
            return dict(self._stability())

    @property
    def cycle_comparison(self) -> dict:
        """Sinusoids with the cycle's frequencies, the cycle eigenvectors, their 2×2 coefficient
        blocks, the reconstruction and its residual; the Transformer ladder's least-squares fit."""
        with self._lock:
            return dict(self._cycle())

    def table(self):
        """The shown encoding per node: ``node``, ``label``, one column per channel (LapPE: ``v_i (λ=…)``)."""
        return own.table(self)

    def as_code(self) -> str:
        """A public-API script that rebuilds the shown encoding (all its channels) into ``result``."""
        return own.as_code(self)

    def export_name(self) -> str:
        return own.export_name(self)

    # ------------------------------------------------------------------ views
    @param.depends("_graph_version")
    def _edges_plot(self):
        def fn():
            return viz.graph_edges(self._layout(), self._graph()["edges"])
        return self._guard(fn, "graph")

    @param.depends("_enc_version", "_graph_version")
    def _nodes_plot(self):
        def fn():
            g, e = self._graph(), self._encoding()
            size = 13 if g["n"] <= 40 else (9 if g["n"] <= 150 else (6 if g["n"] <= 1000 else 3))
            return viz.graph_nodes(self._layout(), e["values"], g["labels"], label=e["label"], cmap=e["cmap"],
                                   symmetric=e["symmetric"], size=size, title=e["title"]).get(0)
        return self._guard(fn, "encoding")

    def view_graph(self):
        """The graph (fixed layout) with its nodes coloured by the chosen encoding channel."""
        edges = hv.DynamicMap(self._edges_plot)
        nodes = hv.DynamicMap(self._nodes_plot)
        return (edges * nodes).opts(width=470, height=400, framewise=True)

    @param.depends("_graph_version", "tol")
    def _spectrum_plot(self):
        def fn():
            evals, _ = self._eig()
            g = self._graph()
            rep = sum(1 for a, b in self._groups() if b - a >= 2)
            first = f"first {evals.size} of " if evals.size < g["n"] else ""
            title = f"spectrum of L ({first}n={g['n']}): {rep} repeated eigenvalue{'s' if rep != 1 else ''}"
            return viz.eigenvalue_plot(evals, self._groups(), None, title=title, width=440, height=400).opts(
                ylabel="eigenvalue λ_i (normalized Laplacian, 0…2)")
        return self._guard(fn, "spectrum")

    @param.depends("_graph_version", "_enc_version", "tol")
    def _spectrum_marker(self):
        def fn():
            evals, _ = self._eig()
            i = int(self.index)
            if self.encoding != "lappe" or not 0 <= i < evals.size:
                return hv.VSpan(None, None) * hv.Scatter([], "index", "λ")
            a, b = self._group_of(i)
            return (hv.VSpan(a - 0.5, b - 0.5).opts(color="#ffb000", alpha=0.25)
                    * hv.Scatter(([i], [evals[i]]), "index", "λ").opts(
                        color="black", size=16, fill_alpha=0, line_width=2))
        return self._guard(fn, "spectrum")

    def view_spectrum(self):
        """Eigenvalues of the normalized Laplacian; repeated ones (within ``tol``) highlighted,
        the shown eigenvector ringed and its eigenspace shaded."""
        fw = (hv.opts.Scatter(framewise=True), hv.opts.Overlay(framewise=True))   # axes follow a new graph
        return (hv.DynamicMap(self._spectrum_plot).opts(*fw) * hv.DynamicMap(self._spectrum_marker).opts(*fw)).opts(
            width=440, height=400, toolbar="above", legend_position="bottom_right",
            title="spectrum of L: repeated eigenvalues in orange")

    @param.depends("_space_version")
    def _projector_plot(self):
        def fn():
            pr = self._projector()
            if pr is None:
                return hv.Image(np.zeros((2, 2))).opts(title="projector: choose the LapPE encoding",
                                                       xaxis=None, yaxis=None, width=400, height=340)
            a, b = pr["group"]
            title = f"projector P onto span(v_{a}..v_{b - 1}), rank {b - a}"
            if pr["bins"] > 1:
                title += f" ({pr['bins']}×{pr['bins']} blocks averaged)"
            return viz.projector_image(pr["image"], title=title, size=340)
        return self._guard(fn, "projector")

    def view_projector(self):
        """The orthogonal projector onto the eigenspace of the shown eigenvector, built from the
        rotated/flipped basis: it does not change when the basis does."""
        return hv.DynamicMap(self._projector_plot).opts(framewise=True)   # axes follow a new graph

    def ambiguity_text(self) -> str:
        """Markdown: multiplicity of the shown eigenvalue and ‖P_rot − P‖ against ‖v_rot − v‖."""
        if "compute" in self._errors:
            return ""
        try:
            with self._lock:
                if self.encoding != "lappe":
                    return ("**RWPE** is a function of the graph alone (no basis choice): no ambiguity."
                            if self.encoding == "rwpe" else
                            "**Sinusoidal** encodings follow the node order, not the graph.")
                evals, _ = self._eig()
                pr = self._projector()
                a, b = pr["group"]
                i = int(self.index)
        except Exception:
            return ""
        m = b - a
        head = f"λ<sub>{i}</sub> = {evals[i]:.6f}, multiplicity **{m}**"
        if m >= 2:
            head += (f" (eigenvectors {a}–{b - 1}); rotating v<sub>{i}</sub> towards v<sub>{pr['partner']}</sub> "
                     f"by {self.angle:g}°")
        else:
            head += " — only the sign is ambiguous (try the cycle, grid or hypercube for rotations)"
        return (f"{head}<br>encoding moved ‖v<sub>rot</sub> − v‖ = **{pr['dv']:.3f}** · projector moved "
                f"‖P<sub>rot</sub> − P‖<sub>F</sub> = **{pr['dP']:.1e}** ≈ 0")

    def _sweep_pending(self) -> bool:
        """In a served page: the ε sweep for the current parameters is not computed yet (its
        job will draw it; a view never computes it on the event loop)."""
        hit = self._cache.get("stability_curve")
        return self._served() and (hit is None or hit[0] != self._stab_key())

    @param.depends("_graph_version", "stab_k", "spe_seed", "tol", "eps", "_stab_version")
    def _stability_plot(self):
        def fn():
            names = ("raw", "projectors", "subspace", "spe")
            if self._sweep_pending():   # the same curves, empty: a DynamicMap keeps one structure
                empty = {k: np.full(len(EPS_GRID), np.nan) for k in names}
                return viz.stability_plot(EPS_GRID, empty, current=float(self.eps), width=640, height=380,
                                          title="‖ΔPE‖/‖ΔL‖ vs ε: computing the ε sweep …")
            c = self._stability_curve()
            return viz.stability_plot(EPS_GRID, {k: c[k] for k in names}, current=float(self.eps),
                                      title=f"‖ΔPE‖/‖ΔL‖ vs ε (k = {self.stab_k}, eigengap {c['eigengap']:.3g})",
                                      width=640, height=380)
        return self._guard(fn, "stability")

    def view_stability(self):
        """‖ΔPE‖_F/‖ΔL‖_F against the perturbation ε of one edge weight, for raw eigenvectors,
        hard eigenspace projectors, the projector onto span(v_1..v_k) and a fixed random SPE."""
        return hv.DynamicMap(self._stability_plot)

    def stability_text(self) -> str:
        """Markdown with the live ratios at the current ``eps``."""
        hit = self._cache.get("stability")
        if self._served() and (hit is None or hit[0] != self._stab_key() + (float(self.eps),)):
            return "*computing …*"
        try:
            s = self.stability
        except Exception as exc:
            return f"*{message(exc)}*"
        return (f"At ε = **{self.eps:.2g}** (‖ΔL‖<sub>F</sub> = {s['delta_L']:.2e}): ‖ΔPE‖/‖ΔL‖ "
                f"raw eigenvectors **{s['raw']:.3g}** · hard projectors **{s['projectors']:.3g}** · "
                f"span projector {s['subspace']:.3g} · SPE **{s['spe']:.3g}** · eigengap λ<sub>k+1</sub> − "
                f"λ<sub>k</sub> = **{s['eigengap']:.3g}**")

    @param.depends("cycle_n", "sin_dim", "sin_base", "channel")
    def _cycle_plot(self):
        def fn():
            return viz.sinusoid_cycle_figure(self._cycle(), int(self.cycle_n), int(self.channel),
                                             float(self.sin_base))
        return self._guard(fn, "sinusoids")

    def view_sinusoidal(self):
        """Sinusoids with the cycle's frequencies beside the cycle's Laplacian eigenvectors, and
        one channel rebuilt from its 2-D eigenspace (residual ≈ 1e-15)."""
        return hv.DynamicMap(self._cycle_plot)

    # ------------------------------------------------------------------ dashboard
    def sync_url(self):
        """The encoding parameters and the training tab's (:attr:`trainer`) follow the URL."""
        super().sync_url()
        self.trainer.sync_url()

    def controls(self):
        """Graph (with only the chosen graph's own parameters) and encoding."""
        p = self.param
        sw = dict(sizing_mode="stretch_width")
        slider = {"type": pn.widgets.FloatSlider, "throttled": True}

        # one widget per graph parameter, built once; each graph shows its own
        inputs = {k: pn.Param(p, parameters=[k], widgets={k: slider}, show_name=False, **sw)
                  if k in ("p", "p_out", "rewire") else self.int_input(k)
                  for k in dict.fromkeys(k for names in GRAPH_PARAMS.values() for k in names)}

        def graph_params(name):
            names = list(GRAPH_PARAMS[name])
            if name == own.UPLOAD:
                return pn.pane.Markdown(own.summary_markdown(self), margin=(0, 10), css_classes=["pe-user-graph"])
            if not names:
                return pn.pane.Markdown("*a fixed real-world network*", margin=(0, 10))
            return pn.Column(*[inputs[k] for k in names], **sw)
        graph_box = pn.panel(pn.bind(graph_params, p.graph), **sw)

        encoding = pn.widgets.RadioButtonGroup.from_param(p.encoding, button_type="primary", button_style="outline",
                                                          css_classes=["w-encoding"], **sw)
        lo, hi = self._index_range()
        index = pn.widgets.IntSlider.from_param(p.index, start=lo, end=max(hi, lo + 1), css_classes=["index-slider"],
                                                name="index (eigenvector i / walk length j / channel)", **sw)
        flip = pn.widgets.Toggle.from_param(p.flip_sign, name="flip sign  v → −v", button_type="warning",
                                            css_classes=["w-flip"], **sw)
        angle = pn.widgets.FloatSlider.from_param(p.angle, name="rotation in the eigenspace (°)",
                                                  css_classes=["angle-slider"], **sw)
        tol = log_slider(self, "tol", "tolerance grouping eigenvalues (log scale)", "tol-slider", digits=1,
                         step=0.5, fmt="toExponential")

        def sync_widgets(*_):
            lo, hi = self._index_range()
            index.param.update(start=lo, end=max(hi, lo + 1))
            try:
                pr = self.projector
                rotatable = pr is not None and pr["partner"] is not None
            except Exception:
                rotatable = False
            angle.disabled = not rotatable
            flip.disabled = self.encoding != "lappe"
        self.param.watch(sync_widgets, ["_graph_version", "_proj_version", "encoding", "rw_steps", "sin_dim"])
        sync_widgets()
        return pn.Column(
            pn.pane.Markdown("### Graph"), pn.widgets.Select.from_param(p.graph, css_classes=["w-graph"], **sw),
            graph_box, own.upload_panel(self), pn.pane.Markdown("### Encoding"), encoding, index, flip, angle, tol,
            self.int_input("rw_steps"), self.int_input("sin_dim"),
            self.number_input("sin_base"), **sw)

    def main(self):
        """Tabs: encodings and ambiguity, stability, sinusoids vs cycle, training."""
        p = self.param
        sw = dict(sizing_mode="stretch_width")
        ambiguity = pn.pane.Markdown(self.ambiguity_text(), css_classes=["pe-ambiguity"], margin=(0, 10), **sw)
        self.param.watch(lambda *_: setattr(ambiguity, "object", self.ambiguity_text()),
                         ["_enc_version", "_proj_version", "error"])
        eps_slider = log_slider(self, "eps", "ε (added to one edge weight, log scale)", "eps-slider", step=0.05,
                                fmt="toExponential", width=420, sizing_mode=None)
        stab_text = pn.pane.Markdown("", css_classes=["pe-stability"], **sw)
        self.param.watch(lambda *_: setattr(stab_text, "object", self.stability_text()), ["_stab_version", "eps"])
        stab_params = pn.Row(self.int_input("stab_k", width=200, sizing_mode=None),
                             self.int_input("spe_seed", width=200, sizing_mode=None))
        channel = pn.widgets.IntSlider.from_param(p.channel, start=0, end=int(self.sin_dim) - 1, width=300,
                                                  name="channel shown as a curve")
        self.param.watch(lambda e: channel.param.update(end=max(1, e.new - 1)), "sin_dim")
        tabs = pn.Tabs(
            ("Encodings & ambiguity", pn.Column(
                pn.pane.Markdown(own.TEXTS["ambiguity"], **sw),
                ambiguity,
                pn.Row(self.view_graph(), self.view_spectrum()),
                pn.Row(self.view_projector(), pn.pane.Markdown(own.TEXTS["why"], width=360)),
            )),
            ("Stability", pn.Column(
                pn.pane.Markdown(own.TEXTS["stability"], **sw),
                pn.Row(eps_slider, stab_params), stab_text, self.view_stability())),
            ("Six graphs (ε sweep)", pn.Column(
                pn.pane.Markdown(own.TEXTS["graphs"], **sw),
                pn.param.ParamMethod(self.view_stability_graphs, lazy=True, css_classes=["pe-graphs"]))),
            ("Sinusoids vs cycle", pn.Column(
                pn.pane.Markdown(own.TEXTS["sinusoids"], **sw),
                pn.Row(self.int_input("cycle_n", width=200, sizing_mode=None), channel, pn.pane.Markdown(
                    "(channels d and base: *Sin dim*, *Sin base* on the left)", width=320)),
                self.view_sinusoidal())),
            ("Training", pn.Column(pn.pane.Markdown(own.TEXTS["training"], **sw), self.trainer)),
            dynamic=True, **sw)

        def on_tab(event):
            name = tabs._names[event.new]
            if name == "Stability":
                self.open_stability()
                stab_text.object = self.stability_text()
            elif name == "Six graphs (ε sweep)":
                self.open_stability_graphs()
        tabs.param.watch(on_tab, "active")
        return tabs
