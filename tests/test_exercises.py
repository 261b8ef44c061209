"""Exercise checks: a right answer (computed with the library, as the notebooks' solutions do)
passes, a wrong one fails with a hint, a malformed one fails without raising."""

from __future__ import annotations

import functools
import math

import networkx as nx
import numpy as np
import pytest
import torch

from spectral_explorer import eigenspace as es
from spectral_explorer import substructures
from spectral_explorer import latent_directions as ld
from spectral_explorer.calibration import compress_weight
from spectral_explorer.data import anisotropic_toy, swiss_roll
from spectral_explorer.eigen import eigenvalue_groups
from spectral_explorer.exercises import EXERCISES, check_exercise
from spectral_explorer.graphs import alpha_decay_graph
from spectral_explorer.heat import heat_kernel
from spectral_explorer.heat_geodesic import heat_geodesic_distances
from spectral_explorer.laplacian import laplacian
from spectral_explorer.metrics import loglog_slope
from spectral_explorer.positional_encodings import as_adjacency, laplacian_pe_eig, normalized_laplacian
from spectral_explorer.spe import SPE, SignNetPE

F64 = torch.float64
CASES = {}   # (notebook, n) -> (right answer, wrong answer, data)


def case(nb, n):
    def deco(fn):
        CASES[(nb, n)] = fn
        return fn
    return deco


# ----------------------------------------------------------------------------- eigenspace
@case("eigenspace_projections", 1)
def _e1():
    grams = [torch.from_numpy(X.T @ X) for X, _ in (anisotropic_toy(400, 1.0, 30.0, seed) for seed in (0, 1))]
    (ev0, Q0), (_, Q1) = (es.gram_eigh(C) for C in grams)
    energy = float(es.energy_captured(ev0)[0])
    angle = float(np.degrees(es.principal_angles(Q0[:, :1], Q1[:, :1]).numpy().max()))
    return {"energy": energy, "angle_deg": angle}, {"energy": energy, "angle_deg": angle + 5}, {}


@case("eigenspace_projections", 2)
def _e2():
    X, D = (torch.from_numpy(a) for a in anisotropic_toy(300, anisotropy=1.0, angle=0.0, seed=0))
    Bs, As = es.svd_compensation(D, 1)

    def d(C):
        Be, Ae = es.eora_compensation(D, C, 1)
        return float(torch.linalg.norm(Be @ Ae - Bs @ As) / torch.linalg.norm(Bs @ As))
    right = {"identity": d(torch.eye(2, dtype=F64)), "sample": d(X.T @ X)}
    return right, {"identity": right["identity"], "sample": 0.0}, {}


def _gram(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, dtype=F64, generator=g) * torch.logspace(1, -1, d, dtype=F64)
    return X.T @ X


@case("eigenspace_projections", 3)
def _e3():
    dW = torch.randn(6, 8, dtype=F64, generator=torch.Generator().manual_seed(0))
    C, C_fit = _gram(200, 8, 1), _gram(200, 8, 2)
    ratio = es.compensation_error(dW, *es.eora_compensation(dW, C_fit, 2), C) / \
        es.compensation_error(dW, *es.svd_compensation(dW, 2), C)
    return ratio, ratio * 1.1, dict(dW=dW, C=C, C_fit=C_fit, rank=2)


@case("eigenspace_projections", 4)
def _e4():
    W = torch.randn(24, 32, dtype=F64, generator=torch.Generator().manual_seed(3))
    gram, held = _gram(300, 32, 4), _gram(300, 32, 5)
    ratios = {}
    for comp in ("rtn3", "rtn4", "prune24"):
        dW = W - compress_weight(W, comp).to(F64)
        zero = (torch.zeros(24, 0, dtype=F64), torch.zeros(0, 32, dtype=F64))
        ratios[comp] = es.compensation_error(dW, *es.eora_compensation(dW, gram, 8), held) / \
            es.compensation_error(dW, *zero, held)
    best = min(ratios, key=ratios.get)
    wrong = max(ratios, key=ratios.get)
    return best, wrong, dict(W=W, gram=gram, held_gram=held, rank=8)


