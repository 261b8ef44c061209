"""Checks for the notebooks' exercises: ``check_exercise(notebook, n, answer, **data)``.

Every check computes its reference answer *independently* of the code path the exercise
asks the student to use (numpy / scipy instead of the library's solver, where one exists),
prints a one-line verdict — ``✓`` with the reference, or ``✗`` with a hint that does not give
the answer away — and returns ``True``/``False``. Exercises that are asked about the
notebook's own data take it as keyword arguments (``data``), so the check recomputes from
exactly what the student used.

>>> check_exercise("eigenspace_projections", 1, {"energy": 0.9, "angle_deg": 0.0}, quiet=True)
False
>>> sorted(EXERCISES)[:2]
[('eigenspace_projections', 1), ('eigenspace_projections', 2)]

No UI imports: the checks print plain text and are usable from a script or a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["check_exercise", "EXERCISES", "Exercise"]


@dataclass(frozen=True)
class Exercise:
    notebook: str
    number: int
    hint: str
    check: Callable  # (answer, **data) -> (ok: bool, reference: str)


EXERCISES: dict[tuple[str, int], Exercise] = {}


def _exercise(notebook: str, number: int, hint: str):
    def deco(fn):
        EXERCISES[(notebook, number)] = Exercise(notebook, number, hint, fn)
        return fn
    return deco


def check_exercise(notebook: str, number: int, answer, quiet: bool = False, **data) -> bool:
    """Check ``answer`` to exercise ``number`` of ``notebook``; print a verdict, return it.

    ``notebook`` is the notebook's file stem (``"heat_geodesics"``, ``"positional_encodings"``,
    ``"eigenspace_projections"``, ``"latent_directions"``, ``"householder"``); ``data`` are the notebook objects the
    exercise names (see its text). A malformed answer fails with the reason, it does not raise.
    """
    key = (str(notebook), int(number))
    if key not in EXERCISES:
        known = sorted(n for nb, n in EXERCISES if nb == notebook)
        raise KeyError(f"no checked exercise {number} in {notebook!r}; checked ones: {known}")
    ex = EXERCISES[key]
    try:
        ok, reference = ex.check(answer, **data)
    except (TypeError, ValueError, KeyError, IndexError) as err:
        ok, reference = False, f"could not read the answer ({type(err).__name__}: {err})"
    ok = bool(ok)
    if not quiet:
        if ok:
            print(f"✓ {notebook}, exercise {number}: correct ({reference}).")
        else:
            print(f"✗ {notebook}, exercise {number}: not yet. Hint: {ex.hint}"
                  + (f" [{reference}]" if reference.startswith("could not") else ""))
    return ok


def _close(a, b, rtol=1e-6, atol=0.0) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _np(x) -> np.ndarray:
    """numpy float64 copy of an array or tensor (no autograd)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


# ----------------------------------------------------------------------------- eigenspace
def _eora_product(dW, C, rank):
    """EoRA's B A from numpy (eigh of C, SVD of ΔW Q Λ^½): B = U S^½, A = S^{−½} Uᵀ ΔW, so
    B A = U_r U_rᵀ ΔW (no Λ^{−½}; singular values that are zero to rounding are dropped)."""
    lam, Q = np.linalg.eigh(C)
    U, S, _ = np.linalg.svd(dW @ Q @ np.diag(np.sqrt(np.clip(lam, 0.0, None))), full_matrices=False)
    keep = S[:rank] > S[0] * 1e-12 if S.size else np.zeros(0, bool)
    Ur = U[:, :rank][:, keep]
    return Ur @ (Ur.T @ dW)


def _eora_weighted_error(dW, C_fit, C_eval, rank):
    """EoRA fitted on ``C_fit``, error ‖(ΔW − BA) C_eval^½‖_F."""
    return _weighted(dW - _eora_product(dW, C_fit, rank), C_eval)


