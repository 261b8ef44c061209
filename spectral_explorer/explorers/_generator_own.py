"""Results out of the two generator families (latent directions, Householder): their tables and
their code, per main view — kept here so that the explorers stay parameters, stages and views.

Latent directions (``view``):

- ``"sliders"``: one row per direction of the current method (k rows): ``direction`` (1-based),
  ``method``, its spectrum value — ``eigenvalue`` (SeFa, of AᵀA or ÂᵀÂ) or
  ``explained_variance_ratio`` (GANSpace) — ``sigma`` (the σ unit of the sliders: 1 for SeFa, the
  score's standard deviation for GANSpace) and the direction's components ``d0 … d{latent_dim-1}``;
- ``"jacobian"``: the same with ``singular_value`` of ∂G/∂z at the face's z (3 rows);
- ``"hspace"``: one row per DDIM step: ``step`` and ``pc1 … pc3`` explained variance ratio.

Householder (``view``):

- ``"mirrors"``: the 2 × 2 matrices shown (``matrix``: H₁, H₁H₂, P) with entries ``m11 … m22``;
- ``"train"``: the training curves of the current run, one row per streamed step: ``phase``,
  ``step``, ``loss`` and, while fine-tuning, ``orth`` (‖QᵀQ − I‖₂) and ``s1 … s_r``;
- ``"faces"``: fidelity rows (``rank``, ``singular_values``, ``steps``, ``rmse_before``,
  ``psnr_before``, ``rmse_after``, ``psnr_after``): every rank once the rank sweep ran, else the
  current rank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["latent_table", "latent_code", "latent_export_name", "householder_table", "householder_code",
           "face_ranks"]

_USER_G = "G = ...  # your generator: latents (B, {L}) -> images (B, C, H, W), in eval mode"


def _direction_frame(rows: np.ndarray, values, value_name: str, extra: dict) -> pd.DataFrame:
    k, L = rows.shape
    head = {"direction": np.arange(1, k + 1), **extra, value_name: np.asarray(values, dtype=float)[:k]}
    comps = {f"d{j}": rows[:, j] for j in range(L)}
    return pd.DataFrame({**head, **comps})


def latent_table(ex) -> pd.DataFrame:
    with ex._lock:
        if ex.view == "hspace":
            if not ex.hspace:
                raise ValueError("open the h-space tab first (it samples the digits)")
            from .. import latent_directions as ld
            r = ld.hspace_pca(ex._capture()["h"], k=3, mode="per_timestep")["explained_ratio"].numpy()
            return pd.DataFrame({"step": np.arange(r.shape[0]), **{f"pc{i + 1}": r[:, i] for i in range(3)}})
        if ex.view == "jacobian":
            j = ex._jacobian()
            return _direction_frame(j["directions"].detach().cpu().numpy(), j["singular_values"], "singular_value",
                                    {"method": "jacobian", "seed": int(ex.seed)})
        d = ex._directions()
        k = int(ex.k)
        name = "eigenvalue" if ex.method == "sefa" else "explained_variance_ratio"
        frame = _direction_frame(d["directions"][:k].detach().cpu().numpy(), d["spectrum"], name,
                                 {"method": ex.method})
        frame.insert(3, "sigma", d["sigmas"][:k].detach().cpu().numpy())
        return frame


def latent_export_name(ex) -> str:
    return {"sliders": f"latent_directions_{ex.method}", "jacobian": f"jacobian_directions_seed{int(ex.seed)}",
            "hspace": "hspace_explained_variance"}[ex.view]


def _generator_lines(ex) -> list[str]:
    u = ex._user
    if u is None:
        return ["from spectral_explorer.face_dcgan import face_dcgan, sample_latents", "",
                "G = face_dcgan()   # the shipped face DCGAN: z (B, 100) -> images (B, 3, 64, 64) in [-1, 1]"]
    first = "" if u.first_layer_name is None else f", first_layer={u.first_layer_name!r}"
    feat = "" if u.features_name == "images" or u.first_layer is None else f", ganspace_layer={u.features_name!r}"
    return ["from spectral_explorer.generators import UserGenerator", "",
            _USER_G.format(L=u.latent_dim),
            f"G = UserGenerator(G, latent_dim={u.latent_dim}{first}{feat})   # the layers the page used"]


def latent_code(ex) -> str:
    head = ["import numpy as np", "from spectral_explorer import latent_directions as ld"]
    if ex.view == "hspace":
        return "\n".join(head + [
            "from spectral_explorer.digits_diffusion import load_digits_diffusion", "",
            "model = load_digits_diffusion()   # the shipped digits model (the h-space tab always uses it)",
            f"cap = ld.hspace_capture(model, n={int(ex.n_h_samples)}, seed=0, n_steps=25)",
            "pca = ld.hspace_pca(cap['h'], k=3, mode='per_timestep')",
            "result = pca['explained_ratio'].numpy()   # (steps, 3): explained variance ratio per DDIM step", ""])
    lines = head + _generator_lines(ex) + [""]
    if ex.view == "jacobian":
        z = ("G.latents(1, seed={s})[0]" if ex._user is not None else "sample_latents(1, seed={s})[0]").format(
            s=int(ex.seed))
        lines += [f"z = {z}   # the face's latent code",
                  f"V, S = ld.jacobian_directions(lambda v: G(v[None])[0], z, k={min(3, ex.latent_dim)}, "
                  "tol=1e-4, n_iter=60)",
                  "result = V.detach().cpu().numpy()   # top right singular vectors of dG/dz, one per row"]
    elif ex.method == "sefa":
        lines += [f"directions, eigenvalues = ld.sefa_directions(G.sefa_weight, k={int(ex.k)}, "
                  f"normalize={bool(ex.sefa_normalize)})",
                  "result = directions.cpu().numpy()   # (k, latent_dim), orthonormal rows"]
    else:
        kk = min(8, ex.latent_dim)
        dev = "G.device" if ex._user is not None else "None"
        lines += [f"res = ld.ganspace_directions(G.first_block, n_samples={int(ex.n_samples)}, k={kk}, "
                  f"latent_dim={ex.latent_dim}, seed={int(ex.gs_seed)}, device={dev})",
                  f"result = res.directions[:{int(ex.k)}].cpu().numpy()   # latent change per unit PC score; "
                  "an edit of a sigma is z + a * res.sigmas[j] * result[j]"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- Householder
def face_ranks(gen) -> tuple[int, ...]:
    """The face ranks that fit a generator: 5, 10, 20, 50, 100 up to min(latent_dim, features), or
    1, 2, … up to that bound for a small latent."""
    m = min(gen.latent_dim, gen.n_first_features)
    ranks = tuple(r for r in (5, 10, 20, 50, 100) if r <= m)
    return ranks if len(ranks) >= 2 else tuple(sorted({1, 2, max(1, m // 2), m} | set(ranks)))


def householder_table(ex) -> pd.DataFrame:
    if ex.view == "train":
        cols = ["phase", "step", "loss", "orth"]
        rows = []
        for r in ex.history:
            row = {c: r.get(c, np.nan) for c in cols}
            row.update({f"s{i + 1}": v for i, v in enumerate(r.get("s", []))})
            rows.append(row)
        return pd.DataFrame(rows, columns=cols + [f"s{i + 1}" for i in range(int(ex.rank))])
    if ex.view == "faces":
        cols = ["rank", "singular_values", "steps", "rmse_before", "psnr_before", "rmse_after", "psnr_after"]
        if ex.sweep_rows is not None:
            return pd.DataFrame([{c: r[c] for c in cols} for r in ex.sweep_rows], columns=cols)
        with ex._lock:
            f = ex._face()
        b, a = f["before"], f["after"]
        return pd.DataFrame([[int(ex.face_rank), ex.face_sv, int(ex.face_steps), b["rmse"], b["psnr_db"],
                              a["rmse"], a["psnr_db"]]], columns=cols)
    with ex._lock:
        m, r = ex._mirrors(), ex._rsr()
    names = ["H1", "H1H2"][:len(m["frames"]) - 1] + ["P"]
    mats = m["frames"][1:] + [r["P"]]
    return pd.DataFrame([{"matrix": n, "m11": M[0, 0], "m12": M[0, 1], "m21": M[1, 0], "m22": M[1, 1]}
                         for n, M in zip(names, mats)])


def householder_code(ex) -> str:
    if ex.view == "train":
        reader = "svd_directions" if ex.directions == "svd" else "latent_directions_of"
        s, pre, fine = int(ex.train_seed), int(ex.pretrain_steps), int(ex.finetune_steps)
        return "\n".join([
            "import torch", "from spectral_explorer import householder_study as hs", "",
            f"torch.manual_seed({s})",
            "model = hs.EllipseVAE(8)   # a VAE on images of ellipses with four known factors",
            f"hs.train_vae(model, {pre}, {s})   # pretrain with a plain linear first layer",
            f"new = hs.with_projector(model, {int(ex.rank)}, {ex.singular_values!r})   # HouseholderProjector.from_weight",
            f"hs.train_vae(new, {fine}, {s + 1000}, lr=3e-4)   # fine-tune",
            f"result = hs.{reader}(new.first, {int(ex.rank)}).numpy()   # the projector's directions (rank, 8)", ""])
    if ex.view == "faces":
        if ex._user is None:
            gen = ["from spectral_explorer.face_dcgan import face_dcgan", "",
                   "G = face_dcgan()   # the shipped face DCGAN"]
        else:
            u = ex._user
            gen = ["from spectral_explorer.generators import UserGenerator", "", _USER_G.format(L=u.latent_dim),
                   f"G = UserGenerator(G, latent_dim={u.latent_dim}, first_layer={u.first_layer_name!r})"]
        return "\n".join([
            "from spectral_explorer import householder_study as hs"] + gen + [
            f"proj = hs.face_projector(G, {int(ex.face_rank)}, {ex.face_sv!r})   # rank-r projector from the first layer",
            "z = hs.face_latents(G, 16, 4242)   # the test latents",
            "before = hs.image_fidelity(G, proj, z)",
            f"hs.finetune_face_projector(G, proj, {int(ex.face_steps)})   # data-free: match the first block",
            "after = hs.image_fidelity(G, proj, z)",
            "result = {'rmse_before': before['rmse'], 'psnr_before': before['psnr_db'], "
            "'rmse_after': after['rmse'], 'psnr_after': after['psnr_db']}", ""])
    n = int(ex.n_mirrors)
    return "\n".join([
        "import numpy as np", "", "def reflection(deg):   # H = I - 2 v v^T, v the unit normal at angle deg",
        "    v = np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])",
        "    return np.eye(2) - 2 * np.outer(v, v)", "",
        "def rotation(deg):", "    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))",
        "    return np.array([[c, -s], [s, c]])", "",
        f"Q = {' @ '.join(f'reflection({a!r})' for a in (float(ex.m1), float(ex.m2))[:n])}   # the frame",
        f"P = rotation({float(ex.u_angle)!r}) @ np.diag([{float(ex.s1)!r}, {float(ex.s2)!r}]) @ "
        f"rotation({float(ex.v_angle)!r}).T   # P = U S V^T",
        "result = np.stack([Q, P])", ""])