@case("eigenspace_projections", 5)
def _e5():
    W = torch.randn(40, 64, dtype=F64, generator=torch.Generator().manual_seed(6))
    s = torch.linalg.svdvals(W - compress_weight(W, "rtn3").to(F64))
    frac = float(s[:8].pow(2).sum() / s.pow(2).sum())
    return frac, frac + 0.05, dict(W=W, rank=8)


# ----------------------------------------------------------------------------- positional encodings
def _mult(G):
    lam = torch.linalg.eigvalsh(normalized_laplacian(as_adjacency(G))).numpy()
    return [b - a for a, b in eigenvalue_groups(lam, tol=1e-8)]


@case("positional_encodings", 1)
def _p1():
    right = {"petersen": _mult(nx.petersen_graph()), "torus": _mult(nx.grid_2d_graph(4, 4, periodic=True))}
    return right, {"petersen": right["petersen"], "torus": [1, 4, 6, 5]}, {}


@case("positional_encodings", 2)
def _p2():
    lam, _ = laplacian_pe_eig(nx.path_graph(16), 9)
    gap = float(np.diff(lam.numpy()).min())
    return gap, float(lam[1] - lam[0]) * 2, {}


@case("positional_encodings", 3)
def _p3():
    A = as_adjacency(nx.cycle_graph(16)).clone()
    A[0, 1] += 1e-4
    A[1, 0] += 1e-4
    w = torch.linalg.eigvalsh(normalized_laplacian(A)).numpy()
    split = max(w[2 * i] - w[2 * i - 1] for i in range(1, 5))
    return split, 1e-4, {}


def _p4_setup():
    """The notebook's exercise 4: its networks, C16's full spectrum and the solution's answer."""
    torch.manual_seed(0)
    signnet, spe = SignNetPE(k=3).double().eval(), SPE(m=4, d_out=4).double().eval()
    w, V = torch.linalg.eigh(normalized_laplacian(as_adjacency(nx.cycle_graph(16))))
    c, s = math.cos(1.0), math.sin(1.0)
    Vr = V.clone()
    Vr[:, 1:3] = V[:, 1:3] @ torch.tensor([[c, -s], [s, c]], dtype=F64)
    with torch.no_grad():
        right = (float((signnet(w, V) - signnet(w, Vr)).abs().max()), float((spe(w, V) - spe(w, Vr)).abs().max()))
    return right, dict(signnet=signnet, spe=spe, evals=w, evecs=V)


@case("positional_encodings", 4)
def _p4():
    right, data = _p4_setup()
    return right, (right[0] * 1.5, right[1]), data


class _Model:
    def __init__(self):
        torch.manual_seed(0)
        self.pe = SPE(m=3, d_out=2).eval()


@case("positional_encodings", 5)
def _p5():
    model = _Model()
    with torch.no_grad():
        phi = model.pe.phi(torch.linspace(0, 2, 2001)[:, None]).double().numpy()
    lip = float((np.abs(np.diff(phi, axis=0)) / 0.001).max())
    return lip, lip * 1.5, dict(model=model)


@functools.lru_cache(maxsize=1)
def _p6_setup():
    """Real rows from tiny trainings (the check retrains one row per encoding to verify them)."""
    sets = substructures.cycle_count_datasets.__wrapped__(quick=True, seed=0, n_train=24, n_test=8, n_ood=8)
    rows = [{"encoding": e, "seed": s, "ood_mae": substructures.train(e, *sets, epochs=1, seed=s)[-1]["ood_mae"]}
            for e in ("lappe", "spe") for s in (0, 1)]
    ood = {e: np.array([r["ood_mae"] for r in rows if r["encoding"] == e]) for e in ("lappe", "spe")}
    right = bool(abs(ood["lappe"].mean() - ood["spe"].mean()) > max(v.std(ddof=1) for v in ood.values()))
    return right, rows, dict(rows=rows, train_set=sets[0], test_set=sets[1], ood_set=sets[2], epochs=1)