def _weighted(R, C):
    return float(np.sqrt(max(np.trace(R @ C @ R.T), 0.0)))


def _svd_weighted_error(dW, C_eval, rank):
    U, S, Vt = np.linalg.svd(dW, full_matrices=False)
    return _weighted(dW - (U[:, :rank] * S[:rank]) @ Vt[:rank], C_eval)


@_exercise("eigenspace_projections", 1, "energy = λ₁ / (λ₁ + λ₂) of XᵀX for the toy with anisotropy=1.0 "
           "(n=400, angle 30°, seed 0); angle = arccos|q₁ᵀq₁'| in degrees between the top eigenvectors "
           "of seed 0 and seed 1. A finite sample is never exactly isotropic.")
def _eig1(answer):
    from .data import anisotropic_toy
    qs, energy = [], None
    for seed in (0, 1):
        X, _ = anisotropic_toy(400, anisotropy=1.0, angle=30.0, seed=seed)
        lam, Q = np.linalg.eigh(X.T @ X)
        qs.append(Q[:, -1])
        if seed == 0:
            energy = lam[-1] / lam.sum()
    angle = np.degrees(np.arccos(min(1.0, abs(float(qs[0] @ qs[1])))))
    ok = abs(float(answer["energy"]) - energy) < 1e-3 and abs(float(answer["angle_deg"]) - angle) < 0.1
    return ok, f"energy {energy:.4f}, angle {angle:.1f}°"


@_exercise("eigenspace_projections", 2, "{'identity': d(C = I), 'sample': d(C = XᵀX)} with d(C) = "
           "‖B_eA_e − B_sA_s‖_F / ‖B_sA_s‖_F (EoRA with Gram C vs plain SVD, rank 1), X and ΔW from "
           "anisotropic_toy(300, anisotropy=1.0, angle=0.0, seed=0). A sample Gram is not a multiple of I.")
def _eig2(answer):
    from .data import anisotropic_toy
    X, dW = anisotropic_toy(300, anisotropy=1.0, angle=0.0, seed=0)
    U, S, Vt = np.linalg.svd(dW)
    svd = S[0] * np.outer(U[:, 0], Vt[0])
    ref = {"identity": np.linalg.norm(_eora_product(dW, np.eye(2), 1) - svd) / np.linalg.norm(svd),
           "sample": np.linalg.norm(_eora_product(dW, X.T @ X, 1) - svd) / np.linalg.norm(svd)}
    ok = abs(float(answer["identity"])) < 1e-9 and abs(float(answer["sample"]) - ref["sample"]) < 1e-6
    return ok, f"C = I: {ref['identity']:.1e} (identical); sample Gram: {ref['sample']:.4f} (not identical)"


@_exercise("eigenspace_projections", 3, "fit EoRA on C_fit, then measure ‖(ΔW − BA) C^½‖_F with the "
           "original C, and divide by plain SVD's error on the same C (rank r).")
def _eig3(answer, dW, C, C_fit, rank):
    dW, C, C_fit = _np(dW), _np(C), _np(C_fit)
    if C_fit.shape == C.shape and np.allclose(C_fit, C, rtol=1e-9, atol=0.0):
        raise ValueError("C_fit is the same Gram as C: fit EoRA on the Gram of the other inputs (C_other)")
    ratio = _eora_weighted_error(dW, C_fit, C, int(rank)) / _svd_weighted_error(dW, C, int(rank))
    return abs(float(answer) - ratio) < 1e-6 * ratio, f"EoRA(other Gram)/SVD = {ratio:.4f}"


_COMPRESSIONS = ("rtn3", "rtn4", "prune24")


def _layer_ratios(W, gram, held_gram, rank):
    from .calibration import compress_weight
    import torch

    W64, C, Ch = _np(W), _np(gram), _np(held_gram)
    out = {}
    for comp in _COMPRESSIONS:
        dW = W64 - _np(compress_weight(torch.as_tensor(W64), comp))
        out[comp] = _eora_weighted_error(dW, C, Ch, rank) / _weighted(dW, Ch)
    return out


