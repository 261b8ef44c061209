"""Heat-geodesic distances and embeddings (Huguet et al., NeurIPS 2023).

Two laws of Varadhan turn a diffusion kernel into a distance, and each holds for its own
kernel:

``formula="varadhan"`` (the heat kernel's law; the paper's)
    On a manifold, ``−4t·log H_t(x, y) → d(x, y)²`` as ``t → 0`` for ``H_t = exp(−tL)``::

        d_ij² = −4t·log H_ij + σ·4t·log(½(H_ii + H_jj)),   clipped at 0.

    On a graph ``t → 0`` is the wrong limit: heat reaches a node ``k`` hops away only through
    walks of ``k`` steps, ``H_t ≈ t^k/k!``, so ``−4t·log H_t → 0`` for every pair.  The law
    holds in a window, while ``d`` is small against ``t`` in steps of the walk; farther out
    the graph kernel has a Poisson tail, ``−log H ≈ d·log(d/(e·t))``, and the estimate grows
    like ``√(d log d)``.
``formula="screened"`` (the resolvent's law; the default with ``method="euler"``)
    Varadhan's elliptic law: on a manifold, the Green function of ``I − sΔ`` (screened
    Poisson) satisfies ``−√s·log R_s(x, y) → d(x, y)`` as ``s → 0``.  Backward Euler with
    ``K`` steps is ``(I + (t/K)L)^{−K}``, so with ``s = t/K``::

        d_ij = √(t/K)·(−log H_ij + σ·log(½(H_ii + H_jj))),   clipped at 0.

    Its entries decay *exponentially* with distance, so the estimate grows in proportion to the
    geodesic.  On a graph ``s → 0`` is again the wrong limit: the walk needs whole edges, and
    on a chain of spacing ``h`` the law reads ``√s·arccosh(1 + h²/2s)`` per edge — 0.46·h at
    ``s = 0.01h²``, 0.96·h at ``s = h²``, 0.999·h at ``s = 40h²``; it is exact only for
    ``h² ≪ s ≪ diameter²``.  The metric graph below measures this factor on its own graph (the
    decay rate of its resolvent, :func:`~spectral_explorer.graphs.screening_decay`) and divides
    it out, which makes the law exact in the exponent at every ``s``.  What remains is the
    Green function's power-law prefactor: in ``m`` dimensions ``−√s·log R ≈ d +
    ((m+1)/2 − K)·√s·log d + const``, a term that is small against ``d`` once ``d ≫ √s``
    (``K = 2`` makes it vanish for ``m = 3``; for ``m = 2`` it is ``−½·√s·log d``).

The term with σ ≥ 0 ("Harnack regularization") corrects for the local volume; with σ = 1
every point is at distance 0 from itself.

The pure function :func:`heat_geodesic_distances` does the work on a Laplacian; the
estimator :class:`HeatGeodesicEmbedding` (scikit-learn conventions) builds the graph,
chooses ``t``, computes distances and embeds them with MDS.

The graph decides what the law measures.  On the alpha-decay graph (the paper's; nearly
unweighted, normalized Laplacian) heat moves one hop per unit of time, so the distances count
hops, and a hop's length varies with the sampling and the noise.  The estimator's default,
the *metric graph*, keeps the kNN edges with calibrated conductances
(:func:`~spectral_explorer.graphs.metric_conductances`): every node's second moment
``Σ_j c_ij ℓ_ij²`` is set to ``2m̂·ℓ̄²`` (``m̂`` the intrinsic dimension,
:func:`~spectral_explorer.graphs.intrinsic_dimension`; ``ℓ̄`` the median edge length), which
makes the combinatorial Laplacian ``≈ −ℓ̄²Δ``, the Laplace–Beltrami operator, whatever ``knn``
and the dimension.  With the graph factor above divided out, the distances are in the units of
the data: on flat 2-D and 3-D samples at knn 5, 10 and 20, the median of estimate over truth is
1.00–1.08 over the middle, long and farthest pairs and 0.99–1.15 over the shortest 5 % (n = 2000,
``python benchmarks/heat_units.py``; before the calibration 0.31–0.99, moving with knn).  What
it does not model: a varying sampling density adds a drift term to the operator (distances
stretch toward the sparse side), and noise across the manifold counts in ``m̂`` (a roll in 10-D
at noise 0.5 reads m̂ ≈ 5), so noisy data are embedded at a slightly different scale.

Heavy noise: when the noise is a sizeable fraction of the gap between two sheets of the
manifold (a swiss roll at noise 1.0: sheets 2π apart), a few dozen kNN edges join the sheets
and every graph distance — heat, shortest path, Isomap's — folds the roll.  The heat-based
remedy is :func:`heat_denoise` (diffuse the *coordinates* with one backward-Euler heat step
on the same graph, ``X ← (I + sL_rw)^{-1} X``) followed by a mutual graph on the smoothed
points; :meth:`HeatGeodesicEmbedding.denoising` switches both on.  It cannot be on for every
input, because diffusion also pulls the sample inward at the manifold's borders and clumps
it, which costs shape on clean data (see ``benchmarks/heat_noise_study.py``).  So the default,
``denoise="auto"``, uses it only where the plain graph fails a test that needs no ground truth
(see :class:`HeatGeodesicEmbedding` and ``benchmarks/heat_auto_denoise.py``).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from scipy.sparse.csgraph import dijkstra

from ._validation import check_choice, check_float, check_int, check_points
from .device import resolve_device
from .eigen import largest_eigenvalue
from .graphs import (alpha_decay_graph, check_connected, decay_from_profile, edge_lengths, edge_profile,
                     knn_graph, metric_conductances)
from . import heat
from .heat import HEAT_METHODS, chebyshev_coefficients, heat_kernel, _torch_sparse
from .laplacian import LAPLACIAN_KINDS, laplacian
from .mds import classical_mds, landmark_mds, smacof
from .metrics import residual_variance

__all__ = [
    "heat_geodesic_distances",
    "distances_from_kernel",
    "select_t_entropy",
    "PAPER_T_GRID",
    "PAPER",
    "MDS_KINDS",
    "farthest_point_landmarks",
    "HeatGeodesicEmbedding",
    "LANDMARK_THRESHOLD",
    "FORMULAS",
    "RANK_FAITHFUL",
    "DENOISING",
    "heat_denoise",
    "heat_graph",
    "resolve_formula",
    "AUTO_DENOISE_TIMES",
    "AFFINITY",
    "WEIGHTS",
    "resolve_laplacian",
    "weighted_laplacian",
    "HeatGraph",
    "SCREENING_RANGE",
    "default_order",
    "DEFAULT_T",
    "AUTO_FLOOR",
    "AUTO_GAIN",
    "AUTO_PROBES",
    "AUTO_SCOUT_GAIN",
]

#: ``landmarks="auto"`` switches to landmark mode above this many points
LANDMARK_THRESHOLD = 5000
#: landmarks used in landmark mode when ``landmarks="auto"``
DEFAULT_N_LANDMARKS = 256
_TINY = np.finfo(np.float64).tiny


#: distance formulas (see the module docs); "auto" = "screened" for Euler kernels, else "varadhan"
FORMULAS = ("auto", "screened", "varadhan", "paper")
#: ``formula="paper"``: the heat law with the paper code's ``log(H + 1e−16)``
PAPER_EPS = 1e-16
#: the former default, kept as a named option: "rank-faithful, fastest".  Backward Euler with
#: one step is the resolvent ``(I + tL)^{−1}``; read with the heat law ``√(−4t·log R)`` its
#: distances keep the order of the true geodesics (row Spearman ≈ 0.99 on the swiss roll) but
#: grow like ``√d``: the embedding bends into an arc.  Same cost as the default.
RANK_FAITHFUL = dict(t=50.0, sigma=0.0, method="euler", order=1, formula="varadhan", weights="alpha", knn=8,
                     denoise=0.0)
#: the heavy-noise option (:meth:`HeatGeodesicEmbedding.denoising`): heat-diffuse the
#: coordinates for time 3 (:func:`heat_denoise`), then a mutual alpha-decay graph on them
DENOISING = dict(denoise=3.0, mutual=True, weights="alpha", knn=8, t=10.0)
#: how the distances are embedded: classical MDS, SMACOF on the raw stress, SMACOF on the stress
#: weighted by D^-2 (what the paper's s_gd2 layout minimises)
MDS_KINDS = ("classical", "metric", "weighted")
#: the heat-geodesic paper's configuration (heatgeo, ``config/model/heat_geo.yaml``; Huguet et al.,
#: NeurIPS 2023), :meth:`HeatGeodesicEmbedding.paper`: the alpha-decay graph (knn 10, decay 40)
#: with the normalized Laplacian, Chebyshev order 30, the heat kernel's law, σ = 0, τ at the
#: entropy knee among :data:`PAPER_T_GRID`, metric MDS with weights D^-2
PAPER = dict(weights="alpha", knn=10, decay=40.0, laplacian="normalized", method="chebyshev", order=30,
             formula="paper", sigma=0.0, t="paper", mds="weighted", denoise=0.0)
#: edge weights of the graph the heat runs on (see :class:`HeatGeodesicEmbedding`)
WEIGHTS = ("alpha", "length")
#: the default diffusion time on each graph: 0.2 on the metric graph (in units of ℓ̄²: with two
#: Euler steps a screening length of 0.32 ℓ̄), 10 on the alpha-decay graph (:data:`AFFINITY`)
DEFAULT_T = {"length": 0.2, "alpha": 10.0}
#: the affinity graph (:meth:`HeatGeodesicEmbedding.affinity`): the alpha-decay graph with the
#: normalized Laplacian, one backward-Euler step at t = 10 — the default before the metric graph
AFFINITY = dict(weights="alpha", knn=8, t=10.0)
#: ``denoise="auto"`` (the default): smoothing times tried, in this order, when the plain
#: graph's embedding leaves more than :data:`AUTO_FLOOR` of its distances' variance unexplained
AUTO_DENOISE_TIMES = (3.0, 6.0, 12.0, 24.0)
#: residual variance (``metrics.residual_variance``, 2-D) below which a graph needs no repair:
#: clean or mildly noisy rolls score 0.0007–0.005, a roll folded by short circuits 0.05–0.35 (n = 2000)
AUTO_FLOOR = 0.02
#: a smoothed graph replaces the plain one only if it divides the residual variance by this
AUTO_GAIN = 3.0
#: rows of the distance matrix on which ``denoise="auto"`` measures the residual variance
AUTO_ROWS = 256
#: ``denoise="auto"`` compares the plain and the smoothed graphs by probes: each graph's
#: distances from this many farthest-point landmarks, embedded by landmark MDS
AUTO_PROBES = 64
#: the strongest smoothing is probed first; unless it divides the plain graph's residual
#: variance by this, the plain graph is kept without probing the others
AUTO_SCOUT_GAIN = 2.0


def heat_denoise(X, W, s: float) -> np.ndarray:
    """Diffuse point coordinates with one backward-Euler heat step on the graph ``W``:
    ``X ← (I + s·L_rw)^{-1} X`` with ``L_rw = I − D^{-1}W`` (solved as the symmetric positive
    definite system ``(D + s(D − W)) Y = D X``, one sparse factorization).

    Every row of ``(I + sL_rw)^{-1}`` is a probability vector (the resolvent of the random
    walk, the kernel the heat geodesics use), so each point moves to a heat-weighted average of
    its graph neighbourhood: noise across the manifold averages out, while a sheet's position
    is kept.  This is the MAGIC / diffusion-denoising step with the resolvent in place of
    ``P^k``.  Its cost: points at the border of the manifold are pulled inward by about
    ``√s`` hops and the sample clumps a little there, and curved sheets shrink slightly toward
    their centre of curvature.  ``s = 0`` returns ``X`` unchanged.

    >>> import numpy as np
    >>> from spectral_explorer.graphs import alpha_decay_graph
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> W = alpha_decay_graph(X, 8)
    >>> Y = heat_denoise(X, W, 3.0)
    >>> bool(np.allclose(heat_denoise(X + 5.0, W, 3.0), Y + 5.0)), bool(Y.std() < X.std())  # an average
    (True, True)
    """
    X = check_points(X)
    s = check_float(s, "s", 0.0)
    if s == 0:
        return X.copy()
    W = sp.csr_matrix(W)
    d = np.asarray(W.sum(axis=1)).ravel()
    if (d <= 0).any():
        raise ValueError(f"the graph has {(d <= 0).sum()} isolated node(s); heat_denoise needs every degree > 0")
    A = (sp.diags(d * (1.0 + s)) - s * W).tocsc()
    return heat.splu_spd(A).solve(d[:, None] * X)


def heat_graph(X, knn: int = 8, decay: float | None = 40.0, mutual: bool = False, denoise: float = 0.0,
               plain=None):
    """The graph the heat geodesics run on, and the points it was built on: ``(W, points)``.

    The alpha-decay graph of ``X`` (a plain kNN graph when ``decay`` is ``None``; only mutual
    edges when ``mutual``).  With ``denoise = s > 0`` the points are first heat-smoothed on the
    plain graph of ``X`` (:func:`heat_denoise`) and the graph is rebuilt on them; with
    ``mutual=True`` that is the heavy-noise option of :meth:`HeatGeodesicEmbedding.denoising`.
    ``plain`` may pass the plain graph of ``X`` when it is already built (it is what the
    smoothing runs on).  Raises ``ValueError`` naming the graph when a graph is disconnected.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> W, P = heat_graph(X, knn=6)
    >>> W.shape, bool(P is X)
    ((100, 100), True)
    >>> Wd, Pd = heat_graph(X, knn=6, mutual=True, denoise=3.0)
    >>> bool(np.allclose(Pd, heat_denoise(X, W, 3.0)))
    True
    """
    denoise = check_float(denoise, "denoise", 0.0)
    if mutual and decay is None:
        raise ValueError("mutual=True needs the alpha-decay graph (decay not None)")

    def graph(points, mutual):
        if decay is None:
            return knn_graph(points, knn)
        return alpha_decay_graph(points, knn, decay, mutual=mutual)

    if denoise > 0:   # smooth the points on the plain graph, then rebuild on them
        W = graph(X, False) if plain is None else plain
        check_connected(W, f"the kNN graph (knn={knn})")
        X = heat_denoise(X, W, denoise)
    W = graph(X, bool(mutual))
    check_connected(W, f"the {'mutual ' if mutual else ''}kNN graph (knn={knn})"
                       f"{' of the denoised points' if denoise > 0 else ''}")
    return W, X


#: the screened law needs the farthest kernel entries above underflow: ``t`` is raised so that
#: the graph's diameter is at most this many screening lengths (``e^{-500}`` ≈ 1e-217)
SCREENING_RANGE = 500.0


@dataclass(frozen=True, eq=False)
class HeatGraph:
    """The graph the heat runs on (:func:`weighted_laplacian`): its edge weights ``C``, its
    Laplacian ``L``, the points it was built on, and what takes the distances of
    :func:`heat_geodesic_distances` on ``L`` to the units of the points
    (:meth:`distance_scale`).

    ``weights="length"`` (the metric graph): ``C`` holds the calibrated conductances of
    :func:`~spectral_explorer.graphs.metric_conductances`, ``L = D − C`` ≈ ``−ℓ̄²Δ`` (``ℓ̄``
    = ``length_scale``, the median edge length; ``dim`` the intrinsic dimension ``m̂`` the
    calibration used).  ``weights="alpha"``: ``C`` the alpha-decay affinities, distances in
    hops (``length_scale`` 1, ``dim`` ``None``).
    """

    C: sp.csr_matrix
    L: sp.csr_matrix
    points: np.ndarray
    weights: str
    laplacian: str
    length_scale: float = 1.0
    dim: float | None = None

    @property
    def calibrated(self) -> bool:
        """True on the metric graph with its combinatorial Laplacian (where ``L ≈ −ℓ̄²Δ``)."""
        return self.weights == "length" and self.laplacian == "combinatorial"

    def _screened_euler(self, method, formula) -> bool:
        return self.calibrated and method == "euler" and resolve_formula(formula, method) == "screened"

    def distance_scale(self, t: float, method: str = "euler", order: int | None = None,
                       formula: str = "auto") -> float:
        """The factor that takes :func:`heat_geodesic_distances` on ``L`` to the units of the
        points.  1 on the alpha-decay graph (hops); ``ℓ̄`` on the metric graph; and for the
        screened law of ``K`` Euler steps (the default) ``ℓ̄/(√s·μ)`` with ``s = t/K`` and
        ``μ`` the graph resolvent's decay rate (:func:`~spectral_explorer.graphs.screening_decay`):
        ``√s·μ`` is the factor by which the law misreads a length on this graph (0.77–0.86 at the
        default ``s = 0.1``: it under-reads; → 1 for ``s ≫ 1``), so the distances come out in the units of the data
        at every ``t``.
        """
        if self.weights != "length":
            return 1.0
        if not self._screened_euler(method, formula):
            return self.length_scale
        s = float(t) / _euler_steps(order)
        mu = decay_from_profile(self._edge_profile, s, self.dim)
        return self.length_scale / (np.sqrt(s) * mu)

    def distances(self, t: float, sigma: float = 0.0, method: str = "euler", order: int | None = None,
                  formula: str = "auto", sources=None, **kernel) -> dict:
        """Heat-geodesic distances on this graph in the units of its points:
        :func:`heat_geodesic_distances` on ``L`` at :meth:`safe_t`, times :meth:`distance_scale`.
        ``kernel`` passes ``lmax``, ``eig``, ``device`` on.  Returns ``{"D", "info", "t", "scale"}``
        (``t``: the time used)."""
        t = self.safe_t(t, method, order, formula)
        D, info = heat_geodesic_distances(self.L, t, sigma, method, order, sources=sources, return_info=True,
                                          formula=formula, **kernel)
        scale = self.distance_scale(t, method, order, formula)
        if scale != 1.0:
            D *= scale
        return dict(D=D, info=info, t=t, scale=scale)

    @cached_property
    def _edge_profile(self):
        """The edges as :func:`~spectral_explorer.graphs.screening_decay` reads them (once per graph)."""
        return edge_profile(self.C, self.points, self.length_scale)

    @cached_property
    def _diameter(self) -> float:
        """Twice the eccentricity of node 0 (one Dijkstra sweep), in units of ``ℓ̄``: at least the diameter."""
        return 2.0 * float(np.max(dijkstra(edge_lengths(self.C, self.points), directed=False, indices=0))) \
            / self.length_scale

    def safe_t(self, t: float, method: str = "euler", order: int | None = None, formula: str = "auto") -> float:
        """``t``, raised where the screened law's farthest kernel entries would underflow: on
        the metric graph the graph's diameter may span at most :data:`SCREENING_RANGE`
        screening lengths ``√(t/K)`` (in units of ``ℓ̄``).  The diameter is bounded by twice
        the eccentricity of node 0 (one Dijkstra sweep).  Only large or long samples reach it
        (the 100,000-point roll of ``benchmarks/heat_geodesics.py``: t = 2.8; long chains)."""
        if not self._screened_euler(method, formula):
            return float(t)
        return max(float(t), _euler_steps(order) * (self._diameter / SCREENING_RANGE) ** 2)


def _euler_steps(order) -> int:
    return int(order or heat.DEFAULT_ORDER["euler"] or 1)


def weighted_laplacian(W, points, weights: str = "length", kind: str = "auto", knn: int = 10,
                       dim: float | None = None) -> HeatGraph:
    """The graph the heat runs on, from the alpha-decay graph ``W`` built on ``points``
    (:func:`heat_graph`): a :class:`HeatGraph`.  With ``weights="length"`` its edges are ``W``'s
    with the calibrated metric conductances of
    :func:`~spectral_explorer.graphs.metric_conductances` (the intrinsic dimension estimated
    on ``knn`` neighbours unless ``dim`` is given); with ``"alpha"`` the affinities ``W``.
    ``kind`` as :func:`resolve_laplacian`.

    >>> import numpy as np
    >>> X = np.column_stack([np.random.default_rng(0).random((300, 2)) * 10, np.zeros(300)])
    >>> W, P = heat_graph(X, knn=8)
    >>> g = weighted_laplacian(W, P, knn=8)
    >>> bool(abs(g.L.sum(axis=1)).max() < 1e-9), round(g.dim, 1)   # combinatorial: rows sum to 0; a plane
    (True, 2.0)
    """
    kind = resolve_laplacian(kind, weights)
    if weights == "length":
        C, scale, dim = metric_conductances(W, points, dim=dim, knn=knn)
        return HeatGraph(C, laplacian(C, kind), np.asarray(points, dtype=np.float64), weights, kind, scale, dim)
    return HeatGraph(sp.csr_matrix(W), laplacian(W, kind), np.asarray(points, dtype=np.float64), weights, kind)


def default_order(method: str, weights: str = "length") -> int | None:
    """The kernel's default order: 2 backward-Euler steps on the metric graph (they cancel most
    of one step's logarithmic term), 1 on the alpha-decay graph; Chebyshev 30; ``None`` for the
    exact kernel.

    >>> default_order("euler"), default_order("euler", "alpha"), default_order("chebyshev"), default_order("exact")
    (2, 1, 30, None)
    """
    if method == "euler":
        return 2 if weights == "length" else 1
    return heat.DEFAULT_ORDER.get(method) or None


def resolve_laplacian(kind: str, weights: str = "alpha") -> str:
    """``"auto"`` → ``"combinatorial"`` for metric conductances (``weights="length"``: the
    Laplacian keeps the units of length), ``"normalized"`` for the alpha-decay affinities.

    >>> resolve_laplacian("auto"), resolve_laplacian("auto", "length"), resolve_laplacian("random_walk", "length")
    ('normalized', 'combinatorial', 'random_walk')
    """
    check_choice(weights, "weights", WEIGHTS)
    if kind != "auto":
        return check_choice(kind, "laplacian", LAPLACIAN_KINDS)
    return "combinatorial" if weights == "length" else "normalized"


def resolve_formula(formula: str, method: str) -> str:
    """``"auto"`` → ``"screened"`` for ``method="euler"`` (a resolvent power), ``"varadhan"``
    for the heat kernel itself (``"exact"``, ``"chebyshev"``).

    >>> resolve_formula("auto", "euler"), resolve_formula("auto", "exact"), resolve_formula("paper", "chebyshev")
    ('screened', 'varadhan', 'paper')
    """
    check_choice(formula, "formula", FORMULAS)
    if formula != "auto":
        return formula
    return "screened" if method == "euler" else "varadhan"


#: kernel entries below this are at the level of float64 round-off of O(1) quantities
ROUNDOFF = 1e-15


def _log_kernel(H: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """``log H`` with entries ≤ 0 (round-off, Chebyshev ringing) floored, and diagnostics."""
    H = H.to(torch.float64)
    info = {"nonpositive_entries": int((H <= 0).sum()), "tiny_entries": int((H < ROUNDOFF).sum()),
            "min_entry": float(H.min()), "entries": int(H.numel())}
    return torch.log(H.clamp_min(_TINY)), info


def distances_from_kernel(H, t: float, sigma: float = 0.0, diag=None, sources=None,
                          formula: str = "varadhan", order: int = 1):
    """Distances from a kernel block ``H`` (n×m; columns = ``sources``, or all nodes when
    ``sources`` is ``None``) by one of Varadhan's laws (see the module docs):

    * ``"varadhan"``: ``√max(0, −4t·log H_ij + σ·4t·log(½(H_ii + H_jj)))``
    * ``"screened"``: ``√(t/K)·max(0, −log H_ij + σ·log(½(H_ii + H_jj)))``, ``K = order``
    * ``"paper"``: the heat law as the paper's code computes it: ``log(max(H, 0) + 1e−16)``
      (:data:`PAPER_EPS`), so every entry below round-off reads as the same, farthest distance
      ``√(4t·36.8)``

    ``diag`` is the kernel's diagonal (length n), needed only when ``sigma > 0``.  Entries ≤ 0
    are floored at the smallest positive double before the logarithm (``"paper"``: see above).  Returns ``(D, info)``
    with ``D`` a float64 tensor and ``info`` the kernel diagnostics.

    >>> D, info = distances_from_kernel(torch.tensor([[0.5, 0.1], [0.1, 0.5]]), t=1.0)
    >>> round(float(D[0, 1]), 4), info["nonpositive_entries"]
    (3.0349, 0)
    >>> D, _ = distances_from_kernel(torch.tensor([[0.5, 0.1], [0.1, 0.5]]), t=4.0, formula="screened")
    >>> round(float(D[0, 1]), 4)  # 2·log(10)
    4.6052
    """
    check_choice(formula, "formula", ("screened", "varadhan", "paper"))
    H = torch.as_tensor(H, dtype=torch.float64)
    logH, info = _log_kernel(H)
    if formula == "paper":
        logH = torch.log(H.clamp_min(0.0) + PAPER_EPS)
    if sigma > 0:
        if diag is None:
            raise ValueError("diag (the kernel's diagonal) is needed when sigma > 0")
        d = torch.as_tensor(np.asarray(diag) if not isinstance(diag, torch.Tensor) else diag,
                            dtype=torch.float64, device=H.device).clamp_min(_TINY)
        dc = d if sources is None else d[torch.as_tensor(np.asarray(sources), device=H.device)]
        logH = logH - sigma * torch.log(0.5 * (d[:, None] + dc[None, :]))
    if formula == "screened":
        return (-logH).clamp_min(0.0) * float(np.sqrt(t / order)), info
    return torch.sqrt((-4.0 * t * logH).clamp_min(0.0)), info


def heat_geodesic_distances(L, t: float, sigma: float = 0.0, method: str = "euler",
                            order: int | None = None, sources=None, diag=None, *, lmax=None,
                            eig=None, device=None, return_info: bool = False, formula: str = "auto"):
    """Heat-geodesic distances on a graph with Laplacian ``L``.

    Parameters
    ----------
    L : (n, n) symmetric graph Laplacian.
    t : diffusion time (> 0).
    sigma : Harnack regularization σ ≥ 0.
    method, order : heat-kernel approximation (see :func:`spectral_explorer.heat.heat_kernel`).
    sources : ``None`` for all pairs (an n×n result), or an array of ``m`` node indices
        (landmarks): the result is n×m, distances from every node to each source.
    diag : optional ``diag(H_t)`` (length n) for the σ term in landmark mode; estimated by
        stochastic probing when ``sigma > 0`` and not given.
    formula : ``"screened"`` (Varadhan's law of the resolvent), ``"varadhan"`` (the heat
        kernel's law) or ``"auto"`` (screened for ``method="euler"``, else varadhan); see the
        module docs.

    Returns
    -------
    numpy array of distances (and, with ``return_info``, a dict of diagnostics: the number of
    kernel entries ≤ 0 that had to be floored, of entries below round-off (1e−15), and the
    smallest kernel entry).

    Examples
    --------
    >>> import networkx as nx
    >>> from spectral_explorer.laplacian import laplacian
    >>> L = laplacian(nx.to_scipy_sparse_array(nx.path_graph(8), dtype=float))
    >>> D = heat_geodesic_distances(L, t=2.0)
    >>> bool(np.all(np.diff(D[0]) > 0))  # farther along the path, larger distance
    True
    """
    t = check_float(t, "t", 0.0, low_inclusive=False)
    sigma = check_float(sigma, "sigma", 0.0)
    formula = resolve_formula(formula, method)
    K = int(order or heat.DEFAULT_ORDER[method] or 1) if method == "euler" else 1
    n = L.shape[0]
    dev = resolve_device(device)
    if sources is None:
        H = heat_kernel(L, t, None, method, order, lmax=lmax, eig=eig, device=dev, dtype=torch.float64)
        H = 0.5 * (H + H.T)
        D, info = distances_from_kernel(H, t, sigma, torch.diagonal(H), None, formula, K)
        D.fill_diagonal_(0.0)
    else:
        sources = np.asarray(sources, dtype=np.int64)
        if sources.ndim != 1 or sources.size == 0 or sources.min() < 0 or sources.max() >= n:
            raise ValueError(f"sources must be a non-empty 1-D array of node indices in [0, {n}), got {sources!r}")
        m = sources.size
        B = np.zeros((n, m))
        B[sources, np.arange(m)] = 1.0
        probe = sigma > 0 and diag is None
        if probe:  # one factorization serves the landmark columns and the diagonal's probes
            Z = _probes(n, DIAG_PROBES, 0)
            B = np.hstack([B, Z])
        H = heat_kernel(L, t, B, method, order, lmax=lmax, eig=eig, device=dev, dtype=torch.float64)
        if probe:
            diag = _probe_diagonal(Z, H[:, m:].cpu().numpy())
            H = H[:, :m]
            diag[sources] = np.clip(H[sources, torch.arange(m)].cpu().numpy(), _TINY, None)  # exact there
        D, info = distances_from_kernel(H, t, sigma, diag, sources, formula, K)
        D[sources, torch.arange(sources.size, device=D.device)] = 0.0
    out = D.cpu().numpy()
    if return_info:
        return out, info
    return out


#: Rademacher probes for ``diag(H)`` in landmark mode with σ > 0 (the landmarks' own entries
#: are exact).  8 to 64 probes give the same embedding to 4 decimals (swiss roll, n = 4000,
#: 256 landmarks: row Spearman 0.9927, Pearson 0.9916), so the probes cost 6 % of the solves.
DIAG_PROBES = 16


def _probes(n: int, n_probes: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, n_probes))


def _probe_diagonal(Z: np.ndarray, HZ: np.ndarray) -> np.ndarray:
    return np.clip((Z * HZ).mean(axis=1), _TINY, None)


def estimate_heat_diagonal(L, t, method="euler", order=None, n_probes: int = DIAG_PROBES, seed: int = 0,
                           lmax=None, device=None) -> np.ndarray:
    """Estimate ``diag(H_t)`` by Rademacher probing, ``mean_k z_k ⊙ H_t z_k`` (unbiased)."""
    Z = _probes(L.shape[0], n_probes, seed)
    HZ = heat_kernel(L, t, Z, method, order, lmax=lmax, device=device, dtype=torch.float64).cpu().numpy()
    return _probe_diagonal(Z, HZ)


#: ``select_t_entropy`` switches from one Chebyshev recursion to a factorization per ``t``
#: when the recursion would need more terms than about this
ENTROPY_CHEBYSHEV_LIMIT = 2000.0


#: heatgeo's τ = "auto" (the paper's configuration): the entropy knee among these 10 times,
#: located on a linear time axis
PAPER_T_GRID = tuple(np.linspace(0.05, 200.0, 10))


def select_t_entropy(L, t_grid=None, n_probes: int = 64, seed: int = 0, device=None, axis: str = "log"):
    """Choose ``t`` at the knee of the heat kernel's entropy curve.

    For each ``t`` in ``t_grid`` (24 log-spaced times by default: 1 to 200 for the normalized
    Laplacian, divided by the median of the diagonal for a combinatorial one — the median
    weighted degree — so the grid spans the same range of diffusion per typical node), the columns of ``H_t`` for a random
    set of ``n_probes`` nodes are normalized to probability distributions and their Shannon
    entropy averaged.  The entropy grows with ``t`` as heat spreads and saturates once it
    covers the graph; the knee (largest distance below the chord in ``(log t, entropy)``)
    separates local from global diffusion (``axis="linear"``: the knee on a linear time axis, as
    the paper's code locates it on :data:`PAPER_T_GRID`).  One Chebyshev recursion serves every ``t``; for a
    stiff Laplacian (``t·λ_max/2`` above :data:`ENTROPY_CHEBYSHEV_LIMIT`, as on the metric graph,
    whose λ_max is set by its closest pair of points) one backward-Euler step per ``t`` does.

    Returns
    -------
    (t_knee, t_grid, entropy)
    """
    n = L.shape[0]
    L = sp.csr_matrix(L)
    # the same range of diffusion per typical degree: 1..200 for the normalized Laplacian
    # (diagonal 1); divided by the median diagonal for a combinatorial one (the metric graph)
    scale = max(1.0, float(np.median(L.diagonal())))
    t_grid = np.geomspace(1.0, 200.0, 24) / scale if t_grid is None else np.sort(np.asarray(t_grid, dtype=np.float64))
    if t_grid.size < 3 or (t_grid <= 0).any():
        raise ValueError("t_grid must hold at least 3 positive times")
    dev = resolve_device(device)
    probes = np.random.default_rng(seed).choice(n, size=min(n_probes, n), replace=False)
    lmax = largest_eigenvalue(L)
    a_max = t_grid.max() * lmax / 2
    if a_max > ENTROPY_CHEBYSHEV_LIMIT:
        # a stiff Laplacian (close points on the metric graph: λ_max in the hundreds or more)
        # would need thousands of Chebyshev terms: the heat of one backward-Euler step per t
        Bn = np.zeros((n, probes.size))
        Bn[probes, np.arange(probes.size)] = 1.0
        eye = sp.eye(n, format="csc")
        acc = torch.as_tensor(np.stack([heat.splu_spd(eye + t * L).solve(Bn) for t in t_grid]),
                              dtype=torch.float64, device=dev)
    else:
        order = int(a_max + 10 * np.sqrt(a_max) + 20)
        coeffs = torch.as_tensor(np.stack([chebyshev_coefficients(t, lmax, order) for t in t_grid]),
                                 dtype=torch.float64, device=dev)
        B = torch.zeros(n, probes.size, dtype=torch.float64, device=dev)
        B[torch.as_tensor(probes), torch.arange(probes.size)] = 1.0
        Ls = _torch_sparse(L * (2.0 / lmax) - sp.eye(n, format="csr"), dev, torch.float64)
        T0, T1 = B, Ls @ B
        acc = coeffs[:, 0, None, None] * T0 + coeffs[:, 1, None, None] * T1
        for k in range(2, order + 1):
            T0, T1 = T1, 2.0 * (Ls @ T1) - T0
            acc += coeffs[:, k, None, None] * T1
    P = acc.clamp_min(0.0)     # (times, nodes, probes)
    P = P / P.sum(dim=1, keepdim=True)
    ent = -(P * torch.log(P.clamp_min(_TINY))).sum(dim=1).mean(dim=1).cpu().numpy()
    x = np.log(t_grid) if check_choice(axis, "axis", ("log", "linear")) == "log" else t_grid
    x = (x - x[0]) / (x[-1] - x[0])
    y = (ent - ent.min()) / max(np.ptp(ent), 1e-300)
    # the entropy curve is concave in log t past the onset: knee = farthest point above chord
    chord = y[0] + (y[-1] - y[0]) * x
    knee = int(np.argmax(y - chord))
    return float(t_grid[knee]), t_grid, ent


def farthest_point_landmarks(X, m: int, seed: int = 0, device=None) -> np.ndarray:
    """``m`` landmarks by farthest-point sampling (a seeded random start), spread evenly."""
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    n = X.shape[0]
    m = check_int(m, "n_landmarks", 2, n)
    dev = resolve_device(device)
    X = X.to(dev)
    chosen = np.empty(m, dtype=np.int64)
    chosen[0] = int(np.random.default_rng(seed).integers(n))
    dmin = torch.full((n,), float("inf"), dtype=X.dtype, device=dev)
    for i in range(1, m):
        dmin = torch.minimum(dmin, ((X - X[chosen[i - 1]]) ** 2).sum(dim=1))
        chosen[i] = int(torch.argmax(dmin))
    return chosen


class HeatGeodesicEmbedding:
    """Heat-geodesic embedding: graph → heat kernel → Varadhan distances → MDS.

    The defaults keep the manifold's shape and its units: the *metric* kNN graph (knn 10,
    calibrated conductances, :func:`~spectral_explorer.graphs.metric_conductances`;
    combinatorial Laplacian ≈ ``−ℓ̄²Δ``), two backward-Euler steps at ``t = 0.2`` read with the
    screened law, the graph's screening factor divided out (:class:`HeatGraph`), σ = 1,
    classical MDS.  The distances are in the units of the data: on flat 2-D and 3-D samples at
    knn 5, 10 and 20 the median of estimate over truth is 1.00–1.08 over the middle,
    long and farthest pairs and 0.99–1.15 over the shortest 5 % (``python
    benchmarks/heat_units.py``), and a thin direction survives: a 10 × 10 × 2 slab embedded in 3
    components keeps its thickness (R² 0.85, n = 2000; Isomap 0.88; plain (ℓ̄/ℓ)² conductances 0.16).

    This departs from the paper.  :meth:`paper` is the paper's configuration (the alpha-decay
    graph, a Chebyshev heat kernel read with the heat law, σ = 0, the paper's τ knee, weighted
    metric MDS), whose distances agree with the authors' code (all-pairs Spearman 0.9998–1.000
    against heatgeo on the five reproduce cases, ``benchmarks/heatgeo_peer.py``).  On a graph
    the heat law bends into a Poisson tail beyond ``d ≈ t`` hops and the alpha-decay graph
    counts hops, so the default replaces both (module docs).  :meth:`affinity` is the
    alpha-decay graph read with the screened law (the previous default), :meth:`rank_faithful`
    the one before.

    Heavy noise is handled by ``denoise="auto"`` (the default), without ground truth: a graph
    whose short circuits fold a roll asks for distances that no layout of the roll's dimension
    can draw, so the layout leaves a large share of their variance unexplained (Isomap's
    *residual variance*, :func:`~spectral_explorer.metrics.residual_variance`, on the
    ``max(2, n_components)``-dimensional layout).  Every graph is judged by a cheap probe (its
    distances from ``AUTO_PROBES = 64`` farthest-point landmarks, landmark MDS), and only the
    graph kept is fitted in full.  The plain graph (metric or alpha-decay, as ``weights`` says)
    is probed first; at or below ``AUTO_FLOOR = 0.02`` it is kept.  Above, the strongest
    smoothing of ``AUTO_DENOISE_TIMES = (3, 6, 12, 24)`` is probed as a scout (the heavy-noise
    graph of :meth:`denoising`: points heat-smoothed for time ``s``, mutual graph, with the
    estimator's ``weights``); unless it divides the residual variance by ``AUTO_SCOUT_GAIN =
    2``, the manifold is taken as curved or higher-dimensional rather than folded, and the
    plain graph is kept.  Otherwise the other times are probed in increasing order, stopping at
    the first below the floor, and the one with the smallest residual variance replaces the
    plain graph if it divides the plain graph's by ``AUTO_GAIN = 3``.  ``denoise_`` says which
    was kept, ``denoise_report_`` what each probe scored.  The floor, the gains and the times
    were chosen on 15 cases (swiss rolls at noise 0.1–1.3, sphere caps, the roll in 10-D,
    branches, s-curves) and checked on 11 held-out ones (a cube in 2 and 3 components, a thin
    slab, sphere caps to 0.83π, a flat torus, uneven density, two clusters, two other folds):
    never worse than the plain graph by more than 0.005 in 45 of 45 tuning and 33 of 33
    held-out fits, a smoothed graph kept 17 and 6 times (mean gain in ρ 0.44 and 0.29), at most
    0.076 and 0.061 short of the best graph in hindsight (``benchmarks/heat_auto_denoise.py
    --set all``, n = 2000, seeds 42, 0, 2).  Set
    ``denoise=0`` for the plain graph always.

    Parameters
    ----------
    n_components : dimension of the embedding.
    knn : neighbours of the kNN graph (for the alpha-decay kernel also its bandwidth, the
        distance to the knn-th); the default 10 suits ~1000+ points (:meth:`affinity` uses 8);
        use fewer for small or very curved samples.
    decay : alpha-decay exponent; ``None`` builds an unweighted kNN graph.
    mutual : ``True`` keeps only mutual alpha-decay edges (see
        :func:`~spectral_explorer.graphs.alpha_decay_graph`); needs ``decay``.
    denoise : ``"auto"`` (default: the plain graph unless it folds, see above), or the
        diffusion time ``s ≥ 0`` of :func:`heat_denoise`, applied to the coordinates before
        the graph is built (0: off).  With ``mutual=True`` and ``s > 0`` this is the
        heavy-noise option :meth:`denoising`; see its docstring for the trade-off.
    t : diffusion time (> 0; default 0.2, in units of the median edge length squared on the
        metric graph: a screening length ``√(t/K)`` of 0.32 edge lengths; use about 10 on the
        alpha-decay graph), ``"auto"`` for the knee of the heat kernel's entropy, or
        ``"paper"`` for the paper's rule (the knee among 10 times from 0.05 to 200, on a linear
        axis).  On the metric graph ``t`` is raised where the farthest kernel entries would
        underflow (:meth:`HeatGraph.safe_t`; ``t_`` says the value used).
    sigma : Harnack regularization σ ≥ 0 (default 1: every point at distance 0 from itself).
    method : kernel: ``"euler"`` (default, backward Euler), ``"chebyshev"``, ``"exact"``.
    order : Euler steps / Chebyshev order.  Default: 2 Euler steps on the metric graph, 1 on the
        alpha-decay graph; Chebyshev 30, or on the metric graph enough terms for ``t·λ_max/2``.
    formula : ``"auto"`` (default: ``"screened"`` for Euler, ``"varadhan"`` for the heat
        kernel), ``"screened"``, ``"varadhan"`` or ``"paper"`` (the heat law as the paper's
        code computes it, ``log(H + 1e−16)``); see the module docs.
    laplacian : ``"auto"`` (default: ``"normalized"``, or ``"combinatorial"`` with
        ``weights="length"``), ``"normalized"``, ``"combinatorial"`` or ``"random_walk"``.
    weights : ``"length"`` (default: the kNN edges with calibrated metric conductances,
        :func:`~spectral_explorer.graphs.metric_conductances`: heat moves at the speed the
        geometry sets and the distances are in the units of ``X``; ``t`` is in units of the
        median edge length squared) or ``"alpha"`` (the alpha-decay affinities: heat moves one
        hop per unit of time, whatever the hop's length; see :meth:`affinity`).
    mds : ``"classical"`` (default), ``"metric"`` (SMACOF on the raw stress, from the
        classical start) or ``"weighted"`` (SMACOF on the stress weighted by ``D⁻²``, what the
        paper's s_gd2 layout minimises; :meth:`paper`).  Both run up to 100 iterations over
        all pairs after the classical start: seconds at n = 2000 (``fit2000_paper`` in
        ``benchmarks/heat_geodesics.py``: 5–7 s of its 7.4 s).
    landmarks : ``None`` (all pairs), an int ``m`` (landmark mode with m farthest-point
        landmarks) or ``"auto"`` (default: all pairs up to 5000 points, else 256 landmarks).
    device : torch device (default: the process default, see ``spectral_explorer.device``).
    random_state : seed for landmarks and probes.
    verbose : print each stage's time as it finishes — useful for large n.

    Attributes
    ----------
    distances_ : (n, n) heat-geodesic distances in all-pairs mode; (n, m) distances from
        every point to the landmarks ``landmarks_`` in landmark mode.
    embedding_ : (n, n_components) coordinates.
    landmarks_ : landmark indices, or ``None`` in all-pairs mode.
    t_ : the diffusion time used.
    graph_, laplacian_ : the graph the heat ran on (conductances with ``weights="length"``,
        affinities with ``"alpha"``) and its Laplacian (scipy sparse).
    length_scale_ : ``ℓ̄``, the median edge length, with ``weights="length"``; 1 otherwise.
    distance_scale_ : the factor the graph's distances were multiplied by to bring them to the
        units of ``X`` (:meth:`HeatGraph.distance_scale`: ``ℓ̄/(√s·μ)`` for the default); 1 on
        the alpha-decay graph.
    intrinsic_dim_ : ``m̂``, the intrinsic dimension the metric graph's calibration used
        (:func:`~spectral_explorer.graphs.intrinsic_dimension`); ``None`` on the alpha-decay graph.
    points_ : the points the graph was built on (``X``, or ``X`` heat-smoothed when ``denoise_ > 0``).
    denoise_, mutual_ : the smoothing time and graph in effect (``denoise="auto"`` chooses them).
    residual_variance_ : 1 − r² between the distances and the ``max(2, n_components)``-D
        layout's (on 256 rows, or 2048 rows to the landmarks) — Isomap's residual variance.
    denoise_report_ : with ``denoise="auto"``, ``{s: residual variance of its probe}`` for every
        graph probed, in the order probed (``0``: the plain graph; NaN: the mutual graph fell
        apart); else ``None``.
    timings_ : seconds spent per stage of the graph kept (``denoise_auto``: on the probes).
    heat_info_ : diagnostics of the kernel (entries ≤ 0 floored, smallest entry).

    Examples
    --------
    >>> from spectral_explorer import HeatGeodesicEmbedding, data
    >>> ds = data.swiss_roll(300, noise=0.1, seed=0)
    >>> Y = HeatGeodesicEmbedding(knn=6).fit_transform(ds.X)
    >>> Y.shape
    (300, 2)
    """

    def __init__(self, n_components=2, knn=10, decay=40.0, t=0.2, sigma=1.0, method="euler",
                 order=None, formula="auto", laplacian="auto", mds="classical", landmarks="auto",
                 device=None, random_state=0, verbose=False, mutual=False, denoise="auto", weights="length"):
        self.n_components = n_components
        self.knn = knn
        self.decay = decay
        self.mutual = mutual
        self.denoise = denoise
        self.t = t
        self.sigma = sigma
        self.method = method
        self.order = order
        self.formula = formula
        self.laplacian = laplacian
        self.weights = weights
        self.mds = mds
        self.landmarks = landmarks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def rank_faithful(cls, **params):
        """The former default, "rank-faithful, fastest": one backward-Euler step at ``t = 50``
        read with the heat kernel's law, ``√(−4t·log (I + tL)^{−1})``, σ = 0.

        What it preserves: the *order* of the distances from every point (row Spearman with
        the true geodesics ≈ 0.99 on a clean swiss roll), with one sparse factorization and
        every kernel entry positive.  What it does not: their *size*.  The resolvent decays
        exponentially with distance, so ``−4t·log R`` grows linearly and the estimate like
        ``√d`` (log-log slope ≈ 0.27); classical MDS of such distances bends a flat sheet into
        an arc.  :meth:`affinity` (the screened law on the same kernel and graph) costs the
        same; ``denoise`` is off (the residual-variance test is calibrated on the screened law).

        >>> HeatGeodesicEmbedding.rank_faithful(knn=6).get_params()["formula"]
        'varadhan'
        """
        return cls(**{**RANK_FAITHFUL, **params})

    @classmethod
    def denoising(cls, **params):
        """The heavy-noise option: heat-diffuse the coordinates for time 3
        (:func:`heat_denoise`, one backward-Euler step on the alpha-decay graph), then build a
        *mutual* alpha-decay graph on the smoothed points and proceed as :meth:`affinity`
        (one Euler step at t = 10).

        Why: at heavy noise (swiss roll, noise 1.0: sheets 2π apart, kNN radius ≈ 2) outliers
        pushed between two sheets join them with ~100 kNN edges; every graph distance then
        folds the roll, and no ``t``, ``knn`` or σ repairs it (removing the short-circuit
        edges by oracle gives ρ 0.986).  Diffusion pulls the outliers back toward their
        sheet and the mutual graph drops most of the remaining cross edges.  Measured (n =
        2000, ``benchmarks/heat_noise_study.py``): embedding ρ 0.32 → 0.78 on the seed-42
        roll at noise 1.0 (0.93–0.98 on seeds 0, 1, 7), where UMAP gets 0.63 and Isomap 0.34.
        What comes back is the order along the roll, not its shape: the mutual graph of the
        smoothed points breaks into strands along the roll, and the embedding is a branching
        band without the roll's height (n = 1000, seed 42, all rows: ρ 0.93, Pearson r 0.93,
        R² of the height 0.17).  Row-mean scores are dominated by the roll's length (89 against
        a height of 21), so look at the picture, or at :func:`~spectral_explorer.metrics.axis_r2`.
        On clean data the option costs that shape too (clean roll, n = 2000: worst-axis R²
        0.38 against 0.97).

        What it costs: diffusion also pulls the border of the sample inward and clumps it, so
        hop lengths stop being uniform; on clean or mildly noisy data the embedding loses
        0.03–0.045 of ρ against the plain alpha-decay graph (n = 2000: clean roll 0.992 → 0.948,
        sphere cap 0.978 → 0.947, 10-D roll at noise 0.5 0.993 → 0.962; branches unchanged,
        0.996).  Use it when the noise
        is comparable to the gap between sheets (cross-sheet kNN edges, a folded embedding),
        and not otherwise; the default ``denoise="auto"`` makes that choice from the residual
        variance, and picks ``s`` too (see the class docs).  On the 3-D roll (n = 2000, seed
        42) the crossover is sharp: noise 0.25 and 0.5 leave the alpha-decay graph without cross-sheet edges (ρ 0.991,
        0.990 against 0.978, 0.970 with the option); at 0.75 it has 21 and ρ falls to 0.659,
        where the option keeps 3 and gets 0.978.

        Choose ``denoise`` with the sample size: ``s`` counts graph steps, so the same ``s``
        smooths a smaller region of a denser sample.  s = 3 suits n ≈ 1000–2000; at noise 1.0
        with n = 5000, s = 3 gives ρ 0.73 and s = 5.5–10 gives 0.97; with n = 20,000 (256
        landmarks) s = 3 gives 0.38, s = 7–10 gives 0.989, s = 14 0.78 and s = 30 0.50.  The
        outcome is all-or-nothing (the roll folds or it does not), so look at the embedding,
        or sweep ``s`` (what ``denoise="auto"`` does), before trusting one value.

        Smoothing only across the manifold (keeping each point's tangential offset) avoids the
        border cost but reaches only ρ 0.46–0.57 at noise 1.0 (``benchmarks/heat_noise_study.py``).

        >>> HeatGeodesicEmbedding.denoising(knn=6).get_params()["denoise"]
        3.0
        """
        return cls(**{**DENOISING, **params})

    @classmethod
    def paper(cls, **params):
        """The configuration of the heat-geodesic paper (Huguet et al., NeurIPS 2023; its code,
        heatgeo, ``config/model/heat_geo.yaml``): :data:`PAPER` — the alpha-decay graph (knn 10,
        decay 40; the same graph as heatgeo's graphtools builds) with the normalized Laplacian,
        the heat kernel ``exp(−τL)`` by a Chebyshev expansion of order 30, read with the heat
        kernel's law as heatgeo computes it, ``√(−4τ·log(H + 1e−16))`` (``formula="paper"``,
        σ = 0), ``τ`` at the knee of the kernel's entropy among
        10 times evenly spaced from 0.05 to 200 (``t="paper"``: the knee on a linear axis, as
        heatgeo locates it with kneed), and metric MDS weighted by ``D⁻²`` (``mds="weighted"``,
        the stress heatgeo's s_gd2 layout minimises).

        What is ours, not the paper's: the Chebyshev coefficients and λ_max come from our code;
        the kernel entropy is averaged over 64 probe columns (heatgeo sums it over all
        columns; both pick τ = 22.3 on the five reproduce cases); the SMACOF iterations
        (from the classical-MDS start) replace s_gd2's stochastic ones (from a random start), so
        the embeddings differ where the stress has several minima.
        ``benchmarks/heatgeo_peer.py`` measures the agreement with heatgeo on the same samples.

        Why it is not the default: on a graph the heat law holds only while the distance is
        small against ``τ`` in steps of the walk; farther out the kernel has a Poisson tail and
        the estimate grows like ``√(d log d)``, while the screened law of the default grows in
        proportion to ``d`` (module docs).

        >>> est = HeatGeodesicEmbedding.paper()
        >>> est.get_params()["t"], est.get_params()["method"], est.get_params()["mds"]
        ('paper', 'chebyshev', 'weighted')
        """
        return cls(**{**PAPER, **params})

    @classmethod
    def affinity(cls, **params):
        """The affinity graph, the default before the metric graph: the alpha-decay graph (knn 8)
        with the normalized Laplacian and one backward-Euler step at ``t = 10``, read with the
        screened law (``denoise="auto"`` as the default).

        Its heat moves one hop per unit of time, whatever the hop's length, so the distances
        count hops: on a clean swiss roll the embedding keeps the rectangle (ρ 0.992, slope of
        the distances 0.84), on the roll rotated into 10-D with noise 0.5 it stays behind
        Isomap (0.993 against 0.997), because the noise varies the hops' lengths (figures from
        ``spectral-explorer reproduce heat-geodesics`` before the metric graph; docs/reproduce.md has the
        current table).  The alpha-decay graph is the kind of graph the heat-geodesic paper and
        PHATE build, but this is not the paper's configuration: the paper reads a Chebyshev heat
        kernel with the heat law, σ = 0, knn 10 and metric MDS — :meth:`paper`.  It is the graph
        :meth:`rank_faithful` and :meth:`denoising` use.

        >>> HeatGeodesicEmbedding.affinity().get_params()["weights"]
        'alpha'
        """
        return cls(**{**AFFINITY, **params})

    # scikit-learn style parameter access
    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        """The constructor's parameters as a dict (scikit-learn's estimator API)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters by name; an unknown name raises ``ValueError``."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"invalid parameter {k!r} for HeatGeodesicEmbedding; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"HeatGeodesicEmbedding({args})"

    def _order(self, L=None, t=None):
        """``order`` in effect: as given; else 2 Euler steps on the metric graph (they cancel
        most of one step's logarithmic term), and for Chebyshev enough terms for ``t·λ_max/2``
        (the metric graph's λ_max is set by its closest pair of points: hundreds or more, not
        2); the method's default otherwise."""
        if self.order is not None:
            return self.order
        if self.method == "euler":
            return default_order("euler", self.weights)
        if self.method == "chebyshev" and self.weights == "length" and L is not None:
            lmax = largest_eigenvalue(L)
            a = float(t) * lmax / 2.0
            k = max(heat.DEFAULT_ORDER["chebyshev"], int(a + 10.0 * np.sqrt(a) + 20.0))
            if k > 10_000:
                raise ValueError(f"the Chebyshev kernel would need {k} terms at t = {t:g} on the metric graph "
                                 f"(λ_max = {lmax:.3g}, set by its closest points); use method='euler' (the "
                                 f"default) or weights='alpha'")
            return k
        return None

    def _validate(self, n):
        check_int(self.n_components, "n_components", 1)
        check_int(self.knn, "knn", 1)
        if self.knn >= n:
            raise ValueError(f"knn must be smaller than the number of samples ({n}), got knn={self.knn}")
        if self.decay is not None:
            check_float(self.decay, "decay", 0.0, low_inclusive=False)
        elif self.mutual:
            raise ValueError("mutual=True needs the alpha-decay graph (decay not None)")
        if isinstance(self.denoise, str):
            if self.denoise != "auto":
                raise ValueError(f"denoise must be a number ≥ 0 or 'auto', got {self.denoise!r}")
        else:
            check_float(self.denoise, "denoise", 0.0)
        if not (isinstance(self.t, str) and self.t in ("auto", "paper")):
            if isinstance(self.t, str):
                raise ValueError(f"t must be a positive number, 'auto' or 'paper', got {self.t!r}")
            check_float(self.t, "t", 0.0, low_inclusive=False)
        check_float(self.sigma, "sigma", 0.0)
        check_choice(self.method, "method", HEAT_METHODS)
        check_choice(self.formula, "formula", FORMULAS)
        if self.order is not None:
            check_int(self.order, "order", 1, 10_000)
        check_choice(self.laplacian, "laplacian", ("auto",) + tuple(LAPLACIAN_KINDS))
        check_choice(self.weights, "weights", WEIGHTS)
        check_choice(self.mds, "mds", MDS_KINDS)
        lm = self.landmarks
        if lm is None or (isinstance(lm, str) and lm == "auto"):
            m = None if (lm is None or n <= LANDMARK_THRESHOLD) else min(DEFAULT_N_LANDMARKS, n)
        else:
            if isinstance(lm, str):
                raise ValueError(f"landmarks must be None, 'auto' or an int, got {lm!r}")
            m = check_int(lm, "landmarks", self.n_components + 1, n)
        if m is None and self.n_components >= n:
            raise ValueError(f"n_components must be < n_samples ({n}), got {self.n_components}")
        return m

    def _log(self, stage, timings, n):
        if self.verbose:
            print(f"[HeatGeodesicEmbedding] n={n}: {stage} done in {timings[stage]:.2f} s", flush=True)

    def fit(self, X, y=None):
        """Build the graph, compute heat-geodesic distances and the embedding.

        With ``denoise="auto"`` the graphs are compared by cheap probes and only the graph kept
        is fitted in full (see the class docs and :meth:`_fit_auto`).
        """
        X = check_points(X, "X", min_samples=3)
        n = X.shape[0]
        m = self._validate(n)
        if isinstance(self.denoise, str) and self.decay is not None and \
                resolve_formula(self.formula, self.method) == "screened":
            fit, report, extra = self._fit_auto(X, m)
        elif isinstance(self.denoise, str):
            # "auto" needs the alpha-decay graph (its mutual version) and the screened law (the
            # floor is calibrated on it; the heat law's √d distances never fit a plane): plain graph
            fit, report, extra = self._fit_graph(X, m, bool(self.mutual), 0.0), None, 0.0
        else:
            fit, report, extra = self._fit_graph(X, m, bool(self.mutual), float(self.denoise)), None, 0.0
        if report is not None:
            fit["timings"]["denoise_auto"] = extra
        self.points_ = fit["points"]
        self.t_ = fit["t"]
        if "t_grid" in fit:
            self.t_grid_, self.entropy_ = fit["t_grid"], fit["entropy"]
        self.landmarks_ = fit["sources"]
        self.graph_, self.laplacian_ = fit["W"], fit["L"]
        self.length_scale_ = fit["length_scale"]
        self.distance_scale_ = fit["distance_scale"]
        self.intrinsic_dim_ = fit["dim"]
        self.distances_, self.embedding_ = fit["D"], fit["Y"]
        self.heat_info_ = fit["info"]
        self.timings_ = fit["timings"]
        self.denoise_ = fit["denoise"]
        self.mutual_ = fit["mutual"]
        self.residual_variance_ = fit["rv"]
        self.denoise_report_ = report
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_auto(self, X, m):
        """``denoise="auto"``: the plain graph, unless its layout leaves more than
        :data:`AUTO_FLOOR` of its distances unexplained and a smoothed graph (mutual,
        heat-smoothed points, :data:`AUTO_DENOISE_TIMES`) cuts that by :data:`AUTO_GAIN`.

        The graphs are compared by cheap probes: each graph's distances from
        :data:`AUTO_PROBES` farthest-point landmarks, embedded by landmark MDS; only the graph
        kept is fitted in full.  The plain graph is probed first (in landmark mode it is
        fitted in full first, and its first landmark columns are its probe); above the floor, the
        strongest smoothing is probed as a scout: if it does not cut the residual variance by
        :data:`AUTO_SCOUT_GAIN`, no smoothing is tried further (a curved or higher-dimensional
        manifold, not a fold).  Otherwise the others are probed in increasing order, stopping
        at the first below the floor.  Returns the fit kept, ``{s: residual variance of its
        probe}`` (``0``: the plain graph; NaN: the mutual graph fell apart) and the seconds
        spent on the probes."""
        start = time.perf_counter()
        probes = min(AUTO_PROBES, X.shape[0] - 1)
        base = None
        if m is None:           # all pairs: the full fit is dear, probe first
            first = self._fit_graph(X, probes, bool(self.mutual), 0.0)
            report = {0.0: first["rv"]}
        else:                   # landmarks: fit in full, the probe is its first columns
            base = first = self._fit_graph(X, m, bool(self.mutual), 0.0)   # (farthest-point order)
            report = {0.0: self._landmark_rv(base["D"][:, :probes], base["sources"][:probes])}
        plain = None if self.mutual else first["W_alpha"]
        if report[0.0] > AUTO_FLOOR:
            scout, *rest = (AUTO_DENOISE_TIMES[-1],) + tuple(AUTO_DENOISE_TIMES[:-1])
            for s in (scout, *rest):
                try:
                    report[s] = self._fit_graph(X, probes, True, s, plain=plain)["rv"]
                except ValueError:      # the mutual graph of the smoothed points fell apart
                    report[s] = float("nan")
                if self.verbose:
                    print(f"[HeatGeodesicEmbedding] denoise='auto': s={s:g} residual variance {report[s]:.4f} "
                          f"(plain graph {report[0.0]:.4f}; probes of {probes} landmarks)", flush=True)
                if s == scout and not report[s] * AUTO_SCOUT_GAIN <= report[0.0]:
                    break               # the strongest smoothing does not help: not a fold
                if s != scout and report[s] <= AUTO_FLOOR:
                    break
        tried = {k: v for k, v in report.items() if k > 0 and np.isfinite(v)}
        s_best = min(tried, key=tried.get) if tried else 0.0
        if s_best and tried[s_best] * AUTO_GAIN <= report[0.0]:
            best = self._fit_graph(X, m, True, s_best, plain=plain)
        else:
            best = base if base is not None else self._fit_graph(X, m, bool(self.mutual), 0.0)
        return best, report, time.perf_counter() - start - sum(best["timings"].values())

    def _landmark_rv(self, D, sources, Y=None):
        """Residual variance of the landmark layout (``max(2, n_components)`` dimensions; ``Y``
        when already computed) of the distances ``D`` to the landmarks ``sources``, on
        8 × :data:`AUTO_ROWS` rows."""
        n = D.shape[0]
        if Y is None:
            Y = landmark_mds(D, sources, max(2, self.n_components))
        rows = np.sort(np.random.default_rng(self.random_state).choice(n, min(8 * AUTO_ROWS, n), replace=False))
        return residual_variance(D[rows], Y, rows=rows, cols=sources)

    def _fit_graph(self, X, m, mutual, denoise, plain=None):
        """One graph → t → distances → MDS pass (all pairs when ``m`` is None, else ``m``
        landmarks); returns its results and the residual variance of the
        ``max(2, n_components)``-D layout (on :data:`AUTO_ROWS` rows, or 8 × that many rows
        to the landmarks)."""
        n = X.shape[0]
        timings = {}
        out = {"denoise": denoise, "mutual": mutual}
        t0 = time.perf_counter()
        W, P = heat_graph(X, self.knn, self.decay, mutual, denoise, plain=plain)
        out["W_alpha"] = W
        g = weighted_laplacian(W, P, self.weights, self.laplacian, knn=self.knn)
        L = g.L
        timings["graph"] = time.perf_counter() - t0
        self._log("graph", timings, n)

        t0 = time.perf_counter()
        if isinstance(self.t, str):
            grid = dict(t_grid=np.array(PAPER_T_GRID), axis="linear") if self.t == "paper" else {}
            out["t"], out["t_grid"], out["entropy"] = select_t_entropy(L, seed=self.random_state, device=self.device,
                                                                       **grid)
        else:
            out["t"] = float(self.t)
        order = self._order(L, out["t"])
        timings["select_t"] = time.perf_counter() - t0
        self._log("select_t", timings, n)

        t0 = time.perf_counter()
        sources = None
        if m is not None:
            sources = farthest_point_landmarks(P, m, seed=self.random_state, device=self.device)
        res = g.distances(out["t"], self.sigma, self.method, order, self.formula, sources=sources, device=self.device)
        D, info, out["t"] = res["D"], res["info"], res["t"]
        out["length_scale"], out["distance_scale"], out["dim"] = g.length_scale, res["scale"], g.dim
        timings["distances"] = time.perf_counter() - t0
        self._log("distances", timings, n)

        t0 = time.perf_counter()
        k = max(2, self.n_components)   # the layout scored: as asked, never a line (see _fit_auto)
        if sources is None:
            Y = classical_mds(D, self.n_components, device=self.device)
            rows = np.sort(np.random.default_rng(self.random_state).choice(n, min(AUTO_ROWS, n), replace=False))
            Y2 = Y if self.n_components >= 2 else classical_mds(D, k, device=self.device)
            rv = residual_variance(D[rows], Y2, rows=rows)
            if self.mds != "classical":
                Y = smacof(D, self.n_components, init=Y, device=self.device,
                           weight_power=2.0 if self.mds == "weighted" else 0.0)
        else:
            Y = landmark_mds(D, sources, self.n_components)
            rv = self._landmark_rv(D, sources, Y if self.n_components >= 2 else None)
        timings["mds"] = time.perf_counter() - t0
        self._log("mds", timings, n)
        out.update(W=g.C, L=L, points=P, sources=sources, D=D, Y=Y, info=info, rv=rv, timings=timings)
        return out

    def fit_transform(self, X, y=None):
        """Fit and return ``embedding_``."""
        return self.fit(X).embedding_