@case("positional_encodings", 6)
def _p6():
    right, _, data = _p6_setup()
    return right, not right, data


# ----------------------------------------------------------------------------- heat geodesics
@pytest.fixture(scope="module")
def roll():
    ds = swiss_roll(150, noise=0.0, seed=0)
    L = laplacian(alpha_decay_graph(ds.X, knn=6, decay=40.0), "normalized")
    return ds, L, ds.geodesic_distances()


@case("heat_geodesics", 1)
def _h1(roll):
    ds, L, truth = roll
    src = int(np.argmin(ds.color))
    eig = np.linalg.eigh(L.toarray())
    d2 = truth[src] ** 2
    right = {}
    for t in (2.0, 10.0, 50.0):
        spike = np.zeros(L.shape[0])
        spike[src] = 1.0
        h = heat_kernel(L, t, spike, method="exact", eig=eig).numpy().ravel()
        near = h > 1e-8
        right[t] = float(np.polyfit(d2[near], -4 * t * np.log(h[near]), 1)[0])
    return right, {t: v * 1.1 for t, v in right.items()}, dict(L=L, truth_row=truth[src], source=src)


@case("heat_geodesics", 2)
def _h2(roll):
    _, L, _ = roll
    H32 = heat_kernel(L, 2.0, method="exact", dtype=torch.float32).numpy()
    level = float(np.finfo(np.float32).eps * np.abs(H32).max())
    return level, 1e-16, dict(H32=H32)


@case("heat_geodesics", 3)
def _h3(roll):
    _, L, truth = roll
    right = {K: {f: loglog_slope(heat_geodesic_distances(L, 10.0, 1.0, method="euler", order=K, formula=f), truth)
                 for f in ("screened", "varadhan")} for K in (1, 16)}
    wrong = {K: {"screened": v["varadhan"], "varadhan": v["screened"]} for K, v in right.items()}
    return right, wrong, dict(L=L, truth=truth)


@case("heat_geodesics", 4)
def _h4(roll):
    _, L, _ = roll
    h = np.diag(heat_kernel(L, 10.0, method="exact").numpy())
    mean = float(np.mean(np.sqrt(np.maximum(-4 * 10.0 * np.log(h), 0.0))))
    return mean, mean * 1.01, dict(L=L)


# ----------------------------------------------------------------------------- latent directions
def _A():
    return torch.randn(60, 12, generator=torch.Generator().manual_seed(7)) * torch.linspace(3, 0.5, 12)


@case("latent_directions", 1)
def _l1():
    A = _A()
    ev = ld.sefa_directions(A, k=5, normalize=False)[1].numpy()
    return ev, ev * 1.01, dict(A=A)


@case("latent_directions", 2)
def _l2():
    A = _A()
    V = torch.linalg.svd(A.double(), full_matrices=False)[2][:3]
    right = -2.0 * V[:2] + 0.01 * torch.randn(2, 12, generator=torch.Generator().manual_seed(1), dtype=F64)
    return right, V[[1, 0]], dict(A=A, n_samples=3000)


@case("latent_directions", 3)
def _l3():
    g = torch.Generator().manual_seed(9)
    zs = torch.randn(5000, 4, generator=g)
    n, u, sigma = torch.tensor([0.6, 0.8, 0.0, 0.0]), torch.tensor([0.03, 0.0, 0.04, 0.0]), torch.tensor(20.0)
    right = {"sefa": float((zs @ n).std()), "ganspace": float((zs @ u).std()), "step": float(sigma * u.norm())}
    wrong = dict(right, ganspace=20.0)     # σ₁ is the feature-space score's spread, not z's along u₁
    return right, wrong, dict(zs=zs, sefa_direction=n, ganspace_direction=u, sigma=sigma)