@_exercise("eigenspace_projections", 4, "for each compression, held-out error with EoRA divided by the "
           "held-out error without correction (layer_errors(name, 32, comp)['eora'] / [...]['none']); "
           "the answer is the compression with the smallest ratio (biggest help).")
def _eig4(answer, W, gram, held_gram, rank=32):
    ratios = _layer_ratios(W, gram, held_gram, int(rank))
    best = min(ratios, key=ratios.get)
    return str(answer) == best, "EoRA/none: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items())


@_exercise("eigenspace_projections", 5, "fraction of ‖ΔW‖_F² in ΔW's top-32 singular values "
           "(Σ_{i≤32} σᵢ² / Σ σᵢ²) for the 3-bit RTN error of the layer; compare with W's own fraction.")
def _eig5(answer, W, rank=32):
    from .calibration import compress_weight
    import torch

    W64 = _np(W)
    dW = W64 - _np(compress_weight(torch.as_tensor(W64), "rtn3"))
    s2 = np.linalg.svd(dW, compute_uv=False) ** 2
    frac = float(s2[:int(rank)].sum() / s2.sum())
    return abs(float(answer) - frac) < 1e-4, f"top-{int(rank)} energy of ΔW {frac:.3f}"


# ----------------------------------------------------------------------------- positional encodings
def _norm_lap(A):
    d = A.sum(1)
    inv = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    return np.eye(len(A)) - inv[:, None] * A * inv[None, :]


def _multiplicities(G, tol=1e-8):
    import networkx as nx

    lam = np.linalg.eigvalsh(_norm_lap(nx.to_numpy_array(G, nodelist=sorted(G.nodes()))))
    counts, start = [], 0
    for j in range(1, lam.size + 1):
        if j == lam.size or lam[j] - lam[j - 1] > tol:
            counts.append(j - start)
            start = j
    return counts


@_exercise("positional_encodings", 1, "count equal eigenvalues (up to 1e-8) of the normalized Laplacian, "
           "in ascending order of eigenvalue: {'petersen': [...], 'torus': [...]} (torus = 4×4 periodic grid).")
def _pe1(answer):
    import networkx as nx

    ref = {"petersen": _multiplicities(nx.petersen_graph()),
           "torus": _multiplicities(nx.grid_2d_graph(4, 4, periodic=True))}
    ok = all(list(map(int, answer[k])) == v for k, v in ref.items())
    return ok, f"petersen {ref['petersen']}, torus {ref['torus']}"


@_exercise("positional_encodings", 2, "the smallest difference λ_{j+1} − λ_j for j = 1..k (k = 8) of the "
           "path P16's normalized Laplacian (λ_0 = 0 excluded from the left end).")
def _pe2(answer, k=8):
    import networkx as nx

    lam = np.linalg.eigvalsh(_norm_lap(nx.to_numpy_array(nx.path_graph(16))))
    gap = float(np.diff(lam[1:int(k) + 2]).min())
    return abs(float(answer) - gap) < 1e-6 * gap, f"smallest gap {gap:.4f}"


def _pair_splits(n, eps, pairs):
    import networkx as nx

    A = nx.to_numpy_array(nx.cycle_graph(n))
    A[0, 1] += eps
    A[1, 0] += eps
    lam = np.linalg.eigvalsh(_norm_lap(A))
    return np.array([lam[2 * i] - lam[2 * i - 1] for i in range(1, pairs + 1)])


@_exercise("positional_encodings", 3, "perturb edge (0, 1) of C16 by ε = 1e-4 and take the largest split "
           "λ_{2i} − λ_{2i−1} of the first four eigenvalue pairs (i = 1..4): the hard projectors keep "
           "the pairs together only for tol above it.")
def _pe3(answer, eps=1e-4):
    split = float(_pair_splits(16, float(eps), 4).max())
    return abs(float(answer) - split) < 1e-3 * split, f"largest split {split:.2e} (≈ ε/n scale, not ε)"


def _c16_eigenpairs(evals, evecs):
    """The student's full eigendecomposition of C16's normalized Laplacian, checked with numpy."""
    import networkx as nx

    w, V = _np(evals), _np(evecs)
    if w.shape != (16,) or V.shape != (16, 16):
        raise ValueError(f"evals/evecs must be C16's full spectrum, shapes (16,) and (16, 16); got {w.shape}, {V.shape}")
    L = _norm_lap(nx.to_numpy_array(nx.cycle_graph(16)))
    if not (np.allclose(L @ V, V * w, atol=1e-8) and np.allclose(V.T @ V, np.eye(16), atol=1e-8)
            and abs(w[2] - w[1]) < 1e-8 < w[3] - w[2]):
        raise ValueError("evals/evecs are not orthonormal eigenpairs of C16's normalized Laplacian (ascending, "
                         "columns 1–2 spanning the first 2-D eigenspace)")
    return w, V


@_exercise("positional_encodings", 4, "answer (signnet_change, spe_change): max |output change| of each network "
           "after rotating columns 1–2 of V_all (the first eigenspace of C16) by 1 rad; pass signnet=, spe=, "
           "evals=w_all, evecs=V_all. SignNet sees the basis, SPE only the projectors.")
def _pe4(answer, signnet, spe, evals, evecs):
    import torch

    sign, spe_change = (float(x) for x in answer)
    w, V = _c16_eigenpairs(evals, evecs)
    c, s = np.cos(1.0), np.sin(1.0)

    def change(net, Vr):
        try:
            dt = next(net.parameters()).dtype
        except (AttributeError, StopIteration):     # a plain function of (evals, evecs)
            dt = torch.float64
        with torch.no_grad():
            out = [np.asarray(net(torch.as_tensor(w, dtype=dt), torch.as_tensor(M, dtype=dt)).double())
                   for M in (V, Vr)]
        return float(np.abs(out[0] - out[1]).max())

    refs = []
    for R in (np.array([[c, -s], [s, c]]), np.array([[c, s], [-s, c]])):   # either sense of rotation
        Vr = V.copy()
        Vr[:, 1:3] = V[:, 1:3] @ R
        refs.append((change(signnet, Vr), change(spe, Vr)))

    def close(a, b):
        return abs(a - b) <= max(1e-6 * abs(b), 1e-10)
    ok = any(close(sign, a) and close(spe_change, b) for a, b in refs)
    a, b = refs[0]
    return ok, f"SignNet changes by {a:.2e}, SPE by {b:.1e} (recomputed with your networks)"


@_exercise("positional_encodings", 5, "evaluate the trained φ = model.pe.phi on a grid of 2001 points in "
           "[0, 2] and take the largest |Δφ| / Δλ over all channels and grid steps.")
def _pe5(answer, model):
    import torch

    lam = torch.linspace(0, 2, 2001, dtype=torch.float64)[:, None]
    enc = model.pe
    p = next(enc.parameters())
    with torch.no_grad():
        phi = enc.phi(lam.to(p.dtype)).double().numpy()
    lip = float((np.abs(np.diff(phi, axis=0)) / (2.0 / 2000)).max())
    return abs(float(answer) - lip) < 0.02 * lip, f"grid Lipschitz estimate {lip:.3g}"


@_exercise("positional_encodings", 6, "per encoding, mean and sample standard deviation of the final epoch's "
           "'ood_mae' over the seeds; the answer is True when |mean(lappe) − mean(spe)| exceeds the larger of the "
           "two standard deviations. Pass rows= and the data sets and epochs you trained with.")