@case("latent_directions", 4)
def _l4():
    J = torch.randn(50, 12, generator=torch.Generator().manual_seed(2), dtype=F64)
    s = torch.linalg.svdvals(J)
    right = {p: float((s[3 + p] / s[2]) ** 2) for p in (0, 5)}
    return right, {0: right[5], 5: right[0]}, dict(jacobian=J)


@pytest.fixture(scope="module")
def digits():
    from spectral_explorer.digits_diffusion import load_digits_diffusion

    model = load_digits_diffusion(device="cpu")
    cap = ld.hspace_capture(model, n=3, seed=0, n_steps=10, batch_size=3)
    return model, cap, ld.hspace_pca(cap["h"], k=1)


def _l5_right(model, cap, pca):
    pc1 = 2.0 * pca["sigmas"][:, :1] * pca["components"][:, 0]
    early = ld.hspace_edit(model, cap["x_T"], pc1, n_steps=10, window=(0, 4))
    late = ld.hspace_edit(model, cap["x_T"], pc1, n_steps=10, window=(5, 9))
    return float((early - cap["x0"]).abs().mean()), float((late - cap["x0"]).abs().mean())


@case("latent_directions", 5)
def _l5(digits):
    model, cap, pca = digits
    return _l5_right(model, cap, pca), (1.0, 0.0), dict(model=model, x_T=cap["x_T"], pca=pca)


def test_latent_exercise_5_recomputes_its_reference(digits, capsys):
    """The issue's case: ``(1.0, 0.0)`` passed a check that only compared early > late; the check
    now recomputes both edits, so a swapped or a −2σ answer fails too."""
    model, cap, pca = digits
    data = dict(model=model, x_T=cap["x_T"], pca=pca)
    early, late = _l5_right(model, cap, pca)
    assert early > late > 0
    assert check_exercise("latent_directions", 5, (early, late), **data) is True
    assert check_exercise("latent_directions", 5, (late, early), **data) is False
    minus = -2.0 * pca["sigmas"][:, :1] * pca["components"][:, 0]
    wrong = [float((ld.hspace_edit(model, cap["x_T"], minus, n_steps=10, window=w) - cap["x0"]).abs().mean())
             for w in ((0, 4), (5, 9))]
    assert check_exercise("latent_directions", 5, tuple(wrong), **data) is False
    capsys.readouterr()


@case("latent_directions", 6)
def _l6():
    g = torch.Generator().manual_seed(4)
    d, s = torch.randn(25, 16, generator=g), torch.randn(25, 16, generator=g)
    return ld.remove_direction(d, s), d, dict(d=d, s=s)


# ----------------------------------------------------------------------------- householder
@case("householder", 1)
def _h1():
    return (lambda a, b: 2 * (a - b)), (lambda a, b: 2 * (b - a)), {}


@case("householder", 2)
def _h2():
    from spectral_explorer import householder_frame

    A = torch.randn(9, 3, dtype=F64, generator=torch.Generator().manual_seed(2))
    Q = householder_frame(A, "loop")
    return Q, torch.linalg.qr(A)[0], dict(A=A)       # an orthonormal frame of the same span is not the answer


@case("householder", 3)
def _h3():
    W = torch.randn(10, 6, dtype=F64, generator=torch.Generator().manual_seed(3))
    S = torch.linalg.svdvals(W)
    return float(S[2:].pow(2).sum().sqrt()), float(S[2:].sum()), dict(W=W, r=2)


@case("householder", 4)
def _h4():
    from spectral_explorer import HouseholderProjector

    p = HouseholderProjector(12, 40, 4)
    right = sum(int(torch.tril(torch.ones_like(v), -1).sum()) for v in (p.u_vectors, p.v_vectors))
    return right, 4 * (12 + 40), {}


@case("householder", 5)
def _h5():
    import math

    from spectral_explorer import HouseholderProjector
    from spectral_explorer.householder import rotation_matrix

    W = torch.randn(12, 7, dtype=F64, generator=torch.Generator().manual_seed(5))
    eq = HouseholderProjector.from_weight(W, 3, singular_values="equal")
    return rotation_matrix(3, math.radians(45)), rotation_matrix(3, math.radians(-45)), dict(layer=eq)


def test_pe4_an_echoed_answer_is_rejected(capsys):
    """The check recomputes both changes with the student's networks: a made-up pair such as
    (5.0, 0.0), or the right SignNet change with a non-zero SPE change, fails; so do
    eigenpairs that are not C16's."""
    right, data = _p4_setup()
    assert 1e-4 < right[0] < 5.0 and right[1] < 1e-10
    assert check_exercise("positional_encodings", 4, (5.0, 0.0), **data) is False
    assert check_exercise("positional_encodings", 4, (right[0], 1e-3), **data) is False
    assert check_exercise("positional_encodings", 4, right, **data) is True
    # rotating the other way (V R(−1)) answers the same exercise
    w, V = data["evals"], data["evecs"]
    Vr = V.clone()
    Vr[:, 1:3] = V[:, 1:3] @ torch.tensor([[math.cos(1.0), math.sin(1.0)], [-math.sin(1.0), math.cos(1.0)]], dtype=F64)
    with torch.no_grad():
        other = (float((data["signnet"](w, V) - data["signnet"](w, Vr)).abs().max()),
                 float((data["spe"](w, V) - data["spe"](w, Vr)).abs().max()))
    assert other[0] != right[0] and check_exercise("positional_encodings", 4, other, **data) is True
    bad = dict(data, evecs=torch.eye(16, dtype=F64))
    assert check_exercise("positional_encodings", 4, right, **bad) is False
    assert "not orthonormal eigenpairs of C16" in capsys.readouterr().out


def test_pe6_made_up_rows_are_rejected(capsys):
    right, rows, data = _p6_setup()
    fake = [dict(r, ood_mae=r["ood_mae"] + (0.3 if r["encoding"] == "spe" else 0.0)) for r in rows]
    assert check_exercise("positional_encodings", 6, right, **dict(data, rows=fake)) is False
    assert "training it again" in capsys.readouterr().out
    one_seed = [r for r in rows if r["seed"] == 0]
    assert check_exercise("positional_encodings", 6, right, **dict(data, rows=one_seed)) is False
    assert "at least two seeds" in capsys.readouterr().out


def test_eig3_fitting_on_the_same_gram_is_refused(capsys):
    right, _, data = CASES[("eigenspace_projections", 3)]()
    assert check_exercise("eigenspace_projections", 3, right, **dict(data, C_fit=data["C"])) is False
    assert "same Gram" in capsys.readouterr().out


def test_every_exercise_has_a_test_case():
    assert set(CASES) == set(EXERCISES)
    for nb in ("heat_geodesics", "positional_encodings", "eigenspace_projections", "latent_directions", "householder"):
        assert sum(k[0] == nb for k in EXERCISES) >= 4, nb


@pytest.mark.parametrize("key", sorted(CASES), ids=[f"{a}-{b}" for a, b in sorted(CASES)])
def test_right_answer_passes_wrong_answer_fails(key, request, capsys):
    fn = CASES[key]
    args = [request.getfixturevalue(a) for a in fn.__code__.co_varnames[:fn.__code__.co_argcount]]  # roll, digits
    right, wrong, data = fn(*args)
    assert check_exercise(*key, right, **data) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and f"exercise {key[1]}" in out
    assert check_exercise(*key, wrong, **data) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "Hint:" in out


def test_malformed_answer_fails_without_raising_and_unknown_exercise_is_refused(capsys):
    assert check_exercise("positional_encodings", 1, "not a dict") is False
    assert "could not read the answer" in capsys.readouterr().out
    assert check_exercise("latent_directions", 5, (1.0,)) is False
    assert check_exercise("householder", 1, 90.0) is False          # a number where a function is asked
    assert "could not read the answer" in capsys.readouterr().out
    with pytest.raises(KeyError, match="checked ones"):
        check_exercise("heat_geodesics", 99, 0)