def _pe6(answer, rows, train_set, test_set, ood_set, epochs):
    from .substructures import train

    ood, seen = {}, {}
    for r in rows:
        ood.setdefault(r["encoding"], []).append(float(r["ood_mae"]))
        seen[(r["encoding"], int(r["seed"]))] = float(r["ood_mae"])
    for enc in ("lappe", "spe"):
        seeds = sorted(s for e, s in seen if e == enc)
        if len(seeds) < 2 or len(seeds) != len(ood[enc]):
            raise ValueError(f"rows need one row per seed and at least two seeds for {enc!r}, got seeds {seeds}")
        # the rows must be real: retrain the first seed of each encoding and compare
        got = train(enc, train_set, test_set, ood_set, epochs=int(epochs), seed=seeds[0])[-1]["ood_mae"]
        if abs(got - seen[(enc, seeds[0])]) > 1e-4 * abs(got) + 1e-6:
            raise ValueError(f"the row ({enc!r}, seed {seeds[0]}) says ood_mae {seen[(enc, seeds[0])]:.4f}, but "
                             f"training it again with these data sets and epochs={int(epochs)} gives {got:.4f}")
    a, b = np.asarray(ood["lappe"]), np.asarray(ood["spe"])
    spread = max(a.std(ddof=1), b.std(ddof=1))
    ref = bool(abs(a.mean() - b.mean()) > spread)
    return bool(answer) == ref, (f"lappe {a.mean():.3f}±{a.std(ddof=1):.3f}, spe {b.mean():.3f}±{b.std(ddof=1):.3f} "
                                 f"→ {ref}")


# ----------------------------------------------------------------------------- heat geodesics
@_exercise("heat_geodesics", 1, "for each t, the slope of the least-squares line of −4t·log H_t(source, ·) "
           "against d² over the entries with H > 1e-8 (as in section 3), as {t: slope}.")
def _heat1(answer, L, truth_row, source, ts=(2.0, 10.0, 50.0)):
    from scipy.sparse.linalg import expm_multiply

    d2 = np.asarray(truth_row, float) ** 2
    e = np.zeros(L.shape[0])
    e[int(source)] = 1.0
    ref = {}
    for t in ts:
        h = expm_multiply(-float(t) * L, e)
        near = h > 1e-8
        ref[float(t)] = float(np.polyfit(d2[near], -4 * t * np.log(h[near]), 1)[0])
    got = {float(k): float(v) for k, v in answer.items()}
    ok = set(got) == set(ref) and all(abs(got[t] - ref[t]) < 0.02 * abs(ref[t]) for t in ref)
    return ok, "slopes " + ", ".join(f"t={t:g}: {s:.3f}" for t, s in ref.items())


@_exercise("heat_geodesics", 2, "float32 resolves numbers relative to the largest entries: the noise level "
           "is about machine epsilon of float32 times max H. Give it as a number (order of magnitude).")
def _heat2(answer, H32):
    level = float(np.finfo(np.float32).eps) * float(np.abs(_np(H32)).max())
    a = float(answer)
    return a > 0 and abs(np.log10(a) - np.log10(level)) <= 1.0, f"noise level ≈ {level:.1e}"


def _euler_distances(L, t, sigma, K, formula):
    Ld = L.toarray() if hasattr(L, "toarray") else np.asarray(L, float)
    n = Ld.shape[0]
    R = np.linalg.inv(np.eye(n) + (t / K) * Ld)
    H = np.linalg.matrix_power(R, K)
    H = 0.5 * (H + H.T)
    dg = np.diag(H)
    logH = np.log(np.clip(H, 1e-300, None))
    vol = np.log(0.5 * (dg[:, None] + dg[None, :]))
    if formula == "screened":
        D = np.sqrt(t / K) * np.maximum(0.0, -logH + sigma * vol)
    else:
        D = np.sqrt(np.maximum(0.0, -4 * t * logH + sigma * 4 * t * vol))
    np.fill_diagonal(D, 0.0)
    return D


@_exercise("heat_geodesics", 3, "for K = 1 and K = 16 (t = 10, σ = 1), loglog_slope(distances, truth) of "
           "heat_geodesic_distances(L, 10.0, 1.0, method='euler', order=K, formula=f) for f = 'screened' "
           "and 'varadhan'; answer {1: {'screened': ..., 'varadhan': ...}, 16: {...}}.")
def _heat3(answer, L, truth, ks=(1, 16)):
    from .metrics import loglog_slope

    ref = {K: {f: loglog_slope(_euler_distances(L, 10.0, 1.0, K, f), truth) for f in ("screened", "varadhan")}
           for K in ks}
    ok = {int(k) for k in answer} == set(ks) and all(
        abs(float(answer[K][f]) - v) < 1e-3 * abs(v) for K in ks for f, v in ref[K].items())
    return ok, "; ".join(f"K={K}: screened {s['screened']:.2f}, varadhan {s['varadhan']:.2f}" for K, s in ref.items())


@_exercise("heat_geodesics", 4, "the mean over points of the self-distance √(−4t·log H_t(i, i)) with σ = 0, "
           "for the exact kernel e^{−tL} at t = 10 (its diagonal: heat_kernel(L, 10, method='exact')).")
def _heat4(answer, L, t=10.0):
    from scipy.linalg import expm

    Ld = L.toarray() if hasattr(L, "toarray") else np.asarray(L, float)
    h = np.diag(expm(-float(t) * Ld))
    ref = float(np.mean(np.sqrt(np.maximum(-4 * t * np.log(h), 0.0))))
    return abs(float(answer) - ref) < 1e-6 * ref, f"mean self-distance {ref:.3f} (graph units); σ = 1 makes it 0"


# ----------------------------------------------------------------------------- latent directions
@_exercise("latent_directions", 1, "the eigenvalues of AᵀA without row normalisation are the squared "
           "singular values of A: give the top 5 from ld.sefa_directions(A, k=5, normalize=False).")
def _lat1(answer, A):
    ref = np.linalg.svd(_np(A), compute_uv=False)[:5] ** 2
    return _close(_np(answer), ref, rtol=1e-4), "σ² = " + ", ".join(f"{v:.1f}" for v in ref)


@_exercise("latent_directions", 2, "run ganspace_directions on the linear map z ↦ z Aᵀ and pass its top-2 "
           "directions (rows) and n_samples: each must match a right singular vector of A up to the sampling "
           "error of N latents (|cos| ≥ 1 − 2·d/N, d = 100).")
def _lat2(answer, A, n_samples):
    A = _np(A)
    V = np.linalg.svd(A, full_matrices=False)[2][:2]
    U = _np(answer)[:2]
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    cos = np.abs((U * V).sum(1))
    floor = 1.0 - 2.0 * A.shape[1] / float(n_samples)
    return bool(U.shape == V.shape and (cos >= floor).all()), \
        "|cos| with A's right singular vectors: " + ", ".join(f"{c:.4f}" for c in cos) + f" (≥ {floor:.3f})"


@_exercise("latent_directions", 3, "answer {'sefa': std of zs·n₁, 'ganspace': std of zs·u₁, 'step': σ₁‖u₁‖} "
           "with zs = sample_latents(5000, seed=9), n₁ = d_sefa[0] (unit), u₁ = gs.directions[0] (not "
           "normalised) and σ₁ = gs.sigmas[0]; pass zs, sefa_direction, ganspace_direction and sigma. "
           "The std of z·u is ‖u‖ for z ~ N(0, I); σ₁ is the spread of the feature-space score, not of z.")
def _lat3(answer, zs, sefa_direction, ganspace_direction, sigma):
    Z = _np(zs)
    n, u = _np(sefa_direction).ravel(), _np(ganspace_direction).ravel()
    ref = {"sefa": float(np.std(Z @ n, ddof=1)), "ganspace": float(np.std(Z @ u, ddof=1)),
           "step": float(np.asarray(_np(sigma)).ravel()[0] * np.linalg.norm(u))}
    ok = set(answer) >= set(ref) and all(abs(float(answer[k]) - v) <= 1e-3 * abs(v) for k, v in ref.items())
    return ok, (f"std(z·n₁) = {ref['sefa']:.3f} (‖n₁‖ = {np.linalg.norm(n):.3f}), std(z·u₁) = {ref['ganspace']:.4f} "
                f"(‖u₁‖ = {np.linalg.norm(u):.4f}); one σ-unit step moves z by σ₁‖u₁‖ = {ref['step']:.3f}")


@_exercise("latent_directions", 4, "with the exact singular values s of the Jacobian (at least k + p + 1 "
           "of them), the per-step factor for the 3rd vector is (s[k+p] / s[k−1])² with k = 3; answer "
           "{0: factor at p = 0, 5: factor at p = 5}.")
def _lat4(answer, jacobian):
    s = np.linalg.svd(_np(jacobian), compute_uv=False)
    ref = {p: float((s[3 + p] / s[2]) ** 2) for p in (0, 5)}
    ok = all(abs(float(answer[p]) - v) < 1e-4 for p, v in ref.items())
    return ok, f"p=0: {ref[0]:.3f}, p=5: {ref[5]:.3f} (smaller = faster)"


@_exercise("latent_directions", 5, "answer (early, late): the mean |Δpixel| between the samples edited along "
           "h-space PC1 by +2σ (Δh_t = 2 σ_t,1 v_t,1) in the first 5 steps only, and in the last 5 steps only, "
           "and the unedited samples; pass model, x_T (the samples' starting noise) and pca (per timestep).")
def _lat5(answer, model, x_T, pca):
    import torch

    from .digits_diffusion import ddim_sample

    early, late = (float(x) for x in answer)
    comps, sig = pca["components"], pca["sigmas"]
    S = comps.shape[0]
    delta = (2.0 * sig[:, 0:1] * comps[:, 0]).float()          # (S, D): +2σ along PC1 at every step
    with torch.no_grad():    # the sampler itself, not hspace_edit (the code path the exercise uses)
        base = ddim_sample(model, x_T=x_T, n_steps=S)["x0"]
        ref = [float((ddim_sample(model, x_T=x_T, n_steps=S, delta_h=lambda i: delta[i], window=w)["x0"] - base)
                     .abs().mean()) for w in ((0, 4), (S - 5, S - 1))]
    ok = all(abs(a - r) <= 1e-4 + 1e-3 * r for a, r in zip((early, late), ref))
    return ok, f"early {ref[0]:.3f} vs late {ref[1]:.3f} mean |Δpixel|"


@_exercise("latent_directions", 6, "d⊥ = d − (d·ŝ)ŝ per step, ŝ = s/‖s‖ with s the ink direction; pass "
           "d_perp with d=d_ab and s=ink_dir.")
def _lat6(answer, d, s):
    d, s = _np(d), _np(s)
    sh = s / np.linalg.norm(s, axis=-1, keepdims=True)
    ref = d - (d * sh).sum(-1, keepdims=True) * sh
    got = _np(answer)
    ok = got.shape == ref.shape and bool(np.allclose(got, ref, atol=1e-5 * np.abs(d).max()))
    return ok, f"max |d⊥·ŝ| = {np.abs((got * sh).sum(-1)).max():.1e}"


# ----------------------------------------------------------------------------- householder
def _reflection2(deg: float) -> np.ndarray:
    n = np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])
    return np.eye(2) - 2 * np.outer(n, n)


@_exercise("householder", 1, "pass a function f(a, b) of the two normals' angles (degrees) that returns the "
           "rotation angle of H_a H_b in degrees: where does H_a H_b send e₁? Each mirror line lies at its "
           "normal's angle + 90°.")
def _hh1(answer):
    if not callable(answer):
        raise TypeError("the answer must be a function f(a, b)")
    worst = 0.0
    for a, b in ((20.0, 65.0), (-30.0, 10.0), (80.0, 5.0), (137.0, -61.0)):
        Q = _reflection2(a) @ _reflection2(b)
        ref = np.degrees(np.arctan2(Q[1, 0], Q[0, 0]))
        worst = max(worst, abs((float(answer(a, b)) - ref + 180.0) % 360.0 - 180.0))
    return worst < 1e-9, "the rotation by 2(a − b) (mod 360°)"


@_exercise("householder", 2, "build Y (unit lower part of A), τ = 2/‖y_i‖², T⁻¹ = striu(YᵀY) + diag(1/τ), and "
           "Q[:, :r] = E_r − Y T Y[:r]ᵀ (solve with T⁻¹, an upper-triangular matrix); pass the (n, r) frame.")
def _hh2(answer, A):
    A = _np(A)
    n, r = A.shape
    Y = np.tril(A, -1) + np.eye(n, r)
    Q = np.eye(n)
    for i in range(r):          # the product H_1 … H_r, one dense reflection at a time
        y = Y[:, i]
        Q = Q @ (np.eye(n) - 2.0 * np.outer(y, y) / (y @ y))
    ref = Q[:, :r]
    got = _np(answer)
    ok = got.shape == ref.shape and bool(np.allclose(got, ref, atol=1e-10, rtol=0))
    return ok, f"max |Q − H₁…H_r[:, :r]| = {np.abs(got - ref).max():.1e}" if got.shape == ref.shape else "wrong shape"


@_exercise("householder", 3, "Eckart–Young: the Frobenius error of the best rank-r approximation is the root of "
           "the sum of the squared singular values that are dropped (i > r).")
def _hh3(answer, W, r):
    W = _np(W)
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    ref = float(np.linalg.norm(W - (U[:, :r] * S[:r]) @ Vt[:r]))     # the error itself, not the formula
    return abs(float(answer) - ref) < 1e-9 * max(ref, 1.0), f"‖W − P_r‖_F = {ref:.6f}"


@_exercise("householder", 4, "each frame (n, r) keeps only the entries strictly below the diagonal of its "
           "matrix of reflection vectors: Σ_{i<r} (n − 1 − i) per frame, for n = out_features and n = in_features.")
def _hh4(answer, in_features=12, out_features=40, rank=4):
    ref = int(sum(np.tril(np.ones((n, rank)), -1).sum() for n in (out_features, in_features)))
    return int(answer) == ref and float(answer) == ref, f"{ref} free parameters"


@_exercise("householder", 5, "an r × r rotation that turns only the plane of directions 1 and 2 (identity "
           "elsewhere): by which angle must it turn d₁ to reach (d₁ + d₂)/√2? The first column of V R is the "
           "new first direction.")
def _hh5(answer, layer):
    R = _np(answer)
    sv = _np(layer.singular_values)
    U, V, s = _np(layer.frame_u()) * np.sign(sv), _np(layer.frame_v()), np.abs(sv)   # signs folded into U
    r = V.shape[1]
    if R.shape != (r, r):
        return False, f"R must be {r} × {r}"
    rotation = np.allclose(R.T @ R, np.eye(r), atol=1e-10) and np.linalg.det(R) > 0
    target = (V[:, 0] + V[:, 1]) / np.sqrt(2.0)
    first = (V @ R)[:, 0]
    same_map = np.allclose((U @ R) * s @ (V @ R).T, (U * s) @ V.T, atol=1e-10)
    cos = abs(float(first @ target))
    ok = bool(rotation and same_map and abs(cos - 1.0) < 1e-10)
    return ok, f"|cos(first direction, (d₁ + d₂)/√2)| = {cos:.12f}; R a rotation: {rotation}; same map: {same_map}"
